"""Metadata checks: numbers typed as text, mixed units, inconsistent categories and
duplicate sample ids (columns that identify people or samples: ``_identifying.py``).

These look at the text columns and at the column names; none of them needs the
feature matrix, so they cost little even on wide tables.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pandas as pd

from ..findings import Finding
from ..study import Roles
from ._units import MISSING_TOKENS, parse_value, string_columns

__all__ = [
    "check_numeric_stored_as_string",
    "check_mixed_units",
    "check_inconsistent_categories",
    "check_duplicate_ids",
]

#: A text column is "numeric stored as text" when at least 80% of its non-missing
#: values read as numbers (with a known unit or none). Below that the column is a
#: genuine mix (for example stages "1", "2", "3a") and reading it as numbers would lose data.
NUMERIC_TEXT_SHARE = 0.8
#: Columns with more distinct values than this are free text or identifiers, not
#: categories; comparing their spellings would be slow and meaningless.
MAX_CATEGORIES = 200
#: Examples shown in a finding's evidence; enough to recognise the pattern.
N_EXAMPLES = 10


def _examples(values, n: int = N_EXAMPLES) -> list:
    return list(values)[:n]


def _value_counts(s: pd.Series) -> Counter:
    vc = s.dropna().astype(str).value_counts()
    return Counter(dict(zip(vc.index, vc.to_numpy().tolist(), strict=True)))


def _parse_column(counts: Counter) -> dict:
    """Parse every distinct value once; return counts of numbers, units, the rest."""
    numeric = 0
    missing_like: Counter = Counter()
    units: Counter = Counter()
    dims: dict[str, str] = {}
    other: Counter = Counter()
    flags: Counter = Counter()
    for text, k in counts.items():
        if text.strip().lower() in MISSING_TOKENS:
            missing_like[text] += k
            continue
        pv = parse_value(text)
        if pv is None:
            other[text] += k
            continue
        numeric += k
        units[pv.unit or "(no unit)"] += k
        if pv.unit:
            dims[pv.unit] = pv.dimension or ""
        for flag in ("censored", "thousands", "decimal_comma"):
            if getattr(pv, flag):
                flags[flag] += k
    total = numeric + sum(other.values())
    return {
        "numeric": numeric,
        "total": total,
        "missing_like": missing_like,
        "units": units,
        "dims": dims,
        "other": other,
        "flags": flags,
    }


def _parsed_text_columns(df: pd.DataFrame, roles: Roles) -> dict[str, dict]:
    out = {}
    from ..intake._roles import is_cluster_column

    for c in string_columns(df):
        if c == roles.id or c == roles.sequence or is_cluster_column(str(c), df[c]):
            continue  # cluster ids ('louvain': '0', '1', ...) name groups; they are not numbers
        counts = _value_counts(df[c])
        if not counts:
            continue
        info = _parse_column(counts)
        if info["total"] and info["numeric"] / info["total"] >= NUMERIC_TEXT_SHARE:
            out[c] = info
    return out


def check_numeric_stored_as_string(df: pd.DataFrame, roles: Roles, *, parsed=None) -> list[Finding]:
    """Text columns whose values are numbers ("12.5 mg", "1,234", "<0.1", "7.2" next to "n.d.")."""
    parsed = _parsed_text_columns(df, roles) if parsed is None else parsed
    out = []
    for c, info in parsed.items():
        units = {u: k for u, k in info["units"].items() if u != "(no unit)"}
        reasons = []
        if units:
            reasons.append("units typed next to the numbers (" + ", ".join(sorted(units)) + ")")
        if info["flags"]["thousands"]:
            reasons.append("thousands separators such as '1,234'")
        if info["flags"]["decimal_comma"]:
            reasons.append("decimal commas such as '12,5'")
        if info["flags"]["censored"]:
            reasons.append("censored values such as '<0.1'")
        if info["other"]:
            reasons.append(
                "a few entries that are not numbers ("
                + ", ".join(map(repr, _examples(info["other"], 5)))
                + ")"
            )
        if info["missing_like"]:
            reasons.append(
                "missing values typed as text ("
                + ", ".join(map(repr, _examples(info["missing_like"], 5)))
                + ")"
            )
        why = "; ".join(reasons) or "the values were stored as text"
        out.append(
            Finding(
                code="numeric_stored_as_string",
                severity="warning",
                tip=1,
                columns=(c,),
                message=(
                    f"Column '{c}' holds numbers stored as text ({info['numeric']} of {info['total']} "
                    f"non-missing values read as numbers): {why}. As text, the column cannot be used "
                    "as a measurement; models would treat every value as its own category. Convert it to "
                    "numbers in one unit (put the unit in the column name), with missing values left empty."
                ),
                evidence={
                    "n_numeric": info["numeric"],
                    "n_values": info["total"],
                    "units": units,
                    "not_numbers": dict(info["other"].most_common(N_EXAMPLES)),
                    "missing_as_text": dict(info["missing_like"].most_common(N_EXAMPLES)),
                    "thousands_separators": info["flags"]["thousands"],
                    "decimal_commas": info["flags"]["decimal_comma"],
                    "censored": info["flags"]["censored"],
                },
            )
        )
    return out


def check_mixed_units(df: pd.DataFrame, roles: Roles, *, parsed=None) -> list[Finding]:
    """One column with several units (kg and lb, °C and °F, µM and nM), or units on only some values."""
    parsed = _parsed_text_columns(df, roles) if parsed is None else parsed
    out = []
    for c, info in parsed.items():
        explicit = {u: k for u, k in info["units"].items() if u != "(no unit)"}
        bare = info["units"].get("(no unit)", 0)
        if len(explicit) >= 2:
            severity = "error"
            what = "several units: " + ", ".join(f"{u} ({k} values)" for u, k in explicit.items())
        elif len(explicit) == 1 and bare:
            severity = "warning"
            ((u, k),) = explicit.items()
            what = f"{k} values in {u} and {bare} values with no unit"
        else:
            continue
        dims = sorted({info["dims"].get(u, "") for u in explicit} - {""})
        out.append(
            Finding(
                code="mixed_units",
                severity=severity,  # type: ignore[arg-type]
                tip=1,
                columns=(c,),
                message=(
                    f"Column '{c}' mixes units: {what}. Numbers in different units are not comparable "
                    "(70 kg and 154 lb are the same weight), so any model or statistic on this column is "
                    "wrong until every value is converted to one unit. Convert them, and check with the "
                    "person who recorded the data which unit the values without a unit are in."
                ),
                evidence={"units": dict(info["units"]), "dimensions": dims},
            )
        )
    return out


# ---------------------------------------------------------------- categories
_SYNONYMS = {
    "m": "male",
    "man": "male",
    "men": "male",
    "f": "female",
    "woman": "female",
    "women": "female",
    "y": "yes",
    "n": "no",
    "t": "true",
    "ctrl": "control",
    "ctl": "control",
    "tumor": "tumour",
    "wt": "wildtype",
    "pos": "positive",
    "neg": "negative",
    "+": "positive",
}


def _normalise(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", text.strip().casefold())


def check_inconsistent_categories(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    """Spellings of one category that differ only in case, spaces or abbreviation ('Male', 'male', 'M ')."""
    out = []
    for c in string_columns(df):
        if c in (roles.id, roles.sequence):
            continue
        s = df[c]
        if s.nunique(dropna=True) > MAX_CATEGORIES:
            continue
        counts = _value_counts(s)
        keys = {v: _normalise(v) for v in counts if v.strip().lower() not in MISSING_TOKENS}
        present = set(keys.values())
        groups: dict[str, dict[str, int]] = defaultdict(dict)
        for v, k in keys.items():
            canon = _SYNONYMS.get(k, k)
            if canon not in present and canon != k:  # an abbreviation only when the full word is there
                canon = k
            groups[canon][v] = counts[v]
        clashes = {g: vals for g, vals in groups.items() if len(vals) > 1}
        if not clashes:
            continue
        role = "label" if c == roles.label else "column"
        n_true = len(groups)
        examples = "; ".join(" / ".join(repr(v) for v in vals) for vals in list(clashes.values())[:4])
        out.append(
            Finding(
                code="inconsistent_categories",
                severity="error" if c == roles.label else "warning",
                tip=1,
                columns=(c,),
                message=(
                    f"The {role} '{c}' spells the same category in different ways: {examples}. "
                    f"They count as {len(keys)} different categories where there are probably {n_true}, "
                    "which splits groups, distorts class counts and creates spurious features. "
                    "Harmonise the spellings (case, spaces, abbreviations) before analysis."
                ),
                evidence={
                    "groups": {g: vals for g, vals in clashes.items()},
                    "n_distinct_as_written": len(keys),
                    "n_distinct_harmonised": n_true,
                },
            )
        )
    return out


# ---------------------------------------------------------------- ids
def check_duplicate_ids(df: pd.DataFrame, roles: Roles) -> list[Finding]:
    """Sample ids that occur more than once (or are missing)."""
    if not roles.id or roles.id not in df.columns:
        return []
    ids = df[roles.id]
    positions = pd.RangeIndex(len(ids))
    dup_mask = ids.duplicated(keep=False) & ids.notna()
    n_missing = int(ids.isna().sum())
    out = []
    if dup_mask.any():
        dup_ids = ids[dup_mask]
        rows_by_id = pd.Series(positions[dup_mask.to_numpy()]).groupby(dup_ids.to_numpy()).apply(list)
        examples = {str(k): v for k, v in list(rows_by_id.items())[:N_EXAMPLES]}
        out.append(
            Finding(
                code="duplicate_ids",
                severity="error",
                tip=1,
                columns=(roles.id,),
                message=(
                    f"{len(rows_by_id)} sample id(s) in '{roles.id}' occur more than once "
                    f"({int(dup_mask.sum())} rows), for example {', '.join(map(repr, list(examples)[:3]))}. "
                    "A sample id should name one sample: duplicates are either the same sample loaded "
                    "twice (which leaks between training and test data) or a labelling mistake. Find out "
                    "which, then remove the copies or give each sample its own id."
                ),
                evidence={
                    "n_duplicated_ids": len(rows_by_id),
                    "n_rows": int(dup_mask.sum()),
                    "rows_by_id": examples,
                },
            )
        )
    if n_missing:
        out.append(
            Finding(
                code="missing_values",
                severity="warning",
                tip=1,
                columns=(roles.id,),
                message=(
                    f"{n_missing} row(s) have no sample id in '{roles.id}'. Without an id these samples "
                    "cannot be traced back to their source or matched to other data. Fill in the ids."
                ),
                evidence={"n_missing": n_missing, "rows": _examples(positions[ids.isna().to_numpy()], 20)},
            )
        )
    return out
