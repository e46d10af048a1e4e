"""Turn the failure cases of a user's schema into findings (one per column and kind)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pandera.pandas as pa

from ..findings import Finding
from ._validate import validate_schema

__all__ = ["schema_findings"]

_KINDS = {
    "not_nullable": ("missing_values", "warning", "missing values where the schema allows none"),
    "field_uniqueness": ("duplicate_ids", "error", "repeated values where the schema requires unique ones"),
    "column_in_dataframe": ("missing_values", "error", "no such column in the table"),
    "isin": ("out_of_range_values", "warning", "values outside the allowed categories"),
    "whole_number": ("out_of_range_values", "warning", "values that are not whole numbers"),
    "coerce_dtype": ("numeric_stored_as_string", "warning", "values that are not of the schema's type"),
    "greater_than": ("out_of_range_values", "warning", "values below the schema's minimum"),
    "less_than": ("out_of_range_values", "warning", "values above the schema's maximum"),
}


def _kind(check: str) -> tuple[str, str, str]:
    for prefix, kind in _KINDS.items():
        if check.startswith(prefix):
            return kind
    return ("out_of_range_values", "warning", f"values failing {check}")


def schema_findings(df: pd.DataFrame, schema: dict[str, Any] | pa.DataFrameSchema) -> list[Finding]:
    """Validate ``df`` against the user's schema; one finding per column and kind of failure."""
    failures = validate_schema(df, schema)
    if failures.empty:
        return []
    out = []
    missing_cols = failures[failures["check"] == "column_in_dataframe"]
    if len(missing_cols):
        cols = missing_cols["column"].astype(str).tolist()
        out.append(
            Finding(
                code="missing_values",
                severity="error",
                tip=1,
                columns=tuple(cols[:20]),
                message=(
                    f"The saved schema expects {len(cols)} column(s) the table does not have "
                    f"({', '.join(cols[:5])}{' ...' if len(cols) > 5 else ''}). The data changed since the schema "
                    "was saved: check that this is the right file, or infer the schema again."
                ),
                evidence={"n_columns": len(cols), "columns": cols[:200]},
            )
        )
    rest = failures[failures["check"] != "column_in_dataframe"]
    for (col, check), part in rest.groupby(["column", "check"], sort=True):
        code, severity, what = _kind(str(check))
        rows = part["row"].dropna().astype(int).tolist()
        values = part["value"].tolist()
        out.append(
            Finding(
                code=code,
                severity=severity,  # type: ignore[arg-type]
                tip=1,
                columns=(str(col),),
                message=(
                    f"Column '{col}' breaks the saved schema: {len(part)} {what} ({check}; for example "
                    f"{', '.join(map(repr, values[:5]))}). The schema records what the data must look like; "
                    "correct these values, or edit the schema on the Checks page if the rule was wrong."
                ),
                evidence={
                    "check": str(check),
                    "n": len(part),
                    "rows": rows[:50],
                    "samples": part["sample"].tolist()[:50],
                    "values": values[:50],
                    "source": "schema",
                },
            )
        )
    return out
