"""Put a dataset into the workspace: exact bytes by sha256, a Parquet cache, a provenance record.

All or nothing: the table is parsed and checked before anything is written, and if the
database step fails, the cache file and any blob written for it are removed again.
"""

from __future__ import annotations

import errno
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from ..errors import DataFormatError, DeepRulesError, from_os_error, one_line
from ..findings import to_jsonable
from ..store import _schema as T
from ..study import DatasetRef, Study, utcnow
from ._cache import read_cache, write_cache
from ._join import JoinReport, Orientation, join_matrix_and_sheet
from ._provenance import Provenance, _dataset_row, _latest, insert_provenance
from ._readers import _check_size, parse_table, read_and_hash

__all__ = ["DatasetInfo", "ingest", "ingest_pair", "load_dataset", "dataset_info", "list_datasets"]

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset in the store: what it is, not the table itself."""

    id: str
    sha256: str
    name: str
    format: str
    size_bytes: int
    n_rows: int
    n_columns: int
    created_at: str
    details: Mapping[str, Any] = field(default_factory=dict)
    provenance_version: int = 1

    @property
    def notes(self) -> list[str]:
        """What deeprules noticed or changed while reading (dropped summary line, encoding...)."""
        return list(self.details.get("read", {}).get("notes", []))

    @property
    def join_report(self) -> JoinReport | None:
        rep = self.details.get("join")
        return JoinReport.from_dict(rep) if rep else None

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(
            dataset_id=self.id, sha256=self.sha256, name=self.name, provenance_version=self.provenance_version
        )


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


def _cache_file(ws: Any, dataset_id: str) -> Any:
    return ws.cache_path(f"dataset-{dataset_id}")


def _write_cache(
    ws: Any, dataset_id: str, df: pd.DataFrame, progress: Callable[[float], None] | None = None
) -> None:
    import pyarrow as pa

    from .._files import atomic_replace

    path = _cache_file(ws, dataset_id)
    try:
        with atomic_replace(path) as tmp:  # a full disk leaves no partial file behind
            write_cache(df, tmp, progress=progress)
    except DeepRulesError:
        raise
    except (pa.ArrowException, ValueError, TypeError) as exc:
        if isinstance(exc, OSError):  # pyarrow's IO errors are OSErrors too
            raise from_os_error(exc, path.parent) from exc
        raise DataFormatError(f"The table cannot be cached as Parquet: {one_line(str(exc), 200)}.") from exc


def _store(
    ws: Any,
    *,
    df: pd.DataFrame,
    blobs: list[bytes],
    sha256: str,
    name: str,
    fmt: str,
    details: dict[str, Any],
    provenance: Provenance,
    study: Study | None,
    files: tuple[dict[str, Any], ...],
    progress: Progress | None = None,
) -> tuple[Study | None, DatasetInfo]:
    report = progress or (lambda _f, _m: None)
    if study is not None and study.version:
        ws.access(study.id, "edit")  # a viewer's upload is refused before anything is stored
    dataset_id = _new_id()
    size = sum(len(b) for b in blobs)
    full = provenance.with_computed(
        sha256=sha256,
        size_bytes=size,
        format=fmt,
        n_rows=int(df.shape[0]),
        n_columns=int(df.shape[1]),
        files=files,
    )
    created: list[str] = []
    now = utcnow()
    try:
        for b in blobs:
            sha = hashlib.sha256(b).hexdigest()
            if not ws.blob_path(sha).exists():
                ws.put_blob(b)
                created.append(sha)
        report(0.75, "caching the table for fast reopening")
        _write_cache(ws, dataset_id, df, progress=lambda f: report(0.75 + 0.2 * f, "caching the table"))
        report(0.95, "recording the dataset and its provenance")
        with ws.transaction() as c:
            c.execute(
                insert(T.datasets).values(
                    id=dataset_id,
                    sha256=sha256,
                    name=name,
                    owner=ws.user.name,
                    format=fmt,
                    size_bytes=size,
                    n_rows=int(df.shape[0]),
                    n_columns=int(df.shape[1]),
                    created_at=now,
                    details=json.dumps(to_jsonable(details), sort_keys=True),
                )
            )
            version = insert_provenance(c, dataset_id, full)
            ws.log_in(
                c,
                study.id if study is not None else None,
                "ingest_dataset",
                {"dataset_id": dataset_id, "name": name, "sha256": sha256, "rows": df.shape[0]},
                actor=provenance.entered_by,
            )
    except BaseException as exc:
        path = _cache_file(ws, dataset_id)
        if path.exists():
            path.unlink()
        for sha in created:
            ws.blob_path(sha).unlink(missing_ok=True)
        if isinstance(exc, OperationalError) and "full" in str(exc.orig).lower():
            raise from_os_error(OSError(errno.ENOSPC, "No space left on device"), ws.home) from exc
        if isinstance(exc, OSError):
            raise from_os_error(exc, ws.home) from exc
        raise
    info = DatasetInfo(
        id=dataset_id,
        sha256=sha256,
        name=name,
        format=fmt,
        size_bytes=size,
        n_rows=int(df.shape[0]),
        n_columns=int(df.shape[1]),
        created_at=now,
        details=details,
        provenance_version=version,
    )
    return (study.with_dataset(info.ref) if study is not None else None), info


def ingest(
    ws: Any,
    data: bytes,
    *,
    name: str,
    provenance: Provenance,
    study: Study | None = None,
    sheet: str | int | None = None,
    progress: Progress | None = None,
) -> tuple[Study | None, DatasetInfo]:
    """Store a file's exact bytes, parse it, cache the table and record its provenance.

    Parameters
    ----------
    ws : Workspace
    data : bytes
        The file's exact bytes (stored under their sha256).
    name : str
        The file's name as the user gave it (its extension tells the format).
    provenance : Provenance
        The user's record; sha256, size, format, rows and columns are filled in here.
    study : Study, optional
        When given, the returned study has the dataset attached (the caller saves it).
    sheet : str or int, optional
        The Excel sheet to read.

    Returns
    -------
    (Study or None, DatasetInfo)

    Raises
    ------
    DataFormatError, ProvenanceError
        Nothing is written to the store when the file cannot be read.
    """
    report = progress or (lambda _f, _m: None)
    if not isinstance(provenance, Provenance):
        raise TypeError("provenance must be a Provenance record")
    _check_size(len(data), name)
    report(0.05, f"reading {name}")
    mb = len(data) / 2**20

    def parsed(frac: float) -> None:  # the bytes the parser has read, as they come
        report(min(0.7, 0.05 + 0.65 * frac), f"reading {name} ({frac * mb:,.1f} of {mb:,.1f} MB)")

    res, _, sha = read_and_hash(data, name=name, sheet=sheet, progress=parsed)
    report(0.7, "storing the file's exact bytes")
    details = {
        "read": res.details,
        "parse": {"kind": "single", "sha256": sha, "name": name, "sheet": sheet},
    }
    files = ({"role": "table", "name": name, "sha256": sha, "size_bytes": len(data)},)
    out = _store(
        ws,
        df=res.df,
        blobs=[data],
        sha256=sha,
        name=name,
        fmt=res.format,
        details=details,
        provenance=provenance,
        study=study,
        files=files,
        progress=report,
    )
    report(1.0, "done")
    return out


def ingest_pair(
    ws: Any,
    matrix: bytes,
    sample_sheet: bytes,
    *,
    matrix_name: str,
    sheet_name: str,
    provenance: Provenance,
    study: Study | None = None,
    id_column: str | None = None,
    orientation: Orientation = "auto",
) -> tuple[Study | None, DatasetInfo]:
    """Ingest the two-file layout (matrix + sample sheet) as one dataset.

    Both files are stored by sha256; the dataset's ``sha256`` is the hash of the two
    hashes (matrix first), and the provenance lists each file. The join report is kept in
    the dataset's details (:attr:`DatasetInfo.join_report`).
    """
    _check_size(len(matrix) + len(sample_sheet), f"{matrix_name} + {sheet_name}")
    m = parse_table(matrix, name=matrix_name)
    s = parse_table(sample_sheet, name=sheet_name)
    df, rep = join_matrix_and_sheet(
        m.df,
        s.df,
        id_column=id_column,
        orientation=orientation,
        matrix_name=matrix_name,
        sheet_name=sheet_name,
    )
    m_sha = hashlib.sha256(matrix).hexdigest()
    s_sha = hashlib.sha256(sample_sheet).hexdigest()
    sha = hashlib.sha256(f"{m_sha}\n{s_sha}".encode()).hexdigest()
    details = {
        "read": {
            "format": "matrix+sample_sheet",
            "matrix": m.details,
            "sample_sheet": s.details,
            "notes": list(m.details.get("notes", [])) + list(s.details.get("notes", [])),
        },
        "parse": {
            "kind": "pair",
            "matrix_sha256": m_sha,
            "sheet_sha256": s_sha,
            "matrix_name": matrix_name,
            "sheet_name": sheet_name,
            "id_column": rep.id_column,
            "orientation": rep.orientation,
        },
        "join": rep.to_dict(),
    }
    files = (
        {"role": "matrix", "name": matrix_name, "sha256": m_sha, "size_bytes": len(matrix)},
        {"role": "sample_sheet", "name": sheet_name, "sha256": s_sha, "size_bytes": len(sample_sheet)},
    )
    return _store(
        ws,
        df=df,
        blobs=[matrix, sample_sheet],
        sha256=sha,
        name=f"{matrix_name} + {sheet_name}",
        fmt="matrix+sample_sheet",
        details=details,
        provenance=provenance,
        study=study,
        files=files,
    )


def _reparse(ws: Any, parse: Mapping[str, Any]) -> pd.DataFrame:
    if parse.get("kind") == "pair":
        m = parse_table(ws.get_blob(parse["matrix_sha256"]), name=parse["matrix_name"])
        s = parse_table(ws.get_blob(parse["sheet_sha256"]), name=parse["sheet_name"])
        df, _ = join_matrix_and_sheet(
            m.df, s.df, id_column=parse["id_column"], orientation=parse["orientation"]
        )
        return df
    return parse_table(ws.get_blob(parse["sha256"]), name=parse["name"], sheet=parse.get("sheet")).df


def load_dataset(ws: Any, dataset_id: str) -> pd.DataFrame:
    """The parsed table of a dataset, from its Parquet cache (re-parsed from the stored
    bytes, and cached again, when the cache is missing)."""
    with ws.connect() as c:
        row = _dataset_row(ws, c, dataset_id)  # the cache is the dataset's: same access
    path = _cache_file(ws, dataset_id)
    if path.exists():
        return read_cache(path)
    df = _reparse(ws, json.loads(row.details)["parse"])
    _write_cache(ws, dataset_id, df)
    return df


def _info(row: Any, version: int) -> DatasetInfo:
    return DatasetInfo(
        id=row.id,
        sha256=row.sha256,
        name=row.name,
        format=row.format,
        size_bytes=row.size_bytes,
        n_rows=row.n_rows,
        n_columns=row.n_columns,
        created_at=row.created_at,
        details=json.loads(row.details or "{}"),
        provenance_version=version,
    )


def dataset_info(ws: Any, dataset_id: str) -> DatasetInfo:
    """What the store knows about a dataset (with its latest provenance version)."""
    with ws.connect() as c:
        row = _dataset_row(ws, c, dataset_id)
        latest = _latest(c, dataset_id)
    return _info(row, latest.version if latest else 0)


def list_datasets(ws: Any) -> list[DatasetInfo]:
    """Every dataset this user may see (own ones and those of studies they may open), newest first."""
    with ws.connect() as c:
        rows = c.execute(
            select(T.datasets).where(ws.visible_datasets()).order_by(T.datasets.c.created_at.desc())
        ).all()
        out = []
        for r in rows:
            latest = _latest(c, r.id)
            out.append(_info(r, latest.version if latest else 0))
    return out
