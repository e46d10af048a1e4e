"""One family of errors for the whole engine.

Every error the engine raises on purpose is a :class:`DeepRulesError`. Its message says
what is wrong, why it matters and what to do, in a biologist's words. Pages and the
command line catch this class (and nothing broader) and show the message as it is.
Problems that do not block the work are findings, not exceptions.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path
from typing import Any

__all__ = [
    "DeepRulesError",
    "DataFormatError",
    "ColumnError",
    "ProvenanceError",
    "StoreError",
    "NotFoundError",
    "ForbiddenError",
    "ConflictError",
    "SplitError",
    "ModelError",
    "LockedTestSetError",
    "JobError",
    "ExportLockedError",
    "SheetChoiceError",
    "DiskFullError",
    "quote",
    "one_line",
    "from_os_error",
]


class DeepRulesError(ValueError):
    """Base class of every error the engine raises on purpose."""


class DataFormatError(DeepRulesError):
    """A file cannot be read as a table (empty, binary, unsupported, malformed)."""


class ColumnError(DeepRulesError):
    """A column named by the user or the study is missing or unusable."""


class ProvenanceError(DeepRulesError):
    """A provenance record lacks a required field or has an invalid one."""


class StoreError(DeepRulesError):
    """The workspace store cannot do what was asked (unknown study, bad URL...)."""


class NotFoundError(StoreError):
    """No such study (or dataset, job) for this user: it does not exist, was deleted, or
    belongs to someone who has not shared it (the two are not told apart)."""


class ForbiddenError(StoreError):
    """The user may see this study but not do this to it (a viewer saving, a non-owner
    deleting, a non-admin reassigning)."""


class ConflictError(StoreError):
    """Someone else saved the study after this copy was read, and the two changes touch the
    same part of it. Nothing was written; reload the study and make the change again."""

    def __init__(self, message: str, *, study_id: str = "", base_version: int = 0, current_version: int = 0):
        super().__init__(message)
        self.study_id = study_id
        self.base_version = base_version
        self.current_version = current_version


class SplitError(DeepRulesError):
    """The data cannot be split the way that was asked."""


class ModelError(DeepRulesError):
    """A model cannot be trained or evaluated with these data or settings."""


class LockedTestSetError(DeepRulesError):
    """The locked test set was asked for a second time without an unlock reason."""


class JobError(DeepRulesError):
    """A background job cannot be submitted, found or cancelled."""


class ExportLockedError(DeepRulesError):
    """A model that memorises training rows may not leave a sensitive study (Tip 10)."""


class SheetChoiceError(DataFormatError):
    """An Excel workbook has several sheets and none was chosen; ``sheets`` lists them."""

    def __init__(self, message: str, sheets: list[str]) -> None:
        super().__init__(message)
        self.sheets = list(sheets)


class DiskFullError(StoreError):
    """The disk holding the workspace (or the output folder) is full."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def quote(value: Any, limit: int = 60) -> str:
    """A value for a message: quoted, control characters escaped, shortened in the middle.

    Examples
    --------
    >>> quote("x" * 200, limit=20)
    "'xxxxxxxx…xxxxxxxxx' (200 characters)"
    """
    text = value if isinstance(value, str) else str(value)
    n = len(text)
    if n > limit:
        text = text[: limit // 2 - 2] + "…" + text[n - (limit - limit // 2 - 1) :]
    shown = repr(text)
    return f"{shown} ({n:,} characters)" if n > limit else shown


def one_line(message: str, limit: int = 500) -> str:
    """A message on one line, without control characters, at most ``limit`` characters."""
    text = _CONTROL.sub(" ", message)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _free_mb(path: Path) -> float | None:
    for p in (path, *path.parents):
        try:
            return shutil.disk_usage(p).free / 2**20
        except OSError:
            continue
    return None


def from_os_error(exc: OSError, where: str | os.PathLike[str] | None = None) -> DeepRulesError:
    """Turn an operating-system error into a plain message (disk full, no permission...)."""
    path = Path(where or exc.filename or ".")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        free = _free_mb(path)
        shown = f"{free:,.0f} MB free" if free is not None else "no free space"
        return DiskFullError(
            f"The disk holding the workspace is full ({shown} at {quote(str(path), 80)}). Nothing was "
            "kept of this step. Free some space (or point DEEPRULES_HOME or --out to a bigger disk) "
            "and try again."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StoreError(
            f"deeprules may not write to {quote(str(path), 80)} ({exc.strerror}). Choose a folder you "
            "can write to."
        )
    return StoreError(f"{exc.strerror or exc} at {quote(str(exc.filename or path), 80)}.")
