"""Display names and number formats shared by the engine's sentences, the pages and the report.

A person never reads a code: ``batch_confounding`` is "Batch confounded with the label",
``logistic_regression`` is "logistic regression", ``holdout_batch`` is "held-out batch",
``{"train": 147, "tune": 49}`` is "train 147 · tune 49", and a p-value below what its
test can resolve is "p < 0.001", never "p = 0.000". The app and the PDF both call these
functions, so the same thing reads the same wherever it is shown.

Examples
--------
>>> finding_title("batch_confounding"), model_label("logistic_regression")
('Batch confounded with the label', 'logistic regression')
>>> sizes_text({"train": 147, "tune": 49, "test": 49})
'train 147 · tune 49 · test 49'
>>> fmt_p(0.0), fmt_p(0.0234), fmt_p(1 / 21, n_permutations=20)
('p < 0.001', 'p = 0.023', 'p ≤ 0.048 (the smallest p 20 shuffles can give)')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "control_scored_on",
    "permutation_text",
    "PERMUTATION_TEXT",
    "finite",
    "FINDING_TITLES",
    "finding_title",
    "model_label",
    "METRIC_NAMES",
    "metric_label",
    "fmt_p",
    "param_label",
    "param_value",
    "params_text",
    "sizes_text",
    "evidence_items",
    "test_text",
    "evidence_text",
    "strategy_label",
    "STEP_LABELS",
    "step_label",
    "out_of_date_text",
]

#: Display names of the model families, by task; a family missing here is spelled out.
_MODEL_NAMES: dict[str, tuple[str, str]] = {  # family: (classification, regression)
    "dummy": ("dummy", "dummy"),
    "best_single_feature": ("best single feature", "best single feature"),
    "logistic_regression": ("logistic regression", "linear regression (elastic net)"),
    "random_forest": ("random forest", "random forest"),
    "gradient_boosting": ("gradient boosting", "gradient boosting"),
    "knn": ("k-nearest neighbours", "k-nearest neighbours"),
    "mlp": ("MLP", "MLP"),
    "cnn": ("CNN", "CNN"),
}
#: The long form, for running text (the methods paragraph).
_LONG_NAMES = {
    "dummy": ("a dummy model predicting the class frequencies", "a dummy model predicting the mean"),
    "best_single_feature": (
        "the best single feature chosen on the training folds, in a one-feature logistic regression",
        "the best single feature chosen on the training folds, in a one-feature linear regression",
    ),
    "mlp": ("a multilayer perceptron (MLP)", "a multilayer perceptron (MLP)"),
    "cnn": ("a 1D convolutional network (CNN)", "a 1D convolutional network (CNN)"),
}


#: Metric keys as readers know them.
METRIC_NAMES = {
    "auprc": "AUPRC",
    "auroc": "AUROC",
    "balanced_accuracy": "balanced accuracy",
    "mcc": "MCC",
    "f1": "F1",
    "brier": "Brier score",
    "r2": "R²",
    "mae": "MAE",
    "rmse": "RMSE",
    "spearman": "Spearman ρ",
    "accuracy": "accuracy",
}


def metric_label(key: str) -> str:
    """The reader's name of a metric key (``auprc`` -> 'AUPRC')."""
    return METRIC_NAMES.get(str(key), str(key).replace("_", " "))


def model_label(family: str, task: str = "classification", *, long: bool = False) -> str:
    """The display name of a model family for a task (``long``: spelled out, for prose).

    >>> model_label("logistic_regression", "classification"), model_label("mlp", long=True)
    ('logistic regression', 'a multilayer perceptron (MLP)')
    """
    names = (_LONG_NAMES.get(str(family)) if long else None) or _MODEL_NAMES.get(str(family))
    if names is None:
        return str(family).replace("_", " ")
    return names[1] if task == "regression" else names[0]


#: The title of every finding code, as a heading a biologist reads (pages and PDF).
FINDING_TITLES: dict[str, str] = {
    # schema and metadata
    "numeric_stored_as_string": "Numbers stored as text",
    "mixed_units": "Mixed units in one column",
    "out_of_range_values": "Values outside the possible range",
    "inconsistent_categories": "One category spelled several ways",
    "duplicate_ids": "Duplicate sample ids",
    "missing_values": "Missing values",
    "constant_feature": "Features that never change",
    "identifying_column": "Column that can identify a person",
    # quality
    "exact_duplicates": "Duplicate samples",
    "near_duplicates": "Near-duplicate samples",
    "conflicting_labels": "One sample, two labels",
    "class_imbalance": "Imbalanced classes",
    "label_one_class": "The label has only one class",
    "missing_not_at_random": "Missing values depend on the class or batch",
    "outliers": "Outlying samples",
    # design
    "batch_effect": "Batch effect in the features",
    "batch_confounding": "Batch confounded with the label",
    "confounding_covariate": "Covariate confounded with the label",
    "group_leakage": "Several samples per individual",
    "label_leakage": "A feature leaks the label",
    "high_dim_small_n": "Far more features than samples",
    "too_few_samples": "Too few samples",
    "one_class_label": "The label has a single class",
    # split
    "split_group_overlap": "One individual on both sides of the split",
    "split_duplicate_overlap": "Copies of a sample on both sides of the split",
    # modelling
    "no_signal": "No better than shuffled labels",
    "overfitting": "Overfitting",
    "baseline_not_beaten": "Simpler model not beaten",
    "unequal_tuning": "Models tuned unequally",
    "metadata_predicts_label": "Batch or covariates alone predict the label",
    "attribution_on_confounder": "Top feature is a stand-in for batch or a covariate",
    # privacy
    "sensitive_model_export": "Model trained on sensitive data",
    "membership_inference_risk": "The model remembers its training samples",
    "subgroup_gap": "The model is worse for a subgroup",
}


def finding_title(code: str) -> str:
    """The plain-words title of a finding code (an unknown code is spelled out).

    >>> finding_title("label_leakage"), finding_title("some_new_code")
    ('A feature leaks the label', 'Some new code')
    """
    title = FINDING_TITLES.get(str(code))
    if title is not None:
        return title
    return str(code).replace("_", " ").capitalize()


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None (booleans, text, NaN and infinities)."""
    if isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


#: How the shuffled-label control permuted the labels (``permutation_kind``), in words.
PERMUTATION_TEXT = {
    "rows": "Labels were permuted across samples (no individuals to keep together).",
    "across_groups": "Labels were permuted between individuals; each individual's samples kept one label.",
    "between_groups": "Labels were permuted with whole groups moving together (labels vary within groups).",
}


def permutation_text(kind: Any) -> str:
    """The sentence for a permutation kind; empty when unknown."""
    return PERMUTATION_TEXT.get(str(kind), "")


def control_scored_on(control: Any) -> str:
    """Where a shuffled-label control's scores come from, in a few words (chart axes):
    cross-validation on the training side (issue 13 onwards), else the tune side."""
    n = control.get("n_folds") if isinstance(control, dict) else None
    return f"cross-validated on the training side ({n} folds)" if isinstance(n, int) else "tune side"


def fmt_p(p: Any, *, n_permutations: int | None = None, bare: bool = False) -> str:
    """A p-value as people read it: 'p = 0.023', 'p < 0.001', never 'p = 0.000'.

    With ``n_permutations`` (a permutation test), the smallest p the test can give is
    1/(n+1); a p at that floor is written as an upper bound with the number of shuffles,
    because a larger number of shuffles could have given a smaller p. ``bare`` leaves out
    the leading 'p' (for a table column headed "p").

    >>> fmt_p(0.5), fmt_p(2e-22), fmt_p(None), fmt_p(0.0004, bare=True)
    ('p = 0.500', 'p < 0.001', 'p n/a', '< 0.001')
    >>> fmt_p(0.05, n_permutations=19), fmt_p(0.2, n_permutations=19)
    ('p ≤ 0.050 (the smallest p 19 shuffles can give)', 'p = 0.200')
    """
    v = finite(p)
    if v is None:
        text = "n/a"
    elif n_permutations and v <= 1.0 / (int(n_permutations) + 1) + 1e-12:
        floor = 1.0 / (int(n_permutations) + 1)
        shown = f"{floor:.3f}" if floor >= 0.001 else "0.001"
        text = f"≤ {shown} (the smallest p {int(n_permutations)} shuffles can give)"
    elif v < 0.001:
        text = "< 0.001"
    else:
        text = f"= {v:.3f}"
    if bare:
        return text[2:] if text.startswith("= ") else text
    return "p " + text


#: Parameters (of a split, a model, a step) in plain words.
_PARAM_LABELS = {
    "strategy": "strategy",
    "test_fraction": "test share",
    "tune_fraction": "tune share",
    "n_folds": "cross-validation folds",
    "holdout_batch": "held-out batch",
    "holdout_batches": "held-out batches",
    "batch_column": "batch column",
    "seed": "seed",
    "file": "split file",
    "budget": "tuning trials per model",
    "n_shuffles": "shuffled-label runs",
    "n_boot": "bootstrap resamples",
    "n_seeds": "seeds",
    "max_epochs": "maximum epochs",
    "batch_correct": "batch correction",
    "models": "models",
    "unlock_reason": "reason for unlocking the test set",
    # hyper-parameters
    "C": "inverse regularisation C",
    "l1_ratio": "L1 share of the penalty",
    "penalty": "penalty",
    "n_estimators": "trees",
    "max_depth": "maximum depth",
    "min_samples_leaf": "minimum samples per leaf",
    "min_samples_split": "minimum samples to split",
    "max_features": "features tried per split",
    "learning_rate": "learning rate",
    "max_iter": "maximum iterations",
    "max_leaf_nodes": "maximum leaves",
    "l2_regularization": "L2 regularisation",
    "n_neighbors": "neighbours",
    "weights": "neighbour weights",
    "strategy_dummy": "strategy",
    "alpha": "regularisation strength",
    "hidden": "hidden units",
    "hidden_sizes": "hidden layer sizes",
    "n_layers": "layers",
    "width": "units per layer",
    "dropout": "dropout",
    "weight_decay": "weight decay",
    "lr": "learning rate",
    "batch_size": "batch size",
    "epochs": "epochs",
    "patience": "early-stopping patience",
    "kernel_size": "kernel size",
    "n_filters": "filters",
    "channels": "channels",
}

_STRATEGY_LABELS = {
    "group": "by individual (whole groups to one side)",
    "stratified": "stratified random rows",
    "random": "random rows",
    "leave_batch_out": "leave one batch out",
    "time": "time-ordered",
    "file": "from a split file",
    "auto": "chosen from the design",
}


#: Workflow steps as the pages name them.
STEP_LABELS = {
    "study": "Study",
    "data": "Data",
    "checks": "Checks",
    "confounds": "Batch & confounds",
    "split": "Split",
    "baselines": "Baselines",
    "deep_learning": "Deep learning",
    "deep": "Deep learning",
    "evaluate": "Evaluate",
    "interpret": "Interpret",
    "privacy": "Privacy",
    "report": "Report",
    "run": "run",
    "models": "models",
}


def step_label(step: str) -> str:
    """A workflow step as its page is named (``deep_learning`` -> 'Deep learning')."""
    return STEP_LABELS.get(str(step), str(step).replace("_", " "))


#: What each step did, and how to redo it, for :func:`out_of_date_text`.
_STEP_DONE: dict[str, tuple[str, str]] = {
    "checks": ("Checks were run", "re-run them"),
    "confounds": ("The batch & confound checks were run", "re-run them"),
    "split": ("The split was made", "make it again"),
    "baselines": ("Baselines were fitted", "re-run them"),
    "deep_learning": ("The deep model was trained", "train it again"),
    "evaluate": ("The test-set evaluation was made", "evaluate again"),
    "interpret": ("The interpretation was computed", "re-run it"),
    "privacy": ("The privacy analysis was run", "re-run it"),
}
#: What changed since a step ran (its recorded input that no longer matches the study).
_EARLIER = {
    "dataset": "an earlier table",
    "roles": "earlier column roles",
    "design": "an earlier study design",
    "split": "an earlier split",
}


def out_of_date_text(step: str, reason: str) -> str:
    """The sentence for a step whose recorded inputs are no longer the study's.

    >>> out_of_date_text("checks", "roles")
    'Checks were run on earlier column roles; re-run them on the Checks page.'
    """
    done, redo = _STEP_DONE.get(step, (f"{step_label(step)} was run", "re-run it"))
    return f"{done} on {_EARLIER.get(reason, 'earlier inputs')}; {redo} on the {step_label(step)} page."


def param_label(key: str) -> str:
    """A parameter name in plain words (``holdout_batch`` -> 'held-out batch')."""
    return _PARAM_LABELS.get(str(key), str(key).replace("_", " "))


def strategy_label(strategy: str) -> str:
    """A split strategy in plain words (``leave_batch_out`` -> 'leave one batch out')."""
    return _STRATEGY_LABELS.get(str(strategy), str(strategy).replace("_", " "))


def param_value(value: Any, *, key: str = "") -> str:
    """One parameter value for reading: shares as %, lists joined, floats without long tails."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "strategy":
        return strategy_label(str(value))
    if isinstance(value, Mapping):
        return (
            sizes_text(value)
            if all(finite(v) is not None for v in value.values())
            else ", ".join(f"{param_label(k)} {param_value(v, key=str(k))}" for k, v in value.items())
        )
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(param_value(v) for v in value) or "none"
    if isinstance(value, int):
        return f"{value:,}"
    v = finite(value)
    if v is None:
        return str(value)
    if key.endswith("_fraction") and 0 <= v <= 1:
        return f"{v:.0%}"
    if v == 0 or 1e-4 <= abs(v) < 1e4:
        return f"{v:.4g}"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    return f"{v:.1e}"


def params_text(params: Mapping[str, Any], *, skip: tuple[str, ...] = ()) -> str:
    """Parameters as one readable line: 'held-out batch 3 · test share 20% · seed 0'.

    >>> params_text({"strategy": "leave_batch_out", "holdout_batch": "3", "test_fraction": 0.2})
    'strategy leave one batch out · held-out batch 3 · test share 20%'
    """
    parts = [
        f"{param_label(k)} {param_value(v, key=str(k))}"
        for k, v in params.items()
        if k not in skip and v not in (None, "", [], {})
    ]
    return " · ".join(parts)


def sizes_text(sizes: Mapping[str, Any], unit: str = "") -> str:
    """Counts per side or class: 'train 147 · tune 49 · test 49' (``unit`` appended once)."""

    def one(v: Any) -> str:
        f = finite(v)
        if f is None:
            return str(v)
        return f"{int(f):,}" if f == int(f) else f"{f:.3g}"

    text = " · ".join(f"{k} {one(v)}" for k, v in sizes.items())
    return f"{text} {unit}".strip()


#: Evidence keys in plain words; keys marked None are internal and never printed.
_EVIDENCE_LABELS: dict[str, str | None] = {
    "n": "samples",
    "n_rows": "rows",
    "n_groups": "individuals",
    "n_samples": "samples",
    "n_features": "features",
    "n_columns": "columns",
    "n_pairs": "pairs",
    "n_missing": "missing values",
    "n_values": "values",
    "n_distinct": "distinct values",
    "n_unlabelled": "rows without a label",
    "n_folds": "folds",
    "n_features_with_missing": "features with missing values",
    "n_features_mostly_missing": "features mostly missing",
    "n_features_associated": "features that differ between batches",
    "n_features_associated_beyond_label": "features that differ between batches beyond the label",
    "n_features_tested": "features tested",
    "n_groups_with_several_rows": "individuals with several rows",
    "n_groups_with_several_labels": "individuals with several labels",
    "overall_fraction": "share of all values",
    "fraction": "share",
    "ratio": "ratio",
    "threshold": "threshold",
    "correlation": "correlation",
    "balanced_accuracy": "balanced accuracy",
    "chance": "chance level",
    "score": "score",
    "value": "value",
    "metric": "metric",
    "model": "model",
    "cv": "cross-validation",
    "strategy": "strategy",
    "seed": "seed",
    "diff": "difference",
    "low": None,  # printed together with high
    "high": None,
    "minimum_effect": None,
    "complete": None,
    "excluded_test_rows": None,
    "mixing": None,
    "deep": None,
    "baseline": None,
    "paired": None,
    "many": None,
    "df": None,
    "fdr": None,
    "margin": None,
    "majority_rate": None,
    "null_accuracy": None,
    "testable": None,
    "predictable": None,
    "n_pcs": None,
    "top_features": "top features",
    "n_leak_features": "features that leak the label",
    "chance_balanced_accuracy": "chance balanced accuracy",
    "same_batch_fraction": None,
    "expected_same_batch_fraction": None,
    "mixing_excess": None,
    "within_one_group": None,
    "k": None,
    "min": "smallest",
    "max": "largest",
    "median": "median",
    "units": "units",
    "unit": "unit",
    "test": "test",
    "effect": None,  # printed with effect_name
    "effect_name": None,
    "statistic": None,
    "dof": None,
    "a": None,
    "b": None,
    "p": None,
    "p_value": None,
    "p_bonferroni": None,
    "q": None,
    "findings": None,
    "params": None,
    "explanation": None,
}
_TEST_NAMES = {
    "fisher_exact": "Fisher's exact test",
    "chi2": "chi-squared test",
    "chi_square": "chi-squared test",
    "chi_square_monte_carlo": "chi-squared test (Monte Carlo p)",
    "chi_squared": "chi-squared test",
    "kruskal": "Kruskal-Wallis test",
    "kruskal_wallis": "Kruskal-Wallis test",
    "mann_whitney": "Mann-Whitney test",
    "anova": "ANOVA",
    "spearman": "Spearman correlation",
    "pearson": "Pearson correlation",
    "binomial": "binomial test",
}
_EFFECT_NAMES = {
    "cramers_v": "Cramér's V",
    "eta_squared": "η²",
    "epsilon_squared": "ε²",
    "spearman_rho": "Spearman ρ",
    "rho": "ρ",
    "r2": "R²",
    "auroc": "AUROC",
}


#: Evidence entries that are counts per level, side or class.
_COUNT_TABLES = ("level_sizes", "sizes", "counts", "classes", "sides", "class_counts", "rows_per_group")


def _evidence_value(key: str, value: Any) -> str | None:
    if isinstance(value, Mapping):
        simple = all(finite(v) is not None for v in value.values()) and len(value) <= 8
        if value and simple and (key in _COUNT_TABLES or not any("_" in str(k) for k in value)):
            return sizes_text(value)
        return None
    if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        names = [str(v["feature"]) for v in value if "feature" in v]
        return ", ".join(names[:6]) + (" …" if len(names) > 6 else "") if names else None
    if isinstance(value, list | tuple):
        if not value or len(value) > 6 or not all(isinstance(v, str | int | float) for v in value):
            return None
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        if key == "test":
            return _TEST_NAMES.get(value, value.replace("_", " "))
        if key == "model":
            return model_label(value)
        if key == "metric":
            return metric_label(value)
        return value.replace("_", " ") if len(value) <= 60 else None
    v = finite(value)
    if v is None:
        return None
    if isinstance(value, int) or v == int(v) and abs(v) < 1e9 and key.startswith("n"):
        return f"{int(v):,}"
    if "fraction" in key or key.endswith("_share"):
        return f"{v:.1%}"
    return f"{v:.3g}"


def evidence_items(evidence: Mapping[str, Any], *, limit: int = 6) -> list[tuple[str, str]]:
    """The evidence of a finding as (what, value) pairs a person can read, most telling first.

    The test and its p-value and effect size come first, then counts; internal keys and
    long lists are left out (the whole evidence stays in findings.json).

    >>> evidence_items({"test": "fisher_exact", "p_value": 3e-22, "effect": 0.607,
    ...                 "effect_name": "cramers_v", "statistic": 89.9, "n_rows": 8})
    [('test', "Fisher's exact test"), ('p', '< 0.001'), ("Cramér's V", '0.607'), ('rows', '8')]
    """
    out: list[tuple[str, str]] = []
    ev = dict(evidence)
    if isinstance(ev.get("test"), str):
        out.append(("test", _TEST_NAMES.get(ev["test"], ev["test"].replace("_", " "))))
    for key in ("p_value", "p"):
        if finite(ev.get(key)) is not None:
            n_perm = ev.get("n_shuffles") or ev.get("n_permutations")
            out.append(
                ("p", fmt_p(ev[key], n_permutations=n_perm if isinstance(n_perm, int) else None, bare=True))
            )
            break
    if finite(ev.get("effect")) is not None:
        name = str(ev.get("effect_name") or "effect size")
        out.append((_EFFECT_NAMES.get(name, name.replace("_", " ")), f"{float(ev['effect']):.3g}"))
    if finite(ev.get("low")) is not None and finite(ev.get("high")) is not None:
        out.append(("95% interval", f"{float(ev['low']):.3g} to {float(ev['high']):.3g}"))
    if isinstance(ev.get("a"), str) and isinstance(ev.get("b"), str):
        out.append(("comparison", f"{model_label(ev['a'])} − {model_label(ev['b'])}"))
    for sub in [k for k, v in ev.items() if isinstance(v, Mapping) and k not in _COUNT_TABLES]:
        for key, value in ev.pop(sub).items():  # one level down: known entries only
            if _EVIDENCE_LABELS.get(key) and key not in ev:
                ev[key] = value
    for key, value in ev.items():
        if key == "test" or key in ("p_value", "p", "effect", "effect_name"):
            continue
        label = _EVIDENCE_LABELS.get(key, key.replace("_", " ").removeprefix("n "))
        if label is None:
            continue
        text = _evidence_value(key, value)
        if text is None:
            continue
        out.append((label, text))
    return out[:limit]


def test_text(result: Mapping[str, Any]) -> str:
    """A statistical test's result in words: "Fisher's exact test, p < 0.001, Cramér's V 0.61".

    >>> test_text({"test": "chi_square_monte_carlo", "p_value": 5e-4, "effect": 0.74, "effect_name": "cramers_v"})
    "chi-squared test (Monte Carlo p), p < 0.001, Cramér's V 0.74"
    """
    parts = []
    if isinstance(result.get("test"), str) and result["test"] != "none":
        parts.append(_TEST_NAMES.get(result["test"], result["test"].replace("_", " ")))
    if finite(result.get("p_value")) is not None:
        parts.append(fmt_p(result["p_value"]))
    if finite(result.get("effect")) is not None:
        name = str(result.get("effect_name") or "effect size")
        parts.append(f"{_EFFECT_NAMES.get(name, name.replace('_', ' '))} {float(result['effect']):.2f}")
    return ", ".join(parts)


def evidence_text(evidence: Mapping[str, Any], *, limit: int = 6) -> str:
    """The evidence as one short sentence: "Fisher's exact test, p < 0.001, Cramér's V 0.607; rows 8."

    >>> evidence_text({"n_rows": 8, "n_groups": 4})
    'rows 8; individuals 4'
    """
    items = evidence_items(evidence, limit=limit)
    head = [
        v if k == "test" else f"{k} {v}"
        for k, v in items
        if k in ("test", "p") or k in _EFFECT_NAMES.values()
    ]
    rest = [f"{k} {v}" for k, v in items if not (k in ("test", "p") or k in _EFFECT_NAMES.values())]
    parts = [", ".join(head)] if head else []
    parts += rest
    return "; ".join(p for p in parts if p)
