"""Agreement between two importance rankings (Tip 8): do the deep model's top features
agree with the baselines'?

Two numbers answer it: the Spearman correlation of the importances over the features
both rankings scored (does the whole order agree?), and the overlap of the top-k
features (do the few features a biologist would read agree?), as a count and as the
Jaccard index |A ∩ B| / |A ∪ B|.

Examples
--------
>>> a = {"g1": 3.0, "g2": 2.0, "g3": 1.0, "g4": 0.5}
>>> b = {"g1": 0.9, "g2": 0.8, "g3": 0.1, "g4": 0.05}
>>> r = rank_agreement(a, b, top=2)
>>> r["spearman"], r["jaccard"], r["shared_top"]
(1.0, 1.0, ['g1', 'g2'])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ModelError

__all__ = ["rank_agreement", "agreement_table", "as_importance_series"]


def as_importance_series(importances: Any) -> pd.Series:
    """Importances as a Series indexed by feature (from a DataFrame with ``feature`` and
    ``importance`` columns, a Series, a mapping, or a list of such records)."""
    if isinstance(importances, pd.Series):
        s = importances.copy()
    elif isinstance(importances, pd.DataFrame):
        if not {"feature", "importance"} <= set(importances.columns):
            raise ModelError("An importance table needs the columns 'feature' and 'importance'.")
        s = importances.set_index("feature")["importance"]
    elif isinstance(importances, Mapping):
        s = pd.Series(dict(importances), dtype=float)
    else:  # records
        s = pd.DataFrame(list(importances)).set_index("feature")["importance"]
    s.index = s.index.astype(str)
    s = pd.to_numeric(s, errors="coerce").dropna()
    return s[~s.index.duplicated()]


def _top(s: pd.Series, k: int) -> list[str]:
    return s.sort_values(ascending=False, kind="stable").index[:k].tolist()


def rank_agreement(importances_a: Any, importances_b: Any, *, top: int = 20) -> dict[str, Any]:
    """How far two importance rankings agree.

    Parameters
    ----------
    importances_a, importances_b
        Importance tables (``feature, importance``), Series or mappings.
    top
        Size of the top lists compared.

    Returns
    -------
    dict
        ``n_shared`` (features in both), ``spearman`` and ``spearman_p`` (over the shared
        features; None with fewer than 3), ``top``, ``top_a``, ``top_b``, ``overlap``
        (count), ``jaccard`` and ``shared_top`` (in the order of ``a``).
    """
    if int(top) < 1:
        raise ModelError(f"The 'top' parameter must be an int >= 1. Got {top!r} instead.")
    a, b = as_importance_series(importances_a), as_importance_series(importances_b)
    shared = a.index.intersection(b.index)
    rho: float | None = None
    p: float | None = None
    if len(shared) >= 3:
        res = stats.spearmanr(a[shared].to_numpy(), b[shared].to_numpy())
        if np.isfinite(res.statistic):
            rho, p = float(res.statistic), float(res.pvalue)
    k = min(int(top), len(a), len(b)) if len(a) and len(b) else 0
    top_a, top_b = _top(a, k), _top(b, k)
    inter = [f for f in top_a if f in set(top_b)]
    union = set(top_a) | set(top_b)
    return {
        "n_shared": int(len(shared)),
        "spearman": rho,
        "spearman_p": p,
        "top": k,
        "top_a": top_a,
        "top_b": top_b,
        "overlap": len(inter),
        "jaccard": len(inter) / len(union) if union else None,
        "shared_top": inter,
    }


def agreement_table(importances_a: Any, importances_b: Any, *, top: int = 20) -> pd.DataFrame:
    """The union of both top lists, side by side: ``feature, importance_a, importance_b,
    rank_a, rank_b`` (ranks over all features, 1 = most important; NaN when unscored).
    Importances are scaled to the largest of each ranking, so the two can share an axis."""
    a, b = as_importance_series(importances_a), as_importance_series(importances_b)
    feats = list(dict.fromkeys(_top(a, top) + _top(b, top)))
    rank_a = a.rank(ascending=False, method="min")
    rank_b = b.rank(ascending=False, method="min")
    scale_a = float(a.abs().max()) or 1.0 if len(a) else 1.0
    scale_b = float(b.abs().max()) or 1.0 if len(b) else 1.0
    return pd.DataFrame(
        {
            "feature": feats,
            "importance_a": [a.get(f, np.nan) / scale_a for f in feats],
            "importance_b": [b.get(f, np.nan) / scale_b for f in feats],
            "rank_a": [rank_a.get(f, np.nan) for f in feats],
            "rank_b": [rank_b.get(f, np.nan) for f in feats],
        }
    )
