"""Known answers for problems first seen on real data (palmerpenguins, raw table).

Each case is rebuilt as a small synthetic table: the planted problem must be found,
the near miss must not, and clean data stays quiet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core.checks import (
    FeatureProfile,
    check_class_imbalance,
    check_duplicates,
    check_group_leakage,
    check_identifying_columns,
    check_missing_values,
    check_outliers,
    check_too_few_samples,
    run_checks,
)
from deeprules_core.checks._identifying import counter_columns
from deeprules_core.checks._refs import sample_refs
from deeprules_core.study import Design, Roles

SPECIES = {"Adelie": (60, 190.0), "Gentoo": (50, 217.0), "Chinstrap": (30, 196.0)}
FEATURES = ["Culmen Length (mm)", "Culmen Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", "Delta 15 N"]


def penguins(seed: int = 0) -> pd.DataFrame:
    """A raw-penguins-like table: species in blocks, 'Sample Number' counting within each
    species, nest ids reused across species, dates and notes as text."""
    rng = np.random.default_rng(seed)
    parts = []
    for sp, (n, flipper) in SPECIES.items():
        offset = 100 if sp == "Chinstrap" else 0  # Adelie and Gentoo reuse the same nest ids
        parts.append(
            pd.DataFrame(
                {
                    "studyName": rng.choice(["PAL0708", "PAL0809", "PAL0910"], n),
                    "Sample Number": np.arange(1, n + 1),
                    "Species": sp,
                    "Island": rng.choice(["Biscoe", "Dream"], n),
                    "Individual ID": [nest_id(i % (n * 3 // 5) + offset) for i in range(n)],
                    "Date Egg": [f"11/{1 + i % 28}/0{7 + i % 3}" for i in range(n)],
                    "Culmen Length (mm)": rng.normal(44, 5, n).round(1),
                    "Culmen Depth (mm)": rng.normal(17, 2, n).round(1),
                    "Flipper Length (mm)": rng.normal(flipper, 5, n).round(),
                    "Body Mass (g)": (rng.normal(4200, 700, n) / 25).round() * 25,
                    "Delta 15 N": rng.normal(8.7, 0.5, n),
                    "Sex": rng.choice(["MALE", "FEMALE"], n).astype(object),
                    "Comments": None,
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    df.loc[[0, 20, 70], "Comments"] = [
        "Not enough blood for isotopes.",
        "Adult not sampled.",
        "Nest never observed.",
    ]
    return df


def nest_id(k: int) -> str:
    return f"N{1 + k // 2}A{1 + k % 2}"


def prof(df: pd.DataFrame, roles: Roles) -> FeatureProfile:
    return FeatureProfile.from_frame(df, roles)


def severe(findings) -> list:
    return [f for f in findings if f.severity != "info"]


def clean(n: int = 120, p: int = 6, *, seed: int = 0, id_col: str | None = "sample_id") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"g{i}" for i in range(p)])
    df.insert(0, "label", rng.permutation(np.resize(["a", "b", "c"], n)))
    if id_col:
        df.insert(0, id_col, [f"S{i:03d}" for i in range(n)])
    return df


# ---------------------------------------------------------------- P4: missing is not equal to missing
def test_rows_missing_every_feature_are_not_copies_of_each_other():
    df = clean(60)
    feats = [f"g{i}" for i in range(6)]
    roles = Roles(id="sample_id", label="label")
    df.loc[[3, 40], feats] = np.nan  # "Adult not sampled": nothing measured
    df.loc[[3, 40], "label"] = ["a", "b"]
    found = check_duplicates(df, roles, profile=prof(df, roles))
    assert found == []
    # the empty rows are still reported, as samples missing most of their features
    (miss,) = [f for f in check_missing_values(df, roles, profile=prof(df, roles)) if not f.columns]
    assert list(miss.evidence["rows"]) == [3, 40]
    # too few measured values in common: not copies either
    df.loc[[7, 8], feats] = [[1.5, 2.5] + [np.nan] * 4] * 2
    df.loc[[7, 8], "label"] = ["a", "b"]
    assert check_duplicates(df, roles, profile=prof(df, roles)) == []


def test_real_copies_are_still_found_with_and_without_missing_values():
    df = clean(60)
    feats = [f"g{i}" for i in range(6)]
    roles = Roles(id="sample_id", label="label")
    df.loc[20, feats] = df.loc[5, feats].to_numpy()
    df.loc[[5, 20], "label"] = ["a", "b"]
    df.loc[[30, 50], feats] = [[0.1, 0.2, 0.3, 0.4, 0.5, np.nan]] * 2  # same values, missing in the same one
    found = {f.code: f for f in check_duplicates(df, roles, profile=prof(df, roles))}
    assert set(found) == {"exact_duplicates", "conflicting_labels"}
    assert found["exact_duplicates"].evidence["rows"] == [[5, 20], [30, 50]]
    assert found["conflicting_labels"].evidence["groups"][0]["rows"] == [5, 20]


# ---------------------------------------------------------------- P5: traceable sample names
def test_samples_are_named_by_spreadsheet_row_when_the_id_repeats():
    df = penguins()
    roles = Roles(id="Sample Number", label="Species")
    # position 3 holds Sample Number 4; a spreadsheet shows it on row 5 (the header is row 1)
    assert sample_refs(df, roles, [3]) == ["row 5 (Sample Number 4)"]
    feats = FEATURES + ["Delta 15 N"]
    df.loc[[3, 100], feats[:-1]] = np.nan
    msg = next(f for f in check_missing_values(df, roles, profile=prof(df, roles)) if not f.columns).message
    assert "row 5 (Sample Number 4)" in msg and "row 102 (Sample Number 41)" in msg
    assert "header being row 1" in msg


def test_a_unique_id_names_the_sample_and_no_id_gives_rows():
    df = clean(200, 50)
    feats = [f"g{i}" for i in range(50)]
    df.loc[42, feats] = df.loc[42, feats] + 4.0 * np.sign(np.random.default_rng(5).normal(size=50))
    roles = Roles(id="sample_id", label="label")
    (f,) = check_outliers(df, roles, profile=prof(df, roles))
    assert f.evidence["samples"] == ["S042"] and "row" not in f.message.split("Outliers")[0]
    bare = Roles(label="label")
    (g,) = check_outliers(df, bare, profile=prof(df, bare))
    assert g.evidence["samples"] == ["row 44"] and g.evidence["rows"] == [42]
    assert "row 44" in g.message and "header being row 1" in g.message


def test_exact_copies_under_a_repeated_id_are_named_by_row():
    df = clean(60, id_col="plate_well")
    df["plate_well"] = [f"A{i % 12}" for i in range(60)]  # repeats on every plate
    feats = [f"g{i}" for i in range(6)]
    df.loc[14, feats] = df.loc[2, feats].to_numpy()
    roles = Roles(id="plate_well", label="label")
    (f, *_) = check_duplicates(df, roles, profile=prof(df, roles))
    assert f.evidence["groups"] == [["row 4 (plate_well A2)", "row 16 (plate_well A2)"]]
    assert "row 4 (plate_well A2)" in f.message


# ---------------------------------------------------------------- P6: count and percentage agree
def test_missing_count_and_percentage_count_the_same_cells():
    df = clean(344)
    df["Sex"] = np.resize(["MALE", "FEMALE"], 344).astype(object)
    df.loc[:9, "Sex"] = np.nan
    df.loc[10, "Sex"] = "."
    roles = Roles(id="sample_id", label="label", covariates=("Sex",))
    (f,) = [f for f in check_missing_values(df, roles, profile=prof(df, roles)) if f.columns == ("Sex",)]
    assert f.evidence["n_missing"] == 11 and f.evidence["n_empty"] == 10
    assert f.evidence["fraction"] == pytest.approx(11 / 344)
    assert "11 missing value(s) (3.2% of rows): 10 empty cell(s) and 1 typed as text ('.' x1)" in f.message


# ---------------------------------------------------------------- P7: a missing-value token is no class
def test_a_label_typed_as_a_dot_is_no_class():
    df = clean(120)
    df["label"] = ["FEMALE"] * 58 + ["MALE"] * 58 + [".", np.nan, np.nan, "NA"]
    roles = Roles(id="sample_id", label="label")
    assert check_class_imbalance(df, roles) == []  # was: "'.' has 1 samples against 58"
    (f,) = check_too_few_samples(df, roles)
    assert f.evidence["counts"] == {"FEMALE": 58, "MALE": 58} and f.evidence["smallest"] == 58
    assert "4 row(s) have no label (empty, or typed as '.', 'NA')" in f.message
    assert f.severity == "info"


def test_real_imbalance_is_found_next_to_unlabelled_rows():
    df = clean(120)
    df["label"] = ["a"] * 100 + ["b"] * 15 + ["."] * 5
    roles = Roles(id="sample_id", label="label")
    (f,) = check_class_imbalance(df, roles)
    assert f.severity == "warning" and f.evidence["counts"] == {"a": 100, "b": 15}
    assert f.evidence["n_unlabelled"] == 5 and "5 row(s) have no label" in f.message


def test_identical_rows_labelled_and_unlabelled_do_not_conflict():
    df = clean(60)
    feats = [f"g{i}" for i in range(6)]
    df.loc[9, feats] = df.loc[4, feats].to_numpy()
    df.loc[4, "label"], df.loc[9, "label"] = "a", "."
    roles = Roles(id="sample_id", label="label")
    assert {f.code for f in check_duplicates(df, roles, profile=prof(df, roles))} == {"exact_duplicates"}


# ---------------------------------------------------------------- Miss 1: groups with several labels
def test_reused_individual_ids_are_a_warning():
    df = penguins()
    roles = Roles(label="Species", group="Individual ID")
    (f,) = check_group_leakage(df, roles)
    n_groups = df["Individual ID"].nunique()
    mixed = int((df.groupby("Individual ID")["Species"].nunique() > 1).sum())
    assert f.severity == "warning" and f.evidence["n_groups_with_several_labels"] == mixed > 0
    assert f"{mixed} of {n_groups} groups in 'Individual ID' hold more than one label value" in f.message
    assert "may not identify individuals (ids reused across sites or years?)" in f.message
    assert f.evidence["groups_with_several_labels"]["N1A1"] == ["Adelie", "Gentoo"]
    # a time column does not hide it, but the message says when it is expected
    (g,) = check_group_leakage(df, Roles(label="Species", group="Individual ID", time="Date Egg"))
    assert g.severity == "warning" and "A time column is set" in g.message


def test_one_label_per_individual_or_a_paired_design_is_a_note():
    df = clean(120)
    df["patient"] = [f"P{i // 3}" for i in range(120)]
    df["label"] = [("a", "b")[i // 3 % 2] for i in range(120)]
    roles = Roles(id="sample_id", label="label", group="patient")
    (f,) = check_group_leakage(df, roles)
    assert f.severity == "info" and f.evidence["n_groups_with_several_labels"] == 0
    assert "label value" not in f.message
    df["label"] = np.resize(["tumour", "normal"], 120)  # every patient gives both tissues
    df["patient"] = [f"P{i // 2}" for i in range(120)]
    (g,) = check_group_leakage(df, roles)
    assert g.severity == "info" and "paired design" in g.message


# ---------------------------------------------------------------- Miss 2/3: counters, dates and notes
def test_a_restarting_sample_counter_used_as_a_feature_is_named():
    df = penguins()
    roles = Roles(label="Species", group="Individual ID")
    found = [f for f in check_identifying_columns(df, roles) if f.evidence.get("kind") == "counter"]
    (f,) = found
    assert f.columns == ("Sample Number",) and f.severity == "warning"
    assert f.evidence["reason"] == "row_counter" and f.evidence["runs"] == [[1, 60], [1, 50], [1, 30]]
    assert "looks like a row counter or an id" in f.message and "Exclude it from the features" in f.message
    # rows in any order: still a counter restarting per species
    shuffled = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert counter_columns(prof(shuffled, roles))["Sample Number"]["reason"] == "restarting_counter"
    # as the id it is not a feature, and is not reported as one
    as_id = Roles(id="Sample Number", label="Species")
    assert not [f for f in check_identifying_columns(df, as_id) if f.evidence.get("kind") == "counter"]


def test_a_row_number_column_is_named_in_any_row_order():
    df = clean(150)
    df["Unnamed: 0"] = np.random.default_rng(2).permutation(150) + 1001
    roles = Roles(id="sample_id", label="label")
    assert counter_columns(prof(df, roles)) == {"Unnamed: 0": counter_columns(prof(df, roles))["Unnamed: 0"]}
    assert counter_columns(prof(df, roles))["Unnamed: 0"]["reason"] == "sample_number"


def test_whole_number_measurements_are_not_counters():
    rng = np.random.default_rng(3)
    n = 180
    df = clean(n)
    df["body_mass_g"] = (rng.normal(4200, 700, n) / 25).round() * 25  # ties, wide range
    df["flipper_mm"] = rng.normal(200, 14, n).round()
    df["Days"] = np.tile(np.arange(10), n // 10)  # a time course: 0..9 per subject
    df["day_of_study"] = np.tile(np.arange(1, 31), n // 30)  # 1..30 for 6 subjects
    df["lesions"] = rng.poisson(1.5, n)
    df["reads"] = rng.poisson(5000, n)  # nearly all distinct, but a measurement
    roles = Roles(id="sample_id", label="label")
    assert counter_columns(prof(df, roles)) == {}
    # a table of ranks (a rank transform of every feature) is not a table of ids
    ranks = pd.DataFrame({f"r{i}": rng.permutation(n) + 1 for i in range(20)})
    ranked = pd.concat([df[["sample_id", "label"]], ranks], axis=1)
    assert counter_columns(prof(ranked, roles)) == {}


def test_dates_and_notes_are_notes_not_alarms():
    df = penguins()
    roles = Roles(label="Species", id="Sample Number")
    found = {f.columns[0]: f for f in check_identifying_columns(df, roles)}
    assert set(found) == {"Date Egg", "Comments"}
    assert all(f.severity == "info" for f in found.values())
    notes = found["Comments"].message
    assert "free-text notes" in notes and "can contain names or other identifying details" in notes
    assert "check before sharing" in notes and "may identify people" not in notes
    assert "holds dates" in found["Date Egg"].message and "not features" in found["Date Egg"].message
    # a date with a role was chosen on purpose: nothing to say
    timed = Roles(label="Species", id="Sample Number", time="Date Egg")
    assert {f.columns[0] for f in check_identifying_columns(df, timed)} == {"Comments"}
    # notes with personal details are still a warning
    df["Comments"] = [f"Seen by Dr. Jones on {1 + i % 28}/03/2021, sample {i} taken" for i in range(len(df))]
    (w,) = [f for f in check_identifying_columns(df, roles) if f.columns == ("Comments",)]
    assert w.severity == "warning"


# ---------------------------------------------------------------- the whole table
def test_penguin_like_table_gives_the_expected_findings():
    df = penguins()
    feats = [c for c in FEATURES]
    df.loc[[3, 100], feats] = np.nan  # two rows with nothing measured, different species
    df.loc[5, "Sex"] = "."
    roles = Roles(label="Species", group="Individual ID", batch=("Island",), covariates=("Sex",))
    found = run_checks(df, roles, design=Design())
    by_code = {}
    for f in found:
        by_code.setdefault(f.code, []).append(f)
    assert "exact_duplicates" not in by_code and "conflicting_labels" not in by_code
    assert "class_imbalance" not in by_code or by_code["class_imbalance"][0].severity == "info"
    assert [f.columns for f in by_code["identifying_column"] if f.severity == "warning"] == [
        ("Sample Number",)
    ]
    assert by_code["group_leakage"][0].severity == "warning"
    clean_roles = Roles(id="sample_id", label="label")
    assert severe(run_checks(clean(300, 40, seed=4), clean_roles, design=Design())) == []
