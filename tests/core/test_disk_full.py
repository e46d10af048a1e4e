"""A full disk (issue 16): a plain message, nothing half-written left behind, the store usable after.

On a real 2 MB tmpfs when the tests run as root (a real filesystem that fills up), else
with the write made to fail with ENOSPC.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deeprules_core.__main__ import main
from deeprules_core.errors import DiskFullError
from deeprules_core.intake import Provenance, ingest, list_datasets
from deeprules_core.store import Workspace

PROV = Provenance(source="lab:EXP-1", version="1", download_date="2026-01-01", licence="CC0", entered_by="t")


def _mount(path: Path) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True, timeout=20
    )
    return res.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = _mount(disk)
    if not mounted:  # no real small filesystem here: make big writes fail as a full disk would
        real_write = os.write

        def write(fd: int, data: bytes) -> int:
            if len(data) > 1 << 20:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(fd, data)

        import io

        real_open = io.open

        class _Full(io.BufferedWriter):
            def write(self, b):  # type: ignore[override]
                if len(b) > 1 << 20:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return super().write(b)

        def fake_open(file, mode="r", *a, **k):  # type: ignore[no-untyped-def]
            fh = real_open(file, mode, *a, **k)
            if "b" in mode and "w" in mode and str(file).startswith(str(disk)):
                return _Full(fh.raw)
            return fh

        monkeypatch.setattr(os, "write", write)
        monkeypatch.setattr(os, "fdopen", lambda fd, mode="r", *a, **k: fake_open(fd, mode, *a, **k))
    try:
        yield disk
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True, timeout=20)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _big_csv(path: Path, mb: float = 3.0) -> bytes:
    n = int(mb * 2**20 / 200)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(n, 10)), columns=[f"g{i}" for i in range(10)])
    df.insert(0, "label", np.where(np.arange(n) % 2, "a", "b"))
    data = df.to_csv(index=False).encode()
    path.write_bytes(data)
    return data


def test_ingest_on_a_full_disk_is_a_plain_error_and_leaves_nothing(small_disk, tmp_path):
    ws = Workspace(small_disk / "ws")
    before = _files(small_disk)
    free_before = shutil.disk_usage(small_disk).free
    data = _big_csv(tmp_path / "big.csv")
    with pytest.raises(DiskFullError, match=r"disk holding the workspace is full \([\d,]+ MB free"):
        ingest(ws, data, name="big.csv", provenance=PROV)
    assert _files(small_disk) == before  # no .tmp-* blob, no cache file
    assert shutil.disk_usage(small_disk).free >= free_before - 64 * 1024
    assert list_datasets(ws) == []  # the store still answers, and holds no half dataset
    s = ws.create_study("after the full disk")
    assert ws.get_study(s.id).name == "after the full disk"


def _fill(disk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave no free byte on the small disk (or, without one, make every write there fail)."""
    if os.path.ismount(disk):
        with open(disk / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        return
    import deeprules_core._files as files

    def full(fd: int, mode: str = "r", *a: object, **k: object):  # type: ignore[no-untyped-def]
        os.close(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fdopen", full)


def test_audit_json_on_a_full_disk_leaves_no_empty_file(small_disk, tmp_path, capsys, monkeypatch):
    data = tmp_path / "t.csv"
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(40, 5)), columns=[f"g{i}" for i in range(5)])
    df.insert(0, "label", np.where(np.arange(40) % 2, "a", "b"))
    df.to_csv(data, index=False)
    (small_disk / "out").mkdir()
    _fill(small_disk, monkeypatch)
    before = _files(small_disk)
    rc = main(["audit", str(data), "--label", "label", "--json", str(small_disk / "out" / "f.json")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1, err
    assert "disk holding the workspace is full" in err
    assert _files(small_disk) == before  # no 0-byte f.json, no .tmp-* file


def test_a_failed_run_leaves_the_output_folder_as_it_was(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    df = pd.DataFrame({"label": ["a"] * 30, "g": np.arange(30.0), "h": np.arange(30.0) % 7})
    df.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "s.yaml").write_text("data: t.csv\nroles: {label: label}\nmodels: [dummy]\nbudget: 1\n")
    before = _files(tmp_path)
    rc = main(["run", str(tmp_path / "s.yaml"), "--out", str(out)])
    assert rc == 2, capsys.readouterr()
    assert "one class" in capsys.readouterr().err  # it failed after the data were read
    assert _files(tmp_path) == before
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())  # no staging folder left
