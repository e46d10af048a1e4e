"""Tables of the workspace store (SQLAlchemy Core): the schema at Alembic's head.

Changes go through an Alembic revision in ``migrations/versions`` (a test checks that
the migrated database matches these declarations on SQLite and on PostgreSQL). User text
(names, file names, actors) is ``Text``, sizes are 64-bit, so both backends accept the same.

Who owns what: a study has an ``owner`` and may be shared (``study_shares``: viewer or
editor); datasets, artifacts and jobs carry the user who made them; the audit log names
the signed-in user. A study's record holds everything but its steps; each step is one
row of ``study_steps`` and each version one row of ``study_versions`` holding only what
that save changed (``delta``; rows written before schema 2 hold the whole ``record``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

#: bumped with each Alembic revision that changes the schema (kept in ``meta`` as well)
SCHEMA_VERSION = 4

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
    Column("name", Text, nullable=False),
    Column("owner", Text, nullable=False, index=True),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("record", Text, nullable=False),  # Study.to_dict() without "steps", as JSON
)

# one row per saved version: what that save changed (append-only; nothing is lost)
study_versions = Table(
    "study_versions",
    metadata,
    Column("study_id", String(32), ForeignKey("studies.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("saved_at", String(40), nullable=False),
    Column("record", Text, nullable=True),  # whole record: versions saved before schema 2
    Column("delta", Text, nullable=True),  # JSON {"set": {field: value}, "steps": {...}}
    Column("actor", Text, nullable=True),
    Column("action", Text, nullable=True),
)

# one row per step record; a step stays live until a save drops it (removed_in)
study_steps = Table(
    "study_steps",
    metadata,
    Column("study_id", String(32), ForeignKey("studies.id"), primary_key=True),
    Column("pos", Integer, primary_key=True),
    Column("added_in", Integer, primary_key=True),
    Column("removed_in", Integer, nullable=True),
    Column("record", Text, nullable=False),  # StepRecord as JSON
    Index("ix_study_steps_live", "study_id", "removed_in"),
)

study_shares = Table(
    "study_shares",
    metadata,
    Column("study_id", String(32), ForeignKey("studies.id"), primary_key=True),
    Column("grantee", Text, primary_key=True),
    Column("role", String(16), nullable=False),  # viewer editor
    Column("granted_by", Text, nullable=False),
    Column("granted_at", String(40), nullable=False),
    Index("ix_study_shares_grantee", "grantee"),
)

# which datasets a study uses: a dataset is visible to whoever may see such a study
study_datasets = Table(
    "study_datasets",
    metadata,
    Column("study_id", String(32), ForeignKey("studies.id"), primary_key=True),
    Column("dataset_id", String(32), primary_key=True),
    Index("ix_study_datasets_dataset", "dataset_id"),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("name", Text, nullable=False),  # the name the user gave the file (display only)
    Column("owner", Text, nullable=False, index=True),
    Column("format", String(32), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
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
    Column("actor", Text, nullable=False),
    Column("action", String(100), nullable=False),
    Column("detail", Text, nullable=False, default="{}"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(32), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("meta", Text, nullable=False, default="{}"),
    Column("owner", Text, nullable=True),
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
    Column("owner", Text, nullable=True, index=True),  # the user who submitted it; it runs as them
    Column("owner_role", String(16), nullable=True),
    # schema 4 (jobs at lab scale): fencing, the fair queue, executors
    Column("attempt", String(32), nullable=True),  # token of the one attempt allowed to write
    Column("queued_at", String(40), nullable=True),  # microsecond time: the queue's order
    Column("executor", String(16), nullable=True),  # local | slurm | inline (run in-process)
    Column("external_id", String(64), nullable=True),  # the SLURM job id
    Column("host", Text, nullable=True),  # machine of a local job's process
    # at most one queued or running job per study and step: a second submission finds the first
    Index(
        "ux_jobs_active_step",
        "study_id",
        "kind",
        unique=True,
        sqlite_where=text("status IN ('queued', 'running')"),
        postgresql_where=text("status IN ('queued', 'running')"),
    ),
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

# Schema 3 (Alembic revision 0003). The findings ledger (one study, one truth): every finding every step recorded, with the
# step, the inputs' hashes and the time. A re-run of a step supersedes that step's earlier
# rows (superseded_at is set; rows are never deleted), so the current findings of a study
# are the rows with superseded_at NULL.
findings_ledger = Table(
    "findings_ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(32), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("run_id", String(32), nullable=False),  # one per record_findings call
    Column("finding_key", String(400), nullable=False),  # Finding.key: "code:col1,col2"
    Column("code", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("tip", Integer, nullable=False),
    Column("finding", Text, nullable=False),  # Finding.to_dict() as JSON
    Column("input_hashes", Text, nullable=False, default="{}"),
    Column("recorded_at", String(40), nullable=False),
    Column("superseded_at", String(40), nullable=True),
)

# A user's written justification for leaving a finding as it is. It names the ledger row
# it was given on and the finding's key, so it still holds when a re-run of the step
# records the same finding again.
finding_acknowledgements = Table(
    "finding_acknowledgements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", String(32), nullable=False, index=True),
    Column("ledger_id", Integer, ForeignKey("findings_ledger.id"), nullable=True),
    Column("finding_key", String(400), nullable=False),
    Column("justification", Text, nullable=False),
    Column("who", String(200), nullable=False),
    Column("at", String(40), nullable=False),
)
