"""DOME and REFORMS checklist items, filled from the facts of a study.

DOME: Walsh et al., "DOME: recommendations for supervised machine learning validation in
biology", Nature Methods 18: 1122–1127 (2021). REFORMS: Kapoor et al., "REFORMS:
Consensus-based recommendations for machine-learning-based science", Science Advances 10:
eadk3452 (2024). Every item the study can answer is answered from the record; the others
say :data:`TO_COMPLETE`, because only the authors know.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..findings import Finding
from ..names import strategy_label
from ._facts import NOT_STATED, ReportFacts
from ._text import fmt_ci, fmt_fixed, fmt_value, metric_name, plural
from ._wording import comparison_text, control_line, deep_training_rows, outputs_text, trials_text

__all__ = ["TO_COMPLETE", "ChecklistItem", "dome_items", "reforms_items"]

TO_COMPLETE = "to be completed by the authors"


@dataclass(frozen=True)
class ChecklistItem:
    section: str
    item: str
    answer: str | None  # None: to be completed by the authors

    @property
    def text(self) -> str:
        return self.answer if self.answer else TO_COMPLETE

    @property
    def filled(self) -> bool:
        return bool(self.answer)


# --------------------------------------------------------------------------- shared answers
def _codes(f: ReportFacts, *codes: str) -> list[Finding]:
    return [x for x in f.findings if x.code in codes]


def _provenance(f: ReportFacts) -> str | None:
    d = f.dataset
    if d is None:
        return None
    p = d.provenance
    parts = [f"{d.name} (sha256 {d.sha256})"]
    for key, label in (("source", "source"), ("version", "version"), ("download_date", "download date")):
        parts.append(f"{label} {p.get(key) or NOT_STATED}")
    if p.get("licence"):
        parts.append(f"licence {p['licence']}")
    return "; ".join(parts) + "."


def _sizes(f: ReportFacts) -> str | None:
    d = f.dataset
    if d is None or (d.rows is None and not f.class_counts):
        return None
    out = plural(d.rows, "sample") if d.rows is not None else ""
    if f.class_counts:
        out += (
            ("; " if out else "") + "per class: " + ", ".join(f"{k} {v}" for k, v in f.class_counts.items())
        )
    if f.study.roles.group and f.split and f.split.groups:
        out += f"; individuals per side: {', '.join(f'{k} {v}' for k, v in f.split.groups.items())}"
    return out + "."


def _split_sizes(f: ReportFacts) -> str | None:
    s = f.split
    if s is None:
        return None
    parts = []
    for side, n in s.sizes.items():
        cc = s.class_counts.get(side)
        parts.append(f"{side} {n}" + (f" ({', '.join(f'{k} {v}' for k, v in cc.items())})" if cc else ""))
    folds = f"; {s.n_folds} cross-validation folds on the training side" if s.n_folds else ""
    return "; ".join(parts) + folds + "."


def _split_distributions(f: ReportFacts) -> str | None:
    s = f.split
    if s is None or not s.class_counts:
        return None
    parts = []
    for side, cc in s.class_counts.items():
        total = sum(cc.values()) or 1
        parts.append(f"{side}: " + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in cc.items()))
    return "Class proportions per side — " + "; ".join(parts) + "."


def _redundancy(f: ReportFacts) -> str | None:
    s = f.split
    if s is None:
        return None
    g = f.study.roles.group
    how = (
        f"Split strategy: {strategy_label(s.strategy)}"
        + (f": all rows of one individual ({g}) stay on one side" if g else "")
        + (f"; individuals on more than one side: {s.group_overlap}" if s.group_overlap is not None else "")
    )
    audit = _codes(f, "split_group_overlap", "split_duplicate_overlap")
    how += (
        f". Leakage audit: {plural(len(audit), 'finding')} ({', '.join(x.title for x in audit)})"
        if audit
        else ". Leakage audit: no group or duplicate overlap between sides"
    )
    return how + f". Split file sha256 {s.sha256[:16]}…" if s.sha256 else how + "."


def _preprocessing(f: ReportFacts) -> str | None:
    if not f.models:
        return None
    pre = f.preprocessing
    if pre.get("steps"):
        n = pre.get("n_features")
        out = f"{plural(int(n), 'feature')}; " if isinstance(n, int) else ""
        out += (
            f"{', '.join(map(str, pre['steps']))}, fitted on {pre.get('fitted_on', 'the training rows only')}"
        )
        if pre.get("batch_correction") or pre.get("batch_correct"):
            out += "; batch correction fitted on the training rows only"
        return out + "."
    r = f.study.roles
    enc = "one-hot encoded sequences" if r.sequence else "numeric features"
    n = f.dataset.n_features if f.dataset and f.dataset.n_features else None
    return (
        f"{n or 'All'} {enc}; imputation and scaling are steps of each model's pipeline, fitted on "
        "the training rows only (and refitted inside every cross-validation fold)."
    )


def _feature_selection(f: ReportFacts) -> str | None:
    if not f.models:
        return None
    chosen = [
        str(x) for x in (f.preprocessing.get("steps") or []) if "most associated with the label" in str(x)
    ]
    if chosen:
        return (
            f"Baselines: {chosen[0]}; the tune and test rows never chose features. "
            "Deep models: every feature column, no selection."
        )
    if f.study.roles.features:
        return f"The authors chose {plural(len(f.study.roles.features), 'feature column')} before modelling."
    return "No data-driven feature selection; every feature column was used."


def _models(f: ReportFacts) -> str | None:
    if not f.models:
        return None
    names = ", ".join(f"{f.label_of(m.name)} ({m.kind})" for m in f.models)
    sel = ""
    if f.selected:
        sel = f"; selected: {f.label_of(f.selected)} (best {metric_name(f.primary_metric or '')} on the tuning side)"
    return names + sel + "."


def _search(f: ReportFacts) -> str | None:
    if not f.models:
        return None
    parts = [f"{f.label_of(m.name)}: {trials_text(m)}" for m in f.models]
    budget = f"Budget {f.budget} trials per model family. " if f.budget is not None else ""
    return budget + "; ".join(parts) + ". The full trial log and chosen values are in results.json."


def _p_vs_n(f: ReportFacts) -> str | None:
    n_feat = f.dataset.n_features if f.dataset else None
    if f.split is None and f.n_train is None:
        n = f.dataset.rows if f.dataset else None
        if n is None or n_feat is None:
            return None
        return (
            f"{plural(n_feat, 'input feature')} for N = {plural(n, 'sample')} (no split has been made yet)."
        )
    n_train = f.n_train
    parts = []
    if n_feat is not None and n_train is not None:
        parts.append(f"{plural(n_feat, 'input feature')} for N = {plural(n_train, 'training sample')}")
    for m in f.deep_models:
        if m.n_params:
            fitted, note = deep_training_rows(f, m)
            per = f" fitted on {plural(fitted, 'training sample')}" if fitted else ""
            parts.append(
                f"{f.label_of(m.name)}: {m.n_params:,} parameters{per}" + (f" ({note})" if note else "")
            )
    return "; ".join(parts) + "." if parts else None


def _fitting(f: ReportFacts) -> str | None:
    pm = f.primary_metric
    lines = []
    for m in f.models:
        tr, tu = m.metrics.get("train"), m.metrics.get("tune")
        if pm and tr and tu and pm in tr and pm in tu:
            lines.append(
                f"{f.label_of(m.name)} {fmt_fixed(tr[pm].get('value'))} → {fmt_fixed(tu[pm].get('value'))}"
            )
    sl = f.shuffled_control
    out = ""
    if lines:
        out = f"Train → tune {metric_name(pm or '')}: " + "; ".join(lines) + "."
    if sl:
        out += f" {control_line(f, sl)}"
    overfit = _codes(f, "overfitting", "no_signal")
    if overfit:
        out += f" Findings: {', '.join(x.title for x in overfit)}."
    return out.strip() or None


def _regularisation(f: ReportFacts) -> str | None:
    keys = (
        "dropout",
        "weight_decay",
        "C",
        "alpha",
        "max_depth",
        "min_samples_leaf",
        "early_stopping",
        "patience",
    )
    parts = []
    for m in f.models:
        vals = [f"{k}={fmt_value(m.params[k], key=k)}" for k in keys if k in m.params]
        if vals:
            parts.append(f"{f.label_of(m.name)}: " + ", ".join(vals))
    return "; ".join(parts) + "." if parts else None


def _metrics(f: ReportFacts, side: str) -> str | None:
    m = f.model(f.selected) or (f.models[0] if f.models else None)
    if m is None or not m.metrics.get(side):
        return None
    panel = m.metrics[side] or {}
    return (
        f"{f.label_of(m.name)} on the {side} side: "
        + "; ".join(f"{metric_name(k)} {fmt_ci(v)}" for k, v in panel.items())
        + "."
    )


def _comparisons(f: ReportFacts) -> str | None:
    base = [f.label_of(m.name) for m in f.baselines]
    if not base:
        return None
    out = "Baselines: " + ", ".join(base) + "."
    for c in f.unique_comparisons[:6]:
        out += f" Paired difference in {comparison_text(f, c)}."
    return out


def _uncertainty(f: ReportFacts) -> str | None:
    if not f.models:
        return None
    unit = f"individuals ({f.study.roles.group})" if f.study.roles.group else "samples"
    return f"95% intervals from a bootstrap that resamples {unit}; paired differences between models."


def _interpretability(f: ReportFacts) -> str | None:
    if not f.interpret and f.step("interpret") is None:
        return None
    method = f.interpret.get("method") or f.interpret.get("methods") or "attributions"
    if isinstance(method, list):
        method = ", ".join(map(str, method))
    return (
        f"{method}; top features checked against batch and covariates; reported as associations, not causes."
    )


def _time(f: ReportFacts) -> str | None:
    parts = [f"{f.label_of(m.name)} {m.duration_s:.1f} s" for m in f.models if m.duration_s is not None]
    return "Fitting and tuning time: " + ", ".join(parts) + "." if parts else None


def _software(f: ReportFacts) -> str:
    v = f.versions
    return (
        f"deeprules {v.get('deeprules', 'development version')}, Python {v.get('python', '?')} (versions of "
        f"every package in the reproducibility record); {outputs_text(f)}."
    )


def _predictions(f: ReportFacts) -> str | None:
    if not f.has_predictions:
        return None
    where = {
        "bundle": "in results.json of the reproducibility bundle",
        "run": "in results.json in the output folder of 'deeprules run'",
    }.get(f.outputs)
    if where is None:
        return None  # stored in the workspace only: whether they are shared is the authors' to say
    return f"Every model's predictions on the tuning side (and the test side once used) are {where}."


def _evaluation_method(f: ReportFacts) -> str | None:
    s = f.split
    if s is None:
        return None
    cv = f"{s.n_folds}-fold cross-validation on the training side for tuning, " if s.n_folds else ""
    uses = f"; test set used {plural(len(f.test_uses), 'time')} (logged)" if f.test_uses else ""
    return f"{cv}selection on the tuning side, one evaluation of the selected model on the locked test set{uses}."


def _missingness(f: ReportFacts) -> str | None:
    if not f.checks_run:
        return None
    found = _codes(f, "missing_values", "missing_not_at_random")
    if not found:
        return "No missing-value finding."
    return " ".join(x.message.split(". ")[0].rstrip(".") + "." for x in found[:3])


def _leakage_features(f: ReportFacts) -> str | None:
    if not f.confounds_run:
        return None
    found = _codes(f, "label_leakage", "metadata_predicts_label")
    names = ", ".join(c for x in found for c in x.columns) or "none"
    return f"Features that nearly copy the label or metadata that predicts it: {names}."


def _outcome(f: ReportFacts) -> str | None:
    if not f.label:
        return None
    cls = f" (classes: {', '.join(f.class_counts)})" if f.class_counts else ""
    return f"{f.label}, {f.task}{cls}."


# --------------------------------------------------------------------------- the lists
def dome_items(facts: ReportFacts) -> list[ChecklistItem]:
    """The DOME items (Data, Optimization, Model, Evaluation)."""
    f = facts
    A = ChecklistItem
    return [
        A("Data", "Provenance and source", _provenance(f)),
        A("Data", "Data set size and samples per class", _sizes(f)),
        A("Data", "Split sizes (training / tuning / test)", _split_sizes(f)),
        A("Data", "Distribution of the splits", _split_distributions(f)),
        A("Data", "Redundancy between splits and how it was removed", _redundancy(f)),
        A("Data", "Public availability of data and split files", None),
        A("Optimization", "Algorithms", _models(f)),
        A("Optimization", "Meta-predictions", "None: no model takes another model's output as input." if f.models else None),
        A("Optimization", "Encoding and preprocessing", _preprocessing(f)),
        A("Optimization", "Number of parameters p versus samples N", _p_vs_n(f)),
        A("Optimization", "Feature selection (training data only)", _feature_selection(f)),
        A("Optimization", "Over- and under-fitting ruled out", _fitting(f)),
        A("Optimization", "Regularisation", _regularisation(f)),
        A("Optimization", "Hyper-parameter search and configuration", _search(f)),
        A("Model", "Interpretability", _interpretability(f)),
        A("Model", "Output", ("class probabilities" if f.task == "classification" else "continuous predictions") if f.models else None),
        A("Model", "Execution time", _time(f)),
        A("Model", "Software availability", _software(f)),
        A("Evaluation", "Evaluation method", _evaluation_method(f)),
        A("Evaluation", "Performance metrics (tuning side)", _metrics(f, "tune")),
        A("Evaluation", "Performance metrics (test set)", _metrics(f, "test")),
        A("Evaluation", "Comparison with simpler baselines", _comparisons(f)),
        A("Evaluation", "Confidence intervals and statistical tests", _uncertainty(f)),
        A("Evaluation", "Availability of raw predictions", _predictions(f)),
    ]  # fmt: skip


def reforms_items(facts: ReportFacts) -> list[ChecklistItem]:
    """The REFORMS modules, with the items a tool can speak to."""
    f = facts
    A = ChecklistItem
    d = f.study.design
    prep = _codes(f, "out_of_range_values", "mixed_units", "numeric_stored_as_string")
    dup = _codes(f, "split_duplicate_overlap", "exact_duplicates", "near_duplicates")
    sl = f.shuffled_control
    return [
        A("Study goals", "Question and population", d.question or None),
        A("Study goals", "Motivation for using machine learning", None),
        A("Computational reproducibility", "Dataset used", _provenance(f)),
        A("Computational reproducibility", "Code and environment", _software(f)),
        A("Computational reproducibility", "Seeds", ", ".join(f"{k} {v}" for k, v in f.seeds.items()) or None),
        A("Data quality", "Data sources and sampling frame", None),
        A("Data quality", "Outcome variable", _outcome(f)),
        A("Data quality", "Sample size", _sizes(f)),
        A("Data quality", "Missingness", _missingness(f)),
        A("Data quality", "Study design", f"{d.study_type} study, replicates {d.replicate_kind.replace('_', ' ')}." if d.study_type != "unknown" else None),
        A("Preprocessing", "Exclusions of rows or features", None),
        A("Preprocessing", "Impossible or inconsistent values", (f"{plural(len(prep), 'finding')}: " + ", ".join(x.title for x in prep) if prep else "No such finding.") if f.checks_run else None),
        A("Preprocessing", "Transformations", _preprocessing(f)),
        A("Modelling", "Models tried and selection", _models(f)),
        A("Modelling", "Hyper-parameter tuning", _search(f)),
        A("Modelling", "Baselines", _comparisons(f)),
        A("Data leakage", "Preprocessing fitted on training data only", _preprocessing(f)),
        A("Data leakage", "Dependence between training and test data", _redundancy(f)),
        A("Data leakage", "Duplicates across splits", (f"{plural(len(dup), 'duplicate finding')}." if dup else "No duplicate finding.") if f.checks_run else None),
        A("Data leakage", "Legitimacy of every feature", _leakage_features(f)),
        A("Metrics and uncertainty", "Metrics with intervals", _metrics(f, "test") or _metrics(f, "tune")),
        A("Metrics and uncertainty", "Uncertainty estimation", _uncertainty(f)),
        A("Metrics and uncertainty", "Controls", control_line(f, sl) if sl else None),
        A("Generalisability and limits", "External validation", None),
        A("Generalisability and limits", "Limitations", None),
    ]  # fmt: skip
