"""Schema inference, editing as a table, JSON round trip, lazy validation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from deeprules_core.checks import (
    domain_range,
    infer_schema,
    infer_spec,
    run_checks,
    schema_findings,
    schema_from_dict,
    schema_to_dict,
    spec_from_table,
    spec_table,
    validate_schema,
)
from deeprules_core.errors import DataFormatError
from deeprules_core.study import Roles

ROLES = Roles(id="sample_id", label="label", batch=("plate",), covariates=("sex",))


def table(n: int = 40, p: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.gamma(2.0, size=(n, p)), columns=[f"g{i}" for i in range(p)])
    df.insert(0, "sample_id", [f"S{i}" for i in range(n)])
    df.insert(1, "label", np.resize(["case", "control"], n))
    df.insert(2, "plate", np.resize(["p1", "p2", "p3"], n))
    df.insert(3, "sex", np.resize(["F", "M"], n))
    df.insert(4, "age", rng.integers(20, 80, n))
    return df


def test_inferred_spec_has_types_ranges_categories_and_unique_id():
    spec = infer_spec(table(), ROLES)
    cols = spec["columns"]
    assert cols["sample_id"]["unique"] and not cols["sample_id"]["nullable"]
    assert cols["plate"]["allowed"] == ["p1", "p2", "p3"] and cols["plate"]["role"] == "batch"
    assert (cols["age"]["dtype"], cols["age"]["min"], cols["age"]["max"]) == ("int", 0, 120)
    assert spec["features"]["columns"] == ["age"] + [f"g{i}" for i in range(30)]  # age has no role
    assert spec["features"]["min"] == 0  # gamma data are never negative
    assert "g0" not in cols
    json.dumps(spec)


def test_spec_round_trips_through_pandera_and_json():
    spec = infer_spec(table(), ROLES)
    schema = schema_from_dict(json.loads(json.dumps(spec)))
    assert isinstance(schema, pa.DataFrameSchema)
    assert schema_to_dict(schema) == spec
    assert schema_to_dict(infer_schema(table(), ROLES)) == spec


def test_a_table_conforms_to_its_own_schema():
    df = table()
    assert validate_schema(df, infer_spec(df, ROLES)).empty
    assert schema_findings(df, infer_schema(df, ROLES)) == []


def test_every_failure_case_is_listed():
    df = table()
    spec = infer_spec(df, ROLES)
    bad = df.copy()
    bad["age"] = bad["age"].astype(object)
    bad.loc[2, "age"] = 130
    bad.loc[5, "age"] = "forty"
    bad.loc[7, "plate"] = "p9"
    bad.loc[8, "sample_id"] = "S9"
    bad.loc[[1, 4], "g3"] = -1.0
    bad = bad.drop(columns="g7")
    fails = validate_schema(bad, spec)
    got = {(r.column, r.check, r.row) for r in fails.itertuples()}
    assert ("age", "less_than_or_equal_to(120)", 2) in got
    assert ("age", "coerce_dtype('int')", 5) in got
    assert ("plate", "isin(['p1', 'p2', 'p3'])", 7) in got
    assert {("sample_id", "field_uniqueness", 8), ("sample_id", "field_uniqueness", 9)} <= got
    assert {("g3", "greater_than_or_equal_to(0)", 1), ("g3", "greater_than_or_equal_to(0)", 4)} <= got
    assert ("g7", "column_in_dataframe", None) in {(c, k, None if pd.isna(r) else r) for c, k, r in got}
    assert fails.loc[fails["column"] == "plate", "sample"].tolist() == ["S7"]
    codes = {f.code for f in run_checks(bad, ROLES, schema=spec)}
    assert {"out_of_range_values", "duplicate_ids", "numeric_stored_as_string", "missing_values"} <= codes


def test_editing_the_spec_as_a_table():
    df = table()
    spec = infer_spec(df, ROLES)
    t = spec_table(spec)
    assert t["column"].iloc[-1].startswith("(feature columns)") and len(t) == 6
    t.loc[t["column"] == "age", "max"] = 60
    t.loc[t["column"].str.startswith("(feature"), "max"] = 5.0
    new = spec_from_table(t, spec)
    assert new["columns"]["age"]["max"] == 60 and new["features"]["max"] == 5
    assert new["columns"]["plate"]["allowed"] == ["p1", "p2", "p3"]
    fails = validate_schema(df, new)
    assert set(fails["column"]) >= {"age"}
    assert (fails.loc[fails["column"] == "age", "value"] > 60).all()


def test_a_bad_spec_is_refused_with_a_reason():
    spec = infer_spec(table(), ROLES)
    spec["columns"]["age"]["min"] = 200
    with pytest.raises(DataFormatError, match="above the maximum"):
        schema_from_dict(spec)
    with pytest.raises(DataFormatError, match="'columns'"):
        validate_schema(table(), {"nope": 1})


@pytest.mark.parametrize(
    "name,expected",
    [
        ("age", (0, 120)),
        ("Age_years", (0, 120)),
        ("tumour_fraction", (0, 1)),
        ("pct_mito", (0, 100)),
        ("total_counts", (0, None)),
        ("age_months", None),
        ("stage", None),
    ],
)
def test_domain_ranges_from_names(name, expected):
    got = domain_range(name)
    assert (got[:2] if got else None) == expected


def test_wide_feature_block_validates_without_one_pandera_column_each():
    df = table(50, 5000)
    spec = infer_spec(df, ROLES)
    assert len(schema_from_dict(spec).columns) == 5
    df.loc[3, "g4000"] = -2.0
    fails = validate_schema(df, spec)
    assert fails[["row", "column"]].values.tolist() == [[3, "g4000"]]
