"""The workspace store: studies survive a restart, history is kept, the log only grows.

Every test here runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, text

from deeprules_core.errors import StoreError
from deeprules_core.store import SCHEMA_VERSION, Workspace
from deeprules_core.store import _schema as T
from deeprules_core.study import Design, Roles


@pytest.fixture
def workspace(any_workspace):
    return any_workspace


def test_studies_survive_a_restart(tmp_path, db_url):
    ws = Workspace(tmp_path / "ws", db_url=db_url)
    study = ws.create_study("Tumour vs normal", design=Design(question="Does X predict Y?"))
    ws.save_study(study.with_roles(Roles(id="sample", label="y", group="patient", batch=["plate"])))
    del ws
    reopened = Workspace(tmp_path / "ws", db_url=db_url)
    got = reopened.get_study(study.id)
    assert got.design.question == "Does X predict Y?"
    assert got.roles.group == "patient" and got.roles.batch == ("plate",)
    assert [s["name"] for s in reopened.list_studies()] == ["Tumour vs normal"]


def test_every_save_is_a_version_and_is_logged(workspace):
    study = workspace.create_study("A")
    workspace.rename_study(study.id, "B")
    workspace.save_study(workspace.get_study(study.id).with_roles(Roles(label="y")))
    assert [v for v, _ in workspace.study_history(study.id)] == [1, 2, 3]
    actions = [e.action for e in workspace.audit_log(study.id)]
    assert actions == ["create_study", "rename_study", "save_study"]
    assert workspace.get_study(study.id).name == "B"


def test_duplicate_copies_everything_but_identity(workspace):
    study = workspace.create_study("Original")
    workspace.save_study(study.with_roles(Roles(label="y", covariates=["age"])))
    copy = workspace.duplicate_study(study.id)
    assert copy.id != study.id and copy.name == "Original (copy)"
    assert copy.roles.covariates == ("age",)
    assert len(workspace.list_studies()) == 2


def test_delete_needs_the_exact_name(workspace):
    study = workspace.create_study("Keep me safe")
    with pytest.raises(StoreError, match="type its name exactly"):
        workspace.delete_study(study.id, confirm="keep me safe")
    workspace.delete_study(study.id, confirm="Keep me safe")
    assert workspace.list_studies() == []
    with pytest.raises(StoreError, match="no study"):
        workspace.get_study(study.id)
    # the history stays: nothing a user did is lost
    assert workspace.audit_log(study.id)[-1].action == "delete_study"


def test_blobs_are_content_addressed(workspace):
    sha = workspace.put_blob(b"a,b\n1,2\n")
    assert sha == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert workspace.put_blob(b"a,b\n1,2\n") == sha
    assert workspace.get_blob(sha) == b"a,b\n1,2\n"
    assert workspace.blob_path(sha).name == sha
    with pytest.raises(StoreError, match="No stored file"):
        workspace.get_blob("0" * 64)


def test_artifacts_latest_wins(workspace):
    workspace.put_json("s1", "results", "baselines", {"v": 1})
    workspace.put_json("s1", "results", "baselines", {"v": 2})
    assert workspace.get_json("s1", "results", "baselines") == {"v": 2}
    assert workspace.get_json("s1", "results", "other") is None
    assert len(workspace.list_artifacts("s1", "results")) == 2


def test_schema_is_versioned_and_newer_is_refused(tmp_path, db_url):
    ws = Workspace(tmp_path / "ws", db_url=db_url)
    assert ws.schema_version == SCHEMA_VERSION
    with ws.transaction() as c:
        c.execute(text("UPDATE alembic_version SET version_num = 'f00dbeef'"))
    with pytest.raises(StoreError, match="newer deeprules"):
        Workspace(tmp_path / "ws", db_url=db_url)


def test_long_names_fit_on_every_backend(workspace):
    name = "Tumour vs normal, " + "é" * 2000  # VARCHAR(300) refused this on PostgreSQL
    study = workspace.create_study(name)
    assert workspace.get_study(study.id).name == name
    assert workspace.list_studies()[0]["name"] == name


def test_database_url_from_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    monkeypatch.setenv("DEEPRULES_DB_URL", url)
    ws = Workspace(tmp_path / "files")
    ws.create_study("Remote")
    assert (tmp_path / "elsewhere.sqlite").exists()
    assert not (tmp_path / "files" / "deeprules.sqlite").exists()


def test_bad_database_url_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="cannot be used"):
        Workspace(tmp_path, db_url="notadb://x")


def test_test_set_log(workspace):
    workspace.log_test_use("s1", "abc", "final evaluation")
    workspace.log_test_use("s1", "abc", "second look", unlock_reason="reviewer asked")
    uses = workspace.test_uses("s1", "abc")
    assert [u["unlock_reason"] for u in uses] == [None, "reviewer asked"]
    with workspace.engine.connect() as c:
        detail = c.execute(select(T.audit_log.c.detail).order_by(T.audit_log.c.id.desc())).first()[0]
    assert json.loads(detail)["unlock_reason"] == "reviewer asked"
