"""The locked test set: the split is stored with its checksum, every look at the test
side is logged, and a second look needs a written reason (Tip 7: use the test set once).

Looking at test results and then changing anything (the model, the features, the
split itself) turns the test set into a tuning set, and its numbers stop being an
honest estimate. The lock covers the study, not one split: making a new split after
looking at the test set does not reset it, because the new test side overlaps the
samples already seen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from io import StringIO
from typing import Any

import numpy as np
import pandas as pd

from ..errors import LockedTestSetError, SplitError, StoreError
from ..study import StepRecord, Study, package_versions, utcnow
from ._types import Split

__all__ = [
    "MIN_REASON_CHARS",
    "TestSetLock",
    "export_split_csv",
    "load_split",
    "save_split",
    "pending_unlock",
    "test_set_history",
    "unlock_test_set",
    "use_test_set",
]

#: An unlock reason must be a sentence, not "ok": it goes into the report as written.
MIN_REASON_CHARS = 10


def export_split_csv(split: Split) -> tuple[bytes, str]:
    """The assignment as CSV bytes (id, split, fold) and its sha256, for a download.

    Examples
    --------
    >>> a = pd.DataFrame({"id": ["a", "b", "c"], "split": ["train", "tune", "test"], "fold": [-1] * 3})
    >>> data, sha = export_split_csv(Split("stratified", 0, a))
    >>> data.splitlines()[0], sha == Split("stratified", 0, a).sha256
    (b'id,split,fold', True)
    """
    data = split.to_csv().encode("utf-8")
    return data, hashlib.sha256(data).hexdigest()


def _read_assignment(data: bytes) -> pd.DataFrame:
    # keep_default_na=False: a sample called "NA" stays "NA"
    return pd.read_csv(StringIO(data.decode("utf-8")), dtype={"id": str, "split": str}, keep_default_na=False)


def save_split(ws: Any, study: Study, split: Split) -> Study:
    """Store the split (CSV artifact with its sha256) and record the step; the test set
    is locked from now on.

    Returns the study with a new ``StepRecord("split", ...)``; the caller saves it
    (``ws.save_study`` or ``ui.state.save_study``).
    """
    data, sha = export_split_csv(split)
    params = {"strategy": split.strategy, "seed": split.seed, **dict(split.params)}
    started = utcnow()
    stored = ws.put_artifact(
        study.id,
        "split",
        "split.csv",
        data,
        meta={"sha256": sha, "strategy": split.strategy, "seed": split.seed, "params": params},
    )
    if stored != sha:  # content-addressed store: cannot differ unless the bytes changed
        raise StoreError("The stored split does not match its checksum; save it again.")
    sizes = split.sizes()
    summary = {
        "sha256": sha,
        "sizes": sizes,
        "n_folds": split.n_folds,
        "n_groups": dict(split.params.get("n_groups") or {}),
        "class_share_max_deviation": split.params.get("class_share_max_deviation"),
        "locked": True,
    }
    record = StepRecord(
        step="split",
        params=params,
        input_hashes={"dataset": study.dataset.sha256} if study.dataset is not None else {},
        seed=split.seed,
        versions=package_versions(("deeprules", "numpy", "pandas")),
        started_at=started,
        finished_at=utcnow(),
        summary=summary,
    )
    ws.log(study.id, "lock_test_set", {"sha256": sha, "strategy": split.strategy, "sizes": sizes})
    return study.with_step(record)


def load_split(ws: Any, study: Study) -> Split | None:
    """The study's saved split (the one its latest split step recorded), or None."""
    record = study.step("split")
    sha: str | None = None
    params: Mapping[str, Any] = {}
    strategy, seed = "from_file", 0
    if record is not None and record.summary.get("sha256"):
        sha = str(record.summary["sha256"])
        params = dict(record.params)
        strategy, seed = str(params.get("strategy", strategy)), int(record.seed or 0)
    else:
        art = ws.latest_artifact(study.id, "split")
        if art is None:
            return None
        sha = art["sha256"]
        params = dict(art["meta"].get("params") or {})
        strategy, seed = str(art["meta"].get("strategy", strategy)), int(art["meta"].get("seed", 0))
    rest = {k: v for k, v in params.items() if k not in ("strategy", "seed")}
    split = Split(strategy=strategy, seed=seed, assignment=_read_assignment(ws.get_blob(sha)), params=rest)
    if split.sha256 != sha:
        raise StoreError(
            f"The saved split {sha[:12]}… reads back with another checksum ({split.sha256[:12]}…); "
            "the stored file was changed. Make and save the split again."
        )
    return split


def test_set_history(ws: Any, study: Study) -> list[dict[str, Any]]:
    """Every logged use of the study's test set, oldest first: at, split_sha256,
    purpose, unlock_reason."""
    return list(ws.test_uses(study.id))


test_set_history.__test__ = False  # type: ignore[attr-defined]  # a name pytest would collect


def _check_reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise LockedTestSetError(
            (f"The reason {reason!r} is too short: write" if reason else "Write")
            + f" a sentence (at least {MIN_REASON_CHARS} characters) on why the test set must be "
            "used again; it goes into the report."
        )
    return reason


def unlock_test_set(ws: Any, study: Study, *, reason: str) -> None:
    """Unlock the test set for its next use, with a written reason (logged; it goes into
    the report). The next :func:`use_test_set` consumes the unlock; the one after it is
    locked again.

    Raises
    ------
    SplitError
        When the test set was never used (there is nothing to unlock).
    LockedTestSetError
        When the reason is missing or too short.
    """
    reason = _check_reason(reason)
    if not test_set_history(ws, study):
        raise SplitError("The test set has not been used yet: there is nothing to unlock.")
    ws.log(study.id, "unlock_test_set", {"reason": reason})


def pending_unlock(ws: Any, study: Study) -> str | None:
    """The reason of an unlock given since the last use of the test set, if any."""
    for entry in reversed(ws.audit_log(study.id)):
        if entry.action == "test_set_use":
            return None
        if entry.action == "unlock_test_set":
            return str(entry.detail.get("reason") or "") or None
    return None


def use_test_set(
    ws: Any, study: Study, split: Split, *, purpose: str, unlock_reason: str | None = None
) -> np.ndarray:
    """Row positions of the test side; logs the use. A second look needs a reason.

    Parameters
    ----------
    purpose : str
        What the test set is used for, e.g. "final evaluation of random_forest".
    unlock_reason : str, optional
        Required (at least :data:`MIN_REASON_CHARS` characters) once the test set of
        this study has been used, unless :func:`unlock_test_set` was called since the
        last use; it is logged and goes into the report.

    Raises
    ------
    LockedTestSetError
        On a second use without a written reason.
    """
    purpose = (purpose or "").strip()
    if not purpose:
        raise SplitError("Say what the test set is used for (purpose), e.g. 'final evaluation'.")
    reason = (unlock_reason or "").strip() or None
    history = test_set_history(ws, study)
    if history:
        first = history[0]
        if reason is None:
            reason = pending_unlock(ws, study)  # an unlock given on the Split page
        if reason is None:
            raise LockedTestSetError(
                f"The test set was already used on {first['at'][:10]} for {first['purpose']!r}"
                + (f" ({len(history)} use(s) so far)" if len(history) > 1 else "")
                + ". Looking again turns it into a tuning set: its scores would no longer be an "
                "honest estimate. If you must, give a written reason, which goes into the report."
            )
        reason = _check_reason(reason)
    ws.log_test_use(study.id, split.sha256, purpose, reason)
    return split.indices("test")


class TestSetLock:
    """The test-set lock of one study, as an object (the functions above, bound).

    Examples
    --------
    >>> import tempfile
    >>> from deeprules_core.store import Workspace
    >>> ws = Workspace(tempfile.mkdtemp())
    >>> study = ws.create_study("demo")
    >>> a = pd.DataFrame({"id": list("abcd"), "split": ["train", "train", "tune", "test"], "fold": [-1] * 4})
    >>> lock = TestSetLock(ws, study)
    >>> lock.use(Split("stratified", 0, a), purpose="final evaluation").tolist(), lock.is_locked
    ([3], True)
    """

    __test__ = False  # not a pytest class

    def __init__(self, ws: Any, study: Study) -> None:
        self.ws = ws
        self.study = study

    @property
    def history(self) -> list[dict[str, Any]]:
        return test_set_history(self.ws, self.study)

    @property
    def is_locked(self) -> bool:
        """True once the test set was used: the next use needs a reason."""
        return bool(self.history)

    def use(self, split: Split, *, purpose: str, unlock_reason: str | None = None) -> np.ndarray:
        return use_test_set(self.ws, self.study, split, purpose=purpose, unlock_reason=unlock_reason)
