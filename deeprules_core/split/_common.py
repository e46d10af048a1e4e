"""Pieces shared by the split strategies: strata, group codes, checks, CV folds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SplitError
from ..study import Roles
from ._assign import assign_rows_stratified, assign_units
from ._types import SIDES

#: Label quantile bins used to stratify a regression label: five bins keep the
#: distribution's shape (tails and centre) on every side without needing many groups.
REGRESSION_BINS = 5
#: Largest test or tuning fraction: a bigger held-out side leaves too little to train on.
MAX_HELDOUT = 0.8
#: Floor of the stratification tolerance (see :func:`stratification_tolerance`): five
#: percentage points of class share is within the noise of a few hundred samples.
MIN_TOLERANCE = 0.05


def stratum_codes(
    df: pd.DataFrame, roles: Roles, *, n_bins: int = REGRESSION_BINS
) -> tuple[np.ndarray, list]:
    """Stratum code per row (-1 where the label is missing) and the stratum names.

    Classification: one stratum per class. Regression: label quantile bins.
    """
    y = df[roles.label]
    known = y.notna().to_numpy()
    codes = np.full(len(df), -1, dtype=np.int64)
    if roles.task == "regression":
        values = pd.to_numeric(y, errors="coerce")
        known = values.notna().to_numpy()
        if n_bins <= 1 or known.sum() == 0:
            codes[known] = 0
            return codes, ["all"]
        binned = pd.qcut(values[known], q=n_bins, duplicates="drop")
        codes[known] = binned.cat.codes.to_numpy()
        return codes, [str(c) for c in binned.cat.categories]
    cat = pd.Categorical(y[known].astype(str))
    codes[known] = cat.codes
    return codes, list(cat.categories)


def _group_codes(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Group code per row and the group names; SplitError on missing ids."""
    if column not in df.columns:
        raise SplitError(f"The group column {column!r} is not in the table.")
    g = df[column]
    missing = g.isna()
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())
        raise SplitError(
            f"{len(rows)} row(s) have no value in the group column {column!r} (first rows: "
            f"{', '.join(str(r + 1) for r in rows[:5])}). Without it deeprules cannot keep an "
            "individual on one side. Fill in the missing ids (give a row its own id only if it "
            "is truly an independent individual), or drop those rows."
        )
    codes, names = pd.factorize(g.astype(str), sort=True)
    return codes.astype(np.int64), np.asarray(names, dtype=object)


def _unit_counts(units: np.ndarray, strata: np.ndarray, n_units: int, n_strata: int) -> np.ndarray:
    """(n_units, n_strata + 1) counts; the last column counts rows with no label."""
    col = np.where(strata >= 0, strata, n_strata)
    counts = np.zeros((n_units, n_strata + 1), dtype=np.int64)
    np.add.at(counts, (units, col), 1)
    return counts


def _n_bins_for(df: pd.DataFrame, roles: Roles, units: np.ndarray, needed: int) -> int:
    """Most regression bins (<= REGRESSION_BINS) that each occur in >= ``needed`` units."""
    for n_bins in range(REGRESSION_BINS, 1, -1):
        strata, names = stratum_codes(df, roles, n_bins=n_bins)
        known = strata >= 0
        per_bin = pd.Series(units[known]).groupby(strata[known]).nunique()
        if len(names) >= 2 and per_bin.min() >= needed:
            return n_bins
    return 1


def _sides_fractions(test_fraction: float, tune_fraction: float) -> np.ndarray:
    return np.array([1.0 - test_fraction - tune_fraction, tune_fraction, test_fraction])


def _check_units_per_stratum(
    units: np.ndarray, strata: np.ndarray, names: list, needed: int, *, what: str, fix: str, unit_word: str
) -> None:
    known = strata >= 0
    per = pd.Series(units[known]).groupby(strata[known]).nunique()
    short = [(names[k], int(n)) for k, n in per.items() if n < needed]
    if short:
        listed = ", ".join(f"{c!r} ({n} {unit_word}{'s' if n != 1 else ''})" for c, n in short[:5])
        raise SplitError(
            f"Class {listed} occurs in fewer {unit_word}s than {what} ({needed}): whole {unit_word}s "
            f"go to one place, so some {what} would have no sample of that class. {fix}"
        )


def _check_big_groups(codes: np.ndarray, names: np.ndarray, column: str, test_fraction: float) -> None:
    sizes = np.bincount(codes)
    n = len(codes)
    if len(sizes) < 2:
        raise SplitError(
            f"Every row belongs to one '{column}' ({names[0]!r}): whole groups go to one side, so "
            "there is nothing to hold out. If the rows are independent samples, clear the group "
            "column and use the 'stratified' strategy; otherwise collect data from more individuals."
        )
    big = np.flatnonzero(sizes > test_fraction * n)
    if len(big):
        worst = big[np.argsort(-sizes[big])][:3]
        listed = ", ".join(f"{names[i]!r} ({sizes[i]} rows, {sizes[i] / n:.0%})" for i in worst)
        need = min(MAX_HELDOUT, float(np.ceil(sizes[worst[0]] / n * 20) / 20))
        raise SplitError(
            f"The '{column}' group {listed} is larger than the requested test side "
            f"({test_fraction:.0%} of {n} rows). A group that alone outweighs the test side makes "
            "a stratified split by group impossible. Choose 'leave_batch_out' to hold out whole "
            f"sites or batches, or a test fraction of at least {need:.2f}, or check that "
            f"'{column}' really identifies individuals."
        )


def _regression_fold_strata(
    df: pd.DataFrame, roles: Roles, rows: np.ndarray, units: np.ndarray, n_folds: int
) -> tuple[np.ndarray, list]:
    """Label quantile bins of the training rows, as many (<= REGRESSION_BINS) as the
    groups allow: each bin must occur in at least ``n_folds`` units."""
    y = pd.to_numeric(df[roles.label].iloc[rows], errors="coerce").reset_index(drop=True)
    for n_bins in range(REGRESSION_BINS, 1, -1):
        binned = pd.qcut(y, q=n_bins, duplicates="drop")
        codes = binned.cat.codes.to_numpy().astype(np.int64)
        if len(binned.cat.categories) >= 2 and pd.Series(units).groupby(codes).nunique().min() >= n_folds:
            return codes, [str(c) for c in binned.cat.categories]
    return np.zeros(len(rows), dtype=np.int64), ["all"]


def _folds_on(
    df: pd.DataFrame,
    roles: Roles,
    train_rows: np.ndarray,
    units: np.ndarray,
    strata: np.ndarray,
    names: list,
    n_folds: int,
    rng: np.random.Generator,
    *,
    unit_word: str,
    grouped: bool,
) -> np.ndarray:
    """Fold per row of the table (-1 off the training side and for unlabelled rows)."""
    fold = np.full(len(strata), -1, dtype=np.int64)
    if n_folds == 0:
        return fold
    rows = train_rows[strata[train_rows] >= 0]
    if roles.task == "regression":
        sub, sub_names = _regression_fold_strata(df, roles, rows, units[rows], n_folds)
    else:
        sub, sub_names = strata[rows], names
    _check_units_per_stratum(
        units[rows],
        sub,
        sub_names,
        n_folds,
        what="CV folds",
        unit_word=unit_word,
        fix="Choose fewer folds (n_folds = 2 or 3), or set n_folds = 0 to tune on the tuning side only.",
    )
    fractions = np.full(n_folds, 1.0 / n_folds)
    if grouped:
        local, inverse = np.unique(units[rows], return_inverse=True)
        counts = _unit_counts(inverse, sub, len(local), len(sub_names))[:, :-1]
        fold[rows] = assign_units(counts, fractions, rng)[inverse]
    else:
        fold[rows] = assign_rows_stratified(sub, fractions, rng)
    return fold


def stratification_tolerance(max_unit_rows: int, side_rows: int) -> float:
    """How far a class's share on one side may stray from its share overall.

    ``max(0.05, 2 * max_unit_rows / side_rows)``: whole groups move in steps of up to
    ``max_unit_rows`` rows, so a side can miss its exact class count by about one
    group's worth (twice that, for margin); with many small groups the 5-point floor
    applies. Plain stratified rows (``max_unit_rows`` = 1) stay far inside it.
    """
    return max(MIN_TOLERANCE, 2.0 * max_unit_rows / max(1, side_rows))


def _stratification_report(
    side: np.ndarray,
    strata: np.ndarray,
    names: list,
    fractions: np.ndarray,
    units: np.ndarray | None = None,
    *,
    enforce: bool = False,
) -> dict:
    """Worst class-share deviation over the sides; with ``enforce`` a SplitError when it
    exceeds :func:`stratification_tolerance` (never a silently unstratified split)."""
    known = strata >= 0
    overall = np.bincount(strata[known], minlength=len(names)) / known.sum()
    max_unit = int(np.bincount(units).max()) if units is not None and len(units) else 1
    worst = 0.0
    for s, frac in enumerate(fractions):
        on = known & (side == s)
        if frac <= 0 or not on.any():
            continue
        share = np.bincount(strata[on], minlength=len(names)) / on.sum()
        dev = np.abs(share - overall)
        worst = max(worst, float(dev.max()))
        tol = stratification_tolerance(max_unit, int(on.sum()))
        if enforce and dev.max() > tol:
            k = int(np.argmax(dev))
            raise SplitError(
                f"The {SIDES[s]} side would hold {share[k]:.0%} of class {names[k]!r} against "
                f"{overall[k]:.0%} overall, beyond the tolerance of {tol:.0%}: the groups are too few "
                "or too unequal in size to keep the class proportions. Choose larger test and "
                "tuning fractions, fewer sides (tuning fraction 0), or 'leave_batch_out'."
            )
    return {
        "strata": [str(n) for n in names],
        "class_share_max_deviation": round(worst, 4),
        "max_unit_rows": max_unit,
    }


def _check_every_side_has_every_class(
    side: np.ndarray, strata: np.ndarray, names: list, fractions: np.ndarray, why: str
) -> None:
    for s, frac in enumerate(fractions):
        if frac <= 0:
            continue
        present = set(np.unique(strata[(side == s) & (strata >= 0)]).tolist())
        lacking = [names[k] for k in range(len(names)) if k not in present]
        if lacking:
            raise SplitError(
                f"The {SIDES[s]} side would have no sample of class "
                f"{', '.join(map(repr, lacking[:5]))}. {why}"
            )
