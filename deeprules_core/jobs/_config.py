"""Where jobs run and how many at once: read from environment variables.

=============================== ======================================================
``DEEPRULES_EXECUTOR``          ``local`` (a process on this machine, the default) or
                                ``slurm`` (a SLURM job submitted through submitit)
``DEEPRULES_MAX_JOBS``          local jobs running at once on this server (default:
                                the number of CPU cores)
``DEEPRULES_MAX_JOBS_PER_USER`` of which one user may hold at most (default: the
                                server limit; the queue is round-robin between users)
``DEEPRULES_SLURM_PARTITION``   partition (default: the cluster's default)
``DEEPRULES_SLURM_TIME_MIN``    time limit of a job, minutes (default 60)
``DEEPRULES_SLURM_MEM_GB``      memory of a job, GB (default 4)
``DEEPRULES_SLURM_CPUS``        CPUs of a job (default 1)
``DEEPRULES_SLURM_GPUS``        GPUs of a deep-learning job or trial (default 0)
``DEEPRULES_SEARCH_WORKERS``    array tasks of a spread search (default 4)
``DEEPRULES_OPTUNA_URL``        shared Optuna storage of spread searches (default: a
                                ``optuna`` schema in the workspace's PostgreSQL, else
                                an SQLite file in the workspace: one machine only)
``DEEPRULES_JOB_STALE_S``       a running job silent this long is failed (default 60)
``DEEPRULES_JOB_HEARTBEAT_S``   how often a running job says it is alive (default 5)
=============================== ======================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from ..errors import JobError

__all__ = ["ExecutorConfig", "EXECUTORS", "max_jobs", "max_jobs_per_user", "stale_after_s", "heartbeat_s"]

EXECUTORS = ("local", "slurm")


def _number(name: str, default: float, *, minimum: float = 0) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise JobError(
            f"{name} must be a number. Got {raw!r}. Fix it in the server's environment and restart."
        ) from None
    if value < minimum:
        raise JobError(f"{name} must be at least {minimum:g}. Got {raw!r}.")
    return value


def max_jobs() -> int:
    """Local jobs that may run at once on this server (``DEEPRULES_MAX_JOBS``)."""
    return int(_number("DEEPRULES_MAX_JOBS", max(os.cpu_count() or 1, 1), minimum=1))


def max_jobs_per_user() -> int:
    """Local jobs one user may run at once (``DEEPRULES_MAX_JOBS_PER_USER``)."""
    return int(_number("DEEPRULES_MAX_JOBS_PER_USER", max_jobs(), minimum=1))


def stale_after_s() -> float:
    return _number("DEEPRULES_JOB_STALE_S", 60.0, minimum=0.1)


def heartbeat_s() -> float:
    return _number("DEEPRULES_JOB_HEARTBEAT_S", 5.0, minimum=0.05)


@dataclass(frozen=True)
class ExecutorConfig:
    """Where a job runs and what it asks of the cluster.

    Examples
    --------
    >>> ExecutorConfig(executor="slurm", time_min=30).slurm_parameters("baselines", gpu=False)["time"]
    30
    """

    executor: str = "local"
    partition: str | None = None
    time_min: int = 60
    mem_gb: float = 4.0
    cpus: int = 1
    gpus: int = 0
    search_workers: int = 4
    optuna_url: str | None = None

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise JobError(
                f"The executor must be one of {', '.join(EXECUTORS)}. Got {self.executor!r}: set "
                "DEEPRULES_EXECUTOR (or run --executor) to 'local' or 'slurm'."
            )

    @classmethod
    def from_env(cls, executor: str | None = None) -> ExecutorConfig:
        """The configuration in the environment; ``executor`` overrides ``DEEPRULES_EXECUTOR``."""
        return cls(
            executor=(executor or os.environ.get("DEEPRULES_EXECUTOR") or "local").strip().lower(),
            partition=os.environ.get("DEEPRULES_SLURM_PARTITION") or None,
            time_min=int(_number("DEEPRULES_SLURM_TIME_MIN", 60, minimum=1)),
            mem_gb=_number("DEEPRULES_SLURM_MEM_GB", 4.0, minimum=0.1),
            cpus=int(_number("DEEPRULES_SLURM_CPUS", 1, minimum=1)),
            gpus=int(_number("DEEPRULES_SLURM_GPUS", 0)),
            search_workers=int(_number("DEEPRULES_SEARCH_WORKERS", 4, minimum=1)),
            optuna_url=os.environ.get("DEEPRULES_OPTUNA_URL") or None,
        )

    def with_executor(self, executor: str) -> ExecutorConfig:
        return replace(self, executor=executor)

    def slurm_parameters(self, name: str, *, gpu: bool) -> dict[str, object]:
        """submitit's ``SlurmExecutor`` parameters for one job (``gpu``: a deep-learning job)."""
        params: dict[str, object] = {
            "job_name": f"deeprules-{name}"[:60],
            "time": self.time_min,
            "mem": f"{max(int(self.mem_gb * 1024), 100)}MB",
            "cpus_per_task": self.cpus,
            # the time-out warning (SIGUSR2) comes this long before the limit
            "signal_delay_s": min(30, max(self.time_min * 60 // 6, 5)),
            "stderr_to_stdout": True,
        }
        if self.partition:
            params["partition"] = self.partition
        if gpu and self.gpus > 0:
            params["gpus_per_node"] = self.gpus
        return params
