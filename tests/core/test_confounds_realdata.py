"""label_leakage on a multi-class label (first seen on palmerpenguins): one feature that
sets one class apart is biology; a feature that determines every class is a leak."""

from __future__ import annotations

import numpy as np
import pandas as pd

from deeprules_core.confounds import run_confound_checks
from deeprules_core.study import Roles

ROLES = Roles(label="species")


def three_species(n_per: int = 60, seed: int = 0) -> pd.DataFrame:
    """Morphology of three species: flipper length sets 'gentoo' apart (AUROC ~1 against
    the rest), 'adelie' and 'chinstrap' overlap on every feature."""
    rng = np.random.default_rng(seed)
    species = np.repeat(["adelie", "chinstrap", "gentoo"], n_per)
    flipper = {"adelie": 190.0, "chinstrap": 196.0, "gentoo": 217.0}
    df = pd.DataFrame(
        {
            "species": species,
            "flipper_mm": [rng.normal(flipper[s], 5) for s in species],
            "bill_length_mm": rng.normal(44, 5, 3 * n_per),
            "bill_depth_mm": rng.normal(17, 2, 3 * n_per),
            "body_mass_g": rng.normal(4200, 600, 3 * n_per),
        }
    )
    return df


def leaks(df: pd.DataFrame, roles: Roles = ROLES):
    return [f for f in run_confound_checks(df, roles) if f.code == "label_leakage"]


def test_a_feature_that_sets_one_class_apart_is_not_a_leak():
    df = three_species()
    gentoo = df["species"] == "gentoo"
    x = df["flipper_mm"]
    assert x[gentoo].min() > x[~gentoo].quantile(0.98)  # one class is (almost) separable
    assert leaks(df) == []


def test_a_feature_that_determines_every_class_is_a_leak_naming_them_in_order():
    df = three_species(seed=1)
    code = df["species"].map({"chinstrap": 0.0, "gentoo": 1.0, "adelie": 2.0})  # not alphabetical
    df["species_code"] = code + np.random.default_rng(1).normal(scale=0.05, size=len(df))
    (f,) = leaks(df)
    assert f.severity == "error" and f.columns == ("species_code",)
    (r,) = f.evidence["features"]
    assert r["separates"] == ["chinstrap", "gentoo", "adelie"]
    assert r["auroc"] >= 0.99 and r["cv_balanced_accuracy_all_classes"] >= 0.95
    assert "separates all 3 classes, from low to high 'chinstrap' < 'gentoo' < 'adelie'" in f.message


def test_a_copy_of_the_label_with_an_error_is_still_a_leak():
    df = three_species(n_per=120, seed=2)
    code = df["species"].map({"adelie": 0.0, "chinstrap": 1.0, "gentoo": 2.0}).to_numpy()
    code[130] = 2.0  # one wrong entry: chinstrap vs gentoo AUROC 0.992
    df["diagnosis_code"] = code + np.random.default_rng(2).normal(scale=0.05, size=len(df))
    assert [f.columns for f in leaks(df)] == [("diagnosis_code",)]


def test_a_missing_value_token_is_no_class_for_the_leak_check():
    df = three_species(seed=3)
    df["species_code"] = df["species"].map({"adelie": 0.0, "chinstrap": 1.0, "gentoo": 2.0})
    df.loc[[5, 6], "species"] = "."  # no label typed as text
    (f,) = leaks(df)
    assert "'.'" not in f.message and f.evidence["features"][0]["separates"] == [
        "adelie",
        "chinstrap",
        "gentoo",
    ]


def test_a_label_typed_as_a_dot_is_no_class_for_the_metadata_model_and_the_baselines():
    import warnings

    from deeprules_core.confounds import metadata_only_model
    from deeprules_core.modeling._harness import TaskArrays
    from deeprules_core.split import make_split

    df = three_species()
    rng = np.random.default_rng(1)
    df["island"] = rng.choice(["biscoe", "dream", "torgersen"], len(df))
    df.loc[5, "species"] = "."  # a sex/species left unknown in the field sheet
    roles = Roles(label="species", covariates=("island",))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "least populated class has 1 member" warning
        out = metadata_only_model(df, roles, seed=0)
    assert out is None or out["n"] == len(df) - 1
    split = make_split(df.assign(species=df["species"].replace(".", np.nan)), roles, seed=0)
    t = TaskArrays(df, roles, split)
    assert t.classes == ["adelie", "chinstrap", "gentoo"]
