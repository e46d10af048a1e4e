"""Statistics shared by several steps of the engine (no pandas, no streamlit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["benjamini_hochberg", "group_permutation"]


def benjamini_hochberg(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN and is not counted.

    >>> benjamini_hochberg([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.04, 0.04, nan]
    """
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv)
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(ranked, 1.0)
    q[ok] = out
    return q


def group_permutation(groups: Sequence[Any] | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row indices that move whole groups: row i receives the value of row ``idx[i]``.

    Every row of group *g* takes its value from the rows of one group *π(g)* (a random
    permutation of the groups; the source rows in a random order, recycled when *π(g)* has
    fewer rows). So an individual's rows always receive values that came from one
    individual; with one row per group this is a plain random permutation.

    Examples
    --------
    >>> idx = group_permutation(["a", "a", "b", "b", "c", "c"], np.random.default_rng(1))
    >>> sorted(idx.tolist())
    [0, 1, 2, 3, 4, 5]
    """
    codes, _ = pd.factorize(pd.Series(np.asarray(groups, dtype=object)).astype(str), sort=False)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(codes.max() + 1))
    members = np.split(order, starts[1:])
    target = rng.permutation(len(members))
    idx = np.empty(len(codes), dtype=int)
    for g, dst in enumerate(members):
        src = rng.permutation(members[target[g]])
        idx[dst] = src[np.arange(len(dst)) % len(src)]
    return idx
