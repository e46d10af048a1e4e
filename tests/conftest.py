"""Shared fixtures: every test gets its own workspace, never the user's."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/_pg.py


@pytest.fixture(autouse=True)
def _isolated_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "workspace"
    monkeypatch.setenv("DEEPRULES_HOME", str(home))
    monkeypatch.delenv("DEEPRULES_DB_URL", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return home


@pytest.fixture
def workspace(_isolated_workspace: Path):
    from deeprules_core.store import Workspace

    return Workspace(_isolated_workspace)


# ---------------------------------------------------------------- both database backends
@pytest.fixture(scope="session")
def pg_server():
    """URL of a PostgreSQL server for the tests: ``DEEPRULES_TEST_PG_URL``, or a private one
    started from Debian's binaries; None when neither exists (the PostgreSQL cases skip,
    or fail when ``DEEPRULES_REQUIRE_PG=1``, as in ``.ci/run``)."""
    import _pg

    url = os.environ.get("DEEPRULES_TEST_PG_URL")
    if url:
        yield url
        return
    if _pg.pg_bin() is None:
        yield None
        return
    url, root = _pg.start()
    try:
        yield url
    finally:
        _pg.stop(root)


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """A database migrated to the newest schema once; each test gets a copy (fast)."""
    if pg_server is None:
        return None
    import _pg
    from sqlalchemy.engine import make_url

    from deeprules_core.store._migrate import upgrade

    url = _pg.create_database(pg_server)
    upgrade(url)
    return make_url(url).database


def _database(request, pg_server, folder: Path, template: str | None):
    if request.param == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        yield f"sqlite:///{folder / 'deeprules.sqlite'}"
        return
    if pg_server is None:
        if os.environ.get("DEEPRULES_REQUIRE_PG") == "1":
            pytest.fail("DEEPRULES_REQUIRE_PG=1 but no PostgreSQL server could be found or started")
        pytest.skip("no PostgreSQL (set DEEPRULES_TEST_PG_URL or install Debian's postgresql)")
    import _pg

    url = _pg.create_database(pg_server, template)
    try:
        yield url
    finally:
        _pg.drop_database(pg_server, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, pg_server, pg_template, _isolated_workspace):
    """A database of each backend for a new workspace (SQLite in the test's workspace folder;
    on PostgreSQL a copy of one already at the newest schema)."""
    yield from _database(request, pg_server, _isolated_workspace, pg_template)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, pg_server, _isolated_workspace):
    """A really empty database of each backend (migration and first-open tests)."""
    yield from _database(request, pg_server, _isolated_workspace, None)


@pytest.fixture
def any_workspace(db_url, _isolated_workspace, monkeypatch):
    """A workspace on each backend (jobs it starts find the same database)."""
    from deeprules_core.store import Workspace

    monkeypatch.setenv("DEEPRULES_DB_URL", db_url)
    return Workspace(_isolated_workspace, db_url=db_url)
