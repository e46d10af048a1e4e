"""Executors: a process on this machine, or a SLURM job submitted through submitit.

The same code runs either way (:func:`~._run.run_job` with the job's attempt token). A
SLURM job's fate that its own process could not write (killed, time-out, node failure,
``scancel``) is read back from the cluster through submitit (``sacct``) by
:func:`settle_external` and recorded with its reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..store import Workspace
from ._config import ExecutorConfig
from ._records import Job, fence_update, seconds_since

__all__ = ["launch", "cancel_external", "settle_external", "slurm_folder", "GPU_KINDS", "SRC_ROOT"]

#: job kinds that train deep models: they ask the cluster for GPUs when configured
GPU_KINDS = ("deep_learning",)
#: the folder that holds the ``deeprules_core`` package (put on the workers' PYTHONPATH)
SRC_ROOT = str(Path(__file__).resolve().parents[2])
_WAITING = ("PENDING", "CONFIGURING", "REQUEUED", "RESIZING", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED")
_RUNNING = ("RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING")
_last_check: dict[str, float] = {}


def slurm_folder(ws: Workspace) -> Path:
    return ws.home / "jobs" / "slurm"


def worker_env(ws: Workspace) -> dict[str, str]:
    env = dict(os.environ)
    env["DEEPRULES_HOME"] = str(ws.home)
    env["DEEPRULES_DB_URL"] = ws.db_url
    env["PYTHONPATH"] = SRC_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def launch(ws: Workspace, job: Job) -> None:
    """Start a claimed job on its executor (never raises: a failure to start is recorded)."""
    from ._queue import _finish

    assert job.attempt is not None
    if job.executor == "local":
        log_dir = ws.home / "jobs"
        try:
            log_dir.mkdir(parents=True, exist_ok=True)
            with open(log_dir / f"{job.id}.log", "ab") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "deeprules_core.jobs", job.id, job.attempt],
                    env=worker_env(ws),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,  # it outlives the app (a restart finds it again)
                )
        except OSError as exc:
            _finish(
                ws,
                job,
                "job_failed",
                status="failed",
                message="failed",
                error=f"The job could not start: {exc}.",
            )
            return
        with ws.engine.begin() as c:
            fence_update(c, job.id, job.attempt, pid=proc.pid)
        return
    _submit_slurm(ws, job)


def _submit_slurm(ws: Workspace, job: Job) -> None:
    from ._queue import _finish

    config = ExecutorConfig.from_env("slurm")
    params = config.slurm_parameters(job.kind, gpu=job.kind in GPU_KINDS)
    try:
        import submitit
        from submitit.core.utils import FailedJobError

        ex = submitit.SlurmExecutor(folder=slurm_folder(ws), python=sys.executable)
        ex.update_parameters(**params, setup=[f"export PYTHONPATH={SRC_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}"])
        from ._run import slurm_entry

        sj = ex.submit(slurm_entry, str(ws.home), ws.db_url, job.id, job.attempt, job.owner)
    except (ImportError, OSError, subprocess.SubprocessError, FailedJobError) as exc:
        _finish(
            ws,
            job,
            "job_failed",
            status="failed",
            message="failed",
            error=f"The cluster refused the job: {exc}. Check the SLURM settings (DEEPRULES_SLURM_*) "
            "or run it on this machine (DEEPRULES_EXECUTOR=local).",
        )
        return
    stored = {**job.params, "_slurm": {k: v for k, v in params.items() if k != "stderr_to_stdout"}}
    with ws.engine.begin() as c:
        fence_update(
            c,
            job.id,
            str(job.attempt),
            external_id=str(sj.job_id),
            params=json.dumps(stored),
            message=f"waiting in the cluster's queue (SLURM job {sj.job_id})",
        )


def _slurm_job(ws: Workspace, job: Job) -> Any:
    import submitit

    return submitit.SlurmJob(folder=slurm_folder(ws), job_id=str(job.external_id))


def cancel_external(ws: Workspace, job: Job) -> None:
    if job.external_id:
        _slurm_job(ws, job).cancel(check=False)


def _outcome(job: Job, state: str, nodes: str, log: str) -> tuple[str, str]:
    """(status, reason) of a cluster job that ended without writing its own status."""
    word = state.split()[0] if state else "UNKNOWN"
    slurm = job.params.get("_slurm", {}) if isinstance(job.params, dict) else {}
    on = f" on node {nodes}" if nodes and nodes != "None assigned" else ""
    if word == "CANCELLED":
        if job.cancel_requested:
            return "cancelled", "cancelled by the user"
        return (
            "cancelled",
            f"cancelled on the cluster ({state}), not from deeprules: an administrator or scancel",
        )
    if word == "TIMEOUT":
        return "failed", (
            f"The job ran past its time limit of {slurm.get('time', '?')} min on the cluster and SLURM stopped "
            "it. Ask for more time (DEEPRULES_SLURM_TIME_MIN) or a smaller search budget."
        )
    if word == "OUT_OF_MEMORY":
        return "failed", (
            f"The job ran out of memory{on} (it had {slurm.get('mem', '?')}). Ask for more "
            "(DEEPRULES_SLURM_MEM_GB) or use fewer features."
        )
    if word in ("NODE_FAIL", "BOOT_FAIL"):
        return "failed", f"The node the job ran on failed ({word}{on}). Start it again from its page."
    if word == "PREEMPTED":
        return "failed", f"The cluster preempted the job{on} for other work. Start it again from its page."
    if word == "COMPLETED":
        return "failed", f"The cluster job ended{on} without reporting a result. Its log: {log}."
    return "failed", (
        f"The job's process{on} was killed or crashed before it could report (SLURM state {state}). "
        f"Start it again from its page; the cluster's log: {log}."
    )


def settle_external(ws: Workspace, job: Job, *, stale_after_s: float) -> int:
    """Bring one cluster job's record in line with the cluster. Returns 1 if it closed it."""
    from ._queue import _finish

    if not job.external_id:  # claimed but never handed over (the submitting process died)
        if seconds_since(job.heartbeat_at) > stale_after_s:
            return int(
                _finish(
                    ws,
                    job,
                    "job_reaped",
                    status="failed",
                    message="failed",
                    error="The job never reached the cluster.",
                )
            )
        return 0
    if time.monotonic() - _last_check.get(job.id, 0.0) < 2.0:
        return 0
    _last_check[job.id] = time.monotonic()
    sj = _slurm_job(ws, job)
    try:
        info = sj.get_info(mode="force")
    except (OSError, subprocess.SubprocessError):
        return 0  # the cluster does not answer now; ask again at the next poll
    state = str(info.get("State") or "UNKNOWN")
    word = state.split()[0]
    if word in ("UNKNOWN", "") or word in _WAITING:
        msg = f"waiting in the cluster's queue (SLURM job {job.external_id}: {word or 'submitted'})"
        if job.status == "queued" and job.message != msg and job.attempt:
            with ws.engine.begin() as c:
                fence_update(c, job.id, job.attempt, message=msg)
        return 0
    if word in _RUNNING:
        silent = seconds_since(job.heartbeat_at)
        if job.status == "running" and silent > stale_after_s:
            error = (
                f"The job failed: it sent no sign of life for {silent:.0f} s (SLURM job {job.external_id})."
            )
            return int(_finish(ws, job, "job_reaped", status="failed", message="failed", error=error))
        return 0
    status, reason = _outcome(job, state, str(info.get("NodeList") or ""), str(sj.paths.stdout))
    action = "job_cancelled" if status == "cancelled" else "job_failed"
    values: dict[str, Any] = {"status": status, "message": reason if status == "cancelled" else "failed"}
    if status == "failed":
        values["error"] = reason
    return int(_finish(ws, job, action, **values))
