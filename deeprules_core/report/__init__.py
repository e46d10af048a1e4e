"""The methods-checklist PDF and the reproducibility bundle (all ten tips).

* :func:`build_report` — the PDF of a study in a workspace;
* :func:`report_from_parts` — the PDF from loose parts (``run``, ``audit --pdf``);
* :func:`export_bundle` — the zip that re-runs the study headless (``include_report=True``
  adds the only PDF that describes a bundle: the reports of ``build_report`` and ``run``
  claim none);
* :func:`methods_paragraph` — the methods text for the paper;
* :func:`model_label` — a model family's display name for a task ("linear regression
  (elastic net)" for ``logistic_regression`` on a regression task);
* :func:`gather_facts`, :func:`facts_from_workspace`, :func:`tip_statuses`,
  :func:`dome_items`, :func:`reforms_items` — the pieces, for the Report page.

Examples
--------
>>> from deeprules_core.study import Study
>>> facts = gather_facts(Study.new("demo"))
>>> {t.status for t in tip_statuses(facts)}
{'not done'}
"""

from ._build import build_report, facts_from_workspace, load_findings, load_results, report_from_parts
from ._bundle import BUNDLE_FILES, bundle_study_dict, export_bundle, verify_bundle
from ._checklists import TO_COMPLETE, ChecklistItem, dome_items, reforms_items
from ._facts import OUTPUTS, DatasetFacts, ModelFacts, ReportFacts, SplitFacts, gather_facts, summarise_split
from ._methods import methods_paragraph, methods_text
from ._pdf import build_pdf
from ._text import model_label
from ._tips import STATUSES, TIPS, Missing, Tip, TipStatus, not_applicable_key, tip_statuses

#: The contract name in HELPERS.md.
build_pdf_from_parts = report_from_parts

__all__ = [
    "BUNDLE_FILES",
    "OUTPUTS",
    "STATUSES",
    "TIPS",
    "TO_COMPLETE",
    "ChecklistItem",
    "DatasetFacts",
    "Missing",
    "ModelFacts",
    "ReportFacts",
    "SplitFacts",
    "Tip",
    "TipStatus",
    "build_pdf",
    "build_pdf_from_parts",
    "build_report",
    "bundle_study_dict",
    "dome_items",
    "export_bundle",
    "facts_from_workspace",
    "gather_facts",
    "load_findings",
    "load_results",
    "methods_paragraph",
    "methods_text",
    "model_label",
    "not_applicable_key",
    "reforms_items",
    "report_from_parts",
    "summarise_split",
    "tip_statuses",
    "verify_bundle",
]
