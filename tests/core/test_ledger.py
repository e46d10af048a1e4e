"""The findings ledger: one table, one API; re-runs supersede, acknowledgements attach,
later steps read earlier findings (split suggestion, batch-correction refusal, headlines)."""

from __future__ import annotations

import pytest
from confounded_case import ROLES, confounded_table

from deeprules_core import steps
from deeprules_core.errors import DeepRulesError, StoreError
from deeprules_core.findings import Finding
from deeprules_core.intake import Provenance, ingest
from deeprules_core.split import make_split

PROV = Provenance(
    source="sim:confounded", version="1", download_date="2026-12-03", licence="CC0", entered_by="t"
)


def _f(code: str, severity: str = "error", col: str = "x", msg: str = "m.") -> Finding:
    from deeprules_core.findings import CODES

    return Finding(code=code, severity=severity, tip=CODES[code], columns=(col,), message=msg)


def test_record_supersede_and_acknowledge(workspace):
    s = workspace.create_study("ledger")
    a, b = _f("duplicate_ids"), _f("missing_values", "warning", "g1")
    workspace.record_findings(s.id, step="checks", findings=[a, b], input_hashes={"dataset": "d1"})
    n_log = len(workspace.audit_log(s.id))
    # the same findings from the same inputs: nothing new
    workspace.record_findings(s.id, step="checks", findings=[b, a], input_hashes={"dataset": "d1"})
    assert len(workspace.audit_log(s.id)) == n_log
    assert [e.finding.code for e in workspace.findings(s.id)] == ["duplicate_ids", "missing_values"]
    assert [e.step for e in workspace.open_findings(s.id)] == ["checks"]
    # a re-run supersedes: the old rows stay, marked
    workspace.record_findings(s.id, step="checks", findings=[b], input_hashes={"dataset": "d2"})
    assert [e.finding.code for e in workspace.findings(s.id)] == ["missing_values"]
    old = [e for e in workspace.findings(s.id, include_superseded=True) if not e.current]
    assert [e.finding.code for e in old] == ["duplicate_ids", "missing_values"]
    assert workspace.findings(s.id)[0].input_hashes == {"dataset": "d2"}
    assert workspace.open_findings(s.id) == []  # a warning is not an error
    assert len(workspace.open_findings(s.id, severities=("error", "warning"))) == 1
    with pytest.raises(StoreError, match="written justification"):
        workspace.acknowledge_finding(s.id, b.key, "  ")
    workspace.acknowledge_finding(s.id, b.key, "Missing at random: the assay failed on two wells.")
    # the acknowledgement attaches to the entry and holds for a later re-run
    workspace.record_findings(s.id, step="checks", findings=[b], input_hashes={"dataset": "d3"})
    (entry,) = workspace.findings(s.id)
    assert entry.acknowledgement is not None and "two wells" in entry.acknowledgement.justification
    assert not entry.open


def test_open_errors_of_earlier_steps_only(workspace):
    s = workspace.create_study("order")
    workspace.record_findings(s.id, step="confounds", findings=[_f("batch_confounding", col="plate")])
    workspace.record_findings(s.id, step="baselines", findings=[_f("no_signal", col="m")])
    assert [e.step for e in steps.open_errors(workspace, s.id, page="split")] == ["confounds"]
    assert {e.step for e in steps.open_errors(workspace, s.id, page="report")} == {"confounds", "baselines"}
    # the deep step re-derives the modelling findings: it supersedes the baselines' ones
    workspace.record_findings(s.id, step="deep_learning", findings=[], supersedes=("baselines",))
    assert [e.step for e in workspace.findings(s.id)] == ["confounds"]
    with pytest.raises(StoreError, match="Unknown step"):
        workspace.record_findings(s.id, step="nonsense", findings=[])


@pytest.fixture
def confounded(workspace):
    study = workspace.create_study("Confounded")
    data = confounded_table().to_csv(index=False).encode()
    study, _ = ingest(workspace, data, name="confounded.csv", provenance=PROV, study=study)
    study = workspace.save_study(study.with_roles(ROLES))
    return workspace, study


def test_steps_record_once_and_carry_the_confounding_forward(confounded):
    ws, study = confounded
    out = steps.run_checks(ws, study)
    n_versions = len(ws.study_history(study.id))
    steps.run_checks(ws, out["study"])  # unchanged: no new version, no new ledger rows
    assert len(ws.study_history(study.id)) == n_versions
    conf = steps.run_confounds(ws, out["study"])
    codes = {f.code for f in conf["findings"] if f.severity == "error"}
    assert "batch_confounding" in codes
    assert conf["correction"]["plate"]["allowed"] is False
    assert ws.get_study(study.id).step("confounds").summary["correction_refused"] == ["plate"]
    # the split suggestion and the audit say that no split cures it
    _, sentence = steps.suggest_split(ws, conf["study"])
    assert "No split cures this" in sentence and "independent cohort" in sentence
    df = confounded_table()
    preview = steps.preview_split(ws, conf["study"], df, {"strategy": "stratified", "seed": 0})
    assert [f.code for f in preview["carried"]] == ["batch_confounding"]
    assert "No split cures this" in preview["carried"][0].message
    # batch correction is refused by the baselines step (page, run and job call it)
    split = make_split(df, ROLES, seed=0)
    saved = steps.run_split(ws, conf["study"], split, df)
    with pytest.raises(DeepRulesError, match="refused"):
        steps.run_baselines_step(ws, saved, df, split, models=("dummy",), batch_correct=True, budget=1)
    # once acknowledged with a reason, the error is no longer open anywhere
    key = next(f.key for f in conf["findings"] if f.code == "batch_confounding")
    steps.acknowledge(ws, saved, key, "Plates P3 and P4 hold both classes; the claim is restricted to them.")
    assert steps.open_errors(ws, study.id, page="baselines") == []
    assert ws.get_study(study.id).acknowledgement(key) is not None


def _results(tune_n: int, *, meta: float | None = None) -> dict:
    return {
        "task": "classification",
        "selected": "logistic_regression",
        "primary_metric": "auprc",
        "n_rows": {"tune": tune_n},
        "models": {
            "dummy": {"family": "dummy", "metrics": {"tune": {}}},
            "logistic_regression": {
                "family": "logistic_regression",
                "metrics": {
                    "tune": {
                        "auprc": {"value": 0.7, "low": 0.4, "high": 0.9},
                        "balanced_accuracy": {"value": 0.75, "low": 0.6, "high": 0.9},
                    }
                },
            },
        },
        "findings": [
            Finding(
                code="baseline_not_beaten",
                severity="warning",
                tip=2,
                message="not beaten.",
                evidence={"a": "logistic_regression", "b": "dummy", "metric": "auprc", "diff": 0.1,
                          "low": -0.1, "high": 0.3},
            ).to_dict()
        ],
        "controls": {"metadata_only": None if meta is None else {
            "metric": "balanced_accuracy", "value": meta, "p_value": 0.001, "columns": ["plate"]}},
    }  # fmt: skip


def test_headline_is_inconclusive_when_the_tune_side_is_small():
    text = steps.headline(_results(11))
    assert "inconclusive (n = 11 on the tune side)" in text and "does not clearly beat" not in text
    assert "does not clearly beat the dummy" in steps.headline(_results(200))


def test_headline_of_a_beaten_dummy_says_when_the_interval_rests_on_too_few_samples():
    # a perfect score on 14 test samples: the bootstrap interval collapses to [1, 1], which
    # says nothing at that n; the headline says so instead of presenting it as certain
    res = _results(200)
    res["findings"] = []
    lr = res["models"]["logistic_regression"]["metrics"]
    lr["test"] = {"auprc": {"value": 1.0, "low": 1.0, "high": 1.0}}
    res["test_evaluation"] = {"n_test": 28, "n_test_units": 14}
    text = steps.headline(res)
    assert "test AUPRC 1.000" in text and "only 14 independent test samples" in text and "too few" in text
    res["test_evaluation"] = {"n_test": 60, "n_test_units": 60}
    assert "too few" not in steps.headline(res)
    del res["models"]["logistic_regression"]["metrics"]["test"]  # no test yet: the tune side (200)
    assert "tune AUPRC 0.700" in steps.headline(res) and "too few" not in steps.headline(res)


def test_headline_warns_of_a_leak_and_of_metadata_that_reach_the_score():
    leak = _f("label_leakage", col="marker_score")
    text = steps.headline(_results(200), [leak])
    assert "'marker_score', flagged as a copy of the label (label leak)" in text
    top = {"top_by_model": {"logistic_regression": "marker_score"}}
    assert "its top feature 'marker_score'" in steps.headline(_results(200), [leak], interpretation=top)
    text = steps.headline(_results(200, meta=0.8))
    assert "the metadata alone (plate) reach balanced accuracy 0.800" in text
    assert "metadata alone" not in steps.headline(_results(200, meta=0.5))


def test_findings_of_a_replaced_table_are_not_current(workspace):
    s = workspace.create_study("new table")
    workspace.record_findings(
        s.id, step="checks", findings=[_f("duplicate_ids")], input_hashes={"dataset": "old"}
    )
    assert len(workspace.open_findings(s.id, dataset="old")) == 1
    assert workspace.open_findings(s.id, dataset="new") == []
    assert workspace.current_findings(s.id, dataset="new") == []
