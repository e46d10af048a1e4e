"""The methods-checklist PDF: every tip, the key numbers, 'to be completed by the authors'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pypdf import PdfReader

from deeprules_core.findings import Finding
from deeprules_core.report import (
    TIPS,
    TO_COMPLETE,
    build_pdf,
    dome_items,
    gather_facts,
    methods_paragraph,
    methods_text,
    not_applicable_key,
    reforms_items,
    report_from_parts,
    summarise_split,
    tip_statuses,
)
from deeprules_core.split import Split
from deeprules_core.study import Acknowledgement, DatasetRef, Design, Roles, StepRecord, Study

SHA = "ab12cd34ef56" + "0" * 52


def _panel(base: float, task: str = "classification") -> dict:
    names = ("auprc", "auroc", "balanced_accuracy", "mcc", "f1", "brier")
    return {
        k: {"value": base - 0.01 * i, "low": base - 0.01 * i - 0.05, "high": base - 0.01 * i + 0.04}
        for i, k in enumerate(names)
    }


def make_table(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.array(["tumour", "normal"] * (n // 2))
    X = rng.normal(size=(n, 6)) + (y == "tumour")[:, None] * 0.8
    df = pd.DataFrame(X, columns=[f"gene_{i}" for i in range(6)])
    df.insert(0, "sample_id", [f"s{i:03d}" for i in range(n)])
    df["patient"] = [f"p{i // 2:03d}" for i in range(n)]
    df["plate"] = [f"plate{i % 3}" for i in range(n)]
    df["age"] = rng.integers(30, 80, size=n)
    df["label"] = y
    return df


def make_split(df: pd.DataFrame) -> Split:
    patient = df["patient"].str[1:].astype(int).to_numpy()
    side = np.where(patient % 5 == 0, "test", np.where(patient % 5 == 1, "tune", "train"))
    fold = np.where(side == "train", patient % 3, -1)
    return Split("group", 7, pd.DataFrame({"id": df["sample_id"], "split": side, "fold": fold}),
                 {"test_fraction": 0.2, "tune_fraction": 0.2, "n_folds": 3})  # fmt: skip


def make_results() -> dict:
    def model(family: str, kind: str, base: float, trials: int) -> dict:
        return {
            "family": family,
            "kind": kind,
            "params": {"C": 0.5} if family == "logistic_regression" else {"dropout": 0.2, "weight_decay": 1e-4},
            "seed": 7,
            "n_trials": trials,
            "cv_score": base - 0.02,
            "trials": [{"number": i, "params": {}, "value": base - 0.1 + 0.01 * i, "state": "COMPLETE"} for i in range(trials)],
            "metrics": {"train": _panel(base + 0.08), "tune": _panel(base), "test": _panel(base - 0.01)},
            "duration_s": 1.5,
            "curves": {"learning_curve": {"fraction": [0.25, 0.5, 1.0], "n_train": [18, 36, 72], "n_groups": [9, 18, 36],
                                          "train": [1.0, 0.95, 0.93], "tune": [0.7, 0.8, base], "metric": "auprc"}},
        }  # fmt: skip

    deep = model("mlp", "deep", 0.801, 5)
    deep["seeds"] = [{"seed": s} for s in (7, 8, 9)]
    deep["n_params"] = 1234
    deep["learning_curve"] = {
        "epoch": [1, 2, 3, 4],
        "train_loss": [0.7, 0.5, 0.4, 0.35],
        "val_loss": [0.7, 0.55, 0.5, 0.5],
    }
    return {
        "task": "classification",
        "label": "label",
        "classes": ["normal", "tumour"],
        "positive_class": "tumour",
        "budget": 5,
        "seed": 7,
        "split_sha256": "f" * 64,
        "primary_metric": "auprc",
        "models": {
            "dummy": model("dummy", "baseline", 0.5, 1),
            # nothing to tune: one fit, and Tip 6 must not ask for a search
            "best_single_feature": {**model("best_single_feature", "baseline", 0.7, 1),
                                    "tuning_note": "no hyper-parameters; 1 fit"},
            "logistic_regression": model("logistic_regression", "baseline", 0.873, 5),
            "mlp": deep,
        },
        "controls": {
            "shuffled_label": {"model": "logistic_regression", "metric": "auprc", "real": 0.873,
                               "null": [0.48, 0.52, 0.5, 0.55, 0.47], "p_value": 0.0196,
                               "permutation": "across_groups"},
            "metadata_only": None,
        },  # fmt: skip
        "comparisons": [{"a": "mlp", "b": "logistic_regression", "metric": "auprc", "diff": -0.072, "low": -0.15, "high": 0.01}],
        "selected": "logistic_regression",
        "findings": [],
        "versions": {"scikit-learn": "1.9.1"},
    }  # fmt: skip


def make_findings() -> list[Finding]:
    return [
        Finding("batch_effect", "warning", 4, "Plate explains 12 % of the variance (Welch, 37 °C, 5 µm).",
                columns=("plate",), evidence={"r2": 0.123, "p_value": 0.0004}),
        Finding("class_imbalance", "info", 1, "Classes are 50/50: no imbalance.", evidence={"ratio": 1.0}),
        Finding("confounding_covariate", "warning", 4, "Age differs between classes (Δ = 4.2 y, η² = 0.03, café).",
                columns=("age",), evidence={"p_value": 0.03}),
    ]  # fmt: skip


def make_study(*, acknowledge: bool = True) -> Study:
    s = Study.new("Tumour vs normal — αβγ µ-array", design=Design(
        question="Does the µRNA signature separate tumour from normal tissue?",
        study_type="observational", replicate_kind="biological", ethics_approval="IRB-2021-044"))  # fmt: skip
    s = s.with_roles(
        Roles(id="sample_id", label="label", group="patient", batch=("plate",), covariates=("age",))
    )
    s = s.with_dataset(DatasetRef("ds1", SHA, "tumour.csv"))
    for step, seed in (
        ("checks", None),
        ("confounds", 0),
        ("split", 7),
        ("baselines", 7),
        ("deep_learning", 7),
    ):
        s = s.with_step(StepRecord(step, params={"budget": 5}, seed=seed, started_at="2024-01-01T00:00:00+00:00",
                                   finished_at="2024-01-01T00:01:00+00:00"))  # fmt: skip
    s = s.with_step(
        StepRecord(
            "interpret",
            params={"method": "permutation importance"},
            summary={"top_features": ["gene_0", "gene_1"]},
        )
    )
    if acknowledge:
        s = s.with_acknowledgement(
            Acknowledgement("batch_effect:plate", "Plates were randomised to condition (é, µ).", who="ana")
        )
    return s


PROVENANCE = {"source": "https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc=GSE2034", "version": "GSE2034 series matrix",
              "download_date": "2024-03-01", "licence": "CC BY 4.0"}  # fmt: skip


def full_facts():
    df = make_table()
    study = make_study()
    split = make_split(df)
    return gather_facts(
        study,
        findings=make_findings(),
        results=make_results(),
        split_summary=summarise_split(df, study.roles, split),
        provenance=PROVENANCE,
        df=df,
    ), split


def pdf_text(path: Path) -> str:
    reader = PdfReader(str(path))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def full_pdf(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    facts, _ = full_facts()
    path = build_pdf(facts, tmp_path_factory.mktemp("pdf") / "report.pdf")
    return facts, _norm(pdf_text(path))


@pytest.mark.slow
def test_every_tip_title_and_status_is_in_the_pdf(full_pdf):
    facts, text = full_pdf
    for tip in TIPS:
        assert f"Tip {tip.number}. {tip.title}" in text
    assert "Contents" in text and "page 3 of" in text
    statuses = {t.tip.number: t.status for t in tip_statuses(facts)}
    assert statuses[4] == "needs attention"  # the age confound is not acknowledged
    assert statuses[2] == statuses[7] == "done"
    assert statuses[6] == "done"  # the models without hyper-parameters need no search
    assert "Labels were permuted between individuals; each individual's samples kept one label." in text
    assert "Trials actually run differ" not in text  # the dummy's single fit is not a difference
    tip1 = tip_statuses(facts)[0]  # the panel was computed: Tip 1 does not ask for it
    assert any(d.startswith("Metric panel with 95% bootstrap intervals") for d in tip1.done)
    assert "Evaluate models with the metric panel." not in [m.text for m in tip1.missing]


@pytest.mark.slow
def test_key_numbers_in_the_pdf_match_the_results(full_pdf):
    facts, text = full_pdf
    test_auprc = make_results()["models"]["logistic_regression"]["metrics"]["test"]["auprc"]
    assert f"{test_auprc['value']:.3f} (95% CI {test_auprc['low']:.3f}–{test_auprc['high']:.3f})" in text
    assert SHA[:12] in text and SHA in text  # full hash on the title page and the dataset table
    assert "train 72, tune 24, test 24" in text  # split sizes
    assert "p = 0.020" in text  # shuffled-label control
    assert "−0.072 (95% CI −0.150 to 0.010)" in text.replace("-", "−")  # paired difference
    assert "Plates were randomised to condition" in text  # the acknowledgement's justification
    assert TO_COMPLETE in text  # e.g. availability of raw predictions
    assert "GSE2034" in text and "CC BY 4.0" in text  # provenance


@pytest.mark.slow
def test_unicode_renders(full_pdf):
    _, text = full_pdf
    for s in ("µ", "°", "é", "αβγ", "Δ = 4.2", "η²", "—"):
        assert s in text


def test_a_study_that_did_nothing_yet(tmp_path):
    study = Study.new("Nothing yet")
    facts = gather_facts(study)
    assert {t.status for t in tip_statuses(facts)} == {"not done"}
    assert all(t.missing for t in tip_statuses(facts))
    text = _norm(pdf_text(build_pdf(facts, tmp_path / "empty.pdf")))
    for tip in TIPS:
        assert tip.title in text
    assert text.count("not done") >= 10
    assert TO_COMPLETE in text and "No model has been fitted yet." in text
    filled = [i for i in dome_items(facts) if i.filled]
    assert [i.item for i in filled] == ["Software availability"]


def test_acknowledging_and_not_applicable_change_the_status():
    facts, _ = full_facts()
    study = facts.study.with_acknowledgement(
        Acknowledgement("confounding_covariate:age", "Age is matched by design.")
    )
    study = study.with_acknowledgement(
        Acknowledgement(not_applicable_key(5), "No deep model: the question is a ranking.")
    )
    again = gather_facts(study, findings=make_findings(), results=make_results(), provenance=PROVENANCE)
    st = {t.tip.number: t for t in tip_statuses(again)}
    assert st[4].status == "done" and len(st[4].acknowledged) == 2
    assert st[5].status == "not applicable" and "ranking" in st[5].reason


def test_checklists_fill_what_the_study_knows():
    facts, _ = full_facts()
    dome = {i.item: i for i in dome_items(facts)}
    assert "train 72 (normal 36, tumour 36)" in dome["Split sizes (training / tuning / test)"].text
    assert "fitted on the training rows only" in dome["Encoding and preprocessing"].text
    assert "0.863" in dome["Performance metrics (test set)"].text
    assert not dome["Availability of raw predictions"].filled
    reforms = {i.item: i for i in reforms_items(facts)}
    assert "individual (patient)" in reforms["Dependence between training and test data"].text
    assert reforms["External validation"].text == TO_COMPLETE
    assert reforms["Question and population"].text.startswith("Does the µRNA")


def test_methods_paragraph_uses_the_same_numbers():
    facts, _ = full_facts()
    text = methods_text(facts)
    assert "training (n = 72), tuning (n = 24) and test (n = 24)" in text
    assert "AUPRC 0.863 (95% CI 0.813–0.903)" in text and "locked test set" in text
    assert SHA in text and "2024-03-01" in text
    assert "resampling individuals (patient)" in text
    bare = methods_paragraph(Study.new("x"), None)
    assert "No model had been fitted" in bare and "0.863" not in bare


def test_audit_pdf_from_findings_and_dataset_only(tmp_path):
    study = Study.new("audit.csv").with_roles(Roles(label="label"))
    dataset = {"sha256": SHA, "rows": 120, "columns": 11, "name": "audit.csv", "n_features": 6}
    path = report_from_parts(
        study, findings=make_findings(), results=None, dataset=dataset, out_pdf=tmp_path / "a.pdf"
    )
    text = _norm(pdf_text(path))
    assert SHA in text and "audit.csv" in text and "Plate explains 12 %" in text
    facts = gather_facts(study, findings=make_findings(), dataset=dataset)
    tip1 = tip_statuses(facts)[0]
    assert tip1.done[0].startswith("Data inspected") and tip1.status == "not done"
    assert "Evaluate models with the metric panel." in [m.text for m in tip1.missing]  # no models yet


def test_build_report_reads_the_workspace(workspace, tmp_path):
    from deeprules_core.report import build_report, facts_from_workspace

    study = make_study()
    workspace.save_study(study)
    workspace.put_json(study.id, "results", "final", make_results())
    # every step records its findings in the study's ledger; the report reads them from there
    workspace.record_findings(study.id, step="checks", findings=make_findings())
    guard = Finding(
        "attribution_on_confounder", "warning", 9, "gene_0 tracks the plate.", columns=("gene_0",)
    )
    interpretation = {"models": {"logistic_regression": {"global": {"rows": []}, "coefficients": {"rows": []}}},
                      "guard": {"top_features": ["gene_0", "gene_1"]}, "findings": [guard.to_dict()]}  # fmt: skip
    workspace.put_json(study.id, "interpretation", "interpretation", interpretation)
    workspace.record_findings(study.id, step="interpret", findings=[guard])
    facts = facts_from_workspace(workspace, study)
    assert facts.selected == "logistic_regression" and len(facts.findings) == 4
    assert facts.interpret["method"] == ["permutation importance", "model coefficients"]
    assert tip_statuses(facts)[8].status == "needs attention"  # the guard's finding, Tip 9
    path = build_report(workspace, study, out_pdf=tmp_path / "r.pdf")
    assert "0.863" in _norm(pdf_text(path))


def test_charts_are_png_or_none():
    from deeprules_core.report._charts import chart_png

    facts, _ = full_facts()
    empty = gather_facts(Study.new("e"))
    for name in (
        "class_balance",
        "pca",
        "split",
        "metrics",
        "shuffled_null",
        "learning_curve",
        "deep_learning_curve",
    ):
        png = chart_png(name, facts)
        assert png is not None and png.startswith(b"\x89PNG"), name
        assert chart_png(name, empty) is None
    with pytest.raises(ValueError, match="Unknown chart"):
        chart_png("pie", facts)


def test_split_summary_counts_sides_classes_and_individuals():
    df = make_table()
    study = make_study()
    summary = summarise_split(df, study.roles, make_split(df))
    assert summary["sizes"] == {"train": 72, "tune": 24, "test": 24}
    assert summary["class_counts"]["test"] == {"normal": 12, "tumour": 12}
    assert summary["group_overlap"] == 0 and summary["groups"]["train"] == 36
