"""Delimited text (CSV, TSV, semicolon, pipe...): sniffing, the fast path, clear errors.

The bytes are read once; the encoding and the delimiter are sniffed from the head; the
parser engine is chosen by shape (pyarrow's threaded reader for big, narrow files,
pandas' C engine for wide ones, where pyarrow is several times slower).
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..errors import DataFormatError
from ._memory import check_memory
from ._meter import ByteMeter, MeteredBytes

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


@dataclass
class ReadResult:
    """A parsed table and how it was read (``details`` is JSON-able)."""

    df: pd.DataFrame
    format: str
    details: dict[str, Any] = field(default_factory=dict)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
#: more than this share of control characters in the head: binary data, not text
_MAX_CONTROL_SHARE = 0.01
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def _wide_encoding(data: bytes) -> tuple[str, int] | None:
    """UTF-16 or UTF-32 text, with or without a byte-order mark: (codec, BOM length)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    head = data[:4096]
    n = len(head) - len(head) % 4
    if n < 8:
        return None
    zeros = [head[k:n:4].count(0) / (n // 4) for k in range(4)]
    if zeros[1] > 0.9 and zeros[2] > 0.9 and zeros[3] > 0.9 and zeros[0] < 0.1:
        return "utf-32-le", 0
    if zeros[0] > 0.9 and zeros[1] > 0.9 and zeros[2] > 0.9 and zeros[3] < 0.1:
        return "utf-32-be", 0
    odd, even = (zeros[1] + zeros[3]) / 2, (zeros[0] + zeros[2]) / 2
    if odd > 0.7 and even < 0.1:
        return "utf-16-le", 0
    if even > 0.7 and odd < 0.1:
        return "utf-16-be", 0
    return None


def _binary(name: str) -> DataFormatError:
    return DataFormatError(
        f"{name!r} is named like a text table but contains binary data. It may be a spreadsheet, "
        "an archive, an image or a damaged download: open it and export the table as CSV."
    )


def _transcode(data: bytes, name: str) -> tuple[bytes, list[str]]:
    """UTF-16/32 text becomes UTF-8 (the parsers read that); other bytes are returned as they are."""
    wide = _wide_encoding(data)
    if wide is None:
        return data, []
    codec, bom = wide
    try:
        text = data[bom:].decode(codec)
    except UnicodeDecodeError as exc:
        raise DataFormatError(
            f"{name!r} looks like {codec.upper()} text but cannot be decoded at byte {exc.start:,}. "
            "Save it again as UTF-8 (in Excel: 'CSV UTF-8')."
        ) from exc
    note = f"The file was {codec.upper()} text (as Excel's 'Unicode text'); it was converted to UTF-8."
    return text.encode("utf-8"), [note]


def _decode_head(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """Decode the head of the file: (text, encoding, notes). Binary data is refused."""
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head[:8192]:
        raise _binary(name)
    try:
        text, encoding = head.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the head
            text, encoding = head.decode("cp1252", errors="replace"), "cp1252"
        else:
            text, encoding = head[: exc.start].decode("utf-8"), "utf-8"
    sample = text[:65536]
    if sample and len(_CONTROL_RE.findall(sample)) > _MAX_CONTROL_SHARE * len(sample):
        raise _binary(name)
    return text.lstrip("\ufeff"), encoding, []


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


def _read_delimited(data: bytes, name: str, meter: ByteMeter | None = None) -> ReadResult:
    notes: list[str] = []
    if not data[:65536].strip() and not data.strip():
        raise DataFormatError(f"{name!r} contains only blank lines. Check that the export finished.")
    data, notes = _transcode(data, name)
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
    n_lines = data.count(b"\n") + 1 - skipped
    check_memory(
        n_lines * len(header) * 8,
        name,
        f"about {n_lines:,} rows x {len(header):,} columns",
        "Remove the rows or columns you do not need, or split the table.",
    )
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
    df, engine, encoding = _parse_csv(buffer, name, delim, decimal, engine, encoding, notes, meter)
    if df.index.nlevels > 1:  # rows with several fields more than the header has names
        raise DataFormatError(
            f"The rows of {name!r} have {df.index.nlevels + df.shape[1]} fields but the header has "
            f"{df.shape[1]} name(s) (separator: {_SHOWN[delim]}). Give every column a name in the first line."
        )
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
    meter: ByteMeter | None = None,
) -> tuple[pd.DataFrame, str, str]:
    """Parse the table; ``meter`` hears how far the parser has read (upload progress)."""
    if engine == "pyarrow" and encoding == "utf-8":
        try:
            return pd.read_csv(MeteredBytes(buffer, meter), sep=delim, engine="pyarrow"), engine, encoding
        except Exception:  # noqa: BLE001 - any pyarrow refusal: the C engine decides and explains
            pass
    engine = "c"
    tried = [encoding] + [e for e in ("cp1252", "latin-1") if e != encoding]
    for enc in tried:
        try:
            df = pd.read_csv(
                MeteredBytes(buffer, meter), sep=delim, decimal=decimal, encoding=enc, engine="c"
            )
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


_SHOWN = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}


def _malformed(exc: Exception, name: str, delim: str) -> DataFormatError:
    msg = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    shown = _SHOWN[delim]
    if m:
        want, line, saw = m.groups()
        return DataFormatError(
            f"Line {line} of {name!r} has {saw} fields but the header has {want} (separator: {shown}). "
            "A value may contain the separator without quotes, or a row was pasted twice. Fix that "
            "line, or quote values that contain the separator."
        )
    return DataFormatError(f"{name!r} cannot be read as a {shown}-separated table: {msg}")
