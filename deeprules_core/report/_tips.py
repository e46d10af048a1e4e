"""The status of each of the ten tips, from the facts of a study.

A tip is

* **not applicable** when the user said so, with a reason (an acknowledgement whose key is
  ``tip:N``, e.g. ``tip:5`` "no deep model: the baselines answer the question");
* **needs attention** when a warning or an error of that tip is not acknowledged, or when a
  question only the authors can answer is open while their data are analysed (Tip 10:
  are the data sensitive?);
* **not done** when a step the tip asks for has not been run (the missing steps are
  listed with the page that does them);
* **done** otherwise.

Titles follow Lee et al., "Ten quick tips for deep learning in biology", PLoS Comput Biol
18(3): e1009803 (2022); the explanations are ours.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..findings import Finding
from ..names import permutation_text, step_label
from ..study import Acknowledgement
from ._facts import NOT_STATED, ReportFacts
from ._text import fmt_fixed, fmt_num, metric_name, plural
from ._wording import (
    comparison_text,
    control_line,
    deep_training_rows,
    has_hyperparameters,
    sensitive_text,
    trials_text,
)

__all__ = ["STATUSES", "TIPS", "Tip", "Missing", "TipStatus", "tip_statuses", "not_applicable_key"]

STATUSES = ("done", "needs attention", "not done", "not applicable")
#: Samples per class below which deep learning is rarely justified (Lee et al. 2022, Tip 1:
#: "a hundred samples per class" is a bare minimum).
MIN_PER_CLASS_FOR_DL = 100


@dataclass(frozen=True)
class Tip:
    number: int
    title: str
    explanation: str
    page: str  # the page (ui.state.PAGES key) where the tip's work is done


TIPS: tuple[Tip, ...] = (
    Tip(
        1,
        "Decide whether deep learning is appropriate for your problem",
        "Deep learning needs many samples, compute and expertise. Look at the data first, keep "
        "training, tuning and test data apart, use metrics that stay honest under class imbalance, "
        "and ask whether a simpler model already answers the question.",
        "checks",
    ),
    Tip(
        2,
        "Use traditional methods to establish performance baselines",
        "A deep model is only impressive next to simple models fitted in the same framework and "
        "tuned just as hard; an untuned baseline makes any comparison unfair.",
        "baselines",
    ),
    Tip(
        3,
        "Understand the complexities of training deep neural networks",
        "Training is noisy: repeat runs with different seeds, record seeds, versions and settings, "
        "and start with small networks.",
        "deep_learning",
    ),
    Tip(
        4,
        "Know your data and your question",
        "Record where the data came from and which version; know the study design, whether "
        "replicates are biological or technical and whether several samples come from one "
        "individual; look for batch effects and confounders.",
        "data",
    ),
    Tip(
        5,
        "Choose an appropriate data representation and neural network architecture",
        "Let the data choose the architecture: fully connected networks for unordered "
        "measurements, convolutions for sequences and images; keep the number of parameters in "
        "proportion to the number of samples.",
        "deep_learning",
    ),
    Tip(
        6,
        "Tune your hyperparameters extensively and systematically",
        "Search hyper-parameters systematically on training data only, with the same budget for "
        "every model, and report the search and the chosen values.",
        "baselines",
    ),
    Tip(
        7,
        "Address deep neural networks' increased tendency to overfit the dataset",
        "Use a test set once, watch the gap between training and tuning performance, and check "
        "that the model beats a copy of itself trained on shuffled labels.",
        "evaluate",
    ),
    Tip(
        8,
        "Deep learning models can be made more transparent",
        "Find the features that drive predictions, for the whole model and for single samples.",
        "interpret",
    ),
    Tip(
        9,
        "Don't over-interpret predictions",
        "A feature that predicts is not a cause; check that top features are not stand-ins for a "
        "batch or a covariate.",
        "interpret",
    ),
    Tip(
        10,
        "Actively consider the ethical implications of your work",
        "Follow ethics and data-governance rules; models trained on sensitive data can leak it, so "
        "do not share their weights without privacy protection.",
        "study",
    ),
)


@dataclass(frozen=True)
class Missing:
    """A step a tip asks for that has not been done, and the page that does it.

    ``attention``: an answer only the authors can give, whose absence makes the tip
    "needs attention" rather than "not done" (printed as "to be completed by the authors").
    """

    text: str
    page: str
    attention: bool = False


@dataclass(frozen=True)
class TipStatus:
    tip: Tip
    status: str
    done: tuple[str, ...] = ()
    missing: tuple[Missing, ...] = ()
    open_findings: tuple[Finding, ...] = ()
    acknowledged: tuple[tuple[Finding, Acknowledgement], ...] = ()
    notes: tuple[Finding, ...] = ()
    reason: str = ""
    charts: tuple[str, ...] = ()


def not_applicable_key(tip: int) -> str:
    """The acknowledgement key that marks a tip as not applicable."""
    return f"tip:{int(tip)}"


Lines = tuple[list[str], list[Missing]]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _panel_line(facts: ReportFacts) -> str | None:
    for m in facts.models:
        panel = m.metrics.get("tune") or m.metrics.get("test")
        if panel:
            names = ", ".join(metric_name(k) for k in panel)
            return f"Metric panel with 95% bootstrap intervals: {names}."
    return None


def _tip1(f: ReportFacts) -> Lines:
    done, missing = [], []
    if f.checks_run:
        n = len([x for x in f.findings if x.code in _CHECK_CODES])
        done.append(f"Data inspected by the schema and quality checks ({plural(n, 'finding')}).")
    else:
        missing.append(Missing("Run the data checks.", "checks"))
    if f.class_counts:
        smallest = min(f.class_counts.values())
        counts = ", ".join(f"{k}: {v}" for k, v in f.class_counts.items())
        verdict = (
            "below the rough minimum of 100 per class for deep learning; simpler models are "
            "likely to be as good"
            if smallest < MIN_PER_CLASS_FOR_DL
            else "enough for a deep model to be worth trying"
        )
        done.append(f"Samples per class: {counts}; smallest class {smallest}, {verdict}.")
    if f.split is not None:
        done.append("Training, tuning and test data are kept apart (see Tip 7).")
    else:
        missing.append(Missing("Make a replicate-aware train / tune / test split.", "split"))
    line = _panel_line(f)
    if line:
        done.append(line)
    else:
        missing.append(Missing("Evaluate models with the metric panel.", "baselines"))
    single = [x for x in f.findings if x.code == "one_feature_suffices"]
    if single:  # the marker baseline ties the best model: say what it means
        ev = single[0].evidence
        feature = f"'{ev.get('feature')}'" if ev.get("feature") else "one feature"
        done.append(
            f"The best single feature, {feature} (chosen on the training folds), does as well as any "
            "model: one measurement answers the question, and deep learning is not needed."
        )
    return done, missing


def _tip2(f: ReportFacts) -> Lines:
    done, missing = [], []
    tuned = [m for m in f.baselines if m.family != "dummy"]
    if tuned:
        trials = ", ".join(f"{f.label_of(m.name)} ({trials_text(m)})" for m in f.baselines)
        done.append(f"Baselines fitted in the same framework: {trials}.")
        searched = [m for m in f.models if has_hyperparameters(m)]  # 1 fit for the others, by design
        if f.budget is not None:
            done.append(f"Tuning budget: {f.budget} trials per model family, the same for all.")
        if len({m.n_trials for m in searched}) > 1:
            runs = ", ".join(f"{f.label_of(m.name)} {m.n_trials}" for m in searched)
            done.append(f"Trials actually run differ between the searched models: {runs}.")
    else:
        missing.append(Missing("Fit tuned baselines (logistic regression, random forest, ...).", "baselines"))
    for c in f.unique_comparisons[:6]:
        done.append(f"Paired difference in {comparison_text(f, c)}.")
    return done, missing


def _sd(value: Any) -> str:
    return fmt_num(value, 4) if isinstance(value, int | float) and 0 < abs(value) < 0.001 else fmt_num(value)


def _tip3(f: ReportFacts) -> Lines:
    done, missing = [], []
    pm = f.primary_metric or ""
    for m in f.deep_models:
        line = f"{f.label_of(m.name)}: {plural(m.n_seeds, 'seed')}, base seed {m.seed}"
        spread = (m.extra.get("seed_summary") or {}).get(pm)
        if isinstance(spread, dict) and spread.get("mean") is not None:
            line += (
                f"; {metric_name(pm)} across seeds {fmt_num(spread['mean'])} ± {_sd(spread.get('sd'))} (SD)"
            )
        if m.extra.get("deterministic") is not None:
            line += f"; deterministic algorithms {'on' if m.extra['deterministic'] else 'off'}"
        if m.extra.get("device"):
            line += f"; device {m.extra['device']}"
        done.append(line + ".")
    if f.deep_models and all(m.n_seeds >= 2 for m in f.deep_models):
        pass
    elif f.deep_models:
        missing.append(Missing("Repeat the deep model with several seeds.", "deep_learning"))
    else:
        missing.append(Missing("Train the deep model with several seeds.", "deep_learning"))
    if f.seeds:
        done.append("Seeds recorded: " + ", ".join(f"{step_label(k)} {v}" for k, v in f.seeds.items()) + ".")
    keys = [k for k in ("python", "torch", "scikit-learn", "numpy") if k in f.versions]
    done.append("Environment recorded: " + ", ".join(f"{k} {f.versions[k]}" for k in keys) + ".")
    return done, missing


def _tip4(f: ReportFacts) -> Lines:
    done, missing = [], []
    d = f.dataset
    if d is None:
        missing.append(Missing("Load the data and record its provenance.", "data"))
    else:
        p = d.provenance
        have = [k for k in ("source", "version", "download_date", "licence") if p.get(k)]
        unstated = [k.replace("_", " ") for k in ("source", "version", "download_date") if k not in have]
        done.append(
            f"Dataset {d.name}, sha256 {d.sha256[:16]}…; "
            + (
                f"provenance stated: {', '.join(k.replace('_', ' ') for k in have)}."
                if have
                else "no provenance stated."
            )
        )
        if unstated:
            missing.append(
                Missing(f"Record the dataset's {', '.join(unstated)} ({NOT_STATED} so far).", "data")
            )
    design = f.study.design
    if design.question or design.study_type != "unknown":
        done.append(
            f"Design: {design.study_type} study, replicates {design.replicate_kind.replace('_', ' ')}"
            + (", several time points" if design.time_points else "")
            + (f", matching: {design.matching}" if design.matching else "")
            + "."
        )
    else:
        missing.append(Missing("Answer the design questionnaire.", "study"))
    r = f.study.roles
    if r.group:
        done.append(f"Individual (group) column: {r.group}.")
    elif design.repeated_units:
        missing.append(Missing("Name the column that identifies the individual.", "data"))
    if r.batch or r.covariates:
        done.append(
            f"Batch columns: {', '.join(r.batch) or 'none'}; covariates: {', '.join(r.covariates) or 'none'}."
        )
    if f.confounds_run:
        done.append("Batch-effect and confounding checks run.")
    else:
        missing.append(Missing("Run the batch-effect and confounding checks.", "confounds"))
    return done, missing


def _tip5(f: ReportFacts) -> Lines:
    done, missing = [], []
    for m in f.deep_models:
        size = f" with {m.n_params:,} parameters" if m.n_params else ""
        fitted, note = deep_training_rows(f, m)
        per = f", fitted on {plural(fitted, 'training sample')}" if fitted else ""
        done.append(f"Architecture: {f.label_of(m.name)}{size}{per}" + (f" ({note})" if note else "") + ".")
        arch = m.extra.get("architecture") or {}
        if isinstance(arch, dict) and arch.get("reason"):
            done.append(f"Why this architecture: {arch['reason']}")
        if isinstance(arch, dict) and arch.get("warning"):
            done.append(f"Warning: {arch['warning']}")
    if not f.deep_models:
        missing.append(Missing("Fit a deep model whose architecture suits the data.", "deep_learning"))
    return done, missing


def _tip6(f: ReportFacts) -> Lines:
    done, missing = [], []
    fitted = [m for m in f.models if m.family != "dummy"]
    tunable = [m for m in fitted if has_hyperparameters(m)]
    for m in fitted:
        score = ""
        if m.cv_score is not None:
            how = "validation score (first CV fold)" if m.kind == "deep" else "cross-validated score"
            score = f", best {how} {fmt_num(m.cv_score)}"
        done.append(f"{f.label_of(m.name)}: {trials_text(m)}{score}.")
    if not tunable:
        missing.append(Missing("Search hyper-parameters for every model.", "baselines"))
    elif any(m.n_trials < 2 for m in tunable):
        missing.append(Missing("Tune every model (some were fitted with a single setting).", "baselines"))
    return done, missing


def _tip7(f: ReportFacts) -> Lines:
    done, missing = [], []
    if f.split:
        sizes = ", ".join(f"{k} {v}" for k, v in f.split.sizes.items())
        done.append(f"Split '{f.split.strategy}' (seed {f.split.seed}): {sizes}.")
        if f.split.group_overlap is not None:
            done.append(f"Individuals on more than one side: {f.split.group_overlap}.")
    else:
        missing.append(Missing("Make a split with a locked test set.", "split"))
    controls = f.all_shuffled_controls
    for ctrl in controls:
        extra = (
            (f" {permutation_text(ctrl['permutation'])}" if permutation_text(ctrl.get("permutation")) else "")
            + (f" Scored on the {ctrl['scored_on']}." if ctrl.get("scored_on") else "")
            + (f" Schedule: {ctrl['schedule']}." if ctrl.get("schedule") else "")
        )
        done.append(control_line(f, ctrl) + extra)
    if not controls:
        missing.append(Missing("Run the shuffled-label control.", "evaluate"))
    m = f.model(f.selected) or (f.models[0] if f.models else None)
    pm = f.primary_metric
    train, tune = (m.metrics.get("train"), m.metrics.get("tune")) if m else (None, None)
    if m and pm and train and tune:
        tr, tu = train.get(pm, {}), tune.get(pm, {})
        done.append(
            f"{f.label_of(m.name)}: {metric_name(pm)} train {fmt_fixed(tr.get('value'))} vs tune "
            f"{fmt_fixed(tu.get('value'))}."
        )
    if f.test_uses:
        done.append(f"Test set used {plural(len(f.test_uses), 'time')} (logged).")
    return done, missing


def _tip8(f: ReportFacts) -> Lines:
    if f.step("interpret") is None and not f.interpret:
        return [], [Missing("Compute feature attributions.", "interpret")]
    method = f.interpret.get("method") or f.interpret.get("methods") or "recorded in the interpret step"
    if isinstance(method, list):
        method = ", ".join(map(str, method))
    done = [f"Attribution method: {method}."]
    ranked = f.interpret.get("rankings") or {}
    for name, lists in ranked.items():
        for r in lists:
            if r.get("top"):
                done.append(f"{f.label_of(name)}, {r['method']}: " + ", ".join(map(str, r["top"])) + ".")
    top = f.interpret.get("top_features")
    if top and not ranked:
        done.append("Top features: " + ", ".join(map(str, list(top)[:10])) + ".")
    return done, []


def _tip9(f: ReportFacts) -> Lines:
    done, missing = ["Every attribution is reported as an association, not a cause."], []
    if f.step("interpret") is not None or f.interpret:
        guard = (f.interpret or {}).get("guard_findings")
        done.append(
            "Top features checked against batch and covariate columns: "
            + (
                f"{plural(len(guard), 'top feature finding')} (see the findings)."
                if guard
                else "none is a proxy for them."
            )
            if guard is not None
            else "Top features checked against batch and covariate columns."
        )
    else:
        missing.append(Missing("Check top features against batch and covariates.", "interpret"))
    md = f.controls.get("metadata_only") if f.controls else None
    if md:
        done.append(_metadata_line(f, md))
    return done, missing


def _metadata_line(f: ReportFacts, md: Mapping[str, Any]) -> str:
    """The metadata-only model of the modelling step, and how it differs from the checks' one."""
    val = md.get("value", md.get("score", md.get("real")))
    cols = f" from {', '.join(map(str, md['columns']))}" if md.get("columns") else ""
    chance = f" vs chance {fmt_num(md['chance'])}" if md.get("chance") is not None else ""
    p = md.get("p_value")
    p_text = "" if p is None else (", p < 0.001" if p < 0.001 else f", p = {p:.3f}")
    n = md.get("n")
    rows = (
        f"cross-validated on the {plural(int(n), 'row')} outside the test set"
        if md.get("excluded_test_rows") and isinstance(n, int)
        else "cross-validated"
    )
    out = f"Metadata-only model{cols}: {metric_name(str(md.get('metric', '')))} {fmt_num(val)}{chance}{p_text} ({rows})."
    other = next((x for x in f.findings if x.code == "metadata_predicts_label"
                  and not x.evidence.get("excluded_test_rows") and x.evidence.get("n") != n), None)  # fmt: skip
    if other is not None:
        score = other.evidence.get("score", other.evidence.get("value"))
        n_all = other.evidence.get("n")
        on = f"all {plural(int(n_all), 'row')}" if isinstance(n_all, int) else "every row"
        out += (
            f" The checks' finding below quotes {fmt_num(score)}: the same kind of model on {on}, before the "
            "split; the number above leaves the test set out and is the one to compare with the models."
        )
    return out


def _tip10(f: ReportFacts) -> Lines:
    done, missing = [], []
    d = f.study.design
    answer, stated = sensitive_text(f)
    in_use = f.dataset is not None or f.checks_run or f.has_results
    if d.sensitive_data:
        done.append(
            "Sensitive data: yes; models that memorise training rows (k-nearest neighbours, forests, boosting, "
            "deep networks without differential privacy) are not exported."
        )
        if d.ethics_approval:
            done.append(f"Ethics approval: {d.ethics_approval}.")
        else:
            missing.append(Missing("Give the ethics approval reference.", "study", attention=in_use))
    elif stated:
        done.append(f"Sensitive data: {answer}.")
        done.append(f"Ethics approval: {d.ethics_approval}.")
    else:
        done.append(f"Sensitive data: {answer}.")
        missing.append(
            Missing(
                "Say whether the data are sensitive (patients, human genomes, anything identifying) and give "
                "the ethics approval, or 'not required' (design questionnaire).",
                "study",
                attention=in_use,
            )
        )
    if f.checks_run:
        done.append("Identifying columns looked for by the checks.")
    from ._privacy import tip10_lines  # the privacy step: leak risk measured, DP, subgroups, card

    done += tip10_lines(f)
    analysis = (f.privacy or {}).get("privacy") or {}
    if d.sensitive_data and f.has_results and not analysis.get("membership_inference"):
        missing.append(Missing("Measure the membership-inference risk of every model.", "privacy"))
    if d.sensitive_data and f.has_results and not (f.privacy or {}).get("model_card"):
        missing.append(Missing("Write the model card (intended use, limits).", "privacy", attention=True))
    return done, missing


_CHECK_CODES = {
    "numeric_stored_as_string", "mixed_units", "out_of_range_values", "inconsistent_categories",
    "duplicate_ids", "missing_values", "constant_feature", "identifying_column", "exact_duplicates",
    "near_duplicates", "conflicting_labels", "class_imbalance", "label_one_class", "missing_not_at_random",
    "outliers",
    "too_few_samples",
}  # fmt: skip
_RULES: dict[int, Callable[[ReportFacts], Lines]] = {
    1: _tip1, 2: _tip2, 3: _tip3, 4: _tip4, 5: _tip5, 6: _tip6, 7: _tip7, 8: _tip8, 9: _tip9, 10: _tip10,
}  # fmt: skip
_CHARTS: dict[int, tuple[str, ...]] = {
    1: ("class_balance",),
    2: ("metrics",),
    3: ("deep_learning_curve",),
    4: ("pca",),
    7: ("split", "shuffled_null", "learning_curve"),
}


#: The tips whose work each step does: a step out of date leaves them "not done".
_STEP_TIPS: dict[str, tuple[int, ...]] = {
    "checks": (1,),
    "confounds": (4,),
    "split": (1, 7),
    "baselines": (2, 6),
    "deep_learning": (3, 5),
    "evaluate": (7,),
    "interpret": (8, 9),
    "privacy": (10,),
}


def _with_out_of_date(facts: ReportFacts, tip: int, missing: list[Missing]) -> list[Missing]:
    """The tip's to-do list with "re-run" in place of "run" for each step out of date."""
    stale = {s: text for s, text in facts.out_of_date.items() if tip in _STEP_TIPS.get(s, ())}
    if not stale:
        return missing
    return [m for m in missing if m.page not in stale] + [Missing(text, step) for step, text in stale.items()]


def tip_statuses(facts: ReportFacts) -> list[TipStatus]:
    """One :class:`TipStatus` per tip, in order. A tip whose step is out of date (its
    inputs changed since it ran, :mod:`deeprules_core.current`) is never "done"."""
    study = facts.study
    out = []
    for tip in TIPS:
        done, missing = _RULES[tip.number](facts)
        missing = _with_out_of_date(facts, tip.number, missing)
        open_f, acked, notes = [], [], []
        for f in facts.findings_for_tip(tip.number):
            ack = study.acknowledgement(f.key)
            if ack is not None:
                acked.append((f, ack))
            elif f.severity == "info":
                notes.append(f)
            else:
                open_f.append(f)
        na = study.acknowledgement(not_applicable_key(tip.number))
        if na is not None:
            status, reason = "not applicable", na.justification
        elif open_f or any(m.attention for m in missing):
            status, reason = "needs attention", ""
        elif missing:
            status, reason = "not done", ""
        else:
            status, reason = "done", ""
        out.append(
            TipStatus(
                tip=tip,
                status=status,
                done=tuple(done),
                missing=tuple(missing),
                open_findings=tuple(open_f),
                acknowledged=tuple(acked),
                notes=tuple(notes),
                reason=reason,
                charts=_CHARTS.get(tip.number, ()),
            )
        )
    return out
