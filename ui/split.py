"""Split page helpers: the composition charts and small tables (the split and its audit
are made by :func:`deeprules_core.steps.preview_split`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from deeprules_core.split import SIDES, Split
from deeprules_core.study import Roles

from . import charts

STRATEGY_LABELS = {
    "group": "By group: whole individuals to one side",
    "stratified": "Stratified rows: independent samples only",
    "leave_batch_out": "Leave batch / site out: test on independent data",
    "time": "Time-ordered: latest time points to test",
}


def sides_table(summary: Mapping[str, Any]) -> pd.DataFrame:
    """Rows, groups (the effective sample size) and unlabelled rows per side."""
    unit = summary.get("unit", "row")
    rows = []
    for side in SIDES:
        s = summary["sides"][side]
        rows.append(
            {
                "side": side,
                "rows": s["rows"],
                f"independent units ({unit})": s["groups"],
                "rows without a label": s.get("unlabelled", 0),
            }
        )
    return pd.DataFrame(rows)


def _stacked(frame: pd.DataFrame, colour: str, title: str) -> alt.Chart:
    """Sides as rows, each a bar stacked to 100% by ``level`` (a class or a batch level)."""
    frame = frame.rename(columns={colour: "level"}).assign(level=lambda d: d["level"].astype(str))
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            y=alt.Y("side:N", sort=list(SIDES), title=None, axis=charts.axis()),
            x=alt.X(
                "rows:Q", stack="normalize", title="share of rows", axis=alt.Axis(format="%", tickCount=5)
            ),
            color=alt.Color("level:N", title=colour, scale=charts.category_scale(frame["level"])),
            order=alt.Order("level:N"),
            tooltip=["side", alt.Tooltip("level:N", title=colour), "rows"],
        )
        .properties(height=alt.Step(charts.ROW_STEP + 8))
    )


def class_chart(summary: Mapping[str, Any]) -> alt.Chart | None:
    """Class composition of each side (stacked to 100 %)."""
    rows = [
        {"side": side, "class": cls, "rows": n}
        for side in SIDES
        for cls, n in (summary["sides"][side].get("classes") or {}).items()
    ]
    if not rows:
        return None
    return _stacked(pd.DataFrame(rows), "class", "Class composition per side")


def batch_charts(summary: Mapping[str, Any]) -> list[alt.Chart]:
    """Batch composition of each side, one chart per batch column."""
    columns: list[str] = []
    for side in SIDES:
        columns += [c for c in summary["sides"][side].get("batches", {}) if c not in columns]
    out = []
    for col in columns:
        rows = [
            {"side": side, col: level, "rows": n}
            for side in SIDES
            for level, n in summary["sides"][side]["batches"].get(col, {}).items()
        ]
        out.append(_stacked(pd.DataFrame(rows), col, f"'{col}' composition per side"))
    return out


def label_chart(df: pd.DataFrame, roles: Roles, split: Split) -> alt.Chart:
    """Regression: the label's distribution per side (box plots)."""
    frame = pd.DataFrame(
        {
            "side": split.assignment["split"].to_numpy(),
            "label": pd.to_numeric(df[roles.label], errors="coerce"),
        }
    ).dropna()
    if len(frame) > 5000:
        frame = frame.sample(5000, random_state=0)
    return (
        alt.Chart(frame, title=f"'{roles.label}' per side")
        .mark_boxplot()
        .encode(
            x=alt.X("side:N", sort=list(SIDES), title=None),
            y=alt.Y("label:Q", title=roles.label),
            color=alt.Color("side:N", scale=charts.side_scale(), legend=None),
        )
        .properties(height=220)
    )


def history_table(history: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "when (UTC)": h["at"].replace("T", " ")[:19],
                "purpose": h["purpose"],
                "split sha256": str(h["split_sha256"])[:12] + "…",
                "unlock reason": h.get("unlock_reason") or "",
            }
            for h in history
        ]
    )


def batch_levels(df: pd.DataFrame, roles: Roles) -> list[str]:
    if not roles.batch or roles.batch[0] not in df.columns:
        return []
    return sorted(df[roles.batch[0]].dropna().astype(str).unique().tolist())[:500]
