"""Checks: schema, metadata and data quality before any model is fitted (Tips 1, 4, 10)."""

from __future__ import annotations

import streamlit as st

from deeprules_core.checks import spec_from_table, spec_table, validate_schema
from deeprules_core.errors import DeepRulesError
from deeprules_core.findings import summarise
from deeprules_core.steps import run_checks, save_schema
from ui import checks, state
from ui.findings import show_findings
from ui.text import md

st.title("Checks")
st.caption(
    "Tip 1: inspect the data thoroughly before modelling; Tip 4: know how it was collected. "
    "Every check below has a written threshold; on clean data it says nothing."
)

study, df = state.require_table()
ws = state.workspace()
try:
    result = run_checks(ws, study, df)  # runs the checks and records them (step + findings ledger)
except DeepRulesError as exc:
    st.error(md(exc))
    state.link("data", "Check the column roles")
    st.stop()
study = result["study"]
saved_spec = result["schema"]
findings = result["findings"]
counts = summarise(findings)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Samples", f"{len(df):,}")
c2.metric("Features", f"{result['n_features']:,}")
c3.metric("Errors", counts["error"])
c4.metric("Warnings", counts["warning"])

tab_findings, tab_schema, tab_charts = st.tabs(["Findings", "Schema", "Charts"])

with tab_findings:
    show_findings(findings, study=study, key="checks")

with tab_schema:
    spec = saved_spec or result["inferred_spec"]
    st.markdown(
        "The schema says what the table must look like: types, whether a value may be missing, ranges and "
        "allowed categories. It was inferred from the data and the column roles"
        + (" and **saved with the study**." if saved_spec else "; edit it and save it with the study.")
    )
    edited = st.data_editor(
        spec_table(spec),
        key="checks.schema.editor",
        hide_index=True,
        disabled=["column", "role"],
        column_config={
            "dtype": st.column_config.SelectboxColumn(
                "dtype", options=["float", "int", "str", "bool", "datetime"]
            ),
            "allowed": st.column_config.TextColumn("allowed values (comma-separated)"),
        },
        width="stretch",
    )
    save, reset = st.columns(2)
    if save.button("Save schema", key="checks.schema.save", type="primary"):
        try:
            new_spec = spec_from_table(edited, spec)
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            save_schema(ws, study, new_spec)
            st.rerun()
    if saved_spec and reset.button("Back to the inferred schema", key="checks.schema.reset"):
        save_schema(ws, study, result["inferred_spec"], reset=True)
        st.rerun()
    failures = result["failures"]
    try:
        current = spec_from_table(edited, spec)
    except DeepRulesError as exc:
        st.error(md(exc))
        current = spec
    if current != spec:
        failures = validate_schema(df, current)
        st.caption("Showing failures for the edited (unsaved) schema.")
    if failures.empty:
        st.success("The table conforms to the schema: no failure case.")
    else:
        st.markdown(f"**{len(failures):,} failure case(s)**: every row, column, check and failing value.")
        st.dataframe(checks.failures_for_display(failures), hide_index=True, width="stretch")

with tab_charts:
    roles = study.roles
    if roles.task == "classification" and roles.label in df.columns:
        st.altair_chart(checks.class_balance_chart(df, roles.label), width="stretch")
    for by, table in result["missingness"].items():
        if not table.empty and table["fraction"].max() > 0:
            st.altair_chart(checks.missingness_chart(table, by), width="stretch")
    if not any(not t.empty and t["fraction"].max() > 0 for t in result["missingness"].values()):
        st.caption("No missing values to chart.")
    scores = result["outliers"]
    if scores.empty:
        st.caption("Too few samples or features for the outlier view.")
    else:
        st.altair_chart(checks.outlier_chart(scores), width="stretch")

st.subheader("Next")
state.link("confounds", "Look for batch effects and confounders")
