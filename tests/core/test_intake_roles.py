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


def test_label_named_like_a_cancer_outcome_is_suggested_on_a_geo_like_sheet():
    """A bladder-cancer series matrix: sample, batch as numbers, 'cancer' with three classes."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "sample": [f"GSM{71019 + i}.CEL" for i in range(57)],
            "batch": [1] * 11 + [2] * 18 + [3] * 4 + [4] * 5 + [5] * 19,
            "cancer": ["Cancer"] * 25 + ["Biopsy"] * 4 + ["Normal"] * 4 + ["Biopsy"] * 5 + ["Cancer"] * 19,
            **{f"{1000 + i}_at": rng.normal(size=57) for i in range(20)},
        }
    )
    r = suggest_roles(df).roles
    assert (r.id, r.label, r.task, r.batch) == ("sample", "cancer", "classification", ("batch",))
    assert len(r.feature_columns(df)) == 20


def test_sex_is_the_label_only_when_nothing_else_is_named_like_an_outcome():
    df = pd.DataFrame({"id": list("abcdef"), "sex": ["F", "M"] * 3, "x": np.arange(6.0)})
    assert suggest_roles(df).roles.label == "sex"
    df["disease_state"] = ["AD", "ctrl", "ctrl", "AD", "AD", "ctrl"]
    r = suggest_roles(df).roles
    assert r.label == "disease_state" and r.covariates == ("sex",)


def test_a_free_text_column_with_many_values_is_not_a_label():
    df = pd.DataFrame({"id": [f"s{i}" for i in range(40)], "status": [f"note {i}" for i in range(40)]})
    assert suggest_roles(df).roles.label is None


def _anndata_obs(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "obs_id": [f"AAAC{i:04d}-1" for i in range(n)],
            "n_genes": rng.integers(200, 2000, n),
            "n_counts": rng.random(n) * 5000,
            "percent_mito": rng.random(n) * 0.05,
            "S_score": rng.normal(size=n),
            "G2M_score": rng.normal(size=n),
            "phase": rng.choice(["G1", "S", "G2M"], n),
            "louvain": pd.Categorical(rng.choice([str(i) for i in range(8)], n)),
            "donor": rng.choice(["D1", "D2", "D3", "D4"], n),
            "disease": rng.choice(["healthy", "COVID-19"], n),
            **{f"GENE{i}": rng.poisson(1.0, n).astype(float) for i in range(10)},
        }
    )


def test_anndata_qc_columns_are_covariates_never_features_and_clusters_are_left_out():
    df = _anndata_obs()
    s = suggest_roles(df)
    r = s.roles
    qc = ("n_genes", "n_counts", "percent_mito", "S_score", "G2M_score", "phase")
    assert set(qc) <= set(r.covariates)
    assert r.feature_columns(df) == [f"GENE{i}" for i in range(10)]
    assert r.label == "disease" and r.group == "donor" and "louvain" not in r.metadata_columns
    assert "quality" in s.reasons["covariates"] and "louvain" in s.reasons["ignored"]
    numeric_clusters = df.assign(leiden=np.arange(len(df)) % 5)
    assert "leiden" not in suggest_roles(numeric_clusters).roles.feature_columns(numeric_clusters)


def test_cluster_ids_are_not_numbers_stored_as_text():
    from deeprules_core.checks import run_checks

    df = _anndata_obs()
    df["louvain"] = df["louvain"].astype(str)
    codes = {f.code for f in run_checks(df, suggest_roles(df).roles)}
    assert "numeric_stored_as_string" not in codes
    df["dose_mg"] = [f"{v}" for v in np.arange(len(df)) % 7]  # numbers typed as text are still found
    assert "numeric_stored_as_string" in {f.code for f in run_checks(df, suggest_roles(df).roles)}
