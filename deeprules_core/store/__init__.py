"""The workspace store: SQLAlchemy database plus content-addressed files."""

from ._schema import SCHEMA_VERSION
from ._workspace import AuditEntry, Workspace, default_home, sha256_bytes, sha256_file

__all__ = ["SCHEMA_VERSION", "AuditEntry", "Workspace", "default_home", "sha256_bytes", "sha256_file"]
