"""Job target: the baselines step, run in a background process (``deeprules_core.jobs``)."""

from __future__ import annotations

import time
from typing import Any

from ..errors import DataFormatError, SplitError
from ..study import StepRecord, utcnow
from ._harness import run_baselines
from ._models import BASELINE_FAMILIES

__all__ = ["baselines_job", "RESULTS_KIND", "RESULTS_NAME"]

RESULTS_KIND = "results"
RESULTS_NAME = "baselines"


def baselines_job(ctx: Any) -> dict[str, Any]:
    """Load the study, its table and split; run :func:`run_baselines`; store the results
    (artifact ``results/baselines``) and a ``baselines`` step record. Returns a summary.

    Parameters (``ctx.params``): ``models``, ``budget``, ``seed``, ``n_shuffles``,
    ``n_boot``, ``batch_correct``.
    """
    ws = ctx.workspace
    study = ws.get_study(ctx.study_id)
    if study.dataset is None:
        raise DataFormatError("The study has no data yet: load a table on the Data page first.")
    from ..intake import load_dataset
    from ..split import load_split

    p = dict(ctx.params)
    params: dict[str, Any] = {
        "models": list(p.get("models") or BASELINE_FAMILIES),
        "budget": int(p.get("budget", 20)),
        "seed": int(p.get("seed", 0)),
        "n_shuffles": int(p.get("n_shuffles", 20)),
        "n_boot": int(p.get("n_boot", 1000)),
        "batch_correct": bool(p.get("batch_correct", False)),
    }
    ctx.progress(0.0, "loading the table and the split")
    df = load_dataset(ws, study.dataset.dataset_id)
    split = load_split(ws, study)
    if split is None:
        raise SplitError("The study has no split yet: make one on the Split page before the baselines.")
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
        progress=ctx.progress,
    )
    sha = ws.put_json(study.id, RESULTS_KIND, RESULTS_NAME, results)
    summary = {
        "selected": results["selected"],
        "primary_metric": results["primary_metric"],
        "cv_scores": {n: m["cv_score"] for n, m in results["models"].items()},
        "findings": [f["code"] for f in results["findings"]],
        "results_sha256": sha,
        "duration_s": round(time.perf_counter() - t0, 2),
    }
    latest = ws.get_study(study.id)
    record = StepRecord(
        step="baselines",
        params=params,
        input_hashes={"dataset": study.dataset.sha256, "split": split.sha256, "results": sha},
        seed=params["seed"],
        versions=results["versions"],
        started_at=started,
        finished_at=utcnow(),
        summary=summary,
    )
    ws.save_study(latest.with_step(record), action="baselines_done", detail={"results": sha})
    return summary
