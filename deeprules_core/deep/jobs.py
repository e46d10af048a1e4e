"""The background job that trains the deep model: ``deeprules_core.deep.jobs:deep_job``.

It loads the study, its table and its split, runs :func:`~deeprules_core.deep.run_deep`
with per-epoch progress (cancel stops it at the next epoch), merges the entry into the
stored baseline results (same panel, paired comparison with the best baseline), stores
the merged results as artifact ``("results", "deep")``, saves the weights (unless the
export lock of :mod:`deeprules_core.privacy` refuses them: sensitive data, Tip 10) and records the step.

Job parameters (all optional): ``kind`` ("auto" / "mlp" / "cnn"), ``budget`` (default:
the baselines' budget, else 20), ``seed``, ``n_seeds``, ``max_epochs``, ``n_shuffles``,
``n_boot``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ..errors import ModelError
from ..findings import Finding, sort_findings, to_jsonable
from ..study import package_versions

__all__ = ["deep_job", "merge_deep", "DEFAULT_BUDGET"]

DEFAULT_BUDGET = 20


def _skeleton(entry: Mapping[str, Any], *, roles: Any, split: Any, budget: int, seed: int) -> dict[str, Any]:
    """A results dict (HELPERS.md layout) for a study whose baselines have not run yet."""
    preds = entry.get("tune_predictions") or {}
    classes = None
    if roles.task == "classification":
        from ..modeling._metrics import sorted_classes

        classes = sorted_classes(preds.get("y_true") or [])
    return {
        "task": roles.task,
        "label": roles.label,
        "classes": classes,
        "positive_class": entry.get("positive_class"),
        "budget": budget,
        "seed": seed,
        "split_sha256": split.sha256,
        "primary_metric": "auprc" if roles.task == "classification" else "r2",
        "models": {},
        "tune_truth": {"ids": preds.get("ids"), "y": preds.get("y_true"), "groups": preds.get("groups")},
        "controls": {"shuffled_label": None, "metadata_only": None},
        "comparisons": [],
        "selected": None,
        "findings": [],
        "versions": package_versions(),
    }


def _one_inconclusive(findings: list[Finding]) -> list[Finding]:
    """One ``control_inconclusive`` note for every model whose control ran too few
    permutations (a finding is one per code and columns)."""
    notes = [f for f in findings if f.code == "control_inconclusive"]
    if len(notes) < 2:
        return findings
    from ..names import model_label

    names = [model_label(str(f.evidence.get("model"))) for f in notes]
    n = min(int(f.evidence.get("n_shuffles", 0)) for f in notes)
    merged = Finding(
        code="control_inconclusive",
        severity="info",
        tip=7,
        message=(
            f"The shuffled-label controls of the {' and the '.join(names)} ran only {n} permutations or so, "
            "so their p-values cannot fall below 0.05: they neither show a signal nor rule one out. Run them "
            "with at least 20 permutations ('n_shuffles') before claiming either."
        ),
        evidence={
            "models": [f.evidence.get("model") for f in notes],
            "controls": [dict(f.evidence) for f in notes],
        },
    )
    first = findings.index(notes[0])
    rest = [f for f in findings if f.code != "control_inconclusive"]
    return rest[:first] + [merged] + rest[first:]


def merge_deep(
    results: Mapping[str, Any] | None,
    entry: Mapping[str, Any],
    *,
    roles: Any,
    split: Any,
    budget: int,
    seed: int = 0,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """Put a deep entry into a results dict, then redo selection, comparisons and findings.

    ``modeling.finalize_results`` re-selects and re-checks every model; the deep models'
    own findings (their control, their gap, the comparison with the best baseline) are
    added after it, once per (code, model, other model).
    """
    from ..modeling import finalize_results
    from ._compare import compare_with_baselines, paired_comparisons

    out = (
        copy.deepcopy(dict(results))
        if results
        else _skeleton(entry, roles=roles, split=split, budget=budget, seed=seed)
    )
    out["models"] = {**out.get("models", {}), entry["family"]: copy.deepcopy(dict(entry))}
    finalize_results(out)
    findings = [Finding.from_dict(f) for f in out.get("findings", [])]
    for e in out["models"].values():
        if e.get("kind") == "deep":
            findings += [Finding.from_dict(f) for f in e.get("findings", [])]
    findings += compare_with_baselines(out, n_boot=n_boot, seed=seed)
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for f in sort_findings(findings):
        key = (f.code, str(f.evidence.get("model", f.evidence.get("a", ""))), str(f.evidence.get("b", "")))
        if key not in seen:
            seen.add(key)
            unique.append(f)
    unique = _one_inconclusive(unique)
    out["findings"] = [f.to_dict() for f in unique]
    pairs = {(c["a"], c["b"]) for c in out.get("comparisons", [])}
    out["comparisons"] = list(out.get("comparisons", [])) + [
        c for c in paired_comparisons(out, n_boot=n_boot, seed=seed) if (c["a"], c["b"]) not in pairs
    ]
    return to_jsonable(out)


def deep_job(ctx: Any) -> dict[str, Any]:
    """Job target: train the deep model of ``ctx.study_id`` through
    :func:`deeprules_core.steps.run_deep_step` (the function ``run`` calls too)."""
    from ..steps import run_deep_step

    ws = ctx.workspace
    study = ws.get_study(ctx.study_id)
    if study.dataset is None:
        raise ModelError("The study has no data yet: load a table on the Data page first.")
    p = dict(ctx.params)
    results = run_deep_step(
        ws,
        study,
        kind=str(p.get("kind", "auto")),
        budget=int(p["budget"]) if p.get("budget") else None,
        seed=int(p["seed"]) if p.get("seed") is not None else None,
        n_seeds=int(p.get("n_seeds", 3)),
        max_epochs=int(p.get("max_epochs", 100)),
        n_shuffles=int(p.get("n_shuffles", 20)),
        n_boot=int(p.get("n_boot", 1000)),
        progress=ctx.progress,
    )
    rec = ws.get_study(study.id).step("deep_learning")
    summary = dict(rec.summary) if rec is not None else {}
    name = summary.get("model")
    entry = (results.get("models") or {}).get(name) or {}
    return {
        "model": name,
        "tune": summary.get("tune"),
        "weights_sha256": entry.get("weights_sha256"),
        "device": entry.get("device"),
    }
