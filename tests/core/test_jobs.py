"""Background jobs: run in another process, report progress, cancel, and never hang as
'running' after a crash. On SQLite and on PostgreSQL."""

from __future__ import annotations

import time

import pytest

from deeprules_core import jobs
from deeprules_core.errors import JobError


@pytest.fixture
def workspace(any_workspace):
    return any_workspace


def test_job_runs_in_a_separate_process_and_returns_its_result(workspace):
    import os

    jid = jobs.submit(
        workspace, target="deeprules_core.jobs:sleep_job", kind="sleep", params={"seconds": 0.3}
    )
    job = jobs.wait(workspace, jid, timeout=60)
    assert job.status == "done", job.error
    assert job.result == {"slept": 0.3}
    assert job.progress == 1.0
    assert job.pid != os.getpid()
    assert [e.action for e in workspace.audit_log()][-1] == "job_done"


def test_progress_is_visible_while_running_and_cancel_stops_it(workspace):
    jid = jobs.submit(workspace, target="deeprules_core.jobs:sleep_job", kind="sleep", params={"seconds": 30})
    deadline = time.monotonic() + 30
    while jobs.get_job(workspace, jid).progress == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    running = jobs.get_job(workspace, jid)
    assert running.status == "running" and 0 < running.progress < 1
    jobs.cancel(workspace, jid)
    assert jobs.wait(workspace, jid, timeout=30).status == "cancelled"


def test_a_cancel_that_interrupts_a_database_call_is_still_a_cancel(workspace):
    # psycopg waits for PostgreSQL in Python code, so the SIGTERM of a cancel can land
    # inside a query; the job was then recorded as failed with a database error.
    jid = jobs.submit(workspace, target="deeprules_core.jobs:query_job", kind="query", params={"seconds": 3})
    deadline = time.monotonic() + 30
    while jobs.get_job(workspace, jid).message != "querying" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # inside the query
    jobs.cancel(workspace, jid)
    job = jobs.wait(workspace, jid, timeout=30)
    assert (job.status, job.error) == ("cancelled", None)


def test_a_crashed_job_is_marked_failed(workspace):
    jid = jobs.submit(workspace, target="deeprules_core.jobs:crash_job", kind="crash")
    job = jobs.wait(workspace, jid, timeout=60)
    assert job.status == "failed"
    assert "stopped without finishing" in job.error


def test_errors_are_recorded_with_their_reason(workspace):
    jid = jobs.submit(
        workspace, target="deeprules_core.jobs:sleep_job", kind="bad", params={"seconds": "soon"}, start=False
    )
    job = jobs.run_job(workspace, jid)
    assert job.status == "failed" and "ValueError" in job.error


def test_unknown_target_is_refused_at_submit(workspace):
    with pytest.raises(JobError, match="cannot be found"):
        jobs.submit(workspace, target="deeprules_core.nowhere:nothing", kind="x")
    with pytest.raises(JobError, match="module:function"):
        jobs.submit(workspace, target="no_colon", kind="x")


def test_a_silent_running_job_is_reaped(workspace):
    jid = jobs.submit(workspace, target="deeprules_core.jobs:echo_job", kind="echo", start=False)
    from sqlalchemy import update

    from deeprules_core.store import _schema as T

    with workspace.transaction() as c:
        c.execute(
            update(T.jobs)
            .where(T.jobs.c.id == jid)
            .values(status="running", heartbeat_at="2000-01-01T00:00:00+00:00")
        )
    assert jobs.reap(workspace) == 1
    assert "no sign of life" in jobs.get_job(workspace, jid).error
