"""The leakage audit after every split, and the split's composition (Tips 1, 4, 7).

``audit_split`` looks for the ways a test set stops being independent of training:

* ``split_group_overlap`` (error): one individual (group) with rows on two sides.
* ``split_duplicate_overlap``: the same sample on two sides, as an exact copy of its
  features (error) or a near copy (warning: row correlation above
  :data:`NEAR_DUPLICATE_CORRELATION` after standardising each feature).
* ``group_leakage`` (warning): the design questionnaire says individuals gave several
  samples, but the split had no group column to keep them together.

``split_summary`` gives, per side, rows, groups (the effective sample size), class or
label composition and batch composition: the page's chart and the report's table.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..errors import SplitError
from ..findings import Finding
from ..study import Roles
from ._types import SIDES, Split

__all__ = ["audit_split", "split_summary", "NEAR_DUPLICATE_CORRELATION"]

#: Two samples whose standardised feature profiles correlate above this are treated as
#: the same biological sample measured twice. Independent samples with 10 or more
#: independent features essentially never reach it (the chance correlation of 10
#: independent values exceeds 0.999 with probability about 2e-12, so well under one
#: false pair among the at most 2e7 pairs compared); technical replicates usually do.
NEAR_DUPLICATE_CORRELATION = 0.999
#: Fewer features than this and correlation between two samples is too noisy to mean
#: "the same sample": only exact duplicates are looked for.
MIN_FEATURES_FOR_NEAR = 10
#: A tune or test side with fewer independent units (individuals, or rows without a group
#: column) than this gives a score whose interval is too wide to say much: one unit more or
#: less moves it a lot.
MIN_SIDE_UNITS = 10
#: Bounded cost for wide and long data: at most this many features (a seeded random
#: subset) held-out rows compared with at most this many rows of the other sides (seeded
#: samples; the evidence says so): about 4e9 multiply-adds, a few seconds at worst.
MAX_FEATURES_FOR_NEAR = 200
MAX_HELDOUT_ROWS_FOR_NEAR = 2000
MAX_REFERENCE_ROWS = 10000
#: Below this share of distinct feature rows the features take few values (counts,
#: categories), identical rows arise by chance, and exact duplicates become a note.
MIN_DISTINCT_SHARE = 0.5
_EXAMPLES = 10


def _check_shape(df: pd.DataFrame, split: Split) -> None:
    if len(split.assignment) != len(df):
        raise SplitError(
            f"The split has {len(split.assignment)} rows but the table has {len(df)}: it was made "
            "for another table. Make the split again for this table."
        )


def _group_overlap(df: pd.DataFrame, roles: Roles, sides: np.ndarray) -> list[Finding]:
    if not roles.group or roles.group not in df.columns:
        return []
    g = df[roles.group].astype(str).where(df[roles.group].notna(), None).to_numpy()
    known = pd.notna(g)
    n_sides = pd.Series(sides[known]).groupby(g[known]).nunique()
    crossing = n_sides[n_sides > 1]
    if crossing.empty:
        return []
    names = [str(x) for x in crossing.index[:_EXAMPLES]]
    rows = int(np.isin(g, crossing.index.to_numpy()).sum())
    return [
        Finding(
            code="split_group_overlap",
            severity="error",
            tip=7,
            columns=(roles.group,),
            message=(
                f"{len(crossing)} '{roles.group}' group(s) have rows on more than one side of the split "
                f"({', '.join(names)}{' …' if len(crossing) > _EXAMPLES else ''}). A model tested on an "
                "individual it was trained on looks better than it is. Make the split with the "
                "'group' strategy so that every individual stays on one side."
            ),
            evidence={"n_groups": int(len(crossing)), "n_rows": rows, "groups": names},
        )
    ]


def _feature_matrix(df: pd.DataFrame, roles: Roles) -> tuple[list[str], np.ndarray | None]:
    dtypes = df.dtypes  # one pass over the dtypes: df[c] per column is slow on wide tables

    def numeric(t: object) -> bool:
        return pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)

    if roles.features:
        cols = [c for c in roles.features if c in df.columns]
    else:  # the rule of Roles.feature_columns
        meta = set(roles.metadata_columns)
        cols = [c for c, t in dtypes.items() if c not in meta and numeric(t)]
    if not cols:
        return cols, None
    if all(numeric(dtypes[c]) for c in cols):
        return cols, df[cols].to_numpy(dtype=np.float64, na_value=np.nan)
    X = np.column_stack(
        [pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan) for c in cols]
    )
    return cols, X


def _canonical(M: np.ndarray) -> np.ndarray:
    """One NaN bit pattern, and -0.0 as 0.0, so equal values have equal bytes."""
    return np.where(np.isnan(M), np.nan, M + 0.0)


def _row_keys(M: np.ndarray) -> np.ndarray:
    """An integer per row, equal exactly for rows with identical values (NaN equals NaN)."""
    M = np.ascontiguousarray(_canonical(M))
    view = M.view(np.dtype((np.void, M.dtype.itemsize * M.shape[1])))[:, 0]
    return np.unique(view, return_inverse=True)[1].ravel()


def _row_hashes(M: np.ndarray) -> np.ndarray:
    """A fast 64-bit hash per row, as small integer codes (collisions are confirmed later)."""
    h = pd.util.hash_pandas_object(pd.DataFrame(_canonical(M)), index=False).to_numpy()
    return pd.factorize(h)[0].astype(np.int64)


def _exact_duplicates(
    df: pd.DataFrame, roles: Roles, sides: np.ndarray, cols: list[str], X: np.ndarray | None
) -> list[Finding]:
    parts = []
    if X is not None:
        parts.append(X)
    seq = roles.sequence if roles.sequence and roles.sequence in df.columns else None
    if seq:
        parts.append(pd.factorize(df[seq].astype(str))[0][:, None].astype(np.float64))
    if not parts:
        return []
    key_cols = list(cols) + ([seq] if seq else [])
    M = np.hstack(parts) if len(parts) > 1 else parts[0]
    usable = ~np.isnan(M).all(axis=1)
    # candidates by a hash of a subset of columns (bounded cost on wide data), then
    # confirmed by exact comparison of all columns
    sub = M[:, :MAX_FEATURES_FOR_NEAR] if M.shape[1] > MAX_FEATURES_FOR_NEAR else M
    h = _row_hashes(sub)
    frame = pd.DataFrame({"h": h[usable], "side": sides[usable], "row": np.flatnonzero(usable)})
    cand = (frame.groupby("h")["side"].transform("nunique") > 1).to_numpy()
    if cand.any():
        rows = frame.loc[cand, "row"].to_numpy()
        exact = _row_keys(M[rows])
        frame.loc[cand, "h"] = h.max() + 1 + exact  # new keys, apart from the hash codes
    per_hash = frame.groupby("h")["side"].nunique()
    crossing = per_hash[per_hash > 1].index
    if len(crossing) == 0:
        return []
    hit = frame[frame["h"].isin(crossing)].sort_values(["h", "row"])
    pairs = [[int(r) + 1 for r in rows.tolist()[:4]] for _, rows in hit.groupby("h", sort=False)["row"]][
        :_EXAMPLES
    ]
    distinct_share = frame["h"].nunique() / max(1, len(frame))
    few_values = distinct_share < MIN_DISTINCT_SHARE
    what = "feature values" + (f" and '{roles.sequence}' sequence" if roles.sequence in key_cols else "")
    coincidence = X is not None and not seq and not _copies_meaningful(X)
    if coincidence:
        few_values = True
        message = (
            f"{len(crossing)} distinct combination(s) of feature values occur on two sides of the split "
            f"({len(hit)} rows), but there are only {len(cols)} features and they are whole numbers "
            "(scores, counts, grades): different individuals share the same values by chance. This is a "
            "coincidence, not a copied sample (the same rule as the duplicate check). No action needed "
            "unless these rows are repeated measurements of one individual; then give them a group id."
        )
    elif few_values:
        message = (
            f"{len(crossing)} distinct sample(s) have identical {what} on two sides of the split, but "
            f"only {distinct_share:.0%} of rows are distinct: the features take few values, so identical "
            "rows are expected by chance. No action needed unless these are repeated measurements."
        )
    else:
        message = (
            f"{len(crossing)} sample(s) appear with identical {what} on more than one side of the "
            f"split ({len(hit)} rows; e.g. rows {pairs[0]}). The model is then tested on samples it "
            "has seen. If they are technical replicates of one sample, give them a common group id "
            "and split by group; if they are accidental copies, remove them."
        )
    return [
        Finding(
            code="split_duplicate_overlap",
            severity="info" if few_values else "error",
            tip=7,
            columns=tuple(key_cols[:20]),
            message=message,
            evidence={
                "kind": "exact",
                "n_distinct_duplicated": int(len(crossing)),
                "n_rows": int(len(hit)),
                "example_rows": pairs,
                "distinct_share": round(float(distinct_share), 4),
                "coincidence": bool(coincidence),
            },
        )
    ]


def _copies_meaningful(X: np.ndarray) -> bool:
    """The checks' rule (``checks._samples.exact_copies_meaningful``) on this matrix."""
    from ..checks._samples import exact_copies_meaningful

    with np.errstate(invalid="ignore"):
        finite = X[np.isfinite(X)]
    whole = bool(finite.size == 0 or np.all(finite == np.round(finite)))
    return exact_copies_meaningful(X.shape[1], whole=whole)


def _standardise(X: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Column z-scores, then each row centred and scaled to unit norm, so a dot product
    of two rows is the correlation of their standardised profiles."""
    Z = (X - mu) / sd
    Z = np.where(np.isfinite(Z), Z, 0.0)
    Z -= Z.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(Z, axis=1, keepdims=True)
    return np.divide(Z, norm, out=np.zeros_like(Z), where=norm > 0)


def _near_duplicates(
    roles: Roles, sides: np.ndarray, cols: list[str], X: np.ndarray, seed: int = 0
) -> list[Finding]:
    rng = np.random.default_rng(seed)
    train = np.flatnonzero(sides == 0)
    if len(train) < 2 or (sides != 0).sum() == 0:
        return []
    fit = train if len(train) <= MAX_REFERENCE_ROWS else rng.choice(train, MAX_REFERENCE_ROWS, replace=False)
    with np.errstate(all="ignore"):
        mu = np.nanmean(X[fit], axis=0)
        sd = np.nanstd(X[fit], axis=0)
    informative = np.flatnonzero(np.isfinite(sd) & (sd > 0))
    if len(informative) < MIN_FEATURES_FOR_NEAR:
        return []
    if len(informative) > MAX_FEATURES_FOR_NEAR:
        informative = np.sort(rng.choice(informative, MAX_FEATURES_FOR_NEAR, replace=False))
    used_cols = [cols[i] for i in informative]
    mu, sd = mu[informative], sd[informative]
    # held-out rows (tune, test) against the rows of the other sides (train, tune); a pair
    # counts only when its two rows are on different sides, so each pair is seen once
    held = np.flatnonzero(sides != 0)
    others = np.flatnonzero(sides != 2)
    sampled = len(held) > MAX_HELDOUT_ROWS_FOR_NEAR or len(others) > MAX_REFERENCE_ROWS
    if len(held) > MAX_HELDOUT_ROWS_FOR_NEAR:
        held = np.sort(rng.choice(held, MAX_HELDOUT_ROWS_FOR_NEAR, replace=False))
    if len(others) > MAX_REFERENCE_ROWS:
        others = np.sort(rng.choice(others, MAX_REFERENCE_ROWS, replace=False))
    Zo = _standardise(X[np.ix_(others, informative)], mu, sd)
    found: list[tuple[int, int, float]] = []
    n_found = 0
    block = max(1, 4_000_000 // max(1, len(others)))
    for start in range(0, len(held), block):
        rows = held[start : start + block]
        corr = _standardise(X[np.ix_(rows, informative)], mu, sd) @ Zo.T
        hit_r, hit_c = np.nonzero(corr > NEAR_DUPLICATE_CORRELATION)
        apart = sides[rows[hit_r]] != sides[others[hit_c]]  # only pairs on different sides
        hit_r, hit_c = hit_r[apart], hit_c[apart]
        n_found += len(hit_r)
        for r, c in zip(hit_r[: max(0, _EXAMPLES - len(found))], hit_c, strict=False):
            found.append((int(rows[r]), int(others[c]), float(corr[r, c])))
    if n_found == 0:
        return []
    return [
        Finding(
            code="split_duplicate_overlap",
            severity="warning",
            tip=7,
            columns=tuple(used_cols[:20]),
            message=(
                f"{n_found} pair(s) of samples on different sides of the split have nearly identical "
                f"feature profiles (correlation above {NEAR_DUPLICATE_CORRELATION} after standardising "
                f"each feature; e.g. rows {found[0][0] + 1} and {found[0][1] + 1}). They are probably the "
                "same sample measured twice (technical replicates) or copies; the model would be tested "
                "on what it has seen. Give replicates a common group id and split by group."
            ),
            evidence={
                "kind": "near",
                "n_pairs": int(n_found),
                "threshold": NEAR_DUPLICATE_CORRELATION,
                "example_pairs": [{"rows": [a + 1, b + 1], "correlation": round(r, 5)} for a, b, r in found],
                "features_used": len(used_cols),
                "heldout_rows_checked": int(len(held)),
                "reference_rows_checked": int(len(others)),
                "sampled": bool(sampled),
            },
        )
    ]


def _group_leakage(roles: Roles, split: Split) -> list[Finding]:
    repeated = bool(split.params.get("design_repeated_units"))
    if not repeated or roles.group:
        return []
    return [
        Finding(
            code="group_leakage",
            severity="warning",
            tip=4,
            columns=(),
            message=(
                "The design questionnaire says individuals gave several samples (replicates or time "
                f"points), but this '{split.strategy}' split had no group column: rows of one "
                "individual can sit in train and test, so test scores overstate how well the model "
                "works on new individuals and the effective sample size is smaller than the row "
                "count. Set the group column (individual, donor, patient) on the Data page and "
                "split by group."
            ),
            evidence={"strategy": split.strategy, "rows": int(len(split.assignment))},
        )
    ]


def audit_split(df: pd.DataFrame, roles: Roles, split: Split) -> list[Finding]:
    """Leakage audit of a split: group overlap, duplicate samples across sides, and
    repeated units without a group column.

    Returns
    -------
    list of Finding
        Empty when the split is clean.

    Examples
    --------
    >>> from deeprules_core.split import make_split
    >>> df = pd.DataFrame({"p": np.repeat(np.arange(60), 2), "y": np.repeat([0, 1] * 30, 2),
    ...                    "x": np.arange(120.0)})
    >>> audit_split(df, Roles(label="y", group="p"), make_split(df, Roles(label="y", group="p")))
    []
    """
    _check_shape(df, split)
    sides = pd.Categorical(split.assignment["split"], categories=SIDES).codes.astype(np.int64)
    findings = _group_overlap(df, roles, sides)
    cols, X = _feature_matrix(df, roles)
    findings += _exact_duplicates(df, roles, sides, cols, X)
    if X is not None and not any(
        f.code == "split_duplicate_overlap" and f.severity == "error" for f in findings
    ):
        findings += _near_duplicates(roles, sides, cols, X, seed=split.seed)
    findings += _group_leakage(roles, split)
    findings += _small_sides(df, roles, split)
    return findings


def split_summary(df: pd.DataFrame, roles: Roles, split: Split) -> dict[str, Any]:
    """Per side: rows, groups (effective sample size), label and batch composition.

    Returns
    -------
    dict
        ``{"strategy", "seed", "sha256", "n_folds", "explanation", "unit",
        "sides": {side: {"rows", "groups", "unlabelled", "classes" | "label",
        "batches": {column: {level: rows}}}}}``. JSON-able.
    """
    _check_shape(df, split)
    side = split.assignment["split"].to_numpy()
    unit = roles.group if roles.group and roles.group in df.columns else None
    out: dict[str, Any] = {
        "strategy": split.strategy,
        "seed": split.seed,
        "sha256": split.sha256,
        "n_folds": split.n_folds,
        "explanation": split.params.get("explanation", ""),
        "unit": unit or "row",
        "sides": {},
    }
    y = df[roles.label] if roles.label and roles.label in df.columns else None
    for s in SIDES:
        on = side == s
        part = df.loc[on]
        entry: dict[str, Any] = {
            "rows": int(on.sum()),
            "groups": int(part[unit].nunique()) if unit else int(on.sum()),
        }
        if y is not None:
            ys = y[on]
            entry["unlabelled"] = int(ys.isna().sum())
            if roles.task == "regression":
                v = pd.to_numeric(ys, errors="coerce").dropna()
                entry["label"] = {
                    "mean": float(v.mean()) if len(v) else None,
                    "median": float(v.median()) if len(v) else None,
                    "sd": float(v.std()) if len(v) > 1 else None,
                    "min": float(v.min()) if len(v) else None,
                    "max": float(v.max()) if len(v) else None,
                }
            else:
                counts = ys.dropna().astype(str).value_counts().sort_index()
                entry["classes"] = {str(k): int(v) for k, v in counts.items()}
        entry["batches"] = {
            b: {str(k): int(v) for k, v in part[b].astype(str).value_counts().sort_index().items()}
            for b in roles.batch
            if b in df.columns
        }
        out["sides"][s] = entry
    return out


def _small_sides(df: pd.DataFrame, roles: Roles, split: Split) -> list[Finding]:
    """``too_few_samples`` when the tune or test side holds fewer than
    :data:`MIN_SIDE_UNITS` independent units."""
    unit = roles.group if roles.group and roles.group in df.columns else None
    side = split.assignment["split"].to_numpy()
    small = {}
    for s in ("tune", "test"):
        on = side == s
        if not on.any():
            continue
        n_units = int(df.loc[on, unit].nunique()) if unit else int(on.sum())
        if n_units < MIN_SIDE_UNITS:
            small[s] = {"units": n_units, "rows": int(on.sum())}
    if not small:
        return []
    what = "individuals" if unit else "samples"
    parts = [f"the {s} side {v['units']} {what} ({v['rows']} rows)" for s, v in small.items()]
    total = int(df[unit].nunique()) if unit else len(df)
    return [
        Finding(
            code="too_few_samples",
            severity="warning",
            tip=7,
            columns=(unit,) if unit else (),
            message=(
                f"The split leaves {' and '.join(parts)}. A score measured on so few independent units has a "
                "very wide interval, and one unit more or less moves it a lot. With "
                f"{total} {what} in all, report the interval with every score, prefer a larger tune/test "
                "fraction, or rely on cross-validation over the training side and collect an independent "
                "test set later."
            ),
            evidence={"sides": small, "unit": unit or "row", "minimum": MIN_SIDE_UNITS, "total_units": total},
        )
    ]
