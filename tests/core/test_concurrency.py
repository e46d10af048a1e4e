"""Eight processes at once, on SQLite and on PostgreSQL: every save lands or is refused as
a conflict (none is lost, no raw database error), and eight processes opening a new
workspace all succeed. (The 30-second version is ``benchmarks/store_hammer.py``.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import store_hammer  # noqa: E402

from deeprules_core.store import Workspace  # noqa: E402

pytestmark = pytest.mark.slow


def test_eight_processes_saving_one_study_lose_nothing(db_url, tmp_path):
    owner = Workspace(tmp_path, db_url=db_url, user="owner")
    study = owner.create_study("Hammered")
    users = [f"w{k}" for k in range(8)]
    for u in users:
        owner.share_study(study.id, u, "editor")
    outcomes = store_hammer.run_savers(db_url, str(tmp_path), study.id, users, 3.0, str(tmp_path))
    errors = [o["error"] for o in outcomes if o["result"] == "error"]
    assert errors == []
    saved = [o for o in outcomes if o["result"] == "saved"]
    assert len({o["kind"] for o in saved}) == 3  # steps, design answers and acknowledgements landed
    assert store_hammer.lost_saves(owner, study.id, outcomes) == []
    # one version per landed save (plus the creation), numbered without gaps
    assert [v for v, _ in owner.study_history(study.id)] == list(range(1, len(saved) + 2))
    assert sorted(o["version"] for o in saved) == list(range(2, len(saved) + 2))


def test_eight_processes_opening_a_new_workspace_all_succeed(empty_db_url, tmp_path):
    db_url = empty_db_url
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start_at = time.time() + 4.0  # all eight are imported and waiting by then
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "store_hammer.py"),
                "open",
                db_url,
                str(tmp_path),
                str(start_at),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outputs == ["ok"] * 8
    ws = Workspace(tmp_path, db_url=db_url)
    assert ws.list_studies() == [] and ws.count("studies") == 0
