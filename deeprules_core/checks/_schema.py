"""The table's schema: inferred from the data and the column roles, editable as a
table, saved with the study, and re-validated lazily (every failure case listed).

A schema spec is plain JSON::

    {"version": 1,
     "columns": {NAME: {"dtype": "float"|"int"|"str"|"bool"|"datetime", "nullable": bool,
                        "min": number|null, "max": number|null, "allowed": [..]|null,
                        "unique": bool, "role": "id"|"label"|...|"other"}},
     "features": {"columns": [NAME, ...], "dtype": "float", "nullable": bool,
                  "min": number|null, "max": number|null}}

Metadata columns (everything that is not a feature) become pandera ``Column`` objects;
the feature block, which can hold 20,000 columns, is checked with vectorised numpy in
:mod:`._validate` (pandera needs about 0.5 ms per column, 10 s for a wide omics table).

Examples
--------
>>> import pandas as pd
>>> from deeprules_core.study import Roles
>>> df = pd.DataFrame({"id": ["a", "b"], "age": [30, 140], "g1": [1.0, 2.0]})
>>> spec = infer_spec(df, Roles(id="id"))
>>> spec["columns"]["age"]["max"]
120
>>> from deeprules_core.checks import validate_schema
>>> validate_schema(df, spec)[["row", "column", "check"]].values.tolist()
[[1, 'age', 'less_than_or_equal_to(120)']]
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ..errors import DataFormatError
from ..study import Roles
from ._profile import FeatureProfile, feature_names

__all__ = [
    "DTYPES",
    "domain_range",
    "infer_spec",
    "infer_schema",
    "schema_to_dict",
    "schema_from_dict",
]

DTYPES = ("float", "int", "str", "bool", "datetime")
#: A text column with at most this many distinct values is a category whose allowed
#: values are listed; more distinct values are names, ids or free text.
MAX_ALLOWED = 20

_KEYWORDS = (
    "age",
    "frac",
    "propor",
    "percent",
    "pct",
    "%",
    "count",
    "read",
    "umi",
    "abund",
    "pm",
    "n_",
    "num",
)
_AGE = re.compile(r"^(?:age|age_?(?:years?|yrs?|y)|(?:\w+_)?age(?:_at_\w+)?)$", re.IGNORECASE)
_NOT_YEARS = re.compile(r"month|day|week|gest|hour|mo$|_d$|_w$", re.IGNORECASE)
_FRACTION = re.compile(r"fraction|proportion|(?:^|_)frac(?:_|$)", re.IGNORECASE)
_PERCENT = re.compile(r"percent|(?:^|_)pct(?:_|$)|%", re.IGNORECASE)
_COUNT = re.compile(
    r"(?:^|_)(?:counts?|reads?|n_?reads|umis?|abundance|tpm|cpm|fpkm|rpkm)(?:_|$)|^(?:n|num|number)_",
    re.IGNORECASE,
)


def domain_range(name: str) -> tuple[float | None, float | None, str] | None:
    """The range a column's values must lie in, judged from its name, or None.

    Ages in years lie in 0-120 (the oldest verified human lived 122 years); fractions
    and proportions in 0-1; percentages in 0-100; counts, reads and abundances are
    never negative.

    >>> domain_range("age_years")
    (0, 120, 'an age in years')
    >>> domain_range("age_months") is None
    True
    """
    n = str(name).strip()
    low = n.lower()
    if not any(k in low for k in _KEYWORDS):  # fast path for 20,000 gene names
        return None
    if _AGE.match(n) and not _NOT_YEARS.search(n):
        return (0, 120, "an age in years")
    if _FRACTION.search(n):
        return (0, 1, "a fraction")
    if _PERCENT.search(n):
        return (0, 100, "a percentage")
    if _COUNT.search(n):
        return (0, None, "a count or abundance")
    return None


def _kind(s: pd.Series) -> str:
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    return "str"


def _role_of(col: str, roles: Roles) -> str:
    for role in ("id", "label", "group", "time", "sequence"):
        if getattr(roles, role) == col:
            return role
    if col in roles.batch:
        return "batch"
    if col in roles.covariates:
        return "covariate"
    return "other"


def _num(x: Any) -> float | int | None:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return None
    x = float(x)
    return int(x) if x.is_integer() else x


def infer_spec(df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile | None = None) -> dict[str, Any]:
    """Infer a schema spec (JSON-able dict) from a table and its column roles.

    Ranges come from what the column must be (see :func:`domain_range`; a column that
    is never negative gets a minimum of 0), not from the observed extremes, so the
    spec stays useful for new data.
    """
    features = feature_names(df, roles)
    fset = set(features)
    columns: dict[str, dict[str, Any]] = {}
    for c in df.columns:
        if c in fset and domain_range(c) is None:
            continue
        s = df[c]
        kind = _kind(s)
        role = "feature" if c in fset else _role_of(c, roles)
        entry: dict[str, Any] = {
            "dtype": kind,
            "nullable": bool(s.isna().any()) and role not in ("id", "label"),
            "min": None,
            "max": None,
            "allowed": None,
            "unique": role == "id",
            "role": role,
        }
        if kind in ("int", "float"):
            dom = domain_range(c)
            lo = s.min(skipna=True)
            if dom is not None:
                entry["min"], entry["max"] = dom[0], dom[1]
            elif pd.notna(lo) and lo >= 0:
                entry["min"] = 0
        elif kind == "str" and role not in ("id", "sequence"):
            values = s.dropna().astype(str).unique()
            if 0 < len(values) <= MAX_ALLOWED and len(values) < max(2, 0.5 * len(s)):
                entry["allowed"] = sorted(values.tolist())
        columns[str(c)] = entry
    block: dict[str, Any] = {"columns": [str(c) for c in features], "dtype": "float"}
    if features:
        profile = profile if profile is not None else FeatureProfile.from_frame(df, roles)
        observed = profile.vmin[np.isfinite(profile.vmin)]
        block["nullable"] = bool(profile.has_missing)
        block["min"] = 0 if len(observed) and bool((observed >= 0).all()) else None
        block["max"] = None
    else:
        block.update(nullable=True, min=None, max=None)
    return {"version": 1, "columns": columns, "features": block}


# ---------------------------------------------------------------- pandera conversion
def _whole(s: pd.Series) -> pd.Series:
    return s.isna() | (s % 1 == 0)


def _pa_column(name: str, e: dict[str, Any]) -> pa.Column:
    checks = []
    if e.get("min") is not None:
        checks.append(pa.Check.ge(e["min"]))
    if e.get("max") is not None:
        checks.append(pa.Check.le(e["max"]))
    if e.get("allowed"):
        checks.append(pa.Check.isin(list(e["allowed"])))
    dtype = e.get("dtype", "str")
    if dtype == "int":
        checks.append(pa.Check(_whole, name="whole_number"))
    pa_dtype = {"float": "float64", "int": "float64", "datetime": "datetime64[ns]"}.get(dtype)
    return pa.Column(
        pa_dtype,
        checks=checks,
        nullable=bool(e.get("nullable", True)),
        unique=bool(e.get("unique", False)),
        coerce=pa_dtype is not None,
        required=True,
        name=name,
        metadata={"dtype": dtype, "role": e.get("role", "other")},
    )


def schema_from_dict(spec: dict[str, Any]) -> pa.DataFrameSchema:
    """Build the pandera schema of a spec; the feature block rides in ``schema.metadata``."""
    _check_spec(spec)
    cols = {name: _pa_column(name, e) for name, e in spec.get("columns", {}).items()}
    return pa.DataFrameSchema(
        cols,
        strict=False,
        metadata={"deeprules_version": spec.get("version", 1), "features": spec.get("features", {})},
    )


def infer_schema(
    df: pd.DataFrame, roles: Roles, *, profile: FeatureProfile | None = None
) -> pa.DataFrameSchema:
    """Infer a pandera ``DataFrameSchema`` from a table and its roles (see :func:`infer_spec`)."""
    return schema_from_dict(infer_spec(df, roles, profile=profile))


def schema_to_dict(schema: pa.DataFrameSchema) -> dict[str, Any]:
    """The JSON spec of a pandera schema (inverse of :func:`schema_from_dict`)."""
    columns = {}
    for name, col in schema.columns.items():
        meta = dict(col.metadata or {})
        e: dict[str, Any] = {
            "dtype": meta.get("dtype") or _dtype_name(str(col.dtype)),
            "nullable": bool(col.nullable),
            "min": None,
            "max": None,
            "allowed": None,
            "unique": bool(col.unique),
            "role": meta.get("role", "other"),
        }
        for ch in col.checks:
            st = ch.statistics or {}
            if "min_value" in st:
                e["min"] = _num(st["min_value"])
            if "max_value" in st:
                e["max"] = _num(st["max_value"])
            if "allowed_values" in st:
                e["allowed"] = list(st["allowed_values"])
        columns[str(name)] = e
    meta = dict(schema.metadata or {})
    return {
        "version": meta.get("deeprules_version", 1),
        "columns": columns,
        "features": meta.get("features", {}),
    }


def _dtype_name(pa_dtype: str) -> str:
    if "int" in pa_dtype.lower():
        return "int"
    if "float" in pa_dtype:
        return "float"
    if "datetime" in pa_dtype:
        return "datetime"
    if "bool" in pa_dtype:
        return "bool"
    return "str"


def _check_spec(spec: Any) -> None:
    if not isinstance(spec, dict) or "columns" not in spec:
        raise DataFormatError(
            "A schema spec must be a dict with a 'columns' entry (as written by infer_spec); "
            f"got {type(spec).__name__}. Infer one again from the table."
        )
    for name, e in spec["columns"].items():
        if e.get("dtype", "str") not in DTYPES:
            raise DataFormatError(f"Column '{name}' has dtype {e.get('dtype')!r}; use one of {DTYPES}.")
        lo, hi = e.get("min"), e.get("max")
        if lo is not None and hi is not None and float(lo) > float(hi):
            raise DataFormatError(f"Column '{name}': the minimum {lo} is above the maximum {hi}; swap them.")
