"""The Interpret page: prerequisites, the caveat, the views of a stored interpretation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from deeprules_core import jobs
from deeprules_core.interpret import NOT_CAUSAL_CAVEAT
from deeprules_core.names import finding_title
from deeprules_core.store import Workspace
from deeprules_core.study import Roles

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "interpret.py")
ROLES = Roles(id="sample_id", label="label", batch=("plate",))


def make_study(home: Path, *, with_results: bool = True, interpreted: bool = True) -> tuple[Workspace, str]:
    from deeprules_core import intake
    from deeprules_core.interpret.jobs import interpret_study
    from deeprules_core.split import make_split, save_split

    ws = Workspace(home)
    rng = np.random.default_rng(0)
    n = 160
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"g{i}" for i in range(5)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df.insert(1, "plate", np.repeat(["p1", "p2", "p3", "p4"], n // 4))
    late = df["plate"].isin(["p3", "p4"]).astype(float)
    df["g4"] = 2 * late + 0.3 * rng.normal(size=n)  # a plate proxy
    logit = 2.5 * df["g0"] + 3 * (late - 0.5)
    df["label"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "tumour", "normal")
    prov = intake.Provenance(
        source="lab:SIM-0002", version="1", download_date="2024-01-01", licence="CC0", entered_by="test"
    )
    study = ws.create_study("interpret page").with_roles(ROLES)
    study, _ = intake.ingest(
        ws, df.to_csv(index=False).encode(), name="sim.csv", provenance=prov, study=study
    )
    study = ws.save_study(study)
    table = intake.load_dataset(ws, study.dataset.dataset_id)
    split = make_split(table, ROLES, seed=0)
    study = ws.save_study(save_split(ws, study, split))
    if with_results:
        results = {
            "task": "classification",
            "classes": ["normal", "tumour"],
            "primary_metric": "auprc",
            "selected": "logistic_regression",
            "split_sha256": split.sha256,
            "seed": 0,
            "models": {
                "dummy": {"family": "dummy", "kind": "baseline", "params": {}, "seed": 0},
                "logistic_regression": {
                    "family": "logistic_regression",
                    "kind": "baseline",
                    "params": {},
                    "seed": 0,
                },
                "random_forest": {
                    "family": "random_forest",
                    "kind": "baseline",
                    "params": {"n_estimators": 40},
                    "seed": 0,
                },
            },
        }
        ws.put_json(study.id, "results", "baselines", results)
        if interpreted:
            out = interpret_study(table, ROLES, split, results, n_repeats=3)
            ws.put_json(study.id, "interpretation", "interpretation", out)
    return ws, study.id


def _page(study_id: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study_id
    return at.run()


def test_without_a_study_the_page_says_what_to_do(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)
    assert any(NOT_CAUSAL_CAVEAT in i.value for i in at.info)  # the caveat is always visible


def test_without_models_the_page_links_to_the_baselines(_isolated_workspace):
    _, sid = make_study(_isolated_workspace, with_results=False)
    at = _page(sid)
    assert not at.exception
    assert any("no trained models" in i.value for i in at.info)


def test_stored_interpretation_shows_every_view_and_the_guard(_isolated_workspace):
    _, sid = make_study(_isolated_workspace)
    at = _page(sid)
    assert not at.exception, at.exception
    assert any(NOT_CAUSAL_CAVEAT in i.value for i in at.info)
    assert at.selectbox(key="interpret.model").value == "logistic_regression"
    assert [t.label for t in at.tabs] == ["Global importance", "Agreement", "One sample"]
    assert any(m.label.startswith("Spearman") for m in at.metric)
    # the plate proxy g4 is flagged by the guard, with an acknowledgement form
    assert any(finding_title("attribution_on_confounder") in e.label and "g4" in e.label for e in at.expander)
    # pick another model and another sample: still renders
    at.selectbox(key="interpret.model").select("random_forest").run()
    assert not at.exception
    samples = at.selectbox(key="interpret.sample").options
    at.selectbox(key="interpret.sample").select(samples[-1]).run()
    assert not at.exception
    assert len(at.dataframe) >= 1


def test_sequence_model_gets_a_logo_tab(_isolated_workspace):
    ws, sid = make_study(_isolated_workspace)
    interp = ws.get_json(sid, "interpretation", "interpretation")
    # a sequence block as interpret_study writes it for a CNN (letters, per-position attributions)
    interp["models"]["logistic_regression"]["sequence"] = {
        "letters": "ACGT",
        "samples": {"s1": {"sequence": "CCGATACC", "attribution": [0, 0.1, 0.9, 0.8, 0.7, 0.9, 0, -0.2]}},
    }
    ws.put_json(sid, "interpretation", "interpretation", interp)
    at = _page(sid)
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs][-1] == "Sequence map"
    assert at.slider(key="interpret.seq_window").value == (1, 8)


@pytest.mark.slow
def test_compute_submits_an_interpret_job(_isolated_workspace):
    ws, sid = make_study(_isolated_workspace, interpreted=False)
    at = _page(sid)
    assert any("No interpretation yet" in i.value for i in at.info)
    at.multiselect(key="interpret.models").set_value(["logistic_regression"])
    at.number_input(key="interpret.n_repeats").set_value(3)
    [b for b in at.button if b.label == "Compute the interpretation"][0].click().run()
    assert not at.exception
    (job,) = jobs.list_jobs(ws, sid, kind="interpret")
    assert job.params["models"] == ["logistic_regression"] and job.params["n_repeats"] == 3
    done = jobs.wait(ws, job.id, timeout=120)
    assert done.status == "done", done.error
    at.run()
    assert not at.exception
    assert at.selectbox(key="interpret.model").value == "logistic_regression"
