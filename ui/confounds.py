"""Batch & confounds page helpers: the altair charts (the checks themselves run in
:func:`deeprules_core.steps.run_confounds`)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from . import charts


def _kind(df: pd.DataFrame, col: str, variables: dict[str, dict[str, str]]) -> str:
    return "quantitative" if variables.get(col, {}).get("kind") == "continuous" else "nominal"


def pca_scatter(
    scores: pd.DataFrame,
    df: pd.DataFrame,
    colour: str,
    variables: dict[str, dict[str, str]],
    *,
    x: str,
    y: str,
) -> alt.Chart:
    """Samples on two principal components, coloured by one study variable."""
    kind = _kind(df, colour, variables)
    values = df.loc[scores.index, colour]
    data = pd.DataFrame({"pc_x": scores[x].to_numpy(), "pc_y": scores[y].to_numpy()})
    if kind == "quantitative":
        data["value"] = pd.to_numeric(values, errors="coerce").to_numpy()
        enc = alt.Color("value:Q", title=colour)
    else:
        data["value"] = values.astype("object").where(values.notna(), "missing").astype(str).to_numpy()
        enc = alt.Color("value:N", title=colour, scale=charts.category_scale(data["value"]))
    return (
        alt.Chart(data)
        .mark_circle(size=40, opacity=0.7)
        .encode(
            x=alt.X("pc_x:Q", title=x),
            y=alt.Y("pc_y:Q", title=y),
            color=enc,
            tooltip=[
                alt.Tooltip("pc_x:Q", title=x),
                alt.Tooltip("pc_y:Q", title=y),
                alt.Tooltip("value", title=colour),
            ],
        )
        .properties(height=420)
    )


def r2_heatmap(r2: pd.DataFrame) -> alt.Chart:
    """Variables x components: the share of each component each variable explains."""
    long = r2.reset_index(names="variable").melt("variable", var_name="component", value_name="r2")
    order = list(r2.columns)
    base = alt.Chart(long).encode(
        x=alt.X("component:N", sort=order, title="principal component", axis=charts.axis(labelAngle=0)),
        y=alt.Y("variable:N", sort=list(r2.index), title=None, axis=charts.axis()),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "r2:Q",
            scale=alt.Scale(domain=[0, 1], scheme="blues"),
            legend=charts.gradient_legend(len(r2), "R²", charts.ROW_STEP + 6),
        ),
        tooltip=["variable", "component", alt.Tooltip("r2:Q", title="R²", format=".3f")],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("r2:Q", format=".2f"),
        color=alt.condition("datum.r2 > 0.5", alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=alt.Step(charts.ROW_STEP + 6))


def partition_bar(partition: dict[str, float], variables: dict[str, dict[str, str]]) -> alt.Chart:
    """The share of the variance of the top components explained by each variable."""
    rows = [
        {"variable": k, "share": v, "role": variables.get(k, {}).get("role", "residual")}
        for k, v in partition.items()
    ]
    frame = pd.DataFrame(rows)
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q", axis=alt.Axis(format="%"), title="share of the variance of the top components"
            ),
            y=alt.Y("variable:N", sort="-x", title=None, axis=charts.axis()),
            color=alt.Color("role:N", title="role", scale=charts.role_scale(frame["role"])),
            tooltip=["variable", "role", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=alt.Step(charts.ROW_STEP))
    )


def contingency_heatmap(table: dict[str, dict[str, int]], batch: str, label: str) -> alt.Chart:
    """Counts of samples per batch level and class (a row per level, a column per class)."""
    classes = list(dict.fromkeys(str(c) for counts in table.values() for c in counts))
    rows = [
        {"level": str(lev), "class": cls, "n": int({str(k): v for k, v in counts.items()}.get(cls, 0))}
        for lev, counts in table.items()
        for cls in classes
    ]
    data = pd.DataFrame(rows)
    base = alt.Chart(data).encode(
        x=alt.X("class:N", title=label, axis=charts.axis(labelAngle=0, orient="top")),
        y=alt.Y("level:N", title=batch, axis=charts.axis()),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "n:Q",
            scale=alt.Scale(scheme="oranges"),
            legend=charts.gradient_legend(len(table), "samples", charts.ROW_STEP + 4),
        ),
        tooltip=[alt.Tooltip("level", title=batch), alt.Tooltip("class", title=label), "n"],
    )
    text = base.mark_text(fontSize=12).encode(
        text="n:Q", color=alt.condition("datum.n > 0", alt.value("black"), alt.value("#999999"))
    )
    return (cells + text).properties(height=alt.Step(charts.ROW_STEP + 4))


def contingency_frame(table: dict[str, dict[str, int]], batch: str) -> pd.DataFrame:
    return pd.DataFrame(table).T.fillna(0).astype(int).rename_axis(batch)
