"""The study's stored results dict, the one every later step (Evaluate, Interpret, the
report) reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["RESULT_NAMES", "latest_results"]

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


def latest_results(ws: Any, study_id: str) -> dict[str, Any] | None:
    """The newest results dict of a study, or None before the baselines.

    The newest of ``results/final``, ``results/deep`` and ``results/baselines`` wins;
    when the baselines (or the test set) came after the deep model, the deep models are
    carried over so that no trained model drops out of the comparison.
    """
    arts = [a for a in ws.list_artifacts(study_id, "results") if a["name"] in RESULT_NAMES]
    if not arts:
        return None
    got = json.loads(ws.get_blob(arts[-1]["sha256"]))
    if not isinstance(got, Mapping):
        return None
    results = dict(got)
    if arts[-1]["name"] == "deep":
        return results
    models = dict(results.get("models") or {})
    for name, entry in _deep_models(ws.get_json(study_id, "results", "deep")).items():
        models.setdefault(name, entry)
    results["models"] = models
    return results
