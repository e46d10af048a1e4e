"""Sentences that several parts of the report share, so that each says the same true thing.

The shuffled-label control's verdict, the files that accompany the report, the dataset's
provenance, the sensitive-data answer, the headline and the trial counts are each worded
here once; the tips, the checklists, the methods paragraph and the PDF tables call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..intake._provenance import source_kind
from ._facts import NOT_STATED, DatasetFacts, ModelFacts, ReportFacts
from ._text import fmt_ci, fmt_num, fmt_p, metric_name, plural

__all__ = [
    "ALPHA",
    "MIN_SHUFFLES_FOR_P",
    "control_beats_null",
    "control_verdict",
    "control_line",
    "outputs_text",
    "run_files_text",
    "provenance_rows",
    "sensitive_text",
    "headline",
    "trials_text",
    "deep_training_rows",
    "comparison_text",
]

#: A shuffled-label control is significant at p <= ALPHA (the no_signal finding fires at
#: p > ALPHA: one rule). With n shuffles the smallest attainable p is 1 / (n + 1).
ALPHA = 0.05
#: Shuffles needed before p can reach ALPHA: 1 / (19 + 1) = 0.05.
MIN_SHUFFLES_FOR_P = 19


def _null(ctrl: Mapping[str, Any]) -> list[float]:
    return [float(v) for v in ctrl.get("null") or [] if isinstance(v, int | float)]


def control_beats_null(ctrl: Mapping[str, Any]) -> bool | None:
    """True when the real score beats the shuffled-label runs at p < 0.05; False when it does
    not; None when it beat every shuffle but there were too few shuffles to tell."""
    null, real, p = _null(ctrl), ctrl.get("real"), ctrl.get("p_value")
    if not null or not isinstance(real, int | float):
        return False
    if isinstance(p, int | float) and p <= ALPHA:
        return True
    if len(null) < MIN_SHUFFLES_FOR_P:  # p cannot fall below 0.05: inconclusive, as the finding says
        return None
    return False


def control_verdict(ctrl: Mapping[str, Any]) -> str:
    """What the control shows, in words that follow its result (never 'ruled out' on p >= 0.05)."""
    null = _null(ctrl)
    n = len(null)
    beats = control_beats_null(ctrl)
    if beats:
        return "the real labels scored above the shuffled-label runs: the model learned more than chance from the labels"
    if beats is None:
        return (
            f"inconclusive: with {plural(n, 'shuffle')} the smallest attainable p is {1 / (n + 1):.2f}, so this "
            f"control can neither show that the model beats shuffled labels at p < {ALPHA} nor rule it out; "
            f"run at least {MIN_SHUFFLES_FOR_P} shuffles"
        )
    return (
        "the model did not beat the shuffled-label runs: there is no evidence that it learned anything "
        "from the real labels (no_signal), and over-fitting is not ruled out"
    )


def control_line(f: ReportFacts, ctrl: Mapping[str, Any]) -> str:
    """One sentence: whose control, the numbers, and the verdict."""
    null = _null(ctrl)
    mean = sum(null) / len(null) if null else None
    return (
        f"Shuffled-label control of {f.label_of(ctrl.get('model'))} "
        f"({metric_name(str(ctrl.get('metric')))}): real {fmt_num(ctrl.get('real'))} vs shuffled mean "
        f"{fmt_num(mean)} over {plural(len(null), 'shuffle')}, {fmt_p(ctrl.get('p_value'))}; "
        f"{control_verdict(ctrl)}."
    )


RUN_FILES = (
    ("study.yaml", "the study file; 'python -m deeprules_core run study.yaml --out DIR' re-runs the analysis"),
    ("split.csv", "which sample went to train, tune or test and which CV fold"),
    ("results.json", "every model's parameters, seeds, search log, metrics with intervals, controls, "
                     "predictions and package versions"),
    ("findings.json", "every finding of the checks with its evidence, and the dataset's sha256"),
    ("report.pdf", "this report"),
)  # fmt: skip


def run_files_text() -> str:
    """What ``deeprules run`` writes, file by file."""
    return (
        "; ".join(f"{name} ({what})" for name, what in RUN_FILES)
        + "; workspace/ holds the run's internal store. No checksum file or data copy is written."
    )


def outputs_text(f: ReportFacts) -> str:
    """Where the study file, split and results are, as far as this report knows."""
    if f.outputs == "bundle":
        return (
            "the reproducibility bundle that holds this report (study.yaml, data, split.csv, "
            "results.json, findings.json, versions.json, README and SHA256SUMS) re-runs the analysis "
            "with 'python -m deeprules_core run study.yaml --out DIR'"
        )
    if f.outputs == "run":
        return (
            "the output folder of 'deeprules run' holds study.yaml, split.csv, results.json, "
            "findings.json and this report; 'python -m deeprules_core run study.yaml --out DIR' re-runs "
            "the analysis"
        )
    return (
        "no study file, split file or results file was exported with this report; where code and "
        f"files are shared is {NOT_STATED} (the Report page exports a reproducibility bundle)"
    )


def provenance_rows(d: DatasetFacts) -> list[tuple[str, str]]:
    """(label, value) for every provenance field, 'not stated' where the user gave none."""
    p = d.provenance
    rows = []
    for key, label in (("source", "Source"), ("version", "Version"), ("download_date", "Download date"),
                       ("licence", "Licence"), ("description", "Description"), ("entered_by", "Entered by")):  # fmt: skip
        value = p.get(key) or NOT_STATED
        if key == "source" and p.get("source") and source_kind(str(p["source"])) is None:
            value = f"{p['source']} (a description; no accession, DOI or URL given)"
        if key == "source" and p.get("local_file") and not p.get("source"):
            value = f"{NOT_STATED} (read from {p['local_file']})"
        if key == "download_date" and p.get("file_date") and not p.get("download_date"):
            value = f"{NOT_STATED} (the file's modification date is {p['file_date']})"
        rows.append((label, value))
    return rows


def sensitive_text(f: ReportFacts) -> tuple[str, bool]:
    """The sensitive-data answer as the report may state it, and whether it was stated."""
    d = f.study.design
    if d.sensitive_data:
        return "yes", True
    if not f.design_answered:
        return NOT_STATED, False
    if d.ethics_approval:
        return "no (design questionnaire)", True
    return "no (the default answer; not confirmed)", False


def comparison_text(f: ReportFacts, c: Mapping[str, Any]) -> str:
    """'AUPRC, logistic regression − dummy: 0.667 (95% CI 0.667–0.667)'."""
    ci = fmt_ci({"value": c.get("diff"), "low": c.get("low"), "high": c.get("high")})
    return f"{metric_name(str(c.get('metric')))}, {f.label_of(c.get('a'))} − {f.label_of(c.get('b'))}: {ci}"


def headline(f: ReportFacts) -> str:
    """One sentence on the selected model (made by :func:`deeprules_core.steps.headline`
    when the facts were gathered, so the pages and the PDF say the same)."""
    return f.statement


def has_hyperparameters(m: ModelFacts) -> bool:
    """False for a model with nothing to tune (the dummy, the best single feature)."""
    note = str(m.extra.get("tuning_note") or "")
    return not (m.family == "dummy" or note.startswith("no hyper-parameters"))


def trials_text(m: ModelFacts, *, short: bool = False) -> str:
    """'5 trials', or '1 fit, no hyper-parameters' for a model without any ('1 fit' when short)."""
    if not has_hyperparameters(m):
        return "1 fit" if short else "1 fit, no hyper-parameters"
    return plural(m.n_trials, "trial")


def deep_training_rows(f: ReportFacts, m: ModelFacts) -> tuple[int | None, str]:
    """The rows a deep model's weights were fitted on, and a note on the rest of the training side."""
    arch = m.extra.get("architecture") or {}
    fitted = arch.get("n_samples") if isinstance(arch, Mapping) else None
    side = f.n_train
    if isinstance(fitted, int):
        if side and side > fitted:
            return fitted, (
                f"the other {side - fitted} of the {side} training-side rows were held out for early stopping"
            )
        return fitted, ""
    return side, ""
