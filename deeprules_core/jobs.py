"""Background jobs: long work (tuning, training, bootstraps) outside the Streamlit script.

A job is a row in the store (queued → running → done / failed / cancelled) and a
separate process (``python -m deeprules_core.jobs JOB_ID``) that runs a target function
``module:function`` taking a :class:`JobContext`. The target reports progress through
``ctx.progress(fraction, message)``, which also raises :class:`JobCancelled` once the
user asked to cancel. The page polls :func:`get_job`; closing the browser loses nothing.
A job belongs to the user who submitted it and runs as them: it sees and changes only
what they may (its results are saved like any save, merged or refused on a conflict).
A job whose process died (crash, reboot) is marked failed by :func:`reap`, never left
"running" forever.

Examples
--------
>>> import tempfile
>>> from deeprules_core.store import Workspace
>>> ws = Workspace(tempfile.mkdtemp())
>>> jid = submit(ws, target="deeprules_core.jobs:echo_job", kind="echo", params={"x": 2},
...              start=False)
>>> run_job(ws, jid).status
'done'
>>> get_job(ws, jid).result
{'x': 2}
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from .errors import DeepRulesError, JobError
from .findings import to_jsonable
from .store import User, Workspace
from .store import _schema as T
from .study import utcnow

__all__ = [
    "STATUSES",
    "Job",
    "JobContext",
    "JobCancelled",
    "ProgressCallback",
    "submit",
    "get_job",
    "list_jobs",
    "cancel",
    "reap",
    "run_job",
    "wait",
]

STATUSES = ("queued", "running", "done", "failed", "cancelled")
HEARTBEAT_S = 5.0
STALE_AFTER_S = 60.0

ProgressCallback = Callable[[float, str], None]


class JobCancelled(Exception):
    """Raised inside a job by ``ctx.progress`` once cancellation was requested."""


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

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed", "cancelled")


class JobContext:
    """What a job target gets: the workspace, its parameters, and a progress reporter."""

    def __init__(self, ws: Workspace, job: Job) -> None:
        self.workspace = ws
        self.job_id = job.id
        self.study_id = job.study_id
        self.params: dict[str, Any] = {k: v for k, v in job.params.items() if k != "_target"}
        self._last = 0.0

    def cancelled(self) -> bool:
        with self.workspace.connect() as c:
            return bool(
                c.execute(select(T.jobs.c.cancel_requested).where(T.jobs.c.id == self.job_id)).scalar_one()
            )

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress (0..1) and a short message; raise JobCancelled if asked to stop."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        now = time.monotonic()
        # write at most ~4 times a second, but always the first and the last
        if now - self._last >= 0.25 or fraction >= 1.0:
            self._last = now
            with self.workspace.transaction() as c:
                c.execute(
                    update(T.jobs)
                    .where(T.jobs.c.id == self.job_id)
                    .values(progress=fraction, message=message[:500], heartbeat_at=utcnow())
                )
        if self.cancelled():
            raise JobCancelled()


def _row_to_job(r: Any) -> Job:
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
    )


def _resolve(target: str) -> Callable[[JobContext], Any]:
    module, _, name = target.partition(":")
    if not module or not name:
        raise JobError(f"A job target is 'package.module:function'. Got {target!r}.")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise JobError(f"The job target {target!r} cannot be found: {exc}.") from exc
    return fn


def submit(
    ws: Workspace,
    *,
    target: str,
    kind: str,
    params: Mapping[str, Any] | None = None,
    study_id: str | None = None,
    start: bool = True,
) -> str:
    """Record a job and (with ``start``) launch its process. Returns the job id."""
    _resolve(target)  # fail now, in the page, rather than later in the process
    job_id = uuid.uuid4().hex[:16]
    payload = dict(to_jsonable(dict(params or {})))
    payload["_target"] = target
    with ws.transaction() as c:
        if study_id is not None:
            ws.check_study(c, study_id, "edit", missing_ok=True)
        c.execute(
            insert(T.jobs).values(
                id=job_id,
                study_id=study_id,
                kind=kind,
                params=json.dumps(payload),
                status="queued",
                progress=0.0,
                message="queued",
                created_at=utcnow(),
                cancel_requested=False,
                owner=ws.user.name,
                owner_role=ws.user.role,
            )
        )
    ws.log(study_id, "job_submitted", {"job": job_id, "kind": kind})
    if start:
        _spawn(ws, job_id)
    return job_id


def _spawn(ws: Workspace, job_id: str) -> None:
    env = dict(os.environ)
    env["DEEPRULES_HOME"] = str(ws.home)
    env["DEEPRULES_DB_URL"] = ws.db_url
    src_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = src_root + os.pathsep + env.get("PYTHONPATH", "")
    log_dir = ws.home / "jobs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / f"{job_id}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deeprules_core.jobs", job_id],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    with ws.transaction() as c:
        c.execute(update(T.jobs).where(T.jobs.c.id == job_id).values(pid=proc.pid))


def get_job(ws: Workspace, job_id: str) -> Job:
    """A job this user may see (their own, or one on a study they may open)."""
    with ws.connect() as c:
        row = c.execute(select(T.jobs).where(T.jobs.c.id == job_id, ws.visible_jobs())).first()
    if row is None:
        raise JobError(f"There is no job {job_id!r} in this workspace that you ({ws.user.name}) can see.")
    return _row_to_job(row)


def list_jobs(ws: Workspace, study_id: str | None = None, kind: str | None = None) -> list[Job]:
    """Jobs, newest first (after marking dead ones failed)."""
    reap(ws)
    q = select(T.jobs).where(ws.visible_jobs()).order_by(T.jobs.c.created_at.desc(), T.jobs.c.id)
    if study_id is not None:
        q = q.where(T.jobs.c.study_id == study_id)
    if kind is not None:
        q = q.where(T.jobs.c.kind == kind)
    with ws.connect() as c:
        return [_row_to_job(r) for r in c.execute(q).all()]


def cancel(ws: Workspace, job_id: str) -> None:
    """Ask a job to stop. A queued job is cancelled at once; a running one at its next
    progress report (or by SIGTERM if it does not report)."""
    job = get_job(ws, job_id)
    if job.finished:
        return
    with ws.transaction() as c:
        owner = c.execute(select(T.jobs.c.owner).where(T.jobs.c.id == job_id)).scalar_one()
        if owner != ws.user.name and job.study_id is not None:
            ws.check_study(c, job.study_id, "edit", missing_ok=True)  # a viewer cannot stop it
        c.execute(update(T.jobs).where(T.jobs.c.id == job_id).values(cancel_requested=True))
        if job.status == "queued" and job.pid is None:
            c.execute(
                update(T.jobs)
                .where(T.jobs.c.id == job_id)
                .values(status="cancelled", finished_at=utcnow(), message="cancelled before it started")
            )
    ws.log(job.study_id, "job_cancel_requested", {"job": job_id})
    if job.pid and _alive(job.pid):
        try:
            os.kill(job.pid, signal.SIGTERM)
        except OSError:
            pass


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


def reap(ws: Workspace, *, stale_after_s: float = STALE_AFTER_S) -> int:
    """Mark jobs whose process is gone (or silent for too long) as failed. Returns how many."""
    now = datetime.fromisoformat(utcnow())
    n = 0
    with ws.connect() as c:  # everyone's jobs: a dead process is marked failed whoever asks
        rows = c.execute(select(T.jobs).where(T.jobs.c.status.in_(("queued", "running")))).all()
    for r in rows:
        job = _row_to_job(r)
        beat = job.heartbeat_at or job.started_at or job.created_at
        silent = (now - datetime.fromisoformat(beat)).total_seconds()
        dead = job.pid is not None and not _alive(job.pid)
        if dead or silent > stale_after_s and job.status == "running":
            reason = (
                (
                    "its process stopped without finishing (it crashed, ran out of memory, or the "
                    "machine restarted)"
                )
                if dead
                else f"it sent no sign of life for {silent:.0f} s"
            )
            with ws.transaction() as c:
                c.execute(
                    update(T.jobs)
                    .where(T.jobs.c.id == job.id, T.jobs.c.status.in_(("queued", "running")))
                    .values(
                        status="failed",
                        finished_at=utcnow(),
                        error=f"The job failed: {reason}. Start it again from its page.",
                    )
                )
            n += 1
    return n


def run_job(ws: Workspace, job_id: str) -> Job:
    """Run a queued job in this process (the subprocess entry point; also used by tests
    and the headless ``run``), as the user who submitted it."""
    with ws.connect() as c:
        who = c.execute(select(T.jobs.c.owner, T.jobs.c.owner_role).where(T.jobs.c.id == job_id)).first()
    if who is not None and who.owner:
        ws = ws.as_user(User(who.owner, who.owner_role or "user"))
    job = get_job(ws, job_id)
    if job.status != "queued":
        raise JobError(f"Job {job_id} is {job.status}; only a queued job can be run.")
    target = str(job.params.get("_target", ""))
    with ws.transaction() as c:
        c.execute(
            update(T.jobs)
            .where(T.jobs.c.id == job_id)
            .values(
                status="running",
                started_at=utcnow(),
                heartbeat_at=utcnow(),
                pid=os.getpid(),
                message="started",
            )
        )
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                with ws.transaction() as c:
                    c.execute(update(T.jobs).where(T.jobs.c.id == job_id).values(heartbeat_at=utcnow()))
            except Exception:  # noqa: BLE001 - a missed heartbeat must not kill the job
                pass

    threading.Thread(target=beat, daemon=True).start()
    ctx = JobContext(ws, get_job(ws, job_id))
    values: dict[str, Any]
    try:
        result = _resolve(target)(ctx)
        values = {
            "status": "done",
            "progress": 1.0,
            "message": "done",
            "result": json.dumps(to_jsonable(result), allow_nan=False),
        }
    except JobCancelled:
        values = {"status": "cancelled", "message": "cancelled by the user"}
    except DeepRulesError as exc:
        values = {"status": "failed", "error": str(exc), "message": "failed"}
    except Exception as exc:  # noqa: BLE001 - the job boundary: record any failure with its reason
        traceback.print_exc()
        values = {
            "status": "failed",
            "message": "failed",
            "error": f"The job stopped with an unexpected error: {type(exc).__name__}: {exc}. "
            f"The full trace is in {ws.home / 'jobs' / (job_id + '.log')}.",
        }
    finally:
        stop.set()
    values["finished_at"] = utcnow()
    with ws.transaction() as c:
        c.execute(update(T.jobs).where(T.jobs.c.id == job_id).values(**values))
    ws.log(job.study_id, "job_" + values["status"], {"job": job_id, "kind": job.kind})
    return get_job(ws, job_id)


def wait(ws: Workspace, job_id: str, *, timeout: float = 600.0, poll: float = 0.2) -> Job:
    """Block until the job finishes (or ``timeout`` seconds pass); return it."""
    deadline = time.monotonic() + timeout
    while True:
        reap(ws)
        job = get_job(ws, job_id)
        if job.finished or time.monotonic() > deadline:
            return job
        time.sleep(poll)


# ---------------------------------------------------------------- tiny targets for tests
def echo_job(ctx: JobContext) -> dict[str, Any]:
    """Return the parameters (a known answer for tests)."""
    ctx.progress(1.0, "echo")
    return ctx.params


def sleep_job(ctx: JobContext) -> dict[str, Any]:
    """Sleep ``seconds`` in steps, reporting progress (tests of progress and cancel)."""
    seconds = float(ctx.params.get("seconds", 1.0))
    steps = max(int(seconds / 0.1), 1)
    for i in range(steps):
        time.sleep(seconds / steps)
        ctx.progress((i + 1) / steps, f"step {i + 1} of {steps}")
    return {"slept": seconds}


def crash_job(ctx: JobContext) -> None:
    """Kill its own process without a word (tests that a crash is marked failed)."""
    os._exit(3)


def _main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m deeprules_core.jobs JOB_ID", file=sys.stderr)
        return 2
    ws = Workspace()

    def on_term(_sig: int, _frame: Any) -> None:
        raise JobCancelled()

    signal.signal(signal.SIGTERM, on_term)
    run_job(ws, argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
