"""The workspace: a folder of content-addressed files plus a SQL database.

``DEEPRULES_HOME`` (default ``./workspace``) holds the files and, by default, the
SQLite database ``deeprules.sqlite``; ``DEEPRULES_DB_URL`` points the database anywhere
SQLAlchemy reaches (e.g. PostgreSQL on a lab server). Uploaded bytes are stored under
their sha256, never under the name the user gave them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, or_, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError

from ..errors import ConflictError, DeepRulesError, StoreError
from ..findings import to_jsonable
from ..study import utcnow
from . import _schema as T
from ._access import AccessMixin
from ._ledger import LedgerMixin
from ._migrate import is_current, upgrade
from ._studies import StudiesMixin
from ._users import User, as_user, os_user

__all__ = ["Workspace", "AuditEntry", "default_home", "sha256_bytes", "sha256_file"]

_IMMEDIATE = "deeprules.begin_immediate"


def default_home() -> Path:
    return Path(os.environ.get("DEEPRULES_HOME") or "workspace").resolve()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def current_user() -> str:
    """The operating-system user (kept for callers of the first version)."""
    return os_user()


def safe_url(url: str) -> str:
    """The database URL with any password masked (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<an unreadable database URL>"


@dataclass(frozen=True)
class AuditEntry:
    at: str
    study_id: str | None
    actor: str
    action: str
    detail: Mapping[str, Any]


class Workspace(StudiesMixin, AccessMixin, LedgerMixin):
    """Files and database of one deeprules installation, as seen by one user.

    Parameters
    ----------
    home : path, optional
        Folder for files (and the default SQLite database). Default ``DEEPRULES_HOME``
        or ``./workspace``.
    db_url : str, optional
        Any SQLAlchemy URL. Default ``DEEPRULES_DB_URL`` or SQLite inside ``home``.
    user : User or str, optional
        Who is acting; every query is scoped by them. A plain name is a ``user``; the
        default is the operating-system user as an admin (local mode, command line).

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace(tempfile.mkdtemp())
    >>> s = ws.create_study("Tumour vs normal")
    >>> ws.get_study(s.id).name
    'Tumour vs normal'
    >>> ws.as_user("bob").list_studies()
    []
    """

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        user: User | str | None = None,
    ) -> None:
        self.user = as_user(user)
        self.home = Path(home).resolve() if home is not None else default_home()
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the workspace folder {self.home}: {exc.strerror}. "
                "Set DEEPRULES_HOME to a folder you can write to."
            ) from exc
        url = db_url or os.environ.get("DEEPRULES_DB_URL") or f"sqlite:///{self.home / 'deeprules.sqlite'}"
        self.db_url = url
        #: called first in every write transaction (a job attempt's fence); None: no fence
        self.write_fence: Callable[[Connection], None] | None = None
        try:
            if url.startswith("sqlite"):
                self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(self.engine, "connect", _sqlite_pragmas)
                event.listen(self.engine, "begin", _sqlite_begin)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(
                f"The database URL {safe_url(url)!r} cannot be used ({type(exc).__name__}). Give an "
                "SQLAlchemy URL such as 'sqlite:////path/to/file.sqlite' or "
                "'postgresql+psycopg://user@host/db'."
            ) from exc
        with self._db_errors():
            if not is_current(self.engine):
                upgrade(url)

    def as_user(self, user: User | str | None) -> Workspace:
        """The same workspace (same database connections) seen by another user."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.user = as_user(user)
        return other

    # ------------------------------------------------------------------ database
    @contextmanager
    def _db_errors(self) -> Iterator[None]:
        """No raw database exception reaches a user: each becomes a StoreError that says
        what to do (and never shows the database password)."""
        try:
            yield
        except DeepRulesError:
            raise
        except IntegrityError as exc:
            raise ConflictError(
                "Another change to the same record landed at the same moment, so this one was not "
                "saved. Reload and try again."
            ) from exc
        except DBAPIError as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200] if str(exc) else ""
            raise StoreError(
                f"The workspace database ({safe_url(self.db_url)}) could not be reached or did not "
                f"answer ({type(exc.orig).__name__ if exc.orig is not None else 'error'}: {reason}). "
                "Nothing was saved. Try again; if it keeps happening, ask whoever runs the server."
            ) from exc

    @property
    def schema_version(self) -> int:
        with self.connect() as c:
            return int(c.execute(select(T.meta.c.value).where(T.meta.c.key == "schema_version")).scalar_one())

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading (database errors become StoreError)."""
        with self._db_errors(), self.engine.connect() as c:
            yield c

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: everything inside lands, or nothing does. On SQLite it
        takes the write lock at once (BEGIN IMMEDIATE), so two writers queue, not fail.

        When :attr:`write_fence` is set (a background job's attempt, see
        :mod:`deeprules_core.jobs`), it runs first inside the transaction and raises if
        this process may no longer write; the whole transaction is then rolled back.
        """
        with self._db_errors(), self.engine.connect() as c:
            c.info[_IMMEDIATE] = True
            try:
                with c.begin():
                    if self.write_fence is not None:
                        self.write_fence(c)
                    yield c
            finally:
                c.info.pop(_IMMEDIATE, None)

    # ------------------------------------------------------------------ files
    def blob_path(self, sha256: str) -> Path:
        return self.home / "blobs" / sha256[:2] / sha256

    def put_blob(self, data: bytes) -> str:
        """Store bytes under their sha256 (idempotent, atomic); return the hash."""
        sha = sha256_bytes(data)
        path = self.blob_path(sha)
        if not path.exists():
            self._atomic_write(path, data)
        return sha

    def put_blob_file(self, src: str | os.PathLike[str], sha256: str | None = None) -> str:
        """Copy a file into the blob store (atomic: whole or not at all); return its sha256."""
        import shutil

        from .._files import atomic_replace

        sha = sha256 or sha256_file(src)
        path = self.blob_path(sha)
        if not path.exists():
            with atomic_replace(path) as tmp:
                shutil.copyfile(src, tmp)
        return sha

    def get_blob(self, sha256: str) -> bytes:
        path = self.blob_path(sha256)
        if not path.exists():
            raise StoreError(f"No stored file with sha256 {sha256[:12]}… in {self.home}.")
        return path.read_bytes()

    def cache_path(self, key: str, suffix: str = ".parquet") -> Path:
        return self.home / "cache" / f"{key}{suffix}"

    @staticmethod
    def _atomic_write(path: Path, data: bytes) -> None:
        """Whole or not at all; a full disk is a :class:`DiskFullError` and leaves no temporary file."""
        from .._files import atomic_write

        atomic_write(path, data)

    # ------------------------------------------------------------------ audit log
    def _log(
        self, c: Connection, study_id: str | None, action: str, detail: Mapping[str, Any], actor: str | None
    ) -> None:
        """The actor is always the signed-in user; a name given by the caller (who typed a
        provenance record, say) is kept in the detail as ``entered_by``."""
        detail = dict(detail)
        if actor and actor != self.user.name:
            detail.setdefault("entered_by", actor)
        c.execute(
            insert(T.audit_log).values(
                at=utcnow(),
                study_id=study_id,
                actor=self.user.name,
                action=action,
                detail=json.dumps(to_jsonable(detail)),
            )
        )

    def log_in(
        self,
        conn: Connection,
        study_id: str | None,
        action: str,
        detail: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        """Append to the audit log inside an open transaction (lands with it, or not at all)."""
        if study_id is not None:
            self.check_study(conn, study_id, "read", missing_ok=True)
        self._log(conn, study_id, action, detail or {}, actor)

    def log(
        self,
        study_id: str | None,
        action: str,
        detail: Mapping[str, Any] | None = None,
        *,
        actor: str | None = None,
    ) -> None:
        """Append one line to the audit log (the log is never edited)."""
        with self.transaction() as c:
            self.log_in(c, study_id, action, detail, actor=actor)

    def record_sign_in(self, mode: str) -> None:
        """Log that this user signed in (``mode``: local, oidc or header); from then on
        :meth:`known_users` lists them, so a colleague can share a study with them."""
        self.log(None, "sign_in", {"mode": mode})

    def audit_log(self, study_id: str | None = None) -> list[AuditEntry]:
        """The log of one study this user may open, or (no id) every line this user may
        see: their own actions and those on studies they may open (an admin: all)."""
        q = select(T.audit_log).order_by(T.audit_log.c.id)
        with self.connect() as c:
            if study_id is not None:
                if self.check_study(c, study_id, "read", missing_ok=True, deleted_ok=True) is None:
                    q = q.where(T.audit_log.c.actor == self.user.name)
                q = q.where(T.audit_log.c.study_id == study_id)
            elif not self.user.is_admin:
                q = q.where(
                    or_(
                        T.audit_log.c.actor == self.user.name,
                        T.audit_log.c.study_id.in_(self.visible_study_ids()),
                    )
                )
            rows = c.execute(q).all()
        return [AuditEntry(r.at, r.study_id, r.actor, r.action, json.loads(r.detail)) for r in rows]

    # ------------------------------------------------------------------ artifacts
    def _artifacts_query(self, c: Connection, study_id: str) -> Any:
        q = select(T.artifacts).where(T.artifacts.c.study_id == study_id)
        if self.check_study(c, study_id, "read", missing_ok=True) is None and not self.user.is_admin:
            q = q.where(T.artifacts.c.owner == self.user.name)  # a study not saved yet: own files only
        return q

    def put_artifact(
        self, study_id: str, kind: str, name: str, data: bytes, meta: Mapping[str, Any] | None = None
    ) -> str:
        """Store bytes (a result JSON, a model's state dict...) for a study; return sha256."""
        with self.connect() as c:
            self.check_study(c, study_id, "edit", missing_ok=True)
        sha = self.put_blob(data)
        with self.transaction() as c:
            self.check_study(c, study_id, "edit", missing_ok=True)
            c.execute(
                insert(T.artifacts).values(
                    study_id=study_id,
                    kind=kind,
                    name=name,
                    sha256=sha,
                    created_at=utcnow(),
                    meta=json.dumps(to_jsonable(dict(meta or {}))),
                    owner=self.user.name,
                )
            )
        return sha

    def put_json(
        self, study_id: str, kind: str, name: str, obj: Any, meta: Mapping[str, Any] | None = None
    ) -> str:
        data = json.dumps(to_jsonable(obj), sort_keys=True, allow_nan=False).encode("utf-8")
        return self.put_artifact(study_id, kind, name, data, meta)

    def latest_artifact(self, study_id: str, kind: str, name: str | None = None) -> dict[str, Any] | None:
        """The newest artifact of a kind (and name): sha256, name, created_at, meta."""
        with self.connect() as c:
            q = self._artifacts_query(c, study_id).where(T.artifacts.c.kind == kind)
            if name is not None:
                q = q.where(T.artifacts.c.name == name)
            row = c.execute(q.order_by(T.artifacts.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        return {
            "sha256": row.sha256,
            "name": row.name,
            "created_at": row.created_at,
            "meta": json.loads(row.meta),
        }

    def list_artifacts(self, study_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        with self.connect() as c:
            q = self._artifacts_query(c, study_id)
            if kind is not None:
                q = q.where(T.artifacts.c.kind == kind)
            rows = c.execute(q.order_by(T.artifacts.c.id)).all()
        return [
            {
                "sha256": r.sha256,
                "kind": r.kind,
                "name": r.name,
                "created_at": r.created_at,
                "meta": json.loads(r.meta),
            }
            for r in rows
        ]

    def get_json(self, study_id: str, kind: str, name: str | None = None) -> Any | None:
        art = self.latest_artifact(study_id, kind, name)
        return None if art is None else json.loads(self.get_blob(art["sha256"]))

    # ------------------------------------------------------------------ test-set log
    def log_test_use(
        self, study_id: str, split_sha256: str, purpose: str, unlock_reason: str | None = None
    ) -> None:
        with self.transaction() as c:
            self.check_study(c, study_id, "edit", missing_ok=True)
            c.execute(
                insert(T.test_set_log).values(
                    study_id=study_id,
                    split_sha256=split_sha256,
                    at=utcnow(),
                    purpose=purpose,
                    unlock_reason=unlock_reason,
                )
            )
            self._log(
                c,
                study_id,
                "test_set_use",
                {"split": split_sha256, "purpose": purpose, "unlock_reason": unlock_reason},
                None,
            )

    def test_uses(self, study_id: str, split_sha256: str | None = None) -> list[dict[str, Any]]:
        q = select(T.test_set_log).where(T.test_set_log.c.study_id == study_id)
        if split_sha256 is not None:
            q = q.where(T.test_set_log.c.split_sha256 == split_sha256)
        with self.connect() as c:
            self.check_study(c, study_id, "read", missing_ok=True)
            rows = c.execute(q.order_by(T.test_set_log.c.id)).all()
        return [
            {
                "at": r.at,
                "split_sha256": r.split_sha256,
                "purpose": r.purpose,
                "unlock_reason": r.unlock_reason,
            }
            for r in rows
        ]

    def count(self, table: str) -> int:
        """Rows in a table, everyone's (for maintenance and tests)."""
        with self.connect() as c:
            return int(c.execute(select(func.count()).select_from(T.metadata.tables[table])).scalar_one())


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's "begin" event below says BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=30000")  # first: the switch to WAL may have to wait
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get(_IMMEDIATE) else "BEGIN")
