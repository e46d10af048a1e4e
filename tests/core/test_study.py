"""The Study record: typed, immutable, JSON round-trips, and says what is wrong."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest

from deeprules_core.errors import ColumnError
from deeprules_core.findings import CODES, Finding, sort_findings, summarise
from deeprules_core.study import Acknowledgement, Design, Roles, StepRecord, Study


def test_study_is_immutable_and_round_trips_through_json():
    s = Study.new(
        "Tumour vs normal", design=Design(replicate_kind="repeated_individual", sensitive_data=True)
    )
    s = s.with_roles(Roles(id="id", label="y", group="patient", batch=("plate", "run"), covariates=("age",)))
    s = s.with_step(StepRecord(step="checks", params={"k": 1}, seed=3, summary={"n": 2}))
    s = s.with_acknowledgement(
        Acknowledgement("class_imbalance:y", "expected prevalence", who="me", at="now")
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"  # type: ignore[misc]
    again = Study.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s
    assert again.step("checks").seed == 3
    assert again.acknowledgement("class_imbalance:y").justification == "expected prevalence"
    assert again.design.repeated_units


def test_empty_name_and_bad_choices_are_refused():
    with pytest.raises(ValueError, match="needs a name"):
        Study.new("  ")
    with pytest.raises(ValueError, match="study_type"):
        Design(study_type="survey")
    with pytest.raises(ValueError, match="task"):
        Roles(task="clustering")
    with pytest.raises(ValueError, match="justification"):
        Study.new("x").with_acknowledgement(Acknowledgement("a:b", "  "))


def test_feature_columns_default_to_numeric_columns_without_a_role():
    df = pd.DataFrame(
        {
            "id": ["a", "b"],
            "y": [0, 1],
            "age": [40, 50],
            "g1": [0.1, 0.2],
            "g2": [1, 2],
            "flag": [True, False],
            "note": ["x", "y"],
        }
    )
    roles = Roles(id="id", label="y", covariates=("age",))
    assert roles.feature_columns(df) == ["g1", "g2"]
    assert Roles(label="y", features=("g2",)).feature_columns(df) == ["g2"]


def test_validate_against_names_every_missing_column():
    df = pd.DataFrame({"y": [0, 1]})
    with pytest.raises(ColumnError, match="'patient', 'plate'"):
        Roles(label="y", group="patient", batch=("plate",)).validate_against(df)


def test_findings_validate_codes_and_sort_by_severity():
    with pytest.raises(ValueError, match="Unknown finding code"):
        Finding(code="looks_odd", severity="warning", tip=1, message="?")
    info = Finding(code="high_dim_small_n", severity="info", tip=5, message="p >> n")
    err = Finding(
        code="duplicate_ids",
        severity="error",
        tip=1,
        message="dup",
        columns=["id"],
        evidence={"n": pd.Series([1]).iloc[0], "x": float("nan")},
    )
    assert sort_findings([info, err]) == [err, info]
    assert summarise([info, err]) == {"error": 1, "warning": 0, "info": 1}
    assert json.loads(err.to_json())["evidence"] == {"n": 1, "x": None}
    assert err.key == "duplicate_ids:id"
    assert set(CODES) >= {"batch_confounding", "no_signal", "sensitive_model_export"}


def test_unused_columns_are_the_ones_the_models_never_see():
    import pandas as pd

    from deeprules_core.study import Roles

    df = pd.DataFrame(
        {"id": ["a", "b"], "y": [0, 1], "g1": [1.0, 2.0], "site": ["x", "y"], "note": ["ok", "bad"]}
    )
    assert Roles(id="id", label="y").unused_columns(df) == ["site", "note"]
    assert Roles(id="id", label="y", batch=("site",)).unused_columns(df) == ["note"]
    assert Roles(id="id", label="y", features=()).unused_columns(df) == ["site", "note"]
