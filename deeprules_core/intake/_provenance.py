"""Where a dataset came from (Tip 4): the provenance record and its versions.

"Information such as the resource used, the date downloaded, and the version of the
dataset ... will allow for transparency during the publication process" (Lee et al.
2022, Tip 4). A saved record is never edited: a correction is a new version, and every
version stays readable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from ..errors import ForbiddenError, ProvenanceError, StoreError
from ..store import _schema as T
from ..study import utcnow

__all__ = [
    "Provenance",
    "ProvenanceVersion",
    "REQUIRED_FIELDS",
    "source_kind",
    "free_text_note",
    "add_provenance_version",
    "get_provenance",
    "provenance_history",
]

#: what the user must fill in, with a hint shown when it is missing
REQUIRED_FIELDS: dict[str, str] = {
    "source": "where the data came from: a URL, a DOI or an accession such as GSE2034",
    "version": "which release or version of the data (e.g. 'series matrix of 2021-03-01', 'v2')",
    "download_date": "the date you downloaded or received it (YYYY-MM-DD)",
    "licence": "the licence or terms of use (e.g. 'CC BY 4.0', 'data use agreement DUA-12')",
    "entered_by": "who entered this record (your name)",
}
#: fields deeprules computes from the bytes; the user cannot set them in a correction
COMPUTED_FIELDS = ("sha256", "size_bytes", "format", "n_rows", "n_columns", "files")

_URL = re.compile(r"^(https?|ftp|ftps|s3|gs|file)://\S+$", re.I)
_DOI = re.compile(r"^(doi:\s*|https?://(dx\.)?doi\.org/)?10\.\d{4,9}/\S+$", re.I)
# GEO, SRA/ENA/DDBJ, BioProject, ArrayExpress, dbGaP, EGA, PRIDE, TCGA projects, PDB, UniProt...
_ACCESSION = re.compile(
    r"^(G(SE|SM|DS|PL)\d+|[SED]R[APRSXZ]\d{5,}|PRJ[NED][A-Z]?\d+|SAM[NED][A-Z]?\d+|E-[A-Z]{4}-\d+|"
    r"phs\d{6}(\.v\d+\.p\d+)?|EGA[SDC]\d{11}|PXD\d{6}|TCGA-[A-Z0-9]+|[A-Z]{1,6}\d{3,}(\.\d+)?)$"
)
# "prefix:identifier", e.g. lab:EXP-2024-07, geo:GSE2034, hdl:20.500.1/abc, zenodo:123
_CURIE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{1,30}:[^\s:][^\s]*$")


def source_kind(source: str) -> str | None:
    """'url', 'doi', 'accession' or 'identifier' (prefix:id), or None when it is none of these."""
    s = source.strip()
    if _URL.match(s):
        return "url"
    if _DOI.match(s):
        return "doi"
    if _ACCESSION.match(s):
        return "accession"
    if _CURIE.match(s):
        return "identifier"
    return None


def free_text_note(source: str) -> str:
    """The note that asks for an accession when the source is a description, not an address."""
    return (
        f"The source {source!r} is a description, not an address anyone can follow. It is kept, but "
        "add the accession (e.g. 'GSE2034', 'E-MTAB-1234'), a DOI or a URL when you have it (Tip 4: "
        "others need it to find these exact data); for data made in your lab, an identifier such as "
        "'lab:EXP-2024-07'."
    )


def _as_date(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text[:10]).isoformat()
    except ValueError as exc:
        raise ProvenanceError(
            f"The download date {text!r} is not a date in the form YYYY-MM-DD (e.g. 2024-03-15)."
        ) from exc


@dataclass(frozen=True)
class Provenance:
    """Where a dataset came from. The first six fields are the user's; the rest are computed.

    Required: ``source``, ``version``, ``download_date``, ``licence``, ``entered_by``;
    a missing one raises :class:`ProvenanceError` naming it.

    Examples
    --------
    >>> p = Provenance(source="GSE2034", version="series matrix 2021-03-01",
    ...                download_date="2024-03-15", licence="public (GEO)", entered_by="A. Biologist")
    >>> p.source_kind
    'accession'
    >>> Provenance(source="GSE2034")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    deeprules_core.errors.ProvenanceError: The provenance record is missing: version ...
    """

    source: str = ""
    version: str = ""
    download_date: str = ""
    licence: str = ""
    description: str = ""
    entered_by: str = ""
    sha256: str | None = None
    size_bytes: int | None = None
    format: str | None = None
    n_rows: int | None = None
    n_columns: int | None = None
    files: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        for name in ("source", "version", "licence", "description", "entered_by"):
            object.__setattr__(self, name, str(getattr(self, name) or "").strip())
        missing = [
            f"{name} ({hint})"
            for name, hint in REQUIRED_FIELDS.items()
            if not str(getattr(self, name) or "").strip()
        ]
        if missing:
            raise ProvenanceError(
                "The provenance record is missing: "
                + "; ".join(missing)
                + ". Tip 4: without them nobody can find, cite or re-download these data."
            )
        day = _as_date(self.download_date)
        if date.fromisoformat(day) > date.today() + timedelta(days=1):  # one day of time-zone slack
            raise ProvenanceError(f"The download date {day} is in the future. Give the day you got the data.")
        object.__setattr__(self, "download_date", day)
        object.__setattr__(self, "files", tuple(dict(f) for f in self.files))

    @property
    def source_kind(self) -> str:
        """'url', 'doi', 'accession', 'identifier', or 'text' for a free-text description."""
        return source_kind(self.source) or "text"

    @property
    def source_note(self) -> str | None:
        """What to add when the source is free text (None when it can be looked up)."""
        return free_text_note(self.source) if self.source_kind == "text" else None

    def with_computed(self, **computed: Any) -> Provenance:
        """A copy with the computed fields (sha256, size, format, rows, columns) set."""
        unknown = set(computed) - set(COMPUTED_FIELDS)
        if unknown:
            raise ProvenanceError(f"{sorted(unknown)} are not computed provenance fields.")
        return replace(self, **computed)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["files"] = [dict(x) for x in self.files]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ProvenanceError(
                f"Unknown provenance field(s) {unknown}; the fields are {sorted(known - {'files'})}."
            )
        kw = dict(data)
        kw["files"] = tuple(kw.get("files") or ())
        return cls(**kw)


@dataclass(frozen=True)
class ProvenanceVersion:
    """One saved version of a dataset's provenance."""

    dataset_id: str
    version: int
    created_at: str
    provenance: Provenance


def _next_version(c: Any, dataset_id: str) -> int:
    have = c.execute(
        select(func.max(T.provenance.c.version)).where(T.provenance.c.dataset_id == dataset_id)
    ).scalar()
    return int(have or 0) + 1


def insert_provenance(c: Any, dataset_id: str, provenance: Provenance) -> int:
    """Append the next version inside an open transaction ``c``; return its number."""
    version = _next_version(c, dataset_id)
    c.execute(
        insert(T.provenance).values(
            dataset_id=dataset_id,
            version=version,
            created_at=utcnow(),
            record=json.dumps(provenance.to_dict(), sort_keys=True),
        )
    )
    return version


def _dataset_row(ws: Any, c: Any, dataset_id: str) -> Any:
    """The dataset's row, when the workspace's user may see it (else NotFoundError)."""
    return ws.check_dataset(c, dataset_id)


def add_provenance_version(ws: Any, dataset_id: str, provenance: Provenance) -> int:
    """Save a corrected provenance record as the next version; return the version number.

    The computed fields (sha256, size, format, rows, columns, files) are carried over
    from the previous version: a correction cannot change what the bytes are.
    """
    with ws.transaction() as c:
        row = _dataset_row(ws, c, dataset_id)
        if row.owner != ws.user.name and not ws.user.is_admin:
            raise ForbiddenError(
                f"Only the person who loaded the dataset ({row.owner}) or an admin can correct its "
                "provenance; ask them, or load your own copy of the file."
            )
        previous = _latest(c, dataset_id)
        if previous is not None:
            carried = {k: getattr(previous.provenance, k) for k in COMPUTED_FIELDS}
            provenance = provenance.with_computed(**carried)
        version = insert_provenance(c, dataset_id, provenance)
        ws.log_in(c, None, "provenance_version", {"dataset_id": dataset_id, "version": version})
    return version


def _latest(c: Any, dataset_id: str, version: int | None = None) -> ProvenanceVersion | None:
    q = select(T.provenance).where(T.provenance.c.dataset_id == dataset_id)
    if version is not None:
        q = q.where(T.provenance.c.version == version)
    row = c.execute(q.order_by(T.provenance.c.version.desc()).limit(1)).first()
    if row is None:
        return None
    return ProvenanceVersion(
        dataset_id, row.version, row.created_at, Provenance.from_dict(json.loads(row.record))
    )


def get_provenance(ws: Any, dataset_id: str, version: int | None = None) -> Provenance:
    """The latest provenance record of a dataset (or the given version)."""
    with ws.connect() as c:
        _dataset_row(ws, c, dataset_id)
        got = _latest(c, dataset_id, version)
    if got is None:
        which = f"version {version} of the" if version is not None else "a"
        raise StoreError(f"The dataset {dataset_id!r} has no {which} provenance record.")
    return got.provenance


def provenance_history(ws: Any, dataset_id: str) -> list[ProvenanceVersion]:
    """Every version of a dataset's provenance, oldest first."""
    with ws.connect() as c:
        _dataset_row(ws, c, dataset_id)
        rows = c.execute(
            select(T.provenance)
            .where(T.provenance.c.dataset_id == dataset_id)
            .order_by(T.provenance.c.version)
        ).all()
    return [
        ProvenanceVersion(dataset_id, r.version, r.created_at, Provenance.from_dict(json.loads(r.record)))
        for r in rows
    ]
