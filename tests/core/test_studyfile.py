"""The YAML study file: the minimal form of DESIGN.md is valid; mistakes are named."""

from __future__ import annotations

import pytest

from deeprules_core.studyfile import StudyFileError, load_study_file

MINIMAL = """\
data: table.csv
roles: {id: sample_id, label: label, group: patient_id, batch: [plate], covariates: [age, sex]}
split: {strategy: group, test_fraction: 0.2, tune_fraction: 0.2, seed: 0}
models: [dummy, logistic_regression, random_forest, mlp]
budget: 20
"""


def test_minimal_design_form_is_valid(tmp_path):
    (tmp_path / "study.yaml").write_text(MINIMAL)
    sf = load_study_file(tmp_path / "study.yaml")
    assert sf.data == (tmp_path / "table.csv").resolve()
    assert sf.roles.batch == ("plate",) and sf.roles.covariates == ("age", "sex")
    assert sf.baseline_models == ("dummy", "logistic_regression", "random_forest")
    assert sf.deep_models == ("mlp",)
    assert sf.budget == 20 and sf.split["strategy"] == "group"


def test_round_trip_through_yaml(tmp_path):
    (tmp_path / "study.yaml").write_text(MINIMAL)
    sf = load_study_file(tmp_path / "study.yaml")
    (tmp_path / "again.yaml").write_text(sf.to_yaml(data_relative_to=tmp_path))
    again = load_study_file(tmp_path / "again.yaml")
    assert again == sf


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("roles: {label: y}", "'data' is missing"),
        ("data: t.csv\nroles: {id: x}", "roles need a label"),
        ("data: t.csv\nroles: {label: y}\nmodels: [transformer]", r"'models\[0\]' must be one of 'dummy'"),
        ("data: t.csv\nroles: {label: y}\nbudget: 0", "'budget' must be greater than or equal to 1; got 0"),
        (
            "data: t.csv\nroles: {label: y}\nsplit: {strategy: group, folds: 3}",
            "'split.folds' is not a known key",
        ),
        ("data: t.csv\nroles: {label: y, colour: z}", "'roles.colour' is not a known key"),
        ("data: t.csv\nroles: {label: y}\nbugdet: 3", "did you mean 'budget'"),
        ("data: [unclosed", "not valid YAML"),
    ],
)
def test_mistakes_are_named(tmp_path, text, message):
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(StudyFileError, match=message):
        load_study_file(tmp_path / "s.yaml")


def test_missing_file(tmp_path):
    with pytest.raises(StudyFileError, match="no study file"):
        load_study_file(tmp_path / "nope.yaml")
