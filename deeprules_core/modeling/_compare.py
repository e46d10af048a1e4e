"""Model selection, paired comparisons and the modelling findings, from the results dict alone.

Everything here reads and writes the results dict (see HELPERS.md), so it can be re-run
after more models (the deep models) were added: :func:`finalize_results`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..findings import Finding, sort_findings
from ._metrics import paired_difference

__all__ = [
    "ALPHA",
    "MIN_SHUFFLES_FOR_P",
    "OVERFIT_GAP",
    "select_model",
    "compare_models",
    "check_equal_tuning",
    "check_no_signal",
    "check_overfitting",
    "check_single_feature",
    "single_feature_tie",
    "check_baseline_beaten",
    "modelling_findings",
    "finalize_results",
]

#: Significance level of the shuffled-label control.
ALPHA = 0.05
#: With fewer permutations the p-value cannot fall below ALPHA ((1+0)/(1+n) >= 0.05 for
#: n <= 19): the control is then inconclusive, never a verdict.
MIN_SHUFFLES_FOR_P = 20
#: A drop of more than 0.25 in AUPRC (or R²) from the training rows to the tune rows means
#: a quarter of the metric's range was learned from training-set particulars. Smaller gaps
#: are ordinary for flexible models (a forest always fits its own rows almost perfectly).
OVERFIT_GAP = 0.25


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


#: Simpler first: between models with the same tune score the simpler one is selected.
SIMPLICITY = (
    "dummy",
    "best_single_feature",
    "logistic_regression",
    "knn",
    "random_forest",
    "gradient_boosting",
)


def _tune_primary(results: Mapping[str, Any], name: str) -> float | None:
    m = results["models"][name]
    v = ((m.get("metrics") or {}).get("tune") or {}).get(results.get("primary_metric", ""))
    value = v.get("value") if isinstance(v, Mapping) else None
    return float(value) if value is not None and _finite(value) else None


def select_model(results: Mapping[str, Any]) -> str | None:
    """The model with the best primary metric on the tune side; the dummy only when alone.

    Every model, baseline or deep, is scored on the same tune rows, so this is the one
    score they share (the cross-validated scores of the search are not comparable: the
    deep search scores each trial on one inner fold). Ties go to the simpler model
    (:data:`SIMPLICITY`, deep models last). Without tune scores (an old results dict),
    the best cross-validated score decides.
    """
    models = results.get("models", {})
    tuned = {n: _tune_primary(results, n) for n in models}
    scored = {n: v for n, v in tuned.items() if v is not None}
    if not scored:
        scored = {n: float(m["cv_score"]) for n, m in models.items() if _finite(m.get("cv_score"))}
    candidates = {n: s for n, s in scored.items() if models[n].get("family") != "dummy"} or scored
    if not candidates:
        return next(iter(models), None)

    def rank(n: str) -> tuple[float, int]:
        fam = str(models[n].get("family", n))
        simple = SIMPLICITY.index(fam) if fam in SIMPLICITY else len(SIMPLICITY)
        return (round(candidates[n], 9), -simple)

    return max(candidates, key=rank)


def _tune_scores(results: Mapping[str, Any], name: str) -> Any:
    preds = results["models"][name].get("predictions") or {}
    return preds.get("tune")


def compare_models(
    results: Mapping[str, Any], *, n_boot: int | None = None, seed: int | None = None
) -> list[dict]:
    """Paired bootstrap differences on the tune side: the selected model minus every other
    model (same resamples of groups for both)."""
    selected = results.get("selected")
    truth = results.get("tune_truth")
    if not selected or not truth or _tune_scores(results, selected) is None:
        return []
    metric = results["primary_metric"]
    out = []
    for other in results["models"]:
        if other == selected or _tune_scores(results, other) is None:
            continue
        d = paired_difference(
            truth["y"],
            np.asarray(_tune_scores(results, selected), dtype=float),
            np.asarray(_tune_scores(results, other), dtype=float),
            metric=metric,
            task=results["task"],
            classes=results.get("classes"),
            groups=truth.get("groups"),
            n_boot=int(results.get("n_boot", 1000) if n_boot is None else n_boot),
            seed=int(results.get("seed", 0) if seed is None else seed),
            positive_class=results.get("positive_class"),
        )
        out.append({"a": selected, "b": other, **d})
    return out


def check_equal_tuning(results: Mapping[str, Any]) -> list[Finding]:
    """``unequal_tuning`` when the tuned models did not all get the same number of trials.

    Models without hyper-parameters (the dummy) are not counted: one fit is all they need.
    """
    budgets = {
        n: int(m.get("n_trials", 0))
        for n, m in results.get("models", {}).items()
        if m.get("family") != "dummy" and m.get("tuning_note", "") != "no hyper-parameters; 1 fit"
    }
    if len(set(budgets.values())) <= 1:
        return []
    most = max(budgets.values())
    short = sorted(n for n, b in budgets.items() if b < most)
    return [
        Finding(
            code="unequal_tuning",
            severity="warning",
            tip=2,
            message=(
                f"The models were not tuned with the same effort: {', '.join(short)} got fewer "
                f"hyper-parameter trials than the best-searched model ({most}). A comparison between models "
                "tuned with unequal effort favours the one tuned harder. Re-run the models with the same "
                "budget before comparing them."
            ),
            evidence={"n_trials": budgets, "budget": results.get("budget")},
        )
    ]


def check_no_signal(results: Mapping[str, Any]) -> list[Finding]:
    """``no_signal`` when the real score does not stand above the permuted-label scores
    (p > :data:`ALPHA`), or ``control_inconclusive`` when too few permutations ran for p
    to fall below it. Never for the dummy (it ignores the features)."""
    from ..names import model_label

    ctrl = (results.get("controls") or {}).get("shuffled_label")
    if not ctrl or not ctrl.get("null") or str(ctrl.get("model")) == "dummy":
        return []
    null = np.array([v for v in ctrl["null"] if _finite(v)])
    real, p, n = ctrl["real"], ctrl["p_value"], len(null)
    if not _finite(real) or n == 0 or not _finite(p):
        return []
    name = model_label(str(ctrl["model"]), str(results.get("task", "")))
    metric = str(ctrl["metric"]).upper()
    where = "cross-validated" if "cross-validation" in str(ctrl.get("scored_on", "")) else "tune"
    ev = {
        "model": ctrl["model"],
        "metric": ctrl["metric"],
        "real": real,
        "p_value": p,
        "null_mean": float(null.mean()),
        "null_95th_percentile": float(np.quantile(null, 0.95)),
        "n_shuffles": n,
    }
    if n < MIN_SHUFFLES_FOR_P:
        return [
            Finding(
                code="control_inconclusive",
                severity="info",
                tip=7,
                message=(
                    f"The shuffled-label control of the {name} ran only {n} permutations, so its p-value "
                    f"cannot fall below {ALPHA} (the smallest possible is {1 / (1 + n):.3f}; observed p = "
                    f"{p:.3f}): it neither shows a signal nor rules one out. Run it with at least "
                    f"{MIN_SHUFFLES_FOR_P} permutations ('n_shuffles') before claiming either."
                ),
                evidence=ev,
            )
        ]
    if p < ALPHA:
        return []
    return [
        Finding(
            code="no_signal",
            severity="error",
            tip=7,
            message=(
                f"The {name} does no better on the real labels than on permuted labels: its {where} "
                f"{metric} is {real:.3f}, and {int((null >= real).sum())} of {n} permuted-label runs of the "
                f"same pipeline scored as high (permutation p = {p:.3f}; the permuted runs average "
                f"{float(null.mean()):.3f}, what chance gives this pipeline on these folds). A model that "
                "scores as well without the real "
                "labels has learned nothing it can carry to new samples. Do not report its performance as "
                "evidence of a signal; check the labels, the features and the sample size."
            ),
            evidence=ev,
        )
    ]


def check_overfitting(results: Mapping[str, Any], *, model: str | None = None) -> list[Finding]:
    """``overfitting`` when a model's (the selected one's unless ``model`` is given)
    training score exceeds its tune score by more than :data:`OVERFIT_GAP` and the tune
    interval lies below the training score. The message names the model, and calls it
    "the selected model" only when it is."""
    from ..names import model_label

    name = model or results.get("selected")
    if not name or name not in results.get("models", {}):
        return []
    metric = results["primary_metric"]
    m = results["models"][name].get("metrics", {})
    train, tune = (m.get("train") or {}).get(metric), (m.get("tune") or {}).get(metric)
    if not train or not tune or not _finite(train.get("value")) or not _finite(tune.get("value")):
        return []
    gap = train["value"] - tune["value"]
    high = tune.get("high")
    if gap <= OVERFIT_GAP or (_finite(high) and high >= train["value"]):
        return []
    label = model_label(str(results["models"][name].get("family", name)), str(results.get("task", "")))
    who = f"The selected model ({label})" if name == results.get("selected") else f"The {label}"
    return [
        Finding(
            code="overfitting",
            severity="warning",
            tip=7,
            message=(
                f"{who} scores {train['value']:.3f} {metric.upper()} on the rows it was "
                f"trained on but {tune['value']:.3f} on the tune rows, a drop of {gap:.2f}. It has learned "
                "particulars of the training samples that do not carry over. Prefer stronger regularisation "
                "or a simpler model, and more samples if you can (see the learning curve)."
            ),
            evidence={
                "model": name,
                "metric": metric,
                "train": train["value"],
                "tune": tune["value"],
                "gap": gap,
            },
        )
    ]


def check_baseline_beaten(results: Mapping[str, Any]) -> list[Finding]:
    """``baseline_not_beaten`` when the selected model's paired difference to the dummy
    has an interval that includes 0 (or lies below it)."""
    from ..names import model_label

    sel = results.get("selected")
    dummies = [n for n, m in results.get("models", {}).items() if m.get("family") == "dummy"]
    if not sel or not dummies or sel in dummies:
        return []
    for c in results.get("comparisons", []):
        if c["a"] == sel and c["b"] == dummies[0] and _finite(c.get("low")) and c["low"] <= 0:
            return [
                Finding(
                    code="baseline_not_beaten",
                    severity="warning",
                    tip=2,
                    message=(
                        f"The selected model ({model_label(str(results['models'][sel].get('family', sel)), str(results['task']))}) does not clearly beat a dummy model that ignores the features "
                        f"and predicts the {'class frequencies' if results['task'] == 'classification' else 'mean'}: "
                        f"the difference in tune {c['metric'].upper()} is {c['diff']:+.3f} (95% interval "
                        f"{c['low']:+.3f} to {c['high']:+.3f}, which includes 0). With these data the features "
                        "do not demonstrably help; say so rather than report the model's score alone."
                    ),
                    evidence={k: c[k] for k in ("a", "b", "metric", "diff", "low", "high")},
                )
            ]
    return []


def single_feature_tie(results: Mapping[str, Any]) -> dict[str, Any] | None:
    """When the best single feature (the marker baseline) does as well as the selected
    model on the tune side (it is selected, or the paired interval of the difference
    includes 0): its name, feature and scores. None otherwise."""
    models = results.get("models", {})
    sel = results.get("selected")
    single = next((n for n, m in models.items() if m.get("family") == "best_single_feature"), None)
    if not sel or not single:
        return None
    s_score, m_score = _tune_primary(results, single), _tune_primary(results, sel)
    if s_score is None or m_score is None:
        return None
    out = {
        "single": single,
        "feature": models[single].get("chosen_feature"),
        "selected": sel,
        "metric": results.get("primary_metric"),
        "single_score": s_score,
        "selected_score": m_score,
    }
    if sel == single:
        return out | {"diff": 0.0, "low": None, "high": None}
    for c in results.get("comparisons", []):
        if c["a"] == sel and c["b"] == single and _finite(c.get("low")) and c["low"] <= 0:
            return out | {k: c[k] for k in ("diff", "low", "high")}
    return None


def check_single_feature(results: Mapping[str, Any]) -> list[Finding]:
    """``one_feature_suffices`` when the best single feature ties the selected model (Tip 1)."""
    from ..names import model_label

    tie = single_feature_tie(results)
    if tie is None:
        return []
    task = str(results.get("task", ""))
    metric = str(tie["metric"]).upper()
    feature = f"'{tie['feature']}'" if tie.get("feature") else "one feature"
    if tie["selected"] == tie["single"]:
        versus = "and no other model does better on the tune side"
    else:
        versus = (
            f"as well as the selected model ({model_label(str(results['models'][tie['selected']].get('family')), task)}, "
            f"{tie['selected_score']:.3f}; paired difference {tie['diff']:+.3f}, 95% interval "
            f"{tie['low']:+.3f} to {tie['high']:+.3f}, which includes 0)"
        )
    return [
        Finding(
            code="one_feature_suffices",
            severity="warning",
            tip=1,
            columns=(str(tie["feature"]),) if tie.get("feature") else (),
            message=(
                f"The best single feature, {feature} (chosen on the training folds), reaches tune {metric} "
                f"{tie['single_score']:.3f} on its own, {versus}. One measurement answers the question: "
                "deep learning is not needed here (Tip 1). Report the single-feature model (or the marker) "
                "as the result, and a more complex model only if it clearly does better."
            ),
            evidence=dict(tie),
        )
    ]


def modelling_findings(results: Mapping[str, Any]) -> list[Finding]:
    """Every modelling finding that the results dict supports.

    The metadata-only model's own finding (``metadata_predicts_label``) stays in
    ``results["controls"]["metadata_only"]``: the confounds step reports it already, and
    the ``run`` command merges both lists.
    """
    out = check_equal_tuning(results) + check_no_signal(results)
    out += check_overfitting(results) + check_baseline_beaten(results)
    if not any(f.code in ("no_signal", "baseline_not_beaten") for f in out):
        out += check_single_feature(results)  # "one feature answers it" only when there is an answer
    return sort_findings(out)


def statement(results: Mapping[str, Any]) -> str:
    """One plain sentence on what the comparison shows."""
    from ..names import model_label

    sel = results.get("selected")
    found = modelling_findings(results)
    codes = {f.code for f in found}
    sel_family = str(results["models"][sel].get("family", sel)) if sel else ""
    no_signal = [f for f in found if f.code == "no_signal" and str(f.evidence.get("model")) == sel_family]
    if not sel:
        return "No model was fitted."
    name = model_label(str(results["models"][sel].get("family", sel)), str(results.get("task", "")))
    if no_signal:
        return f"The selected model ({name}) does no better than the same model trained on permuted labels."
    if "baseline_not_beaten" in codes:
        return f"The selected model ({name}) does not clearly beat the dummy baseline."
    tune = results["models"][sel]["metrics"]["tune"][results["primary_metric"]]
    if "one_feature_suffices" in codes:
        tie = single_feature_tie(results) or {}
        feature = f"'{tie.get('feature')}'" if tie.get("feature") else "one feature"
        return (
            f"The best single feature, {feature}, does as well as any model (tune "
            f"{results['primary_metric'].upper()} {tie.get('single_score', float('nan')):.3f}): one measurement "
            "answers the question, and deep learning is not needed (Tip 1)."
        )
    return (
        f"The selected model is {name} (tune {results['primary_metric'].upper()} {tune['value']:.3f}, "
        f"95% interval {tune['low']:.3f} to {tune['high']:.3f})."
        if _finite(tune.get("low"))
        else f"The selected model is {name}."
    )


def finalize_results(results: dict[str, Any]) -> dict[str, Any]:
    """Re-select, re-compare and re-check after models were added (e.g. the deep models).
    Returns the same dict, updated."""
    results["selected"] = select_model(results)
    results["comparisons"] = compare_models(results)
    results["findings"] = [f.to_dict() for f in modelling_findings(results)]
    results["statement"] = statement(results)
    return results
