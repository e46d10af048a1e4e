"""Schema 4: jobs at lab scale (fenced attempts, a fair queue, SLURM).

- ``jobs.attempt``: the token of the one attempt that may write to the job;
  ``jobs.queued_at`` (microseconds, the queue's order), ``jobs.executor`` (local, slurm,
  inline), ``jobs.external_id`` (the SLURM job id), ``jobs.host`` (a local job's machine).
- A unique partial index on ``(study_id, kind)`` over queued and running jobs: one job per
  study and step at a time. Older duplicates still queued or running are failed first
  (they are from before the queue, and their processes are long gone after an upgrade).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as b:
        b.add_column(sa.Column("attempt", sa.String(32), nullable=True))
        b.add_column(sa.Column("queued_at", sa.String(40), nullable=True))
        b.add_column(sa.Column("executor", sa.String(16), nullable=True))
        b.add_column(sa.Column("external_id", sa.String(64), nullable=True))
        b.add_column(sa.Column("host", sa.Text, nullable=True))
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            f"SELECT id, study_id, kind FROM jobs WHERE study_id IS NOT NULL AND {ACTIVE} ORDER BY created_at DESC"
        )
    ).all()
    seen: set[tuple[str, str]] = set()
    for job_id, study_id, kind in rows:
        if (study_id, kind) in seen:
            conn.execute(
                sa.text("UPDATE jobs SET status = 'failed', error = :error WHERE id = :id"),
                {
                    "id": job_id,
                    "error": "The job was replaced by a later run of the same step (upgrade to schema 4).",
                },
            )
        seen.add((study_id, kind))
    op.create_index(
        "ux_jobs_active_step",
        "jobs",
        ["study_id", "kind"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.execute(sa.text("UPDATE meta SET value = '4' WHERE key = 'schema_version'"))


def downgrade() -> None:
    raise NotImplementedError("deeprules does not downgrade a workspace; restore the backup instead.")
