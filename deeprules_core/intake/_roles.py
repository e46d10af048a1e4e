"""Suggest what each column is (sample id, label, group, batch...) from names and content.

The suggestion is only a starting point: the user confirms it on the Data page. Every
role comes with a reason the user can read ("named like a patient identifier; 80 values,
each on 3 rows").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import pandas as pd

from ..study import Roles

__all__ = ["RoleSuggestion", "suggest_roles", "looks_like_sequence"]

# name words per role, in order of preference (a column gets at most one role)
_LABEL_WORDS = (
    "label", "target", "outcome", "diagnosis", "class", "condition", "status", "response",
    "phenotype", "disease", "y",
)  # fmt: skip
_GROUP_WORDS = (
    "patient", "donor", "individual", "subject", "participant", "cell_line", "cellline", "mouse",
    "animal", "person", "family", "litter", "case_id",
)  # fmt: skip
_TIME_WORDS = ("timepoint", "time_point", "time", "day", "visit", "week", "hour", "month", "days")
_BATCH_WORDS = (
    "batch", "plate", "run", "lane", "site", "date", "center", "centre", "technology", "platform",
    "flowcell", "flow_cell", "chip", "array", "instrument", "operator", "machine", "sequencer",
    "hospital", "cohort", "study", "lab", "seq_tech",
)  # fmt: skip
_COVARIATE_WORDS = (
    "age",
    "sex",
    "gender",
    "bmi",
    "weight",
    "height",
    "ethnicity",
    "race",
    "smoking",
    "smoker",
)
_ID_WORDS = (
    "sample_id", "sampleid", "sample", "sample_name", "id", "barcode", "accession", "gsm", "obs_id",
    "row_name", "specimen", "specimen_id", "uid", "cell_id", "cell", "name",
)  # fmt: skip

#: a label with more distinct numeric values than this is a regression target ...
REGRESSION_MIN_UNIQUE = 10
#: ... a sequence column has at least this many letters per value ...
SEQUENCE_MIN_LENGTH = 8
#: ... and at least this share of its values are made of nucleotide or amino-acid letters
SEQUENCE_MIN_SHARE = 0.9

_DNA = re.compile(r"^[ACGTUN]+$", re.I)
_PROTEIN = re.compile(r"^[ACDEFGHIKLMNPQRSTVWYXBZUO*-]+$", re.I)


@dataclass(frozen=True)
class RoleSuggestion:
    """Suggested roles plus, for each role, the reason it was suggested."""

    roles: Roles
    reasons: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=65536)
def _norm(name: str) -> str:
    return f"_{_snake(name)}_"


def _snake(name: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name))
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_")


def _matches(name: str, words: tuple[str, ...]) -> str | None:
    """The first word of ``words`` found as a whole token (or token run) in ``name``."""
    norm = _norm(name)
    for w in words:
        if f"_{w}_" in norm:
            return w
    return None


def looks_like_sequence(s: pd.Series) -> str | None:
    """'dna', 'protein' or None: is this a column of biological sequences?"""
    if s.dtype != object:
        return None
    vals = [v for v in s.dropna().head(200) if isinstance(v, str)]
    if not vals or min(len(v) for v in vals) < SEQUENCE_MIN_LENGTH:
        return None
    if sum(bool(_DNA.match(v)) for v in vals) >= SEQUENCE_MIN_SHARE * len(vals):
        return "dna"
    if sum(bool(_PROTEIN.match(v)) for v in vals) >= SEQUENCE_MIN_SHARE * len(vals):
        return "protein"
    return None


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s)


def _is_row_counter(s: pd.Series) -> bool:
    if not pd.api.types.is_integer_dtype(s) or s.isna().any() or len(s) < 2:
        return False
    return bool((s.diff().iloc[1:] == 1).all())


def _task(s: pd.Series) -> tuple[str, str]:
    n = int(s.nunique(dropna=True))
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        return "classification", f"{n} distinct values (categories)"
    integer = bool((s.dropna() % 1 == 0).all())
    if n > REGRESSION_MIN_UNIQUE and not (integer and n <= 2 * REGRESSION_MIN_UNIQUE):
        return "regression", f"numeric with {n} distinct values"
    return "classification", f"numeric with only {n} distinct values (treated as classes)"


def suggest_roles(df: pd.DataFrame) -> RoleSuggestion:
    """Suggest column roles from column names and content.

    Parameters
    ----------
    df : pandas.DataFrame
        The parsed table.

    Returns
    -------
    RoleSuggestion
        ``roles`` (features left empty: every numeric column without another role) and a
        readable reason per role.

    Examples
    --------
    >>> df = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "patient": ["p1", "p1", "p2", "p2"],
    ...                    "condition": ["tumour", "normal"] * 2, "TP53": [1.0, 2.0, 3.0, 4.0]})
    >>> s = suggest_roles(df)
    >>> s.roles.id, s.roles.group, s.roles.label, s.roles.task
    ('sample_id', 'patient', 'condition', 'classification')
    """
    taken: set[str] = set()
    reasons: dict[str, str] = {}
    cols = [str(c) for c in df.columns]

    def free(c: str) -> bool:
        return c not in taken

    sequence = None
    text_cols = [str(c) for c, t in df.dtypes.items() if pd.api.types.is_object_dtype(t)]
    for c in text_cols:  # only text columns can hold sequences (a wide numeric table has none)
        kind = looks_like_sequence(df[c])
        if kind:
            sequence = c
            taken.add(c)
            reasons["sequence"] = f"{c!r} holds {'DNA/RNA' if kind == 'dna' else 'amino-acid'} sequences"
            break

    label, task = None, "classification"
    best = None
    for c in cols:
        w = _matches(c, _LABEL_WORDS)
        if w and free(c) and df[c].nunique(dropna=True) >= 2:
            rank = _LABEL_WORDS.index(w)
            if best is None or rank < best[0]:
                best = (rank, c)
    if best is not None:
        label = best[1]
        taken.add(label)
        task, why = _task(df[label])
        reasons["label"] = f"{label!r} is named like an outcome; {why}, so {task}"

    group = None
    for c in cols:
        if free(c) and _matches(c, _GROUP_WORDS):
            group = c
            taken.add(c)
            n = df[c].nunique(dropna=True)
            reasons["group"] = (
                f"{c!r} is named like an individual (patient/donor/cell line); {n} distinct values "
                f"for {len(df)} rows" + (": several rows per individual" if n < len(df) else "")
            )
            break

    time = None
    for c in cols:
        if free(c) and _matches(c, _TIME_WORDS):
            time = c
            taken.add(c)
            reasons["time"] = f"{c!r} is named like a time point"
            break

    batch = [c for c in cols if free(c) and _matches(c, _BATCH_WORDS)]
    taken.update(batch)
    if batch:
        reasons["batch"] = (
            f"{', '.join(map(repr, batch))}: named like processing batches (plate, run, site, date)"
        )

    covariates = [c for c in cols if free(c) and _matches(c, _COVARIATE_WORDS)]
    taken.update(covariates)
    if covariates:
        reasons["covariates"] = f"{', '.join(map(repr, covariates))}: clinical/demographic covariates"

    id_col = None
    for c in cols:  # by name, then by content
        if free(c) and _matches(c, _ID_WORDS) and df[c].notna().all() and df[c].is_unique:
            id_col = c
            reasons["id"] = f"{c!r} is named like a sample id and every value is different"
            break
    if id_col is None:
        for c in cols:
            s = df[c]
            if free(c) and s.notna().all() and s.is_unique and (_is_text(s) or _is_row_counter(s)):
                id_col = c
                reasons["id"] = f"{c!r} has a different value on every row (it identifies the samples)"
                break
    if id_col is not None:
        taken.add(id_col)

    roles = Roles(
        id=id_col,
        label=label,
        task=task,
        group=group,
        batch=tuple(batch),
        covariates=tuple(covariates),
        time=time,
        sequence=sequence,
    )
    meta = set(roles.metadata_columns)  # counted from dtypes: fast on 20,000-column tables
    n_feat = sum(
        1
        for c, t in df.dtypes.items()
        if c not in meta and pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t)
    )
    reasons["features"] = f"{n_feat} numeric column(s) without another role"
    if label is None:
        reasons["label"] = (
            "no column is named like an outcome (label, class, condition, status...): choose it"
        )
    return RoleSuggestion(roles=roles, reasons=reasons)
