"""The YAML study file: the whole experiment in one file (the app exports it, ``run``
reads it, the bundle carries it).

Minimal form (DESIGN.md); more keys may be added, these stay valid::

    data: path/to/table.csv
    roles: {id: sample_id, label: label, group: patient_id, batch: [plate], covariates: [age, sex]}
    split: {strategy: group, test_fraction: 0.2, tune_fraction: 0.2, seed: 0}
    models: [dummy, logistic_regression, random_forest, mlp]
    budget: 20

Optional keys: ``task`` (also accepted inside roles; inferred from the label column when absent), ``seed``, ``n_shuffles``,
``n_boot``, ``n_seeds`` (deep model), ``max_epochs``, ``design`` (the questionnaire),
``provenance`` (source, version, download_date, licence, description, entered_by),
``batch_correct`` (fit a batch correction inside every baseline pipeline), ``sheet`` (the
sheet of an Excel workbook: required when it has several), and
``split: {file: split.csv}`` to reuse an exact assignment (id, split, fold) instead of
making one (the bundle does this, so a re-run uses the very same split).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ._yaml import MAX_YAML_BYTES, load_yaml
from .errors import DeepRulesError, quote
from .study import Design, Roles

__all__ = [
    "KNOWN_MODELS",
    "DEEP_MODELS",
    "StudyFile",
    "StudyFileSchema",
    "load_study_file",
    "parse_study_file",
    "StudyFileError",
]

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
    sheet: str | None = None
    #: False when the file states no task: ``run`` infers it from the label column
    task_stated: bool = True

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
        if not self.task_stated:  # still to be inferred from the label column
            roles.pop("task", None)
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
        if self.sheet is not None:
            out["sheet"] = self.sheet
        return out

    def to_yaml(self, *, data_relative_to: Path | None = None) -> str:
        return yaml.safe_dump(self.to_dict(data_relative_to=data_relative_to), sort_keys=False)


# ---------------------------------------------------------------------- the schema
def _column(value: Any) -> Any:
    """A column name may be typed as a number in YAML (``label: 2019``); it is text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _columns(value: Any) -> Any:
    """One column or a list of them."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return [_column(value)]
    if isinstance(value, list):
        return [_column(v) for v in value]
    return value


Column = Annotated[StrictStr, BeforeValidator(_column)]
Columns = Annotated[list[Column], BeforeValidator(_columns)]
Count = Annotated[StrictInt, Field(ge=0)]
Positive = Annotated[StrictInt, Field(ge=1)]
Fraction = Annotated[float, Field(gt=0, lt=1)]


ModelName = Literal[KNOWN_MODELS]  # type: ignore[valid-type]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class RolesSchema(_Schema):
    label: Column
    id: Column | None = None
    task: Literal["classification", "regression"] | None = None
    group: Column | None = None
    batch: Columns = []
    covariates: Columns = []
    covariate: Columns = []
    time: Column | None = None
    sequence: Column | None = None
    features: Columns = []


class SplitSchema(_Schema):
    strategy: Literal["auto", "group", "stratified", "leave_batch_out", "time"] = "auto"
    test_fraction: Fraction = 0.2
    tune_fraction: Annotated[float, Field(ge=0, lt=1)] = 0.2
    seed: Count = 0
    n_folds: Annotated[StrictInt, Field(ge=2)] = 5
    holdout_batch: Column | list[Column] | None = None
    file: StrictStr | None = None


class DesignSchema(_Schema):
    question: StrictStr = ""
    study_type: Literal["observational", "rct", "unknown"] = "unknown"
    replicate_kind: Literal["none", "biological", "technical", "repeated_individual", "time_points"] = "none"
    time_points: StrictBool = False
    matching: StrictStr = ""
    sensitive_data: StrictBool = False
    ethics_approval: StrictStr = ""


class ProvenanceSchema(_Schema):
    source: StrictStr = ""
    version: Annotated[StrictStr, BeforeValidator(_column)] = ""
    download_date: Annotated[
        StrictStr, BeforeValidator(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    ] = ""
    licence: StrictStr = ""
    description: StrictStr = ""
    entered_by: StrictStr = ""


class StudyFileSchema(_Schema):
    """Every key of the study file, its type and its range (one place, checked at once)."""

    data: Annotated[StrictStr, Field(min_length=1)]
    roles: RolesSchema
    sheet: Annotated[StrictStr, BeforeValidator(_column)] | None = None
    task: Literal["classification", "regression"] | None = None
    split: SplitSchema | None = None
    models: Annotated[list[ModelName], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)] | None = (
        None
    )
    budget: Positive = 20
    seed: Count | None = None
    n_shuffles: Count = 20
    n_boot: Count = 1000
    n_seeds: Positive = 3
    max_epochs: Positive = 100
    batch_correct: StrictBool = False
    design: DesignSchema | None = None
    provenance: ProvenanceSchema | None = None
    name: Annotated[StrictStr, BeforeValidator(_column)] = ""


_HINTS = {
    "data": " (the table to read, e.g. 'data: table.csv')",
    "roles": " (at least the label: 'roles: {label: COLUMN}')",
    "roles.label": " (the roles need a label: 'roles: {label: COLUMN}')",
}
_KIND = {
    dict: "a mapping (key: value lines)",
    list: "a list",
    str: "text",
    bool: "true/false",
    type(None): "empty",
}


def _shown(value: Any) -> str:
    """The input as a message shows it: its kind for containers, a short quote otherwise."""
    for kind, words in _KIND.items():
        if isinstance(value, kind) and kind in (dict, list, type(None)):
            return words + (f" of {len(value)} item(s)" if isinstance(value, list) else "")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = str(value)
        return text if len(text) <= 40 else f"a number of {len(text):,} digits"
    return quote(value, 40)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [
        str(p)
        for p in loc
        if not (isinstance(p, str) and (p.startswith("function-") or p in ("literal", "list")))
    ]
    out = ""
    parts = [p if p.isprintable() and len(p) <= 40 else quote(p, 40) for p in parts]
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "the file"


def _plain(err: Mapping[str, Any]) -> str:
    """One pydantic error in plain words: 'roles.label must be text; got a list of 2 item(s)'."""
    where, kind, value = _where(tuple(err["loc"])), err["type"], err.get("input")
    if kind == "missing":
        return f"'{where}' is missing" + _HINTS.get(where, "")
    if kind == "extra_forbidden":
        parent = tuple(err["loc"])[:-1]
        known = _known_keys(parent)
        close = difflib.get_close_matches(str(err["loc"][-1])[:100], known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"
        return f"'{where}' is not a known key{hint}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        want = "a mapping (key: value lines)"
    elif kind in ("list_type",):
        want = "a list"
    elif kind in ("string_type", "str_type"):
        want = "text"
    elif kind in ("int_type", "int_parsing", "int_from_float"):
        want = "a whole number"
    elif kind in ("float_type", "float_parsing"):
        want = "a number"
    elif kind in ("bool_type", "bool_parsing"):
        want = "true or false"
    elif kind == "literal_error":
        want = str(err["msg"]).removeprefix("Input should be ")
        want = "one of " + want if " or " in want else want
    else:
        want = str(err["msg"]).removeprefix("Input should be ").removeprefix("Value error, ")
    return f"'{where}' must be {want}; got {_shown(value)}"


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = StudyFileSchema
    for part in loc:
        field = model.model_fields.get(str(part))
        inner = (
            [a for a in get_args(field.annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
            if field
            else []
        )
        if field and isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            model = field.annotation
        elif inner:
            model = inner[0]
    return [k for k in model.model_fields if k != "covariate"]


def _validate(raw: Any) -> StudyFileSchema:
    if not isinstance(raw, Mapping):
        raise StudyFileError(
            f"The study file must be a YAML mapping with at least 'data' and 'roles'; it is {_shown(raw)}."
        )
    try:
        return StudyFileSchema.model_validate(dict(raw))
    except ValidationError as exc:
        problems = [_plain(e) for e in exc.errors(include_url=False)]
        shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
        many = f"{len(problems)} problems" if len(problems) > 1 else "a problem"
        raise StudyFileError(f"The study file has {many}: {shown}. Fix it and run again.") from None


def parse_study_file(raw: Any, *, base: Path) -> StudyFile:
    """Validate a parsed YAML mapping; ``base`` is the folder relative paths start from.

    Every wrong key is reported at once, in plain words.
    """
    v = _validate(raw)
    data = Path(v.data)
    if not data.is_absolute():
        data = (base / data).resolve()
    r = v.roles
    roles = Roles(
        id=r.id,
        label=r.label,
        task=r.task or v.task or "classification",
        group=r.group,
        batch=tuple(r.batch),
        covariates=tuple(r.covariates or r.covariate),
        time=r.time,
        sequence=r.sequence,
        features=tuple(r.features),
    )
    split: dict[str, Any] = (
        v.split.model_dump(exclude_unset=True) if v.split is not None else {"strategy": "auto"}
    )
    if split.get("file"):
        split_file = Path(split["file"])
        split["file"] = str(split_file if split_file.is_absolute() else (base / split_file).resolve())
    if isinstance(split.get("holdout_batch"), list):
        split["holdout_batch"] = tuple(split["holdout_batch"])
    design = Design(**v.design.model_dump()) if v.design is not None else Design()
    return StudyFile(
        data=data,
        roles=roles,
        split=split,
        models=tuple(v.models) if v.models else StudyFile.models,
        budget=v.budget,
        seed=v.seed if v.seed is not None else int(split.get("seed", 0)),
        n_shuffles=v.n_shuffles,
        n_boot=v.n_boot,
        n_seeds=v.n_seeds,
        max_epochs=v.max_epochs,
        batch_correct=v.batch_correct,
        design=design,
        provenance=v.provenance.model_dump(exclude_unset=True) if v.provenance is not None else {},
        name=v.name,
        sheet=v.sheet,
        task_stated=bool(r.task or v.task),
    )


def load_study_file(path: str | Path) -> StudyFile:
    """Read and validate a YAML study file; errors name every problem at once."""
    path = Path(path)
    if not path.is_file():
        raise StudyFileError(f"There is no study file at {quote(str(path), 80)}.")
    if path.stat().st_size > MAX_YAML_BYTES:
        raise StudyFileError(
            f"The study file {quote(path.name)} is {path.stat().st_size:,} bytes; a study file is a few "
            "hundred. Check that it is the right file."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise StudyFileError(
            f"The study file {quote(path.name)} is not UTF-8 text (byte {exc.start:,}). It should be a "
            "short YAML text file: save it as UTF-8."
        ) from exc
    raw = load_yaml(text, what=f"The study file {quote(path.name)}", error=StudyFileError)
    return parse_study_file(raw or {}, base=path.parent)
