"""Property tests (hypothesis): for random group structures, no group ever crosses sides
and stratification stays within the stated tolerance.

The tolerance (``stratification_tolerance``): a class's share on a side differs from
its share in the whole table by at most ``max(0.05, 2 * g_max / n_side)``, where
``g_max`` is the largest group's row count and ``n_side`` the side's row count. Whole
groups move in steps of up to ``g_max`` rows, so no group-aware split can promise
better than about one group's worth; with many small groups the 5-point floor applies.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from deeprules_core.errors import SplitError
from deeprules_core.split import SIDES, make_split
from deeprules_core.split._common import stratification_tolerance
from deeprules_core.study import Roles

ROLES = Roles(label="y", group="g")


@st.composite
def group_structures(draw, *, min_groups: int = 3, max_groups: int = 120):
    n_groups = draw(st.integers(min_groups, max_groups))
    n_classes = draw(st.integers(2, 4))
    sizes = draw(st.lists(st.integers(1, 8), min_size=n_groups, max_size=n_groups))
    mixed = draw(st.booleans())  # label constant within a group, or varying within it
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), sizes)
    if mixed:
        y = rng.integers(0, n_classes, len(g))
    else:
        y = np.repeat(rng.integers(0, n_classes, n_groups), sizes)
    names = rng.permutation([f"G{i}" for i in range(n_groups)])  # group ids in no particular order
    return pd.DataFrame({"g": names[g], "y": np.array(["a", "b", "c", "d"])[y]})


def _check(df: pd.DataFrame, split) -> None:
    side = split.assignment["split"].to_numpy()
    # 1. no group on two sides, and no group in two CV folds
    assert (pd.Series(side).groupby(df["g"].to_numpy()).nunique() == 1).all()
    fold = split.assignment["fold"].to_numpy()
    train = side == "train"
    if split.n_folds:
        assert (pd.Series(fold[train]).groupby(df["g"].to_numpy()[train]).nunique() == 1).all()
        assert (fold[train] >= 0).all() and (fold[~train] == -1).all()
    # 2. class shares within the stated tolerance on every side, and every class on every side
    g_max = int(df["g"].value_counts().max())
    overall = df["y"].value_counts(normalize=True)
    for s in SIDES:
        on = side == s
        assert on.any()
        share = df["y"][on].value_counts(normalize=True).reindex(overall.index, fill_value=0.0)
        assert (share > 0).all()
        assert (share - overall).abs().max() <= stratification_tolerance(g_max, int(on.sum())) + 1e-9


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=group_structures(), seed=st.integers(0, 1000), n_folds=st.sampled_from([0, 2, 3, 5]))
def test_no_group_crosses_sides_and_classes_stay_within_tolerance(df, seed, n_folds):
    try:
        split = make_split(df, ROLES, seed=seed, n_folds=n_folds)
    except SplitError as exc:
        # refusing is allowed, but only with a message (never a silently bad split)
        assert len(str(exc)) > 40
        return
    _check(df, split)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=group_structures(min_groups=60, max_groups=150), seed=st.integers(0, 1000))
def test_well_posed_structures_are_always_split(df, seed):
    """With many groups, no dominant group and every class in many groups, the split must
    succeed (the checks above are not satisfied by refusing)."""
    counts = df.groupby("y")["g"].nunique()
    assume(counts.min() >= 15 and df["g"].value_counts().max() <= 0.05 * len(df))
    split = make_split(df, ROLES, seed=seed, n_folds=3)
    _check(df, split)


@settings(max_examples=25, deadline=None)
@given(df=group_structures(min_groups=20), seed=st.integers(0, 100))
def test_same_seed_gives_the_same_split(df, seed):
    try:
        a = make_split(df, ROLES, seed=seed)
    except SplitError:
        return
    assert make_split(df, ROLES, seed=seed).sha256 == a.sha256


@settings(max_examples=25, deadline=None)
@given(df=group_structures(min_groups=20), seed=st.integers(0, 100))
def test_leave_batch_out_never_splits_a_group(df, seed):
    rng = np.random.default_rng(seed)
    # batches assigned per row, so some groups span two batches
    df = df.assign(site=rng.choice(["s1", "s2", "s3"], len(df)))
    roles = Roles(label="y", group="g", batch=("site",))
    try:
        split = make_split(df, roles, strategy="leave_batch_out", seed=seed, n_folds=0)
    except SplitError:
        return
    side = split.assignment["split"].to_numpy()
    assert (pd.Series(side).groupby(df["g"].to_numpy()).nunique() == 1).all()
