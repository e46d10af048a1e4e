"""Charts and tables of the Interpret page (altair; the engine draws nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from deeprules_core.interpret import agreement_table
from deeprules_core.names import model_label
from deeprules_core.palette import model_colour

from . import charts

__all__ = [
    "METHOD_LABELS",
    "importance_frame",
    "importance_chart",
    "agreement_chart",
    "local_frame",
    "local_chart",
    "logo_chart",
    "model_options",
    "score_text",
    "SCORE_LABELS",
]

METHOD_LABELS = {
    "permutation": "Permutation importance (drop of the tune-set score when the feature is shuffled)",
    "integrated_gradients": "Integrated gradients (mean |attribution| over tune samples)",
    "coefficients": "Standardised coefficients (per standard deviation of the feature)",
}


SCORE_LABELS = {
    "neg_brier": "Brier score",
    "neg_log_loss": "log-loss",
    "neg_mae": "mean absolute error",
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "balanced_accuracy": "balanced accuracy",
    "r2": "R²",
    "spearman": "Spearman ρ",
}


def score_text(block: Mapping[str, Any]) -> str:
    """``Brier score 0.152`` (scores stored negated so that higher is better are shown as usual)."""
    name = str(block.get("scoring", ""))
    value = block.get("baseline_score")
    if value is None:
        return SCORE_LABELS.get(name, name)
    shown = -value if name.startswith("neg_") else value
    return f"{SCORE_LABELS.get(name, name)} {shown:.3f}"


def model_options(interp: Mapping[str, Any]) -> list[str]:
    """Model names, the selected model first."""
    names = list(interp.get("models", {}))
    sel = interp.get("selected")
    return sorted(names, key=lambda n: (n != sel, names.index(n)))


def importance_frame(block: Mapping[str, Any] | None, top: int = 20) -> pd.DataFrame:
    """The top rows of one importance block (``rows`` of feature, importance, low, high)."""
    if not block or not block.get("rows"):
        return pd.DataFrame(columns=["feature", "importance", "low", "high"])
    df = pd.DataFrame(block["rows"]).head(top)
    for c in ("low", "high"):
        if c not in df:
            df[c] = df["importance"]
    return df


def importance_chart(block: Mapping[str, Any], *, top: int = 20, title: str = "") -> alt.Chart | None:
    """Horizontal bars (importance) with the 95% interval as a rule, most important on top."""
    df = importance_frame(block, top)
    if df.empty:
        return None
    order = df["feature"].tolist()
    y = alt.Y("feature:N", sort=order, title=None, axis=charts.axis())
    bars = (
        alt.Chart(df)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("importance:Q", title="importance"),
            y=y,
            tooltip=["feature", alt.Tooltip("importance:Q", format=".4f"), "low", "high"],
        )
    )
    rules = alt.Chart(df).mark_rule(color="black").encode(x="low:Q", x2="high:Q", y=y)
    return (bars + rules).properties(title=title, height=alt.Step(charts.ROW_STEP))


def agreement_chart(
    interp: Mapping[str, Any],
    a: str,
    b: str,
    *,
    rankings: Mapping[str, Sequence[Mapping[str, Any]]],
    top: int = 10,
) -> alt.Chart | None:
    """Side by side: the union of both models' top features, each model's importance
    scaled to its largest (so different methods share an axis)."""
    ra, rb = rankings.get(a) or [], rankings.get(b) or []
    if not ra or not rb:
        return None
    table = agreement_table(list(ra), list(rb), top=top)
    la, lb = charts.capitalised(model_label(a)), charts.capitalised(model_label(b))
    if la == lb:
        la, lb = f"{la} ({a})", f"{lb} ({b})"
    long = pd.concat(
        [
            table.assign(model=la, scaled=table["importance_a"], rank=table["rank_a"]),
            table.assign(model=lb, scaled=table["importance_b"], rank=table["rank_b"]),
        ]
    )[["feature", "model", "scaled", "rank"]]
    order = table.sort_values(["rank_a", "rank_b"])["feature"].tolist()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("scaled:Q", title="importance (scaled to each model's largest)"),
            y=alt.Y("feature:N", sort=order, title=None, axis=charts.axis()),
            color=alt.Color(
                "model:N",
                legend=None,
                scale=alt.Scale(domain=[a, b], range=[model_colour(a), model_colour(b)]),
            ),
            column=alt.Column("model:N", title=None, sort=[a, b], header=alt.Header(labelLimit=0)),
            tooltip=["model", "feature", alt.Tooltip("scaled:Q", format=".3f"), "rank"],
        )
        .properties(width=260, height=alt.Step(charts.ROW_STEP - 4))
    )


def local_frame(sample: Mapping[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(sample.get("contributions", []))
    if df.empty:
        return pd.DataFrame(columns=["feature", "value", "contribution", "direction"])
    df["direction"] = df["contribution"].map(lambda c: "raises" if c > 0 else "lowers")
    return df


def local_chart(sample: Mapping[str, Any], *, output: str) -> alt.Chart | None:
    """The sample's top contributions, coloured by the direction they push the output."""
    df = local_frame(sample)
    if df.empty:
        return None
    df["value"] = df["value"].astype(str)
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title=f"contribution to the {output}"),
            y=alt.Y("feature:N", sort=df["feature"].tolist(), title=None, axis=charts.axis()),
            color=alt.Color(
                "direction:N",
                scale=alt.Scale(domain=["raises", "lowers"], range=["#d62728", "#1f77b4"]),
                title=None,
            ),
            tooltip=["feature", "value", alt.Tooltip("contribution:Q", format=".4f")],
        )
        .properties(height=alt.Step(charts.ROW_STEP))
    )


def logo_chart(
    sequence: str, attribution: Sequence[float], *, window: tuple[int, int] | None = None
) -> alt.Chart:
    """A sequence-logo-like chart: each letter drawn at its position, its size scaled by the
    attribution, above the axis when it pushes towards the target class and below when
    against it."""
    df = pd.DataFrame(
        {"position": range(1, len(sequence) + 1), "letter": list(sequence), "attribution": list(attribution)}
    )
    if window is not None:
        df = df[(df["position"] >= window[0]) & (df["position"] <= window[1])]
    df["size"] = df["attribution"].abs()
    df["y"] = df["attribution"] / 2
    colours = alt.Scale(domain=list("ACGTU"), range=["#2ca02c", "#1f77b4", "#ff7f0e", "#d62728", "#d62728"])
    letters = (
        alt.Chart(df)
        .mark_text(fontWeight="bold", baseline="middle")
        .encode(
            x=alt.X("position:Q", title="position"),
            y=alt.Y("y:Q", title="attribution"),
            text="letter:N",
            size=alt.Size("size:Q", scale=alt.Scale(range=[6, 48]), legend=None),
            color=alt.Color("letter:N", scale=colours, legend=None),
            tooltip=["position", "letter", alt.Tooltip("attribution:Q", format=".4f")],
        )
    )
    zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(color="gray").encode(y="y:Q")
    return (zero + letters).properties(height=220)
