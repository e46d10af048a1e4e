"""What a page and the PDF say first about a study's models, and the errors that follow a
study from page to page: one engine query each, so the words are the same everywhere.

* :func:`open_errors` — the study's open (unacknowledged) errors from steps before a page;
* :func:`out_of_date_steps` — the steps whose inputs (roles, table, design, split) changed
  since they ran: "Checks were run on earlier column roles; re-run them";
* :func:`headline_warnings` — a selected model whose features hold a flagged label leak,
  or whose score the metadata alone reach, carries that warning in its headline;
* :func:`headline` — the one sentence on the selected model: "inconclusive (n = 11)" when
  the tune side is too small for its interval to tell the model from the dummy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..findings import Finding
from ..names import model_label

__all__ = [
    "INCONCLUSIVE_BELOW",
    "open_errors",
    "out_of_date_steps",
    "headline_warnings",
    "headline",
    "tune_units",
    "side_units",
    "top_feature",
    "study_headline",
]

#: Independent units on the tune side below which a bootstrap interval of a difference in
#: scores is too wide and too unstable to read (a resample of fewer than 30 units takes a
#: handful of distinct values): the comparison with the dummy is called inconclusive.
INCONCLUSIVE_BELOW = 30


def open_errors(ws: Any, study_id: str, *, page: str) -> list[Any]:
    """The study's current errors that nobody acknowledged, from the steps before ``page``
    (every step for ``report``), that hold for the study as it is now (its table, column
    roles, design and split: :mod:`deeprules_core.current`): ledger entries with ``step``
    (where they were found)."""
    study = ws.get_study(study_id)
    return list(ws.open_findings(study_id, severities=("error",), before=page, study=study))


def out_of_date_steps(ws: Any, study_id: str, *, page: str) -> list[Any]:
    """The steps up to and including ``page`` (every step for ``report``) whose inputs
    changed since they ran (:func:`deeprules_core.current.out_of_date`), in workflow order:
    each with ``step``, ``reason`` and ``message`` (the sentence every page prints)."""
    from ..current import out_of_date
    from ..store import STEP_ORDER

    order = {s: i for i, s in enumerate(STEP_ORDER)}
    limit = order.get(page, len(order))
    return [o for o in out_of_date(ws.get_study(study_id)).values() if order.get(o.step, 0) <= limit]


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(float(v))


def tune_units(results: Mapping[str, Any]) -> int | None:
    """Independent units (groups, else labelled rows) on the tune side of the results."""
    truth = results.get("tune_truth") or {}
    groups = [g for g in truth.get("groups") or [] if g is not None]
    if groups:
        return len(set(map(str, groups)))
    n = (results.get("n_rows") or {}).get("tune")
    if isinstance(n, int):
        return n
    ys = truth.get("y")
    return len(ys) if isinstance(ys, list) else None


def side_units(results: Mapping[str, Any], side: str) -> int | None:
    """Independent units on the ``tune`` or ``test`` side of the results."""
    if side == "tune":
        return tune_units(results)
    ev = results.get("test_evaluation") or {}
    n = ev.get("n_test_units", ev.get("n_test"))
    return int(n) if isinstance(n, int) else None


def _selected(results: Mapping[str, Any]) -> tuple[str | None, Mapping[str, Any]]:
    sel = results.get("selected")
    return sel, ((results.get("models") or {}).get(sel) or {}) if sel else {}


def _name(results: Mapping[str, Any], sel: str, entry: Mapping[str, Any]) -> str:
    return model_label(str(entry.get("family") or sel), str(results.get("task") or "classification"))


def top_feature(interpretation: Mapping[str, Any] | None, model: str) -> str | None:
    """The top feature of ``model`` in the interpretation (the stored artifact, or the
    report's summary with ``top_by_model``)."""
    interp = interpretation or {}
    tops = interp.get("top_by_model")
    if isinstance(tops, Mapping):
        return str(tops[model]) if tops.get(model) else None
    models = interp.get("models")
    mine = models.get(model) if isinstance(models, Mapping) else None
    if isinstance(mine, Mapping):
        for key in ("attributions", "global", "coefficients"):
            block = mine.get(key)
            rows = block.get("rows") if isinstance(block, Mapping) else None
            if rows:
                return str(rows[0].get("feature"))
    return None


def headline_warnings(
    results: Mapping[str, Any] | None,
    findings: Iterable[Finding],
    *,
    interpretation: Mapping[str, Any] | None = None,
) -> list[str]:
    """Warnings that belong in the selected model's headline.

    * a feature the checks flagged as a label leak (``label_leakage``) is the model's top
      feature (when the interpretation ran) or among its features;
    * the metadata alone (batch and covariates) reach the model's score on the same metric
      (the metadata-only model's score lies at or above the lower end of the model's
      interval) while predicting the label significantly.
    """
    if not results:
        return []
    sel, entry = _selected(results)
    if not sel:
        return []
    name = _name(results, sel, entry)
    out: list[str] = []
    leaks = [f for f in findings if f.code == "label_leakage" and f.severity != "info"]
    leaked = list(dict.fromkeys(c for f in leaks for c in f.columns))
    if leaked and entry.get("family") != "dummy":
        top = top_feature(interpretation, sel)
        cols = ", ".join(f"'{c}'" for c in leaked)
        if top is not None and top in leaked:
            out.append(
                f"its top feature '{top}' was flagged as a copy of the label (label leak): the score "
                "measures the leak, not the biology"
            )
        else:
            out.append(
                f"{cols}, flagged as a copy of the label (label leak), {'is' if len(leaked) == 1 else 'are'} "
                "among its features: the score may measure the leak, not the biology"
            )
    meta = (results.get("controls") or {}).get("metadata_only") or {}
    metric = str(meta.get("metric") or "")
    value = meta.get("value", meta.get("score"))
    panel = ((entry.get("metrics") or {}).get("tune") or {}).get(metric) or {}
    mine = panel.get("value")
    low = panel.get("low") if _finite(panel.get("low")) else mine
    p = meta.get("p_value")
    if (
        isinstance(value, int | float)
        and isinstance(low, int | float)
        and isinstance(mine, int | float)
        and isinstance(p, int | float)
        and _finite(value)
        and _finite(low)
        and p <= 0.05
        and value >= low
    ):
        cols = ", ".join(map(str, meta.get("columns") or [])) or "batch and covariates"
        out.append(
            f"the metadata alone ({cols}) reach {metric.replace('_', ' ')} {float(value):.3f}, as high as "
            f"the {name}'s {float(mine):.3f}: the score may come from the batch or a covariate, not the "
            "biology"
        )
    return out


def headline(
    results: Mapping[str, Any] | None,
    findings: Sequence[Finding] = (),
    *,
    interpretation: Mapping[str, Any] | None = None,
    metric_label: Any = None,
    fmt_interval: Any = None,
) -> str:
    """One true sentence on the selected model, with its warnings.

    ``findings``: the study's current findings (the ledger's), which include the results'
    own modelling findings. ``metric_label`` and ``fmt_interval`` format the metric's name
    and ``{"value", "low", "high"}`` (the report passes its own; plain defaults otherwise).
    """
    if not results:
        return ""
    sel, entry = _selected(results)
    if not sel:
        return "No model was fitted."
    name = _name(results, sel, entry)
    from ..report._text import fmt_ci, metric_name

    metric_label = metric_label or metric_name
    fmt_interval = fmt_interval or fmt_ci
    all_findings = list(findings) + [
        Finding.from_dict(f) for f in results.get("findings") or [] if isinstance(f, Mapping)
    ]
    codes = {f.code: f for f in all_findings}
    dummies = {n for n, m in (results.get("models") or {}).items() if m.get("family") == "dummy"}
    bnb = codes.get("baseline_not_beaten")
    if "no_signal" in codes:
        text = f"The selected model ({name}) does no better than the same model trained on shuffled labels."
    elif bnb is not None and bnb.evidence.get("a") == sel and bnb.evidence.get("b") in dummies:
        n = tune_units(results)
        if n is not None and n < INCONCLUSIVE_BELOW:
            text = (
                f"The comparison of the selected model ({name}) with the dummy baseline is inconclusive "
                f"(n = {n} on the tune side): too few samples for the 95% interval of the difference "
                "to tell them apart."
            )
        else:
            text = f"The selected model ({name}) does not clearly beat the dummy baseline."
    else:
        pm = str(results.get("primary_metric") or "")
        metrics = entry.get("metrics") or {}
        side = "test" if metrics.get("test") else "tune"
        panel = (metrics.get(side) or {}).get(pm)
        score = f": {side} {metric_label(pm)} {fmt_interval(panel)}" if panel else ""
        text = f"The selected model is {name}{score}."
        n = side_units(results, side)
        if panel and n is not None and n < INCONCLUSIVE_BELOW:
            text += (
                f" It was measured on only {n} independent {side} samples: too few for a bootstrap interval to be "
                "trusted (resamples of so few take a handful of values), so confirm it on more samples "
                "before relying on it."
            )
    warnings = headline_warnings(results, all_findings, interpretation=interpretation)
    if warnings:
        text += " Warning: " + "; ".join(warnings) + "."
    return text


def study_headline(ws: Any, study: Any, results: Mapping[str, Any] | None) -> str:
    """The headline of the study's results as the PDF prints it: with the study's current
    findings (the ledger's) and its interpretation, if any. Results of a modelling step
    whose inputs changed since (other column roles, table or split) get no verdict: the
    headline says which step to re-run."""
    from ..current import out_of_date, results_out_of_date

    stale = results_out_of_date(study, results) if results else []
    if results and stale:
        return " ".join(o.message for o in stale)
    interp = ws.get_json(study.id, "interpretation", "interpretation")
    if "interpret" in out_of_date(study):
        interp = None
    return headline(results, ws.current_findings(study.id, study=study), interpretation=interp)
