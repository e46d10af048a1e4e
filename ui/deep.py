"""Tables and Altair charts of the Deep learning page, built from the results dict.

The results come from the job ``deeprules_core.deep.jobs:deep_job`` (artifact
``("results", "deep")``): the baselines' results with the deep models added.
"""

from __future__ import annotations

import math
from typing import Any

import altair as alt
import pandas as pd

from deeprules_core.names import metric_label, model_label, param_label
from deeprules_core.palette import SIDE_COLOURS
from deeprules_core.study import Study

from . import charts

train, tune = SIDE_COLOURS["train"], SIDE_COLOURS["tune"]

__all__ = [
    "load_deep_results",
    "deep_entries",
    "learning_curve_charts",
    "seeds_table",
    "trials_table",
    "importance_chart",
    "control_text",
]

_SERIES = {
    "train_loss": "train",
    "val_loss": "validation (train side, held out for early stopping)",
    "train_metric": "train",
    "val_metric": "validation (train side, held out for early stopping)",
}


def _ok(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def load_deep_results(ws: Any, study: Study) -> dict[str, Any] | None:
    """The newest results dict that holds a deep model, or None."""
    return ws.get_json(study.id, "results", "deep")


def deep_entries(results: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The deep models of a results dict, by name."""
    if not results:
        return {}
    return {n: m for n, m in results.get("models", {}).items() if m.get("kind") == "deep"}


def learning_curve_charts(entry: dict[str, Any], *, name: str) -> alt.Chart | None:
    """Loss and primary metric per epoch, train vs validation, with the best epoch marked."""
    lc = entry.get("learning_curve") or {}
    if not lc.get("epoch"):
        return None
    rows = []
    for key, side in _SERIES.items():
        for epoch, v in zip(lc["epoch"], lc.get(key) or [], strict=False):
            if _ok(v):
                what = "loss" if key.endswith("loss") else metric_label(str(lc.get("metric", "metric")))
                rows.append({"epoch": epoch, "value": v, "data": side, "what": what})
    if not rows:
        return None
    df = pd.DataFrame(rows)
    best = pd.DataFrame({"epoch": [lc.get("best_epoch", 0)]})

    def panel(what: str) -> alt.Chart:
        lines = (
            alt.Chart(df[df["what"] == what])
            .mark_line()
            .encode(
                x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(format="d", tickMinStep=1)),
                y=alt.Y("value:Q", title=what, scale=alt.Scale(zero=False)),
                color=alt.Color(
                    "data:N",
                    title=None,
                    scale=alt.Scale(domain=list(dict.fromkeys(_SERIES.values())), range=[train, tune]),
                    legend=alt.Legend(orient="bottom", labelLimit=0),
                ),
                tooltip=["epoch", "data", alt.Tooltip("value:Q", format=".3f")],
            )
        )
        rule = alt.Chart(best).mark_rule(strokeDash=[4, 4], color="grey").encode(x="epoch:Q")
        return (lines + rule).properties(height=220, width=300, title=f"{what} per epoch")

    metric = metric_label(str(lc.get("metric", "metric")))
    label = model_label(str(entry.get("family") or name))
    return alt.hconcat(panel("loss"), panel(metric)).properties(
        title=f"Learning curves of the {label} (dashed: the epoch kept by early stopping)"
    )


def seeds_table(entry: dict[str, Any], metric: str) -> pd.DataFrame:
    """One row per seed of the chosen configuration: tune metric and best epoch."""
    rows = [
        {
            "seed": s["seed"],
            f"tune {metric_label(metric)}": s["tune"].get(metric),
            "best epoch": s.get("best_epoch"),
        }
        for s in entry.get("seeds") or []
        if isinstance(s, dict)
    ]
    return pd.DataFrame(rows)


def trials_table(entry: dict[str, Any]) -> pd.DataFrame:
    """The full trial log: number, state, validation loss and metric, epochs, parameters."""
    rows = []
    for t in entry.get("trials", []):
        row = {
            "trial": t["number"],
            "state": t["state"],
            "validation loss": t.get("value"),
            "validation metric": t.get("val_metric"),
            "epochs": t.get("epochs"),
        }
        row.update(
            {
                param_label(k): (round(v, 6) if isinstance(v, float) else v)
                for k, v in t.get("params", {}).items()
            }
        )
        rows.append(row)
    return pd.DataFrame(rows)


def importance_chart(entry: dict[str, Any]) -> alt.Chart | None:
    """Which hyper-parameters mattered (fANOVA, or rank correlation as a fallback)."""
    imp = entry.get("importance") or {}
    values = imp.get("importances") or {}
    if not values:
        return None
    df = pd.DataFrame(
        {"hyper-parameter": [param_label(k) for k in values], "importance": list(values.values())}
    )
    method = {"fanova": "fANOVA importance", "spearman": "|rank correlation| with the loss"}.get(
        imp.get("method", ""), "importance"
    )
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("importance:Q", title=method),
            y=alt.Y("hyper-parameter:N", sort="-x", title=None, axis=charts.axis()),
            tooltip=["hyper-parameter", alt.Tooltip("importance:Q", format=".3f")],
        )
        .properties(title="What mattered in the search", height=alt.Step(charts.ROW_STEP))
    )


def control_text(entry: dict[str, Any]) -> str:
    """One sentence on the shuffled-label control of a deep model."""
    c = (entry.get("controls") or {}).get("shuffled_label") or {}
    null = [v for v in c.get("null") or [] if _ok(v)]
    if not null or not _ok(c.get("real")):
        return "The shuffled-label control was not run."
    return (
        f"Shuffled-label control ({len(null)} runs of the chosen configuration on shuffled training labels): "
        f"real {metric_label(c['metric'])} {c['real']:.3f} against {min(null):.3f}–{max(null):.3f} with shuffled labels."
    )
