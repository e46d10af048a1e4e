"""Benchmark: ``audit`` end to end on a wide CSV against a bare ``pandas.read_csv``.

Run by hand from the repository root (a few minutes, ~3 GB of memory)::

    python benchmarks/bench_audit.py [--rows 2000] [--cols 20000]

Writes ``benchmarks/_data/audit_<rows>x<cols>.csv`` once (gitignored): a sample id, a
balanced label, a plate and ``cols`` log-expression-like features. Times, in one run and
interleaved: bare ``read_csv`` (C engine), ``audit_file`` in this process, and the
command line (``python -m deeprules_core audit``, start-up included). Target (issue #3):
audit at most 2x the bare parse.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deeprules_core.audit import audit_file  # noqa: E402
from deeprules_core.study import Roles  # noqa: E402

DATA = ROOT / "benchmarks" / "_data"


def make_csv(rows: int, cols: int, seed: int = 0) -> Path:
    path = DATA / f"audit_{rows}x{cols}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    X = rng.normal(8.0, 1.5, size=(rows, cols)).round(3)
    df = pd.DataFrame(X, columns=[f"g{i:05d}" for i in range(cols)])
    df.insert(0, "sample_id", [f"S{i:05d}" for i in range(rows)])
    df.insert(1, "label", rng.permutation(np.repeat(["case", "control"], rows // 2 + 1)[:rows]))
    df.insert(2, "plate", rng.choice(["p1", "p2", "p3", "p4"], size=rows))
    df.to_csv(path, index=False)
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--cols", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    path = make_csv(args.rows, args.cols)
    roles = Roles(id="sample_id", label="label", batch=("plate",))
    bare, inproc, cli = [], [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        pd.read_csv(path, engine="c")
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = audit_file(path, roles)
        inproc.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "deeprules_core",
                "audit",
                str(path),
                "--label",
                "label",
                "--id",
                "sample_id",
                "--batch",
                "plate",
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        cli.append(time.perf_counter() - t)
    b, i, c = min(bare), min(inproc), min(cli)
    print(f"table {args.rows} x {args.cols + 3}, {path.stat().st_size / 1e6:.0f} MB")
    print(f"bare read_csv (C)      {b:7.2f} s")
    print(f"audit_file (in process){i:7.2f} s   ratio {i / b:.2f}x")
    print(f"audit command          {c:7.2f} s   ratio {c / b:.2f}x   (target <= 2x)")
    bad = [f for f in result.findings if f.severity != "info"]
    print(f"warnings/errors on this clean table: {len(bad)}")


if __name__ == "__main__":
    main()
