"""The metric panel: known answers, agreement with scikit-learn, group-aware intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    brier_score_loss,
    f1_score,
    matthews_corrcoef,
    r2_score,
    roc_auc_score,
)
from sklearn.preprocessing import label_binarize

from deeprules_core.errors import ModelError
from deeprules_core.modeling import calibration_curve_data, metric_panel, paired_difference
from deeprules_core.modeling._metrics import bootstrap_weights, metric_values


def _binary(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(np.round(0.35 * y + rng.random(n) * 0.65, 2), 0, 1)
    return y, np.column_stack([1 - s, s])


def test_perfect_scores_give_one_and_zero_brier():
    y = np.array(["a", "a", "b", "b", "b"])
    p = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [0, 1]], dtype=float)
    panel = metric_panel(y, p, task="classification", n_boot=100)
    for m in ("auprc", "auroc", "balanced_accuracy", "mcc", "f1"):
        assert panel[m]["value"] == pytest.approx(1.0)
    assert panel["brier"]["value"] == pytest.approx(0.0)


def test_constant_scores_give_auroc_half_and_auprc_prevalence():
    y = np.array([0, 0, 0, 1])
    p = np.full((4, 2), 0.5)
    panel = metric_panel(y, p, task="classification", n_boot=0)
    assert panel["auroc"]["value"] == pytest.approx(0.5)
    assert panel["auprc"]["value"] == pytest.approx(0.25)
    assert np.isnan(panel["auroc"]["low"])


def test_binary_point_estimates_match_scikit_learn():
    y, p = _binary()
    panel = metric_panel(y, p, task="classification", n_boot=0)
    pred = p.argmax(1)
    assert panel["auroc"]["value"] == pytest.approx(roc_auc_score(y, p[:, 1]))
    assert panel["auprc"]["value"] == pytest.approx(average_precision_score(y, p[:, 1]))
    assert panel["balanced_accuracy"]["value"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert panel["mcc"]["value"] == pytest.approx(matthews_corrcoef(y, pred))
    assert panel["f1"]["value"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert panel["brier"]["value"] == pytest.approx(brier_score_loss(y, p[:, 1]))


def test_positive_class_chooses_the_precision_recall_problem():
    y, p = _binary()
    panel = metric_panel(y, p, task="classification", n_boot=0, positive_class=0)
    assert panel["auprc"]["value"] == pytest.approx(average_precision_score(1 - y, p[:, 0]))


def test_multiclass_point_estimates_match_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 150)
    p = rng.dirichlet([1, 1, 1], 150)
    p[np.arange(150), y] += 0.4
    p /= p.sum(1, keepdims=True)
    panel = metric_panel(y, p, task="classification", n_boot=0)
    assert panel["auroc"]["value"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr"))
    assert panel["auprc"]["value"] == pytest.approx(
        average_precision_score(label_binarize(y, classes=[0, 1, 2]), p, average="macro")
    )
    assert panel["mcc"]["value"] == pytest.approx(matthews_corrcoef(y, p.argmax(1)))
    assert panel["brier"]["value"] == pytest.approx(brier_score_loss(y, p))


def test_regression_point_estimates_match_scipy_and_scikit_learn():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(2)
    y = rng.normal(size=120)
    pred = np.round(y + rng.normal(size=120), 1)  # ties in the predictions
    panel = metric_panel(y, pred, task="regression", n_boot=0)
    assert panel["r2"]["value"] == pytest.approx(r2_score(y, pred))
    assert panel["mae"]["value"] == pytest.approx(np.abs(y - pred).mean())
    assert panel["rmse"]["value"] == pytest.approx(np.sqrt(((y - pred) ** 2).mean()))
    assert panel["spearman"]["value"] == pytest.approx(spearmanr(y, pred)[0])


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_integer_weights_equal_repeated_rows(task):
    """The vectorised bootstrap rests on this identity."""
    rng = np.random.default_rng(3)
    y, p = _binary(80, seed=3)
    if task == "regression":
        y, p = rng.normal(size=80), np.round(rng.normal(size=80), 1)
    w = rng.integers(0, 3, 80).astype(float)
    rep = np.repeat(np.arange(80), w.astype(int))
    weighted = metric_values(y, p, w[None], task=task)
    repeated = metric_values(y[rep], p[rep], np.ones((1, len(rep))), task=task)
    for m in weighted:
        assert weighted[m][0] == pytest.approx(repeated[m][0], nan_ok=True), m


def test_group_bootstrap_is_wider_than_row_bootstrap_for_clustered_data():
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(20), 10)
    effect = rng.normal(size=20)[groups] * 2.0  # what each individual shares
    y = effect + rng.normal(size=200) * 0.2
    pred = effect + rng.normal(size=200) * 0.2 + rng.normal(size=20)[groups]
    rows = metric_panel(y, pred, task="regression", n_boot=500)
    grouped = metric_panel(y, pred, task="regression", groups=groups, n_boot=500)
    for m in ("mae", "r2"):
        assert grouped[m]["high"] - grouped[m]["low"] > 1.5 * (rows[m]["high"] - rows[m]["low"])


def test_group_weights_keep_a_group_together():
    groups = np.array(["a", "a", "b", "b", "c"])
    w = bootstrap_weights(5, groups=groups, n_boot=50, seed=0)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 2] == w[:, 3]).all()
    assert (w[:, [0, 2, 4]].sum(axis=1) == 3).all()  # three groups drawn per resample


def test_interval_brackets_the_estimate_and_is_reproducible():
    y, p = _binary()
    a = metric_panel(y, p, task="classification", n_boot=300, seed=5)
    b = metric_panel(y, p, task="classification", n_boot=300, seed=5)
    assert a == b
    for m, v in a.items():
        assert v["low"] <= v["value"] + 1e-9 and v["value"] <= v["high"] + 1e-9, m


def test_paired_difference_of_a_model_with_itself_is_zero():
    y, p = _binary()
    d = paired_difference(y, p, p, metric="auprc", task="classification", n_boot=200)
    assert d["diff"] == 0 and d["low"] == 0 and d["high"] == 0


def test_paired_difference_finds_the_better_model():
    y, p = _binary(300)
    noise = np.full_like(p, 0.5) + np.random.default_rng(0).normal(0, 0.01, p.shape)
    d = paired_difference(y, p, noise, metric="auroc", task="classification", n_boot=300)
    assert d["low"] > 0 and d["diff"] > 0 and d["p_value"] < 0.05


def test_unknown_metric_and_unknown_class_are_refused():
    y, p = _binary(20)
    with pytest.raises(ModelError, match="Unknown metric"):
        paired_difference(y, p, p, metric="accuracy", task="classification", n_boot=0)
    with pytest.raises(ModelError, match="not one of the classes"):
        metric_panel(y, p, task="classification", classes=[0, 2], n_boot=0)


def test_calibration_curve_of_calibrated_scores_follows_the_diagonal():
    rng = np.random.default_rng(6)
    prob = rng.random(20000)
    y = (rng.random(20000) < prob).astype(int)
    cal = calibration_curve_data(y, prob, task="classification")["1"]
    assert sum(cal["count"]) == 20000
    assert np.allclose(cal["predicted"], cal["observed"], atol=0.03)
