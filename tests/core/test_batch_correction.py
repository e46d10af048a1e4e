"""BatchCorrector: known answers, train-only fitting, unseen levels, refusal when confounded."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from deeprules_core.confounds import (
    BatchConfoundedError,
    BatchCorrectionError,
    BatchCorrector,
    ColumnBatchCorrector,
    check_correction_allowed,
)
from deeprules_core.confounds._simulate import simulate_batch_study
from deeprules_core.errors import DeepRulesError


def _shifted(seed=0, n=60, p=8, shift=4.0, scale=2.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    batch = np.repeat(["a", "b", "c"], n // 3)
    X[batch == "b"] += shift
    X[batch == "c"] *= scale
    return X, batch


def test_init_only_stores_parameters_and_clone_works():
    bc = BatchCorrector(method="location_scale", unseen="error")
    assert bc.get_params() == {"method": "location_scale", "unseen": "error"}
    assert clone(bc).get_params() == bc.get_params()
    assert not hasattr(bc, "gamma_")


@pytest.mark.parametrize("method", ["location_scale", "combat"])
def test_removes_a_planted_location_shift(method):
    X, batch = _shifted()
    Xc = BatchCorrector(method=method).fit(X, batch).transform(X, batch)
    means = np.array([Xc[batch == b].mean(axis=0) for b in "abc"])
    sds = np.array([Xc[batch == b].std(axis=0, ddof=1) for b in "abc"])
    assert np.abs(means - means.mean(axis=0)).max() < (1e-8 if method == "location_scale" else 0.3)
    assert np.abs(np.log(sds / sds.mean(axis=0))).max() < (1e-8 if method == "location_scale" else 0.3)
    # before: 4 SD apart
    assert np.abs(X[batch == "b"].mean(0) - X[batch == "a"].mean(0)).min() > 3


def test_location_scale_known_answer():
    X = np.array([[1.0], [3.0], [11.0], [13.0]])
    batch = ["a", "a", "b", "b"]
    bc = BatchCorrector(method="location_scale").fit(X, batch)
    # batch means 2 and 12, grand mean 7, pooled within-batch sd sqrt((1+1+1+1)/(4-2)) = sqrt(2)
    assert bc.grand_mean_[0] == pytest.approx(7.0)
    assert bc.pooled_sd_[0] == pytest.approx(np.sqrt(2.0))
    np.testing.assert_allclose(bc.transform(X, batch).ravel(), [6.0, 8.0, 6.0, 8.0])


def test_transform_uses_the_parameters_fitted_on_training_data():
    X, batch = _shifted(seed=1, n=90)
    train = np.arange(90) % 3 != 0
    test = ~train
    bc = BatchCorrector(method="location_scale").fit(X[train], batch[train])
    Xt = bc.transform(X[test], batch[test])
    # by hand, from training statistics only
    mu = {b: X[train & (batch == b)].mean(0) for b in "abc"}
    sd = {b: X[train & (batch == b)].std(0, ddof=1) for b in "abc"}
    expect = np.vstack(
        [
            (x - mu[b]) / sd[b] * bc.pooled_sd_ + bc.grand_mean_
            for x, b in zip(X[test], batch[test], strict=True)
        ]
    )
    pooled = np.sqrt(sum(((X[train & (batch == b)] - mu[b]) ** 2).sum(0) for b in "abc") / (train.sum() - 3))
    np.testing.assert_allclose(bc.pooled_sd_, pooled)
    np.testing.assert_allclose(Xt, expect, rtol=1e-10)
    refit = BatchCorrector(method="location_scale").fit(X[test], batch[test]).transform(X[test], batch[test])
    assert not np.allclose(Xt, refit)


def test_combat_shrinks_small_batches_towards_the_prior():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 300))
    batch = np.array(["big"] * 60 + ["tiny"] * 4)
    X[batch == "tiny"] += 1.0
    ls = BatchCorrector(method="location_scale").fit(X, batch)
    cb = BatchCorrector(method="combat").fit(X, batch)
    # the tiny batch's per-feature location estimates are noisy; ComBat pulls them together
    assert cb.gamma_[1].std() < ls.gamma_[1].std()
    assert cb.gamma_[1].mean() == pytest.approx(ls.gamma_[1].mean(), abs=0.05)
    assert cb.priors_["n_iter"] < 1000


def test_missing_values_stay_missing_and_do_not_spoil_the_estimates():
    X, batch = _shifted(seed=2)
    X[3, 1] = np.nan
    Xc = BatchCorrector(method="combat").fit(X, batch).transform(X, batch)
    assert np.isnan(Xc[3, 1]) and np.isfinite(np.delete(Xc.ravel(), 3 * X.shape[1] + 1)).all()


def test_unseen_batch_is_left_uncorrected_with_a_warning_or_refused():
    X, batch = _shifted()
    bc = BatchCorrector(method="location_scale").fit(X, batch)
    new = X[:5] + 10
    with pytest.warns(UserWarning, match=r"\['z'\].*not in the training data"):
        out = bc.transform(new, ["z"] * 5)
    np.testing.assert_array_equal(out, new)
    strict = BatchCorrector(method="location_scale", unseen="error").fit(X, batch)
    with pytest.raises(BatchCorrectionError, match="not in the training data"):
        strict.transform(new, ["z"] * 5)


def test_bad_inputs_raise_clear_errors():
    X, batch = _shifted()
    with pytest.raises(DeepRulesError, match="fewer than 2 training samples"):
        BatchCorrector(unseen="error").fit(X[:21], batch[:21])
    with pytest.raises(DeepRulesError, match="fewer than two batches"):
        BatchCorrector().fit(X[:20], batch[:20])
    with pytest.raises(DeepRulesError, match="'method' parameter"):
        BatchCorrector(method="magic").fit(X, batch)
    bc = BatchCorrector().fit(X, batch)
    with pytest.raises(DeepRulesError, match="features"):
        bc.transform(X[:, :3], batch)


def test_column_wrapper_inside_a_pipeline():
    X, batch = _shifted(n=90)
    codes = np.searchsorted(np.array(["a", "b", "c"]), batch).astype(float)
    y = np.tile([0, 1], 45)
    Xb = np.column_stack([X, codes])
    train, test = np.arange(90) % 3 != 0, np.arange(90) % 3 == 0
    pipe = Pipeline(
        [("batch", ColumnBatchCorrector(method="location_scale")), ("model", LogisticRegression())]
    )
    pipe.fit(Xb[train], y[train])
    assert pipe.predict(Xb[test]).shape == (30,)
    step = pipe.named_steps["batch"]
    direct = (
        BatchCorrector(method="location_scale").fit(X[train], codes[train]).transform(X[test], codes[test])
    )
    np.testing.assert_allclose(step.transform(Xb[test]), direct)


def test_correction_is_refused_when_batch_and_label_are_confounded():
    df, roles = simulate_batch_study(n=120, p=10, confounding=1.0, seed=0)
    with pytest.raises(BatchConfoundedError, match="would|removes it") as info:
        check_correction_allowed(df, roles, "plate")
    assert isinstance(info.value, DeepRulesError)
    assert "single class" in str(info.value)
    ok, roles_ok = simulate_batch_study(n=120, p=10, seed=0)
    assert check_correction_allowed(ok, roles_ok, "plate")["allowed"] is True


def test_combat_with_large_batches_matches_location_scale_and_is_a_fixed_point():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 20))
    batch = np.repeat(["a", "b"], 500)
    # shifts and scales that differ between features (as real batch effects do)
    X[batch == "b"] = X[batch == "b"] * np.exp(rng.normal(0.4, 0.3, 20)) + rng.normal(2.0, 1.0, 20)
    cb = BatchCorrector(method="combat").fit(X, batch)
    ls = BatchCorrector(method="location_scale").fit(X, batch)
    Xc, Xl = cb.transform(X, batch), ls.transform(X, batch)
    # same batch means and spreads as plain standardisation; per-feature scales differ only by
    # the empirical Bayes shrinkage of their sampling noise
    for lev in ("a", "b"):
        np.testing.assert_allclose(Xc[batch == lev].mean(0), Xl[batch == lev].mean(0), atol=0.02)
        np.testing.assert_allclose(Xc[batch == lev].std(0), Xl[batch == lev].std(0), rtol=0.1)
    # the empirical Bayes estimates satisfy ComBat's posterior equations
    pr = cb.priors_
    Z = (X - cb.grand_mean_) / cb.pooled_sd_
    for k, lev in enumerate(cb.batches_):
        z = Z[batch == lev]
        n = len(z)
        g_hat = z.mean(0)
        g = (n * pr["tau2"][k] * g_hat + cb.delta2_[k] * pr["gamma_bar"][k]) / (
            n * pr["tau2"][k] + cb.delta2_[k]
        )
        d = (pr["b"][k] + 0.5 * ((z - cb.gamma_[k]) ** 2).sum(0)) / (n / 2 + pr["a"][k] - 1)
        np.testing.assert_allclose(cb.gamma_[k], g, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(cb.delta2_[k], d, rtol=1e-3)


def test_a_batch_with_one_training_sample_is_left_uncorrected_by_default():
    X, batch = _shifted()
    rows = np.r_[0:41]  # 20 of 'a', 20 of 'b', 1 of 'c'
    with pytest.warns(UserWarning, match=r"\['c'\].*fewer than 2 training samples"):
        bc = BatchCorrector(method="location_scale").fit(X[rows], batch[rows])
    assert list(bc.batches_) == ["a", "b"]
    with pytest.warns(UserWarning, match="not in the training data"):
        out = bc.transform(X[40:45], batch[40:45])
    np.testing.assert_array_equal(out, X[40:45])
