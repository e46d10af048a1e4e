"""Tiny job targets with known answers, for the tests and the benchmarks."""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy import text

from ._records import JobContext

__all__ = ["echo_job", "sleep_job", "crash_job", "record_job", "query_job"]


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


def query_job(ctx: JobContext) -> dict[str, Any]:
    """Wait ``seconds`` inside one database query (tests that a cancel landing in the
    middle of a database call still reads as a cancel)."""
    seconds = float(ctx.params.get("seconds", 1.0))
    ctx.progress(0.5, "querying")
    ws = ctx.workspace
    with ws.connect() as c:
        if ws.engine.dialect.name == "postgresql":
            c.execute(text("SELECT pg_sleep(:s)"), {"s": seconds})
        else:  # SQLite has no sleep: count far enough to take a while
            n = int(seconds * 5_000_000)
            c.execute(
                text(
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) SELECT count(*) FROM c"
                ),
                {"n": n},
            ).scalar_one()
    return {"queried": seconds}
