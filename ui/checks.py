"""Checks page helpers: the altair charts and the failure table (the checks themselves run
in :func:`deeprules_core.steps.run_checks`)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from . import charts


def class_balance_chart(df: pd.DataFrame, label: str) -> alt.Chart:
    """Samples per class, one bar per class with its count (classes in their colours)."""
    counts = (
        (df[label].astype("object").where(df[label].notna(), "missing").astype(str).value_counts())
        .rename_axis("class")
        .reset_index(name="samples")
    )
    base = alt.Chart(counts, title=f"Samples per class of '{label}'").encode(
        y=alt.Y("class:N", sort="-x", title=None, axis=charts.axis()),
        x=alt.X("samples:Q", title="samples"),
    )
    bars = base.mark_bar().encode(
        color=alt.Color("class:N", legend=None, scale=charts.category_scale(counts["class"])),
        tooltip=["class", "samples"],
    )
    text = base.mark_text(align="left", dx=4).encode(text="samples:Q")
    return (bars + text).properties(height=alt.Step(charts.ROW_STEP))


#: Columns shown in the missingness heatmap (those with the most missing values).
MISSINGNESS_COLUMNS = 40


def missingness_chart(table: pd.DataFrame, by: str) -> alt.Chart:
    """Fraction missing per column (rows) and level of ``by`` (columns)."""
    frame = table.assign(level=table["level"].astype(str), column=table["column"].astype(str))
    worst = frame.groupby("column")["fraction"].max().sort_values(ascending=False)
    keep = list(worst.index[:MISSINGNESS_COLUMNS])
    frame = frame[frame["column"].isin(keep)]
    top = max(0.05, float(frame["fraction"].max() or 0))
    more = (
        f" ({len(keep)} of {len(worst)} columns with the most missing values)"
        if len(worst) > len(keep)
        else ""
    )
    return (
        alt.Chart(frame, title=f"Fraction missing by {by}{more}")
        .mark_rect()
        .encode(
            y=alt.Y("column:N", title=None, sort=keep, axis=charts.axis()),
            x=alt.X("level:N", title=by, axis=charts.axis(labelAngle=0, orient="top")),
            color=alt.Color(
                "fraction:Q",
                scale=alt.Scale(domain=[0, top], scheme="oranges"),
                legend=charts.gradient_legend(frame["column"].nunique(), "missing", charts.ROW_STEP - 6),
            ),
            tooltip=["level", "column", alt.Tooltip("fraction:Q", format=".1%")],
        )
        .properties(height=alt.Step(charts.ROW_STEP - 6))
    )


def outlier_chart(scores: pd.DataFrame) -> alt.Chart:
    if "label" in scores.columns:
        scores = scores.assign(label=scores["label"].astype(str))
        color = alt.Color("label:N", title="class", scale=charts.category_scale(scores["label"]))
    else:
        color = alt.value("steelblue")
    points = (
        alt.Chart(scores, title="Robust distance of each sample (outliers above the line)")
        .mark_circle(size=40)
        .encode(
            x=alt.X("row:Q", title="sample (row)"),
            y=alt.Y("distance:Q", title="robust distance on principal components"),
            color=color,
            shape=alt.Shape("outlier:N", title="outlier"),
            tooltip=["sample", alt.Tooltip("distance:Q", format=".2f"), "outlier"],
        )
    )
    line = (
        alt.Chart(pd.DataFrame({"threshold": [float(scores["threshold"].iloc[0])]}))
        .mark_rule(color="firebrick", strokeDash=[6, 3])
        .encode(y="threshold:Q")
    )
    return points + line


def failures_for_display(failures: pd.DataFrame) -> pd.DataFrame:
    """Text columns for Arrow: failing values can mix numbers and strings."""
    out = failures.copy()
    for c in ("sample", "value", "column"):
        out[c] = out[c].map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    return out
