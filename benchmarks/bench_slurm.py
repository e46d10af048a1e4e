"""Benchmark: jobs on SLURM (issue 15).

1. The overhead of one SLURM round trip: a job that returns at once, from ``submit`` to
   its ``done`` status in the store, through submitit and the cluster, against the same
   job as a local process (median of ``--repeats``).
2. The wall time of a 40-trial random-forest search on 1 array task against 4 array tasks
   sharing one Optuna study (and the same search in this process, for reference), with a
   check that the study holds 40 trials, each once.

Needs a running cluster: ``.ci/slurm/start.sh && source /tmp/deeprules-slurm/env.sh``.
Run by hand: ``python benchmarks/bench_slurm.py [--trials 40 --repeats 5]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deeprules_core import jobs  # noqa: E402
from deeprules_core.store import Workspace  # noqa: E402


def round_trip(ws: Workspace, executor: str) -> float:
    t = time.perf_counter()
    jid = jobs.submit(
        ws, target="deeprules_core.jobs:echo_job", kind="echo", params={"x": 1}, executor=executor
    )
    job = jobs.wait(ws, jid, timeout=300, poll=0.05)
    if job.status != "done":
        raise SystemExit(f"the {executor} job ended {job.status}: {job.error}")
    return time.perf_counter() - t


def search(workers: int | None, trials: int) -> tuple[float, list[int]]:
    """Wall time of one search, and the trial numbers recorded in its study."""
    from deeprules_core.modeling._tuning import prepare_folds, tune_family

    rng = np.random.default_rng(0)
    n, p = 600, 40
    X = rng.normal(size=(n, p))
    y = (X[:, :3].sum(axis=1) + rng.normal(size=n) > 0).astype(int)
    rows = np.arange(n)
    folds = prepare_folds(
        X, [(rows[rows % 5 != k], rows[rows % 5 == k]) for k in range(5)], y=y, task="classification"
    )
    if workers is None:
        os.environ["DEEPRULES_EXECUTOR"] = "local"
    else:
        os.environ["DEEPRULES_EXECUTOR"] = "slurm"
        os.environ["DEEPRULES_SEARCH_WORKERS"] = str(workers)
    t = time.perf_counter()
    res = tune_family(
        "random_forest", X, y, folds, task="classification", n_classes=2, positive=1, budget=trials
    )
    return time.perf_counter() - t, sorted(tr["number"] for tr in res.trials)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench_slurm_"))
    os.environ["DEEPRULES_HOME"] = str(home)
    os.environ["DEEPRULES_SLURM_TIME_MIN"] = "30"
    ws = Workspace(home)

    local = [round_trip(ws, "local") for _ in range(args.repeats)]
    slurm = [round_trip(ws, "slurm") for _ in range(args.repeats)]
    ml, ms = statistics.median(local), statistics.median(slurm)
    print(f"round trip, local process: median {ml:.2f} s  {[round(x, 2) for x in local]}")
    print(f"round trip, SLURM job:     median {ms:.2f} s  {[round(x, 2) for x in slurm]}")
    print(f"SLURM overhead over a local process: {ms - ml:+.2f} s")

    for workers in (None, 1, 4):
        wall, numbers = search(workers, args.trials)
        where = "in this process" if workers is None else f"{workers} array task(s)"
        once = numbers == list(range(args.trials))
        print(
            f"{args.trials}-trial search, {where}: {wall:.1f} s; {len(numbers)} trials recorded, each once: {once}"
        )


if __name__ == "__main__":
    main()
