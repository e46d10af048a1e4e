"""The metric panel by subgroup (sex, site, any covariate the user marks), with intervals.

A model that works on average can fail one group of patients (REFORMS asks for the
check; Tip 10 makes it an ethical question). For every level of a marked column the
panel of the tune side is computed with the group-aware bootstrap of
:mod:`deeprules_core.modeling._metrics`; a ``subgroup_gap`` warning is raised when a
subgroup's score falls far below the rest's and the interval of the difference
excludes zero. Numeric columns with many values are cut into quartiles.

The gap is judged on a metric that does not move with the subgroup's class balance:
AUROC (balanced accuracy where a subgroup has one class only) for classification, the
mean absolute error for regression.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..findings import Finding
from ..modeling._metrics import CI_LEVEL, bootstrap_weights, metric_panel, metric_values

__all__ = ["GAP", "REL_GAP_MAE", "MIN_SUBGROUP", "subgroup_levels", "subgroup_metrics"]

#: A subgroup's AUROC / balanced accuracy this far below the rest's is a gap.
GAP = 0.1
#: A subgroup's mean absolute error this much larger (relative) than the rest's is a gap.
REL_GAP_MAE = 0.25
#: Subgroups with fewer tune rows get a panel but no verdict (too small to judge).
MIN_SUBGROUP = 10
MAX_LEVELS = 12


def subgroup_levels(values: pd.Series) -> pd.Series:
    """Subgroup labels of a column: its values, or quartiles of a numeric column with many values."""
    if pd.api.types.is_numeric_dtype(values) and values.nunique(dropna=True) > 6:
        try:
            bins = pd.qcut(values, 4, duplicates="drop")
        except ValueError:
            return values.astype(str)
        return bins.astype(str).where(values.notna(), "missing")
    return values.astype(str).where(values.notna(), "missing")


def _gap_metric(task: str, y: np.ndarray, rows: np.ndarray) -> str:
    if task == "regression":
        return "mae"
    return "auroc" if len(np.unique(y[rows])) > 1 else "balanced_accuracy"


def _boot(task: str, y: np.ndarray, p: np.ndarray, rows: np.ndarray, groups: Any, metric: str, kw: dict[str, Any],
          n_boot: int, seed: int) -> tuple[float, np.ndarray]:  # fmt: skip
    g = None if groups is None else groups[rows]
    point = metric_values(y[rows], p[rows], np.ones((1, len(rows))), task=task, **kw)[metric][0]
    w = bootstrap_weights(len(rows), groups=g, n_boot=n_boot, seed=seed)
    return float(point), metric_values(y[rows], p[rows], w, task=task, **kw)[metric]


def subgroup_metrics(
    y: np.ndarray,
    score: np.ndarray,
    subgroups: pd.DataFrame,
    *,
    task: str,
    classes: Sequence[Any] | None = None,
    positive_class: Any = None,
    groups: np.ndarray | None = None,
    n_boot: int = 500,
    seed: int = 0,
    model_label: str = "the model",
) -> tuple[dict[str, list[dict[str, Any]]], list[Finding]]:
    """Panels per subgroup of each column of ``subgroups`` (aligned with ``y``), and the gaps.

    Returns ``({column: [{"level", "n", "metrics", "gap": {...} | None}]}, findings)``.
    """
    y, score = np.asarray(y), np.asarray(score)
    kw = {"classes": classes, "positive_class": positive_class}
    out: dict[str, list[dict[str, Any]]] = {}
    findings: list[Finding] = []
    a = (1.0 - CI_LEVEL) / 2.0
    for col in subgroups.columns:
        levels = subgroup_levels(subgroups[col].reset_index(drop=True))
        names = list(pd.unique(levels))
        if len(names) < 2 or len(names) > MAX_LEVELS:
            out[str(col)] = []
            continue
        rows_out = []
        for level in names:
            rows = np.flatnonzero((levels == level).to_numpy())
            rest = np.flatnonzero((levels != level).to_numpy())
            panel = metric_panel(y[rows], score[rows], task=task, groups=None if groups is None else groups[rows],
                                 n_boot=n_boot, seed=seed, **kw)  # fmt: skip
            item: dict[str, Any] = {"level": str(level), "n": int(len(rows)), "metrics": panel, "gap": None}
            if len(rows) >= MIN_SUBGROUP and len(rest) >= MIN_SUBGROUP:
                metric = _gap_metric(task, y, rows)
                if metric == "auroc" and len(np.unique(y[rest])) < 2:
                    metric = "balanced_accuracy"
                v_sub, b_sub = _boot(task, y, score, rows, groups, metric, kw, n_boot, seed)
                v_rest, b_rest = _boot(task, y, score, rest, groups, metric, kw, n_boot, seed + 1)
                diff = b_sub - b_rest
                diff = diff[np.isfinite(diff)]
                lo, hi = (
                    (float(q) for q in np.quantile(diff, [a, 1 - a])) if diff.size > 1 else (np.nan, np.nan)
                )
                gap = {"metric": metric, "subgroup": v_sub, "rest": v_rest, "difference": v_sub - v_rest,
                       "low": lo, "high": hi}  # fmt: skip
                item["gap"] = gap
                if metric == "mae":
                    bad = v_rest > 0 and (v_sub - v_rest) / v_rest >= REL_GAP_MAE and lo > 0
                else:
                    bad = v_sub - v_rest <= -GAP and hi < 0
                if bad:
                    findings.append(_finding(str(col), str(level), len(rows), gap, model_label))
            rows_out.append(item)
        out[str(col)] = rows_out
    return out, findings


def _finding(col: str, level: str, n: int, gap: dict[str, Any], model_label: str) -> Finding:
    metric = {"auroc": "AUROC", "balanced_accuracy": "balanced accuracy", "mae": "mean absolute error"}[
        gap["metric"]
    ]
    return Finding(
        code="subgroup_gap",
        severity="warning",
        tip=10,
        columns=(col,),
        message=(
            f"{model_label[:1].upper() + model_label[1:]} does much worse for {col} = {level} ({n} tune samples): "
            f"{metric} {gap['subgroup']:.2f} against {gap['rest']:.2f} for the rest (difference "
            f"{gap['difference']:+.2f}, 95% CI {gap['low']:+.2f} to {gap['high']:+.2f}). A model that fails one "
            "group of patients must not be used for them: report the subgroup results, collect more samples of "
            "this group, or restrict the intended use in the model card."
        ),
        evidence={"column": col, "level": level, "n": n, **gap},
    )
