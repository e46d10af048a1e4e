"""The app shell: navigation in sections, the Study page by default, the sidebar status."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from deeprules_core.store import Workspace
from deeprules_core.study import StepRecord

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_app_opens_on_the_study_page_without_errors(_isolated_workspace):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Study"
    assert any("No study open" in c.value for c in at.sidebar.caption)


def test_sidebar_shows_the_open_study_and_its_steps(_isolated_workspace):
    ws = Workspace(_isolated_workspace)
    study = ws.create_study("Shell study")
    ws.save_study(study.with_step(StepRecord(step="checks")))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["study"] = study.id
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.sidebar.markdown)
    assert "Shell study" in text
    assert ":material/check_circle: Checks" in text
    assert ":material/radio_button_unchecked: Split" in text


def test_sidebar_marks_a_step_run_on_earlier_roles_out_of_date_not_done(_isolated_workspace):
    from deeprules_core.current import study_inputs
    from deeprules_core.study import Roles

    ws = Workspace(_isolated_workspace)
    study = ws.create_study("Shell study").with_roles(Roles(label="a"))
    study = ws.save_study(study.with_step(StepRecord(step="checks", input_hashes=study_inputs(study))))
    ws.save_study(study.with_roles(Roles(label="b")))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["study"] = study.id
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.sidebar.markdown)
    assert ":material/update: Checks (out of date)" in text and "check_circle: Checks" not in text
