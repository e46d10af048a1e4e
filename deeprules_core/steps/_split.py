"""The split step: a suggestion that reads the design and the study's open findings, a
preview with its leakage audit, and the save that locks the test set and records the step.

No split cures a batch that goes with the label: when the Batch & confounds step found
one and nobody acknowledged it, the suggestion and the audit say so, and what claim the
design can still support."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import pandas as pd

from ..current import design_digest, roles_digest
from ..errors import DeepRulesError, StoreError
from ..findings import Finding
from ..study import Study
from ._common import design_dict, digest, memo, record_step, step_summary

__all__ = ["suggest_split", "preview_split", "run_split", "confounding_carried"]


def _open_confounding(ws: Any, study: Study) -> list[Finding]:
    """The study's unresolved batch × label confounding (open errors of earlier steps)."""
    if ws is None:
        return []
    return [
        e.finding
        for e in ws.open_findings(study.id, before="split", study=study)
        if e.finding.code == "batch_confounding"
    ]


def _claim(columns: tuple[str, ...]) -> str:
    cols = " and ".join(f"'{c}'" for c in columns) or "the batch"
    return (
        f"No split cures this: {cols} goes with the label, so a model can score by recognising the "
        f"batch, and holding out a batch that holds one class tests on one class only. The design "
        f"supports at most a claim about differences between the classes within the batches that "
        f"hold both, not that the model predicts the label in new samples; that claim needs new "
        f"samples with the classes spread over the batches, or an independent cohort as the test set."
    )


def confounding_carried(ws: Any, study: Study) -> list[Finding]:
    """The open batch/label confounding, repeated for the split audit (not a new finding:
    the ledger keeps it once, under the step that found it)."""
    out = []
    for f in _open_confounding(ws, study):
        out.append(
            Finding(
                code=f.code,
                severity=f.severity,
                tip=f.tip,
                columns=f.columns,
                message=f"Unresolved from Batch & confounds: {f.message} {_claim(f.columns)}",
                evidence=dict(f.evidence),
            )
        )
    return out


def suggest_split(ws: Any, study: Study) -> tuple[str, str]:
    """The strategy to suggest and why, from the roles, the design and the open findings."""
    from ..split import explain_strategy

    strategy, sentence = explain_strategy(study.roles, study.design)
    confounded = _open_confounding(ws, study)
    if confounded:
        cols = tuple(c for f in confounded for c in f.columns)
        sentence += " " + _claim(cols)
    return strategy, sentence


def _compute_preview(df: pd.DataFrame, study: Study, params: Mapping[str, Any]) -> dict[str, Any]:
    from ..split import audit_split, make_split, split_summary

    try:
        split = make_split(df, study.roles, design=study.design, **dict(params))
    except DeepRulesError as exc:
        return {"error": str(exc)}
    return {
        "split": split,
        "findings": audit_split(df, study.roles, split),
        "summary": split_summary(df, study.roles, split),
        "error": None,
    }


def preview_split(ws: Any, study: Study, df: pd.DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    """Make (not save) a split with these parameters and audit it.

    Returns ``{"split", "findings" (the audit), "carried" (the open confounding, repeated),
    "summary", "error"}``; on a parameter error only ``error`` (a sentence) is set.
    """
    sha = study.dataset.sha256 if study.dataset is not None else "none"
    key = (
        "split",
        sha,
        digest(study.roles.to_dict()),
        digest(design_dict(study.design)),
        digest(dict(params)),
    )
    out = dict(memo(key, lambda: _compute_preview(df, study, params)))
    out.setdefault("split", None)
    out.setdefault("findings", [])
    out.setdefault("summary", {})
    out["carried"] = confounding_carried(ws, study) if not out.get("error") else []
    return out


def run_split(ws: Any, study: Study, split: Any, df: pd.DataFrame | None = None) -> Study:
    """Save the split (its checksum locks the test set), audit it, record the ``split``
    step and the audit's findings; return the saved study."""
    from ..split import audit_split, save_split

    if df is None:
        from ..intake import load_dataset

        df = load_dataset(ws, study.dataset.dataset_id)  # type: ignore[union-attr]
    findings = audit_split(df, study.roles, split)
    latest = ws.get_study(study.id)
    saved = save_split(ws, latest, split).step("split")
    if saved is None:  # save_split always adds the record
        raise StoreError("The split was stored but not recorded in the study; save it again.")
    record = replace(
        saved,
        summary={**saved.summary, **step_summary(findings)},
        # what the split was made from: a new label, group or design makes it out of date
        input_hashes={
            **saved.input_hashes,
            "roles": roles_digest(study.roles),
            "design": design_digest(study.design),
        },
    )
    return record_step(ws, latest, record, findings, action="save_split", always=True)
