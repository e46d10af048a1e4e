"""Fenced jobs: a job declared dead never writes again; one job per study and step;
reaping, cancelling and failing leave audit entries. On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from deeprules_core import jobs


@pytest.fixture
def workspace(any_workspace):
    """Each test on SQLite and on PostgreSQL (the fence is a conditional UPDATE on both)."""
    return any_workspace


def _wait_for(cond, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _reap_child(pid: int, timeout: float = 60.0) -> int:
    """Wait for our child process to exit; return its exit status."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not exit")


def test_a_job_declared_dead_never_writes_again(workspace, monkeypatch):
    """SIGSTOP a job past the stale limit: it is failed and replaced; after SIGCONT its
    result, audit line and status are refused (the issue's two step records)."""
    monkeypatch.setenv("DEEPRULES_JOB_HEARTBEAT_S", "0.2")
    study = workspace.create_study("fenced")
    first = jobs.submit(
        workspace,
        target="deeprules_core.jobs:record_job",
        kind="baselines",
        params={"seconds": 4},
        study_id=study.id,
    )
    pid = _wait_for(
        lambda: (j := jobs.get_job(workspace, first)).status == "running" and j.pid, what="the job to run"
    )
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(1.2)
        assert jobs.reap(workspace, stale_after_s=1.0) == 1
        dead = jobs.get_job(workspace, first)
        assert dead.status == "failed" and "no sign of life" in dead.error
        reaped = [e for e in workspace.audit_log(study.id) if e.action == "job_reaped"]
        assert [e.detail["job"] for e in reaped] == [first]
        assert "no sign of life" in reaped[0].detail["reason"]

        second = jobs.submit(
            workspace,
            target="deeprules_core.jobs:record_job",
            kind="baselines",
            params={"seconds": 0.1},
            study_id=study.id,
        )
        assert second != first
        replacement = jobs.wait(workspace, second, timeout=60)
        assert replacement.status == "done", replacement.error
    finally:
        os.kill(pid, signal.SIGCONT)
    assert _reap_child(pid) != 0  # it stopped itself on finding it lost the job
    after = jobs.get_job(workspace, first)
    assert (after.status, after.result, after.error) == ("failed", None, dead.error)
    stored = workspace.list_artifacts(study.id, "results")
    assert len(stored) == 1
    assert workspace.get_json(study.id, "results", "record_job") == {"attempt": replacement.attempt}
    assert [e.detail["attempt"] for e in workspace.audit_log(study.id) if e.action == "record_job_wrote"] == [
        replacement.attempt
    ]


def test_a_stale_attempt_in_this_process_is_refused(workspace):
    """The fence on the workspace: once another attempt holds the job, writes raise."""
    study = workspace.create_study("fence here")
    jid = jobs.submit(
        workspace, target="deeprules_core.jobs:echo_job", kind="echo", study_id=study.id, start=False
    )
    from sqlalchemy import update

    from deeprules_core.store import _schema as T

    def steal(ctx):
        with workspace.engine.begin() as c:  # someone else is given the job
            c.execute(update(T.jobs).where(T.jobs.c.id == ctx.job_id).values(attempt="another"))
        ctx.workspace.put_json(study.id, "results", "stolen", {"x": 1})  # fenced

    import deeprules_core.jobs._targets as targets

    targets.steal_job = steal
    try:
        with workspace.transaction() as c:
            c.execute(
                update(T.jobs)
                .where(T.jobs.c.id == jid)
                .values(params='{"_target": "deeprules_core.jobs._targets:steal_job"}')
            )
        job = jobs.run_job(workspace, jid)
    finally:
        del targets.steal_job
    assert job.status == "running" and job.attempt == "another"  # nothing written by the old one
    assert workspace.get_json(study.id, "results", "stolen") is None
    assert workspace.write_fence is None


def test_starting_a_step_twice_returns_the_job_already_there(workspace):
    study = workspace.create_study("dedupe")
    kw = dict(target="deeprules_core.jobs:echo_job", kind="baselines", study_id=study.id, start=False)
    ids: list[str] = []
    threads = [threading.Thread(target=lambda: ids.append(jobs.submit(workspace, **kw))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1 and len(ids) == 4
    assert len(jobs.list_jobs(workspace, study.id)) == 1
    other = jobs.submit(workspace, **{**kw, "kind": "deep_learning"})
    assert other != ids[0]
    assert jobs.run_job(workspace, ids[0]).status == "done"
    assert jobs.submit(workspace, **kw) != ids[0]  # finished: a new run is a new job


def test_cancelling_and_failing_are_audited(workspace):
    study = workspace.create_study("audit")
    queued = jobs.submit(
        workspace, target="deeprules_core.jobs:echo_job", kind="echo", study_id=study.id, start=False
    )
    jobs.cancel(workspace, queued)
    assert jobs.get_job(workspace, queued).status == "cancelled"
    bad = jobs.submit(
        workspace,
        target="deeprules_core.jobs:sleep_job",
        kind="bad",
        params={"seconds": "soon"},
        study_id=study.id,
        start=False,
    )
    assert jobs.run_job(workspace, bad).status == "failed"
    log = {e.action: e.detail for e in workspace.audit_log(study.id)}
    assert log["job_cancelled"]["job"] == queued and "before it started" in log["job_cancelled"]["reason"]
    assert log["job_failed"]["job"] == bad and "ValueError" in log["job_failed"]["reason"]


def test_a_crashed_job_is_reaped_with_an_audit_entry(workspace):
    study = workspace.create_study("crash")
    jid = jobs.submit(workspace, target="deeprules_core.jobs:crash_job", kind="crash", study_id=study.id)
    assert jobs.wait(workspace, jid, timeout=60).status == "failed"
    (entry,) = [e for e in workspace.audit_log(study.id) if e.action == "job_reaped"]
    assert entry.detail["job"] == jid and "stopped without finishing" in entry.detail["reason"]


@pytest.mark.parametrize("raw", ["two", "0"])
def test_a_bad_limit_is_refused_with_its_name(monkeypatch, raw):
    from deeprules_core.errors import JobError

    monkeypatch.setenv("DEEPRULES_MAX_JOBS", raw)
    with pytest.raises(JobError, match="DEEPRULES_MAX_JOBS"):
        jobs.max_jobs()
