"""Running one attempt of a job: the process entry points (local and SLURM) and ``wait``."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from ..errors import DeepRulesError, JobError
from ..findings import to_jsonable
from ..store import Workspace
from ..store import _schema as T
from ._config import heartbeat_s
from ._records import Job, JobCancelled, JobContext, JobFenced, fence_update, make_fence, now, read_job

__all__ = ["run_job", "wait", "slurm_entry", "main", "JobStopped"]


class JobStopped(Exception):
    """Raised by the SIGTERM handler: the user cancelled, or the machine or cluster stopped
    the job. Which one is read from the store after the target has unwound."""


# Set by this worker's SIGTERM handler. The handler's exception can land inside a database
# call (psycopg waits for PostgreSQL in Python code) and reach ``_execute`` as a database
# error instead; the flag says it was the signal all the same.
_terminated = threading.Event()


def _claim_here(ws: Workspace, job: Job) -> str:
    if job.status != "queued" or job.attempt is not None:
        raise JobError(f"Job {job.id} is {job.status}; only a queued job can be run.")
    token = uuid.uuid4().hex
    with ws.transaction() as c:
        ok = c.execute(
            update(T.jobs)
            .where(T.jobs.c.id == job.id, T.jobs.c.status == "queued", T.jobs.c.attempt.is_(None))
            .values(attempt=token, started_at=now(), heartbeat_at=now(), host=socket.gethostname())
        ).rowcount
    if not ok:
        raise JobError(f"Job {job.id} was started by someone else meanwhile.")
    return token


def run_job(ws: Workspace, job_id: str, *, attempt: str | None = None, in_worker: bool = False) -> Job:
    """Run one attempt of a job in this process.

    Without ``attempt`` (tests, the headless ``run``) the queued job is claimed here.
    With it (the worker processes) the attempt must still be the job's current one.
    Every write the target makes through ``ctx.workspace`` is fenced by the attempt.
    """
    job = read_job(ws, job_id)
    if job.owner:  # it runs as the user who submitted it, whoever runs the process
        from ..store import User

        ws = ws.as_user(User(job.owner, job.owner_role or "user"))
    token = attempt or _claim_here(ws, job)
    lost = threading.Event()
    previous_fence = ws.write_fence
    ws.write_fence = make_fence(job_id, token, lost)
    stop = threading.Event()
    try:
        try:
            with ws.transaction() as c:  # fenced: only the current attempt gets here
                c.execute(
                    update(T.jobs)
                    .where(T.jobs.c.id == job_id)
                    .values(status="running", pid=os.getpid(), host=socket.gethostname(), message="started")
                )
        except JobFenced as exc:
            print(exc, file=sys.stderr)
            return read_job(ws, job_id)

        def beat() -> None:
            while not stop.wait(heartbeat_s()):
                try:
                    with ws.engine.begin() as c:
                        if not fence_update(c, job_id, token):
                            lost.set()
                except SQLAlchemyError:  # a missed heartbeat must not kill the job
                    continue
                if lost.is_set():
                    print(f"Job {job_id}: this attempt lost the job; stopping.", file=sys.stderr, flush=True)
                    if in_worker:
                        os._exit(75)
                    return

        threading.Thread(target=beat, daemon=True).start()
        job = read_job(ws, job_id)
        values = _execute(ws, job, JobContext(ws, job, lost=lost))
        stop.set()
        if values is not None:
            values["finished_at"] = now()
            detail = {"job": job_id, "kind": job.kind, "status": values["status"]}
            detail["reason"] = values.get("error") or values.get("message")
            try:
                with ws.transaction() as c:  # fenced: a dead attempt's status never lands
                    c.execute(update(T.jobs).where(T.jobs.c.id == job_id).values(**values))
                    ws.log_in(c, job.study_id, "job_" + values["status"], detail, actor=job.owner)
            except JobFenced as exc:
                print(exc, file=sys.stderr)
    finally:
        stop.set()
        ws.write_fence = previous_fence
    return read_job(ws, job_id)


def _execute(ws: Workspace, job: Job, ctx: JobContext) -> dict[str, Any] | None:
    """Run the target; the values of the final status (None: write none)."""
    from ._queue import resolve

    try:
        result = resolve(str(job.params.get("_target", "")))(ctx)
        return {
            "status": "done",
            "progress": 1.0,
            "message": "done",
            "result": json.dumps(to_jsonable(result), allow_nan=False),
        }
    except JobFenced as exc:
        print(exc, file=sys.stderr)
        return None
    except JobCancelled:
        return {"status": "cancelled", "message": "cancelled by the user"}
    except Exception as exc:  # noqa: BLE001 - the job boundary: record any failure with its reason
        if _terminated.is_set():
            return _stopped(ws, job)
        if isinstance(exc, DeepRulesError):
            return {"status": "failed", "error": str(exc), "message": "failed"}
        traceback.print_exc()
        return {
            "status": "failed",
            "message": "failed",
            "error": f"The job stopped with an unexpected error: {type(exc).__name__}: {exc}. "
            f"The full trace is in the job's log ({ws.home / 'jobs'}).",
        }


def _stopped(ws: Workspace, job: Job) -> dict[str, Any] | None:
    """The final values of a job stopped by SIGTERM: cancelled if the user asked for it."""
    if read_job(ws, job.id).cancel_requested:
        return {"status": "cancelled", "message": "cancelled by the user"}
    if job.executor == "slurm":
        return None  # the cluster's own account says why (settled by reap)
    reason = "it received SIGTERM (the machine is shutting down or an administrator stopped it)"
    return {"status": "failed", "message": "failed", "error": f"The job was stopped: {reason}."}


def wait(ws: Workspace, job_id: str, *, timeout: float = 600.0, poll: float = 0.2) -> Job:
    """Block until the job finishes (or ``timeout`` seconds pass); return it."""
    from ._queue import reap

    deadline = time.monotonic() + timeout
    while True:
        reap(ws)
        job = read_job(ws, job_id)
        if job.finished or time.monotonic() > deadline:
            return job
        time.sleep(poll)


def open_workspace(home: str | None, db_url: str | None, owner: str | None) -> Workspace:
    """The workspace a worker writes to, as the job's owner where the store knows users."""
    try:
        return Workspace(home, db_url=db_url, user=owner)  # type: ignore[call-arg]
    except TypeError:
        return Workspace(home, db_url=db_url)


def _signals(job_id: str) -> None:
    def on_term(_sig: int, _frame: Any) -> None:
        _terminated.set()  # no database call here: the signal may have interrupted one
        raise JobStopped()

    def on_usr2(_sig: int, _frame: Any) -> None:
        # SLURM's early warning of the time limit (submitit's checkpoint signal). The job
        # cannot checkpoint, so it keeps working: at the limit SLURM stops it, and its
        # TIMEOUT state is recorded with the reason (settle_external).
        print(f"Job {job_id}: the cluster's time limit is near.", file=sys.stderr, flush=True)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGUSR2, on_usr2)


def slurm_entry(home: str, db_url: str, job_id: str, attempt: str, owner: str | None) -> str:
    """What a SLURM job runs (through submitit): the same attempt as a local process."""
    os.environ["DEEPRULES_HOME"], os.environ["DEEPRULES_DB_URL"] = home, db_url  # for what it starts
    ws = open_workspace(home, db_url, owner)
    _signals(job_id)  # after submitit's own handlers, which would ignore SIGTERM
    return run_job(ws, job_id, attempt=attempt, in_worker=True).status


def main(argv: list[str]) -> int:
    """``python -m deeprules_core.jobs JOB_ID [ATTEMPT]``: run a job in this process."""
    if len(argv) not in (1, 2):
        print("usage: python -m deeprules_core.jobs JOB_ID [ATTEMPT]", file=sys.stderr)
        return 2
    from ._queue import dispatch

    ws0 = Workspace()
    job = read_job(ws0, argv[0])
    ws = open_workspace(str(ws0.home), ws0.db_url, job.owner)
    _signals(argv[0])
    run_job(ws, argv[0], attempt=argv[1] if len(argv) == 2 else None, in_worker=True)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    dispatch(ws)  # this job's slot is free: start the next in the queue
    return 0
