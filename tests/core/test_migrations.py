"""Schema changes through Alembic: a workspace written by the version before Alembic
(tests/data/workspace_v1, made by its make_v1.py with main at a23f09b) upgrades to the
newest schema with its data, on SQLite and on PostgreSQL; a new database migrated from
nothing matches the declared tables exactly on both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine, insert, select, text

from deeprules_core import jobs
from deeprules_core.errors import NotFoundError
from deeprules_core.intake import dataset_info, load_dataset
from deeprules_core.intake._provenance import provenance_history
from deeprules_core.store import User, Workspace
from deeprules_core.store import _migrate as M
from deeprules_core.store import _schema as T
from deeprules_core.study import StepRecord

V1 = Path(__file__).resolve().parents[1] / "data" / "workspace_v1"
IDS = json.loads((V1 / "ids.json").read_text())
OLD_OWNER = "root"  # the operating-system user that wrote the fixture (its audit log says so)


def _copy_v1(dest: Path) -> Path:
    shutil.copytree(V1, dest, ignore=shutil.ignore_patterns("*.py", "*.json"))
    return dest


def _v1_on_postgres(sqlite_file: Path, url: str) -> None:
    """The same schema-1 database on PostgreSQL: revision 0001, then every row copied."""
    engine = create_engine(url)
    with engine.begin() as conn:
        from alembic import command

        command.upgrade(M.alembic_config(conn), "0001")
        conn.execute(text("DELETE FROM meta"))
    src = create_engine(f"sqlite:///{sqlite_file}")
    old = MetaData()
    old.reflect(src)
    dst = MetaData()
    dst.reflect(engine)
    with src.connect() as s, engine.begin() as d:
        for name in (
            "meta",
            "studies",
            "study_versions",
            "datasets",
            "provenance",
            "audit_log",
            "artifacts",
            "jobs",
            "test_set_log",
        ):
            rows = [dict(r._mapping) for r in s.execute(select(old.tables[name]))]
            if rows:
                d.execute(insert(dst.tables[name]), rows)
        for name in ("audit_log", "artifacts", "test_set_log"):
            d.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )
    src.dispose()
    engine.dispose()


def _schema_diff(url: str) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, T.metadata)
    engine.dispose()
    return diff


def test_head_constant_is_the_newest_revision():
    assert M.HEAD == M.head_revision()
    assert T.SCHEMA_VERSION == int(M.HEAD)


def test_a_new_database_matches_the_declared_schema(empty_db_url, tmp_path):
    db_url = empty_db_url
    ws = Workspace(tmp_path, db_url=db_url)
    assert ws.schema_version == T.SCHEMA_VERSION
    assert _schema_diff(db_url) == []


def test_a_workspace_from_before_alembic_upgrades_with_its_data(empty_db_url, tmp_path):
    db_url = empty_db_url
    home = _copy_v1(tmp_path / "old")
    if db_url.startswith("postgresql"):
        _v1_on_postgres(home / "deeprules.sqlite", db_url)
    else:
        db_url = f"sqlite:///{home / 'deeprules.sqlite'}"
    ws = Workspace(home, db_url=db_url)
    assert ws.schema_version == T.SCHEMA_VERSION and _schema_diff(db_url) == []

    # studies: the live ones, with everything they held, owned by who created them
    assert sorted(s["id"] for s in ws.list_studies()) == sorted([IDS["study"], IDS["other"]])
    study = ws.get_study(IDS["study"])
    assert study.name == "Tumour vs normal " + "x" * 250
    assert study.design.question == "Does gene_000 predict the label?"
    assert study.roles.label == "label" and study.roles.batch == ("plate",)
    assert [s.params["i"] for s in study.steps] == [0, 1, 2]
    assert study.steps[2].summary["note"] == "y" * 500
    assert ws.study_owner(study.id) == OLD_OWNER
    with pytest.raises(NotFoundError):
        ws.get_study(IDS["deleted"])
    # its history: every old version still reads back whole
    history = [v for v, _ in ws.study_history(study.id)]
    assert history == list(range(1, 7))
    assert ws.study_version(study.id, 2).roles.label is None
    assert len(ws.study_version(study.id, 5).steps) == 2

    # data, provenance, artifacts, test-set log, jobs, audit log
    info = dataset_info(ws, IDS["dataset"])
    assert info.name == "tiny.csv" and info.size_bytes > 0
    assert load_dataset(ws, IDS["dataset"]).shape == (40, 12)  # rebuilt from the stored bytes
    assert [p.provenance.licence for p in provenance_history(ws, IDS["dataset"])] == ["CC0", "CC-BY 4.0"]
    assert ws.get_json(study.id, "results", "baselines") == {"auc": 0.5}
    assert [u["purpose"] for u in ws.test_uses(study.id)] == ["final evaluation"]
    job = jobs.get_job(ws, IDS["job"])
    assert job.status == "done" and job.result == {"x": 1}
    assert [e.action for e in ws.audit_log(study.id)][:2] == ["create_study", "ingest_dataset"]

    # and it goes on: a new save is a delta on top of the old whole records
    saved = ws.save_study(study.with_step(StepRecord(step="split")), action="after_upgrade")
    assert saved.version == 7 and [s.step for s in ws.get_study(study.id).steps][-1] == "split"
    assert len(ws.study_version(study.id, 7).steps) == 4 and len(ws.study_version(study.id, 6).steps) == 3

    # owners come from the log: someone else sees none of it
    other = ws.as_user(User("alice"))
    assert other.list_studies() == []
    with pytest.raises(NotFoundError):
        dataset_info(other, IDS["dataset"])
