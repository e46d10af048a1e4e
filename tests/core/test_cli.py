"""The command line: the JSON contract, exit 0 with findings, exit 2 with one line on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deeprules_core", *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _clean_table(n: int = 160, p: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = np.array(["case", "control"])[(X[:, 0] + rng.normal(scale=1.0, size=n) > 0).astype(int)]
    df = pd.DataFrame(X, columns=[f"gene_{i}" for i in range(p)])
    df.insert(0, "sample_id", [f"S{i:04d}" for i in range(n)])
    df.insert(1, "label", y)
    return df


def test_audit_writes_the_json_contract(tmp_path):
    data = tmp_path / "clean.csv"
    _clean_table().to_csv(data, index=False)
    out = tmp_path / "findings.json"
    res = _cli("audit", str(data), "--label", "label", "--id", "sample_id", "--json", str(out))
    assert res.returncode == 0, res.stderr
    assert "clean.csv" in res.stdout
    doc = json.loads(out.read_text())
    assert set(doc) == {"dataset", "findings"}
    assert doc["dataset"]["rows"] == 160 and doc["dataset"]["columns"] == 32
    assert len(doc["dataset"]["sha256"]) == 64
    assert [f for f in doc["findings"] if f["severity"] in ("error", "warning")] == []


def test_audit_finds_planted_problems_and_still_exits_zero(tmp_path):
    df = _clean_table()
    df.loc[5, "sample_id"] = df.loc[4, "sample_id"]  # duplicate id
    df["leak"] = (df["label"] == "case").astype(float) + 0.001 * np.arange(len(df))
    data = tmp_path / "planted.csv"
    df.to_csv(data, index=False)
    out = tmp_path / "f.json"
    res = _cli("audit", str(data), "--label", "label", "--id", "sample_id", "--json", str(out))
    assert res.returncode == 0, res.stderr
    codes = {f["code"] for f in json.loads(out.read_text())["findings"]}
    assert {"duplicate_ids", "label_leakage"} <= codes


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("missing", ["--label", "label"], "no file"),
        ("empty", ["--label", "label"], "empty"),
        ("ok", ["--label", "nope"], "nope"),
        ("ok", ["--label", "label", "--batch", "plate"], "plate"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, setup, args, message):
    data = tmp_path / "t.csv"
    if setup == "ok":
        _clean_table(40, 5).to_csv(data, index=False)
    elif setup == "empty":
        data.write_bytes(b"")
    res = _cli("audit", str(data), *args)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert message in lines[0].lower() or message in lines[0]


def test_run_with_a_bad_study_file_is_one_line(tmp_path):
    (tmp_path / "s.yaml").write_text("data: nowhere.csv\nroles: {label: y}\n")
    res = _cli("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "nowhere.csv" in res.stderr


def test_audit_infers_the_task_from_the_label_as_the_app_does(tmp_path):
    # a measured quantity (many distinct numbers) is a regression label unless --task says
    # otherwise; a label of a few codes stays classes
    df = _clean_table()
    df["label"] = np.round(np.random.default_rng(1).normal(50, 10, len(df)), 2)
    data = tmp_path / "quantity.csv"
    df.to_csv(data, index=False)
    for extra, task in (((), "regression"), (("--task", "classification"), "classification")):
        out = tmp_path / f"{task}.json"
        res = _cli("audit", str(data), "--label", "label", "--id", "sample_id", "--json", str(out), *extra)
        assert res.returncode == 0, res.stderr
        assert json.loads(out.read_text())["dataset"]["task"] == task
