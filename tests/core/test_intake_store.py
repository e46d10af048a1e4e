"""Ingest into the workspace: exact bytes, Parquet cache, versioned provenance, all or nothing."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import pandas as pd
import pytest

from deeprules_core.errors import DataFormatError, ProvenanceError, StoreError
from deeprules_core.intake import (
    Provenance,
    _ingest,
    _provenance,
    add_provenance_version,
    dataset_info,
    get_provenance,
    ingest,
    ingest_pair,
    list_datasets,
    list_sample_datasets,
    load_dataset,
    load_sample_dataset,
    provenance_history,
    source_kind,
    suggest_roles,
)
from deeprules_core.store import Workspace

PROV = dict(
    source="GSE2034",
    version="series matrix 2021-03-01",
    download_date="2024-03-15",
    licence="public (GEO)",
    description="Breast cancer relapse, 286 patients",
    entered_by="A. Biologist",
)
CSV = b"sample_id,condition,TP53,MYC\nS1,tumour,1.5,2.0\nS2,normal,2.5,3.0\nS3,tumour,3.5,4.0\n"


def _files(ws: Workspace, sub: str) -> list:
    d = ws.home / sub
    return [p for p in d.rglob("*") if p.is_file()] if d.exists() else []


# ---------------------------------------------------------------------- provenance record
def test_required_fields_are_named_when_missing():
    with pytest.raises(ProvenanceError) as err:
        Provenance(source="GSE2034", description="x")
    msg = str(err.value)
    for name in ("version", "download_date", "licence", "entered_by"):
        assert name in msg
    assert "source (" not in msg


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("GSE2034", "accession"),
        ("E-MTAB-1234", "accession"),
        ("PRJNA123456", "accession"),
        ("10.24432/C5DW2B", "doi"),
        ("doi:10.1038/nature12345", "doi"),
        ("https://doi.org/10.24432/C5DW2B", "url"),
        ("ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE2nnn/GSE2034/", "url"),
        ("file:///data/run1.csv", "url"),
        ("lab:EXP-2024-07", "identifier"),
    ],
)
def test_source_forms_accepted(source, kind):
    assert source_kind(source) == kind
    assert Provenance(**{**PROV, "source": source}).source_kind == kind


@pytest.mark.parametrize("source", ["downloaded from GEO", "my data", "http//broken"])
def test_free_text_source_is_kept_with_a_note_asking_for_an_accession(source):
    p = Provenance(**{**PROV, "source": source})
    assert p.source == source and p.source_kind == "text"
    assert "accession" in p.source_note and source in p.source_note
    assert Provenance(**{**PROV, "source": "GSE2034"}).source_note is None


def test_download_date_is_an_iso_date_not_in_the_future():
    assert Provenance(**{**PROV, "download_date": date(2023, 1, 2)}).download_date == "2023-01-02"
    with pytest.raises(ProvenanceError, match="YYYY-MM-DD"):
        Provenance(**{**PROV, "download_date": "15/03/2024"})
    future = (date.today() + timedelta(days=30)).isoformat()
    with pytest.raises(ProvenanceError, match="in the future"):
        Provenance(**{**PROV, "download_date": future})


def test_unknown_field_in_a_record_is_refused():
    with pytest.raises(ProvenanceError, match="Unknown provenance field"):
        Provenance.from_dict({**PROV, "url": "x"})


# ---------------------------------------------------------------------- ingest
def test_ingest_stores_bytes_cache_dataset_and_provenance(workspace):
    study = workspace.create_study("Relapse")
    new, info = ingest(workspace, CSV, name="expr.csv", provenance=Provenance(**PROV), study=study)
    sha = hashlib.sha256(CSV).hexdigest()
    assert info.sha256 == sha and workspace.get_blob(sha) == CSV
    assert (info.n_rows, info.n_columns, info.format, info.size_bytes) == (3, 4, "delimited", len(CSV))
    assert new is not None and new.dataset.dataset_id == info.id and new.dataset.sha256 == sha
    assert new.dataset.provenance_version == 1
    p = get_provenance(workspace, info.id)
    assert (p.sha256, p.size_bytes, p.n_rows, p.n_columns, p.format) == (sha, len(CSV), 3, 4, "delimited")
    assert p.source == "GSE2034" and p.files[0]["name"] == "expr.csv"
    assert workspace.count("datasets") == 1 and workspace.count("provenance") == 1
    assert any(e.action == "ingest_dataset" for e in workspace.audit_log(study.id))
    assert dataset_info(workspace, info.id).name == "expr.csv"
    assert [d.id for d in list_datasets(workspace)] == [info.id]


def test_reopen_reads_the_cache_not_the_text(workspace, monkeypatch):
    _, info = ingest(workspace, CSV, name="expr.csv", provenance=Provenance(**PROV))
    first = load_dataset(workspace, info.id)

    def boom(*a, **k):
        raise AssertionError("the text was parsed again")

    monkeypatch.setattr(_ingest, "parse_table", boom)
    again = load_dataset(Workspace(workspace.home), info.id)  # a fresh process would open a new Workspace
    pd.testing.assert_frame_equal(first, again)
    assert again["TP53"].tolist() == [1.5, 2.5, 3.5]


def test_missing_cache_is_rebuilt_from_the_stored_bytes(workspace):
    _, info = ingest(workspace, CSV, name="expr.csv", provenance=Provenance(**PROV))
    cache = workspace.cache_path(f"dataset-{info.id}")
    cache.unlink()
    df = load_dataset(workspace, info.id)
    assert df.shape == (3, 4) and cache.exists()
    with pytest.raises(StoreError, match="no dataset with id"):
        load_dataset(workspace, "nope")


def test_nothing_is_written_when_the_file_is_bad(workspace):
    study = workspace.create_study("Bad")
    for data, name in [(b"", "e.csv"), (b"id,x,x\n1,2,3\n", "d.csv"), (b"a,b\n1,2\n", "t.sav")]:
        with pytest.raises(DataFormatError):
            ingest(workspace, data, name=name, provenance=Provenance(**PROV), study=study)
    assert workspace.count("datasets") == 0 and workspace.count("provenance") == 0
    assert _files(workspace, "blobs") == [] and _files(workspace, "cache") == []


def test_nothing_half_written_when_the_database_step_fails(workspace, monkeypatch):
    def fail(*a, **k):
        raise StoreError("disk full (simulated)")

    monkeypatch.setattr(_ingest, "insert_provenance", fail)
    with pytest.raises(StoreError, match="simulated"):
        ingest(workspace, CSV, name="expr.csv", provenance=Provenance(**PROV))
    assert workspace.count("datasets") == 0 and workspace.count("provenance") == 0
    assert _files(workspace, "blobs") == [] and _files(workspace, "cache") == []


def test_provenance_corrections_are_new_versions(workspace):
    _, info = ingest(workspace, CSV, name="expr.csv", provenance=Provenance(**PROV))
    fixed = Provenance(**{**PROV, "version": "series matrix 2022-01-01", "sha256": "f" * 64})
    assert add_provenance_version(workspace, info.id, fixed) == 2
    hist = provenance_history(workspace, info.id)
    assert [h.version for h in hist] == [1, 2]
    assert hist[0].provenance.version == "series matrix 2021-03-01"  # never edited in place
    assert hist[1].provenance.version == "series matrix 2022-01-01"
    assert hist[1].provenance.sha256 == info.sha256  # computed fields cannot be changed
    assert get_provenance(workspace, info.id).version == "series matrix 2022-01-01"
    assert get_provenance(workspace, info.id, version=1).version == "series matrix 2021-03-01"
    assert dataset_info(workspace, info.id).provenance_version == 2
    with pytest.raises(StoreError, match="no dataset"):
        add_provenance_version(workspace, "nope", fixed)
    with pytest.raises(StoreError, match="no version 7"):
        get_provenance(workspace, info.id, version=7)
    assert _provenance.REQUIRED_FIELDS


def test_ingest_pair_keeps_both_files_and_the_join_report(workspace):
    matrix = b"gene,S1,S2,S3\nTP53,1.0,2.0,3.0\nMYC,4.0,5.0,6.0\n"
    sheet = b"sample,condition\nS1,tumour\nS2,normal\nS7,normal\n"
    _, info = ingest_pair(
        workspace, matrix, sheet, matrix_name="m.csv", sheet_name="s.csv", provenance=Provenance(**PROV)
    )
    rep = info.join_report
    assert rep.matched == 2 and rep.only_in_matrix == ("S3",) and rep.only_in_sheet == ("S7",)
    for b in (matrix, sheet):
        assert workspace.get_blob(hashlib.sha256(b).hexdigest()) == b
    assert [f["role"] for f in get_provenance(workspace, info.id).files] == ["matrix", "sample_sheet"]
    df = load_dataset(workspace, info.id)
    workspace.cache_path(f"dataset-{info.id}").unlink()
    pd.testing.assert_frame_equal(load_dataset(workspace, info.id), df)
    with pytest.raises(DataFormatError, match="matches the matrix"):
        ingest_pair(
            workspace,
            matrix,
            b"sample,c\nX,1\n",
            matrix_name="m.csv",
            sheet_name="s.csv",
            provenance=Provenance(**PROV),
        )
    assert workspace.count("datasets") == 1


# ---------------------------------------------------------------------- sample data and roles
def test_sample_datasets_load_with_their_provenance(workspace):
    keys = [s.key for s in list_sample_datasets()]
    assert keys == ["breast_cancer", "simulated_planted"]
    study = workspace.create_study("Samples")
    study, info = load_sample_dataset(workspace, "breast_cancer", study=study)
    assert (info.n_rows, info.n_columns) == (569, 32)
    p = get_provenance(workspace, info.id)
    assert p.licence == "CC BY 4.0" and "10.24432/C5DW2B" in p.source
    roles = suggest_roles(load_dataset(workspace, info.id)).roles
    assert (roles.id, roles.label, roles.task) == ("sample_id", "diagnosis", "classification")
    assert len(roles.feature_columns(load_dataset(workspace, info.id))) == 30


def test_simulated_sample_roles_match_its_truth(workspace):
    sample = {s.key: s for s in list_sample_datasets()}["simulated_planted"]
    truth = sample.truth()
    _, info = load_sample_dataset(workspace, "simulated_planted")
    df = load_dataset(workspace, info.id)
    sug = suggest_roles(df)
    r = sug.roles
    assert r.id == truth["id_column"] and r.label == truth["label_column"]
    assert r.group == truth["group_column"] and r.batch == (truth["batch_column"],)
    assert set(r.covariates) == set(truth["covariate_columns"])
    assert set(r.feature_columns(df)) == set(truth["feature_columns"]) | {truth["leak_feature"]}
    assert "several rows per individual" in sug.reasons["group"]
    assert df.shape == (244, 67) and sample.path.stat().st_size < 1_000_000


def test_wide_tables_are_cached_as_one_block_and_come_back_identical(tmp_path, monkeypatch):
    import numpy as np
    import pyarrow.parquet as pq

    from deeprules_core.intake import _cache

    monkeypatch.setattr(_cache, "BLOCK_MIN_COLUMNS", 5)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(7, 8)), columns=[f"g{i}" for i in range(8)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(7)])
    df.insert(3, "plate", ["p1", "p2"] * 3 + ["p1"])
    df["count"] = np.arange(7)
    df.iloc[2, 4] = np.nan
    path = tmp_path / "c.parquet"
    _cache.write_cache(df, path)
    assert len(pq.read_schema(path).names) == 4  # sample_id, plate, count and the block
    back = _cache.read_cache(path)
    pd.testing.assert_frame_equal(back, df)
    back.iloc[0, 1] = 1.0  # the table that comes back can be modified
    ints = pd.DataFrame(rng.integers(0, 50, (4, 6)), columns=list("abcdef"))
    _cache.write_cache(ints, path)
    pd.testing.assert_frame_equal(_cache.read_cache(path), ints)
