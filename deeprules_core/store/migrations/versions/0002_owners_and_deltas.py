"""Schema 2: owners and sharing, versions as deltas, steps as rows, same limits on every backend.

- ``studies.owner``, ``datasets.owner``, ``artifacts.owner``, ``jobs.owner``/``owner_role``,
  filled from the audit log (who created it) or else from the operating-system user that
  runs the upgrade; ``study_shares`` (viewer/editor) and ``study_datasets`` are new.
- A study's steps move to ``study_steps`` (one row each); ``studies.record`` keeps the rest.
  Versions saved from now on hold only what changed (``study_versions.delta``); the older
  rows keep their whole record and stay readable.
- User text is ``Text`` (PostgreSQL refused a study or file name over 300 characters);
  ``size_bytes`` is 64-bit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import getpass
import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def upgrade() -> None:
    op.create_table(
        "study_steps",
        sa.Column("study_id", sa.String(32), sa.ForeignKey("studies.id"), primary_key=True),
        sa.Column("pos", sa.Integer, primary_key=True),
        sa.Column("added_in", sa.Integer, primary_key=True),
        sa.Column("removed_in", sa.Integer, nullable=True),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_index("ix_study_steps_live", "study_steps", ["study_id", "removed_in"])
    op.create_table(
        "study_shares",
        sa.Column("study_id", sa.String(32), sa.ForeignKey("studies.id"), primary_key=True),
        sa.Column("grantee", sa.Text, primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.Text, nullable=False),
        sa.Column("granted_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_study_shares_grantee", "study_shares", ["grantee"])
    op.create_table(
        "study_datasets",
        sa.Column("study_id", sa.String(32), sa.ForeignKey("studies.id"), primary_key=True),
        sa.Column("dataset_id", sa.String(32), primary_key=True),
    )
    op.create_index("ix_study_datasets_dataset", "study_datasets", ["dataset_id"])
    with op.batch_alter_table("studies") as b:
        b.add_column(sa.Column("owner", sa.Text, nullable=True))
    with op.batch_alter_table("study_versions") as b:
        b.add_column(sa.Column("delta", sa.Text, nullable=True))
        b.add_column(sa.Column("actor", sa.Text, nullable=True))
        b.add_column(sa.Column("action", sa.Text, nullable=True))
    with op.batch_alter_table("datasets") as b:
        b.add_column(sa.Column("owner", sa.Text, nullable=True))
    with op.batch_alter_table("artifacts") as b:
        b.add_column(sa.Column("owner", sa.Text, nullable=True))
    with op.batch_alter_table("jobs") as b:
        b.add_column(sa.Column("owner", sa.Text, nullable=True))
        b.add_column(sa.Column("owner_role", sa.String(16), nullable=True))

    _move_data(op.get_bind())

    with op.batch_alter_table("studies") as b:
        b.alter_column("name", type_=sa.Text, existing_nullable=False)
        b.alter_column("owner", existing_type=sa.Text, nullable=False)
        b.create_index("ix_studies_owner", ["owner"])
    with op.batch_alter_table("study_versions") as b:
        b.alter_column("record", existing_type=sa.Text, nullable=True)
    with op.batch_alter_table("datasets") as b:
        b.alter_column("name", type_=sa.Text, existing_nullable=False)
        b.alter_column("size_bytes", type_=sa.BigInteger, existing_nullable=False)
        b.alter_column("owner", existing_type=sa.Text, nullable=False)
        b.create_index("ix_datasets_owner", ["owner"])
    with op.batch_alter_table("audit_log") as b:
        b.alter_column("actor", type_=sa.Text, existing_nullable=False)
    with op.batch_alter_table("artifacts") as b:
        b.alter_column("name", type_=sa.Text, existing_nullable=False)
    with op.batch_alter_table("jobs") as b:
        b.create_index("ix_jobs_owner", ["owner"])
    op.execute(sa.text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))


def _move_data(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    studies = sa.Table("studies", meta, autoload_with=conn)
    steps = sa.Table("study_steps", meta, autoload_with=conn)
    links = sa.Table("study_datasets", meta, autoload_with=conn)
    datasets = sa.Table("datasets", meta, autoload_with=conn)
    artifacts = sa.Table("artifacts", meta, autoload_with=conn)
    jobs = sa.Table("jobs", meta, autoload_with=conn)
    audit = sa.Table("audit_log", meta, autoload_with=conn)
    fallback = _os_user()

    # who made each study and dataset: the first audit entry that names it
    study_owner: dict[str, str] = {}
    dataset_owner: dict[str, str] = {}
    for r in conn.execute(
        sa.select(audit.c.study_id, audit.c.actor, audit.c.action, audit.c.detail).order_by(audit.c.id)
    ):
        if r.study_id and r.study_id not in study_owner:
            study_owner[r.study_id] = r.actor
        if r.action == "ingest_dataset":
            try:
                did = json.loads(r.detail or "{}").get("dataset_id")
            except ValueError:
                did = None
            if did and did not in dataset_owner:
                dataset_owner[did] = study_owner.get(r.study_id or "", r.actor)

    for st in conn.execute(sa.select(studies.c.id, studies.c.version, studies.c.record)).all():
        record = json.loads(st.record)
        owner = study_owner.get(st.id, fallback)
        for pos, step in enumerate(record.pop("steps", [])):
            conn.execute(
                sa.insert(steps).values(
                    study_id=st.id,
                    pos=pos,
                    added_in=st.version,
                    removed_in=None,
                    record=json.dumps(step, sort_keys=True),
                )
            )
        for did in dict.fromkeys(d["dataset_id"] for d in record.get("datasets", [])):
            conn.execute(sa.insert(links).values(study_id=st.id, dataset_id=did))
        conn.execute(
            sa.update(studies)
            .where(studies.c.id == st.id)
            .values(owner=owner, record=json.dumps(record, sort_keys=True))
        )
    for ds in conn.execute(sa.select(datasets.c.id)).all():
        conn.execute(
            sa.update(datasets).where(datasets.c.id == ds.id).values(owner=dataset_owner.get(ds.id, fallback))
        )
    for table in (artifacts, jobs):
        for row in conn.execute(sa.select(table.c.id, table.c.study_id)).all():
            values = {"owner": study_owner.get(row.study_id or "", fallback)}
            if table is jobs:
                values["owner_role"] = "user"
            conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))


def downgrade() -> None:
    raise NotImplementedError("deeprules does not downgrade a workspace; restore the backup instead.")
