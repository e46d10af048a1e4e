"""Replicate-aware splitting, the leakage audit and the locked test set (Tips 1, 4, 7).

The :class:`Split` made here is what every later step uses; no other code splits data.
"""

from ._audit import NEAR_DUPLICATE_CORRELATION, audit_split, split_summary
from ._lock import (
    TestSetLock,
    export_split_csv,
    load_split,
    pending_unlock,
    save_split,
    test_set_history,
    unlock_test_set,
    use_test_set,
)
from ._make import STRATEGIES, explain_strategy, make_split, nested_cv_folds
from ._types import SIDES, Split

__all__ = [
    "NEAR_DUPLICATE_CORRELATION",
    "SIDES",
    "STRATEGIES",
    "Split",
    "TestSetLock",
    "audit_split",
    "explain_strategy",
    "export_split_csv",
    "load_split",
    "make_split",
    "nested_cv_folds",
    "pending_unlock",
    "save_split",
    "split_summary",
    "test_set_history",
    "unlock_test_set",
    "use_test_set",
]
