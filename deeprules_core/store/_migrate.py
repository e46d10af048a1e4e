"""Bring a workspace database to the current schema, safely when many processes open it.

Schema changes are Alembic revisions (``migrations/versions``). The first process to
open a database that is behind takes a lock (a PostgreSQL advisory lock, or a lock file
next to an SQLite database), upgrades it inside one transaction, and lets the others
through; they find it current and do nothing. A workspace written before Alembic
(tables but no ``alembic_version``) is stamped as revision 0001 first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from ..errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["HEAD", "is_current", "upgrade", "head_revision", "current_revision", "alembic_config"]

#: the newest revision in ``migrations/versions`` (a test checks it): opening a current
#: database compares against it without importing Alembic
HEAD = "0004"

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: any fixed 64-bit number: the advisory lock every deeprules process takes to migrate
PG_LOCK_KEY = 0x6465657072756C65  # "deeprule"
LEGACY_REVISION = "0001"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def _migration_engine(url: str) -> Engine:
    """A separate engine without the store's pragmas: SQLite's foreign keys off (batch
    operations copy tables) and every transaction BEGIN IMMEDIATE (DDL included)."""
    if not url.startswith("sqlite"):
        return create_engine(url, poolclass=NullPool)
    eng = create_engine(url, poolclass=NullPool, connect_args={"timeout": 60})

    @event.listens_for(eng, "connect")
    def _connect(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA busy_timeout=60000")

    @event.listens_for(eng, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return eng


@contextmanager
def _lock(engine: Engine, conn: Connection) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": PG_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PG_LOCK_KEY})
            conn.commit()
    elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        from filelock import FileLock

        with FileLock(os.fspath(engine.url.database) + ".migrate.lock", timeout=120):
            yield
    else:
        yield


def is_current(engine: Engine) -> bool:
    """True when the database is at :data:`HEAD` (a plain read: no lock, no Alembic)."""
    with engine.connect() as conn:
        return _is_current(conn)


def _is_current(conn: Connection) -> bool:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    except DBAPIError:  # no such table yet
        return False
    finally:
        conn.rollback()


def upgrade(url: str) -> None:
    """Upgrade the database at ``url`` to the newest revision (no-op when it is current).

    Raises
    ------
    StoreError
        The database was written by a newer deeprules (a revision this one does not know).
    """
    engine = _migration_engine(url)
    try:
        with engine.connect() as conn:
            if _is_current(conn):
                return
            with _lock(engine, conn):
                if _is_current(conn):  # another process upgraded it while this one waited
                    return
                from alembic import command
                from alembic.script import ScriptDirectory

                script = ScriptDirectory.from_config(alembic_config())
                head = head_revision()
                with conn.begin():
                    have = current_revision(conn)
                    if have == head:
                        return
                    if have is not None and have not in {s.revision for s in script.walk_revisions()}:
                        raise StoreError(
                            f"This workspace was written by a newer deeprules (schema revision {have}; "
                            f"this one knows up to {head}). Upgrade deeprules before opening it."
                        )
                    if have is None and inspect(conn).has_table("studies"):
                        _refuse_newer_legacy(conn)
                        command.stamp(alembic_config(conn), LEGACY_REVISION)
                    command.upgrade(alembic_config(conn), "head")
    finally:
        engine.dispose()


def _refuse_newer_legacy(conn: Connection) -> None:
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    if row is not None and int(row[0]) > 1:
        raise StoreError(
            f"This workspace was written by a newer deeprules (schema {row[0]}) without migration "
            "records. Upgrade deeprules before opening it."
        )
