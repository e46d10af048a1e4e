"""Benchmark (issue 16): the cost of storing a very wide table, and the peak memory of an upload.

Run by hand from the repository root::

    python benchmarks/bench_faults.py wide [--rows 50] [--cols 100000]
    python benchmarks/bench_faults.py upload [--rows 2000] [--cols 20000]

``wide``: ``audit`` of a 100,000-column CSV against ``ingest`` of the same file (read,
hash, store the bytes, write the Parquet cache, record the provenance) and reopening it.
Target: ingest <= 1.5x audit.

``upload``: what the app does when "Save dataset" is pressed on a 2,000 x 20,000 upload
(the bytes are in the server's memory; ``ingest`` with a progress callback), in a fresh
process; the peak resident memory above the process's baseline (after imports) is compared
with the table's in-memory size. Target: < 3x. The progress messages are printed with their
times, as the app's progress bar shows them.
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "_data"


def make_csv(rows: int, cols: int, seed: int = 0) -> Path:
    path = DATA / f"faults_{rows}x{cols}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    header = ["sample_id", "label"] + [f"g{i:06d}" for i in range(cols)]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(header) + "\n")
        for r in range(rows):
            vals = np.round(rng.normal(5, 2, size=cols), 3).astype(str)
            fh.write(f"S{r:05d},{'case' if r % 2 else 'control'}," + ",".join(vals) + "\n")
    return path


def _prov():  # noqa: ANN202
    from deeprules_core.intake import Provenance

    return Provenance(
        source="lab:BENCH-1", version="1", download_date="2026-12-03", licence="CC0", entered_by="bench"
    )


def wide(rows: int, cols: int) -> None:
    from deeprules_core.audit import audit_file
    from deeprules_core.intake import ingest, load_dataset
    from deeprules_core.store import Workspace
    from deeprules_core.study import Roles

    path = make_csv(rows, cols)
    roles = Roles(id="sample_id", label="label")
    print(f"{path.name}: {path.stat().st_size / 2**20:,.1f} MB")
    t0 = time.perf_counter()
    audit_file(path, roles)
    t_audit = time.perf_counter() - t0
    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        t0 = time.perf_counter()
        _, info = ingest(ws, path.read_bytes(), name=path.name, provenance=_prov())
        t_ingest = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = load_dataset(ws, info.id)
        t_load = time.perf_counter() - t0
        assert df.shape == (rows, cols + 2)
    print(
        f"audit {t_audit:.2f} s; ingest {t_ingest:.2f} s (**{t_ingest / t_audit:.2f}x** audit); reopen {t_load:.2f} s"
    )


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def upload_child(rows: int, cols: int) -> None:
    import pandas as pd  # noqa: F401

    from deeprules_core.intake import ingest, load_dataset
    from deeprules_core.store import Workspace

    path = make_csv(rows, cols)
    data = path.read_bytes()  # the upload, held by the server
    base = _rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        t0 = time.perf_counter()

        def show(f: float, m: str) -> None:
            print(f"  {time.perf_counter() - t0:6.1f} s  [{f:4.0%}] {m}", flush=True)

        _, info = ingest(ws, data, name=path.name, provenance=_prov(), progress=show)
        took = time.perf_counter() - t0
        del data
        df = load_dataset(ws, info.id)  # the page shows the table right after saving
        table_mb = df.memory_usage(deep=True).sum() / 2**20
    peak = _rss_mb()
    print(
        f"table in memory {table_mb:,.0f} MB; upload bytes {path.stat().st_size / 2**20:,.0f} MB; save {took:.1f} s; "
        f"peak above baseline {peak - base:,.0f} MB = **{(peak - base) / table_mb:.2f}x** the table "
        f"(baseline {base:,.0f} MB incl. the upload)"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("wide", "upload", "_upload_child"))
    ap.add_argument("--rows", type=int)
    ap.add_argument("--cols", type=int)
    a = ap.parse_args()
    if a.what == "wide":
        wide(a.rows or 50, a.cols or 100_000)
    elif a.what == "upload":
        make_csv(a.rows or 2000, a.cols or 20_000)
        subprocess.run(
            [
                sys.executable,
                __file__,
                "_upload_child",
                "--rows",
                str(a.rows or 2000),
                "--cols",
                str(a.cols or 20_000),
            ],
            check=True,
        )
    else:
        upload_child(a.rows, a.cols)


if __name__ == "__main__":
    main()
