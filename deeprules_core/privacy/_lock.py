"""The export lock (Tip 10): models that memorise training rows never leave a sensitive study.

A k-nearest-neighbour model *is* its training rows; the leaves of forests and boosted
trees can isolate single rows; a deep network's weights can be made to give back
training samples (membership inference, model inversion). For a study whose design says
the data are sensitive, the fitted objects or weights of these families are not
exported (not saved by the deep job, not put into a bundle, not offered by the app),
unless the deep model was trained with differential privacy. Every refusal is written
to the audit log and explained by a ``sensitive_model_export`` finding.

Examples
--------
>>> from deeprules_core.study import Study, Design
>>> s = Study.new("s", design=Design(sensitive_data=True))
>>> d = export_decision(s, "knn", {"family": "knn"})
>>> d.memorises, d.allowed
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..findings import Finding
from ..names import model_label
from ..study import Study

__all__ = [
    "MEMORISING",
    "NOT_MEMORISING",
    "ExportDecision",
    "export_decision",
    "export_plan",
    "refusal_finding",
    "guard_model_export",
    "is_private",
]

#: Families whose fitted object can give back training rows, and why (plain words).
MEMORISING: dict[str, str] = {
    "knn": "a k-nearest-neighbour model stores every training row and answers by looking them up",
    "random_forest": "the leaves of a random forest's trees can isolate single training rows",
    "gradient_boosting": "boosted trees split at training values and their leaves can isolate single rows",
    "mlp": "a neural network's weights can memorise training samples (membership inference, model inversion)",
    "cnn": "a neural network's weights can memorise training sequences (membership inference, model inversion)",
}
#: Families that store no row, and what they do store.
NOT_MEMORISING: dict[str, str] = {
    "dummy": "stores only the class frequencies or the mean of the label",
    "logistic_regression": "stores one coefficient per feature, not the rows (it can still leak a little)",
}


@dataclass(frozen=True)
class ExportDecision:
    """Whether one model's fitted object or weights may leave the study, and why."""

    model: str
    family: str
    memorises: bool
    private: bool
    allowed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_private(entry: Mapping[str, Any] | None) -> bool:
    """True when a model entry was trained with differential privacy (an achieved ε recorded)."""
    dp = (entry or {}).get("dp")
    return isinstance(dp, Mapping) and dp.get("epsilon") is not None and bool(dp.get("opacus"))


def export_decision(study: Study, model: str, entry: Mapping[str, Any] | None = None) -> ExportDecision:
    """May the fitted object or weights of ``model`` (a results entry) be exported?"""
    entry = entry or {}
    family = str(entry.get("family") or model)
    memorises = family in MEMORISING
    private = is_private(entry)
    sensitive = bool(study.design.sensitive_data)
    label = model_label(family, study.roles.task)
    if not memorises:
        why = NOT_MEMORISING.get(family, "it is not a family known to memorise rows")
        return ExportDecision(model, family, False, private, True, f"The {label} {why}.")
    if not sensitive:
        return ExportDecision(
            model,
            family,
            True,
            private,
            True,
            "The study does not hold sensitive data (design questionnaire).",
        )
    if private and family in ("mlp", "cnn"):
        eps = entry["dp"]["epsilon"]
        return ExportDecision(
            model,
            family,
            True,
            True,
            True,
            f"Trained with differential privacy (achieved ε = {eps:.3g}): the weights may be shared.",
        )
    return ExportDecision(
        model,
        family,
        True,
        private,
        False,
        f"Not exported: the study holds sensitive data and {MEMORISING[family]}. "
        + (
            "Train the deep model with differential privacy on the Privacy page to be allowed to share it."
            if family in ("mlp", "cnn")
            else "Share the study file instead: anyone with access to the data can re-fit it."
        ),
    )


def export_plan(
    study: Study, results: Mapping[str, Any] | None, extra: Mapping[str, Any] | None = None
) -> list[ExportDecision]:
    """The decision for every model of the results (and of ``extra``, e.g. private models)."""
    models = {**dict((results or {}).get("models") or {}), **dict(extra or {})}
    return [export_decision(study, name, e if isinstance(e, Mapping) else {}) for name, e in models.items()]


def refusal_finding(decision: ExportDecision, *, where: str) -> Finding:
    """The ``sensitive_model_export`` finding that explains one refusal."""
    label = model_label(decision.family)
    what = "weights" if decision.family in ("mlp", "cnn") else "fitted model"
    return Finding(
        code="sensitive_model_export",
        severity="info",
        tip=10,
        message=(
            f"The {label}'s {what} were not exported ({where}): {decision.reason} "
            "Its results and configuration are kept."
        ),
        evidence={"model": decision.model, "family": decision.family, "where": where, "sensitive_data": True},
    )


def guard_model_export(
    ws: Any, study: Study, model: str, entry: Mapping[str, Any] | None, *, where: str
) -> Finding | None:
    """The one choke point every export goes through.

    Returns None when the model may be exported; otherwise logs the refusal in the audit
    log (action ``export_refused``) and returns the finding that explains it.
    """
    decision = export_decision(study, model, entry)
    if decision.allowed:
        return None
    if ws is not None:
        ws.log(study.id, "export_refused", {"model": model, "family": decision.family, "where": where,
                                            "reason": decision.reason})  # fmt: skip
    return refusal_finding(decision, where=where)
