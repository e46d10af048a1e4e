"""Through the app: a signed-in user sees only their own and shared studies, even when the
URL names someone else's; a save that collides with someone else's says so and loses nothing."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from deeprules_core.store import User, Workspace

PAGES = Path(__file__).resolve().parents[2] / "pages"


def _page(name: str, user: User, study_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=30)
    at.session_state["deeprules.user"] = user
    if study_id:
        at.query_params["study"] = study_id
    return at.run()


def test_another_users_study_does_not_open_even_by_its_url(_isolated_workspace):
    bob = Workspace(_isolated_workspace, user="bob")
    secret = bob.create_study("Bob's secret study")
    at = _page("study", User("alice"), secret.id)
    assert not at.exception
    assert not at.header  # no study open
    assert any("No study yet" in i.value for i in at.info)
    assert "Bob's secret study" not in str([s.options for s in at.selectbox])
    checks = _page("checks", User("alice"), secret.id)
    assert not checks.exception
    assert any("No study is open" in i.value for i in checks.info)
    # shared as viewer: it opens
    bob.share_study(secret.id, "alice", "viewer")
    at = _page("study", User("alice"), secret.id)
    assert at.header[0].value == "Bob's secret study"


def test_a_colliding_save_is_refused_with_a_reload_and_nothing_is_lost(_isolated_workspace):
    ws = Workspace(_isolated_workspace, user="bob")
    study = ws.create_study("Shared study")
    ws.share_study(study.id, "alice", "editor")
    at = _page("study", User("alice"), study.id)  # alice sees version 1
    ws.rename_study(study.id, "Bob's name")  # bob renames it meanwhile
    at.text_input(key="study.rename.name").input("Alice's name")
    at.button(key="study.rename.go").click().run()
    assert not at.exception
    assert any("Someone else changed this study" in w.value for w in at.warning)
    assert ws.get_study(study.id).name == "Bob's name"  # bob's save stands
    # the reload shows bob's name; alice's next rename lands on top of it
    at.button(key="deeprules.reload_after_conflict").click().run()
    assert at.header[0].value == "Bob's name"
    at.text_input(key="study.rename.name").input("Alice's name")
    at.button(key="study.rename.go").click().run()
    assert not at.exception and not at.warning
    assert ws.get_study(study.id).name == "Alice's name"


def test_an_independent_change_is_merged(_isolated_workspace):
    ws = Workspace(_isolated_workspace, user="bob")
    study = ws.create_study("Merge me")
    ws.share_study(study.id, "alice", "editor")
    at = _page("study", User("alice"), study.id)
    ws.rename_study(study.id, "Renamed by Bob")  # bob renames while alice answers the design
    area = [t for t in at.text_area if t.label == "The biological question"][-1]
    area.input("alice's question")
    [b for b in at.button if b.label == "Save design"][0].click().run()
    assert not at.exception and not at.warning
    got = ws.get_study(study.id)
    assert got.name == "Renamed by Bob" and got.design.question == "alice's question"
