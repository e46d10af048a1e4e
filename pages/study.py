"""Study: create or open a study and answer the design questionnaire (Tips 4 and 10)."""

from __future__ import annotations

from functools import partial

import streamlit as st

from deeprules_core.errors import DeepRulesError
from deeprules_core.study import Design
from ui import state
from ui.design import design_form
from ui.sharing import sharing_panel, study_label
from ui.text import md

st.title("Study")
st.caption(
    "Every analysis lives in a study: the design answers, the data and its provenance, and a "
    "record of every step. Everything is saved as you go and survives a restart."
)

ws = state.workspace()
studies = ws.list_studies()
current = state.current_study()

tab_open, tab_new = st.tabs(["Open a study", "New study"])

with tab_new:
    with st.form("study.new"):
        name = st.text_input("Name", placeholder="e.g. Tumour vs normal, GSE2034")
        question = st.text_area(
            "The biological question", placeholder="What do you want the model to tell you?"
        )
        if st.form_submit_button("Create study", type="primary"):
            try:
                study = ws.create_study(name, design=Design(question=question.strip()))
            except (DeepRulesError, ValueError) as exc:
                st.error(md(exc))
            else:
                state.set_current_study(study.id)
                st.rerun()

with tab_open:
    if not studies:
        st.info("No study yet. Create one in the **New study** tab.")
    else:
        labels = {s["id"]: study_label(s) for s in studies}
        ids = list(labels)
        index = ids.index(current.id) if current is not None and current.id in ids else 0
        chosen = st.selectbox("Study", ids, index=index, format_func=labels.get, key="study.pick")
        if st.button("Open", key="study.open", disabled=current is not None and chosen == current.id):
            state.set_current_study(chosen)
            st.rerun()

if current is None:
    st.stop()

st.divider()
st.header(md(current.name))
access = state.access_note(current)
left, mid, right = st.columns(3)
with left.popover("Rename"):
    # keyed to this study and filled once: another study's name never lingers in the field
    rename_tag = f"study.rename.{current.id}"
    rename_base, _ = state.bind_form(rename_tag, {"name": current.name}, current.version)
    reload_rename = partial(state.reset_form, rename_tag)
    new_name = st.text_input("New name", key=f"{rename_tag}.name")
    if st.button("Rename", key="study.rename.go"):
        try:
            renamed = current.renamed(new_name)
        except ValueError as exc:
            st.error(md(exc))
        else:
            state.save_study(
                renamed,
                "rename_study",
                {"name": renamed.name},
                base_version=rename_base,
                on_reload=reload_rename,
            )
            reload_rename()
            st.rerun()
with mid.popover("Duplicate"):
    st.write("A copy with the same design, data and steps, to try something else without losing this one.")
    if st.button("Duplicate", key="study.duplicate"):
        try:
            copy = ws.duplicate_study(current.id)
        except DeepRulesError as exc:  # a viewer may not copy a study out of its owner's hands
            st.error(str(exc))
        else:
            state.set_current_study(copy.id)
            st.rerun()
with right.popover("Delete"):
    st.write("The study disappears from the list; its history stays in the audit log.")
    typed = st.text_input("Type the study's name to confirm", key=f"study.delete.{current.id}.confirm")
    if st.button("Delete for good", key="study.delete.go", type="primary"):
        try:
            ws.delete_study(current.id, confirm=typed)
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            state.set_current_study(None)
            st.rerun()

st.subheader("Design questionnaire")
st.caption(
    "Tip 4: know how the data were collected. These answers decide the defaults of later steps "
    "(for example, repeated individuals mean the split must keep each individual on one side)."
)
design_form(current)

if current.design.sensitive_data and not current.design.ethics_approval:
    st.warning("Sensitive data without an ethics approval reference: add it before you publish (Tip 10).")
if current.design.repeated_units:
    st.info(
        "Your rows are not all independent. On the Data page, set the **group** column (patient, donor, "
        "individual) so that the split keeps each one on one side."
    )

sharing_panel(ws, current, access)

st.subheader("Next")
state.link("data", "Load the data and record where it came from")

with st.expander("History of this study"):
    for version, saved_at in reversed(ws.study_history(current.id)[-20:]):
        st.caption(f"version {version} · {saved_at}")
    for entry in reversed(ws.audit_log(current.id)[-30:]):
        st.caption(md(f"{entry.at} · {entry.actor} · {entry.action}"))
