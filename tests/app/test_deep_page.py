"""The Deep learning page: prerequisites, the architecture sentence, starting a job, results."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from deeprules_core import jobs
from deeprules_core.store import Workspace
from deeprules_core.study import Roles

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "deep_learning.py")


def make_study(home: Path, *, with_split: bool = True, with_results: bool = False) -> tuple[Workspace, str]:
    from deeprules_core import intake
    from deeprules_core.split import make_split, save_split

    ws = Workspace(home)
    rng = np.random.default_rng(0)
    n = 160
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"g{i}" for i in range(4)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df["label"] = np.where(df["g0"] * df["g1"] > 0, "tumour", "normal")
    roles = Roles(id="sample_id", label="label")
    prov = intake.Provenance(
        source="lab:SIM-0002", version="1", download_date="2024-01-01", licence="CC0", entered_by="test"
    )
    study = ws.create_study("deep page").with_roles(roles)
    study, _ = intake.ingest(
        ws, df.to_csv(index=False).encode(), name="sim.csv", provenance=prov, study=study
    )
    study = ws.save_study(study)
    if with_split:
        table = intake.load_dataset(ws, study.dataset.dataset_id)
        split = make_split(table, roles, seed=0)
        study = ws.save_study(save_split(ws, study, split))
        if with_results:
            from deeprules_core.deep import run_deep
            from deeprules_core.deep.jobs import merge_deep

            entry = run_deep(table, roles, split, budget=2, n_seeds=2, max_epochs=10, n_shuffles=1, n_boot=50)
            results = merge_deep(None, entry, roles=roles, split=split, budget=2, n_boot=50)
            ws.put_json(study.id, "results", "deep", results)
    return ws, study.id


def _page(study_id: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study_id
    return at.run()


def test_without_a_study_the_page_says_what_to_do(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)


def test_without_a_split_the_page_links_to_the_split(_isolated_workspace):
    _, sid = make_study(_isolated_workspace, with_split=False)
    at = _page(sid)
    assert not at.exception
    assert any("split" in i.value for i in at.info)


def test_architecture_sentence_and_start_submits_a_job(_isolated_workspace):
    ws, sid = make_study(_isolated_workspace)
    at = _page(sid)
    assert not at.exception
    assert any("MLP" in i.value and "measurements" in i.value for i in at.info)
    assert at.number_input(key="deep.budget").value == 20
    at.number_input(key="deep.budget").set_value(3)
    at.button[0].click().run()
    assert not at.exception
    submitted = jobs.list_jobs(ws, sid, kind="deep_learning")
    assert len(submitted) == 1 and submitted[0].params["budget"] == 3
    jobs.cancel(ws, submitted[0].id)


@pytest.mark.slow
def test_results_show_curves_seeds_trials_and_the_comparison(_isolated_workspace):
    _, sid = make_study(_isolated_workspace, with_results=True)
    at = _page(sid)
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert "Comparison with the baselines" in headers and "MLP" in headers and "Findings" in headers
    assert "MLP" in set(at.dataframe[0].value["model"].str.replace(" ★", ""))
    assert any("seeds" in m.value for m in at.markdown)
