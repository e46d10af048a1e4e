"""The Study record: one typed, immutable, JSON-serialisable object that flows through
every step.

A :class:`Study` holds the design questionnaire (:class:`Design`), the datasets with
their provenance (:class:`DatasetRef`), the column roles (:class:`Roles`), one
:class:`StepRecord` per completed step, and the user's written justifications of
acknowledged findings (:class:`Acknowledgement`). Large things (tables, models) live
in the workspace; the Study holds their hashes. Changing a study makes a new object
(``dataclasses.replace`` or the ``with_*`` helpers); the store keeps the history.

Examples
--------
>>> s = Study.new("Tumour vs normal")
>>> s = s.with_roles(Roles(id="sample_id", label="label", group="patient"))
>>> Study.from_dict(s.to_dict()) == s
True
"""

from __future__ import annotations

import platform
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from .errors import ColumnError
from .findings import to_jsonable

if TYPE_CHECKING:  # pandas is imported where a table is used: opening the store needs none
    import pandas as pd

__all__ = [
    "STUDY_TYPES",
    "REPLICATE_KINDS",
    "TASKS",
    "Design",
    "Roles",
    "DatasetRef",
    "StepRecord",
    "Acknowledgement",
    "Study",
    "utcnow",
    "package_versions",
]

STUDY_TYPES = ("observational", "rct", "unknown")
REPLICATE_KINDS = ("none", "biological", "technical", "repeated_individual", "time_points")
TASKS = ("classification", "regression")

Task = Literal["classification", "regression"]


def utcnow() -> str:
    """The current time as an ISO-8601 string in UTC (seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def package_versions(names: Sequence[str] | None = None) -> dict[str, str]:
    """Versions of the packages that shape results, plus Python and the platform."""
    from importlib.metadata import PackageNotFoundError, version

    names = names or (
        "deeprules",
        "numpy",
        "pandas",
        "scipy",
        "scikit-learn",
        "torch",
        "optuna",
        "captum",
        "pandera",
        "streamlit",
    )
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            continue
    return out


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


@dataclass(frozen=True)
class Design:
    """Answers to the design questionnaire (Tips 4 and 10)."""

    question: str = ""
    study_type: str = "unknown"  # one of STUDY_TYPES
    replicate_kind: str = "none"  # one of REPLICATE_KINDS
    time_points: bool = False
    matching: str = ""  # e.g. "cases matched to controls on age and sex"
    sensitive_data: bool = False
    ethics_approval: str = ""  # approval reference, e.g. "IRB-2021-044"

    def __post_init__(self) -> None:
        if self.study_type not in STUDY_TYPES:
            raise ValueError(f"The 'study_type' must be one of {STUDY_TYPES}. Got {self.study_type!r}.")
        if self.replicate_kind not in REPLICATE_KINDS:
            raise ValueError(
                f"The 'replicate_kind' must be one of {REPLICATE_KINDS}. Got {self.replicate_kind!r}."
            )

    @property
    def repeated_units(self) -> bool:
        """True when several rows may come from one individual (Tip 4)."""
        return self.time_points or self.replicate_kind in (
            "technical",
            "repeated_individual",
            "time_points",
        )


@dataclass(frozen=True)
class Roles:
    """What each column is. Only ``label`` is needed for most checks.

    ``features`` empty means "every numeric column that has no other role".
    """

    id: str | None = None
    label: str | None = None
    task: str = "classification"  # one of TASKS
    group: str | None = None
    batch: tuple[str, ...] = ()
    covariates: tuple[str, ...] = ()
    time: str | None = None
    sequence: str | None = None
    features: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"The 'task' must be one of {TASKS}. Got {self.task!r}.")
        object.__setattr__(self, "batch", _tuple(self.batch))
        object.__setattr__(self, "covariates", _tuple(self.covariates))
        object.__setattr__(self, "features", _tuple(self.features))

    @property
    def metadata_columns(self) -> tuple[str, ...]:
        """Every column with a role other than feature."""
        single = (self.id, self.label, self.group, self.time, self.sequence)
        return tuple(c for c in single if c) + self.batch + self.covariates

    def feature_columns(self, df: pd.DataFrame) -> list[str]:
        """The feature columns of ``df``: the explicit list, or the numeric columns
        that have no other role."""
        if self.features:
            return list(self.features)
        import pandas as pd

        meta = set(self.metadata_columns)
        # from the dtypes, not column by column: wide omics tables have 20,000+ columns
        return [
            c
            for c, dtype in df.dtypes.items()
            if c not in meta
            and pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_bool_dtype(dtype)
        ]

    def unused_columns(self, df: pd.DataFrame) -> list[str]:
        """Columns that are neither a feature nor have a role (text, dates, booleans, or
        numeric columns left out of an explicit feature list): what the models never see."""
        used = set(self.metadata_columns) | set(self.feature_columns(df))
        return [c for c in df.columns if c not in used]

    def validate_against(self, df: pd.DataFrame) -> None:
        """Raise :class:`ColumnError` naming every role column that ``df`` lacks."""
        named = list(self.metadata_columns) + list(self.features)
        missing = [c for c in named if c not in df.columns]
        if missing:
            raise ColumnError(
                f"The table has no column named {', '.join(map(repr, missing))}. "
                f"Check the spelling against the file's header; the columns are: "
                f"{', '.join(map(str, list(df.columns)[:20]))}" + (" ..." if df.shape[1] > 20 else "")
            )

    def to_dict(self) -> dict[str, Any]:
        return {f.name: to_jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Roles:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known - {"covariate"}
        if unknown:
            raise ColumnError(f"Unknown column role(s) {sorted(unknown)}; the roles are {sorted(known)}.")
        kw = {k: v for k, v in data.items() if k in known}
        return cls(**kw)


@dataclass(frozen=True)
class DatasetRef:
    """A dataset attached to a study: its id in the store and the exact bytes' hash."""

    dataset_id: str
    sha256: str
    name: str
    provenance_version: int = 1


@dataclass(frozen=True)
class StepRecord:
    """One completed step: what was run, on what, with which seed, and what came out."""

    step: str
    params: Mapping[str, Any] = field(default_factory=dict)
    input_hashes: Mapping[str, str] = field(default_factory=dict)
    seed: int | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    summary: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", to_jsonable(dict(self.params)))
        object.__setattr__(self, "input_hashes", dict(self.input_hashes))
        object.__setattr__(self, "versions", dict(self.versions))
        object.__setattr__(self, "summary", to_jsonable(dict(self.summary)))

    def __hash__(self) -> int:
        return hash((self.step, self.started_at, self.finished_at))


@dataclass(frozen=True)
class Acknowledgement:
    """A user's written justification for leaving a finding as it is."""

    finding_key: str  # Finding.key: "code:col1,col2"
    justification: str
    who: str = ""
    at: str = ""


@dataclass(frozen=True)
class Study:
    """The record of one analysis. Immutable: every change returns a new Study."""

    id: str
    name: str
    created_at: str
    design: Design = field(default_factory=Design)
    datasets: tuple[DatasetRef, ...] = ()
    roles: Roles = field(default_factory=Roles)
    steps: tuple[StepRecord, ...] = ()
    acknowledgements: tuple[Acknowledgement, ...] = ()
    #: the stored version this object was read as (0: never saved). A save states it, so
    #: a save based on an old version is merged or refused, never silently lost. Not part
    #: of the record (``to_dict``) nor of equality.
    version: int = field(default=0, compare=False)

    @classmethod
    def new(cls, name: str, *, design: Design | None = None) -> Study:
        name = (name or "").strip()
        if not name:
            raise ValueError("A study needs a name, e.g. 'Tumour vs normal, GSE2034'.")
        return cls(
            id=uuid.uuid4().hex[:12],
            name=name,
            created_at=utcnow(),
            design=design or Design(),
        )

    # ---- derived views -------------------------------------------------
    @property
    def dataset(self) -> DatasetRef | None:
        """The current (last attached) dataset, if any."""
        return self.datasets[-1] if self.datasets else None

    def step(self, name: str) -> StepRecord | None:
        """The latest record of step ``name``, or None when it was never run."""
        for rec in reversed(self.steps):
            if rec.step == name:
                return rec
        return None

    def acknowledgement(self, finding_key: str) -> Acknowledgement | None:
        for ack in reversed(self.acknowledgements):
            if ack.finding_key == finding_key:
                return ack
        return None

    # ---- changes ---------------------------------------------------------
    def renamed(self, name: str) -> Study:
        name = (name or "").strip()
        if not name:
            raise ValueError("A study needs a non-empty name.")
        return replace(self, name=name)

    def with_design(self, design: Design) -> Study:
        return replace(self, design=design)

    def with_roles(self, roles: Roles) -> Study:
        return replace(self, roles=roles)

    def with_dataset(self, ref: DatasetRef) -> Study:
        others = tuple(d for d in self.datasets if d.dataset_id != ref.dataset_id)
        return replace(self, datasets=others + (ref,))

    def with_step(self, record: StepRecord) -> Study:
        return replace(self, steps=self.steps + (record,))

    def with_acknowledgement(self, ack: Acknowledgement) -> Study:
        if not ack.justification.strip():
            raise ValueError(
                "An acknowledgement needs a written justification: say why this finding "
                "does not change your conclusions; it goes into the report."
            )
        return replace(self, acknowledgements=self.acknowledgements + (ack,))

    # ---- serialisation -------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "design": {f.name: getattr(self.design, f.name) for f in fields(Design)},
            "datasets": [{f.name: getattr(d, f.name) for f in fields(DatasetRef)} for d in self.datasets],
            "roles": self.roles.to_dict(),
            "steps": [
                {f.name: to_jsonable(getattr(s, f.name)) for f in fields(StepRecord)} for s in self.steps
            ],
            "acknowledgements": [
                {f.name: getattr(a, f.name) for f in fields(Acknowledgement)} for a in self.acknowledgements
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Study:
        return cls(
            id=data["id"],
            name=data["name"],
            created_at=data.get("created_at", ""),
            design=Design(**data.get("design", {})),
            datasets=tuple(DatasetRef(**d) for d in data.get("datasets", ())),
            roles=Roles.from_dict(data.get("roles", {})),
            steps=tuple(StepRecord(**s) for s in data.get("steps", ())),
            acknowledgements=tuple(Acknowledgement(**a) for a in data.get("acknowledgements", ())),
        )
