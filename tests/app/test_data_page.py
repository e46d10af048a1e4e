"""The Data page: upload with provenance, two-file layout, sample data, roles, corrections."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from streamlit.testing.v1 import AppTest

from deeprules_core.intake import get_provenance, provenance_history
from deeprules_core.store import Workspace

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "data.py")
CSV = b"sample_id,patient,condition,TP53,MYC\nS1,P1,tumour,1.5,2.0\nS2,P1,normal,2.5,3.0\nS3,P2,tumour,3.5,4.0\n"


def _page(home: Path) -> tuple[AppTest, Workspace, str]:
    ws = Workspace(home)
    study = ws.create_study("Relapse")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study.id
    return at.run(), ws, study.id


def _widget(seq, key):
    return next(w for w in seq if w.key == key)


def _fill_provenance(at: AppTest, prefix: str, **overrides) -> None:
    values = {
        "source": "GSE2034",
        "version": "series matrix 2021-03-01",
        "licence": "public (GEO)",
        "entered_by": "A. Biologist",
    }
    values.update(overrides)
    for name, value in values.items():
        _widget(at.text_input, f"{prefix}.{name}").input(value)
    _widget(at.date_input, f"{prefix}.download_date").set_value(date(2024, 3, 15))


def _button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def test_without_a_study_the_page_points_to_the_study_page(_isolated_workspace):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("No study is open" in i.value for i in at.info)


def test_upload_a_csv_with_provenance_then_confirm_roles(_isolated_workspace):
    at, ws, sid = _page(_isolated_workspace)
    assert not at.exception
    at.file_uploader(key="data.upload.file").upload("expr.csv", CSV, "text/csv")
    _fill_provenance(at, "data.upload.prov")
    _button(at, "Save dataset").click().run()
    assert not at.exception, at.exception
    study = ws.get_study(sid)
    assert study.dataset is not None and study.dataset.name == "expr.csv"
    prov = get_provenance(ws, study.dataset.dataset_id)
    assert prov.source == "GSE2034" and prov.download_date == "2024-03-15" and prov.n_rows == 3
    assert at.header[0].value == "Dataset: expr.csv"
    assert [m.value for m in at.metric][:2] == ["3", "5"]
    # roles are prefilled from the suggestion; saving them stores them in the study
    assert _widget(at.selectbox, f"data.roles.{study.dataset.dataset_id}.label").value == "condition"
    _button(at, "Save roles").click().run()
    assert not at.exception
    roles = ws.get_study(sid).roles
    assert (roles.id, roles.group, roles.label, roles.task) == (
        "sample_id",
        "patient",
        "condition",
        "classification",
    )
    assert any("Roles saved" in s.value for s in at.success)


def test_missing_provenance_is_refused_and_nothing_is_stored(_isolated_workspace):
    at, ws, sid = _page(_isolated_workspace)
    at.file_uploader(key="data.upload.file").upload("expr.csv", CSV, "text/csv")
    _widget(at.text_input, "data.upload.prov.source").input("GSE2034")
    _widget(at.text_input, "data.upload.prov.entered_by").input("")
    _button(at, "Save dataset").click().run()
    assert not at.exception
    err = at.error[0].value
    assert "missing" in err and "version" in err and "licence" in err and "download_date" in err
    assert ws.count("datasets") == 0 and ws.get_study(sid).dataset is None


def test_bad_file_shows_the_engine_message(_isolated_workspace):
    at, ws, _ = _page(_isolated_workspace)
    at.file_uploader(key="data.upload.file").upload("dup.csv", b"id,x,x\n1,2,3\n", "text/csv")
    _fill_provenance(at, "data.upload.prov")
    _button(at, "Save dataset").click().run()
    assert not at.exception
    assert "duplicate column names" in at.error[0].value
    assert ws.count("datasets") == 0


def test_matrix_plus_sample_sheet_shows_the_join_report(_isolated_workspace):
    at, ws, sid = _page(_isolated_workspace)
    matrix = b"gene,S1,S2,S3\nTP53,1.0,2.0,3.0\nMYC,4.0,5.0,6.0\n"
    sheet = b"sample,condition\nS1,tumour\nS2,normal\nS7,normal\n"
    at.file_uploader(key="data.pair.matrix").upload("matrix.csv", matrix, "text/csv")
    at.file_uploader(key="data.pair.sheet").upload("samples.csv", sheet, "text/csv")
    _fill_provenance(at, "data.pair.prov")
    _button(at, "Join and save").click().run()
    assert not at.exception
    assert any("2 samples matched" in w.value for w in at.warning)
    assert ws.get_study(sid).dataset.name == "matrix.csv + samples.csv"


def test_sample_data_button_and_a_provenance_correction(_isolated_workspace):
    at, ws, sid = _page(_isolated_workspace)
    _button(at, "Load sample: breast cancer").click().run()
    assert not at.exception
    ref = ws.get_study(sid).dataset
    assert ref is not None and [m.value for m in at.metric][:2] == ["569", "32"]
    _widget(at.text_input, "data.correct.prov.version").input("UCI 2023 re-release")
    _button(at, "Save as a new version").click().run()
    assert not at.exception
    hist = provenance_history(ws, ref.dataset_id)
    assert [h.version for h in hist] == [1, 2] and hist[1].provenance.version == "UCI 2023 re-release"
    assert ws.get_study(sid).dataset.provenance_version == 2
    assert any("version 2" in c.value for c in at.caption)


def test_roles_saved_for_another_table_are_replaced_by_suggestions(_isolated_workspace):
    from deeprules_core.study import Roles

    ws = Workspace(_isolated_workspace)
    study = ws.create_study("Two tables")
    ws.save_study(study.with_roles(Roles(id="old_id", label="old_label")))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study.id
    at.run()
    _button(at, "Load sample: simulated with planted problems").click().run()
    assert not at.exception
    ref = ws.get_study(study.id).dataset
    assert any("does not have" in c.value for c in at.caption)
    assert _widget(at.selectbox, f"data.roles.{ref.dataset_id}.group").value == "patient_id"
    _button(at, "Save roles").click().run()
    roles = ws.get_study(study.id).roles
    assert (roles.label, roles.group, roles.batch) == ("label", "patient_id", ("plate",))


def test_a_workbook_with_several_sheets_asks_which_one(_isolated_workspace):
    import io

    import pandas as pd

    buf = io.BytesIO()
    with pd.ExcelWriter(buf) as w:
        pd.DataFrame({"note": ["read me"]}).to_excel(w, sheet_name="readme", index=False)
        pd.read_csv(io.BytesIO(CSV)).to_excel(w, sheet_name="samples", index=False)
    at, ws, sid = _page(_isolated_workspace)
    at.file_uploader(key="data.upload.file").upload("book.xlsx", buf.getvalue(), "application/vnd.ms-excel")
    at.run()
    picker = _widget(at.selectbox, "data.upload.sheet")
    assert picker.options == ["readme", "samples"] and picker.value is None  # never the first silently
    _fill_provenance(at, "data.upload.prov")
    _button(at, "Save dataset").click().run()
    assert not at.exception
    assert "2 sheets" in at.error[0].value and ws.count("datasets") == 0
    _widget(at.selectbox, "data.upload.sheet").select("samples")
    _fill_provenance(at, "data.upload.prov")
    _button(at, "Save dataset").click().run()
    assert not at.exception, at.exception
    study = ws.get_study(sid)
    assert study.dataset is not None and [m.value for m in at.metric][:2] == ["3", "5"]


def test_steps_run_on_earlier_roles_say_so_where_the_roles_change(_isolated_workspace):
    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.steps import run_checks
    from deeprules_core.study import Roles

    ws = Workspace(_isolated_workspace)
    study = ws.create_study("Relapse")
    prov = Provenance(source="s", version="1", download_date="2024-03-15", licence="CC0", entered_by="t")
    study, _ = ingest(ws, CSV, name="expr.csv", provenance=prov, study=study)
    study = ws.save_study(study.with_roles(Roles(id="sample_id", label="condition")))
    run_checks(ws, study)
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["deeprules.study_id"] = study.id
    at.run()
    assert not at.exception and not [w for w in at.warning if "Out of date" in w.value]
    ws.save_study(ws.get_study(study.id).with_roles(Roles(id="sample_id", label="patient")))
    at.run()
    said = " ".join(w.value for w in at.warning)
    assert "Checks were run on earlier column roles; re-run them on the Checks page." in said
