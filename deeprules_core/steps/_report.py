"""The report step: the methods-checklist PDF of a study, made from the workspace (the
findings from the study's ledger), recorded as the ``report`` step."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ..findings import Finding
from ..study import StepRecord, Study, package_versions, utcnow
from ._common import record_step

__all__ = ["study_findings", "write_report"]


def study_findings(ws: Any, study: Study) -> list[Finding]:
    """The study's current findings, from its ledger (one per finding, errors first):
    those that hold for the study as it is now (:mod:`deeprules_core.current`)."""
    return list(ws.current_findings(study.id, study=study))


def write_report(
    ws: Any, study: Study, out_pdf: str | Path | None = None, *, outputs: str | None = None
) -> tuple[bytes, Study]:
    """Write the PDF (to ``out_pdf``, else a temporary file), store it as an artifact and
    record the ``report`` step with the tip statuses; return the PDF's bytes and the study.

    ``outputs``: what accompanies the PDF (``"run"`` for ``deeprules run``'s folder; the
    default describes no bundle). The Report page and ``run`` both call this.
    """
    from ..report import build_pdf, facts_from_workspace, tip_statuses

    ws.access(study.id, "export")  # the PDF takes the results out of deeprules: not for a viewer
    latest = ws.get_study(study.id)
    facts = facts_from_workspace(ws, latest, outputs=outputs)
    if out_pdf is None:
        with tempfile.TemporaryDirectory() as tmp:
            data = build_pdf(facts, Path(tmp) / "report.pdf").read_bytes()
    else:
        data = build_pdf(facts, out_pdf).read_bytes()
    sha = ws.put_artifact(study.id, "report", "report.pdf", data)
    statuses = {str(t.tip.number): t.status for t in tip_statuses(facts)}
    counts = {s: sum(f.severity == s for f in facts.findings) for s in ("error", "warning", "info")}
    record = StepRecord(
        step="report",
        params={"kind": "pdf", "outputs": facts.outputs},
        input_hashes={"dataset": latest.dataset.sha256} if latest.dataset else {},
        versions=package_versions(("deeprules", "fpdf2", "matplotlib")),
        started_at=utcnow(),
        finished_at=utcnow(),
        summary={"sha256": sha, "statuses": statuses, **counts},
    )
    saved = record_step(ws, latest, record, None, action="report_pdf", always=True)
    return data, saved
