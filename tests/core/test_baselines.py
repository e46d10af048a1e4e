"""run_baselines: known signal recovered, equal budgets, train-only preprocessing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from deeprules_core.errors import ModelError, SplitError
from deeprules_core.modeling import (
    check_equal_tuning,
    check_overfitting,
    fit_model,
    model_inputs,
    run_baselines,
)
from deeprules_core.split import Split
from deeprules_core.study import Roles


def simulate(n_groups=120, reps=2, p=8, signal=2.0, seed=0, task="classification", folds=3, missing=0.0):
    """Two rows per individual; the label depends linearly on f0 and f1 (or on nothing)."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), reps)
    X = rng.normal(size=(len(g), p))
    lin = signal * (X[:, 0] + 0.5 * X[:, 1])
    if task == "classification":
        y = np.where(lin + rng.normal(size=len(g)) > 0, "case", "control")
    else:
        y = lin + rng.normal(size=len(g))
    if missing:
        X[rng.random(X.shape) < missing] = np.nan
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(p)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(len(g))])
    df.insert(1, "patient", [f"p{i}" for i in g])
    df["label"] = y
    n_tr, n_tu = int(n_groups * 0.6), int(n_groups * 0.2)
    sides = np.array(["train"] * n_tr + ["tune"] * n_tu + ["test"] * (n_groups - n_tr - n_tu))
    sides = sides[rng.permutation(n_groups)]
    fold_of = np.full(n_groups, -1)
    train_groups = rng.permutation(np.flatnonzero(sides == "train"))
    fold_of[train_groups] = np.arange(len(train_groups)) % folds if folds else -1
    split = Split(
        strategy="group",
        seed=seed,
        assignment=pd.DataFrame({"id": df["sample_id"], "split": sides[g], "fold": fold_of[g]}),
    )
    return df, Roles(id="sample_id", label="label", group="patient", task=task), split


FAST = ("dummy", "logistic_regression", "knn")


@pytest.fixture(scope="module")
def signal_results():
    df, roles, split = simulate()
    return run_baselines(df, roles, split, models=FAST, budget=3, n_shuffles=5, n_boot=200, seed=0)


def test_known_linear_signal_is_recovered(signal_results):
    r = signal_results
    lr = r["models"]["logistic_regression"]["metrics"]["tune"]
    assert lr["auroc"]["value"] > 0.8
    assert lr["auroc"]["low"] > 0.5  # the interval excludes chance
    assert r["selected"] in ("logistic_regression", "knn")
    assert r["controls"]["shuffled_label"]["real"] > max(r["controls"]["shuffled_label"]["null"])
    codes = {f["code"] for f in r["findings"]}
    assert not codes & {"no_signal", "baseline_not_beaten", "unequal_tuning", "overfitting"}


def test_results_dict_follows_the_contract(signal_results):
    r = signal_results
    json.dumps(r, allow_nan=False)  # strict JSON
    for key in (
        "task",
        "label",
        "classes",
        "positive_class",
        "budget",
        "seed",
        "split_sha256",
        "primary_metric",
        "models",
        "controls",
        "comparisons",
        "selected",
        "findings",
        "versions",
    ):
        assert key in r
    assert r["classes"] == ["case", "control"] and r["primary_metric"] == "auprc"
    entry = r["models"]["logistic_regression"]
    for key in (
        "family",
        "kind",
        "params",
        "seed",
        "n_trials",
        "cv_score",
        "trials",
        "metrics",
        "curves",
        "duration_s",
    ):
        assert key in entry
    assert entry["metrics"]["test"] is None
    assert set(entry["metrics"]["tune"]) == {"auprc", "auroc", "balanced_accuracy", "mcc", "f1", "brier"}
    assert {"roc", "pr", "calibration"} <= set(entry["curves"])
    assert "learning_curve" in r["models"][r["selected"]]["curves"]
    # the marker baseline joins every comparison, with the column it chose on the training side
    assert {c["b"] for c in r["comparisons"]} == (set(FAST) | {"best_single_feature"}) - {r["selected"]}
    assert r["models"]["best_single_feature"]["chosen_feature"].startswith("f")


def test_every_family_gets_the_same_recorded_budget(signal_results):
    models = signal_results["models"]
    for name in ("logistic_regression", "knn"):
        assert models[name]["n_trials"] == 3
        assert len(models[name]["trials"]) == 3
        assert all({"number", "params", "value", "state"} <= set(t) for t in models[name]["trials"])
    assert models["dummy"]["n_trials"] == 1 and models["dummy"]["tuning_note"] == "no hyper-parameters; 1 fit"
    assert check_equal_tuning(signal_results) == []


def test_unequal_budgets_are_flagged(signal_results):
    r = json.loads(json.dumps(signal_results))
    r["models"]["knn"]["n_trials"] = 1
    found = check_equal_tuning(r)
    assert [f.code for f in found] == ["unequal_tuning"]
    assert found[0].evidence["n_trials"] == {"logistic_regression": 3, "knn": 1}
    r["models"]["knn"]["n_trials"] = 3
    r["models"]["dummy"]["n_trials"] = 1  # no hyper-parameters: not a tuning budget
    assert check_equal_tuning(r) == []


def test_overfitting_is_flagged_for_a_large_gap_only(signal_results):
    r = json.loads(json.dumps(signal_results))
    sel, metric = r["selected"], r["primary_metric"]
    m = r["models"][sel]["metrics"]
    m["train"][metric] = {"value": 1.0, "low": 1.0, "high": 1.0}
    m["tune"][metric] = {"value": 0.6, "low": 0.5, "high": 0.7}
    assert [f.code for f in check_overfitting(r)] == ["overfitting"]
    m["tune"][metric] = {"value": 0.8, "low": 0.7, "high": 0.9}  # near miss: gap 0.2
    assert check_overfitting(r) == []


def test_no_signal_is_found(signal_results):
    df, roles, split = simulate(signal=0.0, seed=3)
    r = run_baselines(
        df, roles, split, models=("dummy", "logistic_regression"), budget=3, n_shuffles=20, n_boot=200
    )
    codes = {f["code"] for f in r["findings"]}
    assert "no_signal" in codes
    assert "no better" in r["statement"]


def test_preprocessing_is_fitted_on_training_rows_only():
    df, roles, split = simulate(missing=0.1)
    model = fit_model(df, roles, split, family="logistic_regression", params={"C": 1.0})
    X, _ = model_inputs(df, roles)
    train = X[split.indices("train")]
    imputed = np.where(np.isnan(train), np.nanmedian(train, axis=0), train)
    assert np.allclose(model.named_steps["impute"].statistics_, np.nanmedian(train, axis=0))
    assert np.allclose(model.named_steps["scale"].mean_, imputed.mean(axis=0))
    assert not np.allclose(model.named_steps["scale"].mean_, np.nanmean(X, axis=0), atol=1e-6)
    assert model.deeprules_classes_ == ["case", "control"]


def test_regression_signal_is_recovered_without_split_folds():
    df, roles, split = simulate(task="regression", folds=0)
    r = run_baselines(
        df, roles, split, models=("dummy", "logistic_regression"), budget=3, n_shuffles=3, n_boot=100
    )
    assert r["primary_metric"] == "r2" and "made on the training side" in r["cv"]["source"]
    tune = r["models"]["logistic_regression"]["metrics"]["tune"]
    assert tune["r2"]["value"] > 0.5 and tune["spearman"]["low"] > 0
    assert set(tune) == {"r2", "mae", "rmse", "spearman"}
    assert r["models"]["logistic_regression"]["estimator"] == "ElasticNet"


@pytest.mark.slow
def test_every_family_runs_on_a_small_problem():
    df, roles, split = simulate(n_groups=60)
    r = run_baselines(df, roles, split, budget=2, n_shuffles=2, n_boot=50)
    assert set(r["models"]) == {
        "dummy",
        "best_single_feature",
        "logistic_regression",
        "random_forest",
        "gradient_boosting",
        "knn",
    }
    assert all(m["metrics"]["tune"]["auroc"]["value"] > 0.6 for n, m in r["models"].items() if n != "dummy")


def test_bad_inputs_are_refused_with_a_reason():
    df, roles, split = simulate(n_groups=20)
    with pytest.raises(ModelError, match="Unknown baseline"):
        run_baselines(df, roles, split, models=("svm",))
    with pytest.raises(ModelError, match="budget"):
        run_baselines(df, roles, split, budget=0)
    with pytest.raises(SplitError, match="another table"):
        run_baselines(df.iloc[:10], roles, split)


def test_batch_correction_in_the_pipeline_and_the_metadata_only_control():
    from dataclasses import replace

    df, roles, split = simulate(n_groups=80)
    rng = np.random.default_rng(1)
    df["plate"] = np.where(np.arange(len(df)) % 3 == 0, "p1", "p2")
    df["age"] = rng.normal(50, 10, len(df))
    roles = replace(roles, batch=("plate",), covariates=("age",))
    r = run_baselines(
        df,
        roles,
        split,
        models=("dummy", "logistic_regression"),
        budget=2,
        n_shuffles=2,
        n_boot=50,
        batch_correct=True,
    )
    assert r["preprocessing"]["steps"][:2] == ["median imputation", "batch correction"]
    assert r["models"]["logistic_regression"]["metrics"]["tune"]["auroc"]["value"] > 0.8
    meta = r["controls"]["metadata_only"]
    if meta is not None:  # from the confounds step, when installed
        assert meta["excluded_test_rows"] and set(meta["columns"]) == {"plate", "age"}
    model = fit_model(df, roles, split, family="logistic_regression", params={}, batch_correct=True)
    assert "batch" in model.named_steps


def test_the_wide_table_filter_keeps_signal_features_of_ordinary_variance():
    from deeprules_core.modeling._models import WIDE_FEATURES, UnivariateFilter, make_pipeline

    rng = np.random.default_rng(0)
    n, p = 120, WIDE_FEATURES + 1000
    X = rng.normal(size=(n, p))
    X[:, 100:110] *= 3.0  # noisy high-variance features: a variance filter would prefer them
    y = (X[:, :5].sum(axis=1) + rng.normal(size=n) > 0).astype(int)  # signal in 5 unit-variance features
    kept = UnivariateFilter(WIDE_FEATURES, task="classification").fit(X, y).support_
    assert set(range(5)) <= set(kept) and len(kept) == WIDE_FEATURES
    r = rng.normal(size=n) + 2 * X[:, 7]
    assert 7 in UnivariateFilter(10, task="regression").fit(X, r).support_
    # inside the pipeline it is fitted with the training labels only
    pipe = make_pipeline("logistic_regression", {"C": 1.0}, task="classification", n_features=p).fit(
        X[:80], y[:80]
    )
    assert pipe.named_steps["feature_filter"].n_features_in_ == p
    assert set(range(5)) <= set(pipe.named_steps["feature_filter"].support_)


def test_boosting_bins_without_the_class_weights_but_still_weighs_the_classes():
    from deeprules_core.modeling._models import make_estimator

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] + rng.normal(size=400) > 1.2).astype(int)  # imbalanced, ~1:6
    params = {"max_iter": 20, "class_weight": "balanced"}
    weighted = make_estimator("gradient_boosting", params, task="classification").fit(X, y)
    plain = make_estimator("gradient_boosting", {"max_iter": 20}, task="classification").fit(X, y)
    # the bin edges are the unweighted ones (the override of scikit-learn's _bin_data holds)
    for a, b in zip(weighted._bin_mapper.bin_thresholds_, plain._bin_mapper.bin_thresholds_, strict=True):
        assert np.array_equal(a, b)
    # and the class weights still act: the minority class gets more of the probability
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.1
