"""The Split page: suggested strategy, preview with audit and charts, save and lock,
test-set history and the unlock form, errors shown without a traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from streamlit.testing.v1 import AppTest

from deeprules_core.intake import Provenance, ingest
from deeprules_core.names import finding_title
from deeprules_core.split import load_split, test_set_history, use_test_set
from deeprules_core.store import Workspace
from deeprules_core.study import Design, Roles

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "split.py")


def _csv(n_patients: int = 60) -> bytes:
    rng = np.random.default_rng(0)
    n = 2 * n_patients
    df = pd.DataFrame(rng.normal(size=(n, 12)), columns=[f"g{i}" for i in range(12)])
    df.insert(0, "sample_id", [f"S{i}" for i in range(n)])
    df.insert(1, "patient", np.repeat([f"P{i}" for i in range(n_patients)], 2))
    df.insert(2, "label", np.repeat(rng.permutation(["case", "control"] * (n_patients // 2)), 2))
    df.insert(3, "plate", np.repeat(rng.choice(["A", "B", "C"], n_patients), 2))
    return df.to_csv(index=False).encode()


def _study(home: Path, roles: Roles, design: Design | None = None):
    ws = Workspace(home)
    study = ws.create_study("Split demo", design=design)
    prov = Provenance(
        source="lab:SIM-2024-02", version="1", download_date="2024-03-15", licence="CC0", entered_by="test"
    )
    study, _ = ingest(ws, _csv(), name="demo.csv", provenance=prov, study=study)
    return ws, ws.save_study(study.with_roles(roles), action="test_setup")


def _open(study_id: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study_id
    return at.run()


ROLES = Roles(id="sample_id", label="label", group="patient", batch=("plate",))


def test_without_a_study_the_page_says_what_to_do(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)


def test_suggested_split_is_previewed_audited_saved_and_locked(_isolated_workspace):
    ws, study = _study(_isolated_workspace, ROLES)
    at = _open(study.id)
    assert not at.exception, at.exception
    assert "by group" in at.info[0].value and "patient" in at.info[0].value
    assert at.selectbox(key="split.strategy").value == "group"
    assert any("Nothing to report" in s.value for s in at.success)  # a clean audit
    assert len(at.get("vega_lite_chart")) == 2  # classes and plate per side
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["test: independent units"] == "12" and metrics["test: rows"] == "24"
    at.button(key="split.save").click().run()
    assert not at.exception, at.exception
    saved = ws.get_study(study.id)
    split = load_split(ws, saved)
    assert split is not None and saved.step("split").summary["sha256"] == split.sha256
    assert any(split.sha256 in m.value for m in at.markdown)
    assert any("not been used yet" in s.value for s in at.success)
    assert not any(b.key == "split.save" for b in at.button)  # the preview is the saved split


def test_history_and_unlock_form(_isolated_workspace):
    ws, study = _study(_isolated_workspace, ROLES)
    at = _open(study.id)
    at.button(key="split.save").click().run()
    saved = ws.get_study(study.id)
    use_test_set(ws, saved, load_split(ws, saved), purpose="final evaluation")
    at.run()
    assert not at.exception, at.exception
    assert any(d.value.shape[0] == 1 for d in at.dataframe if "purpose" in d.value.columns)
    at.text_area(key="split.unlock.reason").input("short")
    at.button[-1].click().run()  # the unlock form's submit button
    assert not at.exception
    assert any("too short" in e.value for e in at.error)
    reason = "The first evaluation used the wrong positive class."
    at.text_area(key="split.unlock.reason").input(reason)
    at.button[-1].click().run()
    assert not at.exception, at.exception
    assert any(reason in i.value for i in at.info)
    use_test_set(ws, saved, load_split(ws, saved), purpose="second evaluation")
    assert test_set_history(ws, saved)[-1]["unlock_reason"] == reason


def test_bad_choice_shows_the_engine_message(_isolated_workspace):
    ws, study = _study(_isolated_workspace, Roles(id="sample_id", label="label", group="patient"))
    at = _open(study.id)
    at.selectbox(key="split.strategy").set_value("leave_batch_out")
    at.button[0].click().run()  # "Make split"
    assert not at.exception, at.exception
    assert "needs a batch column" in at.error[0].value


def test_repeated_units_without_group_warn(_isolated_workspace):
    roles = Roles(id="sample_id", label="label", batch=("plate",))
    ws, study = _study(_isolated_workspace, roles, Design(replicate_kind="repeated_individual"))
    at = _open(study.id)
    assert not at.exception, at.exception
    assert "group column" in at.info[0].value
    assert any(finding_title("group_leakage") in e.label for e in at.expander)
