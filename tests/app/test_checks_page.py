"""The Checks page: findings, the schema editor with save, failure table, charts, step record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from deeprules_core.intake import Provenance, ingest
from deeprules_core.names import finding_title
from deeprules_core.store import Workspace
from deeprules_core.study import Roles

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "checks.py")


def _csv(n: int = 80, p: int = 12) -> bytes:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"g{i}" for i in range(p)])
    df.insert(0, "sample_id", [f"S{i}" for i in range(n)])
    df.insert(1, "label", np.resize(["case", "control"], n))
    df.insert(2, "sex", np.resize(["Male", "male", "Female"], n))
    df.loc[5, "sample_id"] = "S4"  # planted duplicate id
    df.loc[3, "g2"] = np.nan
    return df.to_csv(index=False).encode()


def _study(home: Path):
    ws = Workspace(home)
    study = ws.create_study("Checks demo")
    prov = Provenance(
        source="lab:SIM-2024-01", version="1", download_date="2024-03-15", licence="CC0", entered_by="test"
    )
    study, _ = ingest(ws, _csv(), name="demo.csv", provenance=prov, study=study)
    study = study.with_roles(Roles(id="sample_id", label="label"))
    return ws, ws.save_study(study, action="test_setup")


def _open(study_id: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study_id
    return at.run()


def test_without_a_study_the_page_says_what_to_do(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)


def test_findings_charts_and_step_record(_isolated_workspace):
    ws, study = _study(_isolated_workspace)
    at = _open(study.id)
    assert not at.exception, at.exception
    text = " ".join(e.label for e in at.expander)
    assert finding_title("duplicate_ids") in text and finding_title("inconsistent_categories") in text
    assert "duplicate_ids" not in text  # words, not codes
    assert [m.value for m in at.metric][:2] == ["80", "12"]
    rec = ws.get_study(study.id).step("checks")
    assert rec is not None and rec.summary["error"] >= 1 and "duplicate_ids" in rec.summary["codes"]
    n_versions = len(ws.study_history(study.id))
    at.run()  # a rerun with nothing changed records nothing new
    assert len(ws.study_history(study.id)) == n_versions
    assert len(at.get("vega_lite_chart")) == 3  # class balance, missingness by label, outliers


def test_schema_is_edited_saved_and_validated(_isolated_workspace):
    ws, study = _study(_isolated_workspace)
    at = _open(study.id)
    assert any(d.key == "checks.schema.editor" for d in at.dataframe), "the schema editor is shown"
    # the table conforms to its inferred schema except the duplicated id
    assert any("failure case" in m.value for m in at.markdown)
    at.button(key="checks.schema.save").click().run()
    assert not at.exception, at.exception
    spec = ws.get_json(study.id, "schema", "schema")
    assert spec["columns"]["sample_id"]["unique"] is True
    assert ws.get_study(study.id).step("schema") is not None
