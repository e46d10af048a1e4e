"""Executor configuration and the reasons given for a cluster job's end (no cluster needed)."""

from __future__ import annotations

import pytest

from deeprules_core.errors import JobError
from deeprules_core.jobs import ExecutorConfig
from deeprules_core.jobs._executors import GPU_KINDS, _outcome
from deeprules_core.jobs._records import Job


def test_slurm_settings_come_from_the_environment(monkeypatch):
    for k, v in {
        "DEEPRULES_EXECUTOR": "SLURM",
        "DEEPRULES_SLURM_PARTITION": "gpu",
        "DEEPRULES_SLURM_TIME_MIN": "90",
        "DEEPRULES_SLURM_MEM_GB": "16",
        "DEEPRULES_SLURM_CPUS": "8",
        "DEEPRULES_SLURM_GPUS": "1",
    }.items():
        monkeypatch.setenv(k, v)
    config = ExecutorConfig.from_env()
    assert config.executor == "slurm"
    deep = config.slurm_parameters("deep_learning", gpu="deep_learning" in GPU_KINDS)
    assert deep["partition"] == "gpu" and deep["time"] == 90 and deep["mem"] == "16384MB"
    assert deep["cpus_per_task"] == 8 and deep["gpus_per_node"] == 1
    assert "gpus_per_node" not in config.slurm_parameters("baselines", gpu="baselines" in GPU_KINDS)
    monkeypatch.setenv("DEEPRULES_SLURM_GPUS", "0")
    assert "gpus_per_node" not in ExecutorConfig.from_env().slurm_parameters("deep_learning", gpu=True)
    assert ExecutorConfig.from_env("local").executor == "local"  # run --executor wins


def test_an_unknown_executor_is_refused_with_what_to_set(monkeypatch):
    monkeypatch.setenv("DEEPRULES_EXECUTOR", "kubernetes")
    with pytest.raises(JobError, match="DEEPRULES_EXECUTOR"):
        ExecutorConfig.from_env()


def _job(**kw) -> Job:
    base = dict(
        id="j",
        study_id=None,
        kind="baselines",
        params={"_slurm": {"time": 30, "mem": "4096MB"}},
        status="running",
        progress=0.5,
        message="",
        result=None,
        error=None,
        pid=1,
        created_at="2026-01-01T00:00:00+00:00",
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
        cancel_requested=False,
        executor="slurm",
        external_id="7",
    )
    return Job(**{**base, **kw})


@pytest.mark.parametrize(
    ("state", "status", "words"),
    [
        ("TIMEOUT", "failed", "time limit of 30 min"),
        ("OUT_OF_MEMORY", "failed", "ran out of memory on node n1 (it had 4096MB)"),
        ("NODE_FAIL", "failed", "node the job ran on failed"),
        ("PREEMPTED", "failed", "preempted"),
        ("FAILED", "failed", "killed or crashed"),
        ("COMPLETED", "failed", "without reporting a result"),
        ("CANCELLED by 0", "cancelled", "cancelled on the cluster"),
    ],
)
def test_each_way_a_cluster_job_ends_has_its_reason(state, status, words):
    got_status, reason = _outcome(_job(), state, "n1", "/logs/7_0_log.out")
    assert got_status == status and words in reason


def test_a_cancel_from_the_page_is_the_users():
    assert _outcome(_job(cancel_requested=True), "CANCELLED by 0", "n1", "x") == (
        "cancelled",
        "cancelled by the user",
    )


def test_openmp_threads_sleep_rather_than_spin_unless_the_user_says_otherwise():
    # spinning OpenMP threads made one boosting fit 9x slower on a busy 2-core server
    import os
    import subprocess
    import sys

    code = "import deeprules_core, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "PASSIVE"
    env["OMP_WAIT_POLICY"] = "ACTIVE"
    got = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "ACTIVE"
