"""The Interpret step end to end: a study with data, a split and trained-model results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core import jobs
from deeprules_core.interpret import NOT_CAUSAL_CAVEAT
from deeprules_core.interpret.jobs import default_models, interpret_study, primary_ranking
from deeprules_core.study import Roles

ROLES = Roles(id="sample_id", label="label", group="patient", batch=("plate",))


def table(n: int = 200, seed: int = 0, proxy: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, 8)), columns=[f"g{i}" for i in range(8)])
    df.insert(0, "sample_id", [f"S{i:03d}" for i in range(n)])
    df.insert(1, "patient", [f"P{i // 2:03d}" for i in range(n)])
    df.insert(2, "plate", np.repeat(["p1", "p2", "p3", "p4"], n // 4))
    logit = 2.5 * df["g0"] - 2.5 * df["g1"]
    if proxy:  # the label leans on the plate, and g7 measures the plate
        late = df["plate"].isin(["p3", "p4"]).astype(float)
        logit = logit + 3.0 * (late - 0.5)
        df["g7"] = late * 2.0 + 0.3 * rng.normal(size=n)
    df["label"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "tumour", "normal")
    return df


def results_dict(models=("logistic_regression", "random_forest")) -> dict:
    entries = {"dummy": {"family": "dummy", "kind": "baseline", "params": {}, "seed": 0}}
    params = {"logistic_regression": {"C": 1.0}, "random_forest": {"n_estimators": 60}}
    for m in models:
        entries[m] = {"family": m, "kind": "baseline", "params": params[m], "seed": 0}
    return {
        "task": "classification",
        "classes": ["normal", "tumour"],
        "primary_metric": "auprc",
        "selected": models[0],
        "batch_correct": False,
        "models": entries,
        "seed": 0,
    }


def _split(df):
    from deeprules_core.split import make_split

    return make_split(df, ROLES, seed=0)


def test_interpret_study_ranks_planted_features_and_agrees():
    df = table()
    split = _split(df)
    out = interpret_study(df, ROLES, split, results_dict(), n_repeats=4)
    assert default_models(results_dict()) == ["logistic_regression", "random_forest"]
    assert out["caveat"] == NOT_CAUSAL_CAVEAT and set(out["models"]) == {
        "logistic_regression",
        "random_forest",
    }
    for entry in out["models"].values():
        assert {r["feature"] for r in primary_ranking(entry)[:2]} == {"g0", "g1"}
        assert entry["global"]["group_aware"] and entry["global"]["scoring"] == "neg_brier"
        tune_ids = set(split.assignment.loc[split.indices("tune"), "id"])
        assert set(entry["local"]["samples"]) <= tune_ids and entry["local"]["samples"]
    coefs = out["models"]["logistic_regression"]["coefficients"]["rows"]
    assert {r["feature"] for r in coefs[:2]} == {"g0", "g1"}
    (agree,) = out["agreement"]
    assert set(agree["top_a"][:2]) == set(agree["top_b"][:2]) and agree["overlap"] >= 2
    assert out["findings"] == []  # clean: plates unrelated to the label


def test_interpret_study_flags_a_plate_proxy():
    df = table(n=240, seed=1, proxy=True)
    out = interpret_study(df, ROLES, _split(df), results_dict(("logistic_regression",)), n_repeats=3)
    top = [r["feature"] for r in primary_ranking(out["models"]["logistic_regression"])[:3]]
    assert "g7" in top
    flagged = {tuple(f["columns"]) for f in out["findings"] if f["code"] == "attribution_on_confounder"}
    assert ("g7", "plate") in flagged
    assert not any(c[0] in ("g0", "g1") for c in flagged if c)  # the biology is not flagged as warning
    assert all(f["severity"] == "info" for f in out["findings"] if f["columns"][0] in ("g0", "g1"))


def test_interpret_job_stores_the_interpretation_and_records_the_step(workspace):
    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.split import save_split

    df = table()
    prov = Provenance(
        source="lab:SIM-INTERPRET", version="1", download_date="2024-01-01", licence="CC0", entered_by="test"
    )
    study = workspace.create_study("interpret")
    study, _ = ingest(workspace, df.to_csv(index=False).encode(), name="t.csv", provenance=prov, study=study)
    study = workspace.save_study(study.with_roles(ROLES))
    split = _split(df)
    study = workspace.save_study(save_split(workspace, study, split))
    res = results_dict(("logistic_regression",)) | {"split_sha256": split.sha256}
    workspace.put_json(study.id, "results", "baselines", res)
    jid = jobs.submit(
        workspace,
        target="deeprules_core.interpret.jobs:interpret_job",
        kind="interpret",
        params={"n_repeats": 3},
        study_id=study.id,
        start=False,
    )
    job = jobs.run_job(workspace, jid)
    assert job.status == "done", job.error
    stored = workspace.get_json(study.id, "interpretation", "interpretation")
    assert set(stored["models"]) == {"logistic_regression"}
    assert job.result["top"]["logistic_regression"][:2] in (["g0", "g1"], ["g1", "g0"])
    step = workspace.get_study(study.id).step("interpret")
    assert step is not None and step.params["n_repeats"] == 3
    assert step.input_hashes["split"] == split.sha256


def test_interpret_job_without_models_says_what_to_do(workspace):
    study = workspace.create_study("empty")
    jid = jobs.submit(
        workspace,
        target="deeprules_core.interpret.jobs:interpret_job",
        kind="interpret",
        study_id=study.id,
        start=False,
    )
    job = jobs.run_job(workspace, jid)
    assert job.status == "failed" and "load a table" in job.error


@pytest.mark.slow
def test_interpret_study_with_a_real_deep_model():
    df = table(n=240, seed=2)
    res = results_dict(("logistic_regression",))
    res["models"]["mlp"] = {
        "family": "mlp",
        "kind": "deep",
        "seed": 0,
        "params": {"kind": "mlp", "depth": 1, "width": 16, "max_epochs": 60, "lr": 0.01},
    }
    out = interpret_study(df, ROLES, _split(df), res, models=["mlp", "logistic_regression"], n_repeats=3)
    deep = out["models"]["mlp"]
    assert deep["kind"] == "deep" and deep["attributions"]["relative_delta"] < 0.05
    assert {r["feature"] for r in deep["attributions"]["rows"][:2]} == {"g0", "g1"}
    assert deep["local"]["method"] == "ig"
    assert out["agreement"][0]["a"] == "mlp"


@pytest.mark.slow
def test_interpret_study_with_a_real_sequence_cnn_finds_the_motif():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    from deeprules_core.split import make_split

    rng = np.random.default_rng(0)
    n, length = 240, 24
    y = rng.integers(0, 2, n)
    seqs = ["".join(rng.choice(list("ACGT"), length)) for _ in range(n)]
    seqs = [s[:8] + "GATA" + s[12:] if k == 1 else s for s, k in zip(seqs, y, strict=True)]
    df = pd.DataFrame(
        {"sample_id": [f"s{i}" for i in range(n)], "seq": seqs, "label": np.where(y, "bound", "free")}
    )
    roles = Roles(id="sample_id", label="label", sequence="seq")
    res = {
        "task": "classification",
        "classes": ["bound", "free"],
        "primary_metric": "auprc",
        "selected": "cnn",
        "models": {
            "cnn": {
                "family": "cnn",
                "kind": "deep",
                "seed": 0,
                "params": {"kind": "cnn", "max_epochs": 25, "kernel_size": 5, "n_filters": 8, "lr": 0.01},
            }
        },
    }
    out = interpret_study(df, roles, make_split(df, roles, seed=0), res, n_repeats=2)
    cnn = out["models"]["cnn"]
    assert cnn["global"] is None and cnn["attributions"]["baseline"] == "all-zeros one-hot"
    top = {r["feature"] for r in cnn["attributions"]["rows"][:4]}
    assert len(top & {"pos 9", "pos 10", "pos 11", "pos 12"}) >= 3  # the planted GATA at 9-12
    some = next(iter(cnn["sequence"]["samples"].values()))
    assert len(some["sequence"]) == len(some["attribution"]) == length
    assert out["findings"] == [] and out["agreement"] == []
