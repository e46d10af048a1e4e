"""The deep model against the tuned baselines: paired differences on the tune set (Tip 2).

Both models are scored on the *same* tune samples, and the same bootstrap resamples
(of whole individuals when the study has a group column) give the interval of the
difference. Each model entry carries ``tune_predictions`` = ``{"ids", "scores",
"y_true", "groups"}``; rows are matched by sample id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..findings import Finding
from ..names import metric_label, model_label

__all__ = ["paired_comparisons", "compare_with_baselines", "best_baseline"]


def _primary(results: Mapping[str, Any]) -> str:
    return results.get("primary_metric") or ("auprc" if results.get("task") != "regression" else "r2")


def _tune_value(entry: Mapping[str, Any], metric: str) -> float | None:
    try:
        v = entry["metrics"]["tune"][metric]["value"]
    except (KeyError, TypeError):
        return None
    return None if v is None or not np.isfinite(v) else float(v)


def best_baseline(results: Mapping[str, Any]) -> str | None:
    """The baseline with the highest tune value of the primary metric."""
    metric = _primary(results)
    scored = [
        (v, name)
        for name, e in results.get("models", {}).items()
        if e.get("kind", "baseline") != "deep" and (v := _tune_value(e, metric)) is not None
    ]
    return max(scored)[1] if scored else None


def _scored(results: Mapping[str, Any], entry: Mapping[str, Any]) -> tuple[list[str], Any] | None:
    """(sample ids, tune scores) of one model: its own ``tune_predictions``, or the
    baselines' layout (``predictions["tune"]`` in the order of ``results["tune_truth"]``)."""
    own = entry.get("tune_predictions")
    if own and own.get("ids") is not None and own.get("scores") is not None:
        return [str(i) for i in own["ids"]], own["scores"]
    truth = results.get("tune_truth") or {}
    preds = (entry.get("predictions") or {}).get("tune")
    if preds is not None and truth.get("ids") is not None and len(preds) == len(truth["ids"]):
        return [str(i) for i in truth["ids"]], preds
    return None


def _aligned(
    results: Mapping[str, Any], a: Mapping[str, Any], b: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    sa, sb = _scored(results, a), _scored(results, b)
    if sa is None or sb is None:
        return None
    pos_b = {i: k for k, i in enumerate(sb[0])}
    common = [(k, pos_b[i]) for k, i in enumerate(sa[0]) if i in pos_b]
    if len(common) < 2:
        return None
    ia, ib = np.array([c[0] for c in common]), np.array([c[1] for c in common])
    truth = results.get("tune_truth") or {}
    own = a.get("tune_predictions") or {}
    if own.get("y_true") is not None and len(own["y_true"]) == len(sa[0]):
        y, groups = np.asarray(own["y_true"], dtype=object)[ia], own.get("groups")
        groups = None if groups is None else np.asarray(groups, dtype=object)[ia]
    elif truth.get("y") is not None:
        pos_t = {str(i): k for k, i in enumerate(truth["ids"])}
        it = np.array([pos_t[sa[0][k]] for k in ia])
        y = np.asarray(truth["y"], dtype=object)[it]
        groups = None if truth.get("groups") is None else np.asarray(truth["groups"], dtype=object)[it]
    else:
        return None
    return y, np.asarray(sa[1], dtype=float)[ia], np.asarray(sb[1], dtype=float)[ib], groups


def paired_comparisons(
    results: Mapping[str, Any], *, n_boot: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """``{"a", "b", "metric", "diff", "low", "high", "p_value"}`` of each deep model minus the
    best baseline, on the tune rows both scored."""
    from ..modeling._metrics import paired_difference

    metric = _primary(results)
    base = best_baseline(results)
    if base is None:
        return []
    out = []
    for name, entry in results.get("models", {}).items():
        if entry.get("kind") != "deep":
            continue
        aligned = _aligned(results, entry, results["models"][base])
        if aligned is None:
            continue
        y, sa, sb, groups = aligned
        if results.get("task") == "regression":
            y = y.astype(float)
        d = paired_difference(
            y,
            sa,
            sb,
            metric=metric,
            task=results.get("task", "classification"),
            classes=results.get("classes"),
            groups=groups,
            n_boot=n_boot,
            seed=seed,
            positive_class=results.get("positive_class"),
        )
        out.append({"a": name, "b": base, **d})
    return out


def compare_with_baselines(results: Mapping[str, Any], *, n_boot: int = 1000, seed: int = 0) -> list[Finding]:
    """``baseline_not_beaten`` for each deep model whose advantage over the best baseline is
    not clear: the 95% interval of the paired difference includes 0 (info) or lies
    below 0 (warning). Without per-sample predictions, the point values are compared."""
    metric = _primary(results)
    base = best_baseline(results)
    if base is None:
        return []
    paired = {c["a"]: c for c in paired_comparisons(results, n_boot=n_boot, seed=seed)}
    out: list[Finding] = []
    for name, entry in results.get("models", {}).items():
        if entry.get("kind") != "deep":
            continue
        deep_v, base_v = _tune_value(entry, metric), _tune_value(results["models"][base], metric)
        c = paired.get(name)
        if c is not None and np.isfinite(c["low"]):
            if c["low"] > 0:
                continue
            worse = c["high"] < 0
            detail = f"difference {c['diff']:+.3f} (95% interval {c['low']:+.3f} to {c['high']:+.3f}, paired bootstrap)"
            evidence = {**c, "deep": deep_v, "baseline": base_v, "paired": True}
        elif deep_v is not None and base_v is not None:
            if deep_v > base_v:
                continue
            worse = deep_v < base_v
            detail = f"{deep_v:.3f} against {base_v:.3f} (no per-sample predictions for a paired interval)"
            evidence = {
                "a": name,
                "b": base,
                "metric": metric,
                "deep": deep_v,
                "baseline": base_v,
                "paired": False,
            }
        else:
            continue
        verdict = "is worse than" if worse else "is not clearly better than"
        task = str(results.get("task") or "classification")
        deep_name = model_label(str(entry.get("family") or name), task)
        base_name = model_label(str(results["models"][base].get("family") or base), task)
        out.append(
            Finding(
                code="baseline_not_beaten",
                severity="warning" if worse else "info",
                tip=2,
                message=(
                    f"The {deep_name} {verdict} the tuned {base_name} on the tune set "
                    f"({metric_label(metric)}: {detail}). Both had the same search budget. Prefer the simpler, "
                    "easier-to-explain model unless the deep model wins clearly (Tip 2)."
                ),
                evidence=evidence,
            )
        )
    return out
