"""The Privacy page: what the study knows, the lock, the bundle, the card and the register."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from deeprules_core.store import Workspace
from deeprules_core.study import Design, Roles

ROOT = Path(__file__).resolve().parents[2]
PAGE = str(ROOT / "pages" / "privacy.py")
REPORT = str(ROOT / "pages" / "report.py")


def _page(path: str, study_id: str | None) -> AppTest:
    at = AppTest.from_file(path, default_timeout=90)
    if study_id:
        at.session_state["deeprules.study_id"] = study_id
    return at.run()


def _sensitive_study(home: Path) -> tuple[Workspace, str]:
    import numpy as np
    import pandas as pd

    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.modeling import run_baselines
    from deeprules_core.split import make_split, save_split

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    df.insert(0, "sample_id", [f"s{i}" for i in range(80)])
    df["label"] = np.where(df["a"] > 0, "x", "y")
    df["sex"] = rng.choice(["F", "M"], 80)
    ws = Workspace(home)
    roles = Roles(id="sample_id", label="label", covariates=("sex",))
    study = ws.create_study("Private", design=Design(sensitive_data=True)).with_roles(roles)
    prov = Provenance(
        source="lab:EXP-1", version="1", download_date="2024-01-01", licence="CC0", entered_by="me"
    )
    study, _ = ingest(ws, df.to_csv(index=False).encode(), name="t.csv", provenance=prov, study=study)
    split = make_split(df, roles, seed=0)
    study = save_split(ws, study, split)
    ws.save_study(study)
    results = run_baselines(df, roles, split, models=("dummy", "knn"), budget=1, n_shuffles=0, n_boot=0)
    ws.put_json(study.id, "results", "baselines", results)
    return ws, study.id


def test_without_a_study_the_page_says_so(_isolated_workspace):
    at = _page(PAGE, None)
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)


def test_a_sensitive_study_shows_the_lock_and_the_card_and_register_are_saved(_isolated_workspace):
    from deeprules_core.privacy import run_privacy

    ws, sid = _sensitive_study(_isolated_workspace)
    run_privacy(ws, ws.get_study(sid), subgroup_columns=("sex",), n_boot=20)
    at = _page(PAGE, sid)
    assert not at.exception, at.exception
    assert any("Sensitive data: models that memorise rows are not exported" in m.value for m in at.markdown)
    (mia,) = [d.value for d in at.dataframe if "Loss-threshold AUC" in d.value.columns]
    assert list(mia["Model"]) == ["best single feature", "k-nearest neighbours"]  # the marker baseline too
    assert "too few held-out" in mia["Shadow-model AUC"].iloc[0]
    assert [d for d in at.dataframe if "AUROC" in d.value.columns]  # the subgroup panel by sex
    plan = at.dataframe[0].value
    knn = plan[plan["Model"] == "k-nearest neighbours"].iloc[0]
    assert knn["Memorises rows"] == "yes" and knn["Export"] == "refused"
    bundle = at.dataframe[1].value
    assert "left out" in bundle[bundle["File"] == "data/…"]["Content"].iloc[0]
    # the model card and a register entry, written through the page
    at.text_area(key="privacy.use").input("Research use only, adults.")
    at.button(key="FormSubmitter:privacy.card-Write the model card").click().run()
    assert not at.exception
    at.text_input(key="privacy.entry").input("Approval granted.")
    at.text_input(key="privacy.ref").input("IRB-9")
    at.button(key="FormSubmitter:privacy.register-Add to the register").click().run()
    assert not at.exception
    study = ws.get_study(sid)
    assert ws.get_json(sid, "privacy", "model_card")["intended_use"] == "Research use only, adults."
    assert [e["reference"] for e in ws.get_json(sid, "privacy", "ethics_register")] == ["IRB-9"]
    assert any("Model card" in m.value for m in at.markdown) and study.design.sensitive_data


def test_the_report_page_bundle_cannot_carry_a_sensitive_studys_rows_or_knn(_isolated_workspace):
    ws, sid = _sensitive_study(_isolated_workspace)
    at = _page(REPORT, sid)
    assert not at.exception
    assert at.checkbox(key="report.bundle.data").value is False  # off by default for a sensitive study
    at.checkbox(key="report.bundle.data").check()
    at.checkbox(key="report.bundle.models").check()
    at.button(key="report.bundle").click().run()
    assert not at.exception
    assert any("sensitive data" in e.value for e in at.error)  # refused without a reason
    at.checkbox(key="report.bundle.data").uncheck()
    at.button(key="report.bundle").click().run()
    assert not at.error
    actions = [e.action for e in ws.audit_log(sid)]
    assert actions.count("export_refused") == 2  # the rows, then the kNN
    (entry,) = [e for e in ws.audit_log(sid) if e.action == "export_bundle"]
    assert not [f for f in entry.detail["files"] if f.startswith(("data/", "models/"))]
