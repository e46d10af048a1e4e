"""The workspace store: SQLAlchemy database plus content-addressed files, scoped by user,
and the findings ledger of every study."""

from ._ledger import STEP_ORDER, LedgerEntry, step_title
from ._schema import SCHEMA_VERSION
from ._users import User
from ._workspace import AuditEntry, Workspace, default_home, safe_url, sha256_bytes, sha256_file

__all__ = [
    "SCHEMA_VERSION",
    "STEP_ORDER",
    "AuditEntry",
    "LedgerEntry",
    "User",
    "Workspace",
    "default_home",
    "safe_url",
    "sha256_bytes",
    "sha256_file",
    "step_title",
]
