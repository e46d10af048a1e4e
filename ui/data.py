"""Widgets of the Data page: provenance form, dataset summary, join report, roles editor."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from deeprules_core.intake import REQUIRED_FIELDS, DatasetInfo, JoinReport, Provenance
from deeprules_core.study import TASKS, Roles
from ui import state
from ui.text import md

#: what the uploader accepts (the engine checks the content too)
UPLOAD_TYPES = [
    "csv",
    "tsv",
    "txt",
    "tab",
    "dat",
    "xlsx",
    "xlsm",
    "parquet",
    "pq",
    "h5ad",
    "gz",
    "bz2",
    "xz",
    "zip",
]
#: above this many columns the role pickers list only likely metadata columns
WIDE_TABLE_COLUMNS = 300
#: the preview shows at most this many rows and columns
PREVIEW_ROWS, PREVIEW_COLUMNS = 50, 60

_LABELS = {
    "source": "Source: URL, DOI or accession *",
    "version": "Version of the dataset *",
    "download_date": "Download date *",
    "licence": "Licence / terms of use *",
    "description": "Description",
    "entered_by": "Entered by *",
}


def _user() -> str:
    return state.user_name()


def provenance_inputs(key: str, default: Provenance | None = None) -> dict[str, Any]:
    """The provenance fields (call inside a form). Returns the raw values."""
    d = default
    c1, c2 = st.columns(2)
    out: dict[str, Any] = {}
    out["source"] = c1.text_input(
        _LABELS["source"],
        value=d.source if d else "",
        placeholder="e.g. GSE2034, 10.24432/C5DW2B or https://...",
        help=REQUIRED_FIELDS["source"],
        key=f"{key}.source",
    )
    out["version"] = c2.text_input(
        _LABELS["version"],
        value=d.version if d else "",
        placeholder="e.g. series matrix of 2021-03-01",
        help=REQUIRED_FIELDS["version"],
        key=f"{key}.version",
    )
    picked = c1.date_input(
        _LABELS["download_date"],
        value=date.fromisoformat(d.download_date) if d else None,
        max_value=date.today(),
        min_value=date(1980, 1, 1),
        help=REQUIRED_FIELDS["download_date"],
        key=f"{key}.download_date",
    )
    out["download_date"] = picked.isoformat() if isinstance(picked, date) else ""
    out["licence"] = c2.text_input(
        _LABELS["licence"],
        value=d.licence if d else "",
        placeholder="e.g. CC BY 4.0",
        help=REQUIRED_FIELDS["licence"],
        key=f"{key}.licence",
    )
    out["description"] = st.text_area(
        _LABELS["description"],
        value=d.description if d else "",
        placeholder="What was measured, in whom, how (platform, tissue, cohort)",
        key=f"{key}.description",
    )
    out["entered_by"] = st.text_input(
        _LABELS["entered_by"], value=d.entered_by if d else _user(), key=f"{key}.entered_by"
    )
    return out


def show_dataset(info: DatasetInfo) -> None:
    """Rows, columns, format, size and hash, plus what deeprules noticed while reading."""
    c = st.columns(4)
    c[0].metric("Rows", f"{info.n_rows}")
    c[1].metric("Columns", f"{info.n_columns}")
    c[2].metric("Format", info.format)
    c[3].metric(
        "Size", f"{info.size_bytes / 2**20:,.2f} MB" if info.size_bytes > 2**20 else f"{info.size_bytes:,} B"
    )
    st.caption(f"**{md(info.name)}** · sha256 `{info.sha256}` · stored {info.created_at.replace('T', ' ')}")
    for note in info.notes:
        st.info(md(note))


def show_join_report(rep: JoinReport) -> None:
    (st.success if rep.complete else st.warning)(md(rep.summary()))
    if not rep.complete:
        c1, c2 = st.columns(2)
        with c1.expander(f"In the matrix only ({rep.n_only_in_matrix})"):
            st.text(", ".join(rep.only_in_matrix) or "none")
        with c2.expander(f"In the sample sheet only ({rep.n_only_in_sheet})"):
            st.text(", ".join(rep.only_in_sheet) or "none")


def show_provenance(p: Provenance, version: int) -> None:
    rows = [
        ("Source", p.source),
        ("Version", p.version),
        ("Download date", p.download_date),
        ("Licence", p.licence),
        ("Description", p.description),
        ("Entered by", p.entered_by),
        ("sha256", p.sha256 or ""),
        ("Size (bytes)", f"{p.size_bytes:,}" if p.size_bytes is not None else ""),
        ("Format", p.format or ""),
        ("Rows x columns", f"{p.n_rows} x {p.n_columns}"),
    ]
    rows += [(f"File ({f['role']})", f"{f['name']} · sha256 {f['sha256'][:16]}…") for f in p.files]
    st.caption(f"Provenance record, version {version}")
    # st.table renders Markdown in its cells: user text goes in escaped
    st.table(pd.DataFrame([(k, md(v)) for k, v in rows], columns=["field", "value"]).set_index("field"))
    if p.source_note:
        st.warning(md(p.source_note) + " Use *Correct the provenance* below.")


def preview(df: pd.DataFrame) -> None:
    st.dataframe(df.iloc[:PREVIEW_ROWS, :PREVIEW_COLUMNS], width="stretch")
    more = []
    if df.shape[0] > PREVIEW_ROWS:
        more.append(f"first {PREVIEW_ROWS} of {df.shape[0]} rows")
    if df.shape[1] > PREVIEW_COLUMNS:
        more.append(f"first {PREVIEW_COLUMNS} of {df.shape[1]} columns")
    if more:
        st.caption("Showing the " + " and the ".join(more) + ".")


def _options(df: pd.DataFrame, roles: Roles) -> list[str]:
    cols = [str(c) for c in df.columns]
    if len(cols) <= WIDE_TABLE_COLUMNS:
        return cols
    keep = set(roles.metadata_columns) | set(cols[:50])
    keep |= {str(c) for c, t in df.dtypes.items() if not pd.api.types.is_numeric_dtype(t)}
    return [c for c in cols if c in keep]


def n_features(df: pd.DataFrame, roles: Roles) -> int:
    """How many feature columns the roles give (from dtypes: fast on very wide tables)."""
    if roles.features:
        return len(roles.features)
    meta = set(roles.metadata_columns)
    return sum(
        1
        for c, t in df.dtypes.items()
        if c not in meta and pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
    )


def roles_editor(df: pd.DataFrame, initial: Roles, reasons: Mapping[str, str], *, key: str) -> Roles | None:
    """A form to confirm the column roles; returns the Roles when the user saves."""
    opts = _options(df, initial)
    none = [None, *opts]

    def pick(label: str, field: str, help_: str) -> str | None:
        value = getattr(initial, field)
        return st.selectbox(
            label,
            none,
            index=none.index(value) if value in none else 0,
            format_func=lambda c: "— none —" if c is None else c,
            help=(reasons.get(field) or help_),
            key=f"{key}.{field}",
        )

    with st.form(key):
        c1, c2 = st.columns(2)
        with c1:
            label = pick("Label (what to predict)", "label", "the outcome: diagnosis, condition, response...")
            task = st.radio(
                "Task",
                TASKS,
                index=TASKS.index(initial.task),
                horizontal=True,
                help=reasons.get("label"),
                key=f"{key}.task",
            )
            sample_id = pick("Sample id", "id", "one different value per row")
            group = pick(
                "Group (individual: patient, donor, cell line)",
                "group",
                "rows from one individual are kept on one side of the split",
            )
            time = pick("Time point", "time", "visit, day, time point")
        with c2:
            batch = st.multiselect(
                "Batch variables (plate, run, lane, site, date, technology)",
                opts,
                default=[c for c in initial.batch if c in opts],
                help=reasons.get("batch"),
                key=f"{key}.batch",
            )
            covariates = st.multiselect(
                "Covariates (age, sex, BMI...)",
                opts,
                default=[c for c in initial.covariates if c in opts],
                help=reasons.get("covariates"),
                key=f"{key}.covariates",
            )
            sequence = pick("Sequence column", "sequence", "DNA/RNA or protein sequences")
            numeric = [c for c in opts if pd.api.types.is_numeric_dtype(df[c])]
            excluded = st.multiselect(
                "Numeric columns NOT to use as features",
                numeric,
                default=[c for c in numeric if initial.features and c not in initial.features],
                help="By default every numeric column without another role is a feature.",
                key=f"{key}.exclude",
            )
        unused = [c for c in initial.unused_columns(df) if not pd.api.types.is_numeric_dtype(df[c])]
        if unused:
            st.caption(
                "Text columns without a role are not used by the models: "
                + ", ".join(map(str, unused[:12]))
                + (f" and {len(unused) - 12} more" if len(unused) > 12 else "")
                + ". Give one a role (batch, covariate...) if it matters to the design."
            )
        for note in (reasons.get("covariates", ""), reasons.get("ignored", "")):
            if "quality measures" in note or "cluster ids" in note:
                st.caption(next(p for p in note.split("; ") if "quality" in p or "cluster" in p) + ".")
        if not st.form_submit_button("Save roles", type="primary"):
            return None
    roles = Roles(
        id=sample_id,
        label=label,
        task=task,
        group=group,
        batch=tuple(batch),
        covariates=tuple(covariates),
        time=time,
        sequence=sequence,
    )
    if excluded:
        roles = Roles(
            **{**roles.to_dict(), "features": [c for c in roles.feature_columns(df) if c not in excluded]}
        )
    return roles
