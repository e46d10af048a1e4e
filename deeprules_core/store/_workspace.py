"""The workspace: a folder of content-addressed files plus a SQL database.

``DEEPRULES_HOME`` (default ``./workspace``) holds the files and, by default, the
SQLite database ``deeprules.sqlite``; ``DEEPRULES_DB_URL`` points the database anywhere
SQLAlchemy reaches (e.g. PostgreSQL on a lab server). Uploaded bytes are stored under
their sha256, never under the name the user gave them.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, OperationalError

from ..errors import StoreError
from ..findings import to_jsonable
from ..study import Study, utcnow
from . import _schema as T

__all__ = ["Workspace", "AuditEntry", "default_home", "sha256_bytes", "sha256_file"]


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
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class AuditEntry:
    at: str
    study_id: str | None
    actor: str
    action: str
    detail: Mapping[str, Any]


class Workspace:
    """Files and database of one deeprules installation.

    Parameters
    ----------
    home : path, optional
        Folder for files (and the default SQLite database). Default ``DEEPRULES_HOME``
        or ``./workspace``.
    db_url : str, optional
        Any SQLAlchemy URL. Default ``DEEPRULES_DB_URL`` or SQLite inside ``home``.

    Examples
    --------
    >>> import tempfile
    >>> ws = Workspace(tempfile.mkdtemp())
    >>> s = ws.create_study("Tumour vs normal")
    >>> ws.get_study(s.id).name
    'Tumour vs normal'
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, db_url: str | None = None) -> None:
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
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(
                f"The database URL {url!r} cannot be used ({exc}). Give an SQLAlchemy URL such "
                "as 'sqlite:////path/to/file.sqlite' or 'postgresql+psycopg://user@host/db'."
            ) from exc
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._migrate()

    # ------------------------------------------------------------------ schema
    def _migrate(self) -> None:
        try:
            with self.engine.begin() as c:
                T.metadata.create_all(c)
                row = c.execute(select(T.meta.c.value).where(T.meta.c.key == "schema_version")).first()
                have = int(row[0]) if row else 0
                if have > T.SCHEMA_VERSION:
                    raise StoreError(
                        f"This workspace was written by a newer deeprules (schema {have}, this "
                        f"one knows {T.SCHEMA_VERSION}). Upgrade deeprules before opening it."
                    )
                if row is None:
                    c.execute(insert(T.meta).values(key="schema_version", value=str(T.SCHEMA_VERSION)))
                elif have < T.SCHEMA_VERSION:
                    c.execute(
                        update(T.meta)
                        .where(T.meta.c.key == "schema_version")
                        .values(value=str(T.SCHEMA_VERSION))
                    )
        except OperationalError as exc:
            raise StoreError(f"Cannot open the workspace database at {self.db_url}: {exc.orig}") from exc

    @property
    def schema_version(self) -> int:
        with self.engine.connect() as c:
            return int(c.execute(select(T.meta.c.value).where(T.meta.c.key == "schema_version")).scalar_one())

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One database transaction: everything inside lands, or nothing does."""
        with self.engine.begin() as c:
            yield c

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
        """Copy a file into the blob store; return its sha256."""
        import shutil

        sha = sha256 or sha256_file(src)
        path = self.blob_path(sha)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            os.close(fd)
            shutil.copyfile(src, tmp)
            os.replace(tmp, path)
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
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ studies
    def create_study(self, name: str, **kwargs: Any) -> Study:
        study = Study.new(name, **kwargs)
        self.save_study(study, action="create_study")
        return study

    def save_study(
        self,
        study: Study,
        *,
        action: str = "save_study",
        detail: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> Study:
        """Save a new version of ``study`` (the old versions are kept) and log it."""
        record = json.dumps(study.to_dict(), sort_keys=True)
        now = utcnow()
        with self.transaction() as c:
            row = c.execute(
                select(T.studies.c.version, T.studies.c.deleted).where(T.studies.c.id == study.id)
            ).first()
            if row is None:
                version = 1
                c.execute(
                    insert(T.studies).values(
                        id=study.id,
                        name=study.name,
                        created_at=study.created_at or now,
                        updated_at=now,
                        version=1,
                        deleted=False,
                        record=record,
                    )
                )
            else:
                if row.deleted:
                    raise StoreError(f"The study {study.name!r} was deleted; it cannot be changed.")
                version = row.version + 1
                c.execute(
                    update(T.studies)
                    .where(T.studies.c.id == study.id)
                    .values(name=study.name, updated_at=now, version=version, record=record)
                )
            c.execute(
                insert(T.study_versions).values(
                    study_id=study.id, version=version, saved_at=now, record=record
                )
            )
            self._log(c, study.id, action, detail or {}, actor)
        return study

    def get_study(self, study_id: str) -> Study:
        with self.engine.connect() as c:
            row = c.execute(
                select(T.studies.c.record, T.studies.c.deleted).where(T.studies.c.id == study_id)
            ).first()
        if row is None or row.deleted:
            raise StoreError(f"There is no study with id {study_id!r} in this workspace ({self.home}).")
        return Study.from_dict(json.loads(row.record))

    def list_studies(self) -> list[dict[str, Any]]:
        """Live studies, most recently changed first: id, name, created_at, updated_at."""
        with self.engine.connect() as c:
            rows = c.execute(
                select(T.studies.c.id, T.studies.c.name, T.studies.c.created_at, T.studies.c.updated_at)
                .where(T.studies.c.deleted.is_(False))
                .order_by(T.studies.c.updated_at.desc(), T.studies.c.name)
            ).all()
        return [dict(r._mapping) for r in rows]

    def study_history(self, study_id: str) -> list[tuple[int, str]]:
        with self.engine.connect() as c:
            rows = c.execute(
                select(T.study_versions.c.version, T.study_versions.c.saved_at)
                .where(T.study_versions.c.study_id == study_id)
                .order_by(T.study_versions.c.version)
            ).all()
        return [(r.version, r.saved_at) for r in rows]

    def rename_study(self, study_id: str, name: str) -> Study:
        study = self.get_study(study_id).renamed(name)
        return self.save_study(study, action="rename_study", detail={"name": study.name})

    def duplicate_study(self, study_id: str, name: str | None = None) -> Study:
        from dataclasses import replace

        src = self.get_study(study_id)
        copy = Study.new(name or f"{src.name} (copy)")
        copy = replace(src, id=copy.id, name=copy.name, created_at=copy.created_at)
        return self.save_study(copy, action="duplicate_study", detail={"from": study_id})

    def delete_study(self, study_id: str, *, confirm: str) -> None:
        """Delete a study. ``confirm`` must repeat the study's name exactly.

        The study disappears from lists; its versions and audit trail stay in the store.
        """
        study = self.get_study(study_id)
        if confirm != study.name:
            raise StoreError(f"To delete the study, type its name exactly ({study.name!r}); got {confirm!r}.")
        with self.transaction() as c:
            c.execute(
                update(T.studies).where(T.studies.c.id == study_id).values(deleted=True, updated_at=utcnow())
            )
            self._log(c, study_id, "delete_study", {"name": study.name}, None)

    # ------------------------------------------------------------------ audit log
    def _log(
        self, c: Connection, study_id: str | None, action: str, detail: Mapping[str, Any], actor: str | None
    ) -> None:
        c.execute(
            insert(T.audit_log).values(
                at=utcnow(),
                study_id=study_id,
                actor=actor or current_user(),
                action=action,
                detail=json.dumps(to_jsonable(dict(detail))),
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
            self._log(c, study_id, action, detail or {}, actor)

    def audit_log(self, study_id: str | None = None) -> list[AuditEntry]:
        q = select(T.audit_log).order_by(T.audit_log.c.id)
        if study_id is not None:
            q = q.where(T.audit_log.c.study_id == study_id)
        with self.engine.connect() as c:
            rows = c.execute(q).all()
        return [AuditEntry(r.at, r.study_id, r.actor, r.action, json.loads(r.detail)) for r in rows]

    # ------------------------------------------------------------------ artifacts
    def put_artifact(
        self, study_id: str, kind: str, name: str, data: bytes, meta: Mapping[str, Any] | None = None
    ) -> str:
        """Store bytes (a result JSON, a model's state dict...) for a study; return sha256."""
        sha = self.put_blob(data)
        with self.transaction() as c:
            c.execute(
                insert(T.artifacts).values(
                    study_id=study_id,
                    kind=kind,
                    name=name,
                    sha256=sha,
                    created_at=utcnow(),
                    meta=json.dumps(to_jsonable(dict(meta or {}))),
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
        q = select(T.artifacts).where(T.artifacts.c.study_id == study_id, T.artifacts.c.kind == kind)
        if name is not None:
            q = q.where(T.artifacts.c.name == name)
        with self.engine.connect() as c:
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
        q = select(T.artifacts).where(T.artifacts.c.study_id == study_id)
        if kind is not None:
            q = q.where(T.artifacts.c.kind == kind)
        with self.engine.connect() as c:
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
        with self.engine.connect() as c:
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
        with self.engine.connect() as c:
            return int(c.execute(select(func.count()).select_from(T.metadata.tables[table])).scalar_one())


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
