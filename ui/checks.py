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
    counts = df[label].astype(str).value_counts(dropna=False).rename_axis("class").reset_index(name="samples")
    return (
        alt.Chart(counts, title="Samples per class")
        .mark_bar()
        .encode(
            x=alt.X("class:N", sort="-y", title=label),
            y=alt.Y("samples:Q", title="samples"),
            tooltip=["class", "samples"],
        )
    )


def missingness_chart(table: pd.DataFrame, by: str) -> alt.Chart:
    return (
        alt.Chart(table, title=f"Fraction missing by {by}")
        .mark_rect()
        .encode(
            x=alt.X("column:N", title="column", sort=None),
            y=alt.Y("level:N", title=by),
            color=alt.Color("fraction:Q", scale=alt.Scale(domain=[0, 1], scheme="oranges"), title="missing"),
            tooltip=["level", "column", alt.Tooltip("fraction:Q", format=".0%")],
        )
    )


def outlier_chart(scores: pd.DataFrame) -> alt.Chart:
    color = "label:N" if "label" in scores.columns else alt.value("steelblue")
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
