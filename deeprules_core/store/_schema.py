"""Tables of the workspace store (SQLAlchemy Core).

The schema is versioned in the ``meta`` table. New versions only add tables or
nullable columns, through :data:`MIGRATIONS`, so a user's studies survive upgrades.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

SCHEMA_VERSION = 1

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

studies = Table(
    "studies",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("record", Text, nullable=False),  # Study.to_dict() as JSON
)

# every saved version of every study (append-only): nothing a user did is lost
study_versions = Table(
    "study_versions",
    metadata,
    Column("study_id", String(32), ForeignKey("studies.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("saved_at", String(40), nullable=False),
    Column("record", Text, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("name", String(300), nullable=False),  # the name the user gave the file (display only)
    Column("format", String(32), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("n_rows", Integer, nullable=False),
    Column("n_columns", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("details", Text, nullable=False, default="{}"),  # JSON: parse options, join report...
)

# provenance is versioned: a correction is a new row, a saved row is never updated
provenance = Table(
    "provenance",
    metadata,
    Column("dataset_id", String(32), ForeignKey("datasets.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("record", Text, nullable=False),  # JSON of the Provenance record
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("study_id", String(32), nullable=True, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(32), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("meta", Text, nullable=False, default="{}"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("study_id", String(32), nullable=True, index=True),
    Column("kind", String(64), nullable=False),
    Column("params", Text, nullable=False),
    Column("status", String(16), nullable=False),  # queued running done failed cancelled
    Column("progress", Float, nullable=False, default=0.0),
    Column("message", Text, nullable=False, default=""),
    Column("result", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("pid", Integer, nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("started_at", String(40), nullable=True),
    Column("finished_at", String(40), nullable=True),
    Column("heartbeat_at", String(40), nullable=True),
    Column("cancel_requested", Boolean, nullable=False, default=False),
)

test_set_log = Table(
    "test_set_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(32), nullable=False, index=True),
    Column("split_sha256", String(64), nullable=False),
    Column("at", String(40), nullable=False),
    Column("purpose", Text, nullable=False),
    Column("unlock_reason", Text, nullable=True),
)

#: version -> tables that version introduced (create_all adds only missing tables)
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: tuple(metadata.tables),
}
