"""Background jobs: long work (tuning, training, bootstraps) outside the Streamlit script.

A job is a row in the store (queued → running → done / failed / cancelled) and an
attempt that runs a target function ``module:function`` taking a :class:`JobContext`:
a separate process on this machine (``python -m deeprules_core.jobs JOB_ID ATTEMPT``)
or a SLURM job submitted through submitit (``DEEPRULES_EXECUTOR=slurm``), the same code
either way. The target reports progress through ``ctx.progress(fraction, message)``,
which also raises :class:`JobCancelled` once the user asked to cancel. The page polls
:func:`get_job`; closing the browser (or restarting the app) loses nothing.

* **Fenced.** Each attempt holds a token; every write it makes (progress, results
  through ``ctx.workspace``, the final status) is conditional on that token still being
  the job's, so an attempt declared dead can never come back and write.
* **Deduplicated.** Submitting a step that is already queued or running for the study
  returns the existing job.
* **Queued fairly.** At most ``DEEPRULES_MAX_JOBS`` local jobs run at once, at most
  ``DEEPRULES_MAX_JOBS_PER_USER`` per user, the rest wait and start round-robin between
  users (:func:`queue_position` says how many are ahead).
* **Audited.** Submitting, finishing, failing, reaping and cancelling write audit entries.

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

from ._config import ExecutorConfig, max_jobs, max_jobs_per_user
from ._queue import cancel, dispatch, list_jobs, queue_position, reap, submit
from ._records import STATUSES, Job, JobCancelled, JobContext, JobFenced, ProgressCallback, get_job
from ._run import run_job, wait
from ._targets import crash_job, echo_job, query_job, record_job, sleep_job

__all__ = [
    "STATUSES",
    "Job",
    "JobContext",
    "JobCancelled",
    "JobFenced",
    "ProgressCallback",
    "ExecutorConfig",
    "submit",
    "dispatch",
    "get_job",
    "list_jobs",
    "queue_position",
    "cancel",
    "reap",
    "run_job",
    "wait",
    "max_jobs",
    "max_jobs_per_user",
    "echo_job",
    "sleep_job",
    "query_job",
    "record_job",
    "crash_job",
]
