"""The report says what is true: checks that raised errors did not "pass", unanswered
questions are "not stated", controls are worded by their result, models by their task."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from deeprules_core.findings import Finding
from deeprules_core.report import (
    build_pdf,
    dome_items,
    gather_facts,
    methods_text,
    reforms_items,
    tip_statuses,
)
from deeprules_core.report._charts import MIN_METRIC_SPAN, _legend_label, _unit_span
from deeprules_core.report._text import fmt_ci, fmt_num, fmt_p, fmt_value, model_label, plural
from deeprules_core.report._wording import control_verdict
from deeprules_core.study import DatasetRef, Design, Roles, StepRecord, Study

SHA = "5e625602" + "0" * 56
DATASET = {"name": "penguins.csv", "sha256": SHA, "rows": 344, "columns": 17, "n_features": 6}


def _pdf_text(path: Path) -> str:
    return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(str(path)).pages)


def _pages(path: Path) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(str(path)).pages]


def _audit_study() -> Study:
    """What ``deeprules audit`` builds: roles only, the design questionnaire untouched."""
    return Study.new("penguins.csv").with_roles(Roles(id="Sample Number", label="Species", batch=("Island",)))


def _findings() -> list[Finding]:
    return [
        Finding("batch_confounding", "error", 4, "Island and Species go together.", columns=("Island",),
                evidence={"p_value": 1.4e-63, "effect": 0.66}),
        Finding("batch_effect", "warning", 4, "Island is visible.", columns=("Island",), evidence={"r2": 0.0004}),
        Finding("outliers", "warning", 1, "1 outlier.", evidence={"n_outliers": 1}),
        Finding("class_imbalance", "info", 1, "1:2.", evidence={"ratio": 0.45}),
    ]  # fmt: skip


def _entry(v: float, lo: float, hi: float) -> dict:
    return {"value": v, "low": lo, "high": hi}


def _panel(v: float, task: str = "classification") -> dict:
    if task == "regression":
        return {"r2": _entry(v, v - 0.07, v + 0.03), "mae": _entry(30.1, 25.0, 35.2)}
    return {"auprc": _entry(v, v - 0.006, min(1.0, v + 0.001)), "brier": _entry(0.003, 7.6e-05, 0.008)}


def _results(
    *, task: str = "classification", selected: str = "logistic_regression", deep: bool = False
) -> dict:
    pm = "r2" if task == "regression" else "auprc"
    models = {
        "dummy": {"family": "dummy", "kind": "baseline", "n_trials": 1, "tuning_note": "no hyper-parameters; 1 fit",
                  "cv_score": 0.33, "metrics": {"tune": _panel(0.333, task)}},
        "logistic_regression": {"family": "logistic_regression", "kind": "baseline", "n_trials": 5, "cv_score": 0.998,
                                "params": {"C": 0.19634, "class_weight": None},
                                "metrics": {"train": _panel(1.0, task), "tune": _panel(0.999, task)}},
    }  # fmt: skip
    if deep:
        models["mlp"] = {
            "family": "mlp", "kind": "deep", "n_trials": 5, "cv_score": 1.0, "n_params": 97547,
            "params": {"kind": "mlp", "width": 178, "n_filters": 32, "lr": 0.0095414, "weight_decay": 0.00020295},
            "cv_note": "validation metric of the best trial on the training side's first CV fold",
            "metrics": {"train": _panel(1.0, task), "tune": _panel(0.9988, task)},
            "seeds": [{"seed": 0}, {"seed": 1}],
            "architecture": {"kind": "mlp", "n_params": 97547, "n_samples": 165},
            "controls": {"shuffled_label": {"model": "mlp", "metric": pm, "real": 0.9988,
                                            "null": [0.98, 0.99, 0.981] * 7, "p_value": 0.25}},
        }  # fmt: skip
    return {
        "task": task,
        "primary_metric": pm,
        "budget": 5,
        "seed": 0,
        "n_rows": {"train": 206, "tune": 69, "test": 69},
        "models": models,
        "selected": selected,
        "controls": {
            "shuffled_label": {
                "model": "logistic_regression",
                "metric": pm,
                "real": 0.999,
                "null": [0.97, 0.9995, 0.995] * 7,
                "p_value": 0.25,
            },
        },  # fmt: skip
        "comparisons": [
            {
                "a": "logistic_regression",
                "b": "dummy",
                "metric": pm,
                "diff": 0.667,
                "low": 0.66,
                "high": 0.667,
            },
            {
                "a": "dummy",
                "b": "logistic_regression",
                "metric": pm,
                "diff": -0.667,
                "low": -0.667,
                "high": -0.66,
            },
            {
                "a": "logistic_regression",
                "b": "mlp",
                "metric": pm,
                "diff": -0.018,
                "low": -0.153,
                "high": -2.13e-05,
            },
        ],
        "statement": f"The best model is {selected}.",
    }


def _run_study(design: Design | None = None, task: str = "classification") -> Study:
    s = Study.new("penguins run", design=design or Design()).with_roles(
        Roles(label="Species", task=task, group="Individual ID")
    )
    s = s.with_dataset(DatasetRef("ds1", SHA, "penguins.csv"))
    return s.with_step(StepRecord("run", params={"study_file": "study.yaml"}, seed=0))


SPLIT = {"strategy": "group", "seed": 0, "sha256": "d" * 64, "sizes": {"train": 206, "tune": 69, "test": 69},
         "n_folds": 5}  # fmt: skip


# --------------------------------------------------------------------------- 1. "passed"
def test_checks_with_errors_did_not_pass():
    text = methods_text(gather_facts(_audit_study(), findings=_findings(), dataset=DATASET))
    assert "passed" not in text
    assert "the checks raised 1 error and 2 warnings (listed in the checklist)" in text
    clean = methods_text(gather_facts(_audit_study(), findings=[_findings()[-1]], dataset=DATASET))
    assert "passed schema, quality, batch-effect and confounding checks with no error and no warning" in clean


# --------------------------------------------------------------------------- 2. sensitive data
def test_an_unanswered_questionnaire_is_not_stated_and_tip10_needs_attention(tmp_path):
    facts = gather_facts(_audit_study(), findings=_findings(), dataset=DATASET)
    tip10 = tip_statuses(facts)[9]
    assert tip10.status == "needs attention"
    assert "Sensitive data: not stated." in tip10.done
    assert any(m.attention for m in tip10.missing)
    text = _pdf_text(build_pdf(facts, tmp_path / "a.pdf"))
    assert "Sensitive data not stated" in text and "Ethics approval not stated" in text
    assert "stated in the design questionnaire" not in text
    assert not re.search(r"Sensitive data:? no\b", text)
    assert "To be completed by the authors" in text


def test_a_partly_answered_design_does_not_claim_no_sensitive_data():
    facts = gather_facts(
        _run_study(Design(question="Species?", study_type="observational")), results=_results()
    )
    tip10 = tip_statuses(facts)[9]
    assert tip10.status == "needs attention"
    assert "not confirmed" in " ".join(tip10.done)
    stated = Design(
        question="Species?", study_type="observational", ethics_approval="not required: public data"
    )
    tip10 = tip_statuses(gather_facts(_run_study(stated), results=_results()))[9]
    assert tip10.status == "done" and "Ethics approval: not required: public data." in tip10.done


def test_a_fresh_study_is_not_done_rather_than_needing_attention():
    assert tip_statuses(gather_facts(Study.new("fresh")))[9].status == "not done"


# --------------------------------------------------------------------------- 3. training samples
def test_p_versus_n_says_samples_without_a_split_and_one_training_count_with_one():
    audit = {i.item: i.text for i in dome_items(gather_facts(_audit_study(), findings=[], dataset=DATASET))}
    p_n = audit["Number of parameters p versus samples N"]
    assert "6 input features for N = 344 samples (no split has been made yet)" in p_n
    assert "training" not in p_n
    facts = gather_facts(_run_study(), results=_results(selected="mlp", deep=True), split_summary=SPLIT)
    p_n = {i.item: i.text for i in dome_items(facts)}["Number of parameters p versus samples N"]
    tip5 = " ".join(tip_statuses(facts)[4].done)
    for text in (p_n, tip5):
        assert "97,547 parameters" in text and "fitted on 165 training samples" in text
        assert "the other 41 of the 206 training-side rows were held out for early stopping" in text
    assert "for 206 training samples" not in tip5


# --------------------------------------------------------------------------- 4. bundle
def test_no_bundle_is_claimed_unless_the_report_is_in_one(tmp_path):
    audit = gather_facts(_audit_study(), findings=_findings(), dataset=DATASET)
    text = _pdf_text(build_pdf(audit, tmp_path / "a.pdf"))
    assert "SHA256SUMS" not in text and "versions.json" not in text
    assert "no study file, split file or results file was exported with this report" in methods_text(audit)
    run = gather_facts(_run_study(), results=_results(), split_summary=SPLIT)
    assert run.outputs == "run"
    text = _pdf_text(build_pdf(run, tmp_path / "r.pdf"))
    assert "SHA256SUMS" not in text and "versions.json" not in text
    for name in ("study.yaml", "split.csv", "results.json", "findings.json", "report.pdf"):
        assert name in text
    assert "No checksum file or data copy is written" in text
    bundle = gather_facts(_run_study(), results=_results(), outputs="bundle")
    text = _pdf_text(build_pdf(bundle, tmp_path / "b.pdf"))
    assert "SHA256SUMS" in text and "versions.json" in text
    with pytest.raises(ValueError, match="'outputs' parameter"):
        gather_facts(_run_study(), outputs="zip")


# --------------------------------------------------------------------------- 5. provenance
def test_a_download_date_nobody_stated_is_not_stated():
    old_run = {"source": "file:///tmp/penguins.csv", "version": "as found on disk", "download_date": "",
               "licence": "not stated in the study file", "entered_by": "deeprules run"}  # fmt: skip
    facts = gather_facts(_run_study(), provenance=old_run, dataset=DATASET)
    text = methods_text(facts)
    assert "version not stated, download date not stated" in text and "as found on disk" not in text
    assert "file:///" not in text
    new_run = dict(old_run, version="not stated", licence="not stated", download_date="2026-11-30",
                   description="Read by 'deeprules run' from penguins.csv. No download date was given: 2026-11-30 "
                   "is the file's modification date. Not stated in the study file: source, version, download_date, "
                   "licence.")  # fmt: skip
    facts = gather_facts(_run_study(), provenance=new_run, dataset=DATASET)
    dome = {i.item: i.text for i in dome_items(facts)}
    assert "download date not stated" in dome["Provenance and source"]
    assert "downloaded on 2026-11-30" not in methods_text(facts) and "date 2026-11-30" not in methods_text(
        facts
    )
    given = dict(new_run, source="https://example.org/p.csv", download_date="2020-07-16", description="")
    assert "download date 2020-07-16" in methods_text(gather_facts(_run_study(), provenance=given))


# --------------------------------------------------------------------------- 6. display names
def test_the_linear_family_is_a_linear_regression_for_a_regression_task(tmp_path):
    facts = gather_facts(
        _run_study(task="regression"), results=_results(task="regression"), split_summary=SPLIT
    )
    text = methods_text(facts)
    assert "linear regression (elastic net)" in text and "logistic" not in text
    assert (
        "We fitted 2 baselines: a dummy model predicting the mean and linear regression (elastic net);"
        in text
    )
    pdf = _pdf_text(build_pdf(facts, tmp_path / "r.pdf"))
    assert "logistic regression" not in pdf and "logistic_regression" not in pdf
    assert "The selected model is linear regression (elastic net)" in pdf
    assert model_label("logistic_regression", "classification") == "logistic regression"
    assert model_label("random_forest", "regression") == "random forest"


# --------------------------------------------------------------------------- 7. control wording
def test_a_control_with_p_above_005_never_rules_over_fitting_out():
    beaten = {"real": 0.999, "null": [0.97, 0.9995, 0.995] * 7, "p_value": 0.5}
    assert "did not beat the shuffled-label runs" in control_verdict(beaten)
    assert "no_signal" in control_verdict(beaten)
    too_few = {"real": 0.618, "null": [0.05, 0.02, 0.13], "p_value": 0.25}
    assert "inconclusive" in control_verdict(too_few) and "no_signal" not in control_verdict(too_few)
    lost_few = {"real": 0.5, "null": [0.9, 0.8, 0.7], "p_value": 1.0}  # few shuffles: never a verdict
    assert "inconclusive" in control_verdict(lost_few)
    enough = {"real": 0.9, "null": [0.5] * 99, "p_value": 0.01}
    assert "learned more than chance" in control_verdict(enough)
    facts = gather_facts(_run_study(), results=_results(), split_summary=SPLIT)
    fitting = {i.item: i.text for i in dome_items(facts)}["Over- and under-fitting ruled out"]
    assert "did not beat the shuffled-label runs" in fitting and "over-fitting is not ruled out" in fitting


# --------------------------------------------------------------------------- 8. the selected model's control
def test_the_selected_deep_models_own_control_is_quoted(tmp_path):
    facts = gather_facts(_run_study(), results=_results(selected="mlp", deep=True), split_summary=SPLIT)
    assert facts.shuffled_control["model"] == "mlp"
    assert "the MLP model reached a mean AUPRC of 0.984 against 0.999" in methods_text(facts)
    dome = {i.item: i.text for i in dome_items(facts)}
    reforms = {i.item: i.text for i in reforms_items(facts)}
    for text in (dome["Over- and under-fitting ruled out"], reforms["Controls"]):
        assert text.count("Shuffled-label control of MLP") == 1 and "of logistic regression" not in text
    controls = [x for x in tip_statuses(facts)[6].done if x.startswith("Shuffled-label control")]
    assert controls[0].startswith("Shuffled-label control of MLP")  # the selected model's first
    assert controls[1].startswith("Shuffled-label control of logistic regression")


# --------------------------------------------------------------------------- 9. formatting and layout
def test_numbers_counts_and_names_are_written_for_readers():
    assert fmt_num(3.9e-43) == "< 0.001" and fmt_num(-2e-5) == "> -0.001" and fmt_num(0.25) == "0.250"
    assert fmt_ci(_entry(-0.018, -0.153, -2.13e-05), compact=True) == "-0.018 [-0.153, -0.000]"
    assert fmt_p(5.3e-51) == "p < 0.001" and fmt_value(4.1e-47, key="p_value") == "< 0.001"
    assert fmt_value(0.00020295362) == "0.000203" and fmt_value(2e-5) == "2.0e-05"
    assert (plural(1, "feature"), plural(2, "sample")) == ("1 feature", "2 samples")
    long = "Chinstrap penguin (Pygoscelis antarctica)"
    assert _legend_label(long).replace("\n", " ") == long
    assert _legend_label("x" * 80).endswith("…") and len(_legend_label("x" * 80, 200)) == 48
    lo, hi = _unit_span([0.9975, 1.0])
    assert hi - lo >= MIN_METRIC_SPAN and hi <= 1.0 + MIN_METRIC_SPAN and lo >= 0
    assert _unit_span([0.2, 0.9]) is None and _unit_span([-0.3, 0.1]) is None


@pytest.mark.slow
def test_the_pdf_has_no_scientific_notation_plural_slips_or_near_empty_pages(tmp_path):
    facts = gather_facts(_run_study(), results=_results(selected="mlp", deep=True), split_summary=SPLIT,
                         findings=_findings())  # fmt: skip
    path = build_pdf(facts, tmp_path / "r.pdf")
    text = _pdf_text(path)
    assert not any(s in text for s in ("e-0", "e-4", "e-6", "e+0")), "scientific notation in the PDF"
    assert "(s)" not in text
    assert "1 fit" in text and "dummy (5 trials)" not in text
    assert "n_filters" not in text  # a CNN setting is not shown for an MLP
    assert "AUPRC, logistic regression − dummy" in text and "AUPRC, dummy − logistic regression" not in text
    audit = build_pdf(gather_facts(_audit_study(), findings=_findings(), dataset=DATASET), tmp_path / "a.pdf")
    pages = _pages(audit)
    models = next(p for p in pages if "No model has been fitted yet." in p)
    assert "Design and column roles" in models  # the short section shares its page
    for i, page in enumerate(pages[1:], start=2):
        assert len(page.split()) > 30, f"page {i} is nearly empty: {page!r}"


def test_title_page_counts_use_plurals(tmp_path):
    facts = gather_facts(_audit_study(), findings=_findings(), dataset=DATASET)
    first = _pages(build_pdf(facts, tmp_path / "a.pdf"))[0]
    n, verb = re.search(r"(\d+) (needs?) attention", first).groups()  # type: ignore[union-attr]
    assert int(n) > 1 and verb == "need"
    facts = gather_facts(Study.new("fresh"))
    assert "Tips: 10 not done." in _pages(build_pdf(facts, tmp_path / "f.pdf"))[0]


# --------------------------------------------------------------------------- 10. metadata-only numbers
def test_two_metadata_only_scores_are_explained():
    res = _results()
    res["controls"]["metadata_only"] = {"model": "logistic_regression", "columns": ["Island", "Sex"], "n": 275,
                                        "excluded_test_rows": True, "metric": "balanced_accuracy", "score": 0.7896,
                                        "value": 0.7896, "chance": 1 / 3, "p_value": 3.9e-43}  # fmt: skip
    checks = Finding("metadata_predicts_label", "error", 9, "The metadata alone predict the label.",
                     columns=("Island", "Sex"), evidence={"n": 344, "excluded_test_rows": False, "score": 0.7807})  # fmt: skip
    facts = gather_facts(_run_study(), findings=[checks], results=res, split_summary=SPLIT)
    line = next(x for x in tip_statuses(facts)[8].done if x.startswith("Metadata-only"))
    assert "balanced accuracy 0.790" in line and "275 rows outside the test set" in line
    assert "quotes 0.781" in line and "all 344 rows, before the split" in line
    alone = gather_facts(_run_study(), findings=[], results=res, split_summary=SPLIT)
    assert "quotes" not in next(x for x in tip_statuses(alone)[8].done if x.startswith("Metadata-only"))


def test_a_bundle_can_carry_the_report_that_describes_it(workspace, tmp_path):
    import io
    import zipfile

    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.report import export_bundle, verify_bundle

    data = "sample_id,g1,g2,label\n" + "".join(
        f"s{i},{i % 7},{(i * 3) % 5},{'ab'[i % 2]}\n" for i in range(40)
    )
    prov = Provenance(source="GSE1", version="1", download_date="2024-01-01", licence="CC0", entered_by="me")
    study = Study.new("bundled").with_roles(Roles(id="sample_id", label="label"))
    study, _ = ingest(workspace, data.encode(), name="t.csv", provenance=prov, study=study)
    workspace.save_study(study)
    plain = export_bundle(workspace, study, tmp_path / "plain.zip")
    with zipfile.ZipFile(plain) as zf:
        assert "report.pdf" not in zf.namelist()
    path = export_bundle(workspace, study, tmp_path / "b.zip", include_report=True)
    assert all(verify_bundle(path).values()) and "report.pdf" in verify_bundle(path)
    with zipfile.ZipFile(path) as zf:
        text = " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(zf.read("report.pdf"))).pages)
        assert "report.pdf" in zf.read("README.md").decode()
    assert "SHA256SUMS" in " ".join(text.split())


def test_dome_feature_selection_follows_the_pipeline():
    results = _results()
    facts = gather_facts(_run_study(), results=results, split_summary=SPLIT)
    item = {i.item: i.text for i in dome_items(facts)}["Feature selection (training data only)"]
    assert item.startswith("No data-driven feature selection")
    results["preprocessing"] = {
        "steps": [
            "median imputation",
            "keep the 2000 features most associated with the label (ANOVA F), chosen again on the "
            "fitting rows of every fold and of every refit",
            "standardisation",
        ]
    }
    facts = gather_facts(_run_study(), results=results, split_summary=SPLIT)
    item = {i.item: i.text for i in dome_items(facts)}["Feature selection (training data only)"]
    assert "2000 features most associated with the label" in item and "never chose features" in item
