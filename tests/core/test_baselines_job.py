"""The baselines job target, run in-process through the job system."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core import jobs
from deeprules_core.study import Roles


def _study_with_split(ws, monkeypatch):
    """A study with a table and a saved split (the split module's own functions when they
    exist; otherwise a hand-made group split served through a stand-in ``load_split``)."""
    intake = pytest.importorskip("deeprules_core.intake")
    split_mod = pytest.importorskip("deeprules_core.split")
    rng = np.random.default_rng(0)
    n = 160
    df = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"g{i}" for i in range(6)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df.insert(1, "donor", [f"d{i // 2}" for i in range(n)])
    df["label"] = np.where(df["g0"] + rng.normal(size=n) * 0.5 > 0, "tumour", "normal")
    roles = Roles(id="sample_id", label="label", group="donor")
    prov = intake.Provenance(
        source="lab:SIM-0001",
        version="1",
        download_date="2024-01-01",
        licence="CC0",
        description="simulated",
        entered_by="test",
    )
    study = ws.create_study("baselines job").with_roles(roles)
    study, _ = intake.ingest(
        ws, df.to_csv(index=False).encode(), name="sim.csv", provenance=prov, study=study
    )
    study = ws.save_study(study)
    df = intake.load_dataset(ws, study.dataset.dataset_id)
    if all(hasattr(split_mod, n) for n in ("make_split", "save_split", "load_split")):
        split = split_mod.make_split(df, roles, seed=0)
        study = ws.save_study(split_mod.save_split(ws, study, split))
        return study, split
    donor = np.arange(n) // 2
    side = np.array(["train", "train", "train", "tune", "test"])[donor % 5]
    fold = np.where(side == "train", donor % 3, -1)
    split = split_mod.Split("group", 0, pd.DataFrame({"id": df["sample_id"], "split": side, "fold": fold}))
    monkeypatch.setattr(split_mod, "load_split", lambda _ws, _study: split, raising=False)
    return study, split


@pytest.mark.slow
def test_baselines_job_stores_results_and_a_step_record(workspace, monkeypatch):
    study, split = _study_with_split(workspace, monkeypatch)
    job_id = jobs.submit(
        workspace,
        target="deeprules_core.modeling.jobs:baselines_job",
        kind="baselines",
        params={"models": ["dummy", "logistic_regression"], "budget": 2, "n_shuffles": 3, "n_boot": 50},
        study_id=study.id,
        start=False,
    )
    job = jobs.run_job(workspace, job_id)
    assert job.status == "done", job.error
    assert job.result["selected"] == "logistic_regression"
    results = workspace.get_json(study.id, "results", "baselines")
    assert results["split_sha256"] == split.sha256
    assert set(results["models"]) == {"dummy", "best_single_feature", "logistic_regression"}
    step = workspace.get_study(study.id).step("baselines")
    assert step is not None and step.params["budget"] == 2 and step.input_hashes["split"] == split.sha256


def test_baselines_job_without_data_fails_with_a_reason(workspace):
    study = workspace.create_study("no split")
    job_id = jobs.submit(
        workspace,
        target="deeprules_core.modeling.jobs:baselines_job",
        kind="baselines",
        study_id=study.id,
        start=False,
    )
    job = jobs.run_job(workspace, job_id)
    assert job.status == "failed" and "data" in job.error


@pytest.mark.slow
def test_test_set_is_used_once_through_the_lock(workspace, monkeypatch):
    from deeprules_core.errors import LockedTestSetError
    from deeprules_core.intake import load_dataset
    from deeprules_core.modeling import evaluate_on_test, run_baselines

    study, split = _study_with_split(workspace, monkeypatch)
    df = load_dataset(workspace, study.dataset.dataset_id)
    results = run_baselines(
        df, study.roles, split, models=("dummy", "logistic_regression"), budget=2, n_shuffles=2, n_boot=50
    )
    out = evaluate_on_test(workspace, study, df, results, split)
    assert results["models"]["logistic_regression"]["metrics"]["test"] is None  # the input is not changed
    test = out["models"]["logistic_regression"]["metrics"]["test"]
    assert test["auroc"]["value"] > 0.7
    assert out["models"]["dummy"]["metrics"]["test"]["auroc"]["value"] == pytest.approx(0.5)
    assert out["test_evaluation"]["n_test"] == len(split.indices("test"))
    assert len(workspace.test_uses(study.id, split.sha256)) == 1
    with pytest.raises(LockedTestSetError):
        evaluate_on_test(workspace, study, df, results, split)
    again = evaluate_on_test(
        workspace, study, df, results, split, unlock_reason="The reviewer asked for the dummy as well."
    )
    assert again["test_evaluation"]["unlock_reason"].startswith("The reviewer")
