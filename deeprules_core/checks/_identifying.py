"""Columns that identify people or rows rather than measure anything (Tips 7 and 10).

Three kinds, all reported as ``identifying_column``:

- personal details: names, dates of birth, record numbers, contact details, by column
  name or by content (a warning: they must not be model inputs or be shared);
- free-text notes and dates: text the model never sees (deeprules uses numeric columns
  as features), but which can hold identifying details (a note);
- record counters and ids among the features: whole numbers that count rows
  (1, 2, 3 ... possibly restarting per site or species) or number every sample. They
  measure nothing, and the order in which samples were recorded often follows the
  date, site or class, so a model can learn the order instead of the biology (a warning).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ..findings import Finding
from ..study import Roles
from ._profile import FeatureProfile
from ._units import string_columns

__all__ = ["check_identifying_columns", "counter_columns"]

_ID_NAMES = re.compile(
    r"^(?:patient_?|subject_?|donor_?|full_?|first_?|last_?|given_?|family_?|sur|fore)?names?$"
    r"|^(?:dob|date_?of_?birth|birth_?date|birthday|d_?o_?b)$"
    r"|^(?:mrn|medical_?record(?:_?(?:number|no|num))?|hospital_?(?:number|no|id)|nhs_?(?:number|no)?"
    r"|ssn|social_?security(?:_?number)?|insurance_?(?:number|no|id)|passport(?:_?(?:number|no))?)$"
    r"|^(?:e_?mail(?:_?address)?|phone(?:_?number)?|telephone|mobile|address|street(?:_?address)?"
    r"|post_?code|zip(?:_?code)?|ip_?address)$",
    re.IGNORECASE,
)
#: Free-text notes by their column name.
_NOTE_NAMES = re.compile(r"^(?:notes?|comments?|free_?text|remarks?|clinical_?notes?)$", re.IGNORECASE)
_CONTENT = {
    "email addresses": re.compile(r"^[\w.+-]+@[\w-]+\.[\w.-]+$"),
    "phone numbers": re.compile(r"^\+?\(?\d{1,4}\)?(?:[\s.-]?\(?\d{2,4}\)?){2,4}$"),
    "US social security numbers": re.compile(r"^\d{3}-\d{2}-\d{4}$"),
    "person names": re.compile(
        r"^[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?,?\s+(?:[A-Z]\.\s*)?[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?$"
    ),
}
#: Share of a column's values that must match a content pattern before it is called
#: identifying: high enough that an odd value in a category column does not trigger it.
CONTENT_SHARE = 0.8
#: Person-name-like strings must also be mostly distinct (names, not 'Adipose Tissue').
NAME_UNIQUE_SHARE = 0.5
#: Free text: long strings (mean length over 40 characters) that are mostly distinct,
#: and in at least 10% of which personal details appear (a date, a title such as 'Mrs',
#: an email or phone number). Descriptions such as GEO sample titles are not flagged.
FREE_TEXT_LENGTH = 40
FREE_TEXT_PERSONAL_SHARE = 0.1
_PERSONAL = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr)\.?\s+[A-Z]|\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}\b|\b(?:19|20)\d{2}-\d{2}-\d{2}\b"
    r"|[\w.+-]+@[\w-]+\.\w|\+?\d[\d\s().-]{8,}\d|\b(?:born|DOB|d\.o\.b|date of birth)\b",
    re.IGNORECASE,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
#: A whole value that is a calendar date: 11/11/07, 2007-11-11 (with a time or not),
#: 11 Nov 2007, Nov 11, 2007.
_DATE = re.compile(
    r"^(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{2}|\d{4})"
    r"|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    rf"|\d{{1,2}}[ -]{_MONTH}[ -,]*(?:\d{{2}}|\d{{4}})"
    rf"|{_MONTH} \d{{1,2}},? \d{{4}})$",
    re.IGNORECASE,
)
#: A column is a date column when this share of its non-empty values are dates.
DATE_SHARE = 0.8

#: Record counters: whole numbers with at least 20 distinct values ...
COUNTER_MIN_DISTINCT = 20
#: ... that go up by exactly 1 from one row to the next in at least 90% of rows (a row
#: counter, possibly restarting per site or class) ...
COUNTER_STEP_SHARE = 0.9
#: ... or that number the samples: at least 95% of values distinct and filling a range at
#: most 1.25 times as wide as their number (1..n, 1001..1344 with a few gaps) ...
ID_DISTINCT_SHARE = 0.95
ID_RANGE_SLACK = 1.25
#: ... or that restart: every value from 0 or 1 up to the maximum, each value as often as
#: or less often than the one before, in a few steps (a counter within each of a few
#: sites or species, rows in any order).
RESTART_MAX_STEPS_SHARE = 0.1
#: A counter counts rows, not repeated visits: a run-based or restarting counter has at
#: least this many distinct values per row (1..30 days for 10 subjects is a time course).
COUNTER_DISTINCT_PER_ROW = 0.2
#: A table in which more than 3 features and 10% of the whole-number ones look like
#: sample numbers is a table of ranks (a rank transform), not a table of ids.
RANK_TABLE_SHARE = 0.1
#: Column names that say a whole number counts time, dose or age: not flagged as counters.
_TIME_NAME = re.compile(
    r"(?:^|_)(?:days?|weeks?|months?|years?|hours?|hrs?|minutes?|mins?|time|timepoint|age|visit|dose|"
    r"cycle|passage|generation|session|trial|step|epoch|instar|stage)(?:_|$)",
    re.IGNORECASE,
)


def _norm_name(c: object) -> str:
    return re.sub(r"[\s.\-]+", "_", str(c).strip()).strip("_")


def _phone_shape(s: str) -> bool:
    """9 to 15 digits, and a '+', a bracket or at least two separators (not a decimal)."""
    digits = sum(ch.isdigit() for ch in s)
    seps = sum(ch in " .-" for ch in s)
    return 9 <= digits <= 15 and (s.startswith("+") or "(" in s or seps >= 2)


def _personal_reasons(c: object, s: pd.Series | None) -> list[str]:
    """Why column ``c`` holds personal details (empty when it does not)."""
    reasons = []
    if _ID_NAMES.match(_norm_name(c)):
        reasons.append("its name")
    if s is None or not len(s):
        return reasons
    sample = s.iloc[:1000]  # enough to judge an 80% share
    uniq = sample.nunique() / len(sample)
    for what, rx in _CONTENT.items():
        hits = sample.str.match(rx)
        if what == "phone numbers" and hits.mean() >= CONTENT_SHARE:
            hits &= sample.map(_phone_shape)
        if hits.mean() >= CONTENT_SHARE and (what != "person names" or uniq >= NAME_UNIQUE_SHARE):
            reasons.append(f"its values look like {what}")
    if (
        sample.str.len().mean() > FREE_TEXT_LENGTH
        and uniq >= NAME_UNIQUE_SHARE
        and sample.str.contains(" ").mean() > CONTENT_SHARE
        and sample.str.contains(_PERSONAL).mean() >= FREE_TEXT_PERSONAL_SHARE
    ):
        reasons.append("its values are free text with personal details (dates, names, contacts)")
    return reasons


def _text_values(df: pd.DataFrame, c: object, text_cols: set) -> pd.Series | None:
    if c not in text_cols:
        return None
    s = df[c].dropna().astype(str).str.strip()
    return s[s != ""]


def _not_a_feature(c: object, roles: Roles) -> str:
    """How the column is used, for the message: text and dates never reach the model."""
    if c in roles.metadata_columns:
        return ""
    return (
        " As text, it is not a feature: deeprules uses numeric columns as features and leaves this one "
        "out of the model's inputs."
    )


def _personal_finding(c: object, reasons: list[str], roles: Roles) -> Finding:
    return Finding(
        code="identifying_column",
        severity="warning",
        tip=10,
        columns=(c,),  # type: ignore[arg-type]
        message=(
            f"Column '{c}' may identify people ({' and '.join(reasons)}). Names, dates of birth, "
            "record numbers, contact details and free-text notes are personal data: they must not "
            "be model inputs, and a model or table that contains them can leak them. Remove the "
            "column (keep a pseudonymous id instead) unless your ethics approval covers it."
        ),
        evidence={"reasons": reasons, "kind": "personal", "role": "id" if c == roles.id else None},
    )


def _notes_finding(c: object, s: pd.Series, roles: Roles) -> Finding:
    return Finding(
        code="identifying_column",
        severity="info",
        tip=10,
        columns=(c,),  # type: ignore[arg-type]
        message=(
            f"Column '{c}' holds free-text notes ({len(s)} filled in, {s.nunique()} different; for example "
            f"'{s.iloc[0][:60]}'). Free-text notes can contain names or other identifying details; check "
            f"before sharing.{_not_a_feature(c, roles)}"
        ),
        evidence={"kind": "free_text", "n_filled": len(s), "n_distinct": int(s.nunique())},
    )


def _date_finding(c: object, s: pd.Series, roles: Roles) -> Finding:
    return Finding(
        code="identifying_column",
        severity="info",
        tip=10,
        columns=(c,),  # type: ignore[arg-type]
        message=(
            f"Column '{c}' holds dates (for example '{s.iloc[0]}'). Dates are not features: deeprules uses "
            "numeric columns as features and leaves this one out of the model's inputs. If timing matters, "
            "set it as the time column, or add a numeric column such as days since the first sample. In "
            "studies of people, dates tied to a person (birth, visit, sampling) are identifying details; "
            "check before sharing."
        ),
        evidence={
            "kind": "date",
            "n_filled": len(s),
            "n_distinct": int(s.nunique()),
            "example": str(s.iloc[0]),
        },
    )


def _is_dates(df: pd.DataFrame, c: object, s: pd.Series | None, *, is_datetime: bool) -> pd.Series | None:
    """The column's values as text when it is a column of dates with at least two dates."""
    if is_datetime:
        s = df[c].dropna().astype(str)
    elif s is None or not len(s) or s.iloc[:1000].str.match(_DATE).mean() < DATE_SHARE:
        return None
    return s if s.nunique() >= 2 else None


def check_identifying_columns(
    df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile | None = None
) -> list[Finding]:
    """Columns that could identify people (by name or content), free-text notes and dates
    (which never reach the model), and record counters or ids used as features."""
    out = []
    text_cols = set(string_columns(df))
    datetimes = {c for c, dt in df.dtypes.items() if pd.api.types.is_datetime64_any_dtype(dt)}
    meta = set(roles.metadata_columns)
    for c in df.columns:
        s = _text_values(df, c, text_cols)
        reasons = _personal_reasons(c, s)
        if reasons:
            out.append(_personal_finding(c, reasons, roles))
            continue
        if _NOTE_NAMES.match(_norm_name(c)) and s is not None and len(s):
            out.append(_notes_finding(c, s, roles))
            continue
        if c in meta or (s is None and c not in datetimes):
            continue  # a date with a role (time, batch) was chosen on purpose; numbers are no dates
        dates = _is_dates(df, c, s, is_datetime=c in datetimes)
        if dates is not None:
            out.append(_date_finding(c, dates, roles))
    profile = profile if profile is not None else FeatureProfile.from_frame(df, roles)
    for name, ev in counter_columns(profile).items():
        out.append(
            Finding(
                code="identifying_column",
                severity="warning",
                tip=7,
                columns=(name,),
                message=(
                    f"Column '{name}' looks like a row counter or an id, not a measurement: {ev['why']}. It is "
                    "used as a feature, and samples are usually numbered in the order they were collected "
                    "(by date, site or class), so a model can learn that order instead of the biology. "
                    "Exclude it from the features (set it as the id if it names the samples)."
                ),
                evidence={"kind": "counter", **{k: v for k, v in ev.items() if k != "why"}},
            )
        )
    return out


# ---------------------------------------------------------------- record counters
def _runs(x: np.ndarray, limit: int = 4) -> list[list[int]]:
    """First and last value of the first ``limit`` runs that go up by 1."""
    x = x[np.isfinite(x)]
    breaks = np.flatnonzero(np.diff(x) != 1) + 1
    starts = np.r_[0, breaks]
    ends = np.r_[breaks - 1, len(x) - 1]
    return [[int(x[a]), int(x[b])] for a, b in zip(starts[:limit], ends[:limit], strict=True)]


def _fmt_runs(runs: list[list[int]], n_runs: int) -> str:
    text = ", ".join(f"{a}-{b}" for a, b in runs)
    return text + (f" and {n_runs - len(runs)} more" if n_runs > len(runs) else "")


def counter_columns(profile: FeatureProfile) -> dict[str, dict[str, Any]]:
    """Features that count rows or number samples, with the reason (``why``) and numbers.

    Only whole-number features with at least 20 distinct values are examined, and names
    that say the number counts time, dose or age (day, visit, age ...) are left alone.
    """
    n_obs = profile.n - profile.n_missing_col
    span = profile.vmax - profile.vmin + 1
    cand = np.flatnonzero(profile.whole & profile.informative() & (span >= COUNTER_MIN_DISTINCT))
    cand = np.array([j for j in cand if not _TIME_NAME.search(_norm_name(profile.names[j]))], dtype=int)
    # a cheap screen over all candidates at once: the share of +1 steps between
    # consecutive rows (pairs with a missing value left out), and whether the values
    # are few enough to number the samples
    steps_up = np.zeros(len(cand))
    for a in range(0, len(cand), 512):
        D = np.diff(profile.X[:, cand[a : a + 512]], axis=0)
        steps_up[a : a + 512] = (D == 1).sum(axis=0) / np.maximum(np.isfinite(D).sum(axis=0), 1)
    keep = (steps_up >= COUNTER_STEP_SHARE * 0.9) | (span[cand] <= ID_RANGE_SLACK * n_obs[cand])
    found: dict[str, dict[str, Any]] = {}
    numbering: dict[str, dict[str, Any]] = {}
    for j in np.asarray(cand, dtype=int)[keep]:
        col = profile.X[:, j]
        x = col[np.isfinite(col)].astype(np.float64)
        m = len(x)
        step = np.diff(x)
        share = float(np.mean(step == 1)) if m > 1 else 0.0
        if share >= COUNTER_STEP_SHARE and span[j] >= COUNTER_DISTINCT_PER_ROW * m:
            n_runs = int(np.sum(step != 1)) + 1
            runs = _runs(x)
            why = f"from one row to the next it goes up by exactly 1 in {share:.0%} of rows"
            if n_runs > 1:
                why += f", in {n_runs} runs that restart ({_fmt_runs(runs, n_runs)})"
            found[profile.names[j]] = {"why": why, "reason": "row_counter", "step_share": share, "runs": runs}
            continue
        if span[j] > ID_RANGE_SLACK * m:
            continue
        counts = np.bincount((x - profile.vmin[j]).astype(np.int64))
        distinct = int(np.count_nonzero(counts))
        if distinct >= ID_DISTINCT_SHARE * m and span[j] <= ID_RANGE_SLACK * distinct:
            numbering[profile.names[j]] = {
                "why": f"{distinct} of its {m} values are different and fill the range "
                f"{profile.vmin[j]:.0f}-{profile.vmax[j]:.0f}, one number per sample",
                "reason": "sample_number",
                "n_distinct": distinct,
            }
            continue
        steps = np.unique(counts)
        if (
            profile.vmin[j] in (0, 1)
            and distinct == len(counts)
            and distinct >= COUNTER_DISTINCT_PER_ROW * m
            and np.all(np.diff(counts) <= 0)
            and counts[0] > counts[-1]
            and len(steps) <= max(3, RESTART_MAX_STEPS_SHARE * distinct)
        ):
            found[profile.names[j]] = {
                "why": f"it holds every whole number from {profile.vmin[j]:.0f} to {profile.vmax[j]:.0f}, the "
                f"low ones {int(counts[0])} times and the high ones {int(counts[-1])} time(s), like a count that "
                f"restarts in each of {int(counts[0])} sites or classes",
                "reason": "restarting_counter",
                "n_distinct": distinct,
            }
    n_whole = int((profile.whole & profile.informative()).sum())
    if len(numbering) <= 3 or len(numbering) <= RANK_TABLE_SHARE * n_whole:
        found.update(numbering)
    return found
