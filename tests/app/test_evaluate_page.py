"""The Evaluate page: panel, charts, findings, and the locked test set with its unlock form."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.test_baselines_page import make_study

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "evaluate.py")


def _page(study_id: str) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study_id
    return at.run()


def test_without_results_the_page_links_to_the_baselines(_isolated_workspace):
    _, sid = make_study(_isolated_workspace)
    at = _page(sid)
    assert not at.exception
    assert any("run the baselines" in i.value for i in at.info)


@pytest.mark.slow
def test_panel_charts_and_the_test_set_used_once(_isolated_workspace):
    ws, sid = make_study(_isolated_workspace, with_results=True)
    at = _page(sid)
    assert not at.exception
    panel = at.dataframe[0].value
    assert {"AUPRC", "AUROC", "MCC", "Brier score"} <= set(panel.columns)
    assert len(at.get("vega_lite_chart")) >= 6  # ROC, PR, calibration, null, learning curve, differences
    at.button(key="evaluate.test").click().run()
    assert not at.exception
    study = ws.get_study(sid)
    assert study.step("evaluate") is not None
    assert len(ws.test_uses(sid)) == 1
    final = ws.get_json(sid, "results", "final")
    assert final["models"][final["selected"]]["metrics"]["test"] is not None
    assert "test" in at.radio(key="evaluate.side").options
    assert any("already used" in w.value for w in at.warning)
    # a second use needs a written reason
    at.text_area(key="evaluate.reason").input("Re-run after fixing a bug in the label mapping.")
    at.button[-1].click().run()
    assert not at.exception
    assert len(ws.test_uses(sid)) == 2


@pytest.mark.slow
def test_deep_models_and_an_unlock_from_the_split_page(_isolated_workspace):
    from deeprules_core.split import load_split, unlock_test_set, use_test_set
    from tests.app.test_deep_page import make_study as make_deep_study

    ws, sid = make_deep_study(_isolated_workspace, with_results=True)
    at = _page(sid)
    assert not at.exception
    assert "MLP" in set(at.dataframe[0].value["model"])  # the deep model is evaluated with the others
    study = ws.get_study(sid)
    use_test_set(ws, study, load_split(ws, study), purpose="first look")
    unlock_test_set(ws, study, reason="The label of two samples was corrected after review.")
    at = _page(sid)
    assert any("unlocked on the Split page" in i.value for i in at.info)
    at.button(key="evaluate.test_unlocked").click().run()
    assert not at.exception
    uses = ws.test_uses(sid)
    assert len(uses) == 2 and uses[-1]["unlock_reason"].startswith("The label of two samples")


def test_results_of_earlier_column_roles_are_not_shown(_isolated_workspace):
    """After the label's grouping changes, the Evaluate and Baselines pages say the results
    are out of date and show none of them (no panel, no test-set button); the Baselines
    form still starts from the last run's settings."""
    from deeprules_core import steps
    from deeprules_core.intake import load_dataset
    from deeprules_core.split import load_split

    ws, sid = make_study(_isolated_workspace)
    study = ws.get_study(sid)
    df = load_dataset(ws, study.dataset.dataset_id)
    steps.run_baselines_step(
        ws,
        study,
        df,
        load_split(ws, study),
        models=("dummy", "logistic_regression"),
        budget=2,
        n_shuffles=2,
        n_boot=20,
    )
    study = ws.get_study(sid)
    ws.save_study(study.with_roles(replace(study.roles, group=None)))

    at = _page(sid)
    assert not at.exception
    assert any("Results computed on earlier inputs are not shown" in i.value for i in at.info)
    assert len(at.dataframe) == 0 and len(at.get("vega_lite_chart")) == 0
    assert not [b for b in at.button if b.key == "evaluate.test"]

    page = str(Path(PAGE).with_name("baselines.py"))
    at = AppTest.from_file(page, default_timeout=60)
    at.session_state["deeprules.study_id"] = sid
    at.run()
    assert not at.exception
    assert any("Results computed on earlier inputs are not shown" in i.value for i in at.info)
    assert len(at.dataframe) == 0
    assert at.number_input(key="baselines.budget").value == 2  # the form keeps the last settings
