"""Shared numerics of the confound checks: the feature matrix, design matrices, vectorised
F tests over every feature at once, Benjamini-Hochberg, cross-validation splitters and
the chance-level test for cross-validated predictions.

Everything here is plain numpy / scipy / scikit-learn and works on all features at once:
a 2,000 x 20,000 table costs a few matrix products, never a Python loop over features.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..study import Roles

#: A numeric covariate with more distinct values than this is treated as continuous;
#: fewer (0/1 sex, a dose with four levels) is treated as a category. Ten keeps typical
#: codings of categories (<= 10 levels) categorical and ages, BMI or RIN continuous.
CONTINUOUS_MIN_DISTINCT = 10

#: Relative tolerance on singular values when a design matrix is rank deficient.
_RANK_TOL = 1e-8


@dataclass(frozen=True)
class Prepared:
    """The standardised feature matrix and its principal components, computed once."""

    X: np.ndarray  # n x p, median-imputed, centred, unit variance (constant columns 0)
    features: list[str]
    scores: np.ndarray  # n x k principal component scores
    explained_ratio: np.ndarray  # k, share of the total variance per component
    n_missing: int


def one_thread():
    """Run small model fits on one BLAS thread: on a busy machine, threads of tiny matrix
    products spin against each other and a 200 x 20 logistic regression gets 5-10x slower."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def is_continuous(s: pd.Series) -> bool:
    """True for a numeric, non-boolean column with many distinct values."""
    if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    return int(s.nunique(dropna=True)) > CONTINUOUS_MIN_DISTINCT


def as_levels(s: pd.Series) -> pd.Series:
    """A categorical column as strings; missing values stay missing."""
    out = s.astype("object").where(s.notna(), None)
    return out.map(lambda v: None if v is None else str(v))


def design(s: pd.Series, *, continuous: bool) -> np.ndarray:
    """Design columns of one variable without an intercept.

    Continuous: median-imputed and standardised (one column). Categorical: one-hot with the
    first level dropped; a missing value is its own level.
    """
    if continuous:
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
        med = np.nanmedian(v) if np.isfinite(v).any() else 0.0
        v = np.where(np.isfinite(v), v, med)
        sd = v.std()
        return ((v - v.mean()) / (sd if sd > 0 else 1.0))[:, None]
    lev = as_levels(s).fillna("<missing>")
    codes, uniques = pd.factorize(lev, sort=True)
    if len(uniques) <= 1:
        return np.zeros((len(s), 0))
    onehot = np.zeros((len(s), len(uniques)), dtype=float)
    onehot[np.arange(len(s)), codes] = 1.0
    return onehot[:, 1:]


def orthonormal_basis(D: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the column space of ``D`` (rank deficiency handled)."""
    if D.shape[1] == 0:
        return np.zeros((D.shape[0], 0))
    U, s, _ = np.linalg.svd(D, full_matrices=False)
    keep = s > _RANK_TOL * max(s[0], 1e-300)
    return U[:, keep]


def column_sumsq(X: np.ndarray) -> np.ndarray:
    """Sum of squares of each column (float64), without a temporary copy."""
    return np.einsum("ij,ij->j", X, X).astype(np.float64)


def project(Q: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``Q.T @ X`` in the precision of ``X`` (no float64 copy of a float32 matrix)."""
    return Q.T.astype(X.dtype, copy=False) @ X


def partial_f(
    X: np.ndarray, base: np.ndarray, add: np.ndarray, *, sumsq: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """F test of ``add`` beyond ``base`` for every column of ``X`` at once.

    ``base`` should contain the intercept. Returns ``(F, p, df1, df2)``; when ``add``
    brings nothing new (df1 == 0) or no residual df is left, F and p are NaN.
    """
    n = X.shape[0]
    Q0 = orthonormal_basis(base)
    Q1 = orthonormal_basis(np.hstack([base, add]))
    r0, r1 = Q0.shape[1], Q1.shape[1]
    df1, df2 = r1 - r0, n - r1
    if df1 <= 0 or df2 <= 0:
        nan = np.full(X.shape[1], np.nan)
        return nan, nan, df1, df2
    ss = column_sumsq(X) if sumsq is None else sumsq
    rss0 = ss - column_sumsq(project(Q0, X))
    rss1 = ss - column_sumsq(project(Q1, X))
    rss1 = np.maximum(rss1, 1e-12 * np.maximum(ss, 1e-300))
    F = np.maximum(rss0 - rss1, 0.0) / df1 / (rss1 / df2)
    p = stats.f.sf(F, df1, df2)
    return F, p, df1, df2


def r_squared(Y: np.ndarray, D: np.ndarray, *, adjusted: bool = False) -> np.ndarray:
    """R-squared of each column of ``Y`` regressed on ``D`` plus an intercept."""
    n = Y.shape[0]
    Yc = Y - Y.mean(axis=0)
    Q = orthonormal_basis(D - D.mean(axis=0)) if D.shape[1] else np.zeros((n, 0))
    sst = column_sumsq(Yc)
    ssr = column_sumsq(Q.T @ Yc) if Q.shape[1] else np.zeros(Y.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(sst > 0, ssr / sst, 0.0)
    if adjusted:
        d = Q.shape[1]
        if n - d - 1 <= 0:
            return np.zeros_like(r2)
        r2 = 1.0 - (1.0 - r2) * (n - 1) / (n - d - 1)
        r2 = np.maximum(r2, 0.0)
    return np.clip(r2, 0.0, 1.0)


def cv_splitter(y: np.ndarray, groups: np.ndarray | None, *, seed: int, max_splits: int = 5):
    """A stratified splitter for a categorical target, group-aware when groups are given.

    Returns ``(splitter, name)`` or ``(None, reason)`` when cross-validation is impossible.
    """
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        return None, "only one level"
    n_splits = int(min(max_splits, counts.min()))
    if groups is not None:
        n_groups = len(np.unique(groups))
        n_splits = int(min(max_splits, n_groups))
        if n_splits < 2:
            return None, "fewer than two groups"
        return StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed), (
            f"StratifiedGroupKFold({n_splits})"
        )
    if n_splits < 2:
        return None, "a level has fewer than two samples"
    return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed), f"StratifiedKFold({n_splits})"


def chance_test(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Balanced accuracy of cross-validated predictions against chance, without permutations.

    Under the null hypothesis that the predictions are independent of the truth, the number
    of correct predictions is binomial with success probability ``sum_k p_k q_k`` (``p``:
    true class frequencies, ``q``: predicted class frequencies). One-sided binomial test.
    """
    from sklearn.metrics import balanced_accuracy_score

    classes = np.unique(np.concatenate([y_true, y_pred]))
    p = np.array([(y_true == c).mean() for c in classes])
    q = np.array([(y_pred == c).mean() for c in classes])
    p0 = float(np.clip((p * q).sum(), 1e-12, 1 - 1e-12))
    correct = int((y_true == y_pred).sum())
    pval = float(stats.binomtest(correct, len(y_true), p0, alternative="greater").pvalue)
    n_true = len(np.unique(y_true))
    return {
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "accuracy": correct / len(y_true),
        "chance_balanced_accuracy": 1.0 / n_true,
        "majority_rate": float(p.max()),
        "null_accuracy": p0,
        "p_value": pval,
        "n": len(y_true),
    }


def label_vector(df: pd.DataFrame, roles: Roles) -> tuple[pd.Series, np.ndarray]:
    """The label column and a mask of rows where it is present."""
    y = df[roles.label]  # type: ignore[index]
    return y, y.notna().to_numpy()


def groups_of(df: pd.DataFrame, roles: Roles) -> np.ndarray | None:
    if not roles.group or roles.group not in df.columns:
        return None
    g = df[roles.group]
    return np.asarray(pd.factorize(g.astype("object").where(g.notna(), "<missing>"))[0])


def prepare(df: pd.DataFrame, roles: Roles, *, n_components: int = 20, seed: int = 0) -> Prepared:
    """Median-impute and standardise the features, then compute the top principal components.

    Randomized SVD (Halko et al.) when the matrix is large, exact SVD otherwise. The
    matrix is float32: half the memory and twice the speed of float64, and ample precision
    for tests whose decisions sit at p < 0.001.
    """
    features = feature_columns(df, roles)
    n = len(df)
    if not features:
        return Prepared(np.zeros((n, 0), dtype=np.float32), [], np.zeros((n, 0)), np.zeros(0), 0)
    X = feature_array(df, features)
    X[~np.isfinite(X)] = np.nan
    nan_cols = np.flatnonzero(np.isnan(X).any(axis=0))
    n_missing = 0
    if nan_cols.size:
        sub = X[:, nan_cols]
        miss = np.isnan(sub)
        n_missing = int(miss.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(sub, axis=0)
        med = np.where(np.isfinite(med), med, 0.0)
        sub[miss] = np.take(med, np.nonzero(miss)[1])
        X[:, nan_cols] = sub
    X -= X.mean(axis=0, dtype=np.float64).astype(np.float32)
    sd = np.sqrt(column_sumsq(X) / max(n - 1, 1))
    sd[sd <= 1e-6 * np.maximum(1.0, sd.max(initial=0.0))] = np.inf  # constant -> 0
    X /= sd.astype(np.float32)
    scores, ratio = pca_scores(X, n_components=n_components, seed=seed)
    return Prepared(X, features, scores, ratio, n_missing)


def feature_columns(df: pd.DataFrame, roles: Roles) -> list[str]:
    """Same answer as ``Roles.feature_columns``, read from ``df.dtypes`` in one pass (selecting
    20,000 columns one by one costs seconds)."""
    if roles.features:
        return list(roles.features)
    meta = set(roles.metadata_columns)
    return [
        c
        for c, dt in df.dtypes.items()
        if c not in meta and pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)
    ]


def feature_array(df: pd.DataFrame, features: list[str]) -> np.ndarray:
    """The feature columns as a float32 array; contiguous runs of columns are sliced, which is
    several times faster than selecting 20,000 columns by name."""
    pos = df.columns.get_indexer(features)
    runs = np.split(pos, np.flatnonzero(np.diff(pos) != 1) + 1) if len(pos) else []
    if (pos < 0).any() or len(runs) > 50:
        return df[features].to_numpy(dtype=np.float32, na_value=np.nan, copy=True)
    parts = [
        df.iloc[:, r[0] : r[-1] + 1].to_numpy(dtype=np.float32, na_value=np.nan, copy=len(runs) == 1)
        for r in runs
    ]
    return np.ascontiguousarray(np.hstack(parts) if len(parts) > 1 else parts[0])


def pca_scores(X: np.ndarray, *, n_components: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and explained-variance ratios of the top components of a centred matrix."""
    n, p = X.shape
    k = int(min(n_components, n - 1, p))
    if k < 1:
        return np.zeros((n, 0)), np.zeros(0)
    total = column_sumsq(X).sum()
    if total <= 0:
        return np.zeros((n, k)), np.zeros(k)
    if min(n, p) > 500:
        from sklearn.utils.extmath import randomized_svd

        U, s, _ = randomized_svd(X, k, n_oversamples=10, n_iter=3, random_state=seed)
    else:
        U, s, _ = np.linalg.svd(X, full_matrices=False)
        U, s = U[:, :k], s[:k]
    # fix signs so that results do not depend on the LAPACK build
    signs = np.sign(U[np.abs(U).argmax(axis=0), np.arange(U.shape[1])])
    signs[signs == 0] = 1.0
    return (U * s * signs).astype(np.float64), (s.astype(np.float64) ** 2) / float(total)


def label_tokens_as_missing(df: pd.DataFrame, roles: Roles) -> pd.DataFrame:
    """``df`` with label values that are missing-value tokens ('.', 'NA', 'n/a', ...) set to
    missing: such a row has no label, it is not a class. A shallow copy when anything
    changes (the features are not copied), ``df`` itself otherwise."""
    from ..checks._units import without_missing_tokens  # the checks' list of tokens

    if not roles.label or roles.label not in df.columns:
        return df
    y = df[roles.label]
    clean = without_missing_tokens(y)
    if clean is y:
        return df
    out = df.copy(deep=False)
    out[roles.label] = clean
    return out
