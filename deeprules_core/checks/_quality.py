"""Quality checks on values: missingness (and whether it depends on the label or a
batch), constant features, impossible values, and class balance."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..findings import Finding
from ..stats import benjamini_hochberg
from ..study import Roles
from ._profile import COUNT_TABLE_SHARE, FeatureProfile
from ._refs import refs_text, sample_refs
from ._schema import domain_range
from ._stats import chi2_missing_vs_groups, mannwhitney_missing_vs_values
from ._units import MISSING_TOKENS, without_missing_tokens

__all__ = [
    "check_missing_values",
    "check_constant_features",
    "check_out_of_range",
    "check_class_imbalance",
    "check_label_one_class",
    "check_missing_not_at_random",
    "missingness_table",
    "label_counts",
]

#: A feature (or covariate) missing in more than half of the samples is mostly
#: imputed: whatever a model learns from it comes from the imputation, not the data.
MISSING_COLUMN_WARN = 0.5
#: A sample missing more than half of its features is likely a failed assay.
MISSING_SAMPLE_WARN = 0.5
#: Columns listed by name in a finding; the full count is in the evidence.
N_LIST = 20
#: Missingness is tested only where there are at least 5 missing and 5 present values:
#: with fewer, no test has the power to see a dependence, and Fisher's test is exact anyway.
MNAR_MIN_COUNT = 5
#: Benjamini-Hochberg false discovery rate for "missingness depends on label/batch".
#: 1% rather than 5%: with 20,000 tested columns, a false alarm on data missing
#: completely at random must stay rare (BH at level q bounds that chance by q).
MNAR_FDR = 0.01
#: ... and the missing rate must differ by at least 10 percentage points between the
#: groups (or by a rank-biserial effect of 0.2 for a numeric label): smaller
#: differences cannot bias a model much, however significant.
MNAR_MIN_DIFF = 0.10
MNAR_MIN_EFFECT = 0.2
#: Classes: the minority is under 1:5 of the majority (under 17% of a two-class table)
#: -> warning: a model that always predicts the majority is then over 83% accurate and
#: accuracy and AUROC flatter it (Tip 1 asks for precision-recall); under 1:2 -> a note.
IMBALANCE_WARN_RATIO = 0.2
IMBALANCE_INFO_RATIO = 0.5


def _fmt_cols(cols, n: int = 5) -> str:
    cols = [str(c) for c in cols]
    return ", ".join(f"'{c}'" for c in cols[:n]) + (f" and {len(cols) - n} more" if len(cols) > n else "")


def check_missing_values(df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile) -> list[Finding]:
    """Missing values per role column, per feature and per sample (with fractions)."""
    out: list[Finding] = []
    n = len(df)
    role_cols = [(roles.label, "label"), (roles.group, "group"), (roles.time, "time")]
    role_cols += [(c, "batch") for c in roles.batch] + [(c, "covariate") for c in roles.covariates]
    for col, role in role_cols:
        if not col or col not in df.columns or not n:
            continue
        s = df[col]
        n_empty = int(s.isna().sum())
        text_na = {}
        if not pd.api.types.is_numeric_dtype(s.dtype):
            vc = s.dropna().astype(str).value_counts()
            text_na = {k: int(v) for k, v in vc.items() if k.strip().lower() in MISSING_TOKENS}
        n_text = sum(text_na.values())
        if not n_empty and not n_text:
            continue
        n_missing = n_empty + n_text
        frac = n_missing / n
        parts = [f"{n_empty} empty cell(s)"] if n_empty else []
        if n_text:
            parts.append(
                f"{n_text} typed as text ("
                + ", ".join(f"'{k}' x{v}" for k, v in text_na.items())
                + "), which most software reads as a real category"
            )
        what = f"{n_missing} missing value(s) ({frac:.1%} of rows): " + " and ".join(parts)
        severe = role in ("label", "group", "batch") or frac > MISSING_COLUMN_WARN or bool(text_na)
        why = {
            "label": "rows without a label cannot be used for training or testing and will be dropped",
            "group": "rows without a group cannot be kept on one side of the split",
            "batch": "rows without a batch cannot be checked or corrected for batch effects",
        }.get(role, "a model must impute them, and the imputation can carry information it should not")
        out.append(
            Finding(
                code="missing_values",
                severity="warning" if severe else "info",
                tip=1,
                columns=(col,),
                message=(
                    f"The {role} column '{col}' has {what}. {why[0].upper()}{why[1:]}. Fill them in from the "
                    "source records "
                    "if you can, or leave the cells empty (not 'NA' text) so they are treated as missing."
                ),
                evidence={
                    "n_missing": n_missing,
                    "n_empty": n_empty,
                    "fraction": frac,
                    "missing_as_text": text_na,
                    "role": role,
                },
            )
        )
    p = profile.p
    if p and n and profile.has_missing:
        frac_col = profile.n_missing_col / n
        cols = np.flatnonzero(profile.n_missing_col > 0)
        heavy = np.flatnonzero(frac_col > MISSING_COLUMN_WARN)
        worst = cols[np.argsort(-frac_col[cols], kind="stable")][:N_LIST]
        overall = float(profile.n_missing_col.sum()) / (n * p)
        out.append(
            Finding(
                code="missing_values",
                severity="warning" if len(heavy) else "info",
                tip=1,
                columns=tuple(profile.names[j] for j in worst),
                message=(
                    f"{len(cols)} of {p} features have missing values ({overall:.1%} of all measurements)"
                    + (
                        f"; {len(heavy)} are missing in more than {MISSING_COLUMN_WARN:.0%} of samples"
                        if len(heavy)
                        else ""
                    )
                    + ". Models need complete data, so missing values get imputed; impute inside the "
                    "training folds only (never using test samples), and drop features that are mostly missing."
                ),
                evidence={
                    "n_features_with_missing": len(cols),
                    "n_features": p,
                    "overall_fraction": overall,
                    "n_features_mostly_missing": len(heavy),
                    "worst": {profile.names[j]: float(frac_col[j]) for j in worst},
                },
            )
        )
        frac_row = profile.n_missing_row / p
        bad_rows = np.flatnonzero(frac_row > MISSING_SAMPLE_WARN)
        if len(bad_rows):
            refs = sample_refs(df, roles, bad_rows[:50])
            out.append(
                Finding(
                    code="missing_values",
                    severity="warning",
                    tip=1,
                    columns=(),
                    message=(
                        f"{len(bad_rows)} sample(s) are missing more than {MISSING_SAMPLE_WARN:.0%} of their "
                        f"features (for example {refs_text(refs, limit=5)}). Such samples are usually failed "
                        "assays; most of their values would be invented by imputation. Check them and "
                        "consider removing them."
                    ),
                    evidence={
                        "rows": bad_rows[:50],
                        "samples": refs,
                        "fraction_missing": frac_row[bad_rows[:50]],
                    },
                )
            )
    return out


def check_constant_features(df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile) -> list[Finding]:
    """Features with no variation at all (one finding listing them, however many)."""
    const = np.flatnonzero(profile.constant)
    if not len(const):
        return []
    names = [profile.names[j] for j in const]
    return [
        Finding(
            code="constant_feature",
            severity="info",
            tip=1,
            columns=tuple(names[:N_LIST]),
            message=(
                f"{len(const)} of {profile.p} features never change (the same value, or nothing, in every "
                f"sample): {_fmt_cols(names)}. They carry no information, only cost; remove them. "
                "Filtering on variance over the whole table is harmless as it does not look at the label."
            ),
            evidence={"n_constant": len(const), "n_features": profile.p, "columns": names[:200]},
        )
    ]


def _range_finding(col: str, what: str, mask: np.ndarray, values: np.ndarray, df, roles, extra: str = ""):
    rows = np.flatnonzero(mask)
    ids = df[roles.id].to_numpy()[rows] if roles.id in df.columns else rows
    return Finding(
        code="out_of_range_values",
        severity="error",
        tip=1,
        columns=(col,),
        message=(
            f"Column '{col}' holds {len(rows)} impossible value(s) for {what} "
            f"(for example {', '.join(f'{v:g}' for v in values[rows][:5])}).{extra} Impossible values are data-entry "
            "or processing errors and models take them at face value. Correct them from the source, or set "
            "them to missing."
        ),
        evidence={"n": len(rows), "rows": rows[:50], "samples": ids[:50], "values": values[rows][:50]},
    )


def check_out_of_range(df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile) -> list[Finding]:
    """Impossible values: ages over 120 or negative, fractions over 1, negative counts, infinities."""
    out = []
    fidx = {c: j for j, c in enumerate(profile.names)}
    for c in df.columns:
        dom = domain_range(c)
        if (
            dom is None
            or not pd.api.types.is_numeric_dtype(df[c].dtype)
            or pd.api.types.is_bool_dtype(df[c].dtype)
        ):
            continue
        lo, hi, what = dom
        v = df[c].to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(v)
        if not finite.any():
            continue
        if what == "an age in years" and np.median(v[finite]) > hi:
            continue  # most values over 120: the column is in another unit (days, months), not wrong
        with np.errstate(invalid="ignore"):
            bad = (v < lo) if lo is not None else np.zeros(len(v), bool)
            if hi is not None:
                bad |= v > hi
        if bad.any():
            extra = ""
            if what == "a fraction" and np.nanmax(v) <= 100 and np.nanmean(v > 1) > 0.5:
                extra = " Most values are above 1: the column looks like percentages under a fraction's name."
            out.append(_range_finding(c, what, bad, v, df, roles, extra))
        fidx.pop(c, None)
    # count-like feature tables: negative values are impossible
    inf = profile.informative()
    if profile.p >= 10 and inf.any():
        count_like = profile.whole & (profile.vmin >= 0)
        negative = inf & (profile.vmin < 0) & np.isin(np.arange(profile.p), list(fidx.values()))
        if count_like[inf].mean() >= COUNT_TABLE_SHARE and negative.any():
            cols = np.flatnonzero(negative)
            examples = []
            for j in cols[:10]:
                r = int(np.nanargmin(profile.X[:, j]))
                examples.append({"row": r, "column": profile.names[j], "value": float(profile.X[r, j])})
            out.append(
                Finding(
                    code="out_of_range_values",
                    severity="error",
                    tip=1,
                    columns=tuple(profile.names[j] for j in cols[:N_LIST]),
                    message=(
                        f"The features look like counts ({count_like[inf].mean():.0%} hold only non-negative "
                        f"whole numbers), but {len(cols)} feature(s) have negative values, which a count "
                        f"cannot have: {_fmt_cols([profile.names[j] for j in cols])}. This is a processing "
                        "error (or a different kind of value mixed into the table). Correct the values or "
                        "set them to missing."
                    ),
                    evidence={"n_columns": len(cols), "examples": examples},
                )
            )
    if profile.n_inf_col is not None:
        cols = np.flatnonzero(profile.n_inf_col)
        out.append(
            Finding(
                code="out_of_range_values",
                severity="error",
                tip=1,
                columns=tuple(profile.names[j] for j in cols[:N_LIST]),
                message=(
                    f"{int(profile.n_inf_col.sum())} value(s) in {len(cols)} feature(s) are infinite "
                    "(for example the log of zero or a division by zero). Models cannot use them; deeprules treats "
                    "them as missing. Fix the transformation that produced them (for example log(x + 1))."
                ),
                evidence={"n_values": int(profile.n_inf_col.sum()), "n_columns": len(cols)},
            )
        )
    return out


def label_counts(df: pd.DataFrame, roles: Roles) -> tuple[pd.Series, int, dict[str, int]]:
    """Samples per class, rows without a label, and the missing-value tokens among them.

    A label typed as '.', 'NA' or '' is no label, not a class of its own.
    """
    raw = df[roles.label]  # type: ignore[index]
    y = without_missing_tokens(raw)
    tokens = raw[y.isna() & raw.notna()].astype(str).value_counts()
    return y.value_counts(dropna=True), int(y.isna().sum()), {str(k): int(v) for k, v in tokens.items()}


def unlabelled_note(n_unlabelled: int, tokens: dict[str, int]) -> str:
    """' 11 row(s) have no label ... and are not counted.' or ''."""
    if not n_unlabelled:
        return ""
    typed = ", ".join(f"'{k}'" for k in tokens)
    how = f" (empty, or typed as {typed})" if typed else ""
    return f" {n_unlabelled} row(s) have no label{how} and are not counted."


def check_label_one_class(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    """A label with one class (or one value) leaves nothing to learn: an error, with the counts."""
    if not roles.label or roles.label not in df.columns:
        return []
    counts, n_unlabelled, tokens = label_counts(df, roles)
    if len(counts) >= 2:
        return []
    what = "class" if roles.task == "classification" else "value"
    if counts.empty:
        seen = f"no {what} at all: every row is unlabelled"
    else:
        seen = f"one {what}, {str(counts.index[0])[:60]!r}, in all {int(counts.iloc[0])} labelled rows"
    return [
        Finding(
            code="label_one_class",
            severity="error",
            tip=1,
            columns=(roles.label,),
            message=(
                f"The label '{roles.label}' has {seen}.{unlabelled_note(n_unlabelled, tokens)} A model needs "
                f"at least two {what}es to tell apart; none can be trained or evaluated. Check that the right "
                "column is the label and that the table holds every group (cases and controls)."
            ).replace("valuees", "values"),
            evidence={
                "counts": {str(k): int(v) for k, v in counts.items()},
                "n_unlabelled": n_unlabelled,
                "missing_as_text": tokens,
            },
        )
    ]


def check_class_imbalance(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    """Minority class share (classification only); rows without a label are left out."""
    if roles.task != "classification" or not roles.label or roles.label not in df.columns:
        return []
    counts, n_unlabelled, tokens = label_counts(df, roles)
    if len(counts) < 2:
        return []
    ratio = float(counts.min() / counts.max())
    if ratio >= IMBALANCE_INFO_RATIO:
        return []
    minority = counts.idxmin()
    severity = "warning" if ratio < IMBALANCE_WARN_RATIO else "info"
    return [
        Finding(
            code="class_imbalance",
            severity=severity,  # type: ignore[arg-type]
            tip=1,
            columns=(roles.label,),
            message=(
                f"The classes of '{roles.label}' are unbalanced: '{minority}' has {int(counts.min())} samples "
                f"against {int(counts.max())} for '{counts.idxmax()}' (1:{1 / ratio:.0f}).{unlabelled_note(n_unlabelled, tokens)} "
                "A model can look accurate by always predicting the majority; accuracy and AUROC flatter it. "
                "Judge models by precision-recall (AUPRC), balanced accuracy and MCC, stratify the split, and "
                "consider class weights."
            ),
            evidence={
                "counts": {str(k): int(v) for k, v in counts.items()},
                "minority_share": float(counts.min() / counts.sum()),
                "ratio": ratio,
                "n_unlabelled": n_unlabelled,
                "missing_as_text": tokens,
            },
        )
    ]


def _missing_matrix(df: pd.DataFrame, roles: Roles, profile: FeatureProfile, exclude: str):
    """Columns with enough missing and present values to test, and their missing masks."""
    n = len(df)
    names: list[str] = []
    masks: list[np.ndarray] = []
    meta = [c for c in roles.metadata_columns if c != exclude and c != roles.id and c in df.columns]
    for c in meta:
        m = df[c].isna().to_numpy()
        if MNAR_MIN_COUNT <= m.sum() <= n - MNAR_MIN_COUNT:
            names.append(c)
            masks.append(m[:, None])
    if profile.has_missing:
        ok = (profile.n_missing_col >= MNAR_MIN_COUNT) & (profile.n_missing_col <= n - MNAR_MIN_COUNT)
        idx = np.flatnonzero(ok)
        if len(idx) == profile.p:
            names += list(profile.names)
            masks.append(profile.missing)
        elif len(idx):
            names += [profile.names[j] for j in idx]
            masks.append(profile.missing[:, idx])
    if not names:
        return [], None
    return names, np.hstack(masks) if len(masks) > 1 else masks[0]


def check_missing_not_at_random(df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile) -> list[Finding]:
    """Missingness that depends on the label or on a batch (per column test, BH-corrected)."""
    variables = []
    if roles.label and roles.label in df.columns:
        variables.append((roles.label, "label"))
    variables += [(b, "batch") for b in roles.batch if b in df.columns]
    tests: list[tuple[str, str, list[str], np.ndarray, np.ndarray, Any, Any]] = []
    for var, role in variables:
        names, M = _missing_matrix(df, roles, profile, exclude=var)
        if not names:
            continue
        s = without_missing_tokens(df[var]) if role == "label" else df[var]
        numeric = role == "label" and roles.task == "regression" and pd.api.types.is_numeric_dtype(s.dtype)
        if numeric:
            p, effect = mannwhitney_missing_vs_values(M, s.to_numpy(dtype=float, na_value=np.nan))
            tests.append((var, role, names, p, np.abs(effect), None, None))
        else:
            codes, levels = pd.factorize(s, sort=True)
            if len(levels) < 2:
                continue
            sizes = np.bincount(codes[codes >= 0], minlength=len(levels))
            if (sizes >= 2).sum() < 2:
                continue
            p, rates, _ = chi2_missing_vs_groups(M, codes, len(levels))
            diff = np.nanmax(rates, axis=1) - np.nanmin(rates, axis=1)
            tests.append((var, role, names, p, diff, rates, [str(x) for x in levels]))
    if not tests:
        return []
    q_all = benjamini_hochberg(np.concatenate([t[3] for t in tests]))
    out = []
    start = 0
    for var, role, names, p, effect, rates, levels in tests:
        q = q_all[start : start + len(names)]
        start += len(names)
        floor = MNAR_MIN_DIFF if rates is not None else MNAR_MIN_EFFECT
        hit = np.flatnonzero((q < MNAR_FDR) & (effect >= floor))
        if not len(hit):
            continue
        hit = hit[np.argsort(q[hit], kind="stable")]
        top = hit[:N_LIST]
        detail = {}
        for j in top:
            d: dict[str, Any] = {"p": float(p[j]), "q": float(q[j])}
            if rates is not None:
                d["missing_rate_by_group"] = {lv: float(r) for lv, r in zip(levels, rates[j], strict=True)}
            else:
                d["rank_effect"] = float(effect[j])
            detail[names[j]] = d
        example = names[top[0]]
        how = ""
        if rates is not None:
            r = detail[example]["missing_rate_by_group"]
            how = (
                " (for example '"
                + example
                + "' is missing in "
                + ", ".join(f"{v:.0%} of {k}" for k, v in r.items())
                + ")"
            )
        out.append(
            Finding(
                code="missing_not_at_random",
                severity="warning",
                tip=4,
                columns=tuple(names[j] for j in top),
                message=(
                    f"Whether a value is missing depends on the {role} '{var}' in {len(hit)} column(s){how}. "
                    f"Then the pattern of missingness itself tells a model the {role}: imputed values "
                    f"{'leak the label' if role == 'label' else 'carry the batch'} into the features, and "
                    "removing incomplete rows biases the sample. Find out why values are missing (a "
                    "detection limit, an assay run on only some groups), and use a missingness-aware "
                    "imputation fitted on training data only, or drop these columns."
                ),
                evidence={
                    "variable": var,
                    "n_columns": len(hit),
                    "n_tested": len(names),
                    "fdr": MNAR_FDR,
                    "test": "Mann-Whitney U" if rates is None else "chi-square / Fisher exact",
                    "correction": "Benjamini-Hochberg over all columns and variables",
                    "top": detail,
                },
            )
        )
    return out


def missingness_table(
    df: pd.DataFrame, roles: Roles, *, by: str, profile: FeatureProfile | None = None, top: int = 30
) -> pd.DataFrame:
    """Fraction missing per level of ``by`` (rows) for the columns with the most missing values.

    Long format for a heatmap: columns ``level``, ``column``, ``fraction``.
    """
    profile = profile or FeatureProfile.from_frame(df, roles)
    names, M = _missing_matrix(df, roles, profile, exclude=by)
    if not names:
        names = [c for c in df.columns if c != by and df[c].isna().any()][:top]
        M = df[names].isna().to_numpy() if names else None
    if M is None or not names:
        return pd.DataFrame(columns=["level", "column", "fraction"])
    order = np.argsort(-M.sum(axis=0), kind="stable")[:top]
    levels = df[by].astype(str).fillna("(missing)").to_numpy()
    frame = pd.DataFrame(M[:, order], columns=[names[j] for j in order])
    frame["level"] = levels
    long = (
        frame.groupby("level")
        .mean()
        .reset_index()
        .melt(id_vars="level", var_name="column", value_name="fraction")
    )
    return long
