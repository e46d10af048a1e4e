"""Findings: the common currency of checks, the command line and the report.

A :class:`Finding` says what a check saw: a ``code`` from the fixed vocabulary below,
a ``severity``, the ``tip`` of Lee et al. (2022) it belongs to, the ``columns``
involved, a ``message`` for a biologist (what is wrong, why it matters, what to do) and
the ``evidence`` (numbers: counts, p-values, effect sizes, example rows).

A check that has nothing to say returns an empty list: on clean data there are no
warnings and no errors.

Examples
--------
>>> f = Finding(code="duplicate_ids", severity="error", tip=1, columns=("sample_id",),
...             message="2 sample ids occur more than once.", evidence={"n": 2})
>>> Finding.from_dict(f.to_dict()) == f
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .names import evidence_text, finding_title

__all__ = [
    "CODES",
    "SEVERITIES",
    "Severity",
    "Finding",
    "to_jsonable",
    "summarise",
    "sort_findings",
]

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[str, ...] = ("error", "warning", "info")

#: Every finding code, with the tip it belongs to by default.
CODES: dict[str, int] = {
    # schema and metadata
    "numeric_stored_as_string": 1,
    "mixed_units": 1,
    "out_of_range_values": 1,
    "inconsistent_categories": 1,
    "duplicate_ids": 1,
    "missing_values": 1,
    "constant_feature": 1,
    "identifying_column": 10,
    # quality
    "exact_duplicates": 1,
    "near_duplicates": 1,
    "conflicting_labels": 1,
    "class_imbalance": 1,
    "label_one_class": 1,
    "missing_not_at_random": 4,
    "outliers": 1,
    # design
    "batch_effect": 4,
    "batch_confounding": 4,
    "confounding_covariate": 4,
    "group_leakage": 4,
    "label_leakage": 7,
    "label_markers": 1,
    "high_dim_small_n": 5,
    "too_few_samples": 1,
    # split
    "split_group_overlap": 7,
    "split_duplicate_overlap": 7,
    # modelling
    "no_signal": 7,
    "control_inconclusive": 7,
    "overfitting": 7,
    "baseline_not_beaten": 2,
    "unequal_tuning": 2,
    "one_feature_suffices": 1,
    "metadata_predicts_label": 9,
    "attribution_on_confounder": 9,
    # privacy
    "sensitive_model_export": 10,
    "membership_inference_risk": 10,
    "subgroup_gap": 10,
}


def to_jsonable(value: Any) -> Any:
    """Turn numpy / pandas scalars and containers into plain JSON values.

    Non-finite floats become ``None`` so that the output is strict JSON.
    """
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    try:  # pandas NA / NaT
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


@dataclass(frozen=True)
class Finding:
    """One thing a check saw. Immutable; JSON round-trips with ``to_dict``/``from_dict``."""

    code: str
    severity: Severity
    tip: int
    message: str
    columns: tuple[str, ...] = ()
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"Unknown finding code {self.code!r}; known codes: {sorted(CODES)}.")
        if self.severity not in SEVERITIES:
            raise ValueError(
                f"The 'severity' of a finding must be one of {SEVERITIES}. Got {self.severity!r}."
            )
        if not 1 <= int(self.tip) <= 10:
            raise ValueError(f"The 'tip' of a finding must be 1 to 10. Got {self.tip!r}.")
        object.__setattr__(self, "columns", tuple(str(c) for c in self.columns))
        object.__setattr__(self, "evidence", to_jsonable(dict(self.evidence)))

    def __hash__(self) -> int:
        return hash((self.code, self.severity, self.tip, self.message, self.columns))

    @property
    def title(self) -> str:
        """The plain-words title of the code ("Batch confounded with the label")."""
        return finding_title(self.code)

    @property
    def evidence_text(self) -> str:
        """The evidence as one short readable sentence (the full record is ``evidence``)."""
        return evidence_text(self.evidence)

    @property
    def key(self) -> str:
        """Stable identity used to acknowledge a finding: code plus columns."""
        return self.code + ":" + ",".join(self.columns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "tip": int(self.tip),
            "columns": list(self.columns),
            "message": self.message,
            "evidence": to_jsonable(self.evidence),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            code=data["code"],
            severity=data["severity"],
            tip=int(data["tip"]),
            message=data["message"],
            columns=tuple(data.get("columns", ())),
            evidence=dict(data.get("evidence", {})),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)


_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; within a severity by tip and code."""
    return sorted(findings, key=lambda f: (_ORDER[f.severity], f.tip, f.code, f.columns))


def summarise(findings: Iterable[Finding]) -> dict[str, int]:
    """Count findings per severity: ``{"error": n, "warning": n, "info": n}``."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.severity] += 1
    return counts
