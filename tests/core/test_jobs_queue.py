"""The fair queue: a server-wide and a per-user limit, round-robin between users, and
jobs that outlive the app that started them."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from deeprules_core import jobs
from deeprules_core.store import Workspace


def _as(home: Path, user: str) -> Workspace:
    return Workspace(home, user=user)


def _max_overlap(intervals: list[tuple[str, str]]) -> int:
    events = sorted(
        [(datetime.fromisoformat(a), 1) for a, _ in intervals]
        + [(datetime.fromisoformat(b), -1) for _, b in intervals],
        key=lambda e: (e[0], e[1]),  # an end before a start at the same instant
    )
    live = peak = 0
    for _, step in events:
        live += step
        peak = max(peak, live)
    return peak


def test_ten_jobs_of_three_users_two_at_a_time_round_robin(_isolated_workspace, monkeypatch):
    monkeypatch.setenv("DEEPRULES_MAX_JOBS", "2")
    users = ["alice"] * 4 + ["bob"] * 3 + ["carol"] * 3
    spaces = {u: _as(_isolated_workspace, u) for u in set(users)}
    ids = []
    for u in users:  # everything is queued before the first slot is handed out
        jid = jobs.submit(
            spaces[u],
            target="deeprules_core.jobs:sleep_job",
            kind="sleep",
            params={"seconds": 0.3},
            start=False,
        )
        ids.append(jid)
    ws = Workspace(_isolated_workspace)  # the server's administrator sees every job
    assert ws.user.is_admin
    from sqlalchemy import update

    from deeprules_core.store import _schema as T

    with ws.transaction() as c:  # start=False keeps jobs for run_job; these go to the queue
        c.execute(update(T.jobs).values(executor="local"))
    # before anything runs, the page can say where each job stands
    assert jobs.queue_position(ws, ids[7]) == 2  # carol's first: alice's and bob's first go before
    assert jobs.queue_position(ws, ids[1]) == 3
    jobs.dispatch(ws)
    peak_seen = 0
    deadline = time.monotonic() + 180
    while True:
        all_jobs = jobs.list_jobs(ws)  # reaps and hands out free slots, as the page does
        running = [j for j in all_jobs if j.claimed]
        peak_seen = max(peak_seen, len(running))
        assert len(running) <= 2
        if all(j.finished for j in all_jobs):
            break
        assert time.monotonic() < deadline, [(j.owner, j.status) for j in all_jobs]
        time.sleep(0.05)
    done = jobs.list_jobs(ws)
    assert [j.status for j in done] == ["done"] * 10, [j.error for j in done]
    assert {j.owner for j in done} == {"alice", "bob", "carol"}
    by_start = sorted(done, key=lambda j: j.started_at)
    assert [j.owner for j in by_start] == ["alice", "bob", "carol"] * 3 + ["alice"]
    assert _max_overlap([(j.started_at, j.finished_at) for j in done]) <= 2
    assert peak_seen == 2


def test_the_per_user_limit_lets_another_user_through(_isolated_workspace, monkeypatch):
    monkeypatch.setenv("DEEPRULES_MAX_JOBS", "3")
    monkeypatch.setenv("DEEPRULES_MAX_JOBS_PER_USER", "1")
    alice, bob = _as(_isolated_workspace, "alice"), _as(_isolated_workspace, "bob")
    a = [
        jobs.submit(alice, target="deeprules_core.jobs:sleep_job", kind="s", params={"seconds": 20})
        for _ in "xy"
    ]
    b = jobs.submit(bob, target="deeprules_core.jobs:sleep_job", kind="s", params={"seconds": 20})
    admin = Workspace(_isolated_workspace)
    try:
        states = {j: jobs.get_job(admin, j) for j in [*a, b]}
        assert states[a[0]].claimed and states[b].claimed
        assert not states[a[1]].claimed and jobs.queue_position(alice, a[1]) == 0
    finally:
        for j in [*a, b]:
            jobs.cancel(admin, j)
    for j in [*a, b]:
        assert jobs.wait(admin, j, timeout=60).status == "cancelled"


SUBMIT = """
import sys
from deeprules_core import jobs
from deeprules_core.store import Workspace
ws = Workspace()
for s in (2.0, 0.2):
    print(jobs.submit(ws, target="deeprules_core.jobs:sleep_job", kind="sleep", params={"seconds": s}))
"""


def test_jobs_outlive_the_app_and_queued_ones_start_when_a_slot_frees(_isolated_workspace, monkeypatch):
    """An 'app' process submits two jobs with one slot and exits; the running job keeps
    running and is found again, and the queued one starts when it ends, with no app."""
    monkeypatch.setenv("DEEPRULES_MAX_JOBS", "1")
    out = subprocess.run(
        [sys.executable, "-c", SUBMIT], capture_output=True, text=True, check=True, timeout=120
    )
    first, second = out.stdout.split()
    ws = Workspace(_isolated_workspace)  # the restarted app
    a, b = jobs.get_job(ws, first), jobs.get_job(ws, second)
    assert a.claimed and a.pid and not b.claimed
    assert jobs.queue_position(ws, second) == 0
    deadline = time.monotonic() + 120
    while not jobs.get_job(ws, second).finished:  # only reading: no reap, no dispatch from here
        assert time.monotonic() < deadline
        time.sleep(0.1)
    a, b = jobs.get_job(ws, first), jobs.get_job(ws, second)
    assert (a.status, b.status) == ("done", "done"), (a.error, b.error)
    assert a.pid == jobs.get_job(ws, first).pid and b.started_at >= a.finished_at
