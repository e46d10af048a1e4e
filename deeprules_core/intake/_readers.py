"""Read one table from bytes or a path: delimited text, Excel, Parquet, AnnData.

Every reader returns a :class:`ReadResult`: the table plus ``details`` (format, delimiter,
encoding, engine, and notes about anything deeprules changed, such as a dropped summary
line). Anything that cannot be read raises :class:`~deeprules_core.errors.DataFormatError`
with a message that says what to fix. Big numeric CSV files take a fast path (see
:mod:`._delimited`); the bytes are hashed in a thread while they are parsed
(:func:`read_and_hash`).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataFormatError, one_line, quote
from ._delimited import ReadResult, _check_header, _read_delimited
from ._formats import _read_excel, _read_h5ad, _read_parquet
from ._meter import ByteMeter, follow

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "ReadResult",
    "max_upload_bytes",
    "parse_table",
    "read_table",
    "detect_format",
    "read_and_hash",
    "workbook_sheets",
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

_MAGIC = (
    (b"PK\x03\x04", "xlsx", "an Excel workbook (or another zip archive)"),
    (b"PAR1", "parquet", "a Parquet file"),
    (b"\x89HDF\r\n\x1a\n", "h5ad", "an HDF5 file (such as AnnData .h5ad)"),
    (b"\xd0\xcf\x11\xe0", "xls", "an old-style Excel .xls workbook"),
    (b"%PDF", "pdf", "a PDF document"),
    (b"\x89PNG", "png", "a PNG image"),
    (b"\xff\xd8\xff", "jpeg", "a JPEG image"),
)


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
    lower = _strip_compression(name).lower()
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


_COMPRESSED = (
    (b"\x1f\x8b", "gzip", ".gz"),
    (b"BZh", "bz2", ".bz2"),
    (b"\xfd7zXZ\x00", "xz", ".xz"),
)
_COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz", ".zip")


def _strip_compression(name: str) -> str:
    lower = name.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _inflate(stream: Any, name: str, words: str) -> bytes:
    """Read a decompressing stream to its end, refusing more than the size limit."""
    limit = max_upload_bytes()
    out = io.BytesIO()
    try:
        while block := stream.read(1 << 24):
            out.write(block)
            if out.tell() > limit:
                raise DataFormatError(
                    f"{quote(name)} is {words}-compressed and grows to more than {limit / 2**20:,.0f} MB "
                    "uncompressed, over the size limit (DEEPRULES_MAX_UPLOAD_MB). Remove rows or columns "
                    "you do not need, or save it as Parquet."
                )
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, lzma.LZMAError) as exc:
        raise DataFormatError(
            f"{quote(name)} is a damaged {words} file ({one_line(str(exc), 120)}). Download or export it again."
        ) from exc
    return out.getvalue()


def _is_workbook(z: zipfile.ZipFile) -> bool:
    names = set(z.namelist())
    return "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names)


def _decompress(data: bytes, name: str) -> tuple[bytes, str, list[str]]:
    """Undo gzip/bz2/xz/zip compression, told by the first bytes whatever the name says:
    (bytes, the name of what is inside, notes). Other bytes come back as they are."""
    for magic, words, _suffix in _COMPRESSED:
        if data.startswith(magic):
            raw = io.BytesIO(data)
            stream: Any = (
                gzip.GzipFile(fileobj=raw)
                if words == "gzip"
                else bz2.BZ2File(raw)
                if words == "bz2"
                else lzma.LZMAFile(raw)
            )
            with stream:
                inner = _inflate(stream, name, words)
            return inner, _strip_compression(name), [f"The file was {words}-compressed; it was decompressed."]
    if data.startswith(b"PK\x03\x04") and not name.lower().endswith((".xlsx", ".xlsm")):
        try:
            z = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise DataFormatError(f"{quote(name)} is a damaged zip archive ({exc}).") from exc
        if _is_workbook(z):
            return data, name, []
        members = [i for i in z.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        if len(members) != 1:
            shown = ", ".join(quote(m.filename, 40) for m in members[:8]) or "nothing"
            raise DataFormatError(
                f"{quote(name)} is a zip archive holding {len(members)} files ({shown}). Upload the one "
                "table itself (unzip the archive first)."
            )
        member = members[0]
        with z.open(member) as member_stream:
            inner = _inflate(member_stream, name, "zip")
        inner_name = _strip_compression(name)
        if Path(inner_name.lower()).suffix not in SUPPORTED_EXTENSIONS:
            inner_name = Path(member.filename).name
        return (
            inner,
            inner_name,
            [f"The file was a zip archive; {quote(member.filename, 40)} was read from it."],
        )
    if name.lower().endswith(_COMPRESSED_SUFFIXES):
        raise DataFormatError(
            f"{quote(name)} is named like a compressed file but is not compressed. Remove the "
            f"{Path(name).suffix} from the name."
        )
    return data, name, []


def display_name(name: str) -> str:
    """The file name as messages show it: no control characters, at most about 60
    characters (the extension is kept, so the format can still be told)."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in Path(name.replace("\\", "/")).name or name)
    if len(clean) > 60:
        clean = clean[:30] + "…" + clean[-25:]
    return clean


# ---------------------------------------------------------------------- public entry points
def workbook_sheets(data: bytes, name: str) -> list[str]:
    """The sheet names of an Excel workbook, in order; ``[]`` for any other file (a picker
    needs them: a workbook with several sheets is read only once one is chosen)."""
    from ._formats import excel_sheets

    if not data.startswith(b"PK\x03\x04"):
        return []
    try:
        if not _is_workbook(zipfile.ZipFile(io.BytesIO(data))):
            return []
    except zipfile.BadZipFile:
        return []
    return excel_sheets(data, display_name(name))


def parse_table(
    source: bytes | str | os.PathLike[str],
    *,
    name: str | None = None,
    sheet: str | int | None = None,
    meter: ByteMeter | None = None,
) -> ReadResult:
    """Read a table and tell how it was read. See :func:`read_table`. ``meter`` hears how
    far the parser has read a delimited file, or decoded a Parquet one (the upload's
    progress)."""
    if name is None:
        if isinstance(source, bytes | bytearray | memoryview):
            raise DataFormatError("Give the file's name (name=...) so its format can be told.")
        name = Path(source).name
    name = display_name(name)
    data = _load_source(source, name)
    if not data:
        raise DataFormatError(f"{name!r} is empty (0 bytes). Check that the export or download finished.")
    data, name, notes = _decompress(data, name)
    if not data:
        raise DataFormatError(f"{name!r} is empty once decompressed. Check that the export finished.")
    fmt = detect_format(name, data)
    if fmt == "delimited":
        res = _read_delimited(data, name, meter)
    elif fmt == "xlsx":
        res = _read_excel(data, name, sheet)
    elif fmt == "parquet":
        res = _read_parquet(data, name, meter)
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
    source: bytes | str | os.PathLike[str],
    *,
    name: str | None = None,
    sheet: str | int | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[ReadResult, bytes, str]:
    """Read the bytes once, hash them and parse them: (result, the exact bytes, sha256).

    The hash runs in a thread while the table is parsed (both release the GIL), so on a
    machine with two cores or more it costs next to nothing. ``progress(fraction)``: the
    fraction of a delimited file parsed (or of a Parquet file decoded) so far, increasing,
    called from this thread (the parse then runs in a second thread); Excel and h5ad report
    when they are read.
    """
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    if name is None and not isinstance(source, bytes | bytearray | memoryview):
        name = Path(source).name
    data = _load_source(source, name or "table")
    with ThreadPoolExecutor(max_workers=2) as pool:
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        if progress is None:
            res = parse_table(data, name=name, sheet=sheet)
        else:
            meter = ByteMeter()
            res = follow(pool.submit(parse_table, data, name=name, sheet=sheet, meter=meter), meter, progress)
        return res, data, digest.result()


# ---------------------------------------------------------------------- normalisation
_NESTED = (list, tuple, dict, set, np.ndarray)


def _as_text(v: Any) -> Any:
    """A nested value (Parquet list or struct) as JSON text; missing values stay missing."""
    import json

    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, _NESTED):
        return json.dumps(v, default=lambda x: x.tolist() if isinstance(x, np.ndarray) else str(x))
    return str(v)


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
            if any(issubclass(k, _NESTED) for k in kinds):
                df[col] = s.map(_as_text)
                notes.append(
                    f"The column {col!r} holds lists or records (nested values); they were kept as text."
                )
            elif len(kinds) > 1 and not kinds <= {int, float}:
                df[col] = s.map(lambda v: v if v is None or (isinstance(v, float) and v != v) else str(v))
                notes.append(f"The column {col!r} mixes text and numbers; its values were kept as text.")
    return df
