"""Editing a schema spec as a table, and validating a table against a spec lazily:
every failure case (row, column, check, value) in one table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from ._schema import _check_spec, _num, schema_from_dict, schema_to_dict

__all__ = ["FAILURE_COLUMNS", "spec_table", "spec_from_table", "validate_schema"]

FAILURE_COLUMNS = ["row", "sample", "column", "check", "value"]

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
