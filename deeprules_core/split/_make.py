"""Making a split: replicate-aware, stratified, explained (Tips 1, 4 and 7).

Strategies
----------
``group``
    Whole groups (individuals, donors, patients) go to one side; class proportions
    (or label quantile bins, for regression) are kept on every side.
``stratified``
    Independent rows, stratified by class. Only right when no individual gave more
    than one row; :func:`~deeprules_core.split.audit_split` warns when the design
    questionnaire says otherwise.
``leave_batch_out``
    One or more whole batch levels (a site, a run, a plate) form the test side: the
    closest thing to truly independent data (Tip 7).
``time``
    The latest time points form the test side, the ones before them the tuning side.
    With a group column the units are whole groups, ordered by their first time point.
``auto``
    ``group`` when there is a group column, otherwise ``stratified``
    (:func:`explain_strategy` says why, in one sentence).

Rows whose label is missing take no part in the stratification. They stay with their
group (so no individual crosses sides), never get a CV fold, and every later step
ignores them; ``Split.params["n_unlabelled"]`` counts them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SplitError
from ..study import Design, Roles
from ._common import MAX_HELDOUT
from ._strategies import BUILDERS
from ._types import SIDES, Split

__all__ = ["STRATEGIES", "make_split", "explain_strategy", "nested_cv_folds"]

STRATEGIES = ("auto", "group", "stratified", "leave_batch_out", "time")


# ---------------------------------------------------------------------------- explain
def explain_strategy(roles: Roles, design: Design | None = None) -> tuple[str, str]:
    """The strategy ``auto`` picks for these roles, and why, in one sentence.

    Examples
    --------
    >>> explain_strategy(Roles(label="y", group="patient"))[0]
    'group'
    >>> explain_strategy(Roles(label="y"))[0]
    'stratified'
    """
    repeated = design is not None and design.repeated_units
    if roles.group:
        return (
            "group",
            f"Several rows can come from one '{roles.group}', so whole '{roles.group}' units go "
            "to one side (train, tune or test), keeping the class proportions on every side.",
        )
    if repeated:
        return (
            "stratified",
            "The design says individuals gave several samples but no group column is set: a "
            "row-wise split would put one individual on both sides, so set the group column on "
            "the Data page before trusting this split.",
        )
    return (
        "stratified",
        "Every row is an independent sample (no group column, no repeated units in the design), "
        "so rows are split at random, keeping the class proportions on every side.",
    )


# ---------------------------------------------------------------------------- helpers
def _ids(df: pd.DataFrame, roles: Roles) -> pd.Series:
    if roles.id and roles.id in df.columns:
        return df[roles.id].astype(str).reset_index(drop=True)
    return pd.Series(np.arange(len(df)).astype(str))


def _check_fractions(test_fraction: float, tune_fraction: float, n_folds: int) -> None:
    if not 0 < test_fraction <= MAX_HELDOUT:
        raise SplitError(
            f"The 'test_fraction' must be between 0 and {MAX_HELDOUT} (0.2 is usual). Got {test_fraction}."
        )
    if not 0 <= tune_fraction <= MAX_HELDOUT:
        raise SplitError(
            f"The 'tune_fraction' must be between 0 and {MAX_HELDOUT} (0.2 is usual; 0 when "
            f"tuning uses the CV folds only). Got {tune_fraction}."
        )
    if test_fraction + tune_fraction > MAX_HELDOUT:
        raise SplitError(
            f"Test ({test_fraction}) and tuning ({tune_fraction}) fractions together leave "
            f"{1 - test_fraction - tune_fraction:.2f} of the data for training; keep them at "
            f"{MAX_HELDOUT} or less together (e.g. 0.2 and 0.2)."
        )
    if n_folds == 1 or n_folds < 0:
        raise SplitError(
            f"The 'n_folds' must be 0 (no cross-validation folds) or an int >= 2. Got {n_folds} instead."
        )


def _check_label(df: pd.DataFrame, roles: Roles) -> None:
    if not roles.label:
        raise SplitError("A split needs the label column (the outcome): set it on the Data page.")
    if roles.label not in df.columns:
        raise SplitError(f"The label column {roles.label!r} is not in the table.")
    y = df[roles.label]
    n_known = int(y.notna().sum())
    if n_known == 0:
        raise SplitError(f"Every value of the label {roles.label!r} is missing: there is nothing to split.")
    if roles.task == "classification":
        classes = y.dropna().astype(str).unique()
        if len(classes) < 2:
            raise SplitError(
                f"The label {roles.label!r} has one class only ({classes[0]!r}): a model cannot "
                "learn to tell classes apart. Check that the right column is the label, or load "
                "data that contains the other class(es)."
            )
    else:
        values = pd.to_numeric(y, errors="coerce")
        if values.notna().sum() < n_known:
            raise SplitError(
                f"The regression label {roles.label!r} has {n_known - int(values.notna().sum())} "
                "non-numeric value(s). Fix them, or set the task to classification."
            )
        if values.nunique() < 2:
            raise SplitError(f"The label {roles.label!r} has one value only: there is nothing to predict.")


# ---------------------------------------------------------------------------- main entry
def make_split(
    df: pd.DataFrame,
    roles: Roles,
    *,
    strategy: str = "auto",
    test_fraction: float = 0.2,
    tune_fraction: float = 0.2,
    n_folds: int = 5,
    seed: int = 0,
    design: Design | None = None,
    holdout_batch: str | Sequence[str] | Mapping[str, Any] | None = None,
) -> Split:
    """Split a table into train / tune / test (and CV folds on train), replicate-aware.

    Parameters
    ----------
    df : DataFrame
        The table, one row per sample.
    roles : Roles
        Needs ``label``; ``group`` (individual) for ``group``; ``batch`` for
        ``leave_batch_out``; ``time`` for ``time``.
    strategy : {"auto", "group", "stratified", "leave_batch_out", "time"}
    test_fraction, tune_fraction : float
        Share of rows on the test and tuning sides (whole units, so approximate).
    n_folds : int
        Group-aware stratified CV folds on the training side; 0 for none.
    seed : int
        Same seed, same data: the same split.
    design : Design, optional
        The questionnaire; recorded so the audit can warn about repeated units.
    holdout_batch : level, list of levels, or {column: levels}, optional
        For ``leave_batch_out``: the batch level(s) that form the test side. Default:
        the level holding every class whose share of rows is closest to ``test_fraction``.

    Returns
    -------
    Split

    Raises
    ------
    SplitError
        When the data cannot be split as asked; the message says what to choose instead.

    Examples
    --------
    >>> df = pd.DataFrame({"p": np.repeat(np.arange(40), 3), "y": np.repeat([0, 1] * 20, 3)})
    >>> s = make_split(df, Roles(label="y", group="p"), n_folds=3)
    >>> s.strategy, s.sizes()
    ('group', {'train': 72, 'tune': 24, 'test': 24})
    """
    if strategy not in STRATEGIES:
        raise SplitError(f"The 'strategy' must be one of {STRATEGIES}. Got {strategy!r} instead.")
    test_fraction, tune_fraction, n_folds, seed = (
        float(test_fraction),
        float(tune_fraction),
        int(n_folds),
        int(seed),
    )
    _check_fractions(test_fraction, tune_fraction, n_folds)
    _check_label(df, roles)
    explanation = ""
    if strategy == "auto":
        strategy, explanation = explain_strategy(roles, design)
    if len(df) < 3:
        raise SplitError(f"The table has {len(df)} row(s); a split needs at least one sample per side.")
    rng = np.random.default_rng(seed)
    side, fold, extra = BUILDERS[strategy](
        df,
        roles,
        test_fraction=test_fraction,
        tune_fraction=tune_fraction,
        n_folds=n_folds,
        rng=rng,
        holdout_batch=holdout_batch,
    )
    params: dict[str, Any] = {
        "test_fraction": test_fraction,
        "tune_fraction": tune_fraction,
        "n_folds": n_folds,
        "label": roles.label,
        "task": roles.task,
        "group": roles.group,
        "design_repeated_units": bool(design.repeated_units) if design is not None else None,
        "explanation": explanation or _STRATEGY_SENTENCE[strategy](roles),
        "n_unlabelled": int(df[roles.label].isna().sum()),
        **extra,
    }
    assignment = pd.DataFrame({"id": _ids(df, roles), "split": np.asarray(SIDES)[side], "fold": fold})
    return Split(strategy=strategy, seed=seed, assignment=assignment, params=params)


_STRATEGY_SENTENCE = {
    "group": lambda r: explain_strategy(r)[1],
    "stratified": lambda r: (
        "Rows are split at random, keeping the class proportions on every side; right only when "
        "every row comes from a different individual."
    ),
    "leave_batch_out": lambda r: (
        f"Whole levels of '{r.batch[0] if r.batch else 'batch'}' form the test side, so the test "
        "data were produced independently of the training data (Tip 7)."
    ),
    "time": lambda r: (
        "The latest time points form the test side and the ones before them the tuning side, as "
        "the model would be used on future samples"
        + (f"; whole '{r.group}' units, ordered by their first time point." if r.group else ".")
    ),
}


# ---------------------------------------------------------------------------- nested CV
def nested_cv_folds(
    split: Split,
) -> Iterator[tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]]:
    """Nested cross-validation on the training side, from the split's own folds.

    For each outer fold k: (outer fit rows, outer validation rows, inner folds), where
    the inner folds leave out each other fold in turn within the outer fit rows. Every
    fold is group-aware and stratified because the split's folds are.

    Raises
    ------
    SplitError
        When the split has fewer than 3 CV folds (an inner loop needs at least 2).
    """
    k = split.n_folds
    if k < 3:
        raise SplitError(
            f"Nested cross-validation needs at least 3 CV folds (2 for the inner loop); this split "
            f"has {k}. Make the split again with n_folds = 3 or more."
        )
    fold = split.assignment["fold"].to_numpy()
    train = split.assignment["split"].to_numpy() == "train"
    for outer in range(k):
        fit = np.flatnonzero(train & (fold >= 0) & (fold != outer))
        val = np.flatnonzero(train & (fold == outer))
        inner = [
            (
                np.flatnonzero(train & (fold >= 0) & (fold != outer) & (fold != j)),
                np.flatnonzero(train & (fold == j)),
            )
            for j in range(k)
            if j != outer
        ]
        yield fit, val, inner
