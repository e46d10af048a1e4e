"""Global importance for any fitted model: permutation importance and linear coefficients (Tip 8).

Permutation importance asks "how much worse does the model score on held-out rows when
one feature's values are shuffled?". It works for every model that predicts (a
scikit-learn pipeline, a :class:`~deeprules_core.deep.DeepModel`), is computed on the
tune side (never the locked test set) and is repeated with fresh shuffles so that each
feature gets an interval.

**Group-aware shuffles.** When several rows come from one individual (the study's
``group`` role), a row-wise shuffle would hand each row a value from an unrelated
individual and break the within-individual structure the model may rely on. With
``groups`` given we shuffle *whole groups*: the groups are put in a random order, and
every row of group *g* receives a value from the rows of one other group *π(g)* (the
source rows in a random order, recycled when *π(g)* has fewer rows). So the rows of one
individual always receive values that came from one individual, and the association
with the label is broken at the level of individuals. With one row per group this is an
ordinary row shuffle. Within one repeat, every feature uses the same shuffle, so the
features are compared on equal terms.

**Intervals.** ``low`` / ``high`` are mean ± t(0.975, r-1)·sd/√r over the ``r``
repeats: they reflect the randomness of the shuffles only, not the sampling of the tune
rows or of the training run.

**Cost.** Shuffled copies are stacked and predicted in a few large calls (at most
:data:`CELL_BUDGET` cells per call). With more than ``max_features`` features, only the
``max_features`` features whose values correlate most (absolute Spearman) with the
model's output on the tune rows are permuted: a cheap pre-screen (one prediction)
that keeps 20,000-gene tables within minutes. The others get no importance (they are
listed as screened out); a feature whose effect is purely an interaction, with no
monotone trend in the output, can be missed by the screen.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sklearn.linear_model import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["signal", "noise1", "noise2"])
>>> y = (X["signal"] + 0.3 * rng.normal(size=200) > 0).astype(int)
>>> model = LogisticRegression().fit(X, y)
>>> imp = permutation_importance_grouped(model, X, y, scoring="auroc", n_repeats=5)
>>> imp["feature"].iloc[0]
'signal'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ModelError
from ..stats import group_permutation

__all__ = [
    "SCORINGS",
    "SCREEN_TOP",
    "CELL_BUDGET",
    "MAX_TOTAL_CELLS",
    "permutation_importance_grouped",
    "group_permutation",
    "linear_coefficients",
    "model_outputs",
    "model_classes",
]

ProgressCallback = Callable[[float, str], None]

#: Scores, each oriented so that higher is better.
SCORINGS = ("auroc", "auprc", "balanced_accuracy", "neg_log_loss", "neg_brier", "r2", "neg_mae", "spearman")
_CLASSIFICATION = {"auroc", "auprc", "balanced_accuracy", "neg_log_loss", "neg_brier"}
#: Features permuted at most; the rest are pre-screened out (see module docstring). 200
#: features x 10 repeats x 500 tune rows is 1M predictions: seconds for a forest.
SCREEN_TOP = 200
#: Cells (rows x columns) per stacked prediction call: ~40 MB of float64, small enough for
#: a laptop shared with other jobs, large enough that the per-call overhead vanishes.
CELL_BUDGET = 5_000_000
#: Total-cost cap: cells (rows x columns) predicted over the whole computation. Above it,
#: fewer of the screened features are permuted (the most output-correlated first, at least
#: MIN_CAPPED_FEATURES), then fewer repeats (at least MIN_CAPPED_REPEATS); the result says
#: so (``cost_cap``). 4e8 cells is about 10 s for a 200-tree forest on this machine (see
#: benchmarks/bench_interpret.py); 300 rows x 2,000 columns x 200 features x 10 repeats
#: would be 1.2e9.
MAX_TOTAL_CELLS = 400_000_000
MIN_CAPPED_FEATURES = 20
MIN_CAPPED_REPEATS = 5


# ----------------------------------------------------------------- model access
def model_classes(model: Any) -> list[Any] | None:
    """The class labels in the order of ``predict_proba``'s columns (None for regression).

    The study's pipelines are fitted on integer codes and name the classes in
    ``deeprules_classes_``; deep models in ``classes``.
    """
    classes = getattr(model, "deeprules_classes_", None)
    if classes is None:
        classes = getattr(model, "classes_", None)
    if classes is None:
        classes = getattr(model, "classes", None)
    return None if classes is None else list(classes)


def _as_input(model: Any, X: pd.DataFrame) -> Any:
    """A DataFrame for models fitted on named columns (and deep models), else an array."""
    if hasattr(model, "spec") or hasattr(model, "feature_names_in_"):
        return X
    return X.to_numpy()


def stacked_frame(X: pd.DataFrame, block: np.ndarray) -> pd.DataFrame:
    """Copies of rows (``block``) as a frame with the columns and types of ``X``; types are
    converted only when they differ (converting thousands of columns one by one is slow)."""
    frame = pd.DataFrame(block, columns=X.columns, copy=False)
    if not frame.dtypes.equals(X.dtypes):
        frame = frame.astype(X.dtypes.to_dict(), copy=False)
    return frame


def model_outputs(model: Any, X: pd.DataFrame, *, proba: bool) -> np.ndarray:
    """Class probabilities (n, k) when ``proba``, else predictions (n,)."""
    inputs = _as_input(model, X)
    if proba:
        if not hasattr(model, "predict_proba"):
            raise ModelError(
                "This model gives no class probabilities, so a probability-based score cannot be "
                "computed. Use scoring='balanced_accuracy' or a model with predict_proba."
            )
        return np.asarray(model.predict_proba(inputs), dtype=float)
    return np.asarray(model.predict(inputs), dtype=float)


def _encode(y: Any, classes: Sequence[Any]) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    lookup.update({str(c): i for i, c in enumerate(classes)})
    try:
        return np.array([lookup[v] if v in lookup else lookup[str(v)] for v in np.asarray(y)], dtype=int)
    except KeyError as exc:
        raise ModelError(
            f"The label value {exc.args[0]!r} is not one of the model's classes {list(classes)}."
        ) from exc


def _scorer(scoring: str | Callable[[Any, np.ndarray], float], y: Any, classes: list[Any] | None):
    """(needs probabilities, function of the model output -> score, higher is better)."""
    if callable(scoring):
        return True, lambda out: float(scoring(y, out))
    from sklearn import metrics

    if scoring not in SCORINGS:
        raise ModelError(f"The 'scoring' must be one of {SCORINGS} or a callable. Got {scoring!r} instead.")
    if scoring in _CLASSIFICATION:
        if classes is None:
            raise ModelError(f"The score {scoring!r} is for classifiers; this model predicts a number.")
        codes = _encode(y, classes)
        k = len(classes)
        if len(np.unique(codes)) < 2:
            raise ModelError(
                "The held-out rows contain a single class, so no ranking score can be computed. "
                "Use a larger tune side or a stratified split."
            )
        onehot = np.eye(k)[codes]

        def score(p: np.ndarray) -> float:
            if scoring == "balanced_accuracy":
                return float(metrics.balanced_accuracy_score(codes, p.argmax(axis=1)))
            if scoring == "neg_brier":  # multiclass Brier: squared distance to the one-hot truth
                return -float(((p - onehot) ** 2).sum(axis=1).mean())
            if scoring == "neg_log_loss":
                return -float(metrics.log_loss(codes, np.clip(p, 1e-15, 1), labels=list(range(k))))
            fn = metrics.roc_auc_score if scoring == "auroc" else metrics.average_precision_score
            if k == 2:
                return float(fn(codes == 1, p[:, 1]))
            present = [c for c in range(k) if 0 < onehot[:, c].sum() < len(codes)]
            return float(np.mean([fn(onehot[:, c], p[:, c]) for c in present]))

        return True, score
    y_num = np.asarray(y, dtype=float)

    def score_reg(pred: np.ndarray) -> float:
        if scoring == "r2":
            return float(metrics.r2_score(y_num, pred))
        if scoring == "neg_mae":
            return -float(metrics.mean_absolute_error(y_num, pred))
        rho = stats.spearmanr(y_num, pred).statistic
        return float(rho) if np.isfinite(rho) else 0.0

    return False, score_reg


# ----------------------------------------------------------------- shuffles
def _screen(out: np.ndarray, values: np.ndarray, keep: int) -> np.ndarray:
    """Positions of the ``keep`` columns of ``values`` most rank-correlated with the output."""
    out2 = out if out.ndim == 2 else out[:, None]
    r_out = stats.rankdata(out2, axis=0)
    r_x = stats.rankdata(np.nan_to_num(values.astype(float), nan=0.0), axis=0)
    r_out = (r_out - r_out.mean(0)) / np.maximum(r_out.std(0), 1e-12)
    r_x = (r_x - r_x.mean(0)) / np.maximum(r_x.std(0), 1e-12)
    rho = np.abs(r_x.T @ r_out / len(r_x)).max(axis=1)
    return np.sort(np.argsort(-rho, kind="stable")[:keep])


def _column_wise(
    model: Any, X: pd.DataFrame, feats: list[str]
) -> tuple[Any, pd.DataFrame, list[str], list[str]]:
    """For the study's pipelines whose preprocessing acts column by column (imputation,
    the label-associated filter, scaling): the preprocessed rows and the bare model.

    Permuting a raw column then preprocessing equals preprocessing then permuting the
    column (each step maps a column on its own, with statistics fixed at fit time), so
    the importances are the same, at a fraction of the cost: the preprocessing runs once,
    and features the filter dropped are not permuted at all (their importance is exactly
    0: the model never sees them). Anything else is returned unchanged.
    """
    steps = getattr(model, "steps", None)
    if not steps or len(steps) < 2:
        return model, X, feats, []
    from sklearn.preprocessing import StandardScaler

    from ..modeling._models import MedianImputer, UnivariateFilter

    pre = [s for _, s in steps[:-1]]
    if not all(isinstance(s, (MedianImputer, UnivariateFilter, StandardScaler)) for s in pre):
        return model, X, feats, []
    names = [str(c) for c in X.columns]
    Z = X.to_numpy(dtype=float)
    for s in pre:
        if isinstance(s, UnivariateFilter):
            names = [names[i] for i in s.support_]
        Z = s.transform(Z)
    est = steps[-1][1]
    if getattr(model, "deeprules_classes_", None) is not None:
        est = _Relabelled(est, model.deeprules_classes_)
    kept = set(names)
    return (
        est,
        pd.DataFrame(Z, columns=names),
        [f for f in feats if f in kept],
        [f for f in feats if f not in kept],
    )


class _Relabelled:
    """A fitted estimator that names its classes like the pipeline it came from."""

    def __init__(self, est: Any, classes: Sequence[Any]) -> None:
        self.est, self.deeprules_classes_ = est, list(classes)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.est.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self.est.predict(X))


def _cost_cap(n_rows: int, n_cols: int, n_feats: int, n_repeats: int) -> dict[str, Any]:
    """How many features and repeats fit into :data:`MAX_TOTAL_CELLS`."""
    per = max(1, n_rows * n_cols)
    cells = per * n_feats * n_repeats
    out: dict[str, Any] = {"max_cells": MAX_TOTAL_CELLS, "cells": int(cells), "capped": False}
    if cells <= MAX_TOTAL_CELLS:
        return out | {"features": n_feats, "repeats": n_repeats}
    repeats = n_repeats
    feats = max(min(MIN_CAPPED_FEATURES, n_feats), MAX_TOTAL_CELLS // (per * repeats))
    if per * feats * repeats > MAX_TOTAL_CELLS:
        repeats = max(MIN_CAPPED_REPEATS, min(n_repeats, MAX_TOTAL_CELLS // (per * feats)))
    feats = min(feats, n_feats)
    return out | {
        "capped": True,
        "features": int(feats),
        "repeats": int(repeats),
        "cells": int(per * feats * repeats),
        "note": f"total cost capped at {MAX_TOTAL_CELLS:.0e} predicted cells: {feats} features "
        f"permuted {repeats} times (the most output-correlated first)",
    }


def permutation_importance_grouped(
    model: Any,
    X: pd.DataFrame,
    y: Any,
    *,
    groups: Sequence[Any] | np.ndarray | None = None,
    scoring: str | Callable[[Any, np.ndarray], float] = "auto",
    n_repeats: int = 10,
    seed: int = 0,
    features: Sequence[str] | None = None,
    max_features: int | None = SCREEN_TOP,
    progress: ProgressCallback | None = None,
) -> pd.DataFrame:
    """Permutation importance on held-out rows, group-aware, with intervals.

    Parameters
    ----------
    model
        A fitted model with ``predict`` (and ``predict_proba`` for classification scores).
    X
        Held-out rows (the tune side), with every column the model needs.
    y
        The true labels of those rows.
    groups
        The individual each row comes from; shuffles then move whole groups.
    scoring
        ``"auto"`` (the Brier score for classifiers, R² for regression), one of
        :data:`SCORINGS` (higher is better) or ``callable(y, output) -> float`` that
        receives class probabilities. Ranking scores (AUROC, AUPRC) change only when two
        samples swap order, so on a small tune side their drops are coarse and noisy;
        the Brier score moves with every probability, which ranks features more reliably
        (on the simulated sample data it recovered more of the planted features).
    n_repeats
        Shuffles per feature (at least 2, for an interval).
    seed
        Seeds the shuffles.
    features
        Columns to permute (default: every column of ``X``).
    max_features
        Permute at most this many features, chosen by a cheap pre-screen (None: all).
    progress
        ``progress(fraction, message)``.

    Returns
    -------
    pandas.DataFrame
        ``feature, importance, std, low, high`` (importance = mean drop of the score),
        sorted by importance. ``attrs`` holds ``scoring``, ``baseline_score``,
        ``n_repeats``, ``n_rows``, ``group_aware`` and ``screened_out``.
    """
    if n_repeats < 2:
        raise ModelError(f"The 'n_repeats' parameter must be an int >= 2. Got {n_repeats!r} instead.")
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X))
        X.columns = [str(c) for c in X.columns]
    y_arr = np.asarray(y)
    if len(X) != len(y_arr) or len(X) < 5:
        raise ModelError(
            f"Permutation importance needs at least 5 held-out rows with a label each; got {len(X)} rows "
            f"and {len(y_arr)} labels."
        )
    feats = list(features) if features is not None else [str(c) for c in X.columns]
    missing = [f for f in feats if f not in X.columns]
    if missing:
        raise ModelError(f"The features {missing[:5]} are not columns of the held-out table.")
    if scoring == "auto":
        scoring = "neg_brier" if model_classes(model) is not None else "r2"
    needs_proba, score = _scorer(scoring, y_arr, model_classes(model))
    model, X, feats, unused = _column_wise(model, X, feats)
    base_out = model_outputs(model, X, proba=needs_proba)
    baseline = score(base_out)
    screened_out: list[str] = []
    if max_features is not None and len(feats) > max_features:
        keep = _screen(base_out, X[feats].to_numpy(), int(max_features))
        screened_out = [f for i, f in enumerate(feats) if i not in set(keep.tolist())]
        feats = [feats[i] for i in keep]
    cap = _cost_cap(len(X), X.shape[1], len(feats), n_repeats)
    if cap["capped"]:
        if cap["features"] < len(feats):
            kept = _screen(base_out, X[feats].to_numpy(), cap["features"])
            screened_out += [f for i, f in enumerate(feats) if i not in set(kept.tolist())]
            feats = [feats[i] for i in kept]
        n_repeats = cap["repeats"]

    rng = np.random.default_rng(seed)
    n = len(X)
    perms = [
        group_permutation(groups, rng) if groups is not None else rng.permutation(n) for _ in range(n_repeats)
    ]
    columns = list(X.columns)
    col_pos = [columns.index(f) for f in feats]
    values = X.to_numpy()
    jobs = [(j, r) for j in range(len(feats)) for r in range(n_repeats)]
    per_call = max(1, CELL_BUDGET // max(1, n * len(columns)))
    drops = np.zeros((len(feats), n_repeats))
    for start in range(0, len(jobs), per_call):
        chunk = jobs[start : start + per_call]
        stacked = np.tile(values, (len(chunk), 1))
        for b, (j, r) in enumerate(chunk):
            c = col_pos[j]
            stacked[b * n : (b + 1) * n, c] = values[perms[r], c]
        frame = stacked_frame(X, stacked)
        out = model_outputs(model, frame, proba=needs_proba)
        for b, (j, r) in enumerate(chunk):
            drops[j, r] = baseline - score(out[b * n : (b + 1) * n])
        if progress is not None:
            progress(min(start + len(chunk), len(jobs)) / len(jobs), f"permuted {len(chunk)} copies")

    mean = drops.mean(axis=1)
    sd = drops.std(axis=1, ddof=1)
    half = stats.t.ppf(0.975, n_repeats - 1) * sd / np.sqrt(n_repeats)
    out_df = pd.DataFrame(
        {"feature": feats, "importance": mean, "std": sd, "low": mean - half, "high": mean + half}
    )
    out_df = out_df.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    out_df.attrs.update(
        method="permutation",
        scoring=scoring if isinstance(scoring, str) else getattr(scoring, "__name__", "custom"),
        baseline_score=float(baseline),
        n_repeats=int(n_repeats),
        n_rows=int(n),
        group_aware=groups is not None,
        screened_out=len(screened_out),
        not_used_by_model=len(unused),
        cost_cap=cap,
        interval="mean ± t·sd/√repeats over the shuffles (shuffle randomness only)",
    )
    return out_df


# ----------------------------------------------------------------- linear models
def _names_through(pipeline: Any, names: list[str]) -> list[str]:
    """Follow the feature names through the pipeline's preprocessing steps."""
    steps = getattr(pipeline, "steps", None)
    if not steps:
        return names
    for _, step in steps[:-1]:
        if step is None or step == "passthrough":
            continue
        kind = type(step).__name__
        if kind == "BatchCorrectStep":  # the batch code travels as the last column
            names = names[:-1]
        elif hasattr(step, "support_"):
            names = [names[i] for i in np.asarray(step.support_)]
        elif hasattr(step, "get_support"):
            names = [n for n, keep in zip(names, step.get_support(), strict=False) if keep]
    return names


def linear_coefficients(pipeline: Any, *, feature_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Coefficients of a linear model, mapped back to feature names.

    With a standardisation step in the pipeline (the baselines always have one) the
    coefficients are per standard deviation of the feature, so they are comparable
    across features. Multiclass models have one coefficient per class; ``importance``
    is the largest absolute one and ``coefficient`` / ``class`` say which.

    Returns
    -------
    pandas.DataFrame
        ``feature, coefficient, importance, class`` sorted by importance; ``attrs``
        says whether the coefficients are standardised.
    """
    est = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    coef = getattr(est, "coef_", None)
    if coef is None:
        raise ModelError(f"{type(est).__name__} is not a linear model: it has no coefficients.")
    if feature_names is not None:
        names = [str(n) for n in feature_names]
    elif hasattr(pipeline, "feature_names_in_"):
        names = [str(n) for n in pipeline.feature_names_in_]
    else:
        names = [f"x{i}" for i in range(int(getattr(pipeline, "n_features_in_", np.shape(coef)[-1])))]
    names = _names_through(pipeline, names)
    coef = np.atleast_2d(np.asarray(coef, dtype=float))
    if coef.shape[1] != len(names):
        raise ModelError(
            f"The model has {coef.shape[1]} coefficients but {len(names)} feature names were found; "
            "pass feature_names explicitly."
        )
    classes = model_classes(est)
    best = np.abs(coef).argmax(axis=0)
    signed = coef[best, np.arange(coef.shape[1])]
    which: list[str | None]
    if coef.shape[0] == 1:
        which = [None] * coef.shape[1]
    else:
        which = [str(classes[b]) if classes is not None else str(b) for b in best]
    df = pd.DataFrame({"feature": names, "coefficient": signed, "importance": np.abs(signed), "class": which})
    df = df.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    steps = getattr(pipeline, "steps", [])
    df.attrs.update(
        method="coefficients",
        standardized=any(type(s).__name__ == "StandardScaler" for _, s in steps[:-1]),
    )
    return df
