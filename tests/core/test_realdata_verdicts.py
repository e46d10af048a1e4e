"""Real public data, headless, with published answers (the data ship inside scikit-learn,
so no network is needed).

* Diabetes progression (Efron, Hastie, Johnstone and Tibshirani 2004, "Least angle
  regression", 442 patients, ten baseline measurements): a linear model explains about half
  of the variance, and body-mass index and the serum measurement ``s5`` (log triglycerides)
  are the first two variables to enter the LARS path. ``run`` must find a real signal
  (shuffled-label control p < 0.05) and rank ``bmi`` and ``s5`` at the top of the selected
  model's importances.
* The same 442 patients with a coin-flip label: no measurement can predict it, so the
  verdict must be "no better than shuffled labels", and nothing else may be an error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deeprules_core.workflow import run_study

STUDY = """\
data: {data}
roles: {{id: patient, label: {label}}}
split: {{strategy: stratified, test_fraction: 0.2, tune_fraction: 0.2, seed: 0}}
models: [dummy, logistic_regression]
budget: 3
n_shuffles: 20
n_boot: 200
"""


def _diabetes(tmp_path: Path) -> Path:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame.insert(0, "patient", [f"p{i:03d}" for i in range(len(frame))])
    coin = np.random.default_rng(11).integers(0, 2, len(frame))
    frame["coin"] = np.where(coin == 1, "heads", "tails")
    path = tmp_path / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def _run(tmp_path: Path, data: Path, label: str, drop: str) -> tuple[dict, dict]:
    import pandas as pd

    table = pd.read_csv(data).drop(columns=[drop])  # the other outcome is not a measurement
    mine = tmp_path / f"{label}.csv"
    table.to_csv(mine, index=False)
    study = tmp_path / f"{label}.yaml"
    study.write_text(STUDY.format(data=mine, label=label))
    out = run_study(study, tmp_path / f"out_{label}")
    return json.loads((out / "results.json").read_text()), json.loads((out / "findings.json").read_text())


@pytest.mark.slow
def test_diabetes_progression_finds_bmi_and_s5_and_a_coin_flip_finds_nothing(tmp_path):
    data = _diabetes(tmp_path)

    results, findings = _run(tmp_path, data, "target", drop="coin")
    assert results["task"] == "regression"
    sel = results["selected"]
    assert sel != "dummy"
    control = results["controls"]["shuffled_label"]
    assert control["p_value"] < 0.05 and control["real"] > 0.3  # about half the variance (R²)
    assert abs(control["null_mean"]) < 0.1 or control["null_mean"] < 0  # the null sits at no skill
    ranked = results["interpretation"]["rankings"][sel][0]["features"]
    top = [r["feature"] for r in ranked[:3]]
    assert {"bmi", "s5"} <= set(top), top
    assert not [f for f in findings["findings"] if f["severity"] == "error"]

    results, findings = _run(tmp_path, data, "coin", drop="target")
    errors = {f["code"] for f in findings["findings"] if f["severity"] == "error"}
    codes = {f["code"] for f in findings["findings"]}
    assert errors <= {"no_signal"}, errors
    # either the selected model is the dummy (nothing beat it) or its control finds no signal
    assert results["selected"] == "dummy" or "no_signal" in codes or "baseline_not_beaten" in codes
