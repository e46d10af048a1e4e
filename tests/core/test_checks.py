"""Each check: a planted problem is found, a near-miss is not; clean data is quiet."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from deeprules_core.checks import (
    FeatureProfile,
    check_class_imbalance,
    check_constant_features,
    check_duplicate_ids,
    check_duplicates,
    check_group_leakage,
    check_high_dim_small_n,
    check_identifying_columns,
    check_inconsistent_categories,
    check_missing_not_at_random,
    check_missing_values,
    check_mixed_units,
    check_numeric_stored_as_string,
    check_out_of_range,
    check_outliers,
    check_too_few_samples,
    missingness_table,
    outlier_scores,
    run_checks,
)
from deeprules_core.errors import ColumnError
from deeprules_core.findings import CODES, Finding
from deeprules_core.study import Design, Roles

ROLES = Roles(id="sample_id", label="label")


def make_table(n: int = 200, p: int = 50, *, seed: int = 0, classes=("a", "b")) -> pd.DataFrame:
    """Clean simulated data: Gaussian features, balanced labels, unique ids."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"g{i}" for i in range(p)])
    df.insert(0, "sample_id", [f"S{i:04d}" for i in range(n)])
    df.insert(1, "label", rng.permutation(np.resize(np.array(classes), n)))
    return df


def codes(findings: list[Finding], *, severe_only: bool = False) -> set[str]:
    return {f.code for f in findings if not severe_only or f.severity != "info"}


def prof(df: pd.DataFrame, roles: Roles = ROLES) -> FeatureProfile:
    return FeatureProfile.from_frame(df, roles)


# ---------------------------------------------------------------- clean data
@pytest.mark.parametrize("n,p,seed", [(200, 2000, 0), (300, 40, 1), (120, 12, 2)])
def test_clean_data_gives_no_warnings_or_errors(n, p, seed):
    df = make_table(n, p, seed=seed)
    findings = run_checks(df, ROLES, design=Design())
    assert [f for f in findings if f.severity != "info"] == []
    json.dumps([f.to_dict() for f in findings])  # strict JSON


def test_every_finding_is_complete_and_jsonable():
    df = make_table(150, 30)
    df.loc[3, "g1"] = np.nan
    df.loc[5, "sample_id"] = "S0004"
    df["weight"] = ["70 kg", "154 lb"] * 75
    findings = run_checks(df, ROLES)
    assert {"duplicate_ids", "mixed_units", "missing_values"} <= codes(findings)
    for f in findings:
        assert f.code in CODES and f.message.endswith((".", ")")) and len(f.message) > 60
        assert f.evidence
        assert Finding.from_dict(json.loads(f.to_json())) == f


# ---------------------------------------------------------------- text and units
def test_numbers_stored_as_text_are_found():
    df = make_table(40, 5)
    df["dose"] = ["12.5 mg"] * 20 + ["10 mg"] * 20
    df["reads"] = ["1,234", "2,345", "n.d."] * 13 + ["3,000"]
    found = check_numeric_stored_as_string(df, ROLES)
    assert {f.columns[0] for f in found} == {"dose", "reads"}
    reads = next(f for f in found if f.columns == ("reads",))
    assert reads.evidence["missing_as_text"] == {"n.d.": 13}


def test_stages_and_ids_are_not_numbers():
    df = make_table(40, 5)
    df["stage"] = ["1", "2", "3a", "3b"] * 10
    df["date"] = ["2021-03-04"] * 40
    assert check_numeric_stored_as_string(df, ROLES) == []


def test_mixed_units_in_one_column():
    df = make_table(40, 5)
    df["conc"] = ["5 µM", "200 nM", "1 mM", "3 uM"] * 10
    df["temp"] = ["37 °C"] * 39 + ["98.6 F"]
    found = {f.columns[0]: f for f in check_mixed_units(df, ROLES)}
    assert set(found) == {"conc", "temp"} and found["conc"].severity == "error"
    assert found["conc"].evidence["units"] == {"µM": 20, "nM": 10, "mM": 10}


def test_one_unit_throughout_is_not_mixed():
    df = make_table(40, 5)
    df["weight"] = [f"{70 + i} kg" for i in range(40)]
    assert check_mixed_units(df, ROLES) == []
    assert codes(check_numeric_stored_as_string(df, ROLES)) == {"numeric_stored_as_string"}


def test_inconsistent_category_spellings():
    df = make_table(60, 5)
    df["sex"] = ["Male", "male", "M ", "Female"] * 15
    (f,) = check_inconsistent_categories(df, ROLES)
    assert f.columns == ("sex",) and f.evidence["n_distinct_harmonised"] == 2
    assert set(f.evidence["groups"]["male"]) == {"Male", "male", "M "}


def test_consistent_categories_are_fine():
    df = make_table(60, 5)
    df["sex"] = ["Male", "Female"] * 30
    df["blood"] = ["A", "B", "AB", "O"] * 15
    assert check_inconsistent_categories(df, ROLES) == []


def test_label_spelling_is_an_error():
    df = make_table(60, 5)
    df["label"] = ["tumour", "Tumour", "normal"] * 20
    (f,) = check_inconsistent_categories(df, ROLES)
    assert f.severity == "error" and f.columns == ("label",)


# ---------------------------------------------------------------- ids and identifying columns
def test_duplicate_ids():
    df = make_table(30, 5)
    df.loc[7, "sample_id"] = "S0002"
    (f,) = check_duplicate_ids(df, ROLES)
    assert f.code == "duplicate_ids" and f.evidence["rows_by_id"] == {"S0002": [2, 7]}
    assert check_duplicate_ids(make_table(30, 5), ROLES) == []


def test_identifying_columns_by_name_and_content():
    df = make_table(40, 5)
    df["patient_name"] = [f"Person{i}" for i in range(40)]
    df["contact"] = [f"p{i}@hospital.org" for i in range(40)]
    df["tel"] = [f"+44 20 7946 {1000 + i}" for i in range(40)]
    df["who"] = [
        f"{f} {s}"
        for f, s in zip(
            ["Anna", "Ben", "Carl", "Dora"] * 10, [f"Smith{chr(97 + i % 26)}" for i in range(40)], strict=True
        )
    ]
    df["mrn"] = [str(100000 + i) for i in range(40)]
    df["notes"] = ["seen in clinic, reports mild pain after the second dose of the drug"] * 40
    found = {f.columns[0] for f in check_identifying_columns(df, ROLES)}
    assert found == {"patient_name", "contact", "tel", "who", "mrn", "notes"}


def test_pseudonymous_ids_and_tissues_are_not_identifying():
    df = make_table(40, 5)
    df["patient_id"] = [f"P{i // 2}" for i in range(40)]
    df["tissue"] = ["Adipose Tissue", "Skeletal Muscle"] * 20
    df["sample_name"] = [f"sample {i}" for i in range(40)]
    df["collected"] = ["2021-03-04"] * 40
    assert check_identifying_columns(df, ROLES) == []


# ---------------------------------------------------------------- values
def test_out_of_range_ages_fractions_and_counts():
    df = make_table(50, 5)
    df["age"] = np.r_[np.full(48, 50.0), 130.0, -2.0]
    df["tumour_fraction"] = np.r_[np.full(49, 0.4), 1.7]
    df["n_reads"] = np.r_[np.full(49, 100), -5]
    found = {f.columns[0]: f for f in check_out_of_range(df, ROLES, profile=prof(df))}
    assert set(found) == {"age", "tumour_fraction", "n_reads"}
    assert found["age"].evidence["rows"] == [48, 49]


def test_plausible_values_are_in_range():
    df = make_table(50, 5)
    df["age"] = np.linspace(18, 90, 50)
    df["age_days"] = np.linspace(100, 900, 50)  # not in years
    df["tumour_fraction"] = np.linspace(0, 1, 50)
    df["n_reads"] = np.arange(50)
    assert check_out_of_range(df, ROLES, profile=prof(df)) == []


def test_negative_values_in_count_features():
    rng = np.random.default_rng(0)
    df = make_table(60, 2)[["sample_id", "label"]]
    counts = pd.DataFrame(rng.poisson(20, size=(60, 30)), columns=[f"gene{i}" for i in range(30)])
    df = pd.concat([df, counts], axis=1)
    assert check_out_of_range(df, ROLES, profile=prof(df)) == []  # near-miss: counts, no negatives
    df.loc[4, "gene7"] = -3
    (f,) = check_out_of_range(df, ROLES, profile=prof(df))
    assert f.columns == ("gene7",) and f.evidence["examples"][0] == {
        "row": 4,
        "column": "gene7",
        "value": -3.0,
    }


def test_gaussian_features_with_negatives_are_not_counts():
    df = make_table(60, 30)
    assert check_out_of_range(df, ROLES, profile=prof(df)) == []


def test_missing_values_per_column_and_sample():
    df = make_table(100, 20)
    df.loc[:59, "g3"] = np.nan  # 60% missing
    df.loc[5, [f"g{i}" for i in range(15)]] = np.nan  # a failed sample
    df.loc[[1, 2], "label"] = np.nan
    found = check_missing_values(df, ROLES, profile=prof(df))
    by_cols = {f.columns[:1]: f for f in found}
    assert by_cols[("label",)].severity == "warning"
    feat = next(f for f in found if f.columns and f.columns[0] == "g3")
    assert feat.severity == "warning" and feat.evidence["worst"]["g3"] == pytest.approx(0.6)
    sample = next(f for f in found if not f.columns)
    assert sample.evidence["samples"] == ["S0005"]


def test_label_typed_as_na_text_is_reported():
    df = make_table(60, 5)
    df.loc[:4, "label"] = "n/a"
    (f,) = check_missing_values(df, ROLES, profile=prof(df))
    assert f.evidence["missing_as_text"] == {"n/a": 5}


def test_constant_features_are_listed_once():
    df = make_table(50, 10)
    df = pd.concat([df, pd.DataFrame(1.0, index=df.index, columns=[f"c{i}" for i in range(300)])], axis=1)
    (f,) = check_constant_features(df, ROLES, profile=prof(df))
    assert f.evidence["n_constant"] == 300 and len(f.columns) <= 20
    assert check_constant_features(make_table(50, 10), ROLES, profile=prof(make_table(50, 10))) == []


def test_class_imbalance_thresholds():
    df = make_table(220, 5)
    df["label"] = ["a"] * 190 + ["b"] * 30  # 1:6.3
    (f,) = check_class_imbalance(df, ROLES)
    assert f.severity == "warning" and f.evidence["counts"] == {"a": 190, "b": 30}
    df["label"] = ["a"] * 150 + ["b"] * 70  # 1:2.1, a note
    assert [f.severity for f in check_class_imbalance(df, ROLES)] == ["info"]
    df["label"] = ["a"] * 120 + ["b"] * 100
    assert check_class_imbalance(df, ROLES) == []


# ---------------------------------------------------------------- missing not at random
def _with_missing(df: pd.DataFrame, rate_by_row: np.ndarray, cols, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    for c in cols:
        df.loc[rng.random(len(df)) < rate_by_row, c] = np.nan
    return df


def test_missingness_that_depends_on_the_label_is_found():
    df = make_table(300, 200)
    rate = np.where(df["label"] == "a", 0.4, 0.05)
    df = _with_missing(df, rate, ["g1", "g2", "g3"])
    df = _with_missing(df, np.full(300, 0.2), [f"g{i}" for i in range(10, 60)], seed=2)
    (f,) = check_missing_not_at_random(df, ROLES, profile=prof(df))
    assert set(f.columns) == {"g1", "g2", "g3"} and f.evidence["variable"] == "label"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_missing_completely_at_random_is_not_flagged(seed):
    df = make_table(300, 300, seed=seed)
    df = _with_missing(df, np.full(300, 0.15), df.columns[2:], seed=seed)
    df["plate"] = np.resize(["p1", "p2", "p3"], 300)
    roles = Roles(id="sample_id", label="label", batch=("plate",))
    assert check_missing_not_at_random(df, roles, profile=prof(df, roles)) == []


def test_missingness_by_batch_and_regression_label():
    df = make_table(200, 20)
    df["plate"] = np.resize(["p1", "p2"], 200)
    df["y"] = np.random.default_rng(3).normal(size=200)
    df = _with_missing(df, np.where(df["plate"] == "p1", 0.5, 0.0), ["g4"])
    df = _with_missing(df, np.where(df["y"] > 0.5, 0.6, 0.02), ["g5"])
    roles = Roles(id="sample_id", label="y", task="regression", batch=("plate",))
    found = {
        f.evidence["variable"]: f for f in check_missing_not_at_random(df, roles, profile=prof(df, roles))
    }
    assert found["plate"].columns == ("g4",) and found["y"].columns == ("g5",)
    table = missingness_table(df, roles, by="plate")
    assert table.set_index(["level", "column"]).loc[("p2", "g4"), "fraction"] == 0


# ---------------------------------------------------------------- duplicates
def test_exact_and_near_duplicates_and_conflicting_labels():
    df = make_table(200, 100)
    feats = [f"g{i}" for i in range(100)]
    df.loc[10, feats] = df.loc[3, feats].to_numpy()
    df.loc[10, "label"] = "b" if df.loc[3, "label"] == "a" else "a"
    df.loc[20, feats] = df.loc[4, feats].to_numpy(dtype=float).round(3)  # a rounded copy
    found = {f.code: f for f in check_duplicates(df, ROLES, profile=prof(df))}
    assert set(found) == {"exact_duplicates", "conflicting_labels", "near_duplicates"}
    assert found["exact_duplicates"].evidence["groups"] == [["S0003", "S0010"]]
    assert found["near_duplicates"].evidence["pairs"][0]["rows"] == [4, 20]


def test_technical_replicates_are_not_near_duplicates():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(100, 500))
    reps = base + rng.normal(scale=0.1, size=base.shape)  # noise at 10% of the biological SD
    df = pd.DataFrame(np.vstack([base, reps]), columns=[f"g{i}" for i in range(500)])
    df.insert(0, "label", np.resize(["a", "b"], 200))
    roles = Roles(label="label")
    assert check_duplicates(df, roles, profile=prof(df, roles)) == []


def test_near_duplicates_scale_to_many_samples():
    df = make_table(5000, 40, seed=4)
    feats = [f"g{i}" for i in range(40)]
    df.loc[4999, feats] = df.loc[17, feats].to_numpy() * 1.0001
    (f,) = check_duplicates(df, ROLES, profile=prof(df))
    assert f.code == "near_duplicates" and f.evidence["n_pairs"] == 1


# ---------------------------------------------------------------- outliers
def test_outlier_sample_is_found():
    df = make_table(200, 300)
    feats = [f"g{i}" for i in range(300)]
    df.loc[42, feats] = df.loc[42, feats] + 4.0 * np.sign(np.random.default_rng(5).normal(size=300))
    (f,) = check_outliers(df, ROLES, profile=prof(df))
    assert f.evidence["samples"] == ["S0042"]
    scores = outlier_scores(df, ROLES, profile=prof(df))
    assert scores.loc[42, "outlier"] and scores["outlier"].sum() == 1


@pytest.mark.parametrize("seed", range(4))
def test_clean_gaussian_data_has_no_outliers(seed):
    df = make_table(300, 1000 if seed % 2 else 30, seed=seed)
    assert check_outliers(df, ROLES, profile=prof(df)) == []


def test_class_structure_is_not_outliers():
    df = make_table(300, 100)
    feats = [f"g{i}" for i in range(100)]
    df.loc[df["label"] == "b", feats] += 3.0
    assert check_outliers(df, ROLES, profile=prof(df)) == []


# ---------------------------------------------------------------- design
def test_high_dim_small_n_is_a_note_with_numbers():
    (f,) = check_high_dim_small_n(make_table(60, 10), ROLES, n_features=2000)
    assert f.severity == "info" and f.evidence["ratio"] == pytest.approx(2000 / 60)
    assert check_high_dim_small_n(make_table(60, 10), ROLES, n_features=50) == []


def test_too_few_samples_per_class():
    (f,) = check_too_few_samples(make_table(60, 5), ROLES)
    assert f.severity == "info" and f.evidence["smallest"] == 30
    (g,) = check_too_few_samples(make_table(16, 5), ROLES)
    assert g.severity == "warning"
    assert check_too_few_samples(make_table(240, 5), ROLES) == []


def test_group_leakage_with_and_without_group_column():
    df = make_table(120, 5)
    df["patient"] = [f"P{i // 3}" for i in range(120)]
    df["label"] = [("a", "b")[i // 3 % 2] for i in range(120)]  # one label per patient
    (f,) = check_group_leakage(df, ROLES)
    assert f.severity == "warning" and f.columns == ("patient",)
    roles = Roles(id="sample_id", label="label", group="patient")
    (g,) = check_group_leakage(df, roles)
    assert g.severity == "info" and g.evidence["n_groups"] == 40
    clean = make_table(120, 5)
    assert check_group_leakage(clean, ROLES, design=Design()) == []
    (h,) = check_group_leakage(clean, ROLES, design=Design(replicate_kind="repeated_individual"))
    assert h.severity == "warning" and "no group column" in h.message


def test_a_shifted_subgroup_is_a_note_not_outliers():
    df = make_table(300, 200, seed=3)
    feats = [f"g{i}" for i in range(200)]
    rng = np.random.default_rng(9)
    shift = 3.0 * rng.normal(size=200)
    rows = np.arange(10, 22)  # 12 samples from, say, one bad plate
    df.loc[rows, feats] = df.loc[rows, feats].to_numpy(dtype=float) + shift
    found = check_outliers(df, ROLES, profile=prof(df))
    assert [f.severity for f in found] == ["info"]


def test_two_similar_bad_samples_are_still_outliers():
    df = make_table(300, 200, seed=4)
    feats = [f"g{i}" for i in range(200)]
    shift = 4.0 * np.sign(np.random.default_rng(2).normal(size=200))
    df.loc[[5, 6], feats] = df.loc[[5, 6], feats].to_numpy(dtype=float) + shift
    (f,) = check_outliers(df, ROLES, profile=prof(df))
    assert f.severity == "warning" and sorted(f.evidence["samples"]) == ["S0005", "S0006"]


def test_free_text_is_identifying_only_with_personal_details():
    df = make_table(40, 5)
    df["title"] = [f"Breast tumour sample {i}, patient {i // 2}, ER+ grade 2 primary" for i in range(40)]
    assert check_identifying_columns(df, ROLES) == []
    df["entry"] = [
        f"Seen by Dr. Jones on {1 + i % 28}/03/2021, sample {i} taken after consent" for i in range(40)
    ]
    (f,) = check_identifying_columns(df, ROLES)
    assert f.columns == ("entry",)


def test_duplicates_within_one_group_are_a_warning():
    df = make_table(100, 30)
    feats = [f"g{i}" for i in range(30)]
    df["patient"] = [f"P{i}" for i in range(100)]
    df.loc[9, feats] = df.loc[8, feats].to_numpy()
    df.loc[9, ["patient", "label"]] = df.loc[8, ["patient", "label"]].to_numpy()
    roles = Roles(id="sample_id", label="label", group="patient")
    (f,) = check_duplicates(df, roles, profile=prof(df, roles))
    assert f.severity == "warning" and f.evidence["within_one_group"]
    (g,) = check_duplicates(df, ROLES, profile=prof(df))
    assert g.severity == "error"


@pytest.mark.parametrize(
    "case",
    ["empty", "one_row", "all_missing_feature", "no_features", "no_label", "odd_dtypes", "regression_nan"],
)
def test_odd_tables_do_not_crash(case):
    df = make_table(30, 6)
    roles = ROLES
    if case == "empty":
        df = df.iloc[:0]
    elif case == "one_row":
        df = df.iloc[:1]
    elif case == "all_missing_feature":
        df["g0"] = np.nan
    elif case == "no_features":
        df = df[["sample_id", "label"]]
    elif case == "no_label":
        roles = Roles(id="sample_id")
    elif case == "odd_dtypes":
        df["flag"] = [True, False] * 15
        df["count"] = pd.array([1, None] * 15, dtype="Int64")
        df["tissue"] = pd.Categorical(["liver", "lung", "liver"] * 10)
        df["when"] = pd.date_range("2021-01-01", periods=30)
        df["label"] = [0, 1] * 15
    elif case == "regression_nan":
        df["label"] = np.r_[np.random.default_rng(0).normal(size=29), np.nan]
        roles = Roles(id="sample_id", label="label", task="regression")
    findings = run_checks(df, roles, design=Design(replicate_kind="technical"))
    json.dumps([f.to_dict() for f in findings])


def test_duplicate_column_names_are_refused():
    df = make_table(20, 3)
    df.columns = ["sample_id", "label", "g0", "g0", "g2"]
    with pytest.raises(ColumnError, match="duplicate column names"):
        run_checks(df, ROLES)


def _counts(n: int, p: int, seed: int = 0) -> pd.DataFrame:
    """Raw RNA-seq-like counts: skewed gene means, library sizes varying 4-fold."""
    rng = np.random.default_rng(seed)
    lam = np.outer(rng.uniform(0.5, 2.0, n), rng.lognormal(3, 2, p)) * rng.gamma(5.0, 0.2, (n, p))
    df = pd.DataFrame(rng.poisson(lam), columns=[f"ENSG{i:05d}" for i in range(p)])
    df.insert(0, "sample_id", [f"S{i:04d}" for i in range(n)])
    df.insert(1, "label", rng.permutation(np.resize(["a", "b"], n)))
    return df


def test_raw_counts_are_compared_on_the_log_scale():
    df = _counts(600, 300)
    assert [f for f in run_checks(df, ROLES) if f.severity != "info"] == []
    genes = df.columns[2:]
    df.loc[8, genes] = (df.loc[8, genes].to_numpy(dtype=float) * 0.01).round()  # a failed library
    (f,) = check_outliers(df, ROLES, profile=prof(df))
    assert f.evidence["samples"] == ["S0008"]
