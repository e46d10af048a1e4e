"""Findings on a page: grouped by severity, with their tip, evidence and acknowledgement."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from deeprules_core.findings import Finding, sort_findings, summarise
from deeprules_core.names import evidence_items
from deeprules_core.steps import acknowledge
from deeprules_core.study import Study
from ui.text import md

from . import state

_ICON = {"error": "🛑", "warning": "⚠️", "info": "ℹ️"}
_TITLE = {"error": "Errors", "warning": "Warnings", "info": "For information"}


def show_findings(findings: Iterable[Finding], *, study: Study | None, key: str) -> None:
    """Show findings grouped by severity; each can be acknowledged with a justification."""
    findings = sort_findings(findings)
    counts = summarise(findings)
    if not findings:
        st.success("Nothing to report: no check found a problem.")
        return
    st.markdown(
        f"**{counts['error']}** error(s) · **{counts['warning']}** warning(s) · **{counts['info']}** note(s)"
    )
    for severity in ("error", "warning", "info"):
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        st.subheader(f"{_ICON[severity]} {_TITLE[severity]}")
        for i, f in enumerate(group):
            _one(f, study=study, key=f"{key}.{severity}.{i}")


def _one(f: Finding, *, study: Study | None, key: str) -> None:
    ack = study.acknowledgement(f.key) if study is not None else None
    cols = (
        f", columns: {md(', '.join(f.columns[:6]))}{' …' if len(f.columns) > 6 else ''}" if f.columns else ""
    )
    title = f"{f.title}{cols} · Tip {f.tip}" + (" · acknowledged" if ack else "")
    with st.expander(title, expanded=f.severity == "error" and ack is None):
        st.markdown(md(f.message))
        items = evidence_items(f.evidence, limit=12)
        if items:
            with st.popover("Evidence"):
                rows = [(what, md(value)) for what, value in items]  # st.table renders Markdown
                st.table(pd.DataFrame(rows, columns=["what", "value"]).set_index("what"))
        if ack is not None:
            st.caption(md(f"Acknowledged by {ack.who or 'unknown'} on {ack.at}: “{ack.justification}”"))
        elif study is not None and f.severity != "info":
            with st.form(f"{key}.ack"):
                text = st.text_area(
                    "Acknowledge with a written justification (it goes into the report)",
                    key=f"{key}.ack.text",
                    placeholder="e.g. Plates were randomised to condition; the effect is within technical noise.",
                )
                if st.form_submit_button("Acknowledge"):
                    if not text.strip():
                        st.error("Write why this finding does not change your conclusions.")
                    else:
                        # in the ledger (attached to the finding) and in the study record
                        acknowledge(state.workspace(), study, f.key, text.strip())  # by the signed-in user
                        st.rerun()
