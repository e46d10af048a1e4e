"""The workspace store: SQLAlchemy database plus content-addressed files, scoped by user."""

from ._schema import SCHEMA_VERSION
from ._users import User
from ._workspace import AuditEntry, Workspace, default_home, safe_url, sha256_bytes, sha256_file

__all__ = [
    "SCHEMA_VERSION",
    "AuditEntry",
    "User",
    "Workspace",
    "default_home",
    "safe_url",
    "sha256_bytes",
    "sha256_file",
]
