"""One family of errors for the whole engine.

Every error the engine raises on purpose is a :class:`DeepRulesError`. Its message says
what is wrong, why it matters and what to do, in a biologist's words. Pages and the
command line catch this class (and nothing broader) and show the message as it is.
Problems that do not block the work are findings, not exceptions.
"""

from __future__ import annotations

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
