"""Reading every supported format, and every kind of bad input, with clear messages."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest

from deeprules_core.errors import ColumnError, DataFormatError
from deeprules_core.intake import _delimited, parse_table, read_matrix_with_sample_sheet, read_table

FRAME = pd.DataFrame(
    {
        "sample_id": ["S1", "S2", "S3", "S4"],
        "condition": ["tumour", "normal", "tumour", "normal"],
        "age": [40.5, 51.0, 63.2, 38.9],
        "TP53": [1.5, 2.25, 3.0, 4.125],
    }
)


def _same(df: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(df.reset_index(drop=True), FRAME, check_dtype=False)


@pytest.mark.parametrize(
    ("name", "sep"),
    [("t.csv", ","), ("t.tsv", "\t"), ("t.txt", ";"), ("t.csv", "|"), ("t.tab", "\t"), ("t.dat", ",")],
)
def test_delimited_text_with_sniffed_separator(name, sep):
    data = FRAME.to_csv(index=False, sep=sep).encode()
    df = read_table(data, name=name)
    _same(df)
    assert df.attrs["deeprules_read"]["delimiter"] == sep


def test_semicolon_with_decimal_comma():
    data = b"sample_id;condition;age;TP53\nS1;tumour;40,5;1,5\nS2;normal;51,0;2,25\nS3;tumour;63,2;3,0\nS4;normal;38,9;4,125\n"
    res = parse_table(data, name="eu.csv")
    _same(res.df)
    assert res.details["decimal"] == ","
    assert any("decimal comma" in n for n in res.details["notes"])


def test_excel_parquet_and_gzip(tmp_path):
    xlsx = tmp_path / "t.xlsx"
    with pd.ExcelWriter(xlsx) as w:
        FRAME.to_excel(w, sheet_name="samples", index=False)
        FRAME.head(2).to_excel(w, sheet_name="other", index=False)
    with pytest.raises(DataFormatError, match="2 sheets.*'samples', 'other'.*Choose one"):
        read_table(xlsx)  # several sheets: never the first one silently
    _same(read_table(xlsx, sheet="samples"))
    assert read_table(xlsx.read_bytes(), name="t.xlsx", sheet="other").shape == (2, 4)
    with pytest.raises(DataFormatError, match="no sheet named 'nope'.*samples"):
        read_table(xlsx, sheet="nope")
    pq = tmp_path / "t.parquet"
    FRAME.to_parquet(pq, index=False)
    _same(read_table(pq))
    gz = gzip.compress(FRAME.to_csv(index=False).encode())
    res = parse_table(gz, name="t.csv.gz")
    _same(res.df)
    assert any("gzip" in n for n in res.details["notes"])


def test_parquet_with_index_keeps_it_as_a_column(tmp_path):
    pq = tmp_path / "t.parquet"
    FRAME.set_index("sample_id").to_parquet(pq)
    _same(read_table(pq))


@pytest.mark.parametrize("sparse", [False, True])
def test_anndata_x_plus_obs(tmp_path, sparse):
    import anndata
    import scipy.sparse as sp

    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    obs = pd.DataFrame(
        {"condition": pd.Categorical(["a", "b", "a", "b"]), "donor": ["d1", "d1", "d2", "d2"]},
        index=pd.Index(["c1", "c2", "c3", "c4"], name="cell"),
    )
    var = pd.DataFrame(index=["TP53", "MYC", "EGFR"])
    ad = anndata.AnnData(X=sp.csr_matrix(X) if sparse else X, obs=obs, var=var)
    path = tmp_path / "t.h5ad"
    ad.write_h5ad(path)
    df = read_table(path)
    assert list(df.columns) == ["cell", "condition", "donor", "TP53", "MYC", "EGFR"]
    assert df["cell"].tolist() == ["c1", "c2", "c3", "c4"]
    assert df["condition"].dtype == object  # categoricals come back as text
    np.testing.assert_allclose(df[["TP53", "MYC", "EGFR"]].to_numpy(), X)


def test_r_style_header_without_row_name_column():
    data = b"TP53,MYC\nS1,1.0,2.0\nS2,3.0,4.0\n"
    res = parse_table(data, name="r.csv")
    assert list(res.df.columns) == ["row_name", "TP53", "MYC"]
    assert any("row names" in n for n in res.details["notes"])


def test_latin1_text_is_decoded_and_said():
    data = "sample_id,site\nS1,Zürich\nS2,Besançon\n".encode("latin-1")
    res = parse_table(data, name="l.csv")
    assert res.df["site"].tolist() == ["Zürich", "Besançon"]
    assert res.details["encoding"] in ("cp1252", "latin-1")
    assert any("not UTF-8" in n for n in res.details["notes"])


def test_utf16_text_from_excel_is_converted():
    data = FRAME.to_csv(index=False, sep="\t").encode("utf-16")
    res = parse_table(data, name="unicode.txt")
    _same(res.df)
    assert any("UTF-16" in n for n in res.details["notes"])


def test_trailing_summary_line_is_dropped_with_a_note():
    data = FRAME.to_csv(index=False).encode() + b"Total,,193.6,10.875\n\n"
    res = parse_table(data, name="t.csv")
    _same(res.df)
    assert any("summary" in n and "Total" in n for n in res.details["notes"])


def test_a_sample_called_totalx_is_not_dropped():
    data = b"id,x\nS1,1\nTotalX,2\n"
    assert read_table(data, name="t.csv").shape == (2, 2)


@pytest.mark.parametrize(
    ("data", "name", "match"),
    [
        (b"", "e.csv", "is empty"),
        (b"\n\n  \n", "e.csv", "only blank lines"),
        (b"a,b,c\n", "h.csv", "no rows"),
        (b"\x00\x01\x02binary\x00" * 50, "b.csv", "binary data"),
        (b"PK\x03\x04" + b"\x00" * 100, "x.csv", "damaged zip archive"),
        (b"PAR1" + b"\x00" * 100, "x.csv", "content is a Parquet file"),
        (b"a,b\n1,2\n", "t.sav", "extension '.sav'"),
        (b"a,b\n1,2\n", "README", "no extension"),
        (b"\xd0\xcf\x11\xe0", "old.xls", "save it as .xlsx"),
        (b"id,age,age,x,x\n1,2,3,4,5\n", "d.csv", "duplicate column names: 'age' \\(columns 2, 3\\); 'x'"),
        (b"id,x\nS1,1\nS2,2,3\nS3,4\n", "m.csv", "Line 3 .* has 3 fields but the header has 2"),
        (b"not gzip", "t.csv.gz", "named like a compressed file but is not compressed"),
        (b"PK\x03\x04garbage", "w.xlsx", "cannot be opened as an Excel workbook"),
        (b"PAR1garbagePAR1", "p.parquet", "cannot be read as Parquet"),
        (b"\x89HDF\r\n\x1a\ngarbage", "a.h5ad", "cannot be read as AnnData"),
    ],
)
def test_bad_input_gives_a_clear_error(data, name, match):
    with pytest.raises(DataFormatError, match=match):
        read_table(data, name=name)


def test_size_limit_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DEEPRULES_MAX_UPLOAD_MB", "0.001")  # about 1 kB
    data = FRAME.to_csv(index=False).encode() * 20
    with pytest.raises(DataFormatError, match="over the limit of .*DEEPRULES_MAX_UPLOAD_MB"):
        read_table(data, name="big.csv")
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match="over the limit"):
        read_table(path)
    monkeypatch.setenv("DEEPRULES_MAX_UPLOAD_MB", "lots")
    with pytest.raises(DataFormatError, match="must be a number"):
        read_table(b"a\n1\n", name="a.csv")


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(DataFormatError, match="no file at"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(DataFormatError, match="is a folder"):
        read_table(tmp_path)


def test_pyarrow_and_c_engine_agree(monkeypatch):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(50, 5)).round(4), columns=list("abcde"))
    df.insert(0, "id", [f"s{i}" for i in range(50)])
    data = df.to_csv(index=False).encode()
    c = parse_table(data, name="t.csv")
    monkeypatch.setattr(_delimited, "PYARROW_MIN_BYTES", 0)
    arrow = parse_table(data, name="t.csv")
    assert c.details["engine"] == "c" and arrow.details["engine"] == "pyarrow"
    pd.testing.assert_frame_equal(c.df, arrow.df)
    # a malformed row makes pyarrow refuse; the C engine then explains where
    with pytest.raises(DataFormatError, match="Line 3"):
        parse_table(b"id,x\nS1,1\nS2,2,3\n", name="m.csv")


def test_mixed_text_and_numbers_in_excel_become_text(tmp_path):
    path = tmp_path / "m.xlsx"
    pd.DataFrame({"id": ["a", "b", "c"], "dose": [1, "high", 3.5]}).to_excel(path, index=False)
    res = parse_table(path)
    assert res.df["dose"].tolist() == ["1", "high", "3.5"]
    assert any("mixes text and numbers" in n for n in res.details["notes"])


# ---------------------------------------------------------------------- the two-file layout
MATRIX_COLS = b"gene,S1,S2,S3,S4\nTP53,1.0,2.0,3.0,4.0\nMYC,5.0,6.0,7.0,8.0\n"
MATRIX_ROWS = b"sample,TP53,MYC\nS1,1.0,5.0\nS2,2.0,6.0\nS3,3.0,7.0\nS4,4.0,8.0\n"
SHEET = b"sample,condition\nS2,normal\nS1,tumour\nS3,tumour\nS9,normal\n"


@pytest.mark.parametrize(
    ("matrix", "orientation"),
    [
        (MATRIX_COLS, "auto"),
        (MATRIX_COLS, "samples_as_columns"),
        (MATRIX_ROWS, "auto"),
        (MATRIX_ROWS, "samples_as_rows"),
    ],
)
def test_matrix_plus_sample_sheet_both_orientations(matrix, orientation):
    df, rep = read_matrix_with_sample_sheet(
        matrix, SHEET, matrix_name="m.csv", sheet_name="s.csv", orientation=orientation
    )
    assert list(df.columns) == ["sample", "condition", "TP53", "MYC"]
    assert df["sample"].tolist() == ["S2", "S1", "S3"]  # the sample sheet's order
    assert df["TP53"].tolist() == [2.0, 1.0, 3.0]
    assert df["MYC"].tolist() == [6.0, 5.0, 7.0]
    assert rep.matched == 3 and rep.id_column == "sample"
    assert rep.only_in_matrix == ("S4",) and rep.only_in_sheet == ("S9",)
    assert rep.orientation == ("samples_as_columns" if matrix is MATRIX_COLS else "samples_as_rows")
    assert "3 samples matched" in rep.summary() and not rep.complete


def test_sample_sheet_that_matches_nothing_is_an_error():
    sheet = b"sample,condition\nX1,a\nX2,b\n"
    with pytest.raises(DataFormatError, match="No sample id of the sample sheet .* matches the matrix"):
        read_matrix_with_sample_sheet(MATRIX_COLS, sheet, matrix_name="m.csv", sheet_name="s.csv")


def test_join_errors_name_the_problem():
    with pytest.raises(ColumnError, match="no column 'nope'"):
        read_matrix_with_sample_sheet(
            MATRIX_COLS, SHEET, matrix_name="m.csv", sheet_name="s.csv", id_column="nope"
        )
    dup_genes = b"gene,S1,S2\nTP53,1,2\nTP53,3,4\n"
    with pytest.raises(DataFormatError, match="feature ids \\['TP53'\\] occur on more than one row"):
        read_matrix_with_sample_sheet(dup_genes, SHEET, matrix_name="m.csv", sheet_name="s.csv")
    dup_sheet = b"sample,condition\nS1,a\nS1,b\n"
    with pytest.raises(DataFormatError, match="ids \\['S1'\\] occur more than once"):
        read_matrix_with_sample_sheet(MATRIX_COLS, dup_sheet, matrix_name="m.csv", sheet_name="s.csv")


def test_join_with_excel_sample_sheet(tmp_path):
    sheet = pd.read_csv(io.BytesIO(SHEET))
    path = tmp_path / "s.xlsx"
    sheet.to_excel(path, index=False)
    df, rep = read_matrix_with_sample_sheet(
        MATRIX_COLS, path.read_bytes(), matrix_name="m.tsv".replace("tsv", "csv"), sheet_name="s.xlsx"
    )
    assert rep.matched == 3 and df.shape == (3, 4)


def test_geo_series_matrix_metadata_and_end_marker_are_skipped():
    geo = (
        b'!Series_title\t"Breast cancer relapse"\n!Series_geo_accession\t"GSE2034"\n\n'
        b'!series_matrix_table_begin\n"ID_REF"\t"GSM36777"\t"GSM36778"\n'
        b'"1007_s_at"\t1.5\t2.5\n"1053_at"\t3.5\t4.5\n!series_matrix_table_end\n'
    )
    res = parse_table(gzip.compress(geo), name="GSE2034_series_matrix.txt.gz")
    assert list(res.df.columns) == ["ID_REF", "GSM36777", "GSM36778"]
    assert res.df["ID_REF"].tolist() == ["1007_s_at", "1053_at"]
    notes = " ".join(res.details["notes"])
    assert "4 line(s) of comments" in notes and "series_matrix_table_end" in notes


def test_a_hash_header_line_is_the_header_not_a_comment():
    res = parse_table(b"# tool v1\n#CHROM\tPOS\nchr1\t10\nchr2\t20\n", name="v.tsv")
    assert list(res.df.columns) == ["#CHROM", "POS"] and res.df.shape == (2, 2)
    with pytest.raises(DataFormatError, match="only comment lines"):
        read_table(b"# nothing\n# here\n", name="c.csv")


def test_trailing_separator_column_is_dropped():
    res = parse_table(b"id,x,\na,1,\nb,2,\n", name="t.csv")
    assert list(res.df.columns) == ["id", "x"]
    assert any("empty column" in n for n in res.details["notes"])


def test_read_and_hash_gives_the_exact_bytes_and_their_sha256(tmp_path):
    import hashlib

    from deeprules_core.intake import read_and_hash

    path = tmp_path / "t.csv"
    path.write_bytes(FRAME.to_csv(index=False).encode())
    res, data, sha = read_and_hash(path)
    assert data == path.read_bytes() and sha == hashlib.sha256(data).hexdigest()
    _same(res.df)
