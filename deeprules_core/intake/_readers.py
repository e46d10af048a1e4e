"""Read one table from bytes or a path: delimited text, Excel, Parquet, AnnData.

Every reader returns a :class:`ReadResult`: the table plus ``details`` (format, delimiter,
encoding, engine, and notes about anything deeprules changed, such as a dropped summary
line). Anything that cannot be read raises :class:`~deeprules_core.errors.DataFormatError`
with a message that says what to fix.

Big numeric CSV files take a fast path: the bytes are read once (they are hashed and
stored anyway), the delimiter is sniffed from the first lines, and the parser engine is
chosen by shape: pyarrow's multi-threaded reader for big, narrow files, pandas' C
engine for wide ones (pyarrow is several times slower there).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataFormatError

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ReadResult",
    "max_upload_bytes",
    "parse_table",
    "read_table",
    "detect_format",
    "read_and_hash",
]

#: extensions deeprules reads, by format
SUPPORTED_EXTENSIONS: dict[str, str] = {
    ".csv": "delimited",
    ".tsv": "delimited",
    ".tab": "delimited",
    ".txt": "delimited",
    ".dat": "delimited",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".h5ad": "h5ad",
}
_SUPPORTED_TEXT = "CSV/TSV/TXT (delimited text), Excel .xlsx, Parquet, AnnData .h5ad (each optionally .gz)"

#: default upload limit; a lab server can raise it with DEEPRULES_MAX_UPLOAD_MB
DEFAULT_MAX_UPLOAD_MB = 1024
#: above this many bytes pyarrow's threaded CSV reader beats pandas' C engine ...
PYARROW_MIN_BYTES = 32 * 2**20
#: ... unless the table is this wide: pyarrow slows down a lot with many columns
WIDE_COLUMNS = 1000
#: how much of the head is looked at to sniff encoding and delimiter
_SNIFF_BYTES = 1 << 20
_SNIFF_LINES = 30
_DELIMITERS = ("\t", ",", ";", "|")
#: a last line whose first cell is one of these is a spreadsheet summary, not a sample
_SUMMARY_RE = re.compile(r"^\s*(grand\s+total|totals?|sum|mean|average|avg|median)\s*:?\s*$", re.I)
#: a dense matrix above this many cells (8 bytes each, 16 GiB) is refused
MAX_DENSE_CELLS = 2_000_000_000

_MAGIC = (
    (b"PK\x03\x04", "xlsx", "an Excel workbook (or another zip archive)"),
    (b"PAR1", "parquet", "a Parquet file"),
    (b"\x89HDF\r\n\x1a\n", "h5ad", "an HDF5 file (such as AnnData .h5ad)"),
    (b"\xd0\xcf\x11\xe0", "xls", "an old-style Excel .xls workbook"),
    (b"%PDF", "pdf", "a PDF document"),
    (b"\x89PNG", "png", "a PNG image"),
    (b"\xff\xd8\xff", "jpeg", "a JPEG image"),
)


@dataclass
class ReadResult:
    """A parsed table and how it was read (``details`` is JSON-able)."""

    df: pd.DataFrame
    format: str
    details: dict[str, Any] = field(default_factory=dict)


def max_upload_bytes() -> int:
    """The size limit for one file, from ``DEEPRULES_MAX_UPLOAD_MB`` (default 1024 MB)."""
    raw = os.environ.get("DEEPRULES_MAX_UPLOAD_MB", "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError as exc:
        raise DataFormatError(f"DEEPRULES_MAX_UPLOAD_MB must be a number of megabytes; got {raw!r}.") from exc
    return int(mb * 2**20)


def _check_size(n: int, name: str) -> None:
    limit = max_upload_bytes()
    if n > limit:
        raise DataFormatError(
            f"The file {name!r} is {n / 2**20:,.1f} MB, over the limit of {limit / 2**20:,.0f} MB. "
            "Remove columns or rows you do not need, save it as Parquet (much smaller), or ask "
            "whoever runs deeprules to raise DEEPRULES_MAX_UPLOAD_MB."
        )


def _sniff_magic(data: bytes) -> tuple[str, str] | None:
    for magic, fmt, words in _MAGIC:
        if data.startswith(magic):
            return fmt, words
    return None


def detect_format(name: str, data: bytes | None = None) -> str:
    """The format a file name (and its first bytes) announces: delimited, xlsx, parquet, h5ad."""
    lower = name.lower()
    if lower.endswith(".gz"):
        lower = lower[:-3]
    ext = Path(lower).suffix
    if ext == ".xls":
        raise DataFormatError(
            f"{name!r} is an old-style Excel .xls workbook, which deeprules does not read. Open it in "
            "Excel or LibreOffice and save it as .xlsx (or export the sheet as CSV)."
        )
    fmt = SUPPORTED_EXTENSIONS.get(ext)
    if fmt is None:
        what = f"the extension {ext!r}" if ext else "no extension"
        raise DataFormatError(
            f"{name!r} has {what}, which deeprules cannot read. Supported: {_SUPPORTED_TEXT}. "
            "Export the table in one of these formats (a spreadsheet: 'Save as CSV')."
        )
    if data is not None:
        magic = _sniff_magic(data[:16])
        if magic is not None and magic[0] != fmt:
            raise DataFormatError(
                f"{name!r} is named like a {fmt if fmt != 'delimited' else 'text'} file but its content is "
                f"{magic[1]}. Rename it with the right extension, or export the table again."
            )
    return fmt


def _load_source(source: bytes | bytearray | memoryview | str | os.PathLike[str], name: str) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        _check_size(len(data), name)
        return data
    path = Path(source)
    if not path.exists():
        raise DataFormatError(f"There is no file at {path}.")
    if path.is_dir():
        raise DataFormatError(f"{path} is a folder; give the path of a table file.")
    _check_size(path.stat().st_size, name)
    with open(path, "rb") as fh:
        return fh.read()


def _gunzip(data: bytes, name: str) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        raise DataFormatError(f"{name!r} ends in .gz but is not gzip-compressed. Remove the .gz.")
    limit = max_upload_bytes()
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            while block := gz.read(1 << 24):
                out.write(block)
                if out.tell() > limit:
                    _check_size(out.tell(), name + " (uncompressed)")
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"{name!r} is a damaged gzip file ({exc}). Download it again.") from exc
    return out.getvalue()


# ---------------------------------------------------------------------- public entry points
def parse_table(
    source: bytes | str | os.PathLike[str], *, name: str | None = None, sheet: str | int | None = None
) -> ReadResult:
    """Read a table and tell how it was read. See :func:`read_table`."""
    if name is None:
        if isinstance(source, bytes | bytearray | memoryview):
            raise DataFormatError("Give the file's name (name=...) so its format can be told.")
        name = Path(source).name
    data = _load_source(source, name)
    if not data:
        raise DataFormatError(f"{name!r} is empty (0 bytes). Check that the export or download finished.")
    fmt = detect_format(name, None if name.lower().endswith(".gz") else data)
    notes: list[str] = []
    if name.lower().endswith(".gz"):
        data = _gunzip(data, name)
        detect_format(name[:-3], data)
        notes.append("The file was gzip-compressed; it was decompressed before reading.")
    if fmt == "delimited":
        res = _read_delimited(data, name)
    elif fmt == "xlsx":
        res = _read_excel(data, name, sheet)
    elif fmt == "parquet":
        res = _read_parquet(data, name)
    else:
        res = _read_h5ad(data, name)
    res.details["notes"] = notes + res.details.get("notes", [])
    res.df = _normalise(res.df, name, res.details["notes"])
    if res.df.shape[0] == 0:
        raise DataFormatError(f"{name!r} has column names but no rows of data.")
    if res.df.shape[1] == 0:
        raise DataFormatError(f"{name!r} has rows but no columns.")
    res.details.setdefault("format", res.format)
    return res


def read_table(
    source: bytes | str | os.PathLike[str], *, name: str | None = None, sheet: str | int | None = None
) -> pd.DataFrame:
    """Read a table from bytes or a path, whatever its format.

    Parameters
    ----------
    source : bytes or path
        The file's exact bytes, or its path.
    name : str
        The file's name (its extension tells the format). Optional for a path.
    sheet : str or int, optional
        The Excel sheet (name or 0-based position); default the first sheet.

    Returns
    -------
    pandas.DataFrame
        One row per line/observation. ``df.attrs["deeprules_read"]`` says how it was read
        (format, delimiter, encoding, engine, notes).

    Raises
    ------
    DataFormatError
        Empty, binary or damaged file, unsupported extension, file over the size limit
        (``DEEPRULES_MAX_UPLOAD_MB``), duplicate column names, malformed rows.

    Examples
    --------
    >>> df = read_table(b"sample_id;age\\nS1;40\\nS2;51\\n", name="samples.csv")
    >>> df.shape, df.attrs["deeprules_read"]["delimiter"]
    ((2, 2), ';')
    """
    res = parse_table(source, name=name, sheet=sheet)
    res.df.attrs["deeprules_read"] = res.details
    return res.df


def read_and_hash(
    source: bytes | str | os.PathLike[str], *, name: str | None = None, sheet: str | int | None = None
) -> tuple[ReadResult, bytes, str]:
    """Read the bytes once, hash them and parse them: (result, the exact bytes, sha256).

    The hash runs in a thread while the table is parsed (both release the GIL), so on a
    machine with two cores or more it costs next to nothing.
    """
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    if name is None and not isinstance(source, bytes | bytearray | memoryview):
        name = Path(source).name
    data = _load_source(source, name or "table")
    with ThreadPoolExecutor(max_workers=1) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        res = parse_table(data, name=name, sheet=sheet)
        return res, data, digest.result()


# ---------------------------------------------------------------------- delimited text
def _decode_head(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """Decode the head of the file: (text, encoding, notes)."""
    head = data[:_SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "", "utf-16", []
    if b"\x00" in head[:8192]:
        raise DataFormatError(
            f"{name!r} is named like a text table but contains binary data. It may be a spreadsheet, "
            "an archive or a damaged download: open it and export the table as CSV."
        )
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            return head.decode("cp1252", errors="replace"), "cp1252", []
        text = head[: exc.start].decode("utf-8")
    return text.lstrip("\ufeff"), "utf-8", []


def _split_fields(line: str, delim: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delim), [])
    except csv.Error:  # e.g. a field over the csv module's size limit: not this delimiter
        return [line]


def _sniff_delimiter(lines: list[str], name: str) -> str:
    prefer = "\t" if name.lower().removesuffix(".gz").endswith((".tsv", ".tab")) else None
    best: tuple[int, int, str] | None = None
    for delim in _DELIMITERS:
        counts = [len(_split_fields(line, delim)) for line in lines]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(c == counts[0] for c in counts)
        score = (consistent, counts[0] if delim != prefer else 10**9, delim)
        if best is None or score[:2] > best[:2]:
            best = score
    if best is None:
        return prefer or ","
    return best[2]


def _decimal_comma(lines: list[str], delim: str) -> bool:
    if delim == ",":
        return False
    cells = [c for line in lines[1:] for c in _split_fields(line, delim)]
    comma = sum(bool(re.fullmatch(r"-?\d+,\d+", c.strip())) for c in cells)
    dot = sum(bool(re.fullmatch(r"-?\d+\.\d+", c.strip())) for c in cells)
    return comma > 0 and comma >= 4 * dot


def _check_header(header: list[str], name: str) -> None:
    stripped = [h.strip() for h in header]
    seen: dict[str, list[int]] = {}
    for i, h in enumerate(stripped):
        if h:
            seen.setdefault(h, []).append(i + 1)
    dups = {h: pos for h, pos in seen.items() if len(pos) > 1}
    if dups:
        shown = "; ".join(f"{h!r} (columns {', '.join(map(str, pos))})" for h, pos in list(dups.items())[:10])
        raise DataFormatError(
            f"{name!r} has duplicate column names: {shown}. Each column needs its own name, or "
            "values would be mixed up. Rename them in the file (e.g. 'age_visit1', 'age_visit2')."
        )


_COMMENT = ("#", "!")
#: comment/metadata lines at the top are looked for in this many bytes
_MAX_PREAMBLE = 64 * 2**20


def _leading_comments(data: bytes) -> tuple[int, int]:
    """(byte offset of the header line, number of lines skipped before it).

    Blank lines and lines starting with '#' or '!' (GEO series matrix metadata) come
    before the table. A '#' line directly followed by the table with as many fields is
    the header itself (as in '#CHROM POS ...') and is kept.
    """
    pos = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    skipped, last_comment = 0, None
    while pos < min(len(data), _MAX_PREAMBLE):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        line = data[pos:end].strip().lstrip(b'"')
        if line and not line.startswith((b"#", b"!")):
            if last_comment is not None and _same_width(last_comment, data[pos:end]):
                return last_comment[0], skipped - 1
            return (pos, skipped) if skipped else (0, 0)
        if line:
            last_comment = (pos, data[pos:end])
        skipped += 1
        pos = end + 1
    return (len(data), skipped) if pos >= len(data) and last_comment is not None else (0, 0)


def _same_width(comment: tuple[int, bytes], line: bytes) -> bool:
    text_c = comment[1].decode("utf-8", errors="replace")
    text_l = line.decode("utf-8", errors="replace")
    if not comment[1].lstrip(b'"').startswith(b"#"):
        return False
    for delim in _DELIMITERS:
        n = len(_split_fields(text_l, delim))
        if n > 1 and len(_split_fields(text_c, delim)) == n:
            return True
    return False


def _trailing_summary(data: bytes, delim: str, encoding: str) -> int | None:
    """Byte offset where a trailing 'Total,...' line starts, or None."""
    tail = data[-65536:]
    stripped = tail.rstrip(b"\r\n ")
    cut = stripped.rfind(b"\n")
    if cut < 0:  # a single line, or a last line longer than the tail looked at
        return None
    first = _split_fields(stripped[cut + 1 :].decode(encoding, errors="replace"), delim)
    cell = first[0].strip().strip('"') if first else ""
    if not (_SUMMARY_RE.match(cell) or cell.startswith(_COMMENT)):
        return None
    return len(data) - len(tail) + cut + 1


def _read_delimited(data: bytes, name: str) -> ReadResult:
    notes: list[str] = []
    if not data[:65536].strip() and not data.strip():
        raise DataFormatError(f"{name!r} contains only blank lines. Check that the export finished.")
    text, encoding, _ = _decode_head(data, name)
    if encoding == "utf-16":
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{name!r} starts like UTF-16 text but cannot be decoded: {exc}.") from exc
        notes.append("The file was UTF-16 text (as Excel's 'Unicode text'); it was converted to UTF-8.")
        text, encoding, _ = _decode_head(data, name)
    start, skipped = _leading_comments(data)
    if skipped:
        text, encoding, _ = _decode_head(data[start : start + _SNIFF_BYTES], name)
    lines = [ln for ln in text.splitlines()[:_SNIFF_LINES] if ln.strip()]
    if not lines:
        raise DataFormatError(f"{name!r} has only comment lines (starting with '#' or '!'), no table.")
    if len(text) >= _SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the head may be cut
    delim = _sniff_delimiter(lines, name)
    if skipped:
        notes.append(
            f"{skipped} line(s) of comments or metadata at the top (starting with '#' or '!', as in GEO "
            "series matrix files) were skipped."
        )
    header = _split_fields(lines[0], delim)
    _check_header(header, name)
    decimal = "," if _decimal_comma(lines, delim) else "."
    if decimal == ",":
        notes.append("Numbers use a decimal comma (e.g. 1,5); they were read as such.")
    cut = _trailing_summary(data, delim, encoding)
    if cut is not None:
        dropped = data[cut:].decode(encoding, errors="replace").strip()
        notes.append(
            f"The last line looks like a summary or an end marker, not a sample ({dropped[:60]!r}); "
            "it was dropped."
        )
    buffer: bytes | memoryview = data
    if cut is not None or start:
        buffer = memoryview(data)[start : cut if cut is not None else len(data)]
    engine = "c"
    if len(data) >= PYARROW_MIN_BYTES and len(header) <= WIDE_COLUMNS and decimal == ".":
        engine = "pyarrow"
    df, engine, encoding = _parse_csv(buffer, name, delim, decimal, engine, encoding, notes)
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index(names="row_name" if df.index.name is None else str(df.index.name))
        notes.append(
            "The header has one name fewer than the rows (as R's write.table writes it); the first "
            "column was read as row names."
        )
    details = {
        "format": "delimited",
        "delimiter": delim,
        "encoding": encoding,
        "decimal": decimal,
        "engine": engine,
        "notes": notes,
    }
    return ReadResult(df, "delimited", details)


def _parse_csv(
    buffer: bytes | memoryview,
    name: str,
    delim: str,
    decimal: str,
    engine: str,
    encoding: str,
    notes: list[str],
) -> tuple[pd.DataFrame, str, str]:
    if engine == "pyarrow" and encoding == "utf-8":
        try:
            return pd.read_csv(io.BytesIO(buffer), sep=delim, engine="pyarrow"), engine, encoding
        except Exception:  # noqa: BLE001 - any pyarrow refusal: the C engine decides and explains
            pass
    engine = "c"
    tried = [encoding] + [e for e in ("cp1252", "latin-1") if e != encoding]
    for enc in tried:
        try:
            df = pd.read_csv(io.BytesIO(buffer), sep=delim, decimal=decimal, encoding=enc, engine="c")
        except UnicodeDecodeError:
            continue
        except pd.errors.ParserError as exc:
            raise _malformed(exc, name, delim) from exc
        except pd.errors.EmptyDataError as exc:
            raise DataFormatError(f"{name!r} has no columns to read. Check that it is a table.") from exc
        if enc != "utf-8":
            words = "Windows-1252" if enc == "cp1252" else "Latin-1"
            notes.append(
                f"The file is not UTF-8; it was read as {words} text (accented letters such as 'é' "
                "come out right). Save it as UTF-8 to be sure."
            )
        return df, engine, enc
    raise DataFormatError(f"{name!r} is text in an unknown encoding. Save it as UTF-8 and upload it again.")


def _malformed(exc: Exception, name: str, delim: str) -> DataFormatError:
    msg = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delim]
    if m:
        want, line, saw = m.groups()
        return DataFormatError(
            f"Line {line} of {name!r} has {saw} fields but the header has {want} (separator: {shown}). "
            "A value may contain the separator without quotes, or a row was pasted twice. Fix that "
            "line, or quote values that contain the separator."
        )
    return DataFormatError(f"{name!r} cannot be read as a {shown}-separated table: {msg}")


# ---------------------------------------------------------------------- Excel, Parquet, AnnData
def _read_excel(data: bytes, name: str, sheet: str | int | None) -> ReadResult:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise DataFormatError(
            f"{name!r} cannot be opened as an Excel workbook ({exc}). Save it again from Excel as .xlsx."
        ) from exc
    sheets = list(wb.sheetnames)
    wb.close()
    notes = []
    if sheet is None:
        chosen: str = sheets[0]
        if len(sheets) > 1:
            notes.append(f"The workbook has {len(sheets)} sheets {sheets}; the first, {chosen!r}, was read.")
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise DataFormatError(
                f"{name!r} has {len(sheets)} sheet(s) {sheets}; there is no sheet #{sheet}."
            )
        chosen = sheets[sheet]
    elif sheet in sheets:
        chosen = sheet
    else:
        raise DataFormatError(f"{name!r} has no sheet named {sheet!r}; its sheets are {sheets}.")
    head = pd.read_excel(io.BytesIO(data), sheet_name=chosen, header=None, nrows=1, engine="openpyxl")
    if head.empty:
        raise DataFormatError(f"The sheet {chosen!r} of {name!r} is empty.")
    _check_header(["" if pd.isna(v) else str(v) for v in head.iloc[0]], f"{name} [{chosen}]")
    df = pd.read_excel(io.BytesIO(data), sheet_name=chosen, header=0, engine="openpyxl")
    df = df.dropna(how="all").dropna(axis=1, how="all")
    if df.shape[0]:
        last = df.iloc[-1, 0]
        if isinstance(last, str) and _SUMMARY_RE.match(last):
            df = df.iloc[:-1]
            notes.append(f"The last row looks like a summary ({last!r}), not a sample; it was dropped.")
    return ReadResult(df.reset_index(drop=True), "xlsx", {"format": "xlsx", "sheet": chosen, "notes": notes})


def _read_parquet(data: bytes, name: str) -> ReadResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError(f"{name!r} cannot be read as Parquet ({exc}). Write it again.") from exc
    _check_header([str(n) for n in table.column_names], name)
    df = table.to_pandas()
    notes = []
    if not isinstance(df.index, pd.RangeIndex):
        label = df.index.name or "index"
        df = df.reset_index(names=str(label))
        notes.append(f"The stored index was turned into the column {label!r}.")
    return ReadResult(df, "parquet", {"format": "parquet", "notes": notes})


def _read_h5ad(data: bytes, name: str) -> ReadResult:
    import tempfile

    import anndata
    import numpy as np
    import scipy.sparse as sp

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.h5ad"
        path.write_bytes(data)
        try:
            adata = anndata.read_h5ad(path)
        except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise DataFormatError(
                f"{name!r} cannot be read as AnnData .h5ad ({exc}). Write it again with adata.write_h5ad()."
            ) from exc
    if adata.X is None:
        raise DataFormatError(f"{name!r} has no data matrix X. Store the measurements in X.")
    n_obs, n_vars = adata.shape
    if n_obs * n_vars > MAX_DENSE_CELLS:
        raise DataFormatError(
            f"{name!r} is {n_obs:,} x {n_vars:,}: too big to hold as a dense table. Select highly "
            "variable genes or aggregate cells (pseudo-bulk) first."
        )
    X = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    var_names = [str(v) for v in adata.var_names]
    try:
        _check_header(var_names, f"{name} (var_names)")
    except DataFormatError as exc:
        raise DataFormatError(
            f"{exc} In Python: adata.var_names_make_unique(), then write the file again."
        ) from exc
    df = pd.DataFrame(X, columns=var_names)
    obs = adata.obs.reset_index(drop=False)
    id_name = str(adata.obs.index.name or "obs_id")
    obs = obs.rename(columns={obs.columns[0]: id_name})
    clash = sorted(set(map(str, obs.columns)) & set(var_names))
    if clash:
        raise DataFormatError(
            f"In {name!r} the obs columns {clash[:10]} have the same names as genes/features (var_names). "
            "Rename the obs columns so each column of the table has its own name."
        )
    obs.columns = [str(c) for c in obs.columns]
    df = pd.concat([obs.reset_index(drop=True), df], axis=1)
    notes = [
        f"AnnData: {n_obs} observations (rows) x {n_vars} variables from X"
        + (" (sparse, made dense)" if sp.issparse(adata.X) else "")
        + f", plus {obs.shape[1] - 1} obs column(s) and the obs names as {id_name!r}."
    ]
    if adata.raw is not None or adata.layers:
        notes.append(
            "The file also holds "
            + " and ".join(
                x
                for x in (
                    ("adata.raw" if adata.raw is not None else ""),
                    (f"layers {list(adata.layers)}" if adata.layers else ""),
                )
                if x
            )
            + "; only X was read. If the model should see other values, store them in X."
        )
    return ReadResult(df, "h5ad", {"format": "h5ad", "notes": notes})


# ---------------------------------------------------------------------- normalisation
def _normalise(df: pd.DataFrame, name: str, notes: list[str]) -> pd.DataFrame:
    """String column names, no categoricals, no mixed-type object columns (Parquet-safe)."""
    names = [str(c).strip() for c in df.columns]
    if names != list(df.columns):
        _check_header(names, name)
        df.columns = names
    empty = [c for c in df.columns if c.startswith("Unnamed: ") and df[c].isna().all()]
    if empty:  # a trailing delimiter on every line makes a nameless, empty column
        df = df.drop(columns=empty)
        notes.append(f"{len(empty)} empty column(s) without a name were dropped (a trailing separator?).")
    odd = [
        c
        for c, t in df.dtypes.items()
        if pd.api.types.is_object_dtype(t) or isinstance(t, pd.CategoricalDtype)
    ]
    for col in odd:  # only these need a look: a wide numeric table has none
        s = df[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            df[col] = s.astype(object).where(s.notna(), None)
        elif s.dtype == object:
            kinds = {type(v) for v in s.dropna().head(10_000)}
            if len(kinds) > 1 and not kinds <= {int, float}:
                df[col] = s.map(lambda v: v if v is None or (isinstance(v, float) and v != v) else str(v))
                notes.append(f"The column {col!r} mixes text and numbers; its values were kept as text.")
    return df
