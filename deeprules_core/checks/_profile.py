"""One pass over the feature matrix, shared by every check that looks at features.

Wide omics tables are the normal case: a 2,000 x 20,000 table is read once into a
float32 matrix (half the size of the parsed table), and the per-column statistics,
the missingness mask and the standardised matrix are computed once and reused by
the missingness, range, duplicate, outlier and constant-feature checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from ..study import Roles

__all__ = ["FeatureProfile", "feature_names"]

#: A feature table is count-like when at least 90% of its varying features hold only
#: non-negative whole numbers (then negative values are impossible, and distances are
#: computed on the log scale).
COUNT_TABLE_SHARE = 0.9
#: Columns copied per block while building the matrix: bounds the temporary copy
#: pandas makes (2,048 columns x 20,000 rows x 8 bytes = 330 MB at most).
_BLOCK = 2048


def feature_names(df: pd.DataFrame, roles: Roles) -> list[str]:
    """Same answer as ``roles.feature_columns(df)``, from ``df.dtypes`` in one pass
    (indexing 20,000 columns one by one takes seconds)."""
    if roles.features:
        return [c for c in roles.features if c in df.columns]
    meta = set(roles.metadata_columns)
    numeric: dict[object, bool] = {}
    out = []
    for c, dt in df.dtypes.items():
        if c in meta:
            continue
        ok = numeric.get(dt)
        if ok is None:
            ok = numeric[dt] = pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_bool_dtype(dt)
        if ok:
            out.append(c)
    return out


def _pca(Z: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` principal-component scores and singular values of a centred matrix.

    Exact (eigen-decomposition of the smaller Gram matrix) when one side is at most
    1,000 and the Gram matrix is cheap; otherwise a randomised range finder with two power iterations.
    """
    from threadpoolctl import threadpool_limits

    n, p = Z.shape
    if min(n, p) <= 1000 and n * p * min(n, p) <= 2e9:
        from scipy.linalg import eigh

        if n <= p:
            G = (Z @ Z.T).astype(np.float64)
            with threadpool_limits(1):  # small LAPACK calls: threads only contend
                w, V = eigh(G, subset_by_index=[n - k, n - 1])
            order = np.argsort(w)[::-1]
            s = np.sqrt(np.maximum(w[order], 0.0))
            return V[:, order] * s, s
        C = (Z.T @ Z).astype(np.float64)
        with threadpool_limits(1):
            w, V = eigh(C, subset_by_index=[p - k, p - 1])
        order = np.argsort(w)[::-1]
        scores = (Z @ V[:, order].astype(np.float32)).astype(np.float64)
        return scores, np.sqrt(np.maximum(w[order], 0.0))
    rng = np.random.default_rng(seed)
    Q = _orthonormal(Z @ rng.standard_normal((p, k + 10)).astype(np.float32))
    for _ in range(2):
        Q = _orthonormal(Z @ _orthonormal(Z.T @ Q))
    B = Q.T @ Z  # (k + 10) x p
    with threadpool_limits(1):
        w, Ub = np.linalg.eigh((B @ B.T).astype(np.float64))
    order = np.argsort(w)[::-1][:k]
    s = np.sqrt(np.maximum(w[order], 0.0))
    return Q.astype(np.float64) @ Ub[:, order] * s, s


def _orthonormal(Y: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the columns of a tall matrix (Cholesky QR: one GEMM and a
    tiny factorisation; LAPACK's QR is much slower on a shared 2-core machine)."""
    from scipy.linalg import solve_triangular
    from threadpoolctl import threadpool_limits

    Y = Y.astype(np.float64)
    G = Y.T @ Y
    G += np.eye(G.shape[0]) * (1e-10 * np.trace(G) + 1e-300)
    with threadpool_limits(1):
        L = np.linalg.cholesky(G)
        return solve_triangular(L, Y.T, lower=True).T.astype(np.float32)


def _as_float32(df: pd.DataFrame, names: list[str]) -> np.ndarray:
    n, p = df.shape[0], len(names)
    out = np.empty((n, p), dtype=np.float32, order="F")
    block = max(1, min(_BLOCK, (40_000_000 // max(n, 1)) or 1))
    for a in range(0, p, block):
        part = df[names[a : a + block]]
        out[:, a : a + block] = part.to_numpy(dtype=np.float32, na_value=np.nan)
    return out


@dataclass
class FeatureProfile:
    """The feature matrix of a table and its per-column statistics.

    Attributes
    ----------
    names
        Feature column names (``roles.feature_columns(df)``).
    X
        Raw values, float32, samples x features, NaN where missing.
    n_missing_col, n_missing_row
        Missing values per feature and per sample.
    mean, sd, vmin, vmax
        Per-feature statistics ignoring missing values (float64).
    whole
        Per feature: every observed value is a whole number.
    """

    names: list[str]
    X: np.ndarray
    n_missing_col: np.ndarray
    n_missing_row: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    whole: np.ndarray
    n_inf_col: np.ndarray | None = None
    _missing: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, roles: Roles) -> FeatureProfile:
        names = feature_names(df, roles)
        X = _as_float32(df, names)
        n, p = X.shape
        n_inf_col = None
        if p and n:
            inf = np.isinf(X)
            if inf.any():  # infinities are reported, then treated as missing
                n_inf_col = inf.sum(axis=0)
                X[inf] = np.nan
            del inf
        missing = np.isnan(X) if p else np.zeros((n, 0), dtype=bool)
        n_missing_col = missing.sum(axis=0)
        has_missing = bool(n_missing_col.any())
        n_missing_row = missing.sum(axis=1) if has_missing else np.zeros(n, dtype=np.int64)
        count = n - n_missing_col
        with np.errstate(invalid="ignore", divide="ignore"):
            if has_missing:
                total = np.where(missing, 0.0, X).sum(axis=0, dtype=np.float64)
            else:
                total = X.sum(axis=0, dtype=np.float64)
            mean = total / count
        vmin = np.fmin.reduce(X, axis=0).astype(np.float64) if n else np.full(p, np.nan)
        vmax = np.fmax.reduce(X, axis=0).astype(np.float64) if n else np.full(p, np.nan)
        whole = np.ones(p, dtype=bool)
        for a in range(0, p, _BLOCK):
            blk = X[:, a : a + _BLOCK]
            ok = blk == np.floor(blk)
            if has_missing:
                ok |= missing[:, a : a + _BLOCK]
            whole[a : a + _BLOCK] = ok.all(axis=0)
        prof = cls(
            names=names,
            X=X,
            n_missing_col=n_missing_col,
            n_missing_row=n_missing_row,
            mean=mean,
            sd=np.zeros(p),
            vmin=vmin,
            vmax=vmax,
            whole=whole,
            n_inf_col=n_inf_col,
            _missing=missing if has_missing else None,
        )
        prof.sd = prof._standardise()
        return prof

    # ------------------------------------------------------------------ views
    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def has_missing(self) -> bool:
        return self._missing is not None

    @property
    def missing(self) -> np.ndarray:
        """Boolean matrix (samples x features), True where missing."""
        if self._missing is None:
            return np.zeros(self.X.shape, dtype=bool)
        return self._missing

    @property
    def constant(self) -> np.ndarray:
        """Per feature: no variation among the observed values (or nothing observed)."""
        return ~(self.vmax > self.vmin)

    @property
    def count_like(self) -> bool:
        """The features look like counts: at least 90% of the varying ones hold only
        non-negative whole numbers (and there are at least 10)."""
        varying = self.vmax > self.vmin
        if self.p < 10 or not varying.any():
            return False
        return bool((self.whole & (self.vmin >= 0))[varying].mean() >= COUNT_TABLE_SHARE)

    def _standardise(self) -> np.ndarray:
        """Compute ``Z`` (column-standardised, missing -> 0) and return the SDs.

        Count-like tables are standardised on the log scale, log(1 + x): raw counts are
        so skewed that a few large values would dominate every distance.
        """
        n, p = self.X.shape
        log = self.count_like
        Z = np.empty((n, p), dtype=np.float32, order="F")
        sd = np.zeros(p)
        count = n - self.n_missing_col
        block = max(1, (1 << 21) // max(4 * n, 1))  # ~2 MB per block: stays in cache
        mean32 = self.mean.astype(np.float32)
        const = self.constant
        row_sum = np.zeros(n)
        row_sumsq = np.zeros(n)
        for a in range(0, p, block):
            b = min(p, a + block)
            blk = Z[:, a:b]
            if log:
                np.log1p(np.maximum(self.X[:, a:b], 0.0), out=blk)
                if self._missing is not None:
                    blk[self._missing[:, a:b]] = 0.0
                m = blk.sum(axis=0, dtype=np.float64) / np.maximum(count[a:b], 1)
                blk -= m.astype(np.float32)
            else:
                np.subtract(self.X[:, a:b], mean32[a:b], out=blk)
            if self._missing is not None:
                blk[self._missing[:, a:b]] = 0.0
            ss = np.einsum("ij,ij->j", blk, blk, dtype=np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = np.sqrt(ss / np.maximum(count[a:b] - 1, 1))
            s = np.where(const[a:b] | ~np.isfinite(s), 0.0, s)
            sd[a:b] = s
            blk *= np.where(s > 0, 1.0 / np.where(s > 0, s, 1.0), 0.0).astype(np.float32)
            row_sum += blk.sum(axis=1, dtype=np.float64)
            row_sumsq += np.einsum("ij,ij->i", blk, blk, dtype=np.float64)
        self.row_sum = row_sum
        self.row_sumsq = row_sumsq
        self.__dict__["Z"] = Z
        return sd

    @cached_property
    def Z(self) -> np.ndarray:  # noqa: N802 - matrix
        """Standardised features (mean 0, SD 1 per column; missing and constant -> 0)."""
        self._standardise()
        return self.__dict__["Z"]

    def informative(self) -> np.ndarray:
        """Per feature: it varies and is observed in at least two samples."""
        return (self.sd > 0) & (self.n - self.n_missing_col >= 2)

    def pca_scores(self, k: int = 10, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Scores on the first ``k`` principal components of ``Z`` and the variance
        fraction each explains (randomised SVD: fast on wide tables)."""
        key = ("pca", k, seed)
        cache = self.__dict__.setdefault("_pca_cache", {})
        if key in cache:
            return cache[key]
        Z = self.Z
        k = int(min(k, self.n - 1, int(self.informative().sum())))
        if k < 1:
            out = (np.zeros((self.n, 0)), np.zeros(0))
        else:
            scores, S = _pca(Z, k, seed)
            total = float(np.einsum("ij,ij->", Z, Z, dtype=np.float64))
            out = (scores, (S**2) / max(total, 1e-12))
        cache[key] = out
        return out
