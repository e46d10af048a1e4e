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
the feature block, which can hold 20,000 columns, is checked with vectorised numpy
(pandera needs about 0.5 ms per column, 10 s for a wide omics table).

Examples
--------
>>> import pandas as pd
>>> from deeprules_core.study import Roles
>>> df = pd.DataFrame({"id": ["a", "b"], "age": [30, 140], "g1": [1.0, 2.0]})
>>> spec = infer_spec(df, Roles(id="id"))
>>> spec["columns"]["age"]["max"]
120
>>> validate_schema(df, spec)[["row", "column", "check"]].values.tolist()
[[1, 'age', 'less_than_or_equal_to(120)']]
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

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
    "spec_table",
    "spec_from_table",
    "validate_schema",
    "FAILURE_COLUMNS",
]

DTYPES = ("float", "int", "str", "bool", "datetime")
FAILURE_COLUMNS = ["row", "sample", "column", "check", "value"]
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


# ---------------------------------------------------------------- editing as a table
_FEATURE_ROW = "(feature columns)"
_TABLE_COLUMNS = ["column", "role", "dtype", "nullable", "min", "max", "allowed", "unique"]


def spec_table(spec: dict[str, Any]) -> pd.DataFrame:
    """The spec as an editable table: one row per metadata column, one row for all features."""
    rows = []
    for name, e in spec.get("columns", {}).items():
        allowed = e.get("allowed")
        rows.append(
            {
                "column": name,
                "role": e.get("role", "other"),
                "dtype": e.get("dtype", "str"),
                "nullable": bool(e.get("nullable", True)),
                "min": np.nan if e.get("min") is None else float(e["min"]),
                "max": np.nan if e.get("max") is None else float(e["max"]),
                "allowed": ", ".join(map(str, allowed)) if allowed else "",
                "unique": bool(e.get("unique", False)),
            }
        )
    fb = spec.get("features") or {}
    if fb.get("columns"):
        rows.append(
            {
                "column": f"{_FEATURE_ROW} x {len(fb['columns'])}",
                "role": "feature",
                "dtype": fb.get("dtype", "float"),
                "nullable": bool(fb.get("nullable", True)),
                "min": np.nan if fb.get("min") is None else float(fb["min"]),
                "max": np.nan if fb.get("max") is None else float(fb["max"]),
                "allowed": "",
                "unique": False,
            }
        )
    return pd.DataFrame(rows, columns=_TABLE_COLUMNS)


def spec_from_table(table: pd.DataFrame, spec: dict[str, Any]) -> dict[str, Any]:
    """Apply an edited :func:`spec_table` back onto ``spec``; returns a new spec."""
    columns = {k: dict(v) for k, v in spec.get("columns", {}).items()}
    features = dict(spec.get("features") or {})
    for r in table.to_dict("records"):
        lo = None if pd.isna(r.get("min")) else _num(r["min"])
        hi = None if pd.isna(r.get("max")) else _num(r["max"])
        if str(r.get("column", "")).startswith(_FEATURE_ROW):
            features.update(nullable=bool(r.get("nullable", True)), min=lo, max=hi)
            continue
        name = str(r["column"])
        allowed_text = str(r.get("allowed") or "").strip()
        allowed = [a.strip() for a in allowed_text.split(",") if a.strip()] or None
        old = columns.get(name, {})
        if allowed and old.get("allowed") and ", ".join(map(str, old["allowed"])) == allowed_text:
            allowed = old["allowed"]  # keep the original values (and their types) when unchanged
        columns[name] = {
            "dtype": str(r.get("dtype") or "str"),
            "nullable": bool(r.get("nullable", True)),
            "min": lo,
            "max": hi,
            "allowed": allowed,
            "unique": bool(r.get("unique", False)),
            "role": str(r.get("role") or "other"),
        }
    out = {"version": spec.get("version", 1), "columns": columns, "features": features}
    _check_spec(out)
    return out


# ---------------------------------------------------------------- validation
def _failures(row, column, check, value) -> pd.DataFrame:
    return pd.DataFrame({"row": row, "column": column, "check": check, "value": value})


def _coerce(s: pd.Series, dtype: str) -> tuple[pd.Series, np.ndarray]:
    """Convert to the spec's dtype; return the converted column and the rows that failed."""
    if dtype in ("int", "float") and not pd.api.types.is_numeric_dtype(s.dtype):
        conv = pd.to_numeric(s, errors="coerce")
    elif dtype == "datetime" and not pd.api.types.is_datetime64_any_dtype(s.dtype):
        conv = pd.to_datetime(s, errors="coerce", format="mixed")
    elif dtype in ("int", "float") and pd.api.types.is_bool_dtype(s.dtype):
        conv = s.astype(float)
    else:
        return s, np.zeros(len(s), dtype=bool)
    bad = (conv.isna() & s.notna()).to_numpy()
    return conv, bad


def _validate_features(df: pd.DataFrame, fb: dict[str, Any], skip: set[str]) -> list[pd.DataFrame]:
    out = []
    names = [c for c in fb.get("columns", []) if c not in skip]
    absent = [c for c in names if c not in df.columns]
    if absent:
        out.append(_failures(None, absent, "column_in_dataframe", None))
    names = [c for c in names if c in df.columns]
    lo, hi, nullable = fb.get("min"), fb.get("max"), fb.get("nullable", True)
    block = 2048
    for a in range(0, len(names), block):
        part = df[names[a : a + block]]
        cols = np.asarray(part.columns, dtype=object)
        nonnum = [c for c in part.columns if not pd.api.types.is_numeric_dtype(part[c].dtype)]
        if nonnum:
            part = part.copy()
            for c in nonnum:
                part[c], bad = _coerce(part[c], "float")
                if bad.any():
                    out.append(
                        _failures(np.flatnonzero(bad), c, "coerce_dtype('float64')", df[c].to_numpy()[bad])
                    )
        X = part.to_numpy(dtype=np.float64, na_value=np.nan)
        tests = []
        if not nullable:
            tests.append(("not_nullable", np.isnan(X)))
        with np.errstate(invalid="ignore"):
            if lo is not None:
                tests.append((f"greater_than_or_equal_to({lo})", X < lo))
            if hi is not None:
                tests.append((f"less_than_or_equal_to({hi})", X > hi))
        for name, mask in tests:
            r, c = np.nonzero(mask)
            if r.size:
                out.append(_failures(r, cols[c], name, X[r, c]))
    return out


def validate_schema(df: pd.DataFrame, spec: dict[str, Any] | pa.DataFrameSchema) -> pd.DataFrame:
    """Validate a table against a schema and list every failure case.

    Validation is lazy: it does not stop at the first failure. Returns a DataFrame
    with columns ``row`` (position in the table), ``sample`` (the sample id when the
    spec names an id column), ``column``, ``check`` and ``value`` (the failing value);
    empty when the table conforms.
    """
    if isinstance(spec, pa.DataFrameSchema):
        spec = schema_to_dict(spec)
    _check_spec(spec)
    meta = spec["columns"]
    parts: list[pd.DataFrame] = []
    absent = [c for c in meta if c not in df.columns]
    if absent:
        parts.append(_failures(None, absent, "column_in_dataframe", None))
    present = [c for c in meta if c in df.columns]
    if present:
        sub = df[present].reset_index(drop=True)
        converted = {}
        for c in present:
            conv, bad = _coerce(sub[c], meta[c].get("dtype", "str"))
            if bad.any():
                parts.append(
                    _failures(
                        np.flatnonzero(bad), c, f"coerce_dtype('{meta[c]['dtype']}')", sub[c].to_numpy()[bad]
                    )
                )
            if conv is not sub[c]:
                converted[c] = conv
        if converted:
            sub = sub.assign(**converted)
        schema = schema_from_dict({"columns": {c: meta[c] for c in present}})
        try:
            schema.validate(sub, lazy=True)
        except SchemaErrors as exc:
            fc = exc.failure_cases
            fc = fc[~fc["check"].astype(str).str.startswith(("dtype(", "coerce_dtype("))]
            parts.append(
                _failures(
                    pd.to_numeric(fc["index"], errors="coerce").to_numpy(),
                    fc["column"].to_numpy(),
                    fc["check"].astype(str).to_numpy(),
                    fc["failure_case"].to_numpy(),
                )
            )
    parts += _validate_features(df, spec.get("features") or {}, set(meta))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FAILURE_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["row"] = pd.array(out["row"], dtype="Int64")
    id_col = next((c for c, e in meta.items() if e.get("role") == "id" and c in df.columns), None)
    if id_col is not None:
        ids = df[id_col].to_numpy()
        pos = out["row"].to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(pos)
        sample = np.full(len(out), None, dtype=object)
        sample[ok] = ids[pos[ok].astype(int)]
        out["sample"] = sample
    else:
        out["sample"] = None
    out = out.sort_values(["column", "check", "row"], kind="stable", na_position="first")
    return out[FAILURE_COLUMNS].reset_index(drop=True)
