"""The Report page: tip overview, methods paragraph, PDF and bundle downloads, not-applicable form."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from deeprules_core.store import Workspace

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "report.py")


def _page(study_id: str | None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    if study_id:
        at.session_state["deeprules.study_id"] = study_id
    return at.run()


def _study_with_data(home: Path) -> tuple[Workspace, str]:
    from deeprules_core.intake import Provenance, ingest

    ws = Workspace(home)
    study = ws.create_study("Report page é µ")
    data = "sample_id,g1,g2,label\n" + "".join(
        f"s{i},{i % 7},{(i * 3) % 5},{'ab'[i % 2]}\n" for i in range(40)
    )
    prov = Provenance(source="GSE1", version="1", download_date="2024-01-01", licence="CC0", entered_by="me")
    study, _ = ingest(ws, data.encode(), name="t.csv", provenance=prov, study=study)
    ws.save_study(study)
    return ws, study.id


def test_without_a_study_the_page_says_so(_isolated_workspace):
    at = _page(None)
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)


def test_a_fresh_study_shows_every_tip_not_done(_isolated_workspace):
    ws = Workspace(_isolated_workspace)
    study = ws.create_study("Fresh")
    at = _page(study.id)
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 10 and set(table["Status"]) == {"not done"}
    assert "No model had been fitted" in at.code[0].value


@pytest.mark.slow
def test_pdf_bundle_and_not_applicable(_isolated_workspace):
    ws, sid = _study_with_data(_isolated_workspace)
    at = _page(sid)
    assert not at.exception
    at.button(key="report.pdf").click().run()
    assert not at.exception
    assert ws.get_study(sid).step("report") is not None
    assert ws.latest_artifact(sid, "report", "report.pdf") is not None
    at.button(key="report.bundle").click().run()
    assert not at.exception
    exported = [a for a in ws.audit_log(sid) if a.action == "export_bundle"]
    assert exported and "report.pdf" in exported[-1].detail["files"]  # the PDF travels with the bundle
    at.text_input(key="report.na.5.reason").input("No deep model: the baselines answer the question.")
    at.button(key="FormSubmitter:report.na.5-Mark as not applicable").click().run()
    assert not at.exception
    statuses = at.dataframe[0].value.set_index("Tip")["Status"]
    assert statuses[5] == "not applicable"
