"""Batch correction as a scikit-learn transformer, fitted on training data only.

Two methods:

* ``"location_scale"``: each feature of each batch is shifted and scaled to the pooled
  mean and the pooled within-batch standard deviation;
* ``"combat"``: ComBat (Johnson, Li & Rabinovic 2007) without covariates: the per-batch
  location (gamma) and scale (delta^2) of the standardised data are shrunk towards priors
  shared across features (normal prior on gamma, inverse-gamma prior on delta^2, parametric
  empirical Bayes, iterated to convergence). Shrinkage matters with small batches: the
  per-feature estimates of a 5-sample batch are noisy.

Fit on the training rows, transform training, tuning and test rows with the training
estimates; never fit on the whole table (that would leak the test set into the model).

Unseen batch levels. A level that was not in the training data has no estimate. With
``unseen="pooled"`` (the default) its rows are returned unchanged, i.e. treated as if
already on the pooled scale, and a ``UserWarning`` names the levels: the honest situation of
a model meeting a new site. A level with a single training sample is treated the same way
(its location and scale cannot be estimated), so that a cross-validation fold that happens
to hold one sample of a batch does not stop the search. With ``unseen="error"`` both raise a
:class:`BatchCorrectionError` instead.

In a Pipeline. :class:`ColumnBatchCorrector` takes the batch codes from a column of X
(``batch_column``, default the last), corrects the other columns and drops it::

    Pipeline([("batch", ColumnBatchCorrector(method="combat")), ("model", LogisticRegression())])
    pipe.fit(np.column_stack([X_train, batch_codes_train]), y_train)

Correction is refused (:func:`check_correction_allowed`) when the batch is confounded with
the label: it would remove the biology with the batch.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import DeepRulesError
from ..names import test_text
from ..study import Roles
from ._association import batch_label_association

__all__ = ["BatchCorrector", "ColumnBatchCorrector", "BatchCorrectionError", "BatchConfoundedError",
           "check_correction_allowed"]  # fmt: skip

METHODS = ("location_scale", "combat")
#: ComBat's empirical Bayes iteration stops when the largest relative change is below this.
_CONV = 1e-4
_MAX_ITER = 1000


class BatchCorrectionError(DeepRulesError):
    """Batch correction cannot be fitted or applied with these data."""


class BatchConfoundedError(BatchCorrectionError):
    """Batch correction is refused because the batch is confounded with the label."""


def _batch_array(batch: Any, n: int) -> np.ndarray:
    b = np.asarray(pd.Series(np.asarray(batch).ravel()).astype("object"), dtype=object)
    if len(b) != n:
        raise BatchCorrectionError(
            f"The batch has {len(b)} values but X has {n} rows; give one batch per row."
        )
    return b


def _missing(b: np.ndarray) -> np.ndarray:
    return pd.isna(pd.Series(b)).to_numpy()


class BatchCorrector(TransformerMixin, BaseEstimator):
    """Remove per-batch location and scale differences, with estimates from training data.

    Parameters
    ----------
    method : {"combat", "location_scale"}
        ComBat empirical Bayes (default) or plain per-batch standardisation to the pooled scale.
    unseen : {"pooled", "error"}
        What to do with a batch level that was not seen in ``fit`` (see the module notes).

    Attributes
    ----------
    batches_ : ndarray
        The batch levels seen in ``fit``.
    grand_mean_, pooled_sd_ : ndarray of shape (n_features,)
        Pooled mean and within-batch standard deviation of each feature.
    gamma_, delta2_ : ndarray of shape (n_batches, n_features)
        Location and scale of each batch on the standardised scale (ComBat: after shrinkage).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3)); batch = np.repeat(["a", "b"], 20); X[batch == "b"] += 5
    >>> Xc = BatchCorrector(method="location_scale").fit(X, batch).transform(X, batch)
    >>> bool(abs(Xc[batch == "b"].mean() - Xc[batch == "a"].mean()) < 1e-8)
    True
    """

    def __init__(self, method: str = "combat", unseen: str = "pooled") -> None:
        self.method = method
        self.unseen = unseen

    def fit(self, X: Any, batch: Any) -> BatchCorrector:
        if self.method not in METHODS:
            raise BatchCorrectionError(f"The 'method' parameter of BatchCorrector must be one of {METHODS}. "
                                       f"Got {self.method!r} instead.")  # fmt: skip
        if self.unseen not in ("pooled", "error"):
            raise BatchCorrectionError(f"The 'unseen' parameter of BatchCorrector must be 'pooled' or 'error'. "
                                       f"Got {self.unseen!r} instead.")  # fmt: skip
        X = np.asarray(X, dtype=float)
        if X.ndim != 2:
            raise BatchCorrectionError("X must be a 2-D table (samples x features).")
        b = _batch_array(batch, X.shape[0])
        if _missing(b).any():
            raise BatchCorrectionError(
                f"{int(_missing(b).sum())} training rows have no batch. Every row needs a batch to be "
                "corrected: fill in the batch or drop those rows before correcting."
            )
        levels, codes = np.unique(b.astype(str), return_inverse=True)
        counts = np.bincount(codes)
        small = [str(levels[i]) for i in np.flatnonzero(counts < 2)]
        if small:
            text = (
                f"Batches {small[:10]} have fewer than 2 training samples. A batch's location and scale cannot "
                "be estimated from one sample."
            )
            if self.unseen == "error":
                raise BatchCorrectionError(text + " Merge or drop these batches before correcting.")
            warnings.warn(
                text + " They are left uncorrected, like unseen batches.", UserWarning, stacklevel=2
            )
            keep = counts[codes] >= 2
            X, b = X[keep], b[keep]
            levels, codes = np.unique(b.astype(str), return_inverse=True)
            counts = np.bincount(codes)
        if len(levels) < 2:
            raise BatchCorrectionError(
                "The training data hold fewer than two batches with 2 or more samples: there is nothing to "
                "correct. Turn batch correction off, or put samples of several batches in the training data."
            )
        ok = np.isfinite(X)
        Xz = np.where(ok, X, 0.0)
        K, p = len(levels), X.shape[1]
        nb = np.zeros((K, p))
        sums = np.zeros((K, p))
        for k in range(K):
            rows = codes == k
            nb[k] = ok[rows].sum(axis=0)
            sums[k] = Xz[rows].sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            bmean = sums / nb
            grand = sums.sum(axis=0) / nb.sum(axis=0)
            resid = np.where(ok, X - bmean[codes], 0.0)
            var_pooled = (resid**2).sum(axis=0) / np.maximum(nb.sum(axis=0) - K, 1)
        grand = np.where(np.isfinite(grand), grand, 0.0)
        sd = np.sqrt(np.where(np.isfinite(var_pooled) & (var_pooled > 0), var_pooled, 0.0))
        sd_safe = np.where(sd > 0, sd, 1.0)
        Z = np.where(ok, (X - grand) / sd_safe, 0.0)
        zsum = np.stack([Z[codes == k].sum(axis=0) for k in range(K)])
        zsq = np.stack([(Z[codes == k] ** 2).sum(axis=0) for k in range(K)])
        with np.errstate(invalid="ignore", divide="ignore"):
            gamma_hat = np.where(nb > 0, zsum / nb, 0.0)
            delta_hat = np.where(nb > 1, (zsq - nb * gamma_hat**2) / (nb - 1), 1.0)
        delta_hat = np.where(np.isfinite(delta_hat) & (delta_hat > 1e-12), delta_hat, 1.0)
        self.priors_: dict[str, Any] = {}
        if self.method == "combat":
            gamma, delta2 = self._combat(gamma_hat, delta_hat, nb, zsum, zsq)
        else:
            gamma, delta2 = gamma_hat, delta_hat
        constant = sd == 0
        gamma[:, constant], delta2[:, constant] = 0.0, 1.0
        self.batches_ = levels
        self.n_per_batch_ = counts
        self.grand_mean_ = grand
        self.pooled_sd_ = sd
        self.gamma_ = gamma
        self.delta2_ = delta2
        self.n_features_in_ = p
        return self

    def _combat(self, gamma_hat, delta_hat, nb, zsum, zsq) -> tuple[np.ndarray, np.ndarray]:
        """Parametric empirical Bayes shrinkage of ComBat, per batch across features."""
        gamma_bar = gamma_hat.mean(axis=1)
        tau2 = np.maximum(gamma_hat.var(axis=1, ddof=1), 1e-12)
        m = delta_hat.mean(axis=1)
        s2 = np.maximum(delta_hat.var(axis=1, ddof=1), 1e-12)
        a = (2 * s2 + m**2) / s2  # inverse-gamma prior by the method of moments
        b = (m * s2 + m**3) / s2
        gamma, delta2 = gamma_hat.copy(), delta_hat.copy()
        n_iter = 0
        for _ in range(_MAX_ITER):
            n_iter += 1
            g_new = (nb * tau2[:, None] * gamma_hat + delta2 * gamma_bar[:, None]) / (
                nb * tau2[:, None] + delta2
            )
            ss = zsq - 2 * g_new * zsum + nb * g_new**2  # sum over the batch of (z - gamma)^2
            d_new = (b[:, None] + 0.5 * ss) / (nb / 2 + a[:, None] - 1)
            change = max(
                float(np.max(np.abs(g_new - gamma) / np.maximum(np.abs(gamma), 1e-8))),
                float(np.max(np.abs(d_new - delta2) / np.maximum(delta2, 1e-8))),
            )
            gamma, delta2 = g_new, np.maximum(d_new, 1e-12)
            if change < _CONV:
                break
        self.priors_ = {"gamma_bar": gamma_bar, "tau2": tau2, "a": a, "b": b, "n_iter": n_iter}
        return gamma, delta2

    def transform(self, X: Any, batch: Any) -> np.ndarray:
        check_is_fitted(self, "gamma_")
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise BatchCorrectionError(
                f"X has {X.shape[1] if X.ndim == 2 else '?'} features, but the corrector was fitted on "
                f"{self.n_features_in_}. Give the same feature columns in the same order."
            )
        b = _batch_array(batch, X.shape[0])
        keys = [None if m else str(v) for m, v in zip(_missing(b), b, strict=True)]
        index = {str(v): i for i, v in enumerate(self.batches_)}
        pos = np.array([index.get(k, -1) if k is not None else -1 for k in keys], dtype=int)
        if (pos < 0).any():
            unseen = sorted({str(k) for k, q in zip(keys, pos, strict=True) if q < 0})
            text = (
                f"Batch level(s) {unseen[:10]} ({int((pos < 0).sum())} rows) were not in the training data, "
                "so their location and scale are unknown."
            )
            if self.unseen == "error":
                raise BatchCorrectionError(text + " Put samples of every batch in the training data, or "
                                           "use unseen='pooled' to leave these rows uncorrected.")  # fmt: skip
            warnings.warn(
                text + " These rows are left uncorrected (pooled scale).", UserWarning, stacklevel=2
            )
        sd = np.where(self.pooled_sd_ > 0, self.pooled_sd_, 1.0)
        out = X.copy()
        seen = pos >= 0
        if seen.any():
            Z = (X[seen] - self.grand_mean_) / sd
            Z = (Z - self.gamma_[pos[seen]]) / np.sqrt(self.delta2_[pos[seen]])
            out[seen] = Z * sd + self.grand_mean_
        return out

    def fit_transform(self, X: Any, batch: Any = None, **fit_params: Any) -> np.ndarray:
        return self.fit(X, batch).transform(X, batch)


class ColumnBatchCorrector(TransformerMixin, BaseEstimator):
    """:class:`BatchCorrector` for a Pipeline: the batch codes travel as one column of X.

    Parameters
    ----------
    method, unseen : see :class:`BatchCorrector`.
    batch_column : int or str
        Position of the batch column in X (default -1, the last), or its name when X is a
        DataFrame. The output holds the other columns, corrected.
    """

    def __init__(self, method: str = "combat", unseen: str = "pooled", batch_column: int | str = -1) -> None:
        self.method = method
        self.unseen = unseen
        self.batch_column = batch_column

    def _split(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(X, pd.DataFrame):
            col = self.batch_column if isinstance(self.batch_column, str) else X.columns[self.batch_column]
            return X.drop(columns=[col]).to_numpy(dtype=float), X[col].to_numpy()
        X = np.asarray(X, dtype=object if not np.issubdtype(np.asarray(X).dtype, np.number) else float)
        j = int(self.batch_column) % X.shape[1]
        return np.delete(X, j, axis=1).astype(float), X[:, j]

    def fit(self, X: Any, y: Any = None) -> ColumnBatchCorrector:
        feats, batch = self._split(X)
        self.corrector_ = BatchCorrector(method=self.method, unseen=self.unseen).fit(feats, batch)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "corrector_")
        feats, batch = self._split(X)
        return self.corrector_.transform(feats, batch)


def check_correction_allowed(
    df: pd.DataFrame, roles: Roles, batch_col: str, *, seed: int = 0
) -> dict[str, Any]:
    """Refuse batch correction when ``batch_col`` is confounded with the label.

    Raises :class:`BatchConfoundedError` (a DeepRulesError) when the association is
    significant, a level holds a single class, or batch determines the label; returns the
    association summary otherwise.
    """
    if batch_col not in df.columns:
        raise BatchCorrectionError(f"The table has no batch column {batch_col!r}.")
    if not roles.label:
        return {"allowed": True, "reason": "no label"}
    res = batch_label_association(df, roles, batch_col, seed=seed)
    singles = res.get("single_class_levels") or []
    if res["confounded"] or singles:
        detail = test_text(res)
        if singles:
            detail += "; levels holding a single class: " + ", ".join(
                f"{s['level']} (only '{s['class']}')" for s in singles[:8]
            )
        raise BatchConfoundedError(
            f"Batch correction on '{batch_col}' is refused: '{batch_col}' is confounded with the label "
            f"'{roles.label}' ({detail}). Correction estimates each batch's shift from its samples; when a "
            "batch holds mostly one class, that shift includes the biology, and correcting removes it. "
            f"What to do: keep '{batch_col}' as it is and validate with whole levels held out, re-balance "
            "the design with new samples, or restrict the claim."
        )
    return {"allowed": True, **{k: res[k] for k in ("test", "p_value", "effect", "effect_name")}}
