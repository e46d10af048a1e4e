"""The locked test set: save/load, checksums, the use log, the unlock with a reason."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from deeprules_core.errors import LockedTestSetError, SplitError
from deeprules_core.split import (
    Split,
    TestSetLock,
    export_split_csv,
    load_split,
    make_split,
    pending_unlock,
    save_split,
    test_set_history,
    unlock_test_set,
    use_test_set,
)
from deeprules_core.study import DatasetRef, Roles

ROLES = Roles(id="sample_id", label="label", group="patient")


def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            # "NA" is a legitimate sample id and must survive the round trip
            "sample_id": ["NA"] + [f"S{i:03d}" for i in range(1, 2 * n)],
            "patient": np.repeat([f"P{i}" for i in range(n)], 2),
            "label": np.repeat(rng.permutation(["a", "b"] * (n // 2)), 2),
            "x": rng.normal(size=2 * n),
        }
    )


@pytest.fixture
def saved(workspace):
    study = workspace.create_study("Lock test").with_dataset(DatasetRef("d1", "f" * 64, "t.csv"))
    split = make_split(table(), ROLES, seed=3, n_folds=3)
    study = save_split(workspace, study, split)
    workspace.save_study(study, action="split")
    return workspace, workspace.get_study(study.id), split


def test_save_records_the_step_with_checksum_and_load_gives_the_same_split(saved):
    ws, study, split = saved
    rec = study.step("split")
    assert rec is not None and rec.summary["sha256"] == split.sha256 and rec.summary["locked"]
    assert rec.params["strategy"] == "group" and rec.seed == 3
    assert rec.input_hashes == {"dataset": "f" * 64}
    assert rec.summary["sizes"] == split.sizes()
    art = ws.latest_artifact(study.id, "split", "split.csv")
    assert art["sha256"] == split.sha256
    again = load_split(ws, study)
    assert again is not None
    assert again.sha256 == split.sha256
    assert again.assignment.equals(split.assignment)
    assert again.assignment["id"].iloc[0] == "NA"
    assert again.strategy == "group" and again.seed == 3 and again.n_folds == 3
    assert again.params["n_groups"] == split.params["n_groups"]
    assert any(e.action == "lock_test_set" for e in ws.audit_log(study.id))


def test_checksum_is_stable_and_matches_the_export(saved):
    _, _, split = saved
    data, sha = export_split_csv(split)
    assert sha == hashlib.sha256(data).hexdigest() == split.sha256
    assert data.decode().splitlines()[0] == "id,split,fold"
    assert Split.from_csv(data.decode()).sha256 == split.sha256
    assert make_split(table(), ROLES, seed=3, n_folds=3).sha256 == split.sha256


def test_no_saved_split_loads_as_none(workspace):
    study = workspace.create_study("Empty")
    assert load_split(workspace, study) is None


def test_load_without_a_step_record_falls_back_to_the_latest_artifact(saved):
    ws, study, split = saved
    bare = ws.create_study("Other")
    ws.put_artifact(
        bare.id, "split", "split.csv", split.to_csv().encode(), meta={"strategy": "group", "seed": 3}
    )
    assert load_split(ws, bare).sha256 == split.sha256


def test_first_use_is_logged_and_a_second_use_is_refused(saved):
    ws, study, split = saved
    rows = use_test_set(ws, study, split, purpose="final evaluation of random_forest")
    assert np.array_equal(rows, split.indices("test"))
    history = test_set_history(ws, study)
    assert len(history) == 1
    assert history[0]["purpose"] == "final evaluation of random_forest"
    assert history[0]["split_sha256"] == split.sha256 and history[0]["unlock_reason"] is None
    with pytest.raises(LockedTestSetError) as err:
        use_test_set(ws, study, split, purpose="another look")
    msg = str(err.value)
    assert history[0]["at"][:10] in msg and "final evaluation of random_forest" in msg
    assert "tuning set" in msg and "written reason" in msg
    assert len(test_set_history(ws, study)) == 1  # a refused look is not a use


def test_unlock_needs_a_real_reason_and_logs_it(saved):
    ws, study, split = saved
    use_test_set(ws, study, split, purpose="final evaluation")
    with pytest.raises(LockedTestSetError, match="too short"):
        use_test_set(ws, study, split, purpose="again", unlock_reason="ok")
    with pytest.raises(LockedTestSetError):
        use_test_set(ws, study, split, purpose="again", unlock_reason="   ")
    reason = "Reviewer asked for the calibration curve on the test set."
    rows = use_test_set(ws, study, split, purpose="calibration curve", unlock_reason=reason)
    assert len(rows) == split.sizes()["test"]
    history = test_set_history(ws, study)
    assert [h["unlock_reason"] for h in history] == [None, reason]
    assert any(
        e.action == "test_set_use" and e.detail["unlock_reason"] == reason for e in ws.audit_log(study.id)
    )


def test_a_new_split_does_not_reset_the_lock(saved):
    ws, study, split = saved
    use_test_set(ws, study, split, purpose="final evaluation")
    other = make_split(table(), ROLES, seed=99)
    study = save_split(ws, study, other)
    with pytest.raises(LockedTestSetError):
        use_test_set(ws, study, other, purpose="evaluation on the new split")


def test_purpose_is_required(saved):
    ws, study, split = saved
    with pytest.raises(SplitError, match="purpose"):
        use_test_set(ws, study, split, purpose=" ")


def test_lock_object(saved):
    ws, study, split = saved
    lock = TestSetLock(ws, study)
    assert not lock.is_locked and lock.history == []
    lock.use(split, purpose="final evaluation")
    assert lock.is_locked and len(lock.history) == 1
    with pytest.raises(LockedTestSetError):
        lock.use(split, purpose="peek")


def test_unlock_on_the_split_page_applies_to_the_next_use_only(saved):
    ws, study, split = saved
    with pytest.raises(SplitError, match="nothing to unlock"):
        unlock_test_set(ws, study, reason="Nothing has been looked at yet, though.")
    use_test_set(ws, study, split, purpose="final evaluation")
    with pytest.raises(LockedTestSetError, match="at least 10 characters"):
        unlock_test_set(ws, study, reason="")
    reason = "The first evaluation used the wrong positive class."
    unlock_test_set(ws, study, reason=reason)
    assert pending_unlock(ws, study) == reason
    use_test_set(ws, study, split, purpose="evaluation with the right positive class")
    assert test_set_history(ws, study)[-1]["unlock_reason"] == reason
    assert pending_unlock(ws, study) is None
    with pytest.raises(LockedTestSetError):
        use_test_set(ws, study, split, purpose="a third look")
