"""The metric panel (Tip 1) with group-aware bootstrap intervals, and paired differences.

Every metric is computed from *weights* on the rows: the point estimate uses weight 1
for every row, and a bootstrap resample is a vector of integer weights (how often each
row, or each row's group, was drawn). So 1,000 resamples are one matrix of weights, and
every metric is computed for all of them at once with a few array operations (no Python
loop over resamples). Resampling groups (individuals, donors) instead of rows keeps
the replicates of one individual together, which is what makes the interval honest
when an individual contributes several rows.

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1])
>>> p = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
>>> panel = metric_panel(y, p, task="classification", n_boot=0)
>>> panel["auroc"]["value"], panel["auprc"]["value"]
(1.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ModelError

__all__ = [
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "HIGHER_IS_BETTER",
    "metric_panel",
    "paired_difference",
    "bootstrap_weights",
    "encode_labels",
    "sorted_classes",
    "metric_values",
]

CLASSIFICATION_METRICS = ("auprc", "auroc", "balanced_accuracy", "mcc", "f1", "brier")
REGRESSION_METRICS = ("r2", "mae", "rmse", "spearman")
HIGHER_IS_BETTER = {
    "auprc": True,
    "auroc": True,
    "balanced_accuracy": True,
    "mcc": True,
    "f1": True,
    "brier": False,
    "r2": True,
    "mae": False,
    "rmse": False,
    "spearman": True,
}
#: Resamples processed together; bounds memory at about CHUNK_CELLS floats per array.
CHUNK_CELLS = 4_000_000
CI_LEVEL = 0.95


# ----------------------------------------------------------------------------- inputs
def encode_labels(y_true: Any, classes: Sequence[Any] | None) -> tuple[np.ndarray, list[Any]]:
    """Class labels -> integer codes in the order of ``classes`` (sorted when None)."""
    y = np.asarray(y_true)
    if classes is None:
        classes = sorted_classes(y)
    classes = list(classes)
    lookup = {str(c): i for i, c in enumerate(classes)}
    try:
        codes = np.array([lookup[str(v)] for v in y], dtype=int)
    except KeyError as exc:
        raise ModelError(
            f"The label value {exc.args[0]!r} is not one of the classes {classes}. "
            "Every label value must be a known class; check the label column."
        ) from None
    return codes, classes


def sorted_classes(values: Any) -> list[Any]:
    """The classes in a fixed order: sorted (by text when the values do not compare)."""
    v = np.asarray(values, dtype=object)
    v = v[[x is not None and x == x for x in v]]  # drop None / NaN
    try:
        return np.unique(v).tolist()
    except TypeError:
        return sorted(set(v.tolist()), key=str)


def _proba_matrix(y_score: Any, n_classes: int) -> np.ndarray:
    p = np.asarray(y_score, dtype=float)
    if p.ndim == 1:
        if n_classes != 2:
            raise ModelError(
                "A one-column score is only meaningful for two classes; pass one column per class."
            )
        p = np.column_stack([1.0 - p, p])
    if p.shape[1] != n_classes:
        raise ModelError(f"The score matrix has {p.shape[1]} columns for {n_classes} classes.")
    return p


def bootstrap_weights(n: int, *, groups: Any = None, n_boot: int, seed: int = 0) -> np.ndarray:
    """Integer resampling weights, shape (n_boot, n).

    With ``groups``, whole groups are drawn with replacement (a row's weight is the
    number of times its group was drawn); otherwise rows are drawn.
    """
    rng = np.random.default_rng(seed)
    if n_boot <= 0:
        return np.ones((0, n))
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    g = int(codes.max()) + 1
    counts = rng.multinomial(g, np.full(g, 1.0 / g), size=n_boot).astype(float)
    return counts[:, codes]


# ------------------------------------------------------------------ weighted metrics
def _ranking(score: np.ndarray, pos: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted AUROC and average precision of one binary problem for each weight row."""
    order = np.argsort(-score, kind="mergesort")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    wo = w[:, order]
    p = pos[order]
    bp = np.add.reduceat(wo * p, starts, axis=1)
    bn = np.add.reduceat(wo * ~p, starts, axis=1)
    tp = np.cumsum(bp, axis=1)
    fp = np.cumsum(bn, axis=1)
    n_pos, n_neg = tp[:, -1], fp[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (bp * (n_neg[:, None] - fp) + 0.5 * bp * bn).sum(axis=1) / (n_pos * n_neg)
        prec = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (bp * prec).sum(axis=1) / n_pos
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    ap[n_pos == 0] = np.nan
    return auc, ap


def _midranks(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Average ranks of ``x`` within each weighted resample (ties share a rank)."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    block = np.cumsum(np.r_[False, xs[1:] != xs[:-1]])  # block of each sorted position
    bw = np.add.reduceat(w[:, order], starts, axis=1)
    before = np.cumsum(bw, axis=1) - bw
    mid = before + (bw + 1.0) / 2.0
    ranks = np.empty_like(w)
    ranks[:, order] = mid[:, block]
    return ranks


def _wcorr(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    tot = w.sum(axis=1, keepdims=True)
    ma = (w * a).sum(axis=1, keepdims=True) / tot
    mb = (w * b).sum(axis=1, keepdims=True) / tot
    da, db = a - ma, b - mb
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * da * db).sum(axis=1) / np.sqrt((w * da * da).sum(axis=1) * (w * db * db).sum(axis=1))


def _classification(codes: np.ndarray, p: np.ndarray, w: np.ndarray, positive: int) -> dict[str, np.ndarray]:
    n, k = p.shape
    out: dict[str, np.ndarray] = {}
    if k == 2:
        auc, ap = _ranking(p[:, positive], codes == positive, w)
    else:
        pairs = [_ranking(p[:, c], codes == c, w) for c in range(k)]
        with np.errstate(invalid="ignore"):
            auc = np.nanmean(np.vstack([a for a, _ in pairs]), axis=0) if k else np.nan  # type: ignore[assignment]
            ap = np.nanmean(np.vstack([b for _, b in pairs]), axis=0)
    out["auprc"], out["auroc"] = ap, auc
    pred = p.argmax(axis=1)
    cell = np.zeros((n, k * k))
    cell[np.arange(n), codes * k + pred] = 1.0
    conf = (w @ cell).reshape(-1, k, k)  # [resample, true, predicted]
    t = conf.sum(axis=2)
    q = conf.sum(axis=1)
    diag = np.diagonal(conf, axis1=1, axis2=2)
    s = t.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(t > 0, diag / t, np.nan)
        out["balanced_accuracy"] = np.nanmean(recall, axis=1)
        f1 = np.where(t + q > 0, 2 * diag / (t + q), np.nan)
        out["f1"] = np.nanmean(f1, axis=1)
        c = diag.sum(axis=1)
        num = c * s - (t * q).sum(axis=1)
        den = np.sqrt((s**2 - (q * q).sum(axis=1)) * (s**2 - (t * t).sum(axis=1)))
        out["mcc"] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    onehot = np.eye(k)[codes]
    if k == 2:
        err = (p[:, positive] - onehot[:, positive]) ** 2
    else:
        err = ((p - onehot) ** 2).sum(axis=1)  # as scikit-learn's multiclass Brier score
    out["brier"] = (w @ err) / w.sum(axis=1)
    return out


def _regression(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    tot = w.sum(axis=1)
    e = y - pred
    sse = w @ (e * e)
    mean = (w @ y) / tot
    sst = w @ (y * y) - tot * mean**2
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(sst > 1e-12 * np.maximum(tot, 1), 1.0 - sse / sst, np.nan)
    return {
        "r2": r2,
        "mae": (w @ np.abs(e)) / tot,
        "rmse": np.sqrt(sse / tot),
        "spearman": _wcorr(_midranks(y, w), _midranks(pred, w), w),
    }


def metric_values(
    y_true: Any,
    y_score: Any,
    weights: np.ndarray,
    *,
    task: str,
    classes: Sequence[Any] | None = None,
    positive_class: Any = None,
) -> dict[str, np.ndarray]:
    """Every metric of the panel for each row of ``weights`` (shape (B, n)); chunked."""
    w_all = np.atleast_2d(np.asarray(weights, dtype=float))
    if task == "classification":
        codes, classes = encode_labels(y_true, classes)
        p = _proba_matrix(y_score, len(classes))
        positive = _positive_index(classes, positive_class)

        def compute(w: np.ndarray) -> dict[str, np.ndarray]:
            return _classification(codes, p, w, positive)

    elif task == "regression":
        y = np.asarray(y_true, dtype=float)
        pred = np.asarray(y_score, dtype=float).reshape(-1)

        def compute(w: np.ndarray) -> dict[str, np.ndarray]:
            return _regression(y, pred, w)

    else:
        raise ModelError(f"The 'task' must be 'classification' or 'regression'. Got {task!r}.")
    n = w_all.shape[1]
    step = max(1, CHUNK_CELLS // max(n, 1))
    parts = [compute(w_all[i : i + step]) for i in range(0, w_all.shape[0], step)]
    if not parts:
        return {}
    return {m: np.concatenate([part[m] for part in parts]) for m in parts[0]}


def _positive_index(classes: Sequence[Any], positive_class: Any) -> int:
    if positive_class is None:
        return len(classes) - 1
    names = [str(c) for c in classes]
    if str(positive_class) not in names:
        raise ModelError(f"The positive class {positive_class!r} is not one of the classes {list(classes)}.")
    return names.index(str(positive_class))


def _interval(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if v.size < 2:
        return float("nan"), float("nan")
    a = (1.0 - CI_LEVEL) / 2.0
    lo, hi = np.quantile(v, [a, 1.0 - a])
    return float(lo), float(hi)


# ------------------------------------------------------------------------ public API
def metric_panel(
    y_true: Any,
    y_score: Any,
    *,
    task: str,
    classes: Sequence[Any] | None = None,
    groups: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    positive_class: Any = None,
) -> dict[str, dict[str, float]]:
    """The imbalance-aware metric panel with 95% bootstrap intervals.

    Parameters
    ----------
    y_true
        True labels (classification) or values (regression).
    y_score
        Classification: class-probability matrix, one column per class in the order of
        ``classes`` (a 1-D score is read as the probability of the second class).
        Regression: the predictions.
    task
        ``"classification"`` or ``"regression"``.
    classes
        Column order of ``y_score``; sorted unique labels when None.
    groups
        Group (individual) of each row: the bootstrap draws whole groups. None draws rows.
    n_boot
        Number of bootstrap resamples (0: no interval, ``low``/``high`` are NaN).
    positive_class
        Binary tasks: the class whose precision-recall curve gives AUPRC and whose
        probability the Brier score uses (default: the last class). Multiclass AUPRC and
        AUROC are macro averages of one-vs-rest problems.

    Returns
    -------
    dict
        ``{metric: {"value", "low", "high"}}``: AUPRC, AUROC, balanced accuracy, MCC,
        macro F1 and Brier score; or R², MAE, RMSE and Spearman's rho.

    Examples
    --------
    >>> panel = metric_panel([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], task="regression", n_boot=0)
    >>> panel["r2"]["value"], panel["mae"]["value"]
    (1.0, 0.0)
    """
    n = len(np.asarray(y_true))
    if n == 0:
        raise ModelError("There are no rows to score: the metric panel needs at least one sample.")
    point = metric_values(
        y_true, y_score, np.ones((1, n)), task=task, classes=classes, positive_class=positive_class
    )
    boot = metric_values(
        y_true,
        y_score,
        bootstrap_weights(n, groups=groups, n_boot=n_boot, seed=seed),
        task=task,
        classes=classes,
        positive_class=positive_class,
    )
    panel: dict[str, dict[str, float]] = {}
    for m, v in point.items():
        lo, hi = _interval(boot[m]) if boot else (float("nan"), float("nan"))
        panel[m] = {"value": float(v[0]), "low": lo, "high": hi}
    return panel


def paired_difference(
    y_true: Any,
    score_a: Any,
    score_b: Any,
    *,
    metric: str,
    task: str,
    classes: Sequence[Any] | None = None,
    groups: Any = None,
    n_boot: int = 1000,
    seed: int = 0,
    positive_class: Any = None,
) -> dict[str, Any]:
    """Metric of model a minus metric of model b on the same rows, with a 95% interval
    from the *same* resamples for both (a paired bootstrap).

    Returns ``{"metric", "diff", "low", "high", "p_value"}``; ``p_value`` is the
    two-sided bootstrap proportion of resampled differences on the other side of 0.

    Examples
    --------
    >>> y = [0, 0, 1, 1]
    >>> good = [[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]]
    >>> bad = [[0.5, 0.5]] * 4
    >>> paired_difference(y, good, bad, metric="auroc", task="classification", n_boot=0)["diff"]
    0.5
    """
    n = len(np.asarray(y_true))
    kw: dict[str, Any] = {"task": task, "classes": classes, "positive_class": positive_class}
    ones = np.ones((1, n))
    a0 = metric_values(y_true, score_a, ones, **kw)
    if metric not in a0:
        raise ModelError(f"Unknown metric {metric!r} for {task}; choose one of {sorted(a0)}.")
    diff = float(a0[metric][0] - metric_values(y_true, score_b, ones, **kw)[metric][0])
    w = bootstrap_weights(n, groups=groups, n_boot=n_boot, seed=seed)
    if w.shape[0] == 0:
        return {
            "metric": metric,
            "diff": diff,
            "low": float("nan"),
            "high": float("nan"),
            "p_value": float("nan"),
        }
    d = metric_values(y_true, score_a, w, **kw)[metric] - metric_values(y_true, score_b, w, **kw)[metric]
    lo, hi = _interval(d)
    d = d[np.isfinite(d)]
    p = float(min(1.0, 2.0 * min((d <= 0).mean(), (d >= 0).mean()))) if d.size else float("nan")
    return {"metric": metric, "diff": diff, "low": lo, "high": hi, "p_value": p}
