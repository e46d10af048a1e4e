"""Many processes against one store: the concurrency test's worker and a benchmark.

Worker modes (one process each; the test and the benchmark start several at once):

- ``open URL HOME START_AT``: open the workspace (creating it when new) at the given
  wall-clock time, print ``ok`` or the error.
- ``save URL HOME STUDY_ID USER SECONDS OUT``: for SECONDS, read the study, wait a little
  (so saves overlap), change it and save: a new step (merged when someone saved in between),
  the design question (refused as a conflict then), or an acknowledgement. Writes every
  outcome (saved at version v / conflict / error) to OUT as JSON.

Benchmark: ``python benchmarks/store_hammer.py bench [SECONDS] [URL]`` runs 8 savers for
SECONDS (default 30) on SQLite (and on the PostgreSQL URL when given) and prints what
landed, what was refused and whether anything was lost.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _open(url: str, home: str, start_at: float) -> int:
    from deeprules_core.store import Workspace

    time.sleep(max(0.0, start_at - time.time()))
    try:
        Workspace(home, db_url=url)
    except Exception as exc:  # noqa: BLE001 - the worker reports any failure
        print(f"error {type(exc).__name__}: {exc}")
        return 1
    print("ok")
    return 0


def _save(url: str, home: str, study_id: str, user: str, seconds: float, out: str) -> int:
    from deeprules_core.errors import ConflictError
    from deeprules_core.store import Workspace
    from deeprules_core.study import Acknowledgement, StepRecord

    ws = Workspace(home, db_url=url, user=user)
    rng = random.Random(user)
    outcomes: list[dict[str, Any]] = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        marker = f"{user}-{i}"
        kind = ("step", "design", "step", "ack")[i % 4]
        try:
            study = ws.get_study(study_id)
            time.sleep(rng.random() * 0.01)  # someone else may save meanwhile
            if kind == "step":
                changed = study.with_step(StepRecord(step="hammer", params={"marker": marker}))
            elif kind == "design":
                from dataclasses import replace

                changed = study.with_design(replace(study.design, question=marker))
            else:
                changed = study.with_acknowledgement(Acknowledgement(finding_key=marker, justification="ok"))
            saved = ws.save_study(changed, action=f"hammer_{kind}", detail={"marker": marker})
            outcomes.append({"kind": kind, "marker": marker, "result": "saved", "version": saved.version})
        except ConflictError:
            outcomes.append({"kind": kind, "marker": marker, "result": "conflict"})
        except Exception as exc:  # noqa: BLE001 - anything else is a failure the test reports
            outcomes.append(
                {"kind": kind, "marker": marker, "result": "error", "error": f"{type(exc).__name__}: {exc}"}
            )
    Path(out).write_text(json.dumps(outcomes), encoding="utf-8")
    return 0


def run_savers(
    url: str, home: str, study_id: str, users: list[str], seconds: float, folder: str
) -> list[dict[str, Any]]:
    """Start one saver per user at once; return every outcome."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs, outs = [], []
    for user in users:
        out = os.path.join(folder, f"{user}.json")
        outs.append(out)
        cmd = [sys.executable, __file__, "save", url, home, study_id, user, str(seconds), out]
        procs.append(subprocess.Popen(cmd, env=env))
    for p in procs:
        p.wait(timeout=seconds + 120)
    outcomes: list[dict[str, Any]] = []
    for out in outs:
        outcomes += json.loads(Path(out).read_text(encoding="utf-8"))
    return outcomes


def lost_saves(ws: Any, study_id: str, outcomes: list[dict[str, Any]]) -> list[str]:
    """Markers of saves reported as saved but not in the store (empty: nothing lost)."""
    from sqlalchemy import select

    from deeprules_core.store import _schema as T

    final = ws.get_study(study_id)
    lost = []
    steps = [s.params.get("marker") for s in final.steps if s.step == "hammer"]
    acks = [a.finding_key for a in final.acknowledgements]
    with ws.connect() as c:
        deltas = {
            r.version: json.loads(r.delta)
            for r in c.execute(
                select(T.study_versions.c.version, T.study_versions.c.delta).where(
                    T.study_versions.c.study_id == study_id
                )
            )
        }
    for o in outcomes:
        if o["result"] != "saved":
            continue
        if o["kind"] == "step" and steps.count(o["marker"]) != 1:
            lost.append(o["marker"])
        if o["kind"] == "ack" and acks.count(o["marker"]) != 1:
            lost.append(o["marker"])
        if o["kind"] == "design":
            landed = deltas.get(o["version"], {}).get("set", {}).get("design", {}).get("question")
            if landed != o["marker"]:
                lost.append(o["marker"])
    return lost


def bench(seconds: float, urls: list[str]) -> None:
    from deeprules_core.store import Workspace

    for url in urls:
        with tempfile.TemporaryDirectory() as tmp:
            url = url or f"sqlite:///{tmp}/deeprules.sqlite"
            owner = Workspace(tmp, db_url=url, user="owner")
            study = owner.create_study("Hammered")
            users = [f"w{k}" for k in range(8)]
            for u in users:
                owner.share_study(study.id, u, "editor")
            t0 = time.perf_counter()
            outcomes = run_savers(url, tmp, study.id, users, seconds, tmp)
            wall = time.perf_counter() - t0
            saved = sum(o["result"] == "saved" for o in outcomes)
            conflicts = sum(o["result"] == "conflict" for o in outcomes)
            errors = [o["error"] for o in outcomes if o["result"] == "error"]
            lost = lost_saves(owner, study.id, outcomes)
            print(
                f"{url.split(':')[0]}: {len(outcomes)} saves in {wall:.0f} s by 8 processes: {saved} landed, "
                f"{conflicts} refused as conflicts, {len(errors)} errors, {len(lost)} lost; "
                f"versions stored {len(owner.study_history(study.id))}"
            )
            for e in errors[:5]:
                print("  error:", e)
            print("  " + storage(owner, study.id))


def storage(ws: Any, study_id: str) -> str:
    """Bytes stored for the study's versions against one whole record per version (the old store)."""
    from sqlalchemy import func, select

    from deeprules_core.store import _schema as T

    def total(col: Any, where: Any) -> int:
        return int(c.execute(select(func.coalesce(func.sum(func.length(col)), 0)).where(where)).scalar_one())

    with ws.connect() as c:
        stored = (
            total(T.study_versions.c.delta, T.study_versions.c.study_id == study_id)
            + total(T.study_steps.c.record, T.study_steps.c.study_id == study_id)
            + total(T.studies.c.record, T.studies.c.id == study_id)
        )
    whole = sum(
        len(json.dumps(ws.study_version(study_id, v).to_dict(), sort_keys=True))
        for v, _ in ws.study_history(study_id)
    )
    return f"stored {stored / 1e6:.2f} MB; one whole record per version would be {whole / 1e6:.2f} MB"


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "bench"
    if mode == "open":
        sys.exit(_open(sys.argv[2], sys.argv[3], float(sys.argv[4])))
    if mode == "save":
        sys.exit(_save(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6]), sys.argv[7]))
    bench(float(sys.argv[2]) if len(sys.argv) > 2 else 30.0, [""] + sys.argv[3:4])
