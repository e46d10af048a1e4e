"""A methods paragraph for the paper, written from the same facts as the report.

Every number in the paragraph is read from :class:`~._facts.ReportFacts`, so it matches
the PDF and ``results.json``. Steps that were not run are left out rather than invented.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..findings import Finding
from ..study import Study
from ._facts import NOT_STATED, ReportFacts, gather_facts
from ._text import fmt_ci, fmt_num, fmt_p, metric_name, plural
from ._wording import control_verdict, outputs_text

__all__ = ["methods_text", "methods_paragraph"]

_SIDE_WORD = {"train": "training", "tune": "tuning", "test": "test"}


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _count(n: int, word: str) -> str:
    return f"no {word}" if n == 0 else plural(n, word)


def _data(f: ReportFacts) -> list[str]:
    d = f.dataset
    if d is None:
        return []
    shape = []
    if d.rows is not None:
        shape.append(plural(d.rows, "sample"))
    if d.n_features is not None:
        shape.append(plural(d.n_features, "feature"))
    p = d.provenance
    src = f"obtained from {p['source']}" if p.get("source") else f"source {NOT_STATED}"
    src += f", version {p.get('version') or NOT_STATED}"
    src += f", download date {p.get('download_date') or NOT_STATED}"
    out = f"We analysed {d.name}" + (f" ({', '.join(shape)})" if shape else "")
    out += f", {src}; the exact file has SHA-256 {d.sha256}."
    sents = [out]
    if f.label:
        counts = f" ({', '.join(f'{k}: {v}' for k, v in f.class_counts.items())})" if f.class_counts else ""
        sents.append(f"The outcome was {f.label}, treated as a {f.task} task{counts}.")
    return sents


def _design(f: ReportFacts) -> list[str]:
    r = f.study.roles
    out = []
    if f.checks_run:
        n_err = sum(x.severity == "error" for x in f.findings)
        n_warn = sum(x.severity == "warning" for x in f.findings)
        acks = sum(f.study.acknowledgement(x.key) is not None for x in f.findings if x.severity != "info")
        what = (
            "schema, quality, batch-effect and confounding checks"
            if f.confounds_run
            else "schema and quality checks"
        )
        if n_err or n_warn:
            out.append(
                f"Before modelling, the data went through {what}; the checks raised "
                f"{_count(n_err, 'error')} and {_count(n_warn, 'warning')} (listed in the checklist)"
                + (f", {acks} of them acknowledged with a written justification" if acks else "")
                + "."
            )
            unresolved = [
                x for x in f.findings if x.severity == "error" and f.study.acknowledgement(x.key) is None
            ]
            if unresolved:
                out.append(
                    "Not resolved, and qualifying every result below: "
                    + "; ".join(
                        _finding_title(x.code) + (f" ({', '.join(x.columns[:4])})" if x.columns else "")
                        for x in unresolved
                    )
                    + "."
                )
        else:
            out.append(f"Before modelling, the data passed {what} with no error and no warning.")
    if r.batch or r.covariates:
        meta = _join([*r.batch, *r.covariates])
        out.append(f"Batch and covariate columns ({meta}) were tested for association with the outcome.")
    return out


def _finding_title(code: str) -> str:
    """A finding's display title (deeprules_core.names', where it has one)."""
    from .. import names

    title = getattr(names, "finding_title", None)
    return str(title(code)) if title else code.replace("_", " ")


def _split(f: ReportFacts) -> list[str]:
    s = f.split
    if s is None:
        return []
    sizes = _join([f"{_SIDE_WORD.get(k, k)} (n = {v})" for k, v in s.sizes.items()])
    g = f.study.roles.group
    out = f"Samples were assigned to {sizes} sets with the '{s.strategy}' strategy (seed {s.seed})"
    if g:
        out += f", keeping all samples of one individual ({g}) on the same side"
    out += "."
    sents = [out]
    if s.n_folds:
        deep = [m for m in f.deep_models if m.extra.get("cv_note")]
        how = f"Hyper-parameters were chosen by {s.n_folds}-fold cross-validation within the training set"
        if deep and f.baselines:
            names = _join([f.label_of(m.name) for m in deep])
            how = (
                f"The baselines' hyper-parameters were chosen by {s.n_folds}-fold cross-validation within "
                f"the training set, and those of the deep {'model' if len(deep) == 1 else 'models'} ({names}) "
                "by the validation score on the first cross-validation fold of the training set"
            )
        sents.append(how + "; preprocessing was fitted on training data only.")
    return sents


def _models(f: ReportFacts) -> list[str]:
    if not f.models:
        return ["No model had been fitted when this report was generated."]
    base = [f.label_of(m.name, long=True) for m in f.baselines]
    deep = [
        f.label_of(m.name, long=True) + (f" with {m.n_seeds} seeds" if m.n_seeds > 1 else "")
        for m in f.deep_models
    ]
    b = plural(len(base), "baseline")
    d = plural(len(deep), "deep model")
    if base and deep:
        text = f"{b} — {_join(base)} — and {d}, {_join(deep)}"
    elif base:
        text = f"{b}: {_join(base)}"
    else:
        text = f"{d}: {_join(deep)}"
    budget = (
        f"; every model family had the same budget of {f.budget} hyper-parameter trials" if f.budget else ""
    )
    out = [f"We fitted {text}{budget}."]
    pm = f.primary_metric
    sel = f.model(f.selected)
    metrics = []
    if sel is not None:
        side = "test" if sel.metrics.get("test") else "tune"
        panel = sel.metrics.get(side) or {}
        keys = [k for k in (pm, *panel) if k is not None and k in panel]
        keys = list(dict.fromkeys(keys))[:3]
        metrics = [f"{metric_name(k)} {fmt_ci(panel[k])}" for k in keys]
        if metrics:
            where = (
                "the locked test set" if side == "test" else "the tuning set (the test set was not yet used)"
            )
            out.append(f"The selected model, {f.label_of(sel.name)}, reached {_join(metrics)} on {where}.")
            if f.warnings:  # the same warnings as the headline: a score is never reported bare
                out.append("Caution: " + "; ".join(f.warnings) + ".")
    unit = f"individuals ({f.study.roles.group})" if f.study.roles.group else "samples"
    out.append(f"Confidence intervals are 95% bootstrap intervals resampling {unit}.")
    sl = f.shuffled_control
    if sl:
        null = [v for v in sl.get("null") or [] if isinstance(v, int | float)]
        mean = sum(null) / len(null) if null else None
        out.append(
            f"In a shuffled-label control ({plural(len(null), 'permutation')} of the training labels, scored "
            f"on the tuning set), the {f.label_of(sl.get('model'))} model reached a mean "
            f"{metric_name(str(sl.get('metric')))} of {fmt_num(mean)} against {fmt_num(sl.get('real'))} with "
            f"the real labels ({fmt_p(sl.get('p_value'))}); {control_verdict(sl)}."
        )
    return out


def _interpret(f: ReportFacts) -> list[str]:
    if not f.interpret and f.step("interpret") is None:
        return []
    method = f.interpret.get("method") or f.interpret.get("methods") or "feature attributions"
    if isinstance(method, list):
        method = _join([str(m) for m in method])
    return [
        f"Predictions were explained with {method}; top features were checked against batch and "
        "covariate columns, and attributions are reported as associations, not causes."
    ]


def _software(f: ReportFacts) -> list[str]:
    v = f.versions
    libs = [
        f"{name} {v[key]}"
        for key, name in (("scikit-learn", "scikit-learn"), ("torch", "PyTorch"), ("optuna", "Optuna"))
        if key in v
    ]
    return [
        f"The analysis was run with deeprules {v.get('deeprules', '(development version)')} on Python "
        f"{v.get('python', '?')}" + (f" ({_join(libs)})" if libs else "") + f"; {outputs_text(f)}."
    ]


def methods_text(facts: ReportFacts) -> str:
    """The methods paragraph for ``facts``, as plain text."""
    parts = (
        _data(facts) + _design(facts) + _split(facts) + _models(facts) + _interpret(facts) + _software(facts)
    )
    return " ".join(parts)


def methods_paragraph(
    study: Study | ReportFacts,
    results: Mapping[str, Any] | None = None,
    *,
    findings: Iterable[Finding] | None = None,
    split_summary: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | None = None,
    dataset: Mapping[str, Any] | None = None,
) -> str:
    """A methods paragraph for the paper, from a study and its results dict.

    Examples
    --------
    >>> from deeprules_core.study import Study
    >>> "No model had been fitted" in methods_paragraph(Study.new("demo"))
    True
    """
    if isinstance(study, ReportFacts):
        return methods_text(study)
    facts = gather_facts(
        study,
        findings=findings,
        results=results,
        split_summary=split_summary,
        provenance=provenance,
        dataset=dataset,
    )
    return methods_text(facts)
