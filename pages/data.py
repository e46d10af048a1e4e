"""Data: load a table, record where it came from, and say what each column is (Tips 1 and 4)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from deeprules_core.errors import DeepRulesError
from deeprules_core.intake import (
    Provenance,
    add_provenance_version,
    dataset_info,
    get_provenance,
    ingest,
    ingest_pair,
    list_sample_datasets,
    load_sample_dataset,
    provenance_history,
    suggest_roles,
    workbook_sheets,
)
from deeprules_core.study import Roles
from ui import data as ui_data
from ui import state
from ui.banner import out_of_date_banner
from ui.text import md

st.title("Data")
st.caption(
    "Tip 4: know your data. deeprules keeps the exact bytes of your file (by sha256), where they came "
    "from (source, version, download date, licence) and what each column is."
)
study = state.require_study()
ws = state.workspace()


def _attached(new_study, info, action: str) -> None:
    state.save_study(new_study, action, {"dataset_id": info.id, "name": info.name, "sha256": info.sha256})
    st.rerun()


tab_file, tab_pair, tab_sample = st.tabs(["Upload a table", "Matrix + sample sheet", "Sample data"])

with tab_file:
    # outside the form, so that a workbook's sheets can be offered before saving
    upload = st.file_uploader(
        "Table: CSV/TSV/TXT, Excel .xlsx, Parquet or AnnData .h5ad (optionally compressed)",
        type=ui_data.UPLOAD_TYPES,
        key="data.upload.file",
    )
    sheets: list[str] = []
    if upload is not None and upload.name.lower().endswith((".xlsx", ".xlsm")):
        try:
            sheets = workbook_sheets(upload.getvalue(), upload.name)
        except DeepRulesError as exc:
            st.error(str(exc))
    with st.form("data.upload"):
        sheet = None
        if len(sheets) > 1:
            sheet = st.selectbox(
                f"Sheet of {upload.name} that holds the table ({len(sheets)} sheets)",
                sheets,
                index=None,
                placeholder="Choose a sheet",
                key="data.upload.sheet",
            )
        fields = ui_data.provenance_inputs("data.upload.prov")
        go = st.form_submit_button("Save dataset", type="primary")
    if go:
        if upload is None:
            st.error("Choose a file to upload first.")
        elif len(sheets) > 1 and not sheet:
            st.error(f"{upload.name} has {len(sheets)} sheets; choose the one that holds the table.")
        else:
            try:
                prov = Provenance(**fields)
                size_mb = upload.size / 2**20
                bar = st.progress(0.0, text=f"Reading {upload.name} ({size_mb:,.1f} MB)…")
                new, info = ingest(
                    ws,
                    upload.getvalue(),
                    name=upload.name,
                    provenance=prov,
                    study=study,
                    sheet=sheet,
                    progress=lambda f, m: bar.progress(
                        min(1.0, max(0.0, f)), text=m[:1].upper() + m[1:] + "…"
                    ),
                )
            except DeepRulesError as exc:
                st.error(md(exc))
            else:
                _attached(new, info, "add_dataset")

with tab_pair:
    st.caption(
        "An expression/abundance matrix (samples as rows or as columns) plus a sample sheet with one "
        "row per sample, joined on the sample id."
    )
    with st.form("data.pair"):
        c1, c2 = st.columns(2)
        matrix = c1.file_uploader("Matrix", type=ui_data.UPLOAD_TYPES, key="data.pair.matrix")
        sheet_file = c2.file_uploader("Sample sheet", type=ui_data.UPLOAD_TYPES, key="data.pair.sheet")
        id_column = c1.text_input("Sample id column of the sample sheet (empty: find it)", key="data.pair.id")
        orientation = c2.selectbox(
            "Samples in the matrix are",
            ["auto", "samples_as_rows", "samples_as_columns"],
            format_func={
                "auto": "found automatically",
                "samples_as_rows": "rows (first column: sample id)",
                "samples_as_columns": "columns (first column: gene/feature id)",
            }.get,
            key="data.pair.orientation",
        )
        pair_fields = ui_data.provenance_inputs("data.pair.prov")
        go_pair = st.form_submit_button("Join and save", type="primary")
    if go_pair:
        if matrix is None or sheet_file is None:
            st.error("Choose both files: the matrix and the sample sheet.")
        else:
            try:
                prov = Provenance(**pair_fields)
                new, info = ingest_pair(
                    ws,
                    matrix.getvalue(),
                    sheet_file.getvalue(),
                    matrix_name=matrix.name,
                    sheet_name=sheet_file.name,
                    provenance=prov,
                    study=study,
                    id_column=id_column.strip() or None,
                    orientation=orientation,
                )
            except DeepRulesError as exc:
                st.error(md(exc))
            else:
                _attached(new, info, "add_dataset")

with tab_sample:
    for sample in list_sample_datasets():
        st.markdown(f"**{sample.title}**  \n{sample.description}")
        if st.button(f"Load sample: {sample.short_title}", key=f"data.sample.{sample.key}"):
            try:
                new, info = load_sample_dataset(ws, sample.key, study=study)
            except DeepRulesError as exc:
                st.error(md(exc))
            else:
                _attached(new, info, "add_sample_dataset")

ref = study.dataset
if ref is None:
    st.info("No data in this study yet: upload a table, a matrix with its sample sheet, or load a sample.")
    st.stop()

st.divider()
try:
    info = dataset_info(ws, ref.dataset_id)
    df = state.load_table(ref.dataset_id)
except DeepRulesError as exc:
    st.error(md(exc))
    st.stop()

st.header(f"Dataset: {md(info.name)}")
ui_data.show_dataset(info)
if info.join_report is not None:
    ui_data.show_join_report(info.join_report)

st.subheader("Provenance")
history = provenance_history(ws, ref.dataset_id)
current = history[-1]
ui_data.show_provenance(current.provenance, current.version)
with st.expander("Correct the provenance (saved as a new version; the old one is kept)"):
    with st.form("data.correct"):
        fixed = ui_data.provenance_inputs("data.correct.prov", default=current.provenance)
        go_fix = st.form_submit_button("Save as a new version")
    if go_fix:
        try:
            version = add_provenance_version(ws, ref.dataset_id, Provenance(**fixed))
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            state.save_study(
                study.with_dataset(replace(ref, provenance_version=version)),
                "correct_provenance",
                {"dataset_id": ref.dataset_id, "version": version},
            )
            st.rerun()
if len(history) > 1:
    with st.expander(f"Provenance history ({len(history)} versions)"):
        for h in reversed(history):
            p = get_provenance(ws, ref.dataset_id, h.version)
            st.caption(md(f"version {h.version} · {h.created_at} · {p.entered_by}: {p.source} · {p.version}"))

st.subheader("Preview")
ui_data.preview(df)

st.subheader("Column roles")
suggestion = suggest_roles(df)
try:
    study.roles.validate_against(df)
    fits = True
except DeepRulesError:
    fits = False
if study.roles == Roles() or not fits:
    st.caption(
        ("The saved roles name columns this table does not have. " if not fits else "")
        + "Suggested from the column names and contents. Check each one, then save."
    )
    initial = suggestion.roles
else:
    st.caption("The saved roles. Change them and save again if needed.")
    initial = study.roles
roles = ui_data.roles_editor(df, initial, suggestion.reasons, key=f"data.roles.{ref.dataset_id}")
if roles is not None:
    try:
        roles.validate_against(df)
    except DeepRulesError as exc:
        st.error(md(exc))
    else:
        state.save_study(study.with_roles(roles), "set_roles", roles.to_dict())
        st.success(md(f"Roles saved: label {roles.label!r}, {ui_data.n_features(df, roles)} features."))
        state.link("checks", "Next: check the data")
# steps that ran on earlier roles (or an earlier table) say so here, where the roles change
out_of_date_banner(study, page="report")
