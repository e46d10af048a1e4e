"""The over-interpretation guard: batch proxies among the top features are flagged,
biology is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core.interpret import NOT_CAUSAL_CAVEAT, attribution_guard, benjamini_hochberg
from deeprules_core.study import Roles


def study_table(n: int = 240, *, confounded: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Label, 4 plates, age, sex; ``confounded`` = how far plate p3/p4 holds the cases."""
    rng = np.random.default_rng(seed)
    plate = np.repeat(["p1", "p2", "p3", "p4"], n // 4)
    y = rng.integers(0, 2, n)
    if confounded:
        late = np.isin(plate, ["p3", "p4"])
        flip = rng.random(n) < confounded
        y = np.where(flip, late.astype(int), y)
    df = pd.DataFrame(
        {"plate": plate, "y": y, "age": rng.uniform(20, 80, n), "sex": rng.choice(["F", "M"], n)}
    )
    df["gene_a"] = 1.5 * df["y"] + rng.normal(size=n)
    df["gene_b"] = -1.2 * df["y"] + rng.normal(size=n)
    df["noise"] = rng.normal(size=n)
    return df


ROLES = Roles(label="y", batch=("plate",), covariates=("age", "sex"))


def test_clean_data_gives_no_finding():
    df = study_table()
    assert attribution_guard(df, ROLES, ["gene_a", "gene_b", "noise"]) == []


def test_planted_batch_proxy_is_flagged_and_biology_is_not():
    df = study_table(confounded=0.6, seed=1)
    rng = np.random.default_rng(5)
    df["plate_proxy"] = df["plate"].map({"p1": 0.0, "p2": 0.5, "p3": 2.0, "p4": 2.5}) + 0.5 * rng.normal(
        size=len(df)
    )
    findings = attribution_guard(df, ROLES, ["plate_proxy", "gene_a", "gene_b"])
    flagged = {f.columns for f in findings if f.severity == "warning"}
    assert flagged == {("plate_proxy", "plate")}
    f = next(f for f in findings if f.columns == ("plate_proxy", "plate"))
    assert f.code == "attribution_on_confounder" and f.tip == 9
    assert "may carry the batch variable, not the biology" in f.message
    assert f.evidence["effect"] > 0.5 and f.evidence["q"] < 1e-6 and f.evidence["rank"] == 1
    assert f.evidence["within_label_effect"] > 0.14
    # the genes are associated with the plate only through the label: at most a note
    assert all(f.severity == "info" for f in findings if f.columns[0].startswith("gene"))


def test_near_miss_weak_batch_shift_is_not_flagged():
    # a real but small plate shift (explains ~3% of the variance): significant, not large
    df = study_table(n=600, seed=2)
    rng = np.random.default_rng(3)
    df["slightly_shifted"] = df["plate"].map({"p1": 0.0, "p2": 0.2, "p3": 0.35, "p4": 0.4}) + rng.normal(
        size=600
    )
    assert attribution_guard(df, ROLES, ["slightly_shifted", "gene_a"]) == []


def test_continuous_covariate_proxy_and_categorical_covariate():
    df = study_table(seed=4)
    rng = np.random.default_rng(6)
    df["age_proxy"] = df["age"] / 10 + rng.normal(size=len(df))
    df["sex_proxy"] = (df["sex"] == "M") * 2.0 + rng.normal(size=len(df))
    findings = attribution_guard(df, ROLES, ["age_proxy", "sex_proxy", "gene_a"])
    cols = {f.columns: f for f in findings}
    assert set(cols) == {("age_proxy", "age"), ("sex_proxy", "sex")}
    assert cols[("age_proxy", "age")].evidence["test"] == "Spearman"
    assert cols[("age_proxy", "age")].evidence["effect"] > 0.5
    assert "covariate" in cols[("sex_proxy", "sex")].message
    assert all(f.severity == "warning" for f in findings)


def test_many_small_batches_do_not_inflate_the_effect():
    # 40 batches of 6 rows: raw eta² under the null is ~0.16; epsilon² corrects it
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"run": np.repeat([f"r{i}" for i in range(40)], 6), "y": rng.integers(0, 2, 240)})
    df["gene"] = df["y"] + rng.normal(size=240)
    assert attribution_guard(df, Roles(label="y", batch=("run",)), ["gene"]) == []


def test_inputs_that_cannot_be_tested_give_no_finding():
    df = study_table()
    assert attribution_guard(df, Roles(label="y"), ["gene_a"]) == []  # no batch, no covariate
    assert attribution_guard(df, ROLES, ["pos 3", "plate"]) == []  # not a feature column
    assert attribution_guard(df.head(5), ROLES, ["gene_a"]) == []  # too few rows
    table = pd.DataFrame({"feature": ["gene_a"], "importance": [1.0]})
    assert attribution_guard(df, ROLES, table) == []


def test_fully_confounded_batch_is_a_warning_for_every_top_feature():
    df = study_table(seed=8)
    df["y"] = np.isin(df["plate"], ["p3", "p4"]).astype(int)
    df["gene_a"] = 1.5 * df["y"] + np.random.default_rng(9).normal(size=len(df))
    findings = attribution_guard(df, ROLES, ["gene_a"])
    assert [f.severity for f in findings] == ["warning"]
    assert "cannot be told apart" in findings[0].message


def test_benjamini_hochberg_known_answer_and_caveat():
    q = benjamini_hochberg([0.01, 0.04, 0.03, np.nan, 0.5])
    assert (
        q[:3] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3]) and np.isnan(q[3]) and q[4] == pytest.approx(0.5)
    )
    assert "not causation" in NOT_CAUSAL_CAVEAT
