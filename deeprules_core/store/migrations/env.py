"""Alembic environment of the workspace store.

Run through :func:`deeprules_core.store._migrate.upgrade` (which holds the migration lock
and passes the open connection in ``config.attributes["connection"]``), not the ``alembic``
command line.
"""

from __future__ import annotations

from alembic import context

from deeprules_core.store._schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite changes columns by copying the table
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
