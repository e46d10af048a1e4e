"""Tip 10: the export lock, private training, membership inference, subgroups, model card."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from deeprules_core.errors import DeepRulesError, ExportLockedError
from deeprules_core.privacy import (
    DPSettings,
    add_ethics_entry,
    attack_auc,
    build_model_card,
    ethics_register,
    explain_budget,
    export_decision,
    loss_threshold_attack,
    per_sample_loss,
    privacy_overview,
    run_privacy,
    subgroup_metrics,
    train_private,
)
from deeprules_core.privacy._mia import mia_finding
from deeprules_core.study import Design, Roles, Study


# --------------------------------------------------------------------------- data and study
def _table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = (x[:, 0] + 0.8 * x[:, 1] + rng.normal(scale=0.8, size=n) > 0).astype(int)
    df = pd.DataFrame(x, columns=[f"g{i}" for i in range(6)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df["label"] = np.where(y == 1, "tumour", "normal")
    df["sex"] = rng.choice(["F", "M"], n)
    df["site"] = rng.choice(["A", "B", "C"], n)
    return df


def _study(
    ws, df: pd.DataFrame, *, sensitive: bool, models=("dummy", "logistic_regression", "knn", "random_forest")
):
    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.modeling import run_baselines
    from deeprules_core.split import make_split, save_split

    roles = Roles(id="sample_id", label="label", covariates=("sex", "site"))
    study = ws.create_study("privacy", design=Design(sensitive_data=sensitive, ethics_approval="IRB-1"))
    study = study.with_roles(roles)
    prov = Provenance(source="lab:X", version="1", download_date="2024-01-01", licence="CC0", entered_by="t")
    study, _ = ingest(ws, df.to_csv(index=False).encode(), name="t.csv", provenance=prov, study=study)
    split = make_split(df, roles, seed=0, strategy="stratified", test_fraction=0.2, tune_fraction=0.3)
    study = save_split(ws, study, split)
    ws.save_study(study, action="test")
    results = run_baselines(df, roles, split, models=models, budget=1, n_shuffles=0, n_boot=0)
    ws.put_json(study.id, "results", "baselines", results)
    return ws.get_study(study.id), split


# --------------------------------------------------------------------------- export lock
@pytest.mark.parametrize(
    ("family", "sensitive", "dp", "allowed"),
    [
        ("knn", True, False, False),
        ("random_forest", True, False, False),
        ("gradient_boosting", True, False, False),
        ("mlp", True, False, False),
        ("mlp", True, True, True),
        ("knn", True, True, False),  # a 'dp' record does not make a kNN private
        ("logistic_regression", True, False, True),
        ("knn", False, False, True),
    ],
)
def test_export_decision(family, sensitive, dp, allowed):
    s = Study.new("s", design=Design(sensitive_data=sensitive))
    entry = {"family": family, "dp": {"epsilon": 2.0, "opacus": "1.6.0"} if dp else None}
    d = export_decision(s, family, entry)
    assert d.allowed is allowed
    assert d.memorises is (family not in ("logistic_regression", "dummy"))


def test_save_deep_refuses_a_sensitive_model_unless_trained_privately(workspace):
    from deeprules_core.deep import fit_deep, save_deep
    from deeprules_core.split import Split

    df = _table(80)
    sides = ["train"] * 50 + ["tune"] * 15 + ["test"] * 15
    split = Split("random", 0, pd.DataFrame({"id": df["sample_id"], "split": sides, "fold": -1}))
    study = workspace.create_study("s", design=Design(sensitive_data=True))
    model = fit_deep(df, Roles(id="sample_id", label="label"), split, config={"kind": "mlp", "max_epochs": 2})
    with pytest.raises(ExportLockedError, match="sensitive"):
        save_deep(workspace, study.id, model)
    assert workspace.list_artifacts(study.id, "deep_model") == []
    assert [e.action for e in workspace.audit_log(study.id)].count("export_refused") == 1
    # the same network with a differential-privacy record from Opacus may be saved
    model.training_ = {"private": True, "epsilon": 3.0, "opacus": "1.6.0"}
    assert save_deep(workspace, study.id, model)


# --------------------------------------------------------------------------- private training
def _bn_net(n_in: int):
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))


@pytest.mark.slow  # the accountant's search for the noise multiplier takes seconds (PRV most)
@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_achieved_epsilon_matches_opacus_accountant_and_batchnorm_is_replaced(accountant):
    from opacus.accountants import create_accountant
    from opacus.accountants.utils import get_noise_multiplier

    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    settings = DPSettings(epsilon=2.0, delta=1e-3, accountant=accountant, epochs=3)
    out = train_private(_bn_net(5), x, y, task="classification", n_classes=2, settings=settings,
                        lr=0.01, weight_decay=0.0, batch_size=16, seed=0)  # fmt: skip
    r = out.record
    assert r["accountant"] == accountant and r["secure_mode"] is False
    assert "cryptographically secure" in r["secure_mode_note"]
    assert any("BatchNorm1d replaced by GroupNorm" in c for c in r["layers_replaced"]), r["layers_replaced"]
    assert not any("BatchNorm" in type(m).__name__ for m in out.module.modules())
    # an accountant of our own, fed the same settings, gives the same ε
    acc = create_accountant(accountant)
    acc.history = [(r["noise_multiplier"], r["sample_rate"], r["steps"])]
    assert r["epsilon"] == pytest.approx(acc.get_epsilon(delta=1e-3), rel=1e-6)
    assert r["epsilon"] <= 2.0 + 0.05
    sigma = get_noise_multiplier(target_epsilon=2.0, target_delta=1e-3, sample_rate=r["sample_rate"],
                                 epochs=3, accountant=accountant)  # fmt: skip
    assert r["noise_multiplier"] == pytest.approx(sigma, rel=1e-6)


def test_explain_budget_speaks_of_one_patient():
    text = explain_budget(1.0, 1e-5, 1000)
    assert "one patient" in text and "2.7 times" in text and "73%" in text and "1/1,000" in text
    with pytest.raises(DeepRulesError, match="ε"):
        DPSettings(epsilon=0)


# --------------------------------------------------------------------------- membership inference
def _overfit_run(private: bool):
    from deeprules_core.deep._arch import DeepConfig, build_module

    rng = np.random.default_rng(0)
    n, p = 100, 10
    x = rng.normal(size=(2 * n, p)).astype(np.float32)
    y = (x[:, 0] + rng.normal(scale=2.0, size=2 * n) > 0).astype(np.int64)  # noisy: memorising pays
    net = build_module(DeepConfig(kind="mlp", depth=2, width=64, dropout=0.0), n_in=p, n_out=2)
    net.fit_scaling(x[:n])
    out = train_private(net, x[:n], y[:n], task="classification", n_classes=2,
                        settings=DPSettings(epsilon=1.0, epochs=60), lr=0.01, weight_decay=0.0,
                        batch_size=25, seed=0, private=private)  # fmt: skip
    import torch

    def score(rows):
        with torch.no_grad():
            return torch.softmax(out.module(torch.as_tensor(x[rows])), 1).numpy()

    return loss_threshold_attack(
        "classification", y, score, np.arange(n), np.arange(n, 2 * n), n_boot=200, seed=0
    )


@pytest.mark.slow
def test_membership_inference_finds_an_overfitted_network_and_falls_with_dp():
    plain, private = _overfit_run(False), _overfit_run(True)
    assert plain["auc"] > 0.65 and plain["low"] > 0.55, plain
    assert private["auc"] < plain["auc"] - 0.15, (plain, private)
    assert private["low"] < 0.5 < private["high"] or private["auc"] < 0.6
    f = mia_finding("mlp", "MLP", {"loss_threshold": plain}, sensitive=True)
    assert f is not None and f.code == "membership_inference_risk" and "differential privacy" in f.message
    assert mia_finding("mlp_dp", "MLP", {"loss_threshold": private}, sensitive=True) is None


def test_attack_auc_known_answers():
    assert attack_auc(np.arange(10.0) + 100, np.arange(10.0), n_boot=0)["auc"] == 1.0
    rng = np.random.default_rng(0)
    same = attack_auc(rng.normal(size=400), rng.normal(size=400), n_boot=200)
    assert same["low"] < 0.5 < same["high"]
    # ten individuals with twenty near-copies each: drawing individuals widens the interval
    m, n = np.repeat(rng.normal(0.3, 1, 10), 20), np.repeat(rng.normal(0, 1, 10), 20)
    g = np.repeat(np.arange(10), 20)
    rows = attack_auc(m, n, n_boot=300)
    whole = attack_auc(m, n, n_boot=300, groups_members=g, groups_nonmembers=g + 100)
    assert whole["auc"] == rows["auc"] and whole["high"] - whole["low"] > 2 * (rows["high"] - rows["low"])
    loss = per_sample_loss("classification", np.array([0, 1]), np.array([[0.9, 0.1], [0.5, 0.5]]))
    assert loss == pytest.approx([-np.log(0.9), -np.log(0.5)])


def test_one_nearest_neighbour_is_recognised_but_logistic_regression_is_not():
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = (x[:, 0] + rng.normal(scale=1.0, size=300) > 0).astype(int)
    tr, ho = np.arange(150), np.arange(150, 300)
    for est, leaks in ((KNeighborsClassifier(1), True), (LogisticRegression(), False)):
        est.fit(x[tr], y[tr])
        res = loss_threshold_attack("classification", y, lambda r, e=est: e.predict_proba(x[r]), tr, ho,
                                    n_boot=200, seed=0)  # fmt: skip
        found = mia_finding("m", "model", {"loss_threshold": res}, sensitive=False)
        assert (found is not None) is leaks, res


# --------------------------------------------------------------------------- subgroups
def _subgroup_case(planted: bool):
    rng = np.random.default_rng(3)
    n = 600
    site = rng.choice(["A", "B", "C"], n)
    y = rng.integers(0, 2, n)
    signal = np.where(y == 1, 1.5, -1.5) + rng.normal(size=n)
    if planted:  # the model is no better than chance at site C
        signal = np.where(site == "C", rng.normal(size=n), signal)
    p1 = 1 / (1 + np.exp(-signal))
    return y, np.column_stack([1 - p1, p1]), pd.DataFrame({"site": site, "sex": rng.choice(["F", "M"], n)})


def test_a_planted_failing_subgroup_is_named_and_a_uniform_model_gives_no_warning():
    y, p, meta = _subgroup_case(planted=True)
    table, found = subgroup_metrics(y, p, meta, task="classification", classes=[0, 1], n_boot=300)
    assert [(f.code, f.evidence["column"], f.evidence["level"]) for f in found] == [
        ("subgroup_gap", "site", "C")
    ]
    assert "site = C" in found[0].message
    c = next(r for r in table["site"] if r["level"] == "C")
    assert c["metrics"]["auroc"]["low"] < c["metrics"]["auroc"]["value"] < c["metrics"]["auroc"]["high"]
    y, p, meta = _subgroup_case(planted=False)
    table, found = subgroup_metrics(y, p, meta, task="classification", classes=[0, 1], n_boot=300)
    assert found == [] and {r["level"] for r in table["site"]} == {"A", "B", "C"}


# --------------------------------------------------------------------------- the step, bundle, card
@pytest.mark.slow
def test_privacy_step_on_a_sensitive_study_measures_every_model_and_explains_each_refusal(workspace):
    df = _table()
    study, _ = _study(workspace, df, sensitive=True)
    out = run_privacy(workspace, study, subgroup_columns=("sex", "site"), n_boot=100)
    # every model but the dummy, the marker baseline (best single feature) included
    assert set(out["membership_inference"]) == {
        "best_single_feature",
        "logistic_regression",
        "knn",
        "random_forest",
    }
    for res in out["membership_inference"].values():
        lt = res["loss_threshold"]
        assert 0 <= lt["low"] <= lt["auc"] <= lt["high"] <= 1
        assert res["shadow_model"] is not None and res["shadow_model"]["attack"] == "shadow_model"
    refused = {f["evidence"]["model"] for f in out["findings"] if f["code"] == "sensitive_model_export"}
    assert refused == {"knn", "random_forest"}
    assert {r["level"] for r in out["subgroups"]["table"]["site"]} == {"A", "B", "C"}
    assert not [f for f in out["findings"] if f["code"] == "subgroup_gap"]  # no gap was planted
    assert workspace.get_study(study.id).step("privacy") is not None
    assert [e.action for e in workspace.audit_log(study.id)].count("export_refused") == 2
    over = privacy_overview(workspace, study)
    assert over["sensitive"] and over["analysis"]["membership_inference"]
    assert {d["model"] for d in over["export_plan"] if not d["allowed"]} == {"knn", "random_forest"}


@pytest.mark.slow
def test_the_bundle_of_a_sensitive_study_carries_no_rows_and_no_memorising_model(workspace, tmp_path):
    from deeprules_core.report import export_bundle

    study, _ = _study(workspace, _table(), sensitive=True)
    path = export_bundle(workspace, study, tmp_path / "b.zip", include_models=True)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        results = json.loads(zf.read("results.json"))
        findings = json.loads(zf.read("findings.json"))["findings"]
        readme = zf.read("README.md").decode()
    assert not [n for n in names if n.startswith(("data/", "models/"))]
    assert "tune_truth" not in results
    assert all("predictions" not in m for m in results["models"].values())
    refused = {f["evidence"]["model"] for f in findings if f["code"] == "sensitive_model_export"}
    assert refused == {"knn", "random_forest"} and "refused here: knn, random_forest" in readme
    # asking for the rows without a reason is refused; with one it is recorded and allowed
    with pytest.raises(ExportLockedError, match="reason"):
        export_bundle(workspace, study, tmp_path / "c.zip", data_path_in_bundle=True)
    reason = "Data-sharing agreement DSA-7 allows sharing with the consortium."
    path = export_bundle(
        workspace, study, tmp_path / "d.zip", data_path_in_bundle=True, rows_reason=reason, who="ann"
    )
    with zipfile.ZipFile(path) as zf:
        assert [n for n in zf.namelist() if n.startswith("data/")]
    assert privacy_overview(workspace, study)["rows_consent"][0]["reason"] == reason
    actions = [e.action for e in workspace.audit_log(study.id)]
    assert "bundle_rows_confirmed" in actions and actions.count("export_refused") == 3


def test_model_card_and_ethics_register_are_saved_with_the_study(workspace):
    study = workspace.create_study("card", design=Design(sensitive_data=True, ethics_approval="IRB-2021-044"))
    with pytest.raises(DeepRulesError, match="text"):
        add_ethics_entry(workspace, study, "  ")
    add_ethics_entry(workspace, study, "Consent covers secondary use.", who="ann", on="2024-03-01")
    reg = add_ethics_entry(
        workspace, study, "Approval granted.", who="bob", reference="IRB-2021-044", on="2024-01-10"
    )
    assert (
        [e["date"] for e in reg]
        == ["2024-01-10", "2024-03-01"]
        == [e["date"] for e in ethics_register(workspace, study)]
    )
    with pytest.raises(DeepRulesError, match="intended use"):
        build_model_card(workspace, study, intended_use="")
    card = build_model_card(workspace, study, intended_use="Research only; adults.", limitations="One site.")
    assert card["ethics"]["approval"] == "IRB-2021-044" and len(card["ethics"]["register"]) == 2
    assert card["privacy"]["sensitive_data"] is True
    assert workspace.get_json(study.id, "privacy", "model_card")["intended_use"] == "Research only; adults."
    from deeprules_core.findings import CODES

    assert {"membership_inference_risk", "subgroup_gap"} <= set(CODES)


# --------------------------------------------------------------------------- run, DP step, PDF
RUN_STUDY = """\
data: {data}
roles: {{id: sample_id, label: label, group: patient_id, batch: [plate], covariates: [age, sex]}}
split: {{strategy: group, test_fraction: 0.2, tune_fraction: 0.25, seed: 0}}
models: [dummy, logistic_regression, knn, random_forest, mlp]
budget: 1
n_seeds: 1
max_epochs: 5
n_shuffles: 0
n_boot: 50
design: {{sensitive_data: true, ethics_approval: IRB-7}}
"""


@pytest.mark.slow
def test_run_of_a_sensitive_study_exports_no_memorising_model_and_measures_each(tmp_path):
    from pathlib import Path

    from deeprules_core.store import Workspace
    from deeprules_core.workflow import run_study

    root = Path(__file__).resolve().parents[2]
    path = tmp_path / "study.yaml"
    path.write_text(RUN_STUDY.format(data=root / "sample_data" / "simulated_planted.csv"))
    out = run_study(path, tmp_path / "out")
    findings = json.loads((out / "findings.json").read_text())["findings"]
    refused = {f["evidence"]["model"] for f in findings if f["code"] == "sensitive_model_export"}
    assert refused == {"knn", "random_forest", "mlp"}
    ws = Workspace(out / "workspace")
    (row,) = ws.list_studies()
    assert ws.list_artifacts(row["id"], "deep_model") == []
    assert not [p for p in out.rglob("*") if p.suffix in (".pt", ".pkl", ".joblib")]
    privacy = ws.get_json(row["id"], "privacy", "privacy")
    assert set(privacy["membership_inference"]) == {
        "best_single_feature",
        "logistic_regression",
        "knn",
        "random_forest",
        "mlp",
    }
    assert {"age", "sex"} == set(privacy["subgroups"]["table"])
    assert ws.get_study(row["id"]).step("privacy") is not None


@pytest.mark.slow
def test_private_training_through_the_step_is_exportable_and_the_pdf_quotes_it(workspace, tmp_path):
    import subprocess

    from deeprules_core.report import build_report, export_bundle

    study, _ = _study(workspace, _table(160), sensitive=True, models=("dummy", "logistic_regression"))
    settings = DPSettings(epsilon=4.0, epochs=3, accountant="rdp")
    out = run_privacy(workspace, study, dp=settings, subgroup_columns=("site",), n_boot=50)
    dp = out["dp"]
    assert dp["dp"]["epsilon"] <= 4.05 and dp["dp"]["accountant"] == "rdp" and dp["weights_sha256"]
    assert dp["cost"]["metric"] == "auprc" and dp["cost"]["private"] is not None
    assert out["membership_inference"]["mlp_dp"]["private"] is True
    assert "mlp_plain" in out["membership_inference"]
    path = export_bundle(workspace, study, tmp_path / "b.zip", include_models=True, include_report=True)
    with zipfile.ZipFile(path) as zf:
        assert "models/mlp_dp.zip" in zf.namelist()
    pdf = build_report(workspace, workspace.get_study(study.id), out_pdf=tmp_path / "r.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(text.split())
    assert "9. Privacy and ethics (Tip 10)" in text and "Membership inference" in text
    auc = out["membership_inference"]["logistic_regression"]["loss_threshold"]["auc"]
    assert f"loss-threshold attack AUC {auc:.2f}" in text
    assert f"achieved ε {dp['dp']['epsilon']:.2f}" in text
