"""Job target: the baselines step, run in a background process (``deeprules_core.jobs``)."""

from __future__ import annotations

from typing import Any

from ..errors import DataFormatError
from ._models import BASELINE_FAMILIES

__all__ = ["baselines_job", "RESULTS_KIND", "RESULTS_NAME"]

RESULTS_KIND = "results"
RESULTS_NAME = "baselines"


def baselines_job(ctx: Any) -> dict[str, Any]:
    """Run the baselines step of ``ctx.study_id`` (:func:`deeprules_core.steps.run_baselines_step`,
    the function ``run`` calls too): results artifact ``results/baselines``, the
    ``baselines`` step record and its findings in the study's ledger. Returns the step's
    summary.

    Parameters (``ctx.params``): ``models``, ``budget``, ``seed``, ``n_shuffles``,
    ``n_boot``, ``batch_correct``.
    """
    from ..steps import run_baselines_step

    ws = ctx.workspace
    study = ws.get_study(ctx.study_id)
    if study.dataset is None:
        raise DataFormatError("The study has no data yet: load a table on the Data page first.")
    p = dict(ctx.params)
    ctx.progress(0.0, "loading the table and the split")
    run_baselines_step(
        ws,
        study,
        models=list(p.get("models") or BASELINE_FAMILIES),
        budget=int(p.get("budget", 20)),
        seed=int(p.get("seed", 0)),
        n_shuffles=int(p.get("n_shuffles", 20)),
        n_boot=int(p.get("n_boot", 1000)),
        batch_correct=bool(p.get("batch_correct", False)),
        progress=ctx.progress,
    )
    rec = ws.get_study(study.id).step("baselines")
    return dict(rec.summary) if rec is not None else {}
