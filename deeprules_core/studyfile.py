"""The YAML study file: the whole experiment in one file (the app exports it, ``run``
reads it, the bundle carries it).

Minimal form (DESIGN.md); more keys may be added, these stay valid::

    data: path/to/table.csv
    roles: {id: sample_id, label: label, group: patient_id, batch: [plate], covariates: [age, sex]}
    split: {strategy: group, test_fraction: 0.2, tune_fraction: 0.2, seed: 0}
    models: [dummy, logistic_regression, random_forest, mlp]
    budget: 20

Optional keys: ``task`` (also accepted inside roles), ``seed``, ``n_shuffles``,
``n_boot``, ``n_seeds`` (deep model), ``max_epochs``, ``design`` (the questionnaire),
``provenance`` (source, version, download_date, licence, description, entered_by),
``batch_correct`` (fit a batch correction inside every baseline pipeline), and
``split: {file: split.csv}`` to reuse an exact assignment (id, split, fold) instead of
making one (the bundle does this, so a re-run uses the very same split).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import DeepRulesError
from .study import Design, Roles

__all__ = ["KNOWN_MODELS", "DEEP_MODELS", "StudyFile", "load_study_file", "StudyFileError"]

BASELINE_MODELS = ("dummy", "logistic_regression", "random_forest", "gradient_boosting", "knn")
DEEP_MODELS = ("mlp", "cnn")
KNOWN_MODELS = BASELINE_MODELS + DEEP_MODELS
SPLIT_KEYS = ("strategy", "test_fraction", "tune_fraction", "seed", "n_folds", "holdout_batch", "file")


class StudyFileError(DeepRulesError):
    """The study file is missing, not YAML, or has a wrong key or value."""


@dataclass(frozen=True)
class StudyFile:
    data: Path
    roles: Roles
    split: Mapping[str, Any] = field(default_factory=lambda: {"strategy": "auto"})
    models: tuple[str, ...] = ("dummy", "logistic_regression", "random_forest", "gradient_boosting")
    budget: int = 20
    seed: int = 0
    n_shuffles: int = 20
    n_boot: int = 1000
    n_seeds: int = 3
    max_epochs: int = 100
    batch_correct: bool = False
    design: Design = field(default_factory=Design)
    provenance: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def baseline_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.models if m in BASELINE_MODELS)

    @property
    def deep_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.models if m in DEEP_MODELS)

    def to_dict(self, *, data_relative_to: Path | None = None) -> dict[str, Any]:
        data = self.data
        if data_relative_to is not None:
            try:
                data = data.resolve().relative_to(data_relative_to.resolve())
            except ValueError:
                data = data.resolve()
        roles = {k: v for k, v in self.roles.to_dict().items() if v not in (None, [], ())}
        out: dict[str, Any] = {
            "name": self.name,
            "data": str(data),
            "roles": roles,
            "split": dict(self.split),
            "models": list(self.models),
            "budget": self.budget,
            "seed": self.seed,
            "n_shuffles": self.n_shuffles,
            "n_boot": self.n_boot,
            "n_seeds": self.n_seeds,
            "max_epochs": self.max_epochs,
            "batch_correct": self.batch_correct,
            "design": {f.name: getattr(self.design, f.name) for f in fields(Design)},
        }
        if self.provenance:
            out["provenance"] = dict(self.provenance)
        return out

    def to_yaml(self, *, data_relative_to: Path | None = None) -> str:
        return yaml.safe_dump(self.to_dict(data_relative_to=data_relative_to), sort_keys=False)


def _int(d: Mapping[str, Any], key: str, default: int, lo: int) -> int:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise StudyFileError(
            f"The '{key}' of the study file must be an integer >= {lo}. Got {value!r} instead."
        )
    return value


def parse_study_file(raw: Mapping[str, Any], *, base: Path) -> StudyFile:
    """Validate a parsed YAML mapping; ``base`` is the folder relative paths start from."""
    if not isinstance(raw, Mapping):
        raise StudyFileError("The study file must be a YAML mapping with at least 'data' and 'roles'.")
    known = {f.name for f in fields(StudyFile)} | {"task"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise StudyFileError(f"Unknown key(s) in the study file: {unknown}. Known keys: {sorted(known)}.")
    if "data" not in raw or not raw["data"]:
        raise StudyFileError("The study file needs 'data: path/to/table.csv'.")
    data = Path(str(raw["data"]))
    if not data.is_absolute():
        data = (base / data).resolve()
    roles_raw = dict(raw.get("roles") or {})
    if "task" in raw:
        roles_raw.setdefault("task", raw["task"])
    if "covariate" in roles_raw and "covariates" not in roles_raw:
        roles_raw["covariates"] = roles_raw.pop("covariate")
    try:
        roles = Roles.from_dict(roles_raw)
    except ValueError as exc:
        raise StudyFileError(f"In 'roles': {exc}") from exc
    if not roles.label:
        raise StudyFileError("The study file's roles need a label: 'roles: {label: COLUMN}'.")
    split = dict(raw.get("split") or {"strategy": "auto"})
    bad = sorted(set(split) - set(SPLIT_KEYS))
    if bad:
        raise StudyFileError(f"Unknown key(s) in 'split': {bad}. Known: {list(SPLIT_KEYS)}.")
    if "file" in split:
        split_file = Path(str(split["file"]))
        split["file"] = str(split_file if split_file.is_absolute() else (base / split_file).resolve())
    batch_correct = raw.get("batch_correct", False)
    if not isinstance(batch_correct, bool):
        raise StudyFileError(f"'batch_correct' must be true or false. Got {batch_correct!r} instead.")
    models_raw = raw.get("models") or list(StudyFile.models)
    if isinstance(models_raw, str):
        models_raw = [models_raw]
    models = tuple(str(m) for m in models_raw)
    wrong = [m for m in models if m not in KNOWN_MODELS]
    if wrong:
        raise StudyFileError(f"Unknown model(s) {wrong}. Known models: {list(KNOWN_MODELS)}.")
    try:
        design = Design(**(raw.get("design") or {}))
    except (TypeError, ValueError) as exc:
        raise StudyFileError(f"In 'design': {exc}") from exc
    return StudyFile(
        data=data,
        roles=roles,
        split=split,
        models=models,
        budget=_int(raw, "budget", 20, 1),
        seed=_int(raw, "seed", int(split.get("seed", 0)), 0),
        n_shuffles=_int(raw, "n_shuffles", 20, 0),
        n_boot=_int(raw, "n_boot", 1000, 0),
        n_seeds=_int(raw, "n_seeds", 3, 1),
        max_epochs=_int(raw, "max_epochs", 100, 1),
        batch_correct=batch_correct,
        design=design,
        provenance=dict(raw.get("provenance") or {}),
        name=str(raw.get("name") or ""),
    )


def load_study_file(path: str | Path) -> StudyFile:
    """Read and validate a YAML study file; errors name the problem."""
    path = Path(path)
    if not path.is_file():
        raise StudyFileError(f"There is no study file at {path}.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise StudyFileError(f"{path} is not valid YAML: {exc}") from exc
    return parse_study_file(raw or {}, base=path.parent)
