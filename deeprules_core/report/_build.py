"""Gather a study's facts from a workspace (or from loose parts) and write the PDF.

Other steps may not have landed, or may not have been run for this study: every
import of another area is guarded, and what is absent is reported as not done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import DeepRulesError
from ..findings import Finding
from ..store import Workspace
from ..study import Study
from ._facts import ReportFacts, gather_facts, summarise_split
from ._pdf import build_pdf
from ._privacy import with_privacy

__all__ = [
    "load_results",
    "load_findings",
    "load_table",
    "load_split_summary",
    "load_provenance",
    "facts_from_workspace",
    "build_report",
    "report_from_parts",
]

INTERPRETATION = "interpretation"  # artifact kind and name of the interpret step


def load_results(ws: Workspace, study: Study) -> dict[str, Any] | None:
    """The study's results dict: the final one if the test set was used, with the deep
    models; None when a modelling step is out of date
    (:func:`deeprules_core.modeling.current_results`)."""
    from ..modeling import current_results

    return current_results(ws, study)


def load_findings(ws: Workspace, study: Study) -> list[Finding] | None:
    """The study's current findings, from its findings ledger (every step records there);
    None when no step has recorded any (the checks were not run)."""
    if not ws.recorded_steps(study.id) and not any(
        study.step(n) for n in ("checks", "confounds", "audit", "run")
    ):
        return None
    # not those of a table since replaced, of earlier column roles, design or split
    return ws.current_findings(study.id, study=study)


def load_table(ws: Workspace, study: Study) -> Any:
    """The study's table, or None when it cannot be loaded (intake missing, no data)."""
    if study.dataset is None:
        return None
    try:
        from ..intake import load_dataset
    except ImportError:
        return None
    try:
        return load_dataset(ws, study.dataset.dataset_id)
    except DeepRulesError:
        return None


def load_split_summary(ws: Workspace, study: Study, df: Any = None) -> dict[str, Any] | None:
    """Sizes per side and class of the study's split, or None when there is none."""
    try:
        from ..split import load_split  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        split = load_split(ws, study)
    except DeepRulesError:
        return None
    if split is None:
        return None
    return summarise_split(df, study.roles, split)


def load_provenance(ws: Workspace, study: Study) -> Any:
    """The provenance record of the study's dataset, or None."""
    if study.dataset is None:
        return None
    try:
        from ..intake import get_provenance  # type: ignore[attr-defined]
    except ImportError:
        return None
    try:
        return get_provenance(ws, study.dataset.dataset_id)
    except DeepRulesError:
        return None


_METHODS = (
    ("global", "permutation importance"),
    ("coefficients", "model coefficients"),
    ("attributions", "integrated gradients"),
    ("local", "per-sample attributions"),
)


def _interpret(ws: Workspace, study: Study) -> Mapping[str, Any] | None:
    """Methods, top features and agreement from the interpret step's artifact."""
    got = ws.get_json(study.id, INTERPRETATION, INTERPRETATION)
    if not isinstance(got, Mapping):
        return None
    models = got.get("models") or {}
    methods = [
        label
        for key, label in _METHODS
        if any(isinstance(e, Mapping) and e.get(key) for e in models.values())
    ]
    out: dict[str, Any] = {"method": methods or ["feature attributions"], "models": sorted(models)}
    from ..interpret.jobs import primary_ranking

    out["top_by_model"] = {
        name: str(rows[0].get("feature"))
        for name, e in models.items()
        if isinstance(e, Mapping) and (rows := primary_ranking(e))
    }
    top = (got.get("guard") or {}).get("top_features")
    if top:
        out["top_features"] = list(top)
    if got.get("caveat"):
        out["caveat"] = got["caveat"]
    ranked = got.get("rankings")
    if isinstance(ranked, Mapping):  # a ranked list per model and method (Tip 8)
        out["rankings"] = {
            name: [{"method": r["method"], "top": [x["feature"] for x in r["features"][:5]]} for r in lists]
            for name, lists in ranked.items()
        }
    out["guard_findings"] = [f.get("message", "") for f in got.get("findings") or []]
    return out


def facts_from_workspace(
    ws: Workspace,
    study: Study,
    *,
    findings: Iterable[Finding] | None = None,
    results: Mapping[str, Any] | None = None,
    outputs: str | None = None,
) -> ReportFacts:
    """Every fact about ``study`` that the workspace holds.

    ``outputs``: what accompanies the report (see :func:`~._facts.gather_facts`); the
    default claims no bundle.
    """
    df = load_table(ws, study)
    facts = gather_facts(
        study,
        findings=list(findings) if findings is not None else load_findings(ws, study),
        results=results if results is not None else load_results(ws, study),
        split_summary=load_split_summary(ws, study, df),
        provenance=load_provenance(ws, study),
        df=df,
        interpret=_interpret(ws, study),
        test_uses=ws.test_uses(study.id),
        outputs=outputs,
    )
    return with_privacy(facts, ws, study)


def build_report(
    ws: Workspace,
    study: Study,
    *,
    out_pdf: str | Path,
    findings: Iterable[Finding] | None = None,
    results: Mapping[str, Any] | None = None,
    outputs: str | None = None,
) -> Path:
    """Write the methods-checklist PDF of a study in a workspace.

    Steps that were not run appear as "not done"; nothing is required. ``outputs="bundle"``
    only when the PDF goes into a reproducibility bundle (:func:`export_bundle` does this);
    by default the report describes no bundle.
    """
    facts = facts_from_workspace(ws, study, findings=findings, results=results, outputs=outputs)
    return build_pdf(facts, out_pdf)


def report_from_parts(
    study: Study,
    *,
    findings: Iterable[Finding] | None,
    results: Mapping[str, Any] | None,
    out_pdf: str | Path,
    split_summary: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | Any | None = None,
    dataset: Mapping[str, Any] | None = None,
    workspace: Workspace | None = None,
    outputs: str | None = None,
) -> Path:
    """Write the PDF from loose parts (the headless ``run`` and ``audit --pdf``).

    ``audit`` has only findings and the dataset description; that is enough. With a
    ``workspace``, what it holds (table, split, provenance, test-set log) fills the gaps.
    ``outputs``: ``"run"`` for the folder of ``deeprules run`` (the default when the study
    has a ``run`` step), ``"pdf"`` for a report on its own (``audit``).
    """
    df, ws_split = None, None
    test_uses: tuple[Mapping[str, Any], ...] = ()
    if workspace is not None:
        df = load_table(workspace, study)
        ws_split = load_split_summary(workspace, study, df)
        provenance = provenance if provenance is not None else load_provenance(workspace, study)
        test_uses = tuple(workspace.test_uses(study.id))
    merged = {**dict(split_summary or {}), **dict(ws_split or {})} or None
    facts = gather_facts(
        study,
        findings=list(findings) if findings is not None else None,
        results=results,
        split_summary=merged,
        provenance=provenance,
        dataset=dataset,
        df=df,
        interpret=_interpret(workspace, study) if workspace is not None else None,
        test_uses=test_uses,
        outputs=outputs,
    )
    if workspace is not None:
        facts = with_privacy(facts, workspace, study)
    return build_pdf(facts, out_pdf)
