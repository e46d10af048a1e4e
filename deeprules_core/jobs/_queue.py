"""Submitting, the fair queue, cancelling and reaping.

A submission is a ``queued`` row. :func:`dispatch` hands queued jobs to an executor
while slots are free: at most :func:`~._config.max_jobs` local jobs at once on the
server and :func:`~._config.max_jobs_per_user` per user, the next one taken from the
user served longest ago (round-robin), each user's jobs in the order submitted. Handing
a job over gives it a fresh attempt token; only that attempt may write to the job
(:mod:`._records`). SLURM jobs are handed to the cluster at once: its scheduler queues them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import ConflictError, JobError
from ..findings import to_jsonable
from ..store import Workspace
from ..store import _schema as T
from ._config import ExecutorConfig, max_jobs, max_jobs_per_user
from ._config import stale_after_s as default_stale_s
from ._records import ACTIVE, Job, get_job, now, owner_of, read_job, row_to_job, seconds_since

__all__ = ["submit", "dispatch", "cancel", "reap", "list_jobs", "queue_position", "resolve"]

_LOCK_KEY = "job_queue"


def resolve(target: str) -> Any:
    import importlib

    module, _, name = target.partition(":")
    if not module or not name:
        raise JobError(f"A job target is 'package.module:function'. Got {target!r}.")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise JobError(f"The job target {target!r} cannot be found: {exc}.") from exc


def _active(c: Any, study_id: str, kind: str) -> str | None:
    return c.execute(
        select(T.jobs.c.id).where(
            T.jobs.c.study_id == study_id, T.jobs.c.kind == kind, T.jobs.c.status.in_(ACTIVE)
        )
    ).scalar()


def submit(
    ws: Workspace,
    *,
    target: str,
    kind: str,
    params: Mapping[str, Any] | None = None,
    study_id: str | None = None,
    start: bool = True,
    executor: str | None = None,
) -> str:
    """Queue a job (and with ``start``, hand out free slots). Returns the job id.

    A job already queued or running for the same study and step (``kind``) is returned
    instead of a second one. With ``start=False`` the job is only recorded, for
    :func:`~deeprules_core.jobs.run_job` to run in this process (the queue leaves it).
    """
    resolve(target)  # fail now, in the page, rather than later in the process
    config = ExecutorConfig.from_env(executor)
    payload = dict(to_jsonable(dict(params or {})))
    payload["_target"] = target
    job_id = uuid.uuid4().hex[:16]
    owner = owner_of(ws)
    try:
        with ws.transaction() as c:
            if study_id is not None:
                ws.check_study(c, study_id, "edit", missing_ok=True)
            existing = _active(c, study_id, kind) if study_id is not None else None
            if existing is None:
                c.execute(
                    insert(T.jobs).values(
                        id=job_id,
                        study_id=study_id,
                        kind=kind,
                        params=json.dumps(payload),
                        status="queued",
                        progress=0.0,
                        message="queued",
                        created_at=now(),
                        queued_at=now(),
                        cancel_requested=False,
                        owner=owner,
                        owner_role=ws.user.role,
                        executor=config.executor if start else "inline",
                    )
                )
                ws.log_in(c, study_id, "job_submitted", {"job": job_id, "kind": kind}, actor=owner)
    except (IntegrityError, ConflictError):  # another submission of the same step won the race
        with ws.connect() as c:
            existing = _active(c, str(study_id), kind)
        if existing is None:
            raise
    if existing is not None:
        return existing
    if start:
        dispatch(ws)
    return job_id


def _lock(c: Any) -> None:
    """Serialise dispatchers: a write to one row (SQLite: the database's write lock;
    PostgreSQL: the row's lock) held until the transaction ends."""
    done = c.execute(update(T.meta).where(T.meta.c.key == _LOCK_KEY).values(value=now())).rowcount
    if not done:
        c.execute(insert(T.meta).values(key=_LOCK_KEY, value=now()))


def _served_order(queued: list[Job], last_served: dict[str, str]) -> list[Job]:
    """The order the queue will start ``queued`` in: round-robin between owners (the one
    served longest ago first), each owner's jobs oldest first."""
    per: dict[str, list[Job]] = {}
    for j in sorted(queued, key=lambda j: (j.queued_at or "", j.id)):
        per.setdefault(j.owner or "", []).append(j)
    served = {o: last_served.get(o, "") for o in per}
    order: list[Job] = []
    tick = 0
    while per:
        owner = min(per, key=lambda o: (served[o], per[o][0].queued_at or "", o))
        order.append(per[owner].pop(0))
        tick += 1
        served[owner] = f"~{tick:09d}"  # after every real time stamp
        if not per[owner]:
            del per[owner]
    return order


def _claim_next(ws: Workspace) -> Job | None:
    """In one serialised transaction: give the next job a slot and an attempt token."""
    with ws.transaction() as c:
        _lock(c)
        rows = [row_to_job(r) for r in c.execute(select(T.jobs).where(T.jobs.c.status.in_(ACTIVE))).all()]
        waiting = [
            j
            for j in rows
            if j.status == "queued"
            and j.attempt is None
            and not j.cancel_requested
            and j.executor != "inline"
        ]
        if not waiting:
            return None
        cluster = [j for j in waiting if j.executor == "slurm"]
        if cluster:  # the cluster's scheduler queues these
            pick: Job | None = min(cluster, key=lambda j: (j.queued_at or "", j.id))
        else:
            local = [j for j in rows if j.claimed and j.executor == "local"]
            if len(local) >= max_jobs():
                return None
            per_user = max_jobs_per_user()
            busy = {o for o in {j.owner for j in local} if sum(j.owner == o for j in local) >= per_user}
            last = _last_started(c)
            order = _served_order([j for j in waiting if j.owner not in busy], last)
            pick = order[0] if order else None
        if pick is None:
            return None
        token = uuid.uuid4().hex
        c.execute(
            update(T.jobs)
            .where(T.jobs.c.id == pick.id, T.jobs.c.status == "queued", T.jobs.c.attempt.is_(None))
            .values(
                attempt=token,
                started_at=now(),
                heartbeat_at=now(),
                message="starting" if pick.executor == "local" else "submitting to the cluster",
                host=socket.gethostname() if pick.executor == "local" else None,
            )
        )
    return read_job(ws, pick.id)


def dispatch(ws: Workspace) -> list[str]:
    """Hand queued jobs to their executor while slots are free. Returns the ids started."""
    with ws.engine.connect() as c:  # most polls find nothing waiting: no write, no lock
        waiting = c.execute(
            select(T.jobs.c.id)
            .where(
                T.jobs.c.status == "queued",
                T.jobs.c.attempt.is_(None),
                T.jobs.c.executor.is_(None) | (T.jobs.c.executor != "inline"),
            )
            .limit(1)
        ).first()
    if waiting is None:
        return []
    started: list[str] = []
    while (job := _claim_next(ws)) is not None:
        from ._executors import launch

        launch(ws, job)
        started.append(job.id)
    return started


def _last_started(c: Any) -> dict[str, Any]:
    """When each user's latest job started (the fair queue serves the longest-waiting first)."""
    return dict(
        c.execute(
            select(T.jobs.c.owner, T.jobs.c.started_at)
            .where(T.jobs.c.started_at.is_not(None))
            .order_by(T.jobs.c.started_at)
        ).all()
    )


def queue_position(ws: Workspace, job_id: str) -> int | None:
    """How many queued jobs will start before this one (None once it has a slot)."""
    with ws.connect() as c:
        rows = [row_to_job(r) for r in c.execute(select(T.jobs).where(T.jobs.c.status == "queued")).all()]
        last = _last_started(c)
    waiting = [j for j in rows if j.attempt is None and j.executor == "local"]
    order = [j.id for j in _served_order(waiting, last)]
    return order.index(job_id) if job_id in order else None


def list_jobs(ws: Workspace, study_id: str | None = None, kind: str | None = None) -> list[Job]:
    """Jobs, newest first (after reaping dead ones and starting queued ones)."""
    reap(ws)
    q = select(T.jobs).where(ws.visible_jobs()).order_by(T.jobs.c.created_at.desc(), T.jobs.c.id)
    if study_id is not None:
        q = q.where(T.jobs.c.study_id == study_id)
    if kind is not None:
        q = q.where(T.jobs.c.kind == kind)
    with ws.connect() as c:
        return [row_to_job(r) for r in c.execute(q).all()]


#: who closes the jobs nobody else can (the reaper, the cluster's account): the server itself
SYSTEM_USER = "deeprules (server)"


def _finish(ws: Workspace, job: Job, action: str, *, actor: str | None = None, **values: Any) -> bool:
    """Close a job that its attempt can no longer close, if it is still the one read
    (same attempt, same heartbeat): a compare-and-set, audited in the same transaction.
    Without ``actor`` the server closes it (whoever's page happened to notice)."""
    if actor is None:
        from ..store import User

        ws = ws.as_user(User(SYSTEM_USER, "admin"))
    cond = [T.jobs.c.id == job.id, T.jobs.c.status == job.status]
    cond.append(T.jobs.c.attempt == job.attempt if job.attempt else T.jobs.c.attempt.is_(None))
    if job.heartbeat_at:
        cond.append(T.jobs.c.heartbeat_at == job.heartbeat_at)
    with ws.transaction() as c:
        ok = c.execute(update(T.jobs).where(*cond).values(finished_at=now(), **values)).rowcount == 1
        if ok:
            detail = {"job": job.id, "kind": job.kind, "status": values.get("status")}
            detail["reason"] = values.get("error") or values.get("message")
            ws.log_in(c, job.study_id, action, detail, actor=actor)
    return ok


def cancel(ws: Workspace, job_id: str) -> None:
    """Ask a job to stop. A queued job is cancelled at once; a running one at its next
    progress report (or by a signal: SIGTERM locally, scancel on SLURM)."""
    job = get_job(ws, job_id)  # one this user may see
    if job.finished:
        return
    who = owner_of(ws)
    if job.owner != who and job.study_id is not None:
        with ws.connect() as c:
            ws.check_study(c, job.study_id, "edit", missing_ok=True)  # a viewer cannot stop it
    if job.attempt is None and _finish(
        ws,
        job,
        "job_cancelled",
        actor=who,
        status="cancelled",
        message=f"cancelled by {who} before it started",
    ):
        return
    with ws.transaction() as c:
        c.execute(update(T.jobs).where(T.jobs.c.id == job_id).values(cancel_requested=True))
        ws.log_in(c, job.study_id, "job_cancel_requested", {"job": job_id, "kind": job.kind}, actor=who)
    job = read_job(ws, job_id)
    if job.executor != "slurm":
        if job.pid and job.host == socket.gethostname() and _alive(job.pid):
            try:
                os.kill(job.pid, signal.SIGTERM)
            except OSError:
                pass
        elif job.pid is None and job.attempt:  # claimed, its process not started: nothing to stop
            _finish(ws, job, "job_cancelled", actor=who, status="cancelled", message=f"cancelled by {who}")
    else:
        from ._executors import cancel_external

        cancel_external(ws, job)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def reap(ws: Workspace, *, stale_after_s: float | None = None) -> int:
    """Fail jobs whose process is gone or silent too long (audited as ``job_reaped``),
    settle cluster jobs from the cluster's own account of them, then start queued jobs
    in the freed slots. Returns how many jobs were closed."""
    from ._executors import settle_external

    limit = stale_after_s if stale_after_s is not None else default_stale_s()
    with ws.connect() as c:
        rows = c.execute(
            select(T.jobs).where(
                T.jobs.c.status.in_(ACTIVE), T.jobs.c.attempt.is_not(None) | (T.jobs.c.status == "running")
            )
        ).all()
    n = 0
    here = socket.gethostname()
    for r in rows:
        job = row_to_job(r)
        if job.executor == "slurm":
            n += settle_external(ws, job, stale_after_s=limit)
            continue
        silent = seconds_since(job.heartbeat_at or job.started_at)
        dead = job.pid is not None and job.host == here and not _alive(job.pid)
        if dead:
            reason = "its process stopped without finishing (it crashed, ran out of memory, or the machine restarted)"
        elif silent > limit:
            reason = f"it sent no sign of life for {silent:.0f} s"
        else:
            continue
        if dead and job.cancel_requested:  # stopped by the SIGTERM of a cancel before it could say so
            n += _finish(ws, job, "job_cancelled", status="cancelled", message="cancelled by the user")
            continue
        error = f"The job failed: {reason}. Start it again from its page."
        n += _finish(ws, job, "job_reaped", status="failed", message="failed", error=error)
    dispatch(ws)
    return n
