"""Tiny job targets with known answers, for the tests and the benchmarks."""

from __future__ import annotations

import os
import time
from typing import Any

from ._records import JobContext

__all__ = ["echo_job", "sleep_job", "crash_job", "record_job"]


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


def record_job(ctx: JobContext) -> dict[str, Any]:
    """Sleep ``seconds`` without reporting, then store a result artifact and an audit line
    through the (fenced) workspace, as a step does at its end (the fencing test)."""
    time.sleep(float(ctx.params.get("seconds", 1.0)))
    sha = ctx.workspace.put_json(str(ctx.study_id), "results", "record_job", {"attempt": ctx.attempt})
    ctx.workspace.log(ctx.study_id, "record_job_wrote", {"attempt": ctx.attempt})
    return {"sha256": sha, "pid": os.getpid()}


def crash_job(ctx: JobContext) -> None:
    """Kill its own process without a word (tests that a crash is marked failed)."""
    os._exit(3)
