"""The simulators: seeded, and their ground truth says what was planted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from deeprules_core.simulate import cramers_v, simulate_clean, simulate_expression


def test_same_seed_same_data_other_seed_other_data():
    a, ta = simulate_expression(60, 10, seed=3, n_groups=20, leak_feature=True)
    b, tb = simulate_expression(60, 10, seed=3, n_groups=20, leak_feature=True)
    c, _ = simulate_expression(60, 10, seed=4, n_groups=20, leak_feature=True)
    assert a.equals(b) and ta == tb and not a.equals(c)
    json.dumps(ta)  # the truth is JSON-able


def test_clean_data_has_nothing_planted():
    df, t = simulate_clean(200, 40, seed=0)
    assert t["planted"] == [] and t["expected_findings"] == []
    assert df["sample_id"].is_unique and df["patient_id"].is_unique
    assert df.isna().sum().sum() == 0
    assert df["label"].value_counts().tolist() == [100, 100]
    assert cramers_v(df["plate"], df["label"]) < 0.05  # plates spread evenly within classes
    assert cramers_v(df["sex"], df["label"]) < 0.05
    assert not df.drop(columns="sample_id").duplicated().any()


def test_informative_genes_carry_the_signal_and_the_others_do_not():
    df, t = simulate_clean(400, 30, seed=1, informative=4, effect_size=2.0)
    diff = df.groupby("label")[t["feature_columns"]].mean().diff().iloc[-1].abs()
    sd = df[t["feature_columns"]].std()
    z = diff / sd
    assert set(z.nlargest(4).index) == set(t["informative_features"])
    assert z.drop(t["informative_features"]).max() < 0.35


def test_planted_problems_are_there():
    df, t = simulate_expression(
        240,
        20,
        seed=5,
        n_groups=80,
        confounded=True,
        batch_effect=1.0,
        leak_feature=True,
        n_duplicates=4,
        missing_fraction=0.02,
        covariate_effect=1.0,
    )
    assert sorted(t["planted"]) == sorted(
        [
            "replicates",
            "batch_effect",
            "batch_confounding",
            "label_leak",
            "exact_duplicates",
            "missing_values",
            "confounding_covariate",
        ]
    )
    assert t["replicates_per_group"] == 3 and df["patient_id"].nunique() == 80
    assert (df.groupby("patient_id")["label"].nunique() == 1).all()  # one label per patient
    assert t["batch_label_cramers_v"] > 0.6
    y = (df["label"] == "tumour").astype(float)
    assert np.corrcoef(df["marker_score"], y)[0, 1] > 0.99
    for i, j in t["duplicate_rows"]:
        assert df.drop(columns="sample_id").iloc[i].equals(df.drop(columns="sample_id").iloc[j])
    assert df[t["feature_columns"]].isna().sum().sum() == t["missing_cells"] > 0
    assert df.groupby("label")["age"].mean().diff().abs().iloc[-1] > 5
    plate_means = df.groupby("plate")[t["feature_columns"]].mean().mean(axis=1)
    assert plate_means.diff().abs().iloc[-1] > 0.5


def test_regression_target():
    df, t = simulate_expression(300, 15, seed=2, task="regression", informative=3)
    assert t["task"] == "regression" and t["classes"] is None
    assert df["label"].dtype == float and df["label"].nunique() > 100
    corr = df[t["feature_columns"]].corrwith(df["label"]).abs()
    assert set(corr.nlargest(3).index) == set(t["informative_features"])


def test_bad_parameters():
    with pytest.raises(ValueError, match="'task'"):
        simulate_expression(10, 5, task="ranking")
    with pytest.raises(ValueError, match="'informative'"):
        simulate_expression(10, 5, informative=6)
