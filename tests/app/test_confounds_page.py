"""The Batch & confounds page: findings, charts, contingency table, metadata-only model,
correction verdict and the step record."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from deeprules_core.confounds._simulate import simulate_batch_study
from deeprules_core.intake import Provenance, ingest
from deeprules_core.names import finding_title
from deeprules_core.store import Workspace

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "confounds.py")


def _study(home: Path, **sim):
    df, roles = simulate_batch_study(n=80, p=30, seed=0, **sim)
    ws = Workspace(home)
    study = ws.create_study("Confounds demo")
    prov = Provenance(
        source="lab:SIM-2024-04", version="1", download_date="2024-03-15", licence="CC0", entered_by="test"
    )
    study, _ = ingest(ws, df.to_csv(index=False).encode(), name="demo.csv", provenance=prov, study=study)
    return ws, ws.save_study(study.with_roles(roles), action="test_setup")


def _open(study_id: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    at.session_state["deeprules.study_id"] = study_id
    return at.run()


def test_without_a_study_the_page_says_what_to_do(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)


@pytest.mark.slow
def test_confounded_design_is_shown_with_levels_and_correction_refused(_isolated_workspace):
    ws, study = _study(_isolated_workspace, confounding=1.0)
    at = _open(study.id)
    assert not at.exception, at.exception
    labels = " ".join(e.label for e in at.expander)
    assert finding_title("batch_confounding") in labels and finding_title("metadata_predicts_label") in labels
    assert "batch_confounding" not in labels  # words, not codes
    assert any("cannot tell batch from biology" in w.value for w in at.warning)
    assert any("refused" in e.value for e in at.error)
    assert [m.value for m in at.metric][:2] == ["80", "30"]
    rec = ws.get_study(study.id).step("confounds")
    assert rec is not None and "batch_confounding" in rec.summary["codes"]
    assert rec.summary["metadata_only"]["metric"] == "balanced_accuracy"
    # colour the PCA by the plate: the page reruns without error
    at.selectbox(key="confounds.colour").select("plate").run()
    assert not at.exception


@pytest.mark.slow
def test_balanced_design_has_nothing_to_report_and_records_the_step_once(_isolated_workspace):
    ws, study = _study(_isolated_workspace)
    at = _open(study.id)
    assert not at.exception, at.exception
    assert any("Nothing to report" in s.value for s in at.success)
    assert any("correction allowed" in s.value for s in at.success)
    at.run()
    steps = [s for s in ws.get_study(study.id).steps if s.step == "confounds"]
    assert len(steps) == 1
