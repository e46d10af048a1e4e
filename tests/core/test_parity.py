"""Report parity: for the same data, roles, split and settings, the app's path (its pages,
driven through Streamlit's AppTest, and the page's background job) and ``deeprules run``
record the same ledger and write PDFs with the same findings, counts and tip statuses.

Two cases: the simulated sample with planted problems (a label leak, missing values,
duplicates, a confounded plate) and a study whose batches hold a single class each.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from confounded_case import confounded_table
from pypdf import PdfReader
from streamlit.testing.v1 import AppTest

from deeprules_core import jobs
from deeprules_core.intake import Provenance, ingest
from deeprules_core.store import Workspace
from deeprules_core.study import Roles
from deeprules_core.workflow import run_study

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "pages"
pytestmark = pytest.mark.slow

PROVENANCE = {
    "source": "lab:PARITY-1",
    "version": "v1",
    "download_date": "2026-12-01",
    "licence": "CC0-1.0",
    "description": "parity test",
    "entered_by": "test",
}
SETTINGS = {"models": ["dummy", "logistic_regression"], "budget": 1, "n_shuffles": 3, "n_boot": 20}


def _planted(tmp: Path) -> tuple[Path, Roles]:
    return ROOT / "sample_data" / "simulated_planted.csv", Roles(
        id="sample_id", label="label", group="patient_id", batch=("plate",), covariates=("age", "sex")
    )


def _confounded(tmp: Path) -> tuple[Path, Roles]:
    path = tmp / "confounded.csv"
    confounded_table().to_csv(path, index=False)
    return path, Roles(id="sample_id", label="label", batch=("plate",))


def _page(name: str, study_id: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=180)
    at.session_state["deeprules.study_id"] = study_id
    at.run()
    assert not at.exception, at.exception
    return at


def app_path(home: Path, data: Path, roles: Roles) -> tuple[Workspace, str, bytes]:
    """What a user does in the app: load, Checks, Batch & confounds, Split (save),
    Baselines (the page's job), Evaluate (the locked test set), Report (the PDF)."""
    ws = Workspace(home)
    study = ws.create_study(data.stem)
    study, _ = ingest(ws, data.read_bytes(), name=data.name, provenance=Provenance(**PROVENANCE), study=study)
    study = ws.save_study(study.with_roles(roles), action="set_roles")
    _page("checks", study.id)
    _page("confounds", study.id)
    at = _page("split", study.id)
    at.button(key="split.save").click().run()
    assert not at.exception, at.exception
    at = _page("baselines", study.id)
    at.multiselect(key="baselines.models").set_value(SETTINGS["models"])
    at.number_input(key="baselines.budget").set_value(SETTINGS["budget"])
    at.number_input(key="baselines.n_shuffles").set_value(SETTINGS["n_shuffles"])
    at.number_input(key="baselines.n_boot").set_value(SETTINGS["n_boot"])
    next(b for b in at.button if b.label == "Start the baselines").click().run()
    assert not at.exception, at.exception
    (job,) = jobs.list_jobs(ws, study.id, kind="baselines")
    done = jobs.wait(ws, job.id, timeout=300)
    assert done.status == "done", done.error
    at = _page("evaluate", study.id)
    at.button(key="evaluate.test").click().run()
    assert not at.exception, at.exception
    # Interpret (Tips 8, 9): the models run interprets, through the page's own job
    from deeprules_core.interpret.jobs import run_models
    from deeprules_core.modeling import latest_results

    at = _page("interpret", study.id)
    at.multiselect(key="interpret.models").set_value(run_models(latest_results(ws, study.id)))
    next(b for b in at.button if b.label == "Compute the interpretation").click().run()
    assert not at.exception, at.exception
    (job,) = jobs.list_jobs(ws, study.id, kind="interpret")
    done = jobs.wait(ws, job.id, timeout=300)
    assert done.status == "done", done.error
    at = _page("report", study.id)
    at.button(key="report.pdf").click().run()
    assert not at.exception, at.exception
    art = ws.latest_artifact(study.id, "report")
    return ws, study.id, ws.get_blob(art["sha256"])


def run_path(tmp: Path, data: Path, roles: Roles, strategy: str) -> tuple[Workspace, str, bytes]:
    spec = {
        "data": str(data),
        "name": data.stem,
        "roles": {k: v for k, v in roles.to_dict().items() if v not in (None, [], ())},
        "split": {"strategy": strategy, "test_fraction": 0.2, "tune_fraction": 0.2, "seed": 0},
        **SETTINGS,
        "provenance": PROVENANCE,
    }
    spec["roles"].pop("features", None)
    (tmp / "study.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = run_study(tmp / "study.yaml", tmp / "out")
    ws = Workspace(out / "workspace")
    (study,) = ws.list_studies()
    return ws, study["id"], (out / "report.pdf").read_bytes()


def pdf_text(data: bytes, tmp: Path) -> str:
    path = tmp / "r.pdf"
    path.write_bytes(data)
    return re.sub(r"\s+", " ", " ".join(p.extract_text() or "" for p in PdfReader(path).pages))


def ledger(ws: Workspace, study_id: str) -> list[tuple[str, dict]]:
    return [(e.step, e.finding.to_dict()) for e in ws.findings(study_id)]


def statuses(text: str) -> list[str]:
    """The status of each tip, from the PDF's summary table."""
    from deeprules_core.report import STATUSES, TIPS

    alts = "|".join(sorted(map(re.escape, STATUSES), key=len, reverse=True))
    out = []
    for t in TIPS:
        m = re.search(rf"\b{t.number} {re.escape(t.title)} ({alts})\b", text)
        assert m, f"tip {t.number} is not in the summary table"
        out.append(m.group(1))
    return out


def counts(text: str) -> str:
    m = re.search(r"Findings: \d+ errors?, \d+ warnings?, \d+ notes?; \d+ acknowledged", text)
    assert m, "the PDF has no findings count"
    return m.group(0)


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("case", ["planted", "confounded"])
def test_the_app_and_run_record_the_same_ledger_and_write_the_same_report(
    case, _isolated_workspace, tmp_path
):
    data, roles = (_planted if case == "planted" else _confounded)(tmp_path)
    ws_app, id_app, pdf_app = app_path(_isolated_workspace, data, roles)
    strategy = ws_app.get_study(id_app).step("split").params["strategy"]  # the page's suggestion
    (tmp_path / "run").mkdir()
    ws_run, id_run, pdf_run = run_path(tmp_path / "run", data, roles, strategy)

    # the same ledger: every step's findings, with their evidence
    app_ledger, run_ledger = ledger(ws_app, id_app), ledger(ws_run, id_run)
    assert app_ledger == run_ledger
    assert {step for step, _ in app_ledger} >= {"checks", "confounds"}
    # the same PDF findings, counts and tip statuses
    text_app, text_run = pdf_text(pdf_app, tmp_path), pdf_text(pdf_run, tmp_path)
    assert counts(text_app) == counts(text_run)
    assert statuses(text_app) == statuses(text_run)
    n_err = sum(f["severity"] == "error" for _, f in app_ledger)
    assert counts(text_app).startswith(f"Findings: {n_err} error")
    for step, f in app_ledger:
        head = _words(f["message"])[:80]
        if f["severity"] != "info":
            assert head in text_app and head in text_run, (step, f["code"])
    assert (
        ws_app.get_study(id_app).step("report").summary["statuses"]
        == (ws_run.get_study(id_run).step("report").summary["statuses"])
    )
    if case == "planted":  # the leak and the missing values the issue saw dropped from the app's PDF
        codes = {f["code"] for _, f in app_ledger}
        assert {"label_leakage", "missing_values", "batch_confounding"} <= codes
        assert "marker_score" in text_app
    else:
        errors = [f for _, f in app_ledger if f["severity"] == "error"]
        assert [f["code"] for f in errors] == ["batch_confounding"]
        assert statuses(text_app)[3] == "needs attention"  # Tip 4
        assert "the checks raised no error" not in text_app
