"""Small vectorised statistics shared by the checks (no pandas, no streamlit).

Everything here works on whole columns at once so that a 2,000 x 20,000 table is
tested in one pass rather than with 20,000 calls into scipy.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "robust_z",
    "chi2_missing_vs_groups",
    "mannwhitney_missing_vs_values",
    "fisher_two_sided",
]

#: 1.4826 turns a median absolute deviation into a standard deviation for Gaussian data.
MAD_TO_SD = 1.4826


def robust_z(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """(x - median) / (1.4826 * MAD) along ``axis``; a zero MAD falls back to the SD."""
    x = np.asarray(x, dtype=float)
    med = np.median(x, axis=axis, keepdims=True)
    mad = MAD_TO_SD * np.median(np.abs(x - med), axis=axis, keepdims=True)
    sd = np.std(x, axis=axis, keepdims=True)
    scale = np.where(mad > 0, mad, np.where(sd > 0, sd, 1.0))
    return (x - med) / scale


def fisher_two_sided(table: np.ndarray) -> float:
    """Two-sided Fisher exact test on a 2 x 2 table."""
    return float(stats.fisher_exact(np.asarray(table, dtype=int))[1])


def chi2_missing_vs_groups(
    missing: np.ndarray, codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test, for every column, whether missingness depends on a grouping.

    Parameters
    ----------
    missing
        Boolean matrix (samples x columns): True where the value is missing.
    codes
        Integer group code per sample (0 .. n_groups-1); -1 means "no group" (left out).
    n_groups
        Number of groups.

    Returns
    -------
    p, rates, expected_min
        The p-value per column (Pearson chi-square on the 2 x K table; two-sided
        Fisher exact for 2 x 2 tables whose smallest expected count is under 5),
        the missing rate per group (columns x groups), and the smallest expected
        count per column.
    """
    size = np.bincount(codes[codes >= 0], minlength=n_groups).astype(float)  # groups
    miss = np.empty((missing.shape[1], n_groups))  # columns x groups
    for g in range(n_groups):
        miss[:, g] = np.count_nonzero(missing[codes == g], axis=0)
    total = float(size.sum())
    present = size[None, :] - miss
    row_m = miss.sum(axis=1, keepdims=True)
    row_p = present.sum(axis=1, keepdims=True)
    exp_m = row_m * size[None, :] / total
    exp_p = row_p * size[None, :] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.where(exp_m > 0, (miss - exp_m) ** 2 / exp_m, 0.0).sum(axis=1)
        chi += np.where(exp_p > 0, (present - exp_p) ** 2 / exp_p, 0.0).sum(axis=1)
    dof = max(n_groups - 1, 1)
    p = stats.chi2.sf(chi, dof)
    expected_min = np.minimum(exp_m.min(axis=1), exp_p.min(axis=1))
    if n_groups == 2:
        for j in np.flatnonzero(expected_min < 5):
            p[j] = fisher_two_sided(np.array([miss[j], present[j]]))
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = miss / size[None, :]
    return p, rates, expected_min


def mannwhitney_missing_vs_values(missing: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, does a numeric outcome differ between rows with and without a missing value?

    A vectorised two-sided Mann-Whitney U test (normal approximation, tie-corrected).
    Returns the p-value and the difference in mean rank (missing minus present),
    scaled to [-1, 1], per column.
    """
    ok = np.isfinite(values)
    v = values[ok]
    m = np.asarray(missing[ok], dtype=np.float64)
    n = v.size
    ranks = stats.rankdata(v)
    n1 = m.sum(axis=0)
    n2 = n - n1
    r1 = ranks @ m
    u = r1 - n1 * (n1 + 1) / 2
    _, counts = np.unique(v, return_counts=True)
    tie = (counts**3 - counts).sum() / (n * (n - 1)) if n > 1 else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie))
        z = (u - n1 * n2 / 2) / sd
        p = 2 * stats.norm.sf(np.abs(z))
        effect = 2 * u / (n1 * n2) - 1
    p = np.where((n1 > 0) & (n2 > 0), p, np.nan)
    return p, effect
