"""Schema, metadata and data-quality checks (Tips 1, 4, 5 and 10).

Everything that can be learned from the table and the study design before any model
is fitted. :func:`run_checks` runs every check and returns findings; the schema API
infers, edits, saves and validates a pandera schema.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from deeprules_core.study import Roles
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame(rng.normal(size=(120, 30)), columns=[f"g{i}" for i in range(30)])
>>> df["label"] = ["a", "b"] * 60
>>> [f.code for f in run_checks(df, Roles(label="label")) if f.severity != "info"]
[]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pandera.pandas as pa

from ..errors import ColumnError
from ..findings import Finding, sort_findings
from ..study import Design, Roles
from ._design import check_group_leakage, check_high_dim_small_n, check_too_few_samples
from ._identifying import check_identifying_columns
from ._metadata import (
    _parsed_text_columns,
    check_duplicate_ids,
    check_inconsistent_categories,
    check_mixed_units,
    check_numeric_stored_as_string,
)
from ._profile import FeatureProfile
from ._quality import (
    check_class_imbalance,
    check_constant_features,
    check_label_one_class,
    check_missing_not_at_random,
    check_missing_values,
    check_out_of_range,
    missingness_table,
)
from ._samples import check_duplicates, check_outliers, near_duplicate_pairs, outlier_scores
from ._schema import domain_range, infer_schema, infer_spec, schema_from_dict, schema_to_dict
from ._schema_findings import schema_findings
from ._validate import spec_from_table, spec_table, validate_schema

__all__ = [
    "run_checks",
    "FeatureProfile",
    "infer_spec",
    "infer_schema",
    "schema_to_dict",
    "schema_from_dict",
    "spec_table",
    "spec_from_table",
    "validate_schema",
    "schema_findings",
    "domain_range",
    "outlier_scores",
    "near_duplicate_pairs",
    "missingness_table",
    "check_numeric_stored_as_string",
    "check_mixed_units",
    "check_inconsistent_categories",
    "check_duplicate_ids",
    "check_identifying_columns",
    "check_missing_values",
    "check_constant_features",
    "check_out_of_range",
    "check_class_imbalance",
    "check_label_one_class",
    "check_missing_not_at_random",
    "check_duplicates",
    "check_outliers",
    "check_high_dim_small_n",
    "check_group_leakage",
    "check_too_few_samples",
]

Progress = Callable[[float, str], None]


def run_checks(
    df: pd.DataFrame,
    roles: Roles,
    *,
    design: Design | None = None,
    schema: dict[str, Any] | pa.DataFrameSchema | None = None,
    profile: FeatureProfile | None = None,
    progress: Progress | None = None,
) -> list[Finding]:
    """Run every schema, metadata, quality and design check on a parsed table.

    Parameters
    ----------
    df
        The table, one row per sample.
    roles
        Column roles (id, label, group, batch, covariates, features ...).
    design
        The design questionnaire; enables the "repeated individuals but no group" check.
    schema
        A schema spec (or pandera schema) the user edited; its ranges and allowed
        values are validated and failures reported as findings.
    profile
        A precomputed :class:`FeatureProfile` (the page reuses it for its charts).
    progress
        Called with (fraction, message) between checks.

    Returns
    -------
    list of Finding
        Sorted: errors, then warnings, then notes. Empty lists of warnings and errors
        on clean data.
    """
    if df.columns.has_duplicates:
        dup = sorted({str(c) for c in df.columns[df.columns.duplicated()]})
        raise ColumnError(
            f"The table has duplicate column names ({', '.join(dup[:5])}); each column needs its own "
            "name, or checks and models cannot tell them apart. Rename or drop the copies."
        )
    roles.validate_against(df)

    def step(frac: float, msg: str) -> None:
        if progress is not None:
            progress(frac, msg)

    step(0.0, "reading the features")
    profile = profile or FeatureProfile.from_frame(df, roles)
    findings: list[Finding] = []
    step(0.2, "metadata columns")
    parsed = _parsed_text_columns(df, roles)
    findings += check_numeric_stored_as_string(df, roles, parsed=parsed)
    findings += check_mixed_units(df, roles, parsed=parsed)
    findings += check_inconsistent_categories(df, roles)
    findings += check_duplicate_ids(df, roles)
    findings += check_identifying_columns(df, roles, profile=profile)
    step(0.35, "missing and impossible values")
    findings += check_missing_values(df, roles, profile=profile)
    findings += check_constant_features(df, roles, profile=profile)
    findings += check_out_of_range(df, roles, profile=profile)
    findings += check_label_one_class(df, roles)
    findings += check_class_imbalance(df, roles)
    findings += check_missing_not_at_random(df, roles, profile=profile)
    step(0.5, "duplicate samples")
    findings += check_duplicates(df, roles, profile=profile)
    step(0.7, "outlying samples")
    findings += check_outliers(df, roles, profile=profile)
    step(0.9, "study design")
    findings += check_high_dim_small_n(df, roles, n_features=profile.p)
    findings += check_group_leakage(df, roles, design=design)
    findings += check_too_few_samples(df, roles)
    if schema is not None:
        findings += schema_findings(df, schema)
    step(1.0, "done")
    return sort_findings(findings)
