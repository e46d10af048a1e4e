"""Tables and Altair charts built from the results dict (baselines and deep models alike).

Every function takes the results dict of ``run_baselines`` (HELPERS.md), so the Deep
learning page can reuse them once its models are in ``results["models"]``.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from deeprules_core.names import control_scored_on, fmt_p
from deeprules_core.palette import REAL_COLOUR, SHUFFLED_COLOUR
from deeprules_core.study import Study

from . import charts

__all__ = [
    "load_results",
    "last_settings",
    "current_split",
    "fmt_ci",
    "fmt_num",
    "comparison_table",
    "panel_table",
    "comparisons_table",
    "roc_chart",
    "pr_chart",
    "calibration_chart",
    "learning_curve_chart",
    "null_chart",
    "difference_chart",
    "trials_chart",
]

_LABELS = {
    "auprc": "AUPRC",
    "auroc": "AUROC",
    "balanced_accuracy": "Balanced accuracy",
    "mcc": "MCC",
    "f1": "F1 (macro)",
    "brier": "Brier score",
    "r2": "R²",
    "mae": "MAE",
    "rmse": "RMSE",
    "spearman": "Spearman ρ",
}


def load_results(ws: Any, study: Study) -> dict[str, Any] | None:
    """The study's results made of current steps (baselines, deep, or final after the test
    set), or None (:func:`deeprules_core.modeling.current_results`)."""
    from deeprules_core.modeling import current_results

    return current_results(ws, study)


def last_settings(ws: Any, study: Study) -> dict[str, Any]:
    """The newest results, current or not, for the settings a form starts from."""
    from deeprules_core.modeling import latest_results

    return latest_results(ws, study.id) or {}


def current_split(ws: Any, study: Study) -> Any:
    """The study's split, or None when there is none (or the split module cannot load it)."""
    try:
        from deeprules_core.split import load_split
    except ImportError:
        return None
    return load_split(ws, study)


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def fmt_num(x: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or a dash when it is missing."""
    return f"{x:.{digits}f}" if _ok(x) else "–"


def fmt_ci(v: dict[str, Any] | None, digits: int = 3) -> str:
    """``0.851 [0.802, 0.893]``; the value alone when there is no interval."""
    if not v or not _ok(v.get("value")):
        return "–"
    s = f"{v['value']:.{digits}f}"
    if _ok(v.get("low")) and _ok(v.get("high")):
        s += f" [{v['low']:.{digits}f}, {v['high']:.{digits}f}]"
    return s


def model_family(results: dict[str, Any], name: Any) -> str:
    """The family of a model of the results ('logistic_regression'), or its name."""
    return str(((results.get("models") or {}).get(name) or {}).get("family") or name)


def test_headline(results: dict[str, Any]) -> str:
    """One sentence with the selected model's test score next to the dummy's."""
    metric = results["primary_metric"]
    names = charts.model_names(results)
    parts = []
    for name in (results.get("test_evaluation") or {}).get("models", []):
        v = (((results["models"].get(name) or {}).get("metrics") or {}).get("test") or {}).get(metric)
        if v:
            parts.append(f"{names.get(name, name)} {fmt_ci(v)}")
    label = _LABELS.get(metric, metric)
    return f"Test {label} [95% CI]: " + "; ".join(parts) if parts else "No test score recorded."


def comparison_table(results: dict[str, Any]) -> pd.DataFrame:
    """One row per model: kind, trials, CV score, tune (and test) primary metric with 95% CI."""
    metric = results["primary_metric"]
    names = charts.model_names(results)
    rows = []
    for name, m in results["models"].items():
        metrics = m.get("metrics", {})
        rows.append(
            {
                "model": names[name] + (" ★" if name == results.get("selected") else ""),
                "kind": m.get("kind", ""),
                "trials": m.get("n_trials"),
                "tuning": m.get("tuning_note") or "Optuna TPE",
                f"CV {_LABELS[metric]}": f"{m['cv_score']:.3f}" if _ok(m.get("cv_score")) else "–",
                f"train {_LABELS[metric]}": fmt_ci((metrics.get("train") or {}).get(metric)),
                f"tune {_LABELS[metric]} [95% CI]": fmt_ci((metrics.get("tune") or {}).get(metric)),
                f"test {_LABELS[metric]} [95% CI]": fmt_ci((metrics.get("test") or {}).get(metric)),
                "seconds": m.get("duration_s"),
            }
        )
    return pd.DataFrame(rows)


def panel_table(results: dict[str, Any], side: str = "tune") -> pd.DataFrame:
    """Models x metrics, each cell ``value [low, high]`` (95% group-bootstrap interval)."""
    rows = []
    names = charts.model_names(results)
    for name, m in results["models"].items():
        panel = (m.get("metrics") or {}).get(side)
        if not panel:
            continue
        rows.append({"model": names[name]} | {_LABELS.get(k, k): fmt_ci(v) for k, v in panel.items()})
    return pd.DataFrame(rows)


def _pair(results: dict[str, Any], c: dict[str, Any]) -> str:
    names = charts.model_names(results)
    return f"{names.get(c['a'], c['a'])} − {names.get(c['b'], c['b'])}"


def comparisons_table(results: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {
            "comparison": _pair(results, c),
            "metric": _LABELS.get(c["metric"], c["metric"]),
            "difference": round(c["diff"], 3) if _ok(c.get("diff")) else None,
            "95% CI": f"[{c['low']:.3f}, {c['high']:.3f}]"
            if _ok(c.get("low")) and _ok(c.get("high"))
            else "–",
            "interval excludes 0": bool(_ok(c.get("low")) and (c["low"] > 0 or c["high"] < 0)),
        }
        for c in results.get("comparisons", [])
    ]
    return pd.DataFrame(rows)


def _curve_frame(results: dict[str, Any], kind: str, x: str, y: str, cls: str | None) -> pd.DataFrame:
    frames = []
    names = charts.model_names(results)
    for name, m in results["models"].items():
        curves = (m.get("curves") or {}).get(kind) or {}
        key = cls if cls in curves else next(iter(curves), None)
        if key is None:
            continue
        c = curves[key]
        frames.append(pd.DataFrame({x: c[x], y: c[y], "model": names[name]}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[x, y, "model"])


def curve_classes(results: dict[str, Any]) -> list[str]:
    """Classes that have ROC / PR curves (binary: the positive class only)."""
    for m in results["models"].values():
        roc = (m.get("curves") or {}).get("roc")
        if roc:
            return list(roc)
    return []


def curve_class(results: dict[str, Any], cls: str | None) -> str | None:
    """The class the curves are drawn for (the positive class of a binary task)."""
    classes = curve_classes(results)
    return cls if cls in classes else (classes[0] if classes else None)


def _curve_title(kind: str, results: dict[str, Any], cls: str | None) -> str:
    shown = curve_class(results, cls)
    return f"{kind}{f' for {shown!r}' if shown else ''}, tune side"


def roc_chart(results: dict[str, Any], cls: str | None = None) -> alt.Chart:
    df = _curve_frame(results, "roc", "fpr", "tpr", cls)
    diag = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(strokeDash=[4, 4], color="grey")
    line = (
        alt.Chart(df)
        .mark_line()
        .encode(
            x=alt.X("fpr:Q", title="False positive rate"),
            y=alt.Y("tpr:Q", title="True positive rate"),
            color=alt.Color("model:N", scale=charts.model_scale(results), title="model"),
            tooltip=["model", "fpr", "tpr"],
        )
    )
    return (diag.encode(x="fpr:Q", y="tpr:Q") + line).properties(
        title=_curve_title("ROC", results, cls), height=300
    )


def pr_chart(results: dict[str, Any], cls: str | None = None) -> alt.Chart:
    df = _curve_frame(results, "pr", "recall", "precision", cls)
    line = (
        alt.Chart(df)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("recall:Q", title="Recall"),
            y=alt.Y("precision:Q", title="Precision", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("model:N", scale=charts.model_scale(results), title="model"),
            tooltip=["model", "recall", "precision"],
        )
    )
    prevalence = None
    for m in results["models"].values():
        pr = (m.get("curves") or {}).get("pr") or {}
        key = cls if cls in pr else next(iter(pr), None)
        if key is not None:
            prevalence = pr[key].get("prevalence")
            break
    chart = line
    if prevalence is not None:  # the precision of a model that guesses
        chart = line + alt.Chart(pd.DataFrame({"p": [prevalence]})).mark_rule(
            strokeDash=[4, 4], color="grey"
        ).encode(y="p:Q")
    return chart.properties(title=_curve_title("Precision-recall", results, cls), height=300)


def calibration_chart(results: dict[str, Any], cls: str | None = None) -> alt.Chart:
    frames = []
    names = charts.model_names(results)
    for name, m in results["models"].items():
        cal = (m.get("curves") or {}).get("calibration") or {}
        key = cls if cls in cal else next(iter(cal), None)
        if key is not None:
            c = cal[key]
            frames.append(
                pd.DataFrame({**{k: c[k] for k in ("predicted", "observed", "count")}, "model": names[name]})
            )
    df = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["predicted", "observed", "model"])
    )
    lo = float(min(df["predicted"].min(), df["observed"].min())) if len(df) else 0.0
    hi = float(max(df["predicted"].max(), df["observed"].max())) if len(df) else 1.0
    if results["task"] == "classification":
        lo, hi = 0.0, 1.0
    diag = alt.Chart(pd.DataFrame({"predicted": [lo, hi], "observed": [lo, hi]})).mark_line(
        strokeDash=[4, 4], color="grey"
    )
    pts = (
        alt.Chart(df)
        .mark_line(point=True)
        .encode(
            x=alt.X("predicted:Q", title="Mean prediction in bin"),
            y=alt.Y("observed:Q", title="Observed (frequency or mean)"),
            color=alt.Color("model:N", scale=charts.model_scale(results), title="model"),
            tooltip=["model", "predicted", "observed", "count"],
        )
    )
    title = _curve_title("Calibration", results, cls) if cls is not None else "Calibration, tune side"
    return (diag.encode(x="predicted:Q", y="observed:Q") + pts).properties(title=title, height=300)


def learning_curve_chart(results: dict[str, Any]) -> alt.Chart | None:
    names = charts.model_names(results)
    for name, m in results["models"].items():
        lc = (m.get("curves") or {}).get("learning_curve")
        if lc and lc.get("n_train"):
            df = pd.DataFrame(
                {"training rows": lc["n_train"], "train": lc["train"], "tune": lc["tune"]}
            ).melt("training rows", var_name="scored on", value_name="score")
            return (
                alt.Chart(df)
                .mark_line(point=True)
                .encode(
                    x="training rows:Q",
                    y=alt.Y("score:Q", title=_LABELS.get(lc.get("metric", ""), "score")),
                    color=alt.Color("scored on:N", scale=charts.side_scale(["train", "tune"])),
                    tooltip=["training rows", "scored on", "score"],
                )
                .properties(
                    title=f"Learning curve of {names[name]}, train and tune sides (whole groups added)",
                    height=300,
                )
            )
    return None


def null_chart(results: dict[str, Any]) -> alt.Chart | None:
    ctrl = (results.get("controls") or {}).get("shuffled_label")
    if not ctrl or not ctrl.get("null"):
        return None
    df = pd.DataFrame({"score": [v for v in ctrl["null"] if _ok(v)]})
    real = float(ctrl["real"]) if _ok(ctrl.get("real")) else None
    if df.empty or real is None:
        return None
    values = [*df["score"], *([real] if real is not None else [])]
    lo, hi = min(values), max(values)
    pad = max(0.02, 0.05 * (hi - lo))
    x_scale = alt.Scale(domain=[lo - pad, hi + pad], nice=False)  # the real score is always in view
    bars = (
        alt.Chart(df)
        .mark_bar(opacity=0.9, color=SHUFFLED_COLOUR)
        .encode(
            x=alt.X(
                "score:Q",
                bin=alt.Bin(maxbins=20, extent=[lo - pad, hi + pad]),
                title=f"{_LABELS.get(ctrl['metric'], '')}, {control_scored_on(ctrl)}",
                scale=x_scale,
            ),
            y=alt.Y("count():Q", title="shuffled-label runs", axis=alt.Axis(tickMinStep=1)),
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"score": [real], "what": ["real labels"]}))
        .mark_rule(color=REAL_COLOUR, size=3)
        .encode(x=alt.X("score:Q", scale=x_scale), tooltip=["what", "score"])
    )
    name = charts.model_names(results).get(ctrl["model"], ctrl["model"])
    p = fmt_p(ctrl.get("p_value"), n_permutations=ctrl.get("n_shuffles"))
    return (bars + rule).properties(title=f"Shuffled-label control of {name}: {p}", height=250)


def difference_chart(results: dict[str, Any]) -> alt.Chart | None:
    comps = [c for c in results.get("comparisons", []) if _ok(c.get("low")) and _ok(c.get("high"))]
    if not comps:
        return None
    df = pd.DataFrame(
        [{"comparison": _pair(results, c), **{k: c[k] for k in ("diff", "low", "high")}} for c in comps]
    )
    base = alt.Chart(df).encode(y=alt.Y("comparison:N", title=None, sort=None, axis=charts.axis()))
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(strokeDash=[4, 4], color="grey").encode(x="x:Q")
    return (
        zero
        + base.mark_rule().encode(x=alt.X("low:Q", title="difference (95% CI)"), x2="high:Q")
        + base.mark_point(filled=True, size=60).encode(
            x="diff:Q", tooltip=["comparison", "diff", "low", "high"]
        )
    ).properties(title="Paired differences, tune side", height=alt.Step(charts.ROW_STEP + 4))


def trials_chart(results: dict[str, Any]) -> alt.Chart | None:
    names = charts.model_names(results)
    rows = [
        {"model": names[name], "trial": int(t["number"]) + 1, "CV score": t["value"]}
        for name, m in results["models"].items()
        for t in m.get("trials", [])
        if _ok(t.get("value"))
    ]
    if not rows:
        return None
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("trial:Q", axis=alt.Axis(format="d", tickMinStep=1)),
            y="CV score:Q",
            color=alt.Color("model:N", scale=charts.model_scale(results)),
            tooltip=["model", "trial", "CV score"],
        )
        .properties(title="Every tuning trial (mean CV score on the train side)", height=250)
    )
