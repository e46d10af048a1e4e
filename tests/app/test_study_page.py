"""The Study page: create, design questionnaire, rename, duplicate, delete."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from deeprules_core.store import Workspace

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "study.py")


def _new(at: AppTest, name: str) -> AppTest:
    at.text_input[0].input(name)
    at.button[0].click().run()  # the form's submit button is the first button
    return at


def test_create_a_study_and_answer_the_questionnaire(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert any("No study yet" in i.value for i in at.info)
    _new(at, "Tumour vs normal")
    assert not at.exception
    assert at.header[0].value == "Tumour vs normal"
    design_area = [t for t in at.text_area if t.label == "The biological question"][-1]
    design_area.input("Does the signature predict relapse?")
    at.checkbox[0].check()  # several time points
    save = [b for b in at.button if b.label == "Save design"][0]
    save.click().run()
    assert not at.exception
    study = Workspace(_isolated_workspace).list_studies()[0]
    got = Workspace(_isolated_workspace).get_study(study["id"])
    assert got.design.question == "Does the signature predict relapse?"
    assert got.design.time_points and got.design.repeated_units
    assert any("group" in i.value for i in at.info)


def test_empty_name_is_refused_without_a_traceback(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    _new(at, "   ")
    assert not at.exception
    assert "needs a name" in at.error[0].value
    assert Workspace(_isolated_workspace).list_studies() == []


def test_rename_duplicate_and_delete_with_confirmation(_isolated_workspace):
    ws = Workspace(_isolated_workspace)
    study = ws.create_study("First")
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["study"] = study.id
    at.run()
    assert at.header[0].value == "First"
    at.text_input(key=f"study.rename.{study.id}.name").input("Renamed")
    at.button(key="study.rename.go").click().run()
    assert ws.get_study(study.id).name == "Renamed"
    at.button(key="study.duplicate").click().run()
    assert sorted(s["name"] for s in ws.list_studies()) == ["Renamed", "Renamed (copy)"]
    copy_id = next(s["id"] for s in ws.list_studies() if s["name"] == "Renamed (copy)")
    # the copy is open: its own name is in the rename field, not the one typed for the first
    assert at.text_input(key=f"study.rename.{copy_id}.name").value == "Renamed (copy)"
    at.text_input(key=f"study.delete.{copy_id}.confirm").input("wrong name")
    at.button(key="study.delete.go").click().run()
    assert not at.exception
    assert any("type its name exactly" in e.value for e in at.error)
    at.text_input(key=f"study.delete.{copy_id}.confirm").input("Renamed (copy)")
    at.button(key="study.delete.go").click().run()
    assert [s["id"] for s in ws.list_studies()] == [study.id]
    assert copy_id not in [s["id"] for s in ws.list_studies()]
