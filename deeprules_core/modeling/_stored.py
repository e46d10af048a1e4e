"""The study's stored results dict, the one every later step (Evaluate, Interpret, the
report) reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["RESULT_NAMES", "STEP_OF", "latest_results", "current_results", "results_to_use"]

#: Artifacts (kind "results") that hold a whole results dict: "baselines" (the
#: baselines job), "deep" (the baselines plus a deep model) and "final" (after the
#: locked test set).
RESULT_NAMES = ("baselines", "deep", "final")


def _deep_models(deep: Any) -> dict[str, Any]:
    if not isinstance(deep, Mapping):
        return {}
    return {
        k: v
        for k, v in (deep.get("models") or {}).items()
        if isinstance(v, Mapping) and v.get("kind") == "deep"
    }


#: The step that writes each results artifact.
STEP_OF = {"baselines": "baselines", "deep": "deep_learning", "final": "evaluate"}


def _result_artifacts(ws: Any, study_id: str) -> list[dict[str, Any]]:
    return [a for a in ws.list_artifacts(study_id, "results") if a["name"] in RESULT_NAMES]


def _merged(ws: Any, study_id: str, art: Mapping[str, Any], *, carry_deep: bool) -> dict[str, Any] | None:
    got = json.loads(ws.get_blob(art["sha256"]))
    if not isinstance(got, Mapping):
        return None
    results = dict(got)
    if art["name"] == "deep" or not carry_deep:
        return results
    models = dict(results.get("models") or {})
    for name, entry in _deep_models(ws.get_json(study_id, "results", "deep")).items():
        models.setdefault(name, entry)
    results["models"] = models
    return results


def latest_results(ws: Any, study_id: str) -> dict[str, Any] | None:
    """The newest results dict of a study, or None before the baselines, whatever inputs it
    was computed on (the forms start from its settings; what is shown as the study's
    results is :func:`current_results`).

    The newest of ``results/final``, ``results/deep`` and ``results/baselines`` wins;
    when the baselines (or the test set) came after the deep model, the deep models are
    carried over so that no trained model drops out of the comparison.
    """
    arts = _result_artifacts(ws, study_id)
    return _merged(ws, study_id, arts[-1], carry_deep=True) if arts else None


def current_results(ws: Any, study: Any) -> dict[str, Any] | None:
    """The study's results made of current steps only, or None when there are none.

    The newest results artifact whose step is current (a test evaluation made before the
    column roles changed is passed over for the baselines re-run since); a deep model
    trained on earlier inputs is not carried into it (the report and the pages say to
    re-train it). None when what is left still holds an out-of-date step's results
    (:func:`deeprules_core.current.results_out_of_date`). Whatever shows, scores or
    interprets results reads them here, so old results are nowhere presented as the study's.
    """
    from ..current import results_out_of_date

    stale = {o.step for o in results_out_of_date(study)}
    for art in reversed(_result_artifacts(ws, study.id)):
        if STEP_OF[art["name"]] in stale:
            continue
        results = _merged(ws, study.id, art, carry_deep="deep_learning" not in stale)
        if results is None or results_out_of_date(study, results):
            return None
        return results
    return None


def results_to_use(
    ws: Any, study: Any, *, to: str, results: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``results`` (default :func:`current_results`), or a
    :class:`~deeprules_core.errors.ModelError` that says what to run first when they are
    out of date or there is no model (``to``: what the caller was going to do, e.g.
    "interpret")."""
    from ..current import results_out_of_date
    from ..errors import ModelError

    if results is None:
        results = current_results(ws, study)
        stale = results_out_of_date(study) if results is None else []
    else:
        stale = results_out_of_date(study, results)
    if stale:
        raise ModelError(
            f"The trained models are out of date, so there is nothing to {to}: "
            + " ".join(o.message for o in stale)
        )
    if not results or not results.get("models"):
        raise ModelError(
            f"There are no trained models to {to} yet: run the baselines (and the deep model) first."
        )
    return dict(results)
