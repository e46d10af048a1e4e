"""Column-role suggestions from names and content."""

from __future__ import annotations

import numpy as np
import pandas as pd

from deeprules_core.intake import looks_like_sequence, suggest_roles


def test_every_role_from_names():
    n = 12
    df = pd.DataFrame(
        {
            "SampleID": [f"s{i}" for i in range(n)],
            "donor": np.repeat(["d1", "d2", "d3", "d4"], 3),
            "Diagnosis": ["AD", "ctrl"] * 6,
            "run_date": ["2020-01-01"] * 6 + ["2020-02-01"] * 6,
            "sequencing_center": ["A", "B"] * 6,
            "Age": np.arange(n) + 40.0,
            "gender": ["F", "M"] * 6,
            "visit": [1, 2, 3] * 4,
            "BMI": np.linspace(20, 30, n),
            "gene1": np.random.default_rng(0).normal(size=n),
            "gene2": np.random.default_rng(1).normal(size=n),
        }
    )
    s = suggest_roles(df)
    r = s.roles
    assert r.id == "SampleID" and r.group == "donor" and r.label == "Diagnosis"
    assert r.batch == ("run_date", "sequencing_center")
    assert r.covariates == ("Age", "gender", "BMI")
    assert r.time == "visit" and r.task == "classification"
    assert r.feature_columns(df) == ["gene1", "gene2"]
    assert set(s.reasons) >= {"id", "label", "group", "batch", "covariates", "time", "features"}


def test_regression_label_and_content_only_id():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"name_of_thing": [f"x{i}" for i in range(30)], "outcome": rng.normal(size=30)})
    r = suggest_roles(df).roles
    assert r.label == "outcome" and r.task == "regression"
    df2 = pd.DataFrame({"barcodes_x": [f"x{i}" for i in range(30)], "status": [0, 1] * 15})
    r2 = suggest_roles(df2).roles
    assert r2.id == "barcodes_x" and r2.label == "status" and r2.task == "classification"


def test_integer_grade_with_few_levels_is_classification():
    df = pd.DataFrame({"id": [f"s{i}" for i in range(40)], "class": [1, 2, 3, 4] * 10, "g": range(40)})
    assert suggest_roles(df).roles.task == "classification"


def test_sequences_dna_and_protein():
    dna = pd.Series(["ACGTACGTAA", "TTGACCANNA", "GGGGCCCCAT"])
    prot = pd.Series(["MKTAYIAKQR", "MSDNELLQWK", "MEEPQSDPSV"])
    short = pd.Series(["ACG", "TTG", "GGA"])
    assert looks_like_sequence(dna) == "dna" and looks_like_sequence(prot) == "protein"
    assert looks_like_sequence(short) is None and looks_like_sequence(pd.Series([1.0, 2.0])) is None
    df = pd.DataFrame({"seq": dna, "bound": [1, 0, 1], "id": ["a", "b", "c"]})
    r = suggest_roles(df).roles
    assert r.sequence == "seq" and r.id == "id"


def test_no_label_is_said_not_guessed():
    df = pd.DataFrame({"id": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    s = suggest_roles(df)
    assert s.roles.label is None and "choose it" in s.reasons["label"]


def test_patient_id_is_a_group_not_the_sample_id():
    df = pd.DataFrame({"patient_id": ["p1", "p2", "p3"], "sample": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    r = suggest_roles(df).roles
    assert r.group == "patient_id" and r.id == "sample"
