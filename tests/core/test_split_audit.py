"""audit_split (planted problems found, near misses not) and split_summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core.errors import SplitError
from deeprules_core.findings import CODES
from deeprules_core.split import Split, audit_split, make_split, split_summary
from deeprules_core.study import Design, Roles

ROLES = Roles(id="sample_id", label="label", group="patient", batch=("plate",))


def table(
    n_groups: int = 60, per_group: int = 2, n_features: int = 30, seed: int = 0, noise: float = 1.0
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.array(["tumour", "normal"] * (n_groups // 2)))
    df = pd.DataFrame(
        {
            "sample_id": [f"S{i}" for i in range(n_groups * per_group)],
            "patient": np.repeat([f"P{i}" for i in range(n_groups)], per_group),
            "label": np.repeat(y, per_group),
            "plate": rng.choice(["p1", "p2", "p3"], n_groups * per_group),
        }
    )
    # gene-like features: a shared mean profile plus independent noise per sample
    profile = rng.normal(8, 3, size=n_features)
    X = profile + rng.normal(0, noise, size=(len(df), n_features))
    return pd.concat([df, pd.DataFrame(X, columns=[f"gene{j}" for j in range(n_features)])], axis=1)


def codes(findings) -> list[str]:
    assert all(f.code in CODES for f in findings)
    return [f.code for f in findings]


def test_clean_group_split_has_no_findings():
    df = table()
    split = make_split(df, ROLES, design=Design(replicate_kind="biological"))
    assert audit_split(df, ROLES, split) == []


def test_clean_independent_rows_have_no_findings_even_with_a_strong_shared_profile():
    # near miss for near-duplicates: every sample correlates above the 0.999 threshold with
    # every other on raw values (the shared gene profile), but not after standardising
    df = table(per_group=1, noise=0.05).drop(columns="patient")
    roles = Roles(id="sample_id", label="label", batch=("plate",))
    raw = df.filter(like="gene").to_numpy()
    assert np.corrcoef(raw[:20]).min() > 0.999
    assert audit_split(df, roles, make_split(df, roles)) == []


def test_group_on_two_sides_is_an_error_naming_the_groups():
    df = table()
    roles_rowwise = Roles(id="sample_id", label="label", batch=("plate",))
    split = make_split(df, roles_rowwise, strategy="stratified", seed=0)
    findings = audit_split(df, ROLES, split)
    overlap = [f for f in findings if f.code == "split_group_overlap"]
    assert len(overlap) == 1 and overlap[0].severity == "error"
    assert overlap[0].evidence["n_groups"] > 0
    assert overlap[0].evidence["groups"][0] in overlap[0].message


def test_exact_duplicate_across_sides_is_an_error():
    df = table()
    split = make_split(df, ROLES, seed=1)
    train_row, test_row = split.indices("train")[0], split.indices("test")[0]
    genes = [c for c in df.columns if c.startswith("gene")]
    df.loc[test_row, genes] = df.loc[train_row, genes].to_numpy()
    findings = [f for f in audit_split(df, ROLES, split) if f.code == "split_duplicate_overlap"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity == "error" and f.evidence["kind"] == "exact"
    assert sorted(f.evidence["example_rows"][0]) == sorted([train_row + 1, test_row + 1])


def test_exact_duplicates_within_one_side_are_not_reported():
    df = table()
    split = make_split(df, ROLES, seed=1)
    a, b = split.indices("train")[:2]
    genes = [c for c in df.columns if c.startswith("gene")]
    df.loc[b, genes] = df.loc[a, genes].to_numpy()
    assert audit_split(df, ROLES, split) == []


def test_near_duplicate_across_sides_is_a_warning_and_a_near_miss_is_not():
    df = table()
    split = make_split(df, ROLES, seed=1)
    train_row, tune_row = split.indices("train")[3], split.indices("tune")[3]
    genes = [c for c in df.columns if c.startswith("gene")]
    rng = np.random.default_rng(5)
    base = df.loc[train_row, genes].to_numpy(dtype=float)
    planted = df.copy()
    planted.loc[tune_row, genes] = base + rng.normal(0, 0.01, len(genes))  # a technical replicate
    found = [f for f in audit_split(planted, ROLES, split) if f.code == "split_duplicate_overlap"]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].evidence["kind"] == "near"
    assert found[0].evidence["example_pairs"][0]["rows"] == [tune_row + 1, train_row + 1]
    # near miss: a related but distinct sample (correlation about 0.9) is not a duplicate
    near_miss = df.copy()
    near_miss.loc[tune_row, genes] = base + rng.normal(0, 0.5, len(genes))
    assert audit_split(near_miss, ROLES, split) == []


def test_identical_rows_of_few_valued_features_are_only_a_note():
    rng = np.random.default_rng(0)
    n = 300
    df = pd.DataFrame(
        {"y": rng.choice(["a", "b"], n), "snp1": rng.integers(0, 3, n), "snp2": rng.integers(0, 3, n)}
    )
    roles = Roles(label="y")
    findings = audit_split(df, roles, make_split(df, roles))
    assert [f.severity for f in findings] == ["info"]


def test_repeated_units_without_a_group_column_warn_group_leakage():
    df = table(per_group=1)
    roles = Roles(id="sample_id", label="label")
    split = make_split(df, roles, design=Design(replicate_kind="repeated_individual"))
    findings = audit_split(df, roles, split)
    assert codes(findings) == ["group_leakage"] and findings[0].severity == "warning"
    # near miss: the same split without repeated units in the design
    split = make_split(df, roles, design=Design(replicate_kind="biological"))
    assert audit_split(df, roles, split) == []


def test_split_for_another_table_is_refused():
    df = table()
    split = make_split(df, ROLES)
    with pytest.raises(SplitError, match="made for another table"):
        audit_split(df.iloc[:-1], ROLES, split)


def test_summary_gives_effective_sample_size_and_composition():
    df = table(60, 3)
    split = make_split(df, ROLES, seed=0)
    summary = split_summary(df, ROLES, split)
    assert summary["unit"] == "patient" and summary["sha256"] == split.sha256
    test = summary["sides"]["test"]
    assert test["rows"] == 36 and test["groups"] == 12
    assert test["classes"] == {"normal": 18, "tumour": 18}
    assert sum(test["batches"]["plate"].values()) == 36
    assert sum(s["rows"] for s in summary["sides"].values()) == len(df)


def test_summary_for_regression_describes_the_label():
    df = table(60, 1)
    df["age"] = np.linspace(20, 80, len(df))
    roles = Roles(label="age", task="regression", batch=("plate",))
    summary = split_summary(df, roles, make_split(df, roles))
    assert 20 <= summary["sides"]["test"]["label"]["median"] <= 80
    assert summary["unit"] == "row"


def test_audit_of_wide_data_stays_bounded():
    rng = np.random.default_rng(0)
    n, p = 400, 1000
    df = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{j}" for j in range(p)])
    df["y"] = rng.choice(["a", "b"], n)
    roles = Roles(label="y")
    split = make_split(df, roles)
    assert audit_split(df, roles, split) == []
    # near miss: equal on the first 200 features (the candidate key), different after them
    row_t, row_s = split.indices("test")[1], split.indices("train")[1]
    df.iloc[row_t, :200] = df.iloc[row_s, :200].to_numpy()
    assert audit_split(df, roles, split) == []
    row_t, row_s = split.indices("test")[0], split.indices("train")[0]
    df.iloc[row_t, :p] = df.iloc[row_s, :p].to_numpy() * 1.0000001 + 1e-9
    found = audit_split(df, roles, split)
    assert [f.code for f in found] == ["split_duplicate_overlap"]
    assert found[0].evidence["features_used"] == 200


def test_split_from_a_file_without_params_audits_cleanly():
    df = table()
    split = make_split(df, ROLES)
    again = Split.from_csv(split.to_csv())
    assert audit_split(df, ROLES, again) == []


def test_a_test_side_of_a_few_individuals_is_said_to_be_too_small():
    # 18 individuals with 10 rows each (a sleep-deprivation study): a 20% test side holds
    # about 4 individuals, whatever its 40 rows suggest
    df = table(n_groups=18, per_group=10)
    findings = [
        f for f in audit_split(df, ROLES, make_split(df, ROLES, seed=0)) if f.code == "too_few_samples"
    ]
    assert len(findings) == 1 and findings[0].severity == "warning"
    sides = findings[0].evidence["sides"]
    assert "test" in sides and sides["test"]["units"] < 10 and sides["test"]["rows"] >= 30
    assert "individuals" in findings[0].message
    big = table(n_groups=120, per_group=2)
    assert "too_few_samples" not in codes(audit_split(big, ROLES, make_split(big, ROLES, seed=0)))
