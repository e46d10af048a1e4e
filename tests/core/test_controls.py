"""Controls: label permutation that respects replicates, the shuffled-label p-value,
no_signal (planted and near miss), the learning curve and the dummy comparison."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from deeprules_core.modeling import check_baseline_beaten, check_no_signal, learning_curve, permute_labels
from deeprules_core.modeling._controls import permutation_kind, shuffled_label_control


def test_group_constant_labels_are_permuted_across_groups():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"g{i}" for i in range(30)], 3)
    y = np.repeat(rng.integers(0, 2, 30), 3)
    assert permutation_kind(y, groups) == "across_groups"
    moved = False
    for _ in range(5):
        y2 = permute_labels(y, groups, rng)
        per_group = {g: set(y2[groups == g]) for g in np.unique(groups)}
        assert all(len(v) == 1 for v in per_group.values())  # replicates keep one label
        assert Counter(y2.tolist()) == Counter(y.tolist())
        moved |= not np.array_equal(y2, y)
    assert moved


def test_labels_varying_within_groups_keep_each_groups_mix():
    rng = np.random.default_rng(1)
    groups = np.repeat([f"g{i}" for i in range(20)], 4)
    y = np.tile([0, 0, 1, 1], 20)  # before / after treatment in every patient
    assert permutation_kind(y, groups) == "between_groups"
    y2 = permute_labels(y, groups, rng)
    for g in np.unique(groups):
        assert sorted(y2[groups == g]) == [0, 0, 1, 1]
    assert not np.array_equal(y2, y)


def test_a_mix_of_single_and_several_label_groups_is_really_shuffled():
    # half the groups hold one label, half hold two (a group column reused across
    # species, as in a real field data set): a within-group shuffle would leave the
    # single-label half untouched and change only a few labels
    rng = np.random.default_rng(3)
    single = np.repeat([f"s{i}" for i in range(60)], 2)
    y_single = np.repeat(rng.integers(0, 3, 60), 2)
    mixed = np.repeat([f"m{i}" for i in range(60)], 2)
    y_mixed = np.concatenate([rng.choice(3, 2, replace=False) for _ in range(60)])
    groups, y = np.concatenate([single, mixed]), np.concatenate([y_single, y_mixed])
    changed = np.mean([np.mean(permute_labels(y, groups, rng) != y) for _ in range(20)])
    assert changed > 0.55  # ~2/3 of the labels change under a real shuffle of 3 balanced classes


def test_rows_are_permuted_without_groups():
    y = np.arange(50)
    y2 = permute_labels(y, None, np.random.default_rng(2))
    assert sorted(y2) == list(y) and not np.array_equal(y2, y)


def _data(signal, n=160, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = ((signal * X[:, 0] + rng.normal(size=n)) > 0).astype(int)
    return X, y, np.arange(0, 120), np.arange(120, n)


def _folds(rows, k=4, seed=0):
    from sklearn.model_selection import KFold

    return [(rows[a], rows[b]) for a, b in KFold(k, shuffle=True, random_state=seed).split(rows)]


def _control(X, y, tr, n=20, groups=None):
    return shuffled_label_control(
        X,
        y,
        folds=_folds(tr),
        train_rows=tr,
        groups=groups,
        family="logistic_regression",
        params={"C": 1.0},
        task="classification",
        n_classes=2,
        positive=1,
        n_shuffles=n,
        seed=0,
    )


@pytest.mark.parametrize("signal,expect_small_p", [(3.0, True), (0.0, False)])
def test_shuffled_label_control_p_value(signal, expect_small_p):
    X, y, tr, _ = _data(signal)
    ctrl = _control(X, y, tr)
    k = sum(v >= ctrl["real"] - 1e-12 for v in ctrl["null"])
    assert ctrl["p_value"] == pytest.approx((1 + k) / 21)
    assert (ctrl["p_value"] <= 0.05) == expect_small_p
    assert "cross-validation" in ctrl["scored_on"] and len(ctrl["null"]) == 20 and ctrl["conclusive"]


def test_the_null_is_centred_on_chance_on_data_with_a_strong_structure_unrelated_to_the_label():
    """Two big clusters (half the features shifted by 4 SD in half the samples), a label
    independent of them: the old null (fitted on shuffled labels, scored on the real tune
    labels) sits wherever the clusters put it; the permutation null sits at chance (AUPRC
    = the positive share), and the real score is no better than it."""
    rng = np.random.default_rng(3)
    n, p = 100, 30
    cluster = rng.integers(0, 2, n)
    X = rng.normal(size=(n, p)) + 4.0 * cluster[:, None] * (np.arange(p) < p // 2)
    y = rng.integers(0, 2, n)
    tr = np.arange(n)
    ctrl = _control(X, y, tr, n=40)
    chance = float(y.mean())
    assert abs(float(np.mean(ctrl["null"])) - chance) < 0.06
    assert ctrl["p_value"] > 0.05


def _results(real, null, p, model="logistic_regression"):
    return {
        "controls": {
            "shuffled_label": {"model": model, "metric": "auprc", "real": real, "null": null, "p_value": p}
        }
    }


def test_no_signal_planted_and_near_miss():
    null = list(np.linspace(0.4, 0.6, 20))
    assert [f.code for f in check_no_signal(_results(0.55, null, 0.45))] == ["no_signal"]
    assert check_no_signal(_results(0.61, null, 1 / 21)) == []  # beats every permutation: p = 0.048
    # too few permutations for p < 0.05: inconclusive (a note), never no_signal
    assert [f.code for f in check_no_signal(_results(0.58, [0.5, 0.6, 0.55], 0.5))] == [
        "control_inconclusive"
    ]
    assert [f.severity for f in check_no_signal(_results(0.7, [0.5, 0.6, 0.55], 0.25))] == ["info"]
    # never about the dummy
    assert check_no_signal(_results(0.3, null, 0.9, model="dummy")) == []


def test_baseline_not_beaten_planted_and_near_miss():
    r = {
        "selected": "lr",
        "task": "classification",
        "models": {"lr": {"family": "logistic_regression"}, "dummy": {"family": "dummy"}},
        "comparisons": [
            {"a": "lr", "b": "dummy", "metric": "auprc", "diff": 0.05, "low": -0.02, "high": 0.1}
        ],
    }
    assert [f.code for f in check_baseline_beaten(r)] == ["baseline_not_beaten"]
    r["comparisons"][0]["low"] = 0.01
    assert check_baseline_beaten(r) == []


def test_learning_curve_is_group_aware_and_grows():
    X, y, tr, tu = _data(3.0, n=200)
    groups = np.repeat(np.arange(100), 2).astype(str)
    lc = learning_curve(
        X,
        y,
        train_rows=tr,
        tune_rows=tu,
        groups=groups,
        family="logistic_regression",
        params={"C": 1.0},
        task="classification",
        n_classes=2,
        positive=1,
    )
    assert lc["n_train"] == sorted(lc["n_train"]) and lc["n_train"][-1] == len(tr)
    assert all(n % 2 == 0 for n in lc["n_train"])  # whole individuals only
    assert lc["tune"][-1] > 0.7


def _entry(family, cv, tune, kind="baseline"):
    return {"family": family, "kind": kind, "cv_score": cv, "metrics": {"tune": {"auprc": {"value": tune}}}}


def test_selection_uses_the_shared_tune_score_and_prefers_the_simpler_model():
    from deeprules_core.modeling import select_model

    results = {
        "primary_metric": "auprc",
        "models": {
            "dummy": _entry("dummy", 0.5, 0.5),
            "logistic_regression": _entry("logistic_regression", 0.95, 0.97),
            # the deep search's best-of-trials score on one fold is higher but not comparable
            "mlp": _entry("mlp", 1.0, 0.96, kind="deep"),
        },
    }
    assert select_model(results) == "logistic_regression"
    results["models"]["mlp"]["metrics"]["tune"]["auprc"]["value"] = 0.97  # a tie
    assert select_model(results) == "logistic_regression"
    results["models"]["mlp"]["metrics"]["tune"]["auprc"]["value"] = 0.99
    assert select_model(results) == "mlp"
    del results["models"]["dummy"]["metrics"], results["models"]["logistic_regression"]["metrics"]
    del results["models"]["mlp"]["metrics"]  # no tune scores: the CV scores decide
    assert select_model(results) == "mlp"


@pytest.mark.parametrize("p, family", [(40, "logistic_regression"), (2300, "logistic_regression")])
def test_control_scores_equal_refitting_the_whole_pipeline(p, family):
    # the control fits the label-free steps once per fold; refitting the whole Pipeline on
    # every fold of every labelling (what scikit-learn's permutation_test_score does) must
    # give the same numbers, on a narrow table and on a wide one (label-associated filter)
    from deeprules_core.modeling._controls import permuted_labellings
    from deeprules_core.modeling._models import make_pipeline
    from deeprules_core.modeling._tuning import predict_scores, score_primary

    rng = np.random.default_rng(5)
    n = 80
    y = rng.integers(0, 2, n)
    X = rng.normal(size=(n, p))
    X[:, :20] += 1.5 * y[:, None]  # twenty informative features
    X[rng.random(X.shape) < 0.02] = np.nan  # imputation is part of the pipeline
    rows = np.arange(n)
    folds = [(rows[rows % 4 != k], rows[rows % 4 == k]) for k in range(4)]
    params = {"C": 0.5}
    out = shuffled_label_control(
        X, y, folds=folds, train_rows=rows, groups=None, family=family, params=params,
        task="classification", n_classes=2, positive=1, n_shuffles=3, seed=2,
    )  # fmt: skip

    def refit_score(labels):
        scores = []
        for fit, val in folds:
            pipe = make_pipeline(family, params, task="classification", n_features=p, seed=2)
            pipe.fit(X[fit], labels[fit])
            pred = predict_scores(pipe, X[val], task="classification", n_classes=2)
            scores.append(score_primary(labels[val], pred, task="classification", n_classes=2, positive=1))
        return float(np.mean(scores))

    real, *null = [
        refit_score(lab)
        for lab in permuted_labellings(y, train_rows=rows, groups=None, n_permutations=3, seed=2)
    ]
    assert out["real"] == pytest.approx(real, abs=1e-12)
    assert out["null"] == pytest.approx(null, abs=1e-12)
    assert out["real"] > max(out["null"])  # a real signal beats every shuffle here
