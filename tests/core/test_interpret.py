"""Interpretation engine: permutation importance, coefficients, one-sample views, agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from deeprules_core.errors import ModelError
from deeprules_core.interpret import (
    agreement_table,
    explain_sample,
    group_permutation,
    linear_coefficients,
    occlusion_contributions,
    permutation_importance_grouped,
    rank_agreement,
)

PLANTED = ["f0", "f1"]


def simulated(n: int = 300, p: int = 10, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i}" for i in range(p)])
    logit = 2.5 * X["f0"] - 2.0 * X["f1"]
    y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int), name="y")
    return X, y


def _pipeline(est):
    return Pipeline(
        [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler()), ("model", est)]
    )


@pytest.mark.parametrize(
    "est", [LogisticRegression(), RandomForestClassifier(n_estimators=60, random_state=0, n_jobs=1)]
)
def test_planted_features_rank_on_top_with_permutation(est):
    X, y = simulated()
    model = _pipeline(est).fit(X.iloc[:200], y.iloc[:200])
    imp = permutation_importance_grouped(model, X.iloc[200:], y.iloc[200:], scoring="auroc", n_repeats=5)
    assert set(imp["feature"].head(2)) == set(PLANTED)
    assert list(imp.columns[:5]) == ["feature", "importance", "std", "low", "high"]
    # the planted features' intervals lie above zero; noise features hover around zero
    planted = imp.set_index("feature").loc[PLANTED]
    assert (planted["low"] > 0.05).all()
    noise = imp.set_index("feature").drop(PLANTED)
    assert noise["importance"].abs().max() < 0.05
    assert (imp["low"] <= imp["importance"]).all() and (imp["importance"] <= imp["high"]).all()
    assert imp.attrs["baseline_score"] > 0.8 and imp.attrs["n_repeats"] == 5


def test_regression_scoring_and_numpy_fitted_models():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(240, 5)), columns=list("abcde"))
    y = 3 * X["c"] + 0.2 * rng.normal(size=240)
    model = RandomForestRegressor(n_estimators=40, random_state=0, n_jobs=1).fit(X.to_numpy()[:160], y[:160])
    imp = permutation_importance_grouped(model, X.iloc[160:], y.iloc[160:], scoring="r2", n_repeats=3)
    assert imp["feature"].iloc[0] == "c"
    assert imp["importance"].iloc[0] > 0.5


def test_screen_keeps_the_planted_features_of_a_wide_table():
    X, y = simulated(n=260, p=400, seed=2)
    model = LogisticRegression(C=0.1).fit(X.iloc[:180], y.iloc[:180])
    imp = permutation_importance_grouped(
        model, X.iloc[180:], y.iloc[180:], scoring="auroc", n_repeats=3, max_features=20
    )
    assert len(imp) == 20 and imp.attrs["screened_out"] == 380
    assert set(imp["feature"].head(2)) == set(PLANTED)


def test_group_permutation_moves_whole_groups():
    rng = np.random.default_rng(0)
    groups = np.repeat([f"g{i}" for i in range(30)], 4)
    idx = group_permutation(groups, rng)
    # every group receives all its values from one single source group
    for g in np.unique(groups):
        sources = {groups[j] for j in idx[groups == g]}
        assert len(sources) == 1
    # equal sizes: the values are a true permutation (nothing duplicated or lost)
    assert sorted(idx.tolist()) == list(range(len(groups)))
    # and the groups really move
    assert np.mean([groups[idx[i]] != groups[i] for i in range(len(groups))]) > 0.5
    # one row per group: an ordinary permutation
    single = group_permutation(np.arange(50), rng)
    assert sorted(single.tolist()) == list(range(50))


def test_group_aware_permutation_importance_keeps_the_group_structure():
    # a feature constant within each patient: a group-aware shuffle keeps it constant
    rng = np.random.default_rng(3)
    patients = np.repeat(np.arange(40), 3)
    level = rng.normal(size=40)[patients]
    X = pd.DataFrame({"patient_level": level, "noise": rng.normal(size=120)})
    y = (level + 0.3 * rng.normal(size=120) > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    seen = []

    class Spy:
        classes_ = model.classes_

        def predict_proba(self, Z):
            Z = np.asarray(Z)
            for b in range(len(Z) // 120):
                block = Z[b * 120 : (b + 1) * 120, 0]
                seen.append(np.ptp(block.reshape(40, 3), axis=1).max())
            return model.predict_proba(pd.DataFrame(Z, columns=X.columns))

    imp = permutation_importance_grouped(Spy(), X, y, groups=patients, scoring="auroc", n_repeats=4)
    assert imp["feature"].iloc[0] == "patient_level" and imp.attrs["group_aware"]
    assert max(seen) == 0.0  # within-patient values stayed identical in every shuffled copy


def test_permutation_errors_speak_plainly():
    X, y = simulated(n=40)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ModelError, match="n_repeats"):
        permutation_importance_grouped(model, X, y, n_repeats=1)
    with pytest.raises(ModelError, match="single class"):
        permutation_importance_grouped(model, X, np.zeros(40, dtype=int))
    with pytest.raises(ModelError, match="scoring"):
        permutation_importance_grouped(model, X, y, scoring="accuracy_ish")


def test_linear_coefficients_map_back_to_names():
    X, y = simulated()
    pipe = _pipeline(LogisticRegression()).fit(X, y)
    coefs = linear_coefficients(pipe)
    assert coefs["feature"].head(2).tolist() == ["f0", "f1"]
    row = coefs.set_index("feature")
    assert row.loc["f0", "coefficient"] > 0 > row.loc["f1", "coefficient"]
    assert coefs.attrs["standardized"]
    with pytest.raises(ModelError, match="not a linear model"):
        linear_coefficients(_pipeline(RandomForestClassifier(n_estimators=5)).fit(X, y))


def test_linear_coefficients_follow_a_feature_filter():
    class KeepLast(SimpleImputer):
        def fit(self, X, y=None):
            super().fit(X, y)
            self.support_ = np.array([2, 3])
            return self

        def transform(self, X):
            return np.asarray(X)[:, self.support_]

    X, y = simulated(p=4)
    pipe = Pipeline([("keep", KeepLast()), ("model", LogisticRegression())]).fit(X, y)
    assert set(linear_coefficients(pipe)["feature"]) == {"f2", "f3"}


def test_explain_sample_occlusion_finds_the_driving_feature():
    X, y = simulated()
    model = _pipeline(LogisticRegression()).fit(X, y)
    row = int(np.argmax(X["f0"].to_numpy()))  # a sample pushed to class 1 by f0
    out = explain_sample(model, X, row, top=3)
    assert out["feature"].iloc[0] == "f0" and out["contribution"].iloc[0] > 0
    assert len(out) == 3 and out.attrs["method"] == "occlusion"
    # vectorised over rows: the same numbers as one at a time
    contrib, base, names = occlusion_contributions(model, X, [row, 0, 5], reference=X.median())
    assert np.allclose(
        contrib[0], explain_sample(model, X, row, top=10).set_index("feature").loc[names, "contribution"]
    )
    with pytest.raises(ModelError, match="outside"):
        explain_sample(model, X, 10_000)


def test_explain_sample_linear_model_known_answer():
    # for a linear regression, occlusion with the median reference is w_j * (x_j - median_j)
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(50, 3)), columns=list("abc"))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = LinearRegression().fit(X, y)
    out = explain_sample(model, X, 7, top=3).set_index("feature")
    expected = model.coef_ * (X.iloc[7] - X.median())
    assert np.allclose(out.loc[list("abc"), "contribution"], expected[list("abc")])


def test_rank_agreement_known_answers():
    a = {f"g{i}": float(10 - i) for i in range(10)}
    same = rank_agreement(a, {k: 2 * v for k, v in a.items()}, top=3)
    assert same["spearman"] == pytest.approx(1.0) and same["jaccard"] == 1.0 and same["overlap"] == 3
    rev = rank_agreement(a, {k: -v for k, v in a.items()}, top=3)
    assert rev["spearman"] == pytest.approx(-1.0) and rev["overlap"] == 0 and rev["jaccard"] == 0.0
    half = rank_agreement({"a": 3, "b": 2, "c": 1, "d": 0}, {"a": 3, "c": 2, "b": 0, "d": 1}, top=2)
    assert half["shared_top"] == ["a"] and half["jaccard"] == pytest.approx(1 / 3)
    few = rank_agreement({"a": 1, "b": 2}, {"a": 1, "c": 2}, top=5)
    assert few["n_shared"] == 1 and few["spearman"] is None
    table = agreement_table(a, {k: -v for k, v in a.items()}, top=2)
    assert set(table["feature"]) == {"g0", "g1", "g8", "g9"}
    assert table["importance_a"].max() == pytest.approx(1.0)
    with pytest.raises(ModelError, match="top"):
        rank_agreement(a, a, top=0)


def test_auto_scoring_is_the_brier_score_for_classifiers():
    from sklearn.metrics import brier_score_loss

    X, y = simulated()
    model = LogisticRegression().fit(X.iloc[:200], y.iloc[:200])
    imp = permutation_importance_grouped(model, X.iloc[200:], y.iloc[200:], n_repeats=2)
    p1 = model.predict_proba(X.iloc[200:])[:, 1]
    assert imp.attrs["scoring"] == "neg_brier"
    # the two-class Brier score summed over both classes is twice scikit-learn's
    assert imp.attrs["baseline_score"] == pytest.approx(-2 * brier_score_loss(y.iloc[200:], p1))
    assert set(imp["feature"].head(2)) == set(PLANTED)
