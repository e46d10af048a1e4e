"""Sample-level checks: identical and near-identical samples, identical samples with
different labels, and outlying samples.

Near-duplicates are found without the n x n correlation matrix: every sample is
projected onto 16 random directions (Johnson-Lindenstrauss), candidate pairs come from
grid hashing of the projections, and each candidate is then verified with its exact
correlation over all features. Outliers use robust distances on principal-component
scores (randomised SVD), so both stay fast on 2,000 x 20,000 and on 20,000 x 500 tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..findings import Finding
from ..study import Roles
from ._profile import FeatureProfile
from ._refs import ROW_NOTE, refs_text, sample_refs, uses_rows
from ._stats import robust_z
from ._units import without_missing_tokens

__all__ = [
    "check_duplicates",
    "check_outliers",
    "outlier_scores",
    "near_duplicate_pairs",
    "exact_copies_meaningful",
]

#: Two samples whose feature profiles (each feature standardised) correlate above 0.999
#: are the same measurement, copied or lightly re-processed. Calibration (tests): a
#: technical replicate with noise at 10% of the biological SD correlates about 0.99,
#: biological replicates far less; 0.999 is only reached with noise under ~3% of the
#: biological SD, i.e. the same data.
NEAR_DUP_CORR = 0.999
#: Fewer varying features than this and two unrelated samples can correlate by chance.
NEAR_DUP_MIN_FEATURES = 10
#: Exact duplicates are only meaningful with several features (two patients can share
#: three whole-number values by chance) ...
EXACT_DUP_MIN_FEATURES = 3
#: ... and with whole-number data, at least this many.
EXACT_DUP_MIN_WHOLE = 10
_N_PROJ = 16


def exact_copies_meaningful(n_features: int, *, whole: bool) -> bool:
    """The one rule (checks and split audit) for when identical rows mean "the same sample".

    With fewer than :data:`EXACT_DUP_MIN_FEATURES` features, or whole-number features
    (scores, counts, grades) fewer than :data:`EXACT_DUP_MIN_WHOLE`, different individuals
    share the same values by chance (699 cytology samples on nine 1-10 scores hold
    hundreds of equal rows): a coincidence, not a copy.
    """
    return n_features >= EXACT_DUP_MIN_FEATURES and (n_features >= EXACT_DUP_MIN_WHOLE or not whole)


#: Projected squared distances are verified up to 4 x the threshold: the 99.9999th
#: percentile of chi2(16)/16 is 3.4, so no true pair is missed.
_PROJ_SLACK = 4.0
#: Verify at most this many candidate pairs (a table of thousands of copies of one
#: sample is reported from the first ones).
_MAX_CANDIDATES = 200_000
#: Principal components used for outlier distances.
OUTLIER_PCS = 10
#: A sample is an outlier when its robust distance has a Bonferroni-corrected tail
#: probability under 1% (chi-square with one degree of freedom per component, scaled so
#: that the median sample sits at the chi-square median) ...
OUTLIER_ALPHA = 0.01
#: ... times a safety margin of 1.5: MAD-based z-scores from finite samples have heavier
#: tails than the chi-square. Calibration on 90 simulated clean tables (20 to 400
#: samples, 50 to 2,000 features, missing values, strong class signal): margin 1.0
#: flagged a sample in 3 tables, 1.3 and 1.5 in none.
OUTLIER_MARGIN = 1.5
#: An outlier must also be isolated: its 3rd-nearest neighbour at least twice as far as
#: is typical (members of a subgroup of 4 or more have close neighbours; two or three
#: bad samples that resemble each other are still reported).
OUTLIER_NN_RATIO = 2.0
OUTLIER_COMPANY = 3
#: More than 5% of samples beyond the threshold is a subgroup (a batch, a subtype), not
#: a few bad samples: reported as a note pointing to the batch and confound checks.
OUTLIER_MAX_SHARE = 0.05
#: Robust statistics need enough samples: no outlier check under 20 samples, and
#: distances are computed within each class only when every class has 50 or more
#: (a median and MAD from fewer samples are too noisy).
OUTLIER_MIN_N = 20
OUTLIER_MIN_STRATUM = 50


def _ids(df: pd.DataFrame, roles: Roles, rows) -> list:
    rows = np.asarray(rows, dtype=int)
    if roles.id and roles.id in df.columns:
        return df[roles.id].to_numpy()[rows].tolist()
    return rows.tolist()


def _projection(profile: FeatureProfile, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random Gaussian directions G (features x 16) and the projections Z @ G (cached)."""
    cache = profile.__dict__.setdefault("_projection_cache", {})
    if seed not in cache:
        rng = np.random.default_rng(seed)
        G = rng.standard_normal((profile.p, _N_PROJ)).astype(np.float32)
        cache[seed] = (G, (profile.Z @ G).astype(np.float64))
    return cache[seed]


def _exact_groups(profile: FeatureProfile, *, min_observed: int = EXACT_DUP_MIN_FEATURES) -> list[np.ndarray]:
    """Groups of rows with identical feature values.

    Missing is not equal to missing: two rows count as copies only when they hold the
    same values in at least ``min_observed`` measured features and are missing in the
    same ones. Rows with fewer measured values (an empty row, a failed assay) are never
    copies of each other; the missing-values check reports them.

    Identical rows have identical projections: rows are sorted on one projection,
    runs of (nearly) equal values are the candidates, and each run is verified value
    by value.
    """
    if profile.n < 2 or profile.p == 0:
        return []
    observed = profile.p - profile.n_missing_row
    _, P = _projection(profile)
    tol = 1e-4 * np.sqrt(max(profile.p, 1))
    order = np.argsort(P[:, 0], kind="stable")
    close = (np.abs(np.diff(P[order, :3], axis=0)) <= tol).all(axis=1)
    if not close.any():
        return []
    run_id = np.concatenate([[0], np.cumsum(~close)])
    groups = []
    for r in np.flatnonzero(np.bincount(run_id) > 1):
        members = np.sort(order[run_id == r])
        members = members[observed[members] >= min_observed]
        if len(members) < 2:
            continue
        rows = np.ascontiguousarray(profile.X[members])
        rows[np.isnan(rows)] = np.nan  # one NaN bit pattern
        view = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
        _, inverse, counts = np.unique(view, return_inverse=True, return_counts=True)
        for g in np.flatnonzero(counts > 1):
            groups.append(members[inverse.ravel() == g])
    return groups


def _lsh_pairs(V: np.ndarray, radius: float, seed: int) -> np.ndarray:
    """Candidate pairs of rows of ``V`` within ``radius`` (grid hashing, shifted grids).

    A k-d tree is slow in 16 dimensions; instead every repetition hashes the points
    into cells of width ``1.25 * radius`` on 6 of the coordinates with a random shift.
    A pair at the near-duplicate threshold shares a cell in one repetition with
    probability above 0.4, so 16 repetitions miss it with probability under 1e-4.
    """
    rng = np.random.default_rng(seed + 1)
    n, m = V.shape
    width = 1.25 * radius
    found: list[np.ndarray] = []
    total = 0
    for _ in range(16):
        cols = rng.choice(m, size=min(6, m), replace=False)
        cells = np.floor((V[:, cols] + rng.uniform(0, width, size=len(cols))) / width).astype(np.int64)
        # |V| <= ~1.5 so cells lie within +-16: 8 bits per coordinate encode them exactly
        cells = np.clip(cells + 128, 0, 255)
        keys = (cells << (8 * np.arange(len(cols), dtype=np.int64))).sum(axis=1)
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        multi = np.flatnonzero(counts > 1)
        if not len(multi):
            continue
        idx = np.flatnonzero(np.isin(inverse, multi))
        idx = idx[np.argsort(inverse[idx], kind="stable")]
        bucket = inverse[idx]
        for d in range(1, min(int(counts.max()), 200)):  # all pairs within a bucket, by offset
            same = bucket[d:] == bucket[:-d]
            if not same.any():
                break
            found.append(np.stack([idx[:-d][same], idx[d:][same]], axis=1))
            total += int(same.sum())
        if total > _MAX_CANDIDATES:
            break
    if not found:
        return np.zeros((0, 2), dtype=int)
    pairs = np.unique(np.sort(np.concatenate(found), axis=1), axis=0)
    d2 = ((V[pairs[:, 0]] - V[pairs[:, 1]]) ** 2).sum(axis=1)
    return pairs[d2 <= radius**2]


def near_duplicate_pairs(profile: FeatureProfile, *, threshold: float = NEAR_DUP_CORR, seed: int = 0):
    """Pairs of samples whose standardised feature profiles correlate above ``threshold``.

    Returns ``(i, j, r)`` arrays (i < j). Exact duplicates are included (r = 1).
    """
    empty = (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    if profile.n < 2 or int(profile.informative().sum()) < NEAR_DUP_MIN_FEATURES:
        return empty
    Z = profile.Z
    p = Z.shape[1]
    G, proj = _projection(profile, seed)
    row_mean = profile.row_sum / p
    sq = profile.row_sumsq - p * row_mean**2
    norm = np.sqrt(np.maximum(sq, 0.0))
    proj = proj - np.outer(row_mean, G.sum(axis=0, dtype=np.float64))
    ok = norm > 1e-8 * max(1.0, float(np.median(norm)))
    # a correlation over mostly imputed values says nothing: at least half the features measured
    ok &= p - profile.n_missing_row >= max(NEAR_DUP_MIN_FEATURES, p / 2)
    idx = np.flatnonzero(ok)
    V = proj[idx] / (norm[idx, None] * np.sqrt(_N_PROJ))
    radius = np.sqrt(2 * (1 - threshold) * _PROJ_SLACK)
    pairs = _lsh_pairs(V, radius, seed)
    if not len(pairs):
        return empty
    pairs = pairs[:_MAX_CANDIDATES]
    i, j = idx[pairs[:, 0]], idx[pairs[:, 1]]
    r = np.empty(len(i))
    for a in range(0, len(i), 2000):
        ii, jj = i[a : a + 2000], j[a : a + 2000]
        A = Z[ii].astype(np.float64) - row_mean[ii, None]
        B = Z[jj].astype(np.float64) - row_mean[jj, None]
        r[a : a + 2000] = np.einsum("ij,ij->i", A, B) / (norm[ii] * norm[jj])
    keep = r > threshold
    lo, hi = np.minimum(i, j)[keep], np.maximum(i, j)[keep]
    return lo, hi, r[keep]


def check_duplicates(df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile) -> list[Finding]:
    """Exact duplicates, near-duplicates, and identical samples with different labels."""
    out: list[Finding] = []
    p = profile.p
    labels = None
    if roles.label and roles.label in df.columns:
        labels = without_missing_tokens(df[roles.label]).to_numpy()  # '.' is no label, not a class
    whole = bool(profile.whole.all())
    enough = exact_copies_meaningful(p, whole=whole)
    min_observed = EXACT_DUP_MIN_WHOLE if whole else EXACT_DUP_MIN_FEATURES
    groups = sorted(_exact_groups(profile, min_observed=min_observed) if enough else [], key=lambda g: g[0])
    in_group = np.full(profile.n, -1)
    for g, rows in enumerate(groups):
        in_group[rows] = g
    if groups:
        n_rows = int(sum(len(g) for g in groups))
        examples = [sample_refs(df, roles, g[:10]) for g in groups[:10]]
        with_missing = bool(any(profile.n_missing_row[g].any() for g in groups))
        what = (
            f"all {p} features"
            if not with_missing
            else "every measured feature, with missing values in the same ones"
        )
        within = False  # every set of copies inside one group: a group-aware split keeps them together
        if roles.group and roles.group in df.columns:
            gcol = df[roles.group].to_numpy()
            within = all(pd.Series(gcol[g]).nunique(dropna=False) == 1 for g in groups)
        severity = "error" if p >= NEAR_DUP_MIN_FEATURES and not within else "warning"
        consequence = (
            "They sit in one group each, so the group-aware split keeps copies together, but each "
            "still counts twice in training and in every statistic. Keep one copy of each."
            if within
            else "If copies land in training and test data, the test score is inflated. Keep one copy "
            "of each, or treat each set of copies as one unit (group column)."
        )
        out.append(
            Finding(
                code="exact_duplicates",
                severity=severity,  # type: ignore[arg-type]
                tip=1,
                columns=(),
                message=(
                    f"{n_rows} samples form {len(groups)} set(s) with identical values in {what} "
                    f"(for example {refs_text(examples[0])}). Identical measurements are one "
                    f"sample entered twice, not independent evidence. {consequence}"
                ),
                evidence={
                    "n_groups": len(groups),
                    "n_rows": n_rows,
                    "groups": examples,
                    "rows": [g[:10].tolist() for g in groups[:10]],
                    "within_one_group": within,
                },
            )
        )
        if labels is not None:
            conflicts = []
            for rows in groups:
                lab = pd.unique(pd.Series(labels[rows]).dropna())
                if len(lab) > 1:
                    conflicts.append(
                        {
                            "samples": sample_refs(df, roles, rows[:10]),
                            "rows": rows[:10].tolist(),
                            "labels": [str(x) for x in lab],
                        }
                    )
            if conflicts:
                out.append(
                    Finding(
                        code="conflicting_labels",
                        severity="error",
                        tip=1,
                        columns=(str(roles.label),),
                        message=(
                            f"{len(conflicts)} group(s) of samples have identical features but different labels "
                            f"in '{roles.label}' (for example {', '.join(conflicts[0]['samples'][:3])} labelled "
                            f"{' / '.join(conflicts[0]['labels'])}"
                            + (f"; {ROW_NOTE}" if uses_rows(conflicts[0]["samples"][:3]) else "")
                            + "). One measurement cannot be two things: either "
                            "a label is wrong or the samples were mixed up. Resolve them before training; no model "
                            "can fit contradictory labels, and they make every evaluation noisy."
                        ),
                        evidence={"n_groups": len(conflicts), "groups": conflicts[:20]},
                    )
                )
    i, j, r = near_duplicate_pairs(profile)
    near = (in_group[i] < 0) | (in_group[i] != in_group[j])
    i, j, r = i[near], j[near], r[near]
    if len(i):
        differ = 0
        if labels is not None:
            li, lj = pd.Series(labels[i]), pd.Series(labels[j])
            differ = int((li.notna() & lj.notna() & (li.astype(str) != lj.astype(str))).sum())
        order = np.argsort(-r, kind="stable")[:20]
        pairs: list[dict[str, Any]] = [
            {
                "samples": sample_refs(df, roles, [i[k], j[k]]),
                "rows": [int(i[k]), int(j[k])],
                "correlation": float(r[k]),
            }
            for k in order
        ]
        out.append(
            Finding(
                code="near_duplicates",
                severity="warning",
                tip=1,
                columns=(),
                message=(
                    f"{len(i)} pair(s) of samples are nearly identical (correlation above {NEAR_DUP_CORR} over "
                    f"all standardised features; for example {' and '.join(pairs[0]['samples'])}, "
                    f"r = {pairs[0]['correlation']:.5f}"
                    + (f"; {ROW_NOTE}" if uses_rows(pairs[0]["samples"]) else "")
                    + ")"
                    + (f"; {differ} of these pairs have different labels" if differ else "")
                    + ". Biological and even technical replicates differ more than this: these look like the "
                    "same data twice (a re-upload, a rounded copy). Copies split between training and test "
                    "inflate the score; keep one, or put each pair in one group."
                ),
                evidence={
                    "n_pairs": len(i),
                    "threshold": NEAR_DUP_CORR,
                    "pairs": pairs,
                    "n_label_differs": differ,
                },
            )
        )
    return out


def outlier_scores(
    df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile | None = None, seed: int = 0
) -> pd.DataFrame:
    """Robust distance of every sample on principal-component scores.

    Each component's scores are centred on their median and scaled by their MAD
    (within each class when every class has at least 50 samples); the squared
    distances are summed over components and rescaled so that the median sample sits
    at the chi-square median. Columns: ``row``, ``sample``, ``distance``,
    ``threshold``, ``outlier`` (and ``label`` when set). Empty when there are too few
    samples or features.
    """
    profile = profile or FeatureProfile.from_frame(df, roles)
    cols = ["row", "sample", "distance", "threshold", "outlier"]
    n = profile.n
    if n < OUTLIER_MIN_N or int(profile.informative().sum()) < 2:
        return pd.DataFrame(columns=cols)
    scores, _ = profile.pca_scores(OUTLIER_PCS, seed=seed)
    k = scores.shape[1]
    if k == 0:
        return pd.DataFrame(columns=cols)
    z = np.empty_like(scores, dtype=float)
    strata = np.zeros(n, dtype=int)
    if roles.task == "classification" and roles.label and roles.label in df.columns:
        codes, _ = pd.factorize(without_missing_tokens(df[roles.label]))
        sizes = np.bincount(codes[codes >= 0]) if (codes >= 0).any() else np.zeros(0)
        if len(sizes) > 1 and sizes.min() >= OUTLIER_MIN_STRATUM and (codes >= 0).all():
            strata = codes
    for s in np.unique(strata):
        m = strata == s
        z[m] = robust_z(scores[m], axis=0)
    d2 = (z**2).sum(axis=1)
    scale = float(np.median(d2)) / stats.chi2.median(k)
    scale = scale if scale > 0 else 1.0
    threshold = float(stats.chi2.isf(OUTLIER_ALPHA / n, k) * scale * OUTLIER_MARGIN)
    beyond = d2 > threshold
    isolated = np.zeros(n, dtype=bool)
    if beyond.any():
        isolated[beyond] = _isolated(z, np.flatnonzero(beyond), seed=seed)
    out = pd.DataFrame(
        {
            "row": np.arange(n),
            "sample": _ids(df, roles, np.arange(n)),
            "distance": np.sqrt(d2),
            "threshold": np.sqrt(threshold),
            "outlier": beyond & isolated,
            "beyond_threshold": beyond,
        }
    )
    if roles.label and roles.label in df.columns:
        out["label"] = df[roles.label].astype(str).to_numpy()
    return out


def _evidence(sc: pd.DataFrame, df: pd.DataFrame, roles: Roles) -> dict:
    hits = sc[sc["outlier"]].sort_values("distance", ascending=False)
    return {
        "n_outliers": len(hits),
        "threshold": float(sc["threshold"].iloc[0]),
        "samples": sample_refs(df, roles, hits["row"].to_numpy(dtype=int)[:50]),
        "rows": hits["row"].tolist()[:50],
        "distance": hits["distance"].round(2).tolist()[:50],
        "median_distance": float(sc["distance"].median()),
        "method": f"median/MAD z-scores on {OUTLIER_PCS} principal components",
    }


def _subgroup_finding(sc: pd.DataFrame, df: pd.DataFrame, roles: Roles) -> Finding:
    ev = _evidence(sc, df, roles)
    m, n = ev["n_outliers"], len(sc)
    return Finding(
        code="outliers",
        severity="info",
        tip=1,
        columns=(),
        message=(
            f"{m} sample(s) ({m / n:.0%}) lie far from the bulk on the main axes of variation, but close "
            "to each other: a subgroup (a batch, a site, a subtype) rather than a few bad samples. Look at "
            "the PCA on the Batch & confounds page to see what separates them."
        ),
        evidence=ev,
    )


def _nn_distance(z: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """Distance from each of ``rows`` to its k-th nearest other sample (in chunks)."""
    k = min(k, len(z) - 1)
    out = np.empty(len(rows))
    sq = (z**2).sum(axis=1)
    for a in range(0, len(rows), 256):
        r = rows[a : a + 256]
        d = sq[r, None] + sq[None, :] - 2 * z[r] @ z.T
        d[np.arange(len(r)), r] = np.inf
        out[a : a + 256] = np.sqrt(np.maximum(np.partition(d, k - 1, axis=1)[:, k - 1], 0.0))
    return out


def _isolated(z: np.ndarray, rows: np.ndarray, *, seed: int) -> np.ndarray:
    """Which of ``rows`` are far from every other sample, not members of a subgroup.

    A sample beyond the threshold whose ``OUTLIER_COMPANY``-th nearest neighbour is no
    further than ``OUTLIER_NN_RATIO`` times the typical such distance has company: it
    belongs to a cluster (a batch, a subtype), which the batch and confound checks
    report; it is not one of a few bad samples.
    """
    rng = np.random.default_rng(seed)
    ref = rng.choice(len(z), size=min(len(z), 500), replace=False)
    typical = float(np.median(_nn_distance(z, ref, OUTLIER_COMPANY)))
    return _nn_distance(z, rows, OUTLIER_COMPANY) > OUTLIER_NN_RATIO * max(typical, 1e-12)


def check_outliers(df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile) -> list[Finding]:
    """Samples far from the others on the main axes of variation (robust PCA distance)."""
    sc = outlier_scores(df, roles, profile=profile)
    if sc.empty or not sc["beyond_threshold"].any():
        return []
    if not sc["outlier"].any() or sc["outlier"].sum() > OUTLIER_MAX_SHARE * len(sc):
        sc = sc.assign(outlier=sc["beyond_threshold"])
        return [_subgroup_finding(sc, df, roles)]
    evidence = _evidence(sc, df, roles)
    m, threshold = evidence["n_outliers"], evidence["threshold"]
    return [
        Finding(
            code="outliers",
            severity="warning",
            tip=1,
            columns=(),
            message=(
                f"{m} sample(s) are outliers: their robust distance on the main axes of variation exceeds "
                f"{threshold:.1f} (median sample: {evidence['median_distance']:.1f}); for example "
                f"{refs_text(evidence['samples'], limit=5)}. Outliers are often failed or mislabelled "
                "samples and can dominate what a model learns. Check their quality records; remove them only "
                "with a reason you can report, and say so."
            ),
            evidence=evidence,
        )
    ]
