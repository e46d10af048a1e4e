"""Systematic hyper-parameter search for the deep model (Tip 6).

Optuna's seeded TPE sampler proposes ``budget`` configurations from a define-by-run
space (depth, width or filters and kernel size, dropout, learning rate and weight decay
on a log scale, batch size; on a wide table also the train-only reduction: the
label-associated filter with its size, or a PCA with its components). The first trial is
the small default network (Tip 3: start small), on a wide table with the baselines'
kind of filter: a setting known to train well. A trial whose training loss diverges is
pruned at once. Each trial trains with early stopping and reports its validation loss every
epoch; the median pruner stops trials that are worse than the median of earlier trials
at the same epoch. The budget is the same number of trials the baselines get (Tip 2).
"What mattered" is Optuna's fANOVA importance, or, when it cannot be computed, the rank
correlation of each hyper-parameter with the validation loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import ModelError
from ._arch import DeepConfig
from ._data import TaskData
from ._model import train_on_rows

__all__ = ["SearchResult", "suggest_config", "search", "param_importance", "BATCH_SIZES"]

BATCH_SIZES = (16, 32, 64, 128)
#: Trials that always run to the end before the median pruner may stop others, and the
#: epochs every trial gets before it can be pruned (early epochs are too noisy to judge).
PRUNER_STARTUP_TRIALS = 5
PRUNER_WARMUP_EPOCHS = 5
#: A trial whose training loss climbs above this multiple of its first epoch's loss (or
#: becomes infinite) is diverging (a loss that jumps from 1.7 to 27.9 in one epoch): it is
#: pruned at once, whatever the median pruner's warm-up.
DIVERGENCE_FACTOR = 3.0
#: Largest number of label-associated features, and of principal components, the search
#: may keep on a wide table.
MAX_FILTER = 2000
MAX_PCS = 50

Progress = Callable[[float, str], None]


@dataclass
class SearchResult:
    """The best configuration, the full trial log and what mattered."""

    best: DeepConfig
    best_value: float
    best_metric: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    importance: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0


def suggest_config(trial: Any, base: DeepConfig, *, n_fit: int, n_features: int = 0) -> DeepConfig:
    """Define-by-run search space around ``base`` (architecture kind and epochs stay fixed)."""
    changes: dict[str, Any] = {}
    if base.kind == "mlp":
        changes["depth"] = trial.suggest_int("depth", 1, 4)
        changes["width"] = trial.suggest_int("width", 16, 256, log=True)
    else:
        # small convolutional networks (Tip 3): motifs of 5-15 letters, up to 64 filters
        changes["depth"] = trial.suggest_int("depth", 1, 2)
        changes["n_filters"] = trial.suggest_int("n_filters", 8, 64, log=True)
        changes["kernel_size"] = trial.suggest_int("kernel_size", 5, 15, step=2)
    if base.reduce != "none":  # a wide table: the reduction is part of every trial
        n_in = n_features or base.n_reduce
        reduce = trial.suggest_categorical("reduce", ["filter", "pca"])
        if reduce == "filter":
            # more kept features than twice the fitting rows add noise, not signal
            high = max(10, min(MAX_FILTER, n_in, 2 * n_fit))
            changes["n_reduce"] = trial.suggest_int("n_keep", min(10, high), high, log=True)
        else:
            changes["n_reduce"] = trial.suggest_int("n_pcs", 2, max(2, min(MAX_PCS, n_fit - 1)), log=True)
        changes["reduce"] = reduce
    changes["dropout"] = trial.suggest_float("dropout", 0.0, 0.5)
    changes["lr"] = trial.suggest_float("lr", 1e-4, 3e-2, log=True)
    changes["weight_decay"] = trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True)
    sizes = [b for b in BATCH_SIZES if b <= max(n_fit, BATCH_SIZES[0])]
    changes["batch_size"] = trial.suggest_categorical("batch_size", sizes)
    return base.with_(**changes)


def _searched(config: DeepConfig, *, n_fit: int) -> dict[str, Any]:
    keys = ["depth", "dropout", "lr", "weight_decay", "batch_size"]
    keys += ["width"] if config.kind == "mlp" else ["n_filters", "kernel_size"]
    out = {k: getattr(config, k) for k in keys}
    sizes = [b for b in BATCH_SIZES if b <= max(n_fit, BATCH_SIZES[0])]
    out["batch_size"] = min(sizes, key=lambda b: abs(b - config.batch_size))
    if config.reduce != "none":
        out["reduce"] = config.reduce
        out["n_keep" if config.reduce == "filter" else "n_pcs"] = config.n_reduce
    return out


def search(
    data: TaskData,
    fit_rows: np.ndarray,
    val_rows: np.ndarray,
    *,
    spec: Mapping[str, Any],
    base: DeepConfig,
    budget: int,
    seed: int,
    device: torch.device,
    progress: Progress | None = None,
) -> SearchResult:
    """Run ``budget`` trials; every trial trains on ``fit_rows`` and is judged on ``val_rows``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_EPOCHS
        ),
    )
    n_features = int(spec.get("n_in", 0))
    study.enqueue_trial(_searched(base, n_fit=len(fit_rows)))  # the first trial: known to train well
    budget = max(1, int(budget))

    def objective(trial: Any) -> float:
        config = suggest_config(trial, base, n_fit=len(fit_rows), n_features=n_features)
        first: list[float] = []

        def on_epoch(epoch: int, rec: Mapping[str, Any]) -> None:
            loss = float(rec["train_loss"])
            if not first:
                first.append(loss)
            if not math.isfinite(loss) or (epoch > 1 and loss > DIVERGENCE_FACTOR * first[0]):
                trial.set_user_attr("epochs", epoch)
                trial.set_user_attr("diverged", True)
                raise optuna.TrialPruned()
            trial.report(rec["val_loss"], epoch)
            if progress is not None:
                frac = (trial.number + epoch / config.max_epochs) / budget
                progress(frac, f"search: trial {trial.number + 1}/{budget}, epoch {epoch}")
            if trial.should_prune():
                trial.set_user_attr("epochs", epoch)
                raise optuna.TrialPruned()

        model, result = train_on_rows(
            data, fit_rows, val_rows, spec=spec, config=config, seed=seed, device=device, on_epoch=on_epoch
        )
        best = result.history[result.best_epoch - 1] if result.best_epoch else result.history[-1]
        trial.set_user_attr("epochs", len(result.history))
        trial.set_user_attr("best_epoch", result.best_epoch)
        trial.set_user_attr("val_metric", best["val_metric"])
        return float(result.best_val_loss)

    # a diverging trial (ModelError) is recorded as failed; cancellation still propagates
    study.optimize(objective, n_trials=budget, catch=(ModelError,))
    trials = [
        {
            "number": t.number,
            "params": dict(t.params),
            "value": t.value,
            "state": t.state.name.lower(),
            "epochs": t.user_attrs.get("epochs"),
            "best_epoch": t.user_attrs.get("best_epoch"),
            "val_metric": t.user_attrs.get("val_metric"),
            "diverged": bool(t.user_attrs.get("diverged", False)),
        }
        for t in study.trials
    ]
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise ModelError(
            "Every trial of the deep-model search failed (training diverged). Check the features "
            "for extreme values, or lower the learning rate range."
        )
    best_trial = study.best_trial
    best = suggest_config(
        optuna.trial.FixedTrial(best_trial.params), base, n_fit=len(fit_rows), n_features=n_features
    )
    return SearchResult(
        best=best,
        best_value=float(best_trial.value if best_trial.value is not None else "nan"),
        best_metric=float(best_trial.user_attrs.get("val_metric", float("nan"))),
        trials=trials,
        importance=param_importance(study, complete, seed=seed),
        duration_s=time.perf_counter() - t0,
    )


def param_importance(study: Any, complete: list[Any], *, seed: int) -> dict[str, Any]:
    """Which hyper-parameters mattered: fANOVA, else |Spearman rho| with the loss (normalised)."""
    if len(complete) < 3:
        return {"method": "none", "importances": {}, "note": "fewer than 3 completed trials"}
    try:
        from optuna.importance import FanovaImportanceEvaluator, get_param_importances

        imp = get_param_importances(study, evaluator=FanovaImportanceEvaluator(seed=seed))
        values = {k: float(v) for k, v in imp.items() if math.isfinite(float(v))}
        if values:
            return {"method": "fanova", "importances": values}
    except (ImportError, RuntimeError, ValueError, ZeroDivisionError):
        pass
    from scipy.stats import spearmanr

    loss = np.array([t.value for t in complete], dtype=float)
    raw: dict[str, float] = {}
    for name in sorted({k for t in complete for k in t.params}):
        vals = [t.params.get(name) for t in complete]
        if any(v is None for v in vals) or len(set(vals)) < 2:
            continue
        rho = spearmanr(np.asarray(vals, dtype=float), loss).statistic
        raw[name] = abs(float(rho)) if np.isfinite(rho) else 0.0
    total = sum(raw.values())
    values = {k: v / total for k, v in raw.items()} if total > 0 else raw
    return {"method": "spearman", "importances": dict(sorted(values.items(), key=lambda kv: -kv[1]))}
