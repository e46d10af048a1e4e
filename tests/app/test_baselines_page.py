"""The Baselines page: prerequisites, the form, starting a job, the comparison table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from deeprules_core import jobs
from deeprules_core.store import Workspace
from deeprules_core.study import Roles

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "baselines.py")


def make_study(home: Path, *, with_split: bool = True, with_results: bool = False) -> tuple[Workspace, str]:
    """A study with a simulated table (two rows per donor), a split, and optionally results."""
    from deeprules_core import intake
    from deeprules_core.split import make_split, save_split

    ws = Workspace(home)
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"g{i}" for i in range(5)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df.insert(1, "donor", [f"d{i // 2}" for i in range(n)])
    df["label"] = np.where(df["g0"] + rng.normal(size=n) * 0.5 > 0, "tumour", "normal")
    roles = Roles(id="sample_id", label="label", group="donor")
    prov = intake.Provenance(
        source="lab:SIM-0001", version="1", download_date="2024-01-01", licence="CC0", entered_by="test"
    )
    study = ws.create_study("baselines page").with_roles(roles)
    study, _ = intake.ingest(
        ws, df.to_csv(index=False).encode(), name="sim.csv", provenance=prov, study=study
    )
    study = ws.save_study(study)
    if with_split:
        table = intake.load_dataset(ws, study.dataset.dataset_id)
        split = make_split(table, roles, seed=0)
        study = ws.save_study(save_split(ws, study, split))
        if with_results:
            from deeprules_core.modeling import run_baselines

            results = run_baselines(
                table,
                roles,
                split,
                models=("dummy", "logistic_regression"),
                budget=2,
                n_shuffles=3,
                n_boot=50,
            )
            ws.put_json(study.id, "results", "baselines", results)
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


@pytest.mark.slow
def test_start_submits_a_job_and_results_show_as_a_table(_isolated_workspace):
    ws, sid = make_study(_isolated_workspace, with_results=True)
    at = _page(sid)
    assert not at.exception
    # the form shows the settings that produced the results on screen
    assert at.number_input(key="baselines.budget").value == 2  # make_study ran them with budget=2
    assert "Comparison" in [h.value for h in at.subheader]
    table = at.dataframe[0].value
    shown = set(table["model"].str.replace(" ★", ""))
    # words, not codes; the marker baseline (best single feature) joins every comparison
    assert {"Dummy", "Logistic regression"} <= shown and len(shown) == 3
    assert any("single feature" in m.lower() for m in shown)
    at.number_input(key="baselines.budget").set_value(2)
    at.number_input(key="baselines.n_shuffles").set_value(2)
    at.button[0].click().run()
    assert not at.exception
    submitted = jobs.list_jobs(ws, sid, kind="baselines")
    assert len(submitted) == 1 and submitted[0].params["budget"] == 2
    jobs.cancel(ws, submitted[0].id)


def test_a_queued_run_says_how_many_are_ahead(_isolated_workspace, monkeypatch):
    """One slot, held by bob; carol and dave wait; this study's baselines are third."""
    monkeypatch.setenv("DEEPRULES_MAX_JOBS", "1")
    ws, sid = make_study(_isolated_workspace)
    others = []
    for user in ("bob", "carol", "dave"):
        other = Workspace(_isolated_workspace, user=user)
        others.append(
            jobs.submit(other, target="deeprules_core.jobs:sleep_job", kind="sleep", params={"seconds": 60})
        )
    mine = jobs.submit(ws, target="deeprules_core.jobs:echo_job", kind="baselines", study_id=sid)
    try:
        assert jobs.queue_position(ws, mine) == 2
        at = _page(sid)
        assert not at.exception
        assert any("queued, 2 ahead of you" in str(p.proto) for p in at.get("progress"))
    finally:
        for j in [mine, *others]:
            jobs.cancel(ws, j)
