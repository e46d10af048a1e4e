"""Speed and memory of every check of the Checks step on already-parsed tables.

Targets (issue #3): 2,000 x 20,000 in at most 10 s, 20,000 x 500 in at most 5 s on the
2-core machine, peak memory under 4x the table's in-memory size.

    python benchmarks/bench_checks.py            # both shapes
    python benchmarks/bench_checks.py 2000 20000 # one shape

Timings are the best of ``--repeat`` runs (default 2), wall clock and CPU time (all
threads; on a shared machine the wall clock mostly measures the other users). The peak
memory is measured on a separate run with tracemalloc (numpy reports its buffers to
it). The load average is printed because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deeprules_core.checks import run_checks  # noqa: E402
from deeprules_core.study import Design, Roles  # noqa: E402

TARGETS = {(2000, 20000): 10.0, (20000, 500): 5.0}


def make_table(n: int, p: int, seed: int = 0) -> pd.DataFrame:
    """Log-expression-like features with some missing values, plus metadata columns."""
    rng = np.random.default_rng(seed)
    X = rng.normal(5.0, 1.0, size=(n, p))
    X[rng.random((n, p)) < 0.01] = np.nan
    feats = pd.DataFrame(X, columns=[f"gene{i}" for i in range(p)])
    meta = pd.DataFrame(
        {
            "sample_id": [f"S{i:06d}" for i in range(n)],
            "label": rng.permutation(np.resize(["tumour", "normal"], n)),
            "plate": np.resize([f"plate{i}" for i in range(8)], n),
            "sex": np.resize(["female", "male"], n),
            "age": rng.integers(20, 90, n),
        }
    )
    return pd.concat([meta, feats], axis=1)


def bench(n: int, p: int, repeat: int) -> dict[str, float]:
    df = make_table(n, p)
    roles = Roles(id="sample_id", label="label", batch=("plate",), covariates=("sex", "age"))
    size = df.memory_usage(deep=True).sum()
    times, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        findings = run_checks(df, roles, design=Design())
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    tracemalloc.start()
    run_checks(df, roles, design=Design())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": min(times),
        "cpu_seconds": min(cpu),
        "table_mb": size / 2**20,
        "peak_mb": peak / 2**20,
        "peak_ratio": peak / size,
        "n_findings": len(findings),
        "codes": sorted({f.code for f in findings}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shape", nargs="*", type=int, help="rows columns")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    shapes = [tuple(args.shape)] if args.shape else list(TARGETS)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for n, p in shapes:
        r = bench(n, p, args.repeat)
        target = TARGETS.get((n, p))
        verdict = "" if target is None else f"  target {target:.0f} s: ratio {r['seconds'] / target:.2f}"
        print(
            f"{n:>6} x {p:<6} {r['seconds']:6.2f} s wall, {r['cpu_seconds']:6.2f} s CPU{verdict}  | table {r['table_mb']:.0f} MB, "
            f"peak {r['peak_mb']:.0f} MB = {r['peak_ratio']:.2f}x (target < 4x) | findings: {r['codes']}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
