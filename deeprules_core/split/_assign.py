"""The arithmetic of splitting: whole units (groups or rows) to sides, stratified.

Nothing here knows about tables or roles: it takes a matrix of per-unit stratum counts
(one row per unit: a group, or a single sample; one column per class or label bin) and
returns a side for each unit. ``_make.py`` turns tables into these matrices and checks
the input; the messages for the user live there.

The group assignment is a greedy, largest-unit-first fill: units are visited from the
largest to the smallest (ties in a seeded random order) and each goes to the side where
it reduces the chi-square-like distance between the side's stratum counts and that
side's targets the most. Large units are placed while every side still has room; the
many small units then fill the remaining deficits, so every side ends close to its
target in every stratum. It runs in O(units x sides x strata), about 0.2 s for 20,000
groups.
"""

from __future__ import annotations

import numpy as np

__all__ = ["assign_units", "assign_rows_stratified", "contiguous_blocks"]


def assign_units(
    counts: np.ndarray,
    fractions: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Assign each unit (row of ``counts``) to one of ``len(fractions)`` sides.

    Parameters
    ----------
    counts : (n_units, n_strata) array of non-negative integers
        Samples of each stratum (class or label bin) in each unit. A unit may have no
        stratified samples (all zero, e.g. a group whose rows all lack a label); it is
        then placed by its size alone (``sizes``).
    fractions : (n_sides,) array summing to 1
        Target share of every stratum on each side.
    rng : numpy Generator
        Breaks ties between equally large units.

    Returns
    -------
    (n_units,) int array of side numbers.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim == 1:
        counts = counts[:, None]
    n_units, _ = counts.shape
    fractions = np.asarray(fractions, dtype=np.float64)
    sizes = counts.sum(axis=1)
    # one extra "stratum": the unit's size, so that side sizes follow the fractions too
    data = np.column_stack([counts, sizes])
    totals = data.sum(axis=0)
    target = np.outer(fractions, totals)  # sides x (strata + 1)
    weight = 1.0 / np.maximum(target, 1e-9)  # relative, not absolute, error per side and stratum
    weight[:, -1] *= 0.5  # size matters, but less than the class composition
    weight[target <= 0] = 0.0
    # largest first; a seeded shuffle decides the order among units of equal size
    perm = rng.permutation(n_units)
    order = perm[np.argsort(-sizes[perm], kind="stable")]
    return _greedy(data, order, target, weight)


def _greedy(data: np.ndarray, order: np.ndarray, target: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The greedy loop, in plain Python over each unit's non-zero counts (a unit usually
    touches one or two strata plus its size): about 1 microsecond per unit and side.

    With D[s][k] = w_sk (C_sk - T_sk), adding counts c to side s changes the objective
    sum_k w_sk (C_sk - T_sk)^2 by sum_k c_k (w_sk c_k + 2 D[s][k]); the unit goes to the
    side where that is smallest (the earlier side on ties).
    """
    n_sides = target.shape[0]
    w = weight.tolist()
    D = (-weight * target).tolist()
    ordered = data[order]
    nz_rows, nz_cols_arr = np.nonzero(ordered)
    values = ordered[nz_rows, nz_cols_arr].tolist()
    starts = np.searchsorted(nz_rows, np.arange(len(order) + 1)).tolist()
    nz_cols = nz_cols_arr.tolist()
    side_of = [0] * len(order)
    sides = range(n_sides)
    for i in range(len(order)):
        lo, hi = starts[i], starts[i + 1]
        best_s, best = 0, float("inf")
        for s in sides:
            ws, ds = w[s], D[s]
            delta = 0.0
            for j in range(lo, hi):
                k, c = nz_cols[j], values[j]
                delta += c * (ws[k] * c + 2.0 * ds[k])
            if delta < best:
                best, best_s = delta, s
        ws, ds = w[best_s], D[best_s]
        for j in range(lo, hi):
            k = nz_cols[j]
            ds[k] += ws[k] * values[j]
        side_of[i] = best_s
    out = np.empty(len(order), dtype=np.int64)
    out[order] = side_of
    return out


def assign_rows_stratified(
    strata: np.ndarray,
    fractions: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Exact stratified assignment of independent rows (no groups), vectorised.

    Within each stratum the rows are shuffled and cut at the cumulative fractions, so
    every side holds its share of every stratum up to one row. Rows with stratum -1
    (no label) are spread by the same rule as a stratum of their own.
    """
    strata = np.asarray(strata)
    n = len(strata)
    fractions = np.asarray(fractions, dtype=np.float64)
    side_of = np.empty(n, dtype=np.int64)
    cum = np.cumsum(fractions)
    cum[-1] = 1.0
    # rotate the sides' rounding order per stratum so that no side always loses the remainder
    for j, value in enumerate(np.unique(strata)):
        rows = np.flatnonzero(strata == value)
        rows = rows[rng.permutation(len(rows))]
        m = len(rows)
        # position within the stratum, offset by a fraction of a row so rounding rotates
        pos = (np.arange(m) + (j * 0.37) % 1.0) / m
        side_of[rows] = np.minimum(np.searchsorted(cum, pos, side="right"), len(fractions) - 1)
    return side_of


def contiguous_blocks(sizes_in_order: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Cut an ordered sequence of units into consecutive blocks with the given row shares.

    Used for time-ordered splits: units (time points or groups) in time order, the cut
    placed at the unit boundary closest to each cumulative target. Every block gets at
    least one unit when there are enough units.
    """
    sizes_in_order = np.asarray(sizes_in_order, dtype=np.float64)
    n_units = len(sizes_in_order)
    k = len(fractions)
    ends = np.cumsum(sizes_in_order) / sizes_in_order.sum()  # share of rows up to and including unit i
    cuts: list[int] = []
    lo = 0
    for j, target in enumerate(np.cumsum(fractions)[:-1]):
        # first unit index of the next block: boundary closest to the target share
        best = int(np.argmin(np.abs(ends - target))) + 1
        # keep at least one unit in this block and leave one for each remaining block
        best = max(best, lo + 1)
        best = min(best, n_units - (k - 1 - j))
        cuts.append(best)
        lo = best
    block = np.zeros(n_units, dtype=np.int64)
    for c in cuts:
        block[c:] += 1
    return block
