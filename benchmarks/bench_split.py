"""Benchmark: replicate-aware split of 100,000 rows in 20,000 groups (target < 2 s).

Run by hand: ``python benchmarks/bench_split.py [--rows 100000 --groups 20000]``.
Prints the best of three timings per case and its ratio to the target.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deeprules_core.split import audit_split, make_split, split_summary  # noqa: E402
from deeprules_core.study import Roles  # noqa: E402

TARGET_S = 2.0


def table(rows: int, groups: int, features: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.sort(rng.integers(0, groups, rows))  # uneven group sizes (Poisson-like)
    label = rng.choice(["healthy", "mild", "severe"], groups, p=[0.6, 0.3, 0.1])[g]
    site = rng.choice([f"site{i}" for i in range(8)], groups)[g]
    df = pd.DataFrame({"sample_id": [f"S{i}" for i in range(rows)], "donor": g, "label": label, "site": site})
    X = rng.normal(size=(rows, features)).astype(np.float32)
    return pd.concat([df, pd.DataFrame(X, columns=[f"f{j}" for j in range(features)])], axis=1)


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--groups", type=int, default=20_000)
    ap.add_argument("--features", type=int, default=50)
    args = ap.parse_args()
    df = table(args.rows, args.groups, args.features)
    roles = Roles(id="sample_id", label="label", group="donor", batch=("site",))
    print(f"{len(df):,} rows, {df['donor'].nunique():,} groups, {args.features} features")
    cases = {
        "group split + 5 CV folds": lambda: make_split(df, roles, strategy="group", n_folds=5),
        "group split, no folds": lambda: make_split(df, roles, strategy="group", n_folds=0),
        "stratified rows + 5 folds": lambda: make_split(
            df, Roles(id="sample_id", label="label"), strategy="stratified"
        ),
        "leave-batch-out + 5 folds": lambda: make_split(df, roles, strategy="leave_batch_out"),
    }
    split = None
    for name, fn in cases.items():
        t, out = best_of(fn)
        split = split or out
        print(f"  {name:28s} {t:6.2f} s   ratio to the {TARGET_S:.0f} s target: {t / TARGET_S:.2f}")
    t, findings = best_of(lambda: audit_split(df, roles, split), repeat=1)
    print(f"  {'leakage audit':28s} {t:6.2f} s   findings: {[f.code for f in findings]}")
    t, _ = best_of(lambda: split_summary(df, roles, split), repeat=1)
    print(f"  {'split summary':28s} {t:6.2f} s")
    print(
        "  max class-share deviation:",
        split.params["class_share_max_deviation"],
        "groups:",
        split.params["n_groups"],
    )


if __name__ == "__main__":
    main()
