"""Report: the ten tips' status, the methods paragraph, the PDF and the reproducibility bundle."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from deeprules_core.errors import DeepRulesError
from deeprules_core.report import (
    STATUSES,
    TO_COMPLETE,
    dome_items,
    export_bundle,
    facts_from_workspace,
    methods_text,
    not_applicable_key,
    reforms_items,
    tip_statuses,
)
from deeprules_core.report._pdf import STATUS_COLOURS
from deeprules_core.steps import write_report
from deeprules_core.study import Acknowledgement, utcnow
from ui import state
from ui.banner import open_errors_banner
from ui.text import md

st.title("Report")
st.caption(
    "A methods checklist that proves what was done: each of the ten tips with its evidence, the "
    "DOME and REFORMS items filled from the study, and a bundle that re-runs the analysis."
)

study = state.require_study()
ws = state.workspace()
open_errors_banner(study, page="report")
try:
    facts = facts_from_workspace(ws, study)
except DeepRulesError as exc:
    st.error(md(exc))
    st.stop()
statuses = tip_statuses(facts)

# ---- overview -------------------------------------------------------------------
counts = {s: sum(t.status == s for t in statuses) for s in STATUSES}
cols = st.columns(len(STATUSES))
for col, s in zip(cols, STATUSES, strict=True):
    col.metric(s.capitalize(), counts[s])


def _colour(value: str) -> str:
    r, g, b = STATUS_COLOURS.get(value, (255, 255, 255))
    return f"background-color: rgb({r},{g},{b}); color: black"


table = pd.DataFrame(
    {
        "Tip": [t.tip.number for t in statuses],
        "Advice": [t.tip.title for t in statuses],
        "Status": [t.status for t in statuses],
        "Still to do": [
            " ".join(m.text for m in t.missing) if t.status != "not applicable" else "" for t in statuses
        ],
    }
)
st.dataframe(table.style.map(_colour, subset=["Status"]), hide_index=True, width="stretch")
if facts.statement:
    st.markdown(f"**{md(facts.statement)}**")

# ---- per tip ------------------------------------------------------------------
st.subheader("Evidence per tip")
for t in statuses:
    with st.expander(f"Tip {t.tip.number} · {t.tip.title} — {t.status}"):
        st.caption(t.tip.explanation)
        if t.reason:
            st.info(md(f"Not applicable: “{t.reason}”"))
        for line in t.done:
            st.markdown(f"- {md(line)}")
        for f in t.open_findings:
            st.warning(f"**{f.title}** " + md(f"{', '.join(f.columns)}: {f.message}"))
        for f, ack in t.acknowledged:
            st.caption(f"{f.title} acknowledged: " + md(f"“{ack.justification}”"))
        if t.missing and t.status != "not applicable":
            st.markdown("**Not done yet**")
            for m in t.missing:
                state.link(m.page, m.text)
        if t.status != "not applicable":
            with st.form(f"report.na.{t.tip.number}"):
                reason = st.text_input(
                    "This tip does not apply to my study, because…",
                    key=f"report.na.{t.tip.number}.reason",
                    placeholder="e.g. no deep model is fitted: the baselines answer the question",
                )
                if st.form_submit_button("Mark as not applicable"):
                    if not reason.strip():
                        st.error("Write the reason: it is printed in the report next to the tip.")
                    else:
                        latest = ws.get_study(study.id)
                        updated = latest.with_acknowledgement(
                            Acknowledgement(
                                not_applicable_key(t.tip.number),
                                reason.strip(),
                                who=state.user_name(),
                                at=utcnow(),
                            )
                        )
                        state.save_study(updated, "tip_not_applicable", {"tip": t.tip.number})
                        st.rerun()

# ---- methods paragraph -----------------------------------------------------------
st.subheader("Methods paragraph")
st.caption("Generated from the same numbers as the PDF; use the copy button at its top right.")
st.code(methods_text(facts), language=None, wrap_lines=True)

# ---- checklists -------------------------------------------------------------------
with st.expander("DOME and REFORMS items"):
    for title, items in (("DOME", dome_items(facts)), ("REFORMS", reforms_items(facts))):
        filled = sum(i.filled for i in items)
        st.markdown(
            f"**{title}**: {filled} of {len(items)} items filled from the study; the rest say “{TO_COMPLETE}”."
        )
        st.dataframe(
            pd.DataFrame([{"Section": i.section, "Item": i.item, "Answer": i.text} for i in items]),
            hide_index=True,
            width="stretch",
        )

# ---- downloads ---------------------------------------------------------------------
st.subheader("Download")
left, right = st.columns(2)
safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in study.name)[:60] or "study"
with left:
    st.markdown("**Methods-checklist PDF**")
    if st.button("Generate the PDF", key="report.pdf", type="primary"):
        try:
            with st.spinner("Writing the PDF…"):
                # the same call as `run`: the findings from the study's ledger; recorded as a step
                pdf, _ = write_report(ws, study)
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            st.download_button(
                "Download the PDF",
                pdf,
                file_name=f"{safe}-methods-checklist.pdf",
                mime="application/pdf",
                key="report.pdf.download",
                on_click="ignore",
            )
with right:
    st.markdown("**Reproducibility bundle**")
    st.caption("Study file, data, split, results, findings, versions, checksums, the PDF and a README.")
    include = st.checkbox(
        "Include the data file",
        value=not study.design.sensitive_data,
        key="report.bundle.data",
        help="A sensitive study's bundle carries raw rows only after you confirm why (Privacy page).",
    )
    with_models = st.checkbox(
        "Include the model weights the export lock allows", value=False, key="report.bundle.models"
    )
    if st.button("Export the bundle", key="report.bundle"):
        try:
            with tempfile.TemporaryDirectory() as tmp:
                with st.spinner("Writing the bundle and its PDF…"):
                    data = export_bundle(
                        ws,
                        study,
                        Path(tmp) / "bundle.zip",
                        data_path_in_bundle=include,
                        include_report=True,
                        include_models=with_models,
                        who=state.user_name(),
                    ).read_bytes()
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            st.download_button(
                "Download the bundle",
                data,
                file_name=f"{safe}-bundle.zip",
                mime="application/zip",
                key="report.bundle.download",
                on_click="ignore",
            )
            st.caption(
                f"sha256 {hashlib.sha256(data).hexdigest()[:16]}… · re-run: `python -m deeprules_core run study.yaml --out DIR`"
            )
