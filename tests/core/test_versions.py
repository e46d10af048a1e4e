"""Saves that cannot be lost: a save states the version it was based on; a stale one is
merged when independent and refused (typed ConflictError, nothing written) when not; each
version stores only what changed. On SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from deeprules_core.errors import ConflictError, StoreError
from deeprules_core.store import Workspace
from deeprules_core.store import _schema as T
from deeprules_core.study import Acknowledgement, Design, Roles, StepRecord, Study


@pytest.fixture
def workspace(any_workspace):
    return any_workspace


def _step(name: str, **summary) -> StepRecord:
    return StepRecord(step=name, summary=summary)


def test_steps_added_on_both_sides_are_merged(workspace):
    study = workspace.create_study("Two tabs")
    a, b = workspace.get_study(study.id), workspace.get_study(study.id)
    a = workspace.save_study(a.with_step(_step("checks")), action="run_checks")
    b = workspace.save_study(b.with_step(_step("confounds")), action="run_confounds")
    assert (a.version, b.version) == (2, 3)
    assert [s.step for s in workspace.get_study(study.id).steps] == ["checks", "confounds"]
    assert workspace.audit_log(study.id)[-1].detail == {"merged_onto_version": 2}


def test_different_fields_are_merged_and_the_same_field_is_a_conflict(workspace):
    study = workspace.create_study("Fields")
    a, b, c = (workspace.get_study(study.id) for _ in range(3))
    workspace.save_study(a.renamed("Renamed"))
    workspace.save_study(b.with_roles(Roles(label="y")))  # another field: merged
    got = workspace.get_study(study.id)
    assert got.name == "Renamed" and got.roles.label == "y"
    with pytest.raises(ConflictError, match="reload the study") as info:
        workspace.save_study(c.renamed("Mine instead"))  # same field, changed since: refused
    assert (info.value.base_version, info.value.current_version) == (1, 3)
    assert workspace.get_study(study.id).name == "Renamed"
    assert len(workspace.study_history(study.id)) == 3  # nothing written
    # a stale copy that did not touch the changed field keeps the newer value
    workspace.save_study(c.with_design(Design(question="q")))
    got = workspace.get_study(study.id)
    assert (got.name, got.roles.label, got.design.question) == ("Renamed", "y", "q")


def test_rewriting_steps_someone_else_extended_is_a_conflict(workspace):
    study = workspace.save_study(workspace.create_study("Steps").with_step(_step("checks")))
    stale = workspace.get_study(study.id)
    workspace.save_study(workspace.get_study(study.id).with_step(_step("split")))
    from dataclasses import replace

    with pytest.raises(ConflictError, match="steps"):
        workspace.save_study(replace(stale, steps=()))
    assert [s.step for s in workspace.get_study(study.id).steps] == ["checks", "split"]


def test_an_unsaved_copy_over_a_saved_study_is_a_conflict(workspace):
    study = workspace.create_study("Original")
    with pytest.raises(ConflictError):
        workspace.save_study(Study(id=study.id, name="Impostor", created_at=""))
    assert workspace.get_study(study.id).name == "Original"


def test_every_version_reads_back_and_each_step_is_stored_once(workspace):
    study = workspace.create_study("Deltas")
    saved = [study]
    for i in range(12):
        s = saved[-1].with_step(_step("checks", payload=f"PAYLOAD-{i}-" + "z" * 2000))
        if i % 4 == 0:
            s = s.with_acknowledgement(Acknowledgement(finding_key=f"k{i}", justification="ok"))
        saved.append(workspace.save_study(s))
    for s in saved:
        assert workspace.study_version(study.id, s.version) == s
    with workspace.connect() as c:
        text = "".join(
            (r.delta or "") + (r.record or "")
            for r in c.execute(select(T.study_versions).where(T.study_versions.c.study_id == study.id))
        )
        text += "".join(r.record for r in c.execute(select(T.study_steps.c.record)))
        text += c.execute(select(T.studies.c.record)).scalar_one()
    for i in range(12):  # stored once, not once per later version (the old store kept 12+11+...+1)
        assert text.count(f"PAYLOAD-{i}-") == 1


def test_an_unreachable_database_is_a_store_error_without_the_password(tmp_path):
    url = "postgresql+psycopg://lab:s3cret-pw@127.0.0.1:1/deeprules"
    with pytest.raises(StoreError) as info:
        Workspace(tmp_path, db_url=url)
    assert "s3cret-pw" not in str(info.value) and "could not be reached" in str(info.value)


def test_acknowledgements_added_on_both_sides_are_merged(workspace):
    study = workspace.create_study("Two reviewers")
    a, b = workspace.get_study(study.id), workspace.get_study(study.id)
    workspace.save_study(a.with_acknowledgement(Acknowledgement(finding_key="x:a", justification="known")))
    workspace.save_study(b.with_acknowledgement(Acknowledgement(finding_key="y:b", justification="fine")))
    assert [k.finding_key for k in workspace.get_study(study.id).acknowledgements] == ["x:a", "y:b"]
