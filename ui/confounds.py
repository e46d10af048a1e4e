"""Batch & confounds page helpers: the cached engine call (keyed on the dataset's sha256,
the roles and the seed) and the altair charts."""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from deeprules_core.confounds import check_correction_allowed, confound_report
from deeprules_core.errors import DeepRulesError
from deeprules_core.findings import Finding
from deeprules_core.study import Roles, Study


@st.cache_data(show_spinner="Looking for batch effects and confounds…", max_entries=8)
def _run(dataset_sha: str, roles_json: str, seed: int, _df: pd.DataFrame) -> dict[str, Any]:
    """Everything the page shows, computed once per (data, roles, seed)."""
    roles = Roles.from_dict(json.loads(roles_json))
    rep = confound_report(_df, roles, seed=seed)
    ex = rep["exploration"]
    correction = {}
    for col in roles.batch:
        try:
            correction[col] = {"allowed": True, **check_correction_allowed(_df, roles, col, seed=seed)}
        except DeepRulesError as exc:
            correction[col] = {"allowed": False, "reason": str(exc)}
    return {
        "findings": [f.to_dict() for f in rep["findings"]],
        "scores": None if ex is None else ex.scores,
        "exploration": None if ex is None else ex.to_dict(),
        "r2": None if ex is None else ex.r2,
        "batch": rep["batch"],
        "metadata_only": rep["metadata_only"],
        "leaks": rep["leaks"],
        "timings": rep["timings"],
        "correction": correction,
    }


def run(study: Study, df: pd.DataFrame, *, seed: int = 0) -> dict[str, Any]:
    """Run (or fetch from the cache) the confound checks of the study's current table."""
    sha = study.dataset.sha256 if study.dataset is not None else "none"
    out = dict(_run(sha, json.dumps(study.roles.to_dict(), sort_keys=True), seed, df))
    out["findings"] = [Finding.from_dict(f) for f in out["findings"]]
    return out


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
    data = scores[[x, y]].copy()
    kind = _kind(df, colour, variables)
    values = df.loc[scores.index, colour]
    data[colour] = (
        values if kind == "quantitative" else values.astype("object").where(values.notna(), "missing")
    )
    data[colour] = data[colour] if kind == "quantitative" else data[colour].astype(str)
    enc = alt.Color(f"{colour}:{'Q' if kind == 'quantitative' else 'N'}", title=colour)
    return (
        alt.Chart(data.reset_index(drop=True))
        .mark_circle(size=40, opacity=0.7)
        .encode(x=alt.X(f"{x}:Q"), y=alt.Y(f"{y}:Q"), color=enc, tooltip=[x, y, colour])
        .properties(height=420)
    )


def r2_heatmap(r2: pd.DataFrame) -> alt.Chart:
    """Variables x components: the share of each component each variable explains."""
    long = r2.reset_index(names="variable").melt("variable", var_name="component", value_name="R²")
    order = list(r2.columns)
    base = alt.Chart(long).encode(
        x=alt.X("component:N", sort=order, title="principal component"),
        y=alt.Y("variable:N", title=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("R²:Q", scale=alt.Scale(domain=[0, 1], scheme="blues")),
        tooltip=["variable", "component", alt.Tooltip("R²:Q", format=".3f")],
    )
    text = base.mark_text(fontSize=10).encode(
        text=alt.Text("R²:Q", format=".2f"),
        color=alt.condition("datum['R²'] > 0.5", alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=max(80, 32 * len(r2)))


def partition_bar(partition: dict[str, float], variables: dict[str, dict[str, str]]) -> alt.Chart:
    """The share of the variance of the top components explained by each variable."""
    rows = [
        {"variable": k, "share": v, "role": variables.get(k, {}).get("role", "residual")}
        for k, v in partition.items()
    ]
    return (
        alt.Chart(pd.DataFrame(rows))
        .mark_bar()
        .encode(
            x=alt.X(
                "share:Q", axis=alt.Axis(format="%"), title="share of the variance of the top components"
            ),
            y=alt.Y("variable:N", sort="-x", title=None),
            color=alt.Color("role:N", title="role"),
            tooltip=["variable", "role", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(height=max(80, 30 * len(rows)))
    )


def contingency_heatmap(table: dict[str, dict[str, int]], batch: str, label: str) -> alt.Chart:
    """Counts of samples per batch level and class."""
    rows = [{batch: lev, label: cls, "n": n} for lev, counts in table.items() for cls, n in counts.items()]
    data = pd.DataFrame(rows)
    base = alt.Chart(data).encode(x=alt.X(f"{label}:N"), y=alt.Y(f"{batch}:N"))
    cells = base.mark_rect().encode(
        color=alt.Color("n:Q", scale=alt.Scale(scheme="oranges")), tooltip=[batch, label, "n"]
    )
    return (cells + base.mark_text().encode(text="n:Q")).properties(height=max(80, 26 * len(table)))


def contingency_frame(table: dict[str, dict[str, int]], batch: str) -> pd.DataFrame:
    return pd.DataFrame(table).T.fillna(0).astype(int).rename_axis(batch)
