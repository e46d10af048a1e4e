"""Batch effects and confounds: planted problems are found and named, near misses are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core.confounds import (
    batch_label_association,
    confound_report,
    explore,
    metadata_only_model,
    run_confound_checks,
)
from deeprules_core.confounds._simulate import simulate_batch_study
from deeprules_core.errors import ColumnError
from deeprules_core.study import Roles


def _codes(findings):
    return sorted(f.code for f in findings)


def _with_run(df: pd.DataFrame, roles: Roles, seed: int) -> tuple[pd.DataFrame, Roles]:
    """Add a second, harmless batch variable 'run', balanced over the label."""
    rng = np.random.default_rng(seed + 100)
    run = np.empty(len(df), dtype=object)
    for cls in df["label"].unique():
        idx = np.flatnonzero(df["label"].to_numpy() == cls)
        rng.shuffle(idx)
        run[idx] = [f"R{i % 3 + 1}" for i in range(len(idx))]
    df = df.assign(run=run)
    return df, Roles(**{**roles.to_dict(), "batch": ("plate", "run")})


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_balanced_data_without_batch_effect_gives_no_finding(seed):
    df, roles = simulate_batch_study(n=160, p=200, seed=seed)
    df, roles = _with_run(df, roles, seed)
    assert run_confound_checks(df, roles, seed=seed) == []


def test_no_finding_with_repeated_individuals_and_no_batch_effect():
    # strong differences between individuals must not be taken for a batch effect
    df, roles = simulate_batch_study(n=160, p=200, n_per_individual=4, individual_sd=1.0, seed=5)
    report = confound_report(df, roles, seed=0)
    assert report["findings"] == []
    pred = report["batch"]["plate"]["effect"]["predictability"]
    assert pred["cv"].startswith("StratifiedGroupKFold")
    assert report["batch"]["plate"]["effect"]["features"]["unit"].startswith("individual")
    assert report["metadata_only"]["cv"].startswith("StratifiedGroupKFold")


def test_planted_batch_effect_is_found_and_the_right_batch_named():
    df, roles = simulate_batch_study(n=160, p=200, batch_effect=0.6, seed=3)
    df, roles = _with_run(df, roles, 3)
    findings = run_confound_checks(df, roles, seed=0)
    effects = [f for f in findings if f.code == "batch_effect"]
    assert [f.columns for f in effects] == [("plate",)]
    ev = effects[0].evidence
    assert ev["predictability"]["balanced_accuracy"] > 0.5
    assert ev["predictability"]["p_value"] < 1e-3
    assert ev["features"]["n_features_associated"] >= 10
    assert ev["mixing"]["same_batch_fraction"] > ev["mixing"]["expected_same_batch_fraction"]
    assert "confounding" not in _codes(findings)
    assert "plate" in effects[0].message


def test_weak_batch_effect_below_the_bar_is_not_reported():
    df, roles = simulate_batch_study(n=160, p=200, batch_effect=0.05, batch_affected=0.05, seed=4)
    assert "batch_effect" not in _codes(run_confound_checks(df, roles))


def test_complete_confounding_names_the_single_class_levels():
    df, roles = simulate_batch_study(n=120, p=100, confounding=1.0, seed=2)
    truth = {plate: labels.iloc[0] for plate, labels in df.groupby("plate")["label"] if labels.nunique() == 1}
    findings = run_confound_checks(df, roles)
    conf = [f for f in findings if f.code == "batch_confounding"]
    assert len(conf) == 1 and conf[0].severity == "error"
    assert conf[0].columns == ("plate", "label")
    named = {s["level"]: s["class"] for s in conf[0].evidence["single_class_levels"]}
    assert named == truth and len(named) == 4
    assert conf[0].evidence["complete"] is True
    assert "cannot tell batch from biology" in conf[0].message
    assert conf[0].evidence["table"]["P1"]


def test_partial_confounding_is_found_and_a_slight_imbalance_is_not():
    df, roles = simulate_batch_study(n=200, p=50, confounding=0.6, seed=7)
    res = batch_label_association(df, roles, "plate")
    assert res["significant"] and res["effect"] >= 0.2
    assert "batch_confounding" in _codes(run_confound_checks(df, roles))
    df2, roles2 = simulate_batch_study(n=200, p=50, confounding=0.1, seed=7)
    assert "batch_confounding" not in _codes(run_confound_checks(df2, roles2))


def test_fisher_exact_for_a_two_by_two_table():
    df, roles = simulate_batch_study(n=80, p=20, n_batches=2, confounding=0.8, seed=1)
    res = batch_label_association(df, roles, "plate")
    assert res["test"] == "fisher_exact" and res["p_value"] < 1e-3


@pytest.mark.slow
def test_covariate_confound_is_found_and_near_misses_are_not():
    df, roles = simulate_batch_study(n=200, p=200, covariate_confounding=0.8, covariate_effect=0.5, seed=1)
    found = [f for f in run_confound_checks(df, roles) if f.code == "confounding_covariate"]
    assert len(found) == 1 and found[0].columns == ("age", "label")
    assert found[0].evidence["features"]["n_features_associated_beyond_label"] >= 10
    # tied to the label (moderately) but not to the features
    df2, roles2 = simulate_batch_study(n=200, p=200, covariate_confounding=0.6, seed=1)
    assert "confounding_covariate" not in _codes(run_confound_checks(df2, roles2))
    # moves the features but is independent of the label
    df3, roles3 = simulate_batch_study(n=200, p=200, covariate_effect=0.8, seed=1)
    assert "confounding_covariate" not in _codes(run_confound_checks(df3, roles3))


def test_label_leak_feature_is_named_and_a_strong_marker_is_not():
    df, roles = simulate_batch_study(n=120, p=200, leak=True, seed=0)
    rng = np.random.default_rng(0)
    df["strong_marker"] = (df["label"] == "case") * 1.0 + rng.normal(scale=0.5, size=len(df))
    leaks = [f for f in run_confound_checks(df, roles) if f.code == "label_leakage"]
    assert len(leaks) == 1 and leaks[0].severity == "error"
    assert leaks[0].columns == ("leak_marker",)
    assert leaks[0].evidence["features"][0]["auroc"] >= 0.99


def test_a_perfect_separator_by_chance_in_tiny_wide_data_is_not_a_leak():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(12, 2000)), columns=[f"f{i}" for i in range(2000)])
    df["label"] = ["a", "b"] * 6
    assert run_confound_checks(df, Roles(label="label")) == []


def test_regression_leak_and_no_finding_without_one():
    df, roles = simulate_batch_study(n=120, p=100, task="regression", seed=2)
    assert run_confound_checks(df, roles) == []
    df["copy"] = df["label"] * 3 + 1
    found = run_confound_checks(df, roles)
    assert [f.columns for f in found if f.code == "label_leakage"] == [("copy",)]


def test_metadata_only_model_detects_a_confounded_design():
    df, roles = simulate_batch_study(n=160, p=30, confounding=0.9, seed=0)
    res = metadata_only_model(df, roles, seed=0)
    assert res["metric"] == "balanced_accuracy" and res["value"] == res["score"]
    assert res["score"] > res["chance"] + 0.3 and res["p_value"] < 1e-6
    assert res["findings"][0]["code"] == "metadata_predicts_label"
    balanced, roles_b = simulate_batch_study(n=160, p=30, seed=0)
    res_b = metadata_only_model(balanced, roles_b, seed=0)
    assert res_b["findings"] == [] and res_b["p_value"] > 1e-3
    assert metadata_only_model(balanced, Roles(label="label")) is None


def test_metadata_only_model_leaves_out_the_test_rows_of_a_split():
    df, roles = simulate_batch_study(n=100, p=10, confounding=0.9, seed=0)

    class _Split:
        def indices(self, side):
            return np.arange(80, 100) if side == "test" else np.arange(80)

    res = metadata_only_model(df, roles, _Split(), seed=0)
    assert res["n"] == 80 and res["excluded_test_rows"]


def test_explore_partition_and_per_component_r2():
    df, roles = simulate_batch_study(n=150, p=120, batch_effect=1.0, batch_affected=0.5, seed=0)
    ex = explore(df, roles, n_components=5)
    assert ex.scores.shape == (150, 5) and list(ex.scores.index) == list(df.index)
    assert set(ex.r2.index) == {"label", "plate", "age"}
    assert ex.r2.loc["plate", "PC1"] > 0.5 and ex.r2_pvalue.loc["plate", "PC1"] < 1e-6
    assert abs(sum(ex.partition.values()) - 1.0) < 1e-9
    assert ex.partition["plate"] == max(v for k, v in ex.partition.items() if k != "residual")
    assert ex.variables["age"] == {"role": "covariate", "kind": "continuous"}
    assert ex.to_dict()["partition"] == ex.partition


def test_explore_needs_features():
    df = pd.DataFrame({"label": ["a", "b"] * 5, "site": ["x"] * 10})
    with pytest.raises(ColumnError, match="no numeric feature"):
        explore(df, Roles(label="label", batch=("site",)))


def test_progress_is_reported_and_ends_at_one():
    df, roles = simulate_batch_study(n=60, p=20, seed=0)
    seen = []
    run_confound_checks(df, roles, progress=lambda f, m: seen.append((f, m)))
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0
    assert all(0.0 <= f <= 1.0 for f, _ in seen)


def test_missing_values_and_a_single_class_label_do_not_break_the_checks():
    df, roles = simulate_batch_study(n=80, p=30, batch_effect=1.0, seed=0)
    df.loc[::7, "g00003"] = np.nan
    df.loc[::11, "plate"] = None
    assert "batch_effect" in _codes(run_confound_checks(df, roles))
    one = df.assign(label="case")
    assert all(f.code == "batch_effect" for f in run_confound_checks(one, roles))


@pytest.mark.slow
def test_detection_power_at_a_moderate_batch_effect():
    # benchmarks/bench_confounds.py measures the whole curve; here: 0.5 SD on 20% of features
    hits = 0
    for seed in range(4):
        df, roles = simulate_batch_study(n=120, p=150, batch_effect=0.5, seed=50 + seed)
        hits += "batch_effect" in _codes(run_confound_checks(df, roles, seed=seed))
    assert hits == 4


def test_fast_feature_columns_agree_with_roles():
    from deeprules_core.confounds._common import feature_columns

    df, roles = simulate_batch_study(n=20, p=10, n_per_individual=2, seed=0)
    df["flag"] = True
    df["count"] = pd.array([1] * 20, dtype="Int64")
    assert feature_columns(df, roles) == roles.feature_columns(df)


def test_categorical_covariate_confound_is_found():
    df, roles = simulate_batch_study(n=200, p=100, seed=9)
    rng = np.random.default_rng(9)
    case = (df["label"] == "case").to_numpy()
    sex = np.where(rng.random(200) < np.where(case, 0.85, 0.15), "F", "M")
    df["sex"] = sex
    df.iloc[:, 5:25] += (sex == "F")[:, None] * 0.8  # sex moves 20 features
    roles = Roles(**{**roles.to_dict(), "covariates": ("age", "sex")})
    found = [f for f in run_confound_checks(df, roles) if f.code == "confounding_covariate"]
    assert [f.columns for f in found] == [("sex", "label")]
    assert found[0].evidence["label_association"]["effect_name"] == "cramers_v"
