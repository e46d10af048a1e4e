"""Findings go out of date when their inputs change: a problem found under column roles A
that no longer applies under roles B is not an open error anywhere (banner, split
suggestion, headline, report, PDF), the report says which step to re-run and its tip is
not "done"; re-running records the new findings only."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from confounded_case import ROLES, confounded_table
from pypdf import PdfReader

from deeprules_core import steps
from deeprules_core.current import out_of_date, results_out_of_date
from deeprules_core.intake import Provenance, ingest
from deeprules_core.report import facts_from_workspace, tip_statuses
from deeprules_core.split import make_split
from deeprules_core.study import Design, Roles, StepRecord, Study

PROV = Provenance(source="sim:stale", version="1", download_date="2026-12-03", licence="CC0", entered_by="t")
CHECKS_REDO = "Checks were run on earlier column roles; re-run them on the Checks page."


def _pdf_text(data: bytes) -> str:
    return " ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(data)).pages).replace("\n", " ")


def _study(ws, roles: Roles):
    df = confounded_table()
    df.insert(1, "tube", [f"T{i % 40:03d}" for i in range(len(df))])  # every tube id twice
    study = ws.create_study("Roles change")
    study, _ = ingest(ws, df.to_csv(index=False).encode(), name="t.csv", provenance=PROV, study=study)
    return ws.save_study(study.with_roles(roles)), df


def _tip(facts, n: int):
    return next(t for t in tip_statuses(facts) if t.tip.number == n)


def test_a_check_under_earlier_roles_is_no_longer_open_and_says_re_run(workspace):
    ws = workspace
    study, df = _study(ws, replace(ROLES, id="tube"))  # roles A: the tube is the sample id
    found = steps.run_checks(ws, study, df)
    assert "duplicate_ids" in {f.code for f in found["findings"] if f.severity == "error"}
    assert "duplicate_ids" in {e.finding.code for e in steps.open_errors(ws, study.id, page="report")}

    study = ws.save_study(ws.get_study(study.id).with_roles(ROLES))  # roles B: sample_id is the id
    assert {s: o.reason for s, o in out_of_date(study).items()} == {"checks": "roles"}
    assert steps.open_errors(ws, study.id, page="report") == []
    assert "duplicate_ids" not in {f.code for f in steps.study_findings(ws, study)}
    facts = facts_from_workspace(ws, study)
    tip1 = _tip(facts, 1)
    assert tip1.status != "done" and CHECKS_REDO in [m.text for m in tip1.missing]
    assert "duplicate_ids" not in {f.code for f in facts.findings}
    pdf, study = steps.write_report(ws, study)
    assert CHECKS_REDO in _pdf_text(pdf)
    assert study.step("report").summary["statuses"]["1"] != "done"

    again = steps.run_checks(ws, study, df)  # re-run: the new findings only
    assert "duplicate_ids" not in {f.code for f in again["findings"]}
    assert out_of_date(again["study"]) == {}
    codes = {f.code for f in steps.study_findings(ws, again["study"])}
    assert codes == {f.code for f in again["findings"]}


def test_a_batch_role_removed_leaves_no_confounding_and_no_stale_verdict(workspace):
    ws = workspace
    study, df = _study(ws, ROLES)  # roles A: the plate is a batch, confounded with the label
    study = steps.run_checks(ws, study, df)["study"]
    study = steps.run_confounds(ws, study, df)["study"]
    split = make_split(df, ROLES, seed=0)
    study = steps.run_split(ws, study, split, df)
    results = steps.run_baselines_step(
        ws, study, df, split, models=("dummy",), budget=1, n_shuffles=2, n_boot=20
    )
    assert "batch_confounding" in {e.finding.code for e in steps.open_errors(ws, study.id, page="baselines")}

    roles_b = Roles(id="sample_id", label="label")  # the plate has no role any more
    study = ws.save_study(ws.get_study(study.id).with_roles(roles_b))
    stale = out_of_date(study)
    assert set(stale) == {"checks", "confounds", "split", "baselines"}
    assert {o.reason for o in stale.values()} == {"roles"}
    assert steps.open_errors(ws, study.id, page="report") == []
    assert "No split cures this" not in steps.suggest_split(ws, study)[1]
    verdict = steps.study_headline(ws, study, results)
    assert verdict.startswith("Baselines were fitted on earlier column roles; re-run them")
    assert "selected model" not in verdict
    facts = facts_from_workspace(ws, study)
    assert facts.models == () and facts.statement == ""
    assert {n: _tip(facts, n).status for n in (1, 2, 4, 6, 7)} == dict.fromkeys((1, 2, 4, 6, 7), "not done")
    assert "The batch & confound checks were run on earlier column roles" in " ".join(
        m.text for m in _tip(facts, 4).missing
    )

    conf = steps.run_confounds(ws, study, df)  # re-run under roles B: the new findings only
    assert "batch_confounding" not in {f.code for f in conf["findings"]}
    assert "confounds" not in out_of_date(conf["study"])
    ledger = {e.step for e in ws.findings(study.id, study=conf["study"])}
    assert ledger <= {"confounds"}  # the checks, split and baselines must be re-run first
    new_split = make_split(df, roles_b, seed=0)
    study = steps.run_split(ws, steps.run_checks(ws, conf["study"], df)["study"], new_split, df)
    assert set(out_of_date(study)) == {"baselines"}
    steps.run_baselines_step(ws, study, df, new_split, models=("dummy",), budget=1, n_shuffles=2, n_boot=20)
    study = ws.get_study(study.id)
    assert out_of_date(study) == {} and results_out_of_date(study) == []
    assert "earlier column roles" not in steps.study_headline(ws, study, results)


@pytest.mark.parametrize(
    ("change", "stale"),
    [
        ({"question": "Does the drug work?", "ethics_approval": "IRB-1"}, False),  # not read by the checks
        ({"replicate_kind": "technical"}, True),  # changes what the checks look for
    ],
)
def test_only_design_answers_the_analysis_reads_make_the_checks_out_of_date(change, stale):
    from deeprules_core.current import study_inputs

    study = Study.new("d").with_roles(Roles(label="y"))
    study = study.with_step(StepRecord("checks", input_hashes=study_inputs(study)))
    later = study.with_design(replace(Design(), **change))
    assert ("checks" in out_of_date(later)) is stale
    if stale:
        assert out_of_date(later)["checks"].message.startswith("Checks were run on an earlier study design")


def test_after_a_roles_change_only_current_results_are_shown_scored_or_interpreted(workspace):
    """Baselines and a deep model under roles A; roles B; the old results are refused for
    the test set and the pages; the baselines re-run under B are the study's results on
    their own (the deep model trained under A is left out and said to be out of date),
    and a test evaluation of them is current."""
    from deeprules_core.errors import ModelError, SplitError
    from deeprules_core.modeling import current_results, latest_results

    ws = workspace
    study, df = _study(ws, ROLES)
    split = make_split(df, ROLES, seed=0)
    study = steps.run_split(ws, study, split, df)
    steps.run_baselines_step(
        ws, study, df, split, models=("dummy", "logistic_regression"), budget=1, n_shuffles=2, n_boot=20
    )
    steps.run_deep_step(
        ws, ws.get_study(study.id), df, split, budget=1, n_seeds=1, max_epochs=3, n_shuffles=2, n_boot=20
    )
    study = ws.get_study(study.id)
    assert any(m.get("kind") == "deep" for m in current_results(ws, study)["models"].values())

    roles_b = Roles(id="sample_id", label="label")
    study = ws.save_study(study.with_roles(roles_b))
    assert current_results(ws, study) is None and latest_results(ws, study.id) is not None
    with pytest.raises(SplitError, match="The split was made on earlier column roles"):
        steps.run_evaluate(ws, study, df)  # first of all the split must be made again

    new_split = make_split(df, roles_b, seed=0)
    study = steps.run_split(ws, study, new_split, df)
    with pytest.raises(
        ModelError, match="out of date, so there is nothing to evaluate on the test set: Baselines"
    ):
        steps.run_evaluate(ws, study, df)  # the split is new, the models are not
    steps.run_baselines_step(
        ws, study, df, new_split, models=("dummy", "logistic_regression"), budget=1, n_shuffles=2, n_boot=20
    )
    study = ws.get_study(study.id)
    assert set(out_of_date(study)) == {"deep_learning"}
    results = current_results(ws, study)
    kinds = {m: e.get("kind") for m, e in results["models"].items()}
    assert (
        "logistic_regression" in kinds and "deep" not in kinds.values()
    )  # roles A's deep model is not carried
    assert results_out_of_date(study, results) == []
    verdict = steps.study_headline(ws, study, results)
    assert "selected model" in verdict and "earlier column roles" not in verdict

    steps.run_evaluate(ws, study, df, new_split)
    study = ws.get_study(study.id)
    assert set(out_of_date(study)) == {"deep_learning"}  # the evaluation did not use the old deep model
    final = current_results(ws, study)
    assert final["test_evaluation"] and set(final["models"]) == set(results["models"])
    facts = facts_from_workspace(ws, study)
    assert {m.name for m in facts.models} >= {"logistic_regression"}
    redo = "The deep model was trained on earlier column roles; train it again on the Deep learning page."
    assert redo in [m.text for m in _tip(facts, 5).missing]
    pdf, _ = steps.write_report(ws, study)
    text = _pdf_text(pdf)
    assert redo in text and steps.study_headline(ws, study, final) in text


def test_a_privacy_analysis_and_model_card_of_earlier_roles_are_neither_shown_nor_reported(workspace):
    from deeprules_core.current import study_inputs
    from deeprules_core.privacy import build_model_card, privacy_overview, privacy_results

    ws = workspace
    study, _ = _study(ws, ROLES)
    analysis = {
        "membership_inference": {"random_forest": {"loss_threshold": {"auc": 0.9, "low": 0.8, "high": 0.95}}}
    }
    ws.put_json(study.id, "privacy", "privacy", analysis)
    study = ws.save_study(study.with_step(StepRecord("privacy", input_hashes=study_inputs(study))))
    assert privacy_results(ws, study) == analysis
    card = build_model_card(ws, study, intended_use="Research on this cohort only.")
    assert card["inputs"] == study_inputs(study)
    facts = facts_from_workspace(ws, study)
    assert facts.privacy.get("privacy") == analysis and facts.privacy.get("model_card") == card

    study = ws.save_study(study.with_roles(Roles(id="sample_id", label="label")))
    assert "privacy" in out_of_date(study)
    view = privacy_overview(ws, study)
    assert privacy_results(ws, study) is None and view["analysis"] is None
    assert view["model_card"] is None and view["model_card_out_of_date"]
    assert not {"privacy", "model_card"} & set(facts_from_workspace(ws, study).privacy)


def test_baselines_on_a_split_made_under_earlier_roles_stay_out_of_date():
    """The deep model is the one step a later step may have left out; a split is always
    used: baselines recorded under the new roles on the old split are out of date with it."""
    from deeprules_core.current import study_inputs

    a = Study.new("s").with_roles(Roles(label="y", group="donor"))
    a = a.with_step(StepRecord("split", input_hashes=study_inputs(a), summary={"sha256": "s1"}))
    b = a.with_roles(Roles(label="y"))
    b = b.with_step(StepRecord("baselines", input_hashes=study_inputs(b)))  # roles B, split s1
    assert {s: o.reason for s, o in out_of_date(b).items()} == {"split": "roles", "baselines": "roles"}


def test_models_are_not_fitted_on_a_split_made_under_earlier_roles(workspace):
    from deeprules_core.errors import SplitError

    ws = workspace
    study, df = _study(ws, ROLES)
    study = steps.run_split(ws, study, make_split(df, ROLES, seed=0), df)
    study = ws.save_study(ws.get_study(study.id).with_roles(Roles(id="sample_id", label="label")))
    with pytest.raises(SplitError, match="The split was made on earlier column roles.*make it again first"):
        steps.run_baselines_step(ws, study, df, models=("dummy",), budget=1, n_shuffles=0, n_boot=10)
    assert ws.get_study(study.id).step("baselines") is None


def test_a_model_card_of_another_model_is_not_shown_until_written_again(workspace):
    from deeprules_core.privacy import build_model_card, model_card, privacy_overview

    ws = workspace
    study, df = _study(ws, ROLES)
    split = make_split(df, ROLES, seed=0)
    study = steps.run_split(ws, study, split, df)
    card = build_model_card(ws, study, intended_use="Research only.")
    assert card["model"] == "no model selected yet" and model_card(ws, study) == card
    steps.run_baselines_step(ws, study, df, split, models=("dummy", "logistic_regression"), budget=1,
                             n_shuffles=0, n_boot=10)  # fmt: skip
    study = ws.get_study(study.id)
    assert model_card(ws, study) is None and privacy_overview(ws, study)["model_card_out_of_date"]
    assert "model_card" not in facts_from_workspace(ws, study).privacy
    again = build_model_card(ws, study, intended_use="Research only.")
    assert again["model"] != "no model selected yet" and model_card(ws, study) == again
