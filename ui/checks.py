"""Checks page helpers: cached engine calls (keyed on the dataset's sha256, the roles,
the design and the schema) and the altair charts."""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from deeprules_core.checks import (
    FeatureProfile,
    infer_spec,
    missingness_table,
    outlier_scores,
    run_checks,
    validate_schema,
)
from deeprules_core.findings import Finding
from deeprules_core.study import Design, Roles, Study

from . import charts


@st.cache_data(show_spinner="Running the checks…", max_entries=8)
def _run(
    dataset_sha: str, roles_json: str, design_json: str, schema_json: str, _df: pd.DataFrame
) -> dict[str, Any]:
    """Everything the page shows, computed once per (data, roles, design, schema)."""
    roles = Roles.from_dict(json.loads(roles_json))
    design = Design(**json.loads(design_json))
    schema = json.loads(schema_json) if schema_json else None
    profile = FeatureProfile.from_frame(_df, roles)
    findings = run_checks(_df, roles, design=design, schema=schema, profile=profile)
    inferred = infer_spec(_df, roles, profile=profile)
    by = [c for c in (roles.label, *roles.batch) if c and c in _df.columns]
    return {
        "findings": [f.to_dict() for f in findings],
        "inferred_spec": inferred,
        "failures": validate_schema(_df, schema or inferred),
        "outliers": outlier_scores(_df, roles, profile=profile),
        "missingness": {c: missingness_table(_df, roles, by=c, profile=profile) for c in by},
        "n_features": profile.p,
    }


def run(study: Study, df: pd.DataFrame, *, schema: dict[str, Any] | None) -> dict[str, Any]:
    """Run (or fetch from the cache) the checks of the study's current table."""
    sha = study.dataset.sha256 if study.dataset is not None else "none"
    design = json.dumps(
        {k: getattr(study.design, k) for k in study.design.__dataclass_fields__}, sort_keys=True
    )
    out = _run(
        sha,
        json.dumps(study.roles.to_dict(), sort_keys=True),
        design,
        json.dumps(schema, sort_keys=True) if schema else "",
        df,
    )
    out = dict(out)
    out["findings"] = [Finding.from_dict(d) for d in out["findings"]]
    return out


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
