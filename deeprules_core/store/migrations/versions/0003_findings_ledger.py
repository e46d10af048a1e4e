"""Schema 3: the findings ledger of every study (one study, one truth).

- ``findings_ledger``: every finding every step recorded, with the step, the hashes of
  its inputs and the time; a re-run marks the step's earlier rows superseded.
- ``finding_acknowledgements``: the written justification of a finding left as it is,
  attached to the ledger row (and the finding's key, so it holds for later re-runs).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "findings_ledger",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), nullable=False),
        sa.Column("step", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("finding_key", sa.String(400), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("tip", sa.Integer, nullable=False),
        sa.Column("finding", sa.Text, nullable=False),
        sa.Column("input_hashes", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("superseded_at", sa.String(40), nullable=True),
    )
    op.create_index("ix_findings_ledger_study_id", "findings_ledger", ["study_id"])
    op.create_table(
        "finding_acknowledgements",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("study_id", sa.String(32), nullable=False),
        sa.Column("ledger_id", sa.Integer, sa.ForeignKey("findings_ledger.id"), nullable=True),
        sa.Column("finding_key", sa.String(400), nullable=False),
        sa.Column("justification", sa.Text, nullable=False),
        sa.Column("who", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
    )
    op.create_index("ix_finding_acknowledgements_study_id", "finding_acknowledgements", ["study_id"])
    op.execute(sa.text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))


def downgrade() -> None:
    raise NotImplementedError("deeprules does not downgrade a workspace; restore the backup instead.")
