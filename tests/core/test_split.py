"""make_split: known answers per strategy, CV folds, nested CV, and every edge case message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core.errors import DeepRulesError, SplitError
from deeprules_core.split import (
    SIDES,
    Split,
    explain_strategy,
    make_split,
    nested_cv_folds,
)
from deeprules_core.study import Design, Roles


def grouped_table(n_groups: int = 60, per_group: int = 3, seed: int = 0, n_sites: int = 4) -> pd.DataFrame:
    """Patients with several samples each; label constant within a patient."""
    rng = np.random.default_rng(seed)
    y = np.array(["case", "control"] * (n_groups // 2))
    rng.shuffle(y)
    site = np.array([f"site{i % n_sites}" for i in range(n_groups)])
    df = pd.DataFrame(
        {
            "sample_id": [f"S{i:04d}" for i in range(n_groups * per_group)],
            "patient": np.repeat([f"P{i:03d}" for i in range(n_groups)], per_group),
            "label": np.repeat(y, per_group),
            "site": np.repeat(site, per_group),
            "visit": np.tile(np.arange(per_group), n_groups),
        }
    )
    for j in range(12):
        df[f"g{j}"] = rng.normal(size=len(df))
    return df


ROLES = Roles(id="sample_id", label="label", group="patient", batch=("site",), time="visit")


def side_of_groups(df: pd.DataFrame, split: Split, column: str) -> pd.Series:
    return split.assignment.assign(g=df[column].to_numpy()).groupby("g")["split"].nunique()


# ------------------------------------------------------------------ known answers
def test_group_split_keeps_groups_whole_and_classes_balanced():
    df = grouped_table(60, 3)
    split = make_split(df, ROLES, strategy="group", seed=1)
    assert split.strategy == "group"
    assert (side_of_groups(df, split, "patient") == 1).all()
    # 60 balanced patients of 3 rows: 36 / 12 / 12 patients, 6 of each class on tune and test
    assert split.sizes() == {"train": 108, "tune": 36, "test": 36}
    assert split.params["n_groups"] == {"train": 36, "tune": 12, "test": 12}
    for side in SIDES:
        labels = df["label"].to_numpy()[split.indices(side)]
        assert (labels == "case").sum() == (labels == "control").sum()
    assert split.params["class_share_max_deviation"] == 0.0
    assert list(split.assignment["id"][:2]) == ["S0000", "S0001"]


def test_same_seed_same_split_other_seed_other_split():
    df = grouped_table(60, 3)
    a = make_split(df, ROLES, seed=7)
    b = make_split(df, ROLES, seed=7)
    c = make_split(df, ROLES, seed=8)
    assert a.sha256 == b.sha256
    assert a.assignment.equals(b.assignment)
    assert a.sha256 != c.sha256


def test_cv_folds_are_group_aware_and_stratified():
    df = grouped_table(100, 2)
    split = make_split(df, ROLES, n_folds=5, seed=3)
    train = set(split.indices("train").tolist())
    seen_val: list[int] = []
    for fit, val in split.cv_folds():
        assert set(fit) | set(val) <= train
        assert not set(df["patient"].iloc[fit]) & set(df["patient"].iloc[val])
        share = (df["label"].iloc[val] == "case").mean()
        assert abs(share - 0.5) <= 0.15
        seen_val += val.tolist()
    assert sorted(seen_val) == sorted(train)  # every training row validated exactly once
    assert split.n_folds == 5
    assert (split.assignment.loc[split.assignment["split"] != "train", "fold"] == -1).all()


def test_nested_cv_folds_leave_each_other_fold_out():
    df = grouped_table(100, 2)
    split = make_split(df, ROLES, n_folds=4)
    outer = list(nested_cv_folds(split))
    assert len(outer) == 4
    for fit, val, inner in outer:
        assert len(inner) == 3
        assert not set(fit) & set(val)
        for ifit, ival in inner:
            assert set(ifit) | set(ival) == set(fit)
            assert not set(ifit) & set(ival)
            assert not set(df["patient"].iloc[ifit]) & set(df["patient"].iloc[ival])
    with pytest.raises(SplitError, match="at least 3 CV folds"):
        list(nested_cv_folds(make_split(df, ROLES, n_folds=2)))


def test_stratified_split_is_exact_per_class():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": ["a"] * 300 + ["b"] * 100, "x": rng.normal(size=400)})
    split = make_split(df, Roles(label="y"), strategy="stratified", test_fraction=0.25, tune_fraction=0.25)
    for side, n in (("train", 200), ("tune", 100), ("test", 100)):
        idx = split.indices(side)
        assert abs(len(idx) - n) <= 2
        assert abs((df["y"].iloc[idx] == "b").mean() - 0.25) <= 0.01
    assert split.assignment["id"].tolist()[:3] == ["0", "1", "2"]  # no id column: row positions


def test_auto_picks_group_or_stratified_and_says_why():
    strategy, sentence = explain_strategy(ROLES)
    assert strategy == "group" and "patient" in sentence
    strategy, sentence = explain_strategy(Roles(label="y"))
    assert strategy == "stratified" and "independent" in sentence
    strategy, sentence = explain_strategy(Roles(label="y"), Design(replicate_kind="technical"))
    assert strategy == "stratified" and "group column" in sentence
    df = grouped_table(40, 2)
    split = make_split(df, ROLES, strategy="auto")
    assert split.strategy == "group" and "patient" in split.params["explanation"]


def test_leave_batch_out_holds_out_whole_sites():
    df = grouped_table(80, 2, n_sites=4)
    split = make_split(df, ROLES, strategy="leave_batch_out", holdout_batch="site2")
    test_sites = set(df["site"].iloc[split.indices("test")])
    assert test_sites == {"site2"}
    assert "site2" not in set(df["site"].iloc[split.indices("train")])
    assert (side_of_groups(df, split, "patient") == 1).all()
    assert split.params["holdout_batch"] == ["site2"]
    # several levels, given as {column: levels}
    split = make_split(df, ROLES, strategy="leave_batch_out", holdout_batch={"site": ["site0", "site1"]})
    assert set(df["site"].iloc[split.indices("test")]) == {"site0", "site1"}
    # automatic choice: one site with every class, closest to the test fraction
    split = make_split(df, ROLES, strategy="leave_batch_out", test_fraction=0.25)
    assert len(set(df["site"].iloc[split.indices("test")])) == 1


def test_leave_batch_out_moves_a_patient_seen_at_two_sites_wholly_to_test():
    df = grouped_table(80, 2, n_sites=4)
    df.loc[1, "site"] = "site1"  # patient P000 (site0) has one sample measured at site1
    split = make_split(df, ROLES, strategy="leave_batch_out", holdout_batch="site1")
    assert split.params["rows_moved_to_test"] == 1
    assert set(split.assignment["split"].iloc[[0, 1]]) == {"test"}


def test_time_split_puts_the_latest_time_points_on_test():
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame(
        {
            "y": rng.permutation(np.repeat(["a", "b"], n // 2)),
            "day": pd.date_range("2021-01-01", periods=n, freq="D").astype(str),
        }
    )
    split = make_split(df, Roles(label="y", time="day"), strategy="time", n_folds=3)
    day = pd.to_datetime(df["day"])
    assert day.iloc[split.indices("train")].max() < day.iloc[split.indices("tune")].min()
    assert day.iloc[split.indices("tune")].max() < day.iloc[split.indices("test")].min()
    assert split.sizes() == {"train": 120, "tune": 40, "test": 40}
    assert split.params["test_from"] == "2021-06-10T00:00:00"
    # folds are consecutive blocks of time
    blocks = [day.iloc[val] for _, val in split.cv_folds()]
    assert blocks[0].max() < blocks[1].min() and blocks[1].max() < blocks[2].min()


def test_time_split_with_groups_keeps_individuals_whole():
    df = grouped_table(60, 3)
    df["visit"] = np.repeat(np.arange(60), 3) + np.tile([0, 1, 2], 60)  # patients enrol over time
    split = make_split(df, ROLES, strategy="time", n_folds=0)
    assert (side_of_groups(df, split, "patient") == 1).all()
    first = df.groupby("patient")["visit"].min()
    sides = split.assignment.assign(p=df["patient"]).groupby("p")["split"].first()
    assert first[sides == "train"].max() < first[sides == "test"].min()


def test_regression_split_stratifies_on_label_quantiles():
    rng = np.random.default_rng(4)
    n_groups = 120
    y = np.repeat(rng.lognormal(size=n_groups), 2)
    df = pd.DataFrame({"donor": np.repeat(np.arange(n_groups), 2), "age": y})
    split = make_split(df, Roles(label="age", task="regression", group="donor"), seed=2)
    assert split.params["n_bins"] == 5
    medians = [np.median(y[split.indices(s)]) for s in SIDES]
    assert max(medians) / min(medians) < 1.6
    assert (side_of_groups(df, split, "donor") == 1).all()


def test_rows_without_a_label_stay_with_their_group_and_get_no_fold():
    df = grouped_table(60, 3)
    df.loc[[0, 10, 11], "label"] = np.nan
    split = make_split(df, ROLES, seed=0)
    assert split.params["n_unlabelled"] == 3
    assert (side_of_groups(df, split, "patient") == 1).all()
    assert (split.assignment["fold"].iloc[[0, 10, 11]] == -1).all()


# ------------------------------------------------------------------ edge cases: each says what to do
@pytest.mark.parametrize(
    ("change", "kwargs", "pattern"),
    [
        (lambda d: d.assign(patient="P1"), {}, r"one 'patient'.*'stratified'"),
        (lambda d: d.assign(label="case"), {}, r"one class only \('case'\)"),
        (lambda d: d.assign(label=np.nan), {}, "Every value of the label"),
        (
            lambda d: d.assign(patient=d["patient"].where(d.index >= 4)),
            {},
            r"4 row\(s\) have no value in the group column 'patient'.*Fill in.*or drop",
        ),
        (lambda d: d, {"strategy": "random"}, "must be one of"),
        (lambda d: d, {"test_fraction": 0}, "'test_fraction' must be between"),
        (lambda d: d, {"test_fraction": 0.5, "tune_fraction": 0.4}, "leave 0.10 of the data"),
        (lambda d: d, {"n_folds": 1}, r"'n_folds' must be 0 .* or an int >= 2. Got 1"),
        (lambda d: d, {"n_folds": 40}, r"fewer groups than CV folds \(40\).*fewer folds"),
        (lambda d: d.drop(columns="site"), {"strategy": "leave_batch_out"}, "not in the table"),
        (lambda d: d, {"strategy": "leave_batch_out", "holdout_batch": "mars"}, r"\['mars'\] are not in"),
        (lambda d: d.assign(site="one"), {"strategy": "leave_batch_out"}, "one level only"),
    ],
)
def test_bad_input_gives_a_clear_split_error(change, kwargs, pattern):
    df = change(grouped_table(40, 3))
    with pytest.raises(SplitError, match=pattern):
        make_split(df, ROLES, **kwargs)


def test_a_group_larger_than_the_test_side_is_named_with_its_size():
    df = grouped_table(40, 3)
    df.loc[:59, "patient"] = "P-big"  # 60 of 120 rows from one patient
    with pytest.raises(SplitError) as err:
        make_split(df, ROLES)
    msg = str(err.value)
    assert "'P-big' (60 rows, 50%)" in msg and "leave_batch_out" in msg and "0.50" in msg


def test_a_class_in_too_few_groups_is_named():
    df = grouped_table(40, 3)
    df.loc[df["patient"].isin(["P000", "P001"]), "label"] = "rare"
    with pytest.raises(SplitError, match=r"Class 'rare' \(2 groups\) occurs in fewer groups than sides"):
        make_split(df, ROLES)


def test_strategy_needs_its_role():
    df = grouped_table(40, 3)
    with pytest.raises(SplitError, match="needs a group column"):
        make_split(df, Roles(label="label"), strategy="group")
    with pytest.raises(SplitError, match="needs a batch column"):
        make_split(df, Roles(label="label"), strategy="leave_batch_out")
    with pytest.raises(SplitError, match="needs a time column"):
        make_split(df, Roles(label="label"), strategy="time")
    with pytest.raises(SplitError, match="distinct first time point"):
        make_split(df, ROLES, strategy="time")  # every patient starts at visit 0


def test_split_errors_are_deeprules_errors():
    assert issubclass(SplitError, DeepRulesError)
