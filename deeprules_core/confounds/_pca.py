"""Exploration: principal components of the features, how much of each component each
variable (label, batch variables, covariates) explains, and a PVCA-style variance
partition.

The variance partition follows the idea of PVCA (principal variance component analysis,
Li et al. 2009): explain the top principal components by the study variables and weight
each component by the variance it carries. Instead of a random-effects model per
component we use the fixed-effects analogue: the adjusted R-squared of each component
on the variables, shared out between correlated variables by the Shapley (LMG)
decomposition, so that a batch confounded with the label splits the shared part fairly
instead of giving it to whichever variable is fitted first. What no variable explains is
the residual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import factorial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ColumnError
from ..study import Roles
from ._common import Prepared, design, is_continuous, orthonormal_basis, prepare, r_squared

__all__ = ["Exploration", "explore", "study_variables"]

#: Up to this many variables the Shapley decomposition is exact (2**m regressions of the
#: component scores, each tiny); beyond it shares are the marginal R-squared rescaled.
_SHAPLEY_MAX_VARIABLES = 10


@dataclass(frozen=True)
class Exploration:
    """What :func:`explore` computed. Plain arrays and frames, JSON-able through ``to_dict``.

    Attributes
    ----------
    scores : DataFrame
        Principal component scores, one row per sample (the table's index), columns PC1...
    explained_variance_ratio : ndarray
        Share of the total feature variance carried by each component.
    variables : dict
        Variable name -> its role ("label", "batch", "covariate") and kind ("categorical"/"continuous").
    r2, r2_pvalue : DataFrame
        Variables x components: R-squared of the component on the variable, and its F-test p.
    partition : dict
        Variable -> share of the variance of the top components it explains; plus "residual".
    """

    scores: pd.DataFrame
    explained_variance_ratio: np.ndarray
    variables: dict[str, dict[str, str]]
    r2: pd.DataFrame
    r2_pvalue: pd.DataFrame
    partition: dict[str, float]
    n_features: int
    n_samples: int
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "explained_variance_ratio": self.explained_variance_ratio.tolist(),
            "variables": self.variables,
            "r2": {v: self.r2.loc[v].tolist() for v in self.r2.index},
            "r2_pvalue": {v: self.r2_pvalue.loc[v].tolist() for v in self.r2_pvalue.index},
            "partition": dict(self.partition),
            "n_features": self.n_features,
            "n_samples": self.n_samples,
            "params": dict(self.params),
        }


def study_variables(df: pd.DataFrame, roles: Roles) -> dict[str, dict[str, str]]:
    """The label, the batch variables and the covariates, with their role and kind."""
    out: dict[str, dict[str, str]] = {}
    if roles.label and roles.label in df.columns:
        kind = "continuous" if roles.task == "regression" else "categorical"
        out[roles.label] = {"role": "label", "kind": kind}
    for b in roles.batch:
        out.setdefault(b, {"role": "batch", "kind": "categorical"})
    for c in roles.covariates:
        kind = "continuous" if is_continuous(df[c]) else "categorical"
        out.setdefault(c, {"role": "covariate", "kind": kind})
    return out


def explore(
    df: pd.DataFrame,
    roles: Roles,
    *,
    n_components: int = 10,
    seed: int = 0,
    prepared: Prepared | None = None,
) -> Exploration:
    """PCA of the features and how much of it the study variables explain.

    Parameters
    ----------
    df : DataFrame
        The table, one row per sample.
    roles : Roles
        Column roles; the features are ``roles.feature_columns(df)``.
    n_components : int
        Number of principal components (randomized SVD for wide data).
    seed : int
        Seed of the randomized SVD.
    prepared : Prepared, optional
        Re-use an already computed feature matrix (internal).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.normal(size=(40, 5)), columns=list("abcde"))
    >>> df["y"] = ["x", "z"] * 20
    >>> ex = explore(df, Roles(label="y"), n_components=3)
    >>> ex.scores.shape, round(sum(ex.partition.values()), 6)
    ((40, 3), 1.0)
    """
    roles.validate_against(df)
    if prepared is None:
        prepared = prepare(df, roles, n_components=n_components, seed=seed)
    if not prepared.features:
        raise ColumnError(
            "The table has no numeric feature columns to explore. Mark the measurement columns "
            "as features (or make sure they are numbers, not text)."
        )
    k = min(n_components, prepared.scores.shape[1])
    S = prepared.scores[:, :k]
    ratio = prepared.explained_ratio[:k]
    names = [f"PC{i + 1}" for i in range(k)]
    variables = study_variables(df, roles)
    designs = {v: design(df[v], continuous=info["kind"] == "continuous") for v, info in variables.items()}
    r2 = pd.DataFrame(0.0, index=list(variables), columns=names)
    pv = pd.DataFrame(1.0, index=list(variables), columns=names)
    n = S.shape[0]
    for v, D in designs.items():
        if D.shape[1] == 0:
            continue
        r = r_squared(S, D)
        d = orthonormal_basis(D - D.mean(axis=0)).shape[1]
        r2.loc[v] = r
        if n - d - 1 > 0 and d > 0:
            F = (r / d) / np.maximum((1 - r) / (n - d - 1), 1e-300)
            pv.loc[v] = stats.f.sf(F, d, n - d - 1)
    partition = variance_partition(S, ratio, designs)
    return Exploration(
        scores=pd.DataFrame(S, index=df.index, columns=names),
        explained_variance_ratio=ratio,
        variables=variables,
        r2=r2,
        r2_pvalue=pv,
        partition=partition,
        n_features=len(prepared.features),
        n_samples=n,
        params={
            "n_components": k,
            "seed": seed,
            "scaling": "median imputation, then each feature centred and scaled to unit variance",
            "partition_method": "Shapley (LMG) split of adjusted R-squared per component, "
            "weighted by component variance (fixed-effects PVCA)",
            "top_components_variance": float(ratio.sum()),
        },
    )


def variance_partition(S: np.ndarray, ratio: np.ndarray, designs: dict[str, np.ndarray]) -> dict[str, float]:
    """Share of the variance of the top components explained by each variable, plus a residual.

    Shares are weighted by the variance of each component and sum to 1.
    """
    names = [v for v, D in designs.items() if D.shape[1] > 0]
    weights = ratio / ratio.sum() if ratio.sum() > 0 else np.full(len(ratio), 1.0 / max(len(ratio), 1))
    shares = dict.fromkeys(designs, 0.0)
    if not names or S.shape[1] == 0:
        return {**shares, "residual": 1.0}
    m = len(names)
    if m <= _SHAPLEY_MAX_VARIABLES:
        cache: dict[frozenset[str], np.ndarray] = {frozenset(): np.zeros(S.shape[1])}

        def value(subset: frozenset[str]) -> np.ndarray:
            if subset not in cache:
                D = np.hstack([designs[v] for v in sorted(subset)])
                cache[subset] = r_squared(S, D, adjusted=True)
            return cache[subset]

        phi = {v: np.zeros(S.shape[1]) for v in names}
        for v in names:
            others = [u for u in names if u != v]
            for size in range(m):
                w = factorial(size) * factorial(m - size - 1) / factorial(m)
                for sub in combinations(others, size):
                    s = frozenset(sub)
                    phi[v] += w * (value(s | {v}) - value(s))
    else:
        marg = {v: r_squared(S, designs[v], adjusted=True) for v in names}
        total = r_squared(S, np.hstack([designs[v] for v in names]), adjusted=True)
        msum = np.maximum(sum(marg.values()), 1e-300)
        phi = {v: marg[v] / msum * total for v in names}
    for v in names:
        shares[v] = float(max((np.maximum(phi[v], 0.0) * weights).sum(), 0.0))
    explained = sum(shares.values())
    if explained > 1.0:  # numerical safety only: adjusted R-squared keeps this below 1
        shares = {v: s / explained for v, s in shares.items()}
        explained = 1.0
    shares["residual"] = float(1.0 - explained)
    return shares
