"""The modelling steps: baselines, deep learning, the locked test set, the interpretation.
Each runs the step, stores its results, records the step and its findings; the pages'
jobs and ``run`` call these same functions."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from ..current import out_of_date, roles_digest
from ..errors import DataFormatError, ModelError, SplitError
from ..findings import Finding
from ..study import StepRecord, Study, package_versions, utcnow
from ._common import record_step, step_summary

__all__ = ["run_baselines_step", "run_deep_step", "run_evaluate", "record_interpretation"]

Progress = Callable[[float, str], None]


def _noop(_f: float, _m: str) -> None:
    return None


def _inputs(ws: Any, study: Study, df: pd.DataFrame | None, split: Any) -> tuple[pd.DataFrame, Any]:
    if study.dataset is None:
        raise DataFormatError("The study has no data yet: load a table on the Data page first.")
    if df is None:
        from ..intake import load_dataset

        df = load_dataset(ws, study.dataset.dataset_id)
    if split is None:
        from ..split import load_split

        split = load_split(ws, study)
    if split is None:
        raise SplitError("The study has no split yet: make one on the Split page before fitting models.")
    old = out_of_date(study).get("split")
    if old is not None:  # models fitted on its sides would be out of date as soon as they were made
        raise SplitError(f"{old.message} Models are fitted on the split's sides, so make it again first.")
    return df, split


def _hashes(study: Study, split: Any) -> dict[str, str]:
    """The inputs a modelling step records: the table, the column roles, the split."""
    out = {"roles": roles_digest(study.roles), "split": str(split.sha256)}
    if study.dataset is not None:
        out["dataset"] = study.dataset.sha256
    return out


def _findings(results: dict[str, Any]) -> list[Finding]:
    return [Finding.from_dict(f) for f in results.get("findings", [])]


def run_baselines_step(
    ws: Any,
    study: Study,
    df: pd.DataFrame | None = None,
    split: Any = None,
    *,
    models: Sequence[str] | None = None,
    budget: int = 20,
    seed: int = 0,
    n_shuffles: int = 20,
    n_boot: int = 1000,
    batch_correct: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Tune and score the baselines (:func:`deeprules_core.modeling.run_baselines`), store
    the results (artifact ``results/baselines``), record the ``baselines`` step and its
    findings. Batch correction is refused where the confounds step refuses it."""
    from ..modeling import BASELINE_FAMILIES, run_baselines
    from ._inspect import refuse_batch_correction

    df, split = _inputs(ws, study, df, split)
    params: dict[str, Any] = {
        "models": list(models or BASELINE_FAMILIES),
        "budget": int(budget),
        "seed": int(seed),
        "n_shuffles": int(n_shuffles),
        "n_boot": int(n_boot),
        "batch_correct": bool(batch_correct),
    }
    if batch_correct:
        if not study.roles.batch:
            raise ModelError("Batch correction needs a batch column; set one on the Data page.")
        refuse_batch_correction(df, study.roles, seed=int(seed))
    started, t0 = utcnow(), time.perf_counter()
    results = run_baselines(
        df,
        study.roles,
        split,
        models=tuple(params["models"]),
        budget=params["budget"],
        seed=params["seed"],
        n_shuffles=params["n_shuffles"],
        n_boot=params["n_boot"],
        batch_correct=params["batch_correct"],
        progress=progress or _noop,
    )
    sha = ws.put_json(study.id, "results", "baselines", results)
    findings = _findings(results)
    summary = step_summary(
        findings,
        selected=results["selected"],
        primary_metric=results["primary_metric"],
        cv_scores={n: m["cv_score"] for n, m in results["models"].items()},
        results_sha256=sha,
        duration_s=round(time.perf_counter() - t0, 2),
    )
    record = StepRecord(
        step="baselines",
        params=params,
        input_hashes=_hashes(study, split),
        seed=params["seed"],
        versions=results.get("versions") or package_versions(),
        started_at=started,
        finished_at=utcnow(),
        summary=summary,
    )
    record_step(ws, study, record, findings, action="baselines_done", always=True)
    return results  # type: ignore[no-any-return]


def _merge_base(ws: Any, study_id: str) -> dict[str, Any] | None:
    """The results a new deep model joins: the newest of the baselines' and the deep
    step's (so a second architecture joins the first), never the test-set results."""
    import json

    arts = [a for a in ws.list_artifacts(study_id, "results") if a["name"] in ("baselines", "deep")]
    if not arts:
        return None
    got = json.loads(ws.get_blob(arts[-1]["sha256"]))
    return got if isinstance(got, dict) else None


def run_deep_step(
    ws: Any,
    study: Study,
    df: pd.DataFrame | None = None,
    split: Any = None,
    *,
    kind: str = "auto",
    budget: int | None = None,
    seed: int | None = None,
    n_seeds: int = 3,
    max_epochs: int = 100,
    n_shuffles: int = 20,
    n_boot: int = 1000,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train the deep model, merge it into the stored baseline results (artifact
    ``results/deep``), save its weights (see below),
    record the ``deep_learning`` step and the findings of the merged results (they
    supersede the baselines' modelling findings, which the merge re-derives). The weights
    are saved unless the export lock of :mod:`deeprules_core.privacy` refuses them."""
    from ..deep._io import save_deep
    from ..deep._runner import deep_run
    from ..deep.jobs import DEFAULT_BUDGET, merge_deep

    df, split = _inputs(ws, study, df, split)
    baselines = _merge_base(ws, study.id)
    budget = int(budget or (baselines or {}).get("budget") or DEFAULT_BUDGET)
    seed = int(seed if seed is not None else (baselines or {}).get("seed", 0))
    settings: dict[str, Any] = {
        "kind": kind,
        "budget": budget,
        "seed": seed,
        "n_seeds": int(n_seeds),
        "max_epochs": int(max_epochs),
        "n_shuffles": int(n_shuffles),
        "n_boot": int(n_boot),
    }
    started = utcnow()
    (progress or _noop)(0.0, "preparing the data")
    run = deep_run(df, study.roles, split, progress=progress or _noop, **settings)  # type: ignore[arg-type]
    name = run.entry["family"]
    entry = dict(run.entry)
    extra: list[Finding] = []
    from ..privacy import guard_model_export  # Tip 10: the one export lock (logs each refusal)

    refused = guard_model_export(ws, study, name, entry, where="deep-learning step")
    if refused is not None:
        entry["weights_sha256"] = None
        extra.append(refused)
    else:
        entry["weights_sha256"] = save_deep(ws, study.id, run.model, name=name)
    entry["findings"] = list(entry.get("findings", [])) + [f.to_dict() for f in extra]
    results = merge_deep(
        baselines, entry, roles=study.roles, split=split, budget=budget, seed=seed, n_boot=settings["n_boot"]
    )
    ws.put_json(study.id, "results", "deep", results)
    tune = entry["metrics"]["tune"][results["primary_metric"]]
    findings = _findings(results)
    record = StepRecord(
        step="deep_learning",
        params={**settings, "model": name, "config": entry["params"]},
        input_hashes=_hashes(study, split),
        seed=seed,
        versions=package_versions(),
        started_at=started,
        finished_at=utcnow(),
        summary=step_summary(
            findings,
            model=name,
            primary_metric=results["primary_metric"],
            tune=tune,
            device=entry["device"],
            deterministic=entry["deterministic"],
            weights_sha256=entry["weights_sha256"],
        ),
    )
    record_step(ws, study, record, findings, action="deep_learning", supersedes=("baselines",), always=True)
    (progress or _noop)(1.0, "done")
    return results  # type: ignore[no-any-return]


def run_evaluate(
    ws: Any,
    study: Study,
    df: pd.DataFrame | None = None,
    split: Any = None,
    *,
    results: dict[str, Any] | None = None,
    unlock_reason: str | None = None,
) -> dict[str, Any]:
    """Score the selected model once on the locked test set (the use is logged; a second
    one needs a reason), store the results (artifact ``results/final``), record the
    ``evaluate`` step. Returns the results with the test metrics."""
    from ..modeling import evaluate_on_test, results_to_use

    df, split = _inputs(ws, study, df, split)
    results = results_to_use(ws, study, to="evaluate on the test set", results=results)  # not out of date
    started = utcnow()
    out = evaluate_on_test(ws, study, df, results, split, unlock_reason=unlock_reason)
    sha = ws.put_json(study.id, "results", "final", out)
    sel = out.get("selected")
    record = StepRecord(
        step="evaluate",
        params={"models": out["test_evaluation"]["models"], "unlock_reason": unlock_reason},
        input_hashes={**_hashes(study, split), "results": sha},
        seed=out.get("seed"),
        versions=out.get("versions", {}),
        started_at=started,
        finished_at=utcnow(),
        summary={
            "selected": sel,
            "test": (out["models"][sel]["metrics"].get("test") or {}).get(out["primary_metric"]),
        },
    )
    record_step(ws, study, record, [], action="test_set_evaluation", always=True)
    return out  # type: ignore[no-any-return]


def record_interpretation(ws: Any, study: Study, record: StepRecord, findings: Sequence[Finding]) -> Study:
    """Record the ``interpret`` step and its findings (the over-interpretation guard)."""
    return record_step(ws, study, record, findings, action="interpret_done", always=True)
