"""Curve data for the charts: ROC, precision-recall, calibration; observed vs predicted.

Plain lists (JSON-able), at most :data:`MAX_POINTS` points per curve, so they can live in
the results dict and be drawn by the app and the PDF alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._metrics import _positive_index, _proba_matrix, encode_labels

__all__ = ["MAX_POINTS", "calibration_curve_data", "curve_data"]

MAX_POINTS = 200
N_BINS = 10


def _thin(*arrays: np.ndarray, n: int = MAX_POINTS) -> list[list[float]]:
    size = len(arrays[0])
    keep = (
        np.unique(np.linspace(0, size - 1, min(n, size)).round().astype(int)) if size else np.array([], int)
    )
    return [np.round(a[keep], 5).tolist() for a in arrays]


def calibration_curve_data(
    y_true: Any,
    y_score: Any,
    *,
    task: str = "classification",
    classes: Sequence[Any] | None = None,
    positive_class: Any = None,
    n_bins: int = N_BINS,
) -> dict[str, Any]:
    """Reliability data: per bin of predicted probability, the mean prediction, the observed
    frequency and the count (binary: the positive class; multiclass: one curve per class,
    keyed by class). Regression: per decile of the prediction, mean predicted vs observed."""
    if task == "regression":
        y = np.asarray(y_true, dtype=float)
        pred = np.asarray(y_score, dtype=float)
        edges = np.unique(np.quantile(pred, np.linspace(0, 1, n_bins + 1)))
        idx = np.clip(np.searchsorted(edges, pred, side="right") - 1, 0, max(len(edges) - 2, 0))
        bins = [b for b in range(max(len(edges) - 1, 1)) if (idx == b).any()]
        return {
            "all": {
                "predicted": [float(pred[idx == b].mean()) for b in bins],
                "observed": [float(y[idx == b].mean()) for b in bins],
                "count": [int((idx == b).sum()) for b in bins],
            }
        }
    codes, classes = encode_labels(y_true, classes)
    p = _proba_matrix(y_score, len(classes))
    which = [_positive_index(classes, positive_class)] if len(classes) == 2 else range(len(classes))
    out = {}
    for c in which:
        prob, hit = p[:, c], (codes == c).astype(float)
        idx = np.clip((prob * n_bins).astype(int), 0, n_bins - 1)
        bins = [b for b in range(n_bins) if (idx == b).any()]
        out[str(classes[c])] = {
            "predicted": [float(prob[idx == b].mean()) for b in bins],
            "observed": [float(hit[idx == b].mean()) for b in bins],
            "count": [int((idx == b).sum()) for b in bins],
        }
    return out


def curve_data(
    y_true: Any,
    y_score: Any,
    *,
    task: str,
    classes: Sequence[Any] | None = None,
    positive_class: Any = None,
) -> dict[str, Any]:
    """ROC and precision-recall curves (per class for multiclass) and calibration data;
    for regression, observed vs predicted and binned calibration."""
    if task == "regression":
        y = np.asarray(y_true, dtype=float)
        pred = np.asarray(y_score, dtype=float)
        obs, prd = _thin(y, pred, n=1000)
        return {
            "scatter": {"observed": obs, "predicted": prd},
            "calibration": calibration_curve_data(y, pred, task="regression"),
        }
    from sklearn.metrics import precision_recall_curve, roc_curve

    codes, classes = encode_labels(y_true, classes)
    p = _proba_matrix(y_score, len(classes))
    which = [_positive_index(classes, positive_class)] if len(classes) == 2 else range(len(classes))
    roc: dict[str, Any] = {}
    pr: dict[str, Any] = {}
    for c in which:
        hit = codes == c
        if hit.all() or not hit.any():
            continue
        fpr, tpr, _ = roc_curve(hit, p[:, c])
        prec, rec, _ = precision_recall_curve(hit, p[:, c])
        roc[str(classes[c])] = dict(zip(("fpr", "tpr"), _thin(fpr, tpr), strict=True))
        pr[str(classes[c])] = dict(zip(("recall", "precision"), _thin(rec, prec), strict=True))
        pr[str(classes[c])]["prevalence"] = float(hit.mean())
    return {
        "roc": roc,
        "pr": pr,
        "calibration": calibration_curve_data(
            y_true, p, task="classification", classes=classes, positive_class=positive_class
        ),
    }
