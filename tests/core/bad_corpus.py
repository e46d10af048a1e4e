"""A corpus of bad inputs (issue 16), built on the fly: no file of it is kept in the repository.

Each case is a :class:`Case`: a function that writes its files into a folder and returns
the command-line arguments to try, what the command must do (exit status 0 or 2) and a
word its message (or its output) must contain. ``tests/core/test_bad_input.py`` runs them.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

Build = Callable[[Path], list[str]]


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    exit: int  # what the command must return: 0 (read fine) or 2 (refused, one line)
    expect: str  # a word of the message (exit 2) or of the summary (exit 0), lower case
    env: tuple[tuple[str, str], ...] = ()


def table(n: int = 40, p: int = 5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    df = pd.DataFrame(X, columns=[f"gene_{i}" for i in range(p)])
    df.insert(0, "sample_id", [f"S{i:03d}" for i in range(n)])
    df.insert(1, "label", np.where(X[:, 0] + rng.normal(size=n) > 0, "case", "control"))
    return df


def csv_bytes(df: pd.DataFrame | None = None) -> bytes:
    return (table() if df is None else df).to_csv(index=False).encode()


def _audit(path: Path, *extra: str) -> list[str]:
    return ["audit", str(path), "--label", "label", "--id", "sample_id", *extra]


def _file(name: str, data: bytes | Callable[[], bytes], *extra: str) -> Build:
    def build(d: Path) -> list[str]:
        p = d / name
        p.write_bytes(data() if callable(data) else data)
        return _audit(p, *extra)

    return build


def _zip_csv() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("table.csv", csv_bytes())
    return buf.getvalue()


def _xlsx(sheets: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as w:
        for name, df in sheets.items():
            df.to_excel(w, sheet_name=name, index=False)
    return buf.getvalue()


def _formula_xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    df = table(12, 3)
    ws.append(list(df.columns) + ["note"])
    for i, row in enumerate(df.itertuples(index=False)):
        ws.append(list(row) + ["=cmd|' /C calc'!A0" if i == 0 else "=1+1"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _zip_bomb_xlsx() -> bytes:
    """A valid-looking workbook whose one sheet inflates to 300 MB of empty rows."""
    good = _xlsx({"data": table(3, 2)})
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
                    fh.write(
                        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main"><sheetData>'
                    )
                    chunk = b"<row/>" * (1 << 20)
                    for _ in range(50):
                        fh.write(chunk)
                    fh.write(b"</sheetData></worksheet>")
            else:
                z.writestr(item, src.read(item.filename))
    return out.getvalue()


def _nested_parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = table(30, 3)
    t = pa.Table.from_pandas(df, preserve_index=False)
    t = t.append_column("tags", pa.array([[f"t{i % 3}", "x"] for i in range(30)]))
    t = t.append_column("meta", pa.array([{"a": i, "b": "z"} for i in range(30)]))
    buf = io.BytesIO()
    pq.write_table(t, buf)
    return buf.getvalue()


def _sparse_h5ad(n: int = 40_000) -> bytes:
    import anndata
    import scipy.sparse as sp

    rng = np.random.default_rng(0)
    k = 20_000
    X = sp.csr_matrix(
        (rng.random(k, dtype=np.float32), (rng.integers(0, n, k), rng.integers(0, n, k))), shape=(n, n)
    )
    obs = pd.DataFrame({"label": np.where(np.arange(n) % 2, "a", "b")}, index=[f"c{i}" for i in range(n)])
    a = anndata.AnnData(X=X, obs=obs, var=pd.DataFrame(index=[f"g{i}" for i in range(n)]))
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.h5ad"
        a.write_h5ad(path)
        return path.read_bytes()


def _binary_no_nul() -> bytes:
    rng = np.random.default_rng(1)
    return bytes(rng.integers(1, 256, size=20_000, dtype=np.uint8))


def _one_class() -> bytes:
    df = table()
    df["label"] = "case"
    return csv_bytes(df)


def _wide_one_row() -> bytes:
    cols = ["sample_id", "label"] + [f"g{i}" for i in range(50_000)]
    return (",".join(cols) + "\n" + ",".join(["S1", "a"] + ["1.5"] * 50_000) + "\n").encode()


# ---------------------------------------------------------------------- audit cases
AUDIT_CASES: list[Case] = [
    Case("gzip named .csv", _file("t.csv", lambda: gzip.compress(csv_bytes())), 0, "40 rows"),
    Case("bz2 named .csv", _file("t.csv", lambda: bz2.compress(csv_bytes())), 0, "40 rows"),
    Case("xz named .txt", _file("t.txt", lambda: lzma.compress(csv_bytes())), 0, "40 rows"),
    Case("zip holding a csv", _file("t.csv", _zip_csv), 0, "40 rows"),
    Case("gzip named .csv.gz", _file("t.csv.gz", lambda: gzip.compress(csv_bytes())), 0, "40 rows"),
    Case("utf-16-le, no BOM", _file("t.csv", lambda: csv_bytes().decode().encode("utf-16-le")), 0, "40 rows"),
    Case("utf-16-be, no BOM", _file("t.csv", lambda: csv_bytes().decode().encode("utf-16-be")), 0, "40 rows"),
    Case("utf-16 with BOM", _file("t.tsv", lambda: csv_bytes().decode().encode("utf-16")), 0, "40 rows"),
    Case("utf-32 with BOM", _file("t.csv", lambda: csv_bytes().decode().encode("utf-32")), 0, "40 rows"),
    Case("utf-32-le, no BOM", _file("t.csv", lambda: csv_bytes().decode().encode("utf-32-le")), 0, "40 rows"),
    Case("binary without NUL bytes", _file("t.csv", _binary_no_nul), 2, "binary"),
    Case("random binary with NUL", _file("t.csv", lambda: bytes(range(256)) * 40), 2, "binary"),
    Case(
        "workbook with several sheets, none chosen",
        _file("t.xlsx", lambda: _xlsx({"readme": table(3, 1), "data": table()})),
        2,
        "readme",
    ),
    Case(
        "workbook with several sheets, one chosen",
        _file("t.xlsx", lambda: _xlsx({"readme": table(3, 1), "data": table()}), "--sheet", "data"),
        0,
        "40 rows",
    ),
    Case(
        "workbook, an unknown sheet chosen",
        _file("t.xlsx", lambda: _xlsx({"readme": table(3, 1), "data": table()}), "--sheet", "nope"),
        2,
        "nope",
    ),
    Case("excel formula cells", _file("t.xlsx", _formula_xlsx), 0, "12 rows"),
    Case("zip bomb .xlsx", _file("t.xlsx", _zip_bomb_xlsx), 2, "uncompressed"),
    Case("label with one class", _file("t.csv", _one_class), 0, "label_one_class"),
    Case("parquet with nested columns", _file("t.parquet", _nested_parquet), 0, "30 rows"),
    Case("sparse h5ad too big to make dense", _file("t.h5ad", _sparse_h5ad), 2, "deeprules_max_memory"),
    Case("csv of 50,000 columns and one row", _file("t.csv", _wide_one_row), 0, "1 rows"),
    Case(
        "file over the size limit",
        _file("t.csv", lambda: csv_bytes(table(400))),
        2,
        "limit",
        env=(("DEEPRULES_MAX_UPLOAD_MB", "0.01"),),
    ),
    Case(
        "table over the memory limit",
        _file("t.csv", lambda: csv_bytes(table(400, 50))),
        2,
        "deeprules_max_memory",
        env=(("DEEPRULES_MAX_MEMORY", "20KB"),),
    ),
    Case("empty file", _file("t.csv", b""), 2, "empty"),
    Case("header only", _file("t.csv", b"sample_id,label,gene_0\n"), 2, "no rows"),
    Case("only blank lines", _file("t.csv", b"\n\n  \n"), 2, "blank"),
    Case("a pdf named .csv", _file("t.csv", b"%PDF-1.4\n" + bytes(range(1, 200)) * 10), 2, "pdf"),
    Case("unknown extension", _file("t.docx", csv_bytes), 2, "extension"),
    Case("old .xls", _file("t.xls", csv_bytes), 2, ".xls"),
    Case("not a workbook named .xlsx", _file("t.xlsx", csv_bytes), 2, "excel"),
    Case("damaged gzip", _file("t.csv.gz", lambda: gzip.compress(csv_bytes())[:50]), 2, "damaged"),
    Case("damaged parquet", _file("t.parquet", lambda: b"PAR1" + b"x" * 100), 2, "parquet"),
    Case("damaged h5ad", _file("t.h5ad", lambda: b"\x89HDF\r\n\x1a\n" + b"x" * 100), 2, "h5ad"),
    Case(
        "duplicate column names", _file("t.csv", b"sample_id,label,g,g\nA,x,1,2\nB,y,3,4\n"), 2, "duplicate"
    ),
    Case(
        "ragged rows",
        _file("t.csv", b"sample_id,label,g\nA,x,1\nB,y,3,4,5\nC,x,2\n"),
        2,
        "line 3",
    ),
    Case(
        "missing label column",
        lambda d: ["audit", str(_write(d / "t.csv", csv_bytes())), "--label", "nope"],
        2,
        "nope",
    ),
    Case("no such file", lambda d: ["audit", str(d / "absent.csv"), "--label", "label"], 2, "no file"),
    Case("a folder", lambda d: ["audit", str(d), "--label", "label"], 2, "folder"),
    Case(
        "hostile file name",
        lambda d: _audit(_write(d / ("x\x1b[31m\n" + "A" * 200 + ".csv"), b"\x00\x01binary")),
        2,
        "binary",
    ),
    Case(
        "file name with a path and quotes",
        lambda d: _audit(_write(d / 'it\'s "quoted" ; rm -rf.docx', b"a,b\n1,2\n")),
        2,
        "extension",
    ),
    Case("inf values (audit)", _file("t.csv", lambda: csv_bytes(_with_inf())), 0, "out_of_range_values"),
    Case(
        "a 50,000-character cell in the header",
        _file("t.csv", lambda: b"sample_id,label," + b"g" * 50_000 + b"\nA,x,1\nB,y,2\n"),
        0,
        "2 rows",
    ),
]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _with_inf() -> pd.DataFrame:
    df = table(60)
    df.loc[3, "gene_1"] = np.inf
    df.loc[7, "gene_2"] = -np.inf
    return df


# ---------------------------------------------------------------------- run cases (study files)
def _study(text: str, data: bytes | Callable[[], bytes] = csv_bytes, name: str = "t.csv") -> Build:
    def build(d: Path) -> list[str]:
        (d / name).write_bytes(data() if callable(data) else data)
        (d / "study.yaml").write_text(text, encoding="utf-8")
        return ["run", str(d / "study.yaml"), "--out", str(d / "out")]

    return build


_OK = "data: t.csv\nroles: {id: sample_id, label: label}\n"
_FAST = "models: [dummy]\nbudget: 1\nn_shuffles: 0\nn_boot: 0\n"

_ALIAS_BOMB = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)

RUN_CASES: list[Case] = [
    Case("roles as a string", _study("data: t.csv\nroles: label\n"), 2, "roles"),
    Case("roles as a list", _study("data: t.csv\nroles: [label, sample_id]\n"), 2, "roles"),
    Case("split as a list", _study(_OK + "split: [group, 0.2]\n"), 2, "split"),
    Case("models: 5", _study(_OK + "models: 5\n"), 2, "models"),
    Case("provenance as a string", _study(_OK + "provenance: from GEO\n"), 2, "provenance"),
    Case("provenance with an unknown key", _study(_OK + "provenance: {sorce: GEO}\n"), 2, "sorce"),
    Case("label as a list", _study("data: t.csv\nroles: {label: [a, b]}\n"), 2, "label"),
    Case("test_fraction: a lot", _study(_OK + "split: {test_fraction: a lot}\n"), 2, "test_fraction"),
    Case("design as a string", _study(_OK + "design: randomised\n"), 2, "design"),
    Case("several wrong keys at once", _study(_OK + "models: 5\nbudget: many\nsplit: []\n"), 2, "budget"),
    Case(
        "split.file that is not a split file",
        lambda d: (
            _study(_OK + "split: {file: notes.txt}\n")(d) if _write(d / "notes.txt", b'"a\nb,,c\x00') else []
        ),
        2,
        "split",
    ),
    Case(
        "YAML alias bomb in budget",
        _study(_OK + _ALIAS_BOMB.replace("\n", "\n  ").replace("a: &a", "budget:\n  a: &a", 1)),
        2,
        "alias",
    ),
    Case("not YAML", _study("data: [t.csv\nroles: {"), 2, "yaml"),
    Case("YAML that is a list", _study("- data\n- roles\n"), 2, "mapping"),
    Case(
        "binary study file",
        lambda d: _study("")(d) if _write(d / "study.yaml", bytes(range(256))) else [],
        2,
        "study file",
    ),
    Case("no data file", _study("data: nowhere.csv\nroles: {label: label}\n"), 2, "nowhere.csv"),
    Case("unknown top-level key", _study(_OK + "modles: [dummy]\n"), 2, "modles"),
    Case("unknown model", _study(_OK + "models: [dummy, svm]\n"), 2, "svm"),
    Case("negative budget", _study(_OK + "budget: -3\n"), 2, "budget"),
    Case(
        "huge value quoted short",
        _study(_OK + "name: " + "x" * 100_000 + "\nbudget: " + "9" * 5000 + "x\n"),
        2,
        "budget",
    ),
    Case("run: label column missing", _study("data: t.csv\nroles: {label: nope}\n" + _FAST), 2, "nope"),
    Case("run: inf values", _study(_OK + _FAST, lambda: csv_bytes(_with_inf())), 0, "selected model"),
    Case(
        "run: several sheets, none chosen",
        _study(
            _OK.replace("t.csv", "t.xlsx") + _FAST, lambda: _xlsx({"a": table(3, 1), "b": table()}), "t.xlsx"
        ),
        2,
        "sheet",
    ),
    Case("run: one-class label", _study(_OK + _FAST, _one_class), 2, "one class"),
]
