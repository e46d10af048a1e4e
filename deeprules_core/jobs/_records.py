"""Job records, the fence of an attempt, and what a job target receives."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from ..errors import JobError
from ..store import Workspace
from ..store import _schema as T

__all__ = [
    "STATUSES",
    "ACTIVE",
    "Job",
    "JobContext",
    "JobCancelled",
    "JobFenced",
    "ProgressCallback",
    "get_job",
    "read_job",
    "now",
    "owner_of",
    "fence_update",
]

STATUSES = ("queued", "running", "done", "failed", "cancelled")
ACTIVE = ("queued", "running")

ProgressCallback = Callable[[float, str], None]


def now() -> str:
    """UTC time in ISO-8601 with microseconds (the queue orders by it)."""
    return datetime.now(UTC).isoformat()


def owner_of(ws: Workspace) -> str:
    """The name of the workspace's (signed-in) user."""
    return str(ws.user.name)


class JobCancelled(Exception):
    """Raised inside a job by ``ctx.progress`` once cancellation was requested."""


class JobFenced(Exception):
    """Raised inside a job whose attempt is no longer the current one (it was declared
    dead, cancelled or replaced): it may write nothing more."""


@dataclass(frozen=True)
class Job:
    id: str
    study_id: str | None
    kind: str
    params: Mapping[str, Any]
    status: str
    progress: float
    message: str
    result: Any
    error: str | None
    pid: int | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    heartbeat_at: str | None
    cancel_requested: bool
    attempt: str | None = None
    owner: str | None = None
    owner_role: str | None = None
    queued_at: str | None = None
    executor: str = "local"
    external_id: str | None = None
    host: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")

    @property
    def claimed(self) -> bool:
        """Given to a process (or the cluster): it holds a slot."""
        return self.status in ACTIVE and self.attempt is not None


def row_to_job(r: Any) -> Job:
    return Job(
        id=r.id,
        study_id=r.study_id,
        kind=r.kind,
        params=json.loads(r.params),
        status=r.status,
        progress=float(r.progress or 0.0),
        message=r.message or "",
        result=json.loads(r.result) if r.result else None,
        error=r.error,
        pid=r.pid,
        created_at=r.created_at,
        started_at=r.started_at,
        finished_at=r.finished_at,
        heartbeat_at=r.heartbeat_at,
        cancel_requested=bool(r.cancel_requested),
        attempt=r.attempt,
        owner=r.owner,
        owner_role=r.owner_role,
        queued_at=r.queued_at or r.created_at,
        executor=r.executor or "local",
        external_id=r.external_id,
        host=r.host,
    )


def get_job(ws: Workspace, job_id: str) -> Job:
    """A job this user may see (their own, or one on a study they may open)."""
    with ws.connect() as c:
        row = c.execute(select(T.jobs).where(T.jobs.c.id == job_id, ws.visible_jobs())).first()
    if row is None:
        raise JobError(f"There is no job {job_id!r} in this workspace that you ({ws.user.name}) can see.")
    return row_to_job(row)


def read_job(ws: Workspace, job_id: str) -> Job:
    """Any job, whoever asks (the queue, the reaper and the workers themselves)."""
    with ws.connect() as c:
        row = c.execute(select(T.jobs).where(T.jobs.c.id == job_id)).first()
    if row is None:
        raise JobError(f"There is no job {job_id!r} in this workspace.")
    return row_to_job(row)


def fence_update(c: Connection, job_id: str, attempt: str, **values: Any) -> bool:
    """``UPDATE jobs SET … WHERE id = job AND attempt = token AND status is active``.

    The one way an attempt writes its job row; False when the attempt lost the job."""
    res = c.execute(
        update(T.jobs)
        .where(T.jobs.c.id == job_id, T.jobs.c.attempt == attempt, T.jobs.c.status.in_(ACTIVE))
        .values(heartbeat_at=now(), **values)
    )
    return res.rowcount == 1


class JobContext:
    """What a job target gets: the workspace (fenced: every write it makes lands only
    while this attempt is the job's current one), its parameters, a progress reporter."""

    def __init__(self, ws: Workspace, job: Job, *, lost: threading.Event | None = None) -> None:
        self.workspace = ws
        self.job_id = job.id
        self.study_id = job.study_id
        self.attempt = job.attempt
        self.owner = job.owner
        self.executor = job.executor
        self.params: dict[str, Any] = {k: v for k, v in job.params.items() if k != "_target"}
        self._lost = lost or threading.Event()
        self._last = 0.0

    def cancelled(self) -> bool:
        with self.workspace.connect() as c:
            return bool(
                c.execute(select(T.jobs.c.cancel_requested).where(T.jobs.c.id == self.job_id)).scalar_one()
            )

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1) and a short message; raise :class:`JobCancelled` if asked
        to stop, :class:`JobFenced` if this attempt was declared dead."""
        if self._lost.is_set():
            raise JobFenced()
        fraction = min(max(float(fraction), 0.0), 1.0)
        t = time.monotonic()
        # write at most ~4 times a second, but always the first and the last
        if t - self._last >= 0.25 or fraction >= 1.0:
            self._last = t
            with self.workspace.transaction() as c:  # fenced: raises JobFenced if lost
                c.execute(
                    update(T.jobs)
                    .where(T.jobs.c.id == self.job_id)
                    .values(progress=fraction, message=message[:500])
                )
        if self.cancelled():
            raise JobCancelled()


def make_fence(job_id: str, attempt: str, lost: threading.Event) -> Callable[[Connection], None]:
    """The workspace's write fence for one attempt: the first statement of every write
    transaction; it also stamps the heartbeat."""

    def fence(c: Connection) -> None:
        if lost.is_set() or not fence_update(c, job_id, attempt):
            lost.set()
            raise JobFenced(
                f"Job {job_id}: this attempt is no longer the job's current one (it was declared "
                "dead, cancelled or replaced); its write was refused."
            )

    return fence


def seconds_since(stamp: str | None) -> float:
    if not stamp:
        return float("inf")
    return (datetime.now(UTC) - datetime.fromisoformat(stamp)).total_seconds()
