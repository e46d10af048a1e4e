"""The reproducibility bundle: contents, checksums, and a study file that ``run`` accepts."""

from __future__ import annotations

import hashlib
import json
import zipfile

import numpy as np
import pandas as pd
import pytest
import yaml

from deeprules_core.errors import StoreError
from deeprules_core.findings import Finding
from deeprules_core.report import BUNDLE_FILES, export_bundle, verify_bundle
from deeprules_core.study import Design, Roles, StepRecord, Study
from deeprules_core.studyfile import parse_study_file


def _table(n: int = 60) -> bytes:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"g{i}" for i in range(4)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df["patient"] = [f"p{i // 2}" for i in range(n)]
    df["label"] = ["a", "b"] * (n // 2)
    return df.to_csv(index=False).encode()


@pytest.fixture
def study_with_everything(workspace):
    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.split import make_split, save_split

    data = _table()
    prov = Provenance(source="https://example.org/d.csv", version="v2 (µg/L, 37 °C)", download_date="2024-05-01",
                      licence="CC0", entered_by="Zoë")  # fmt: skip
    study = Study.new("Bundle é", design=Design(question="a vs b?", study_type="observational"))
    study = study.with_roles(Roles(id="sample_id", label="label", group="patient"))
    study, info = ingest(workspace, data, name="table.csv", provenance=prov, study=study)
    from deeprules_core.intake import load_dataset

    df = load_dataset(workspace, info.id)
    split = make_split(df, study.roles, strategy="group", seed=3)
    study = save_split(workspace, study, split)
    study = study.with_step(StepRecord("baselines", params={"budget": 4, "n_shuffles": 5, "n_boot": 50,
                                                            "models": ["dummy", "logistic_regression"]}, seed=3))  # fmt: skip
    workspace.save_study(study)
    results = {"task": "classification", "budget": 4, "seed": 3, "primary_metric": "auprc", "split_sha256": split.sha256,
               "models": {"dummy": {"family": "dummy", "kind": "baseline", "metrics": {"tune": {"auprc": {"value": 0.5}}}},
                          "logistic_regression": {"family": "logistic_regression", "kind": "baseline", "metrics": {}}}}  # fmt: skip
    workspace.put_json(study.id, "results", "baselines", results)
    finding = Finding("class_imbalance", "info", 1, "Balanced.", evidence={"ratio": 1.0})
    workspace.record_findings(study.id, step="checks", findings=[finding])  # the study's ledger
    return study, data, split, results


def test_bundle_contents_and_checksums(workspace, study_with_everything, tmp_path):
    study, data, split, results = study_with_everything
    path = export_bundle(workspace, study, tmp_path / "b.zip")
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        assert set(BUNDLE_FILES) <= names
        sha = hashlib.sha256(data).hexdigest()
        data_name = f"data/{sha[:16]}.csv"
        assert zf.read(data_name) == data  # the exact bytes
        assert zf.read("split.csv").decode() == split.to_csv()
        assert json.loads(zf.read("results.json")) == results
        findings = json.loads(zf.read("findings.json"))
        assert findings["dataset"]["sha256"] == sha and findings["findings"][0]["code"] == "class_imbalance"
        versions = json.loads(zf.read("versions.json"))
        assert versions["export"]["python"] and "split" in versions["steps"]
        readme = zf.read("README.md").decode()
        assert "python -m deeprules_core run study.yaml --out" in readme
        raw = yaml.safe_load(zf.read("study.yaml"))
        sums = zf.read("SHA256SUMS").decode()
    assert verify_bundle(path) == {n: True for n in names - {"SHA256SUMS"}}
    assert f"{sha}  {data_name}" in sums
    assert raw["data"] == data_name
    assert raw["split"] == {
        "strategy": "group",
        "seed": 3,
        "test_fraction": 0.2,
        "tune_fraction": 0.2,
        "n_folds": 5,
        "file": "split.csv",
    }
    assert raw["models"] == ["dummy", "logistic_regression"] and raw["budget"] == 4 and raw["seed"] == 3
    assert raw["provenance"]["licence"] == "CC0" and raw["provenance"]["version"] == "v2 (µg/L, 37 °C)"
    sf = parse_study_file(raw, base=tmp_path)  # the glue's parser accepts it
    assert sf.roles.group == "patient" and sf.n_shuffles == 5 and sf.n_boot == 50
    assert sf.design.question == "a vs b?"


def test_a_tampered_bundle_fails_verification(workspace, study_with_everything, tmp_path):
    study, *_ = study_with_everything
    path = export_bundle(workspace, study, tmp_path / "b.zip")
    out = tmp_path / "t.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            body = src.read(name)
            dst.writestr(name, body + b"x" if name == "split.csv" else body)
    result = verify_bundle(out)
    assert result["split.csv"] is False and result["study.yaml"] is True


def test_bundle_without_data_points_to_the_store(workspace, study_with_everything, tmp_path):
    study, data, *_ = study_with_everything
    path = export_bundle(workspace, study, tmp_path / "b.zip", data_path_in_bundle=False)
    with zipfile.ZipFile(path) as zf:
        assert not any(n.startswith("data/") for n in zf.namelist())
        raw = yaml.safe_load(zf.read("study.yaml"))
    assert raw["data"] == str(workspace.blob_path(hashlib.sha256(data).hexdigest()))


def test_a_study_without_data_cannot_be_bundled(workspace, tmp_path):
    study = workspace.create_study("Empty")
    with pytest.raises(StoreError, match="no data yet"):
        export_bundle(workspace, study, tmp_path / "b.zip")


@pytest.mark.slow
def test_the_bundle_reproduces_the_split_and_the_metrics(workspace, tmp_path):
    """What ``run study.yaml`` does with the bundle's study file gives the same split and numbers."""
    from deeprules_core.intake import Provenance, ingest, load_dataset, read_table
    from deeprules_core.modeling import run_baselines
    from deeprules_core.split import make_split, save_split
    from deeprules_core.studyfile import load_study_file

    prov = Provenance(
        source="lab:SIM-1", version="1", download_date="2024-01-01", licence="CC0", entered_by="t"
    )
    study = Study.new("Repro").with_roles(Roles(id="sample_id", label="label", group="patient"))
    study, info = ingest(workspace, _table(80), name="t.csv", provenance=prov, study=study)
    df = load_dataset(workspace, info.id)
    split = make_split(df, study.roles, seed=5)  # strategy "auto" resolves to a named one
    study = save_split(workspace, study, split)
    kw = {"models": ("dummy", "logistic_regression"), "budget": 2, "seed": 5, "n_shuffles": 2, "n_boot": 20}
    results = run_baselines(df, study.roles, split, **kw)
    params = {**kw, "models": list(kw["models"])}
    study = study.with_step(StepRecord("baselines", params=params, seed=5))
    workspace.save_study(study)
    workspace.put_json(study.id, "results", "baselines", results)

    out = tmp_path / "bundle"
    with zipfile.ZipFile(export_bundle(workspace, study, tmp_path / "b.zip")) as zf:
        zf.extractall(out)
    sf = load_study_file(out / "study.yaml")
    df2 = read_table(sf.data, name=sf.data.name)
    split_kw = {k: v for k, v in sf.split.items() if k not in ("seed", "file")}
    split2 = make_split(df2, sf.roles, design=sf.design, seed=int(sf.split["seed"]), **split_kw)
    assert split2.to_csv() == (out / "split.csv").read_text()
    again = run_baselines(df2, sf.roles, split2, models=sf.models, budget=sf.budget, seed=sf.seed,
                          n_shuffles=sf.n_shuffles, n_boot=sf.n_boot)  # fmt: skip
    saved = json.loads((out / "results.json").read_text())
    for name, model in saved["models"].items():
        got, want = again["models"][name]["metrics"]["tune"], model["metrics"]["tune"]
        for metric, entry in want.items():
            assert got[metric] == pytest.approx(entry, nan_ok=True), (name, metric)
    assert again["selected"] == saved["selected"]
