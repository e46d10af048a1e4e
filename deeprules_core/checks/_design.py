"""Design checks: is there enough data for deep learning, are features far more
numerous than samples, and are rows independent (Tips 1, 4 and 5)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from ..findings import Finding
from ..study import Design, Roles
from ._quality import label_counts, unlabelled_note
from ._units import without_missing_tokens

__all__ = ["check_high_dim_small_n", "check_group_leakage", "check_too_few_samples"]

#: Lee et al. (2022), Tip 1: "roughly a hundred samples per class is a bare minimum"
#: for deep learning, and far more is typical.
MIN_PER_CLASS_DL = 100
#: Below 10 samples in a class, a 20% test set holds one or two of them: no metric on
#: it means anything, deep or not.
MIN_PER_CLASS_ANY = 10
#: When the label differs within at least this share of the groups that have several
#: labelled rows, the design is paired (each individual gives samples of several
#: classes) rather than a few reused ids.
PAIRED_SHARE = 0.95
#: Column names that usually mean "which individual": if such a column repeats values
#: and no group is set, rows of one individual could land on both sides of a split.
_GROUP_NAME = re.compile(
    r"(?:^|_)(?:patient|subject|donor|individual|participant|person|mouse|mice|animal|rat|"
    r"pig|dog|horse|family|litter|cell_?line|specimen|biopsy|volunteer)s?"
    r"(?:_?(?:id|no|nr|number|code|name))?$",
    re.IGNORECASE,
)


def check_high_dim_small_n(df: pd.DataFrame, roles: Roles, *, n_features: int) -> list[Finding]:
    """More features than samples: a note with the numbers (normal in omics, but it shapes the choices)."""
    n = len(df)
    if n_features <= n or n == 0:
        return []
    return [
        Finding(
            code="high_dim_small_n",
            severity="info",
            tip=5,
            columns=(),
            message=(
                f"There are {n_features} features for {n} samples ({n_features / n:.0f} per sample). With "
                "more features than samples, any flexible model can fit the training data perfectly and "
                "learn nothing: use regularised models, strong baselines (Tip 2), select features inside "
                "the training folds only, and expect a deep network to need many more samples."
            ),
            evidence={"n_features": n_features, "n_samples": n, "ratio": n_features / n},
        )
    ]


def check_too_few_samples(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    """Fewer than about 100 samples per class: deep learning is unlikely to be appropriate."""
    if not roles.label or roles.label not in df.columns:
        return []
    note = ""
    if roles.task == "classification":
        counts, n_unlabelled, tokens = label_counts(df, roles)
        if counts.empty:
            return []
        smallest = int(counts.min())
        unit = f"the smallest class ('{counts.idxmin()}') has {smallest} samples"
        note = unlabelled_note(n_unlabelled, tokens)
        evidence: dict[str, Any] = {
            "counts": {str(k): int(v) for k, v in counts.items()},
            "n_unlabelled": n_unlabelled,
        }
    else:
        y = df[roles.label].dropna()
        smallest = len(y)
        unit = f"there are {smallest} labelled samples"
        evidence = {"n": smallest}
    if smallest >= MIN_PER_CLASS_DL:
        return []
    severe = smallest < MIN_PER_CLASS_ANY
    evidence.update(min_per_class_deep_learning=MIN_PER_CLASS_DL, smallest=smallest)
    return [
        Finding(
            code="too_few_samples",
            severity="warning" if severe else "info",
            tip=1,
            columns=(roles.label,),
            message=(
                f"{unit[0].upper() + unit[1:]}.{note} Lee et al. (2022, Tip 1) give roughly {MIN_PER_CLASS_DL} "
                "samples per class as a bare minimum for deep learning; below it, a deep model will very "
                "likely not beat a simple one, and its test score will be uncertain. Treat traditional "
                "models as the main analysis"
                + (
                    f"; with fewer than {MIN_PER_CLASS_ANY} samples in a class, even their evaluation is "
                    "mostly noise, so collect more data first."
                    if severe
                    else "."
                )
            ),
            evidence=evidence,
        )
    ]


def check_group_leakage(df: pd.DataFrame, roles: Roles, *, design: Design | None = None) -> list[Finding]:
    """Several rows per individual: report the effective sample size, or warn that no group is set."""
    n = len(df)
    if roles.group and roles.group in df.columns:
        sizes = df[roles.group].value_counts(dropna=True)
        if sizes.empty or sizes.max() <= 1:
            return []
        g = roles.group
        base = (
            f"{n} rows come from {len(sizes)} groups in '{g}' (up to {int(sizes.max())} rows per group): the "
            f"effective sample size is closer to {len(sizes)} than to {n}. deeprules keeps each group on one "
            "side of every split, so scores measure performance on new individuals; confidence intervals are "
            "computed by resampling groups."
        )
        evidence: dict[str, Any] = {
            "n_rows": n,
            "n_groups": len(sizes),
            "rows_per_group": {
                "min": int(sizes.min()),
                "median": float(sizes.median()),
                "max": int(sizes.max()),
            },
            "n_groups_with_several_labels": None,
        }
        severity = "info"
        message = base
        if roles.task == "classification" and roles.label and roles.label in df.columns:
            n_mixed, n_multi, examples = _label_mix(df, roles)
            evidence.update(
                n_groups_with_several_labels=n_mixed,
                n_groups_with_several_rows=n_multi,
                groups_with_several_labels=examples,
            )
            if n_mixed:
                severity, message = _mixed_label_message(
                    roles,
                    design,
                    base=base,
                    n_groups=len(sizes),
                    n_mixed=n_mixed,
                    n_multi=n_multi,
                    examples=examples,
                )
        return [
            Finding(
                code="group_leakage",
                severity=severity,  # type: ignore[arg-type]
                tip=4,
                columns=(g,),
                message=message,
                evidence=evidence,
            )
        ]
    out = []
    candidates = []
    for c in df.columns:
        if c in roles.metadata_columns and c not in roles.covariates and c not in roles.batch:
            continue
        if not _GROUP_NAME.search(re.sub(r"[\s.\-]+", "_", str(c).strip())):
            continue
        s = df[c].dropna()
        if len(s) < 4 or pd.api.types.is_float_dtype(s.dtype):
            continue
        n_unique = s.nunique()
        if 3 <= n_unique <= 0.8 * len(s):
            candidates.append((c, n_unique))
    if candidates:
        c, g = candidates[0]
        out.append(
            Finding(
                code="group_leakage",
                severity="warning",
                tip=4,
                columns=tuple(c for c, _ in candidates),
                message=(
                    f"Column '{c}' looks like an individual (patient, donor, animal) and repeats: {n} rows "
                    f"come from {g} of them. No group column is set, so a random split would put rows of one "
                    "individual in both training and test data, and the model would be scored on individuals "
                    f"it has seen. Set '{c}' as the group on the Data page."
                ),
                evidence={"candidates": {c: int(g) for c, g in candidates}, "n_rows": n},
            )
        )
    elif design is not None and design.repeated_units:
        what = "several time points" if design.time_points else design.replicate_kind.replace("_", " ")
        out.append(
            Finding(
                code="group_leakage",
                severity="warning",
                tip=4,
                columns=(),
                message=(
                    f"The design says rows are not independent ({what}), but no group column is set. Without "
                    "it a random split puts measurements of one individual (or sample) in training and test "
                    "data, and the test score measures memory, not generalisation. Add a column naming the "
                    "individual and set it as the group on the Data page."
                ),
                evidence={"replicate_kind": design.replicate_kind, "time_points": design.time_points},
            )
        )
    return out


def _label_mix(df: pd.DataFrame, roles: Roles) -> tuple[int, int, dict[str, list[str]]]:
    """Groups holding more than one label value, groups with two or more labelled rows,
    and up to five examples of the first kind (group -> its label values)."""
    frame = pd.DataFrame(
        {"g": df[roles.group].to_numpy(), "y": without_missing_tokens(df[roles.label]).to_numpy()}  # type: ignore[index]
    ).dropna()
    if frame.empty:
        return 0, 0, {}
    by = frame.groupby("g", sort=False)["y"]
    n_values = by.nunique()
    mixed = n_values.index[n_values.to_numpy() > 1]
    examples = {
        str(k): sorted(str(v) for v in pd.unique(vals))
        for k, vals in frame[frame["g"].isin(mixed[:5])].groupby("g", sort=False)["y"]
    }
    return len(mixed), int((by.size() > 1).sum()), examples


def _mixed_label_message(
    roles: Roles,
    design: Design | None,
    *,
    base: str,
    n_groups: int,
    n_mixed: int,
    n_multi: int,
    examples: dict[str, list[str]],
) -> tuple[str, str]:
    """Severity and message when some groups hold rows with different labels.

    Expected in a paired design (every individual gives a sample of each class): a
    note. Otherwise a warning, also with a time column (the tool cannot tell a state
    that changes over time from a property that cannot): when the label is a property
    of the individual (a species, a genotype), one individual cannot carry two values,
    so the group column probably does not name individuals.
    """
    g = roles.group
    key, values = next(iter(examples.items()))
    example = f"for example '{key}': " + " / ".join(values[:3])
    counted = (
        f"{n_mixed} of {n_groups} groups in '{g}' hold more than one label value "
        f"({n_mixed} of the {n_multi} with several labelled rows; {example})"
    )
    if n_mixed >= PAIRED_SHARE * n_multi:
        return "info", (
            f"{base} {counted}: a paired design, where each individual gives samples of several classes "
            "(for example tumour and normal tissue); the split keeps both on the same side."
        )
    if roles.time or (design is not None and design.time_points):
        expected = (
            "A time column is set: if the label is a state that changes over time, this is expected; a "
            "label that cannot change (a species, a sex, a genotype) points to reused ids."
        )
    else:
        expected = (
            "If the label can change within an individual (a state in a time course), this is expected."
        )
    return "warning", (
        f"{counted}. If each group is one individual whose label cannot change, the group column may not "
        "identify individuals (ids reused across sites or years?); then the effective sample size below is "
        "wrong, and the split and the shuffled-label control treat unrelated samples as one individual. Find out how the ids were assigned; if they are "
        f"reused, build a unique id (for example site + year + id). {expected} {base}"
    )
