"""Hyper-parameter search with an equal budget for every family (Tips 2 and 6).

Optuna's TPE sampler (seeded) proposes ``budget`` settings per family; each is scored by
the mean primary metric (AUPRC or R²) over the group-aware cross-validation folds of the
training side. Preprocessing has no hyper-parameters, so it is fitted once per fold, on
that fold's fitting rows only, and reused by every trial (the same numbers a fresh
pipeline per trial would give, only faster).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._metrics import metric_values
from ._models import FAMILIES, WIDE_FEATURES, SpaceInfo, make_estimator, make_preprocessor

__all__ = ["TuneResult", "FoldData", "prepare_folds", "tune_family", "predict_scores", "score_primary"]

Progress = Callable[[float, str], None]
#: Cache the preprocessed folds only below this size (bytes); above, preprocess per trial.
CACHE_BYTES = 600 * 2**20
NO_HYPERPARAMETERS = "no hyper-parameters; 1 fit"
#: Pruning, the same for every baseline family: after PRUNE_STARTUP complete trials, a
#: trial whose running mean over its first folds (at least PRUNE_WARMUP + 1) is below the
#: median of the earlier trials at the same fold stops early. A pruned trial still counts
#: against the budget. (The deep search prunes by epoch, in ``deeprules_core.deep``.)
PRUNE_STARTUP = 5
PRUNE_WARMUP = 1


@dataclass
class FoldData:
    fit_rows: np.ndarray
    val_rows: np.ndarray
    y: np.ndarray
    task: str
    batch_correct: bool = False
    X_fit: np.ndarray | None = None
    X_val: np.ndarray | None = None


@dataclass
class TuneResult:
    family: str
    params: dict[str, Any]
    cv_score: float
    fold_scores: list[float]
    n_trials: int
    trials: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    duration_s: float = 0.0


def predict_scores(model: Any, X: Any, *, task: str, n_classes: int) -> np.ndarray:
    """Class-probability matrix over *all* classes (a fold may miss one), or predictions."""
    if task == "regression":
        return np.asarray(model.predict(X), dtype=float)
    proba = np.asarray(model.predict_proba(X), dtype=float)
    out = np.zeros((proba.shape[0], n_classes))
    out[:, np.asarray(model.classes_, dtype=int)] = proba
    return out


def score_primary(y: np.ndarray, pred: np.ndarray, *, task: str, n_classes: int, positive: int) -> float:
    metric = "auprc" if task == "classification" else "r2"
    classes = list(range(n_classes)) if task == "classification" else None
    v = metric_values(y, pred, np.ones((1, len(y))), task=task, classes=classes, positive_class=positive)
    return float(v[metric][0])


def prepare_folds(
    X: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    y: np.ndarray,
    task: str,
    batch_correct: bool = False,
) -> list[FoldData]:
    """Fit the preprocessing on each fold's fitting rows (and their labels); cache the
    result when it fits in memory."""
    n_out = min(X.shape[1], WIDE_FEATURES)
    total = sum((len(f) + len(v)) * n_out * 8 for f, v in folds)
    out = []
    for fit, val in folds:
        fd = FoldData(np.asarray(fit), np.asarray(val), y=y, task=task, batch_correct=batch_correct)
        if total <= CACHE_BYTES:
            fd.X_fit, fd.X_val = _preprocess(X, fd)
        out.append(fd)
    return out


def _preprocess(X: np.ndarray, fd: FoldData) -> tuple[np.ndarray, np.ndarray]:
    pre = make_preprocessor(X.shape[1], task=fd.task, batch_correct=fd.batch_correct)
    pre.fit(X[fd.fit_rows], fd.y[fd.fit_rows])
    return pre.transform(X[fd.fit_rows]), pre.transform(X[fd.val_rows])


def _fold_arrays(X: np.ndarray, fd: FoldData) -> tuple[np.ndarray, np.ndarray]:
    if fd.X_fit is not None and fd.X_val is not None:
        return fd.X_fit, fd.X_val
    return _preprocess(X, fd)


def iter_cv_scores(
    family: str,
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    folds: Sequence[FoldData],
    *,
    task: str,
    n_classes: int,
    positive: int,
    seed: int,
) -> Iterator[float]:
    """The primary metric on each validation fold for one setting, fold by fold."""
    for fd in folds:
        Xf, Xv = _fold_arrays(X, fd)
        model = make_estimator(family, params, task=task, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(Xf, y[fd.fit_rows])
        pred = predict_scores(model, Xv, task=task, n_classes=n_classes)
        yield score_primary(y[fd.val_rows], pred, task=task, n_classes=n_classes, positive=positive)


def tune_family(
    family: str,
    X: np.ndarray,
    y: np.ndarray,
    folds: Sequence[FoldData],
    *,
    task: str,
    n_classes: int,
    positive: int,
    budget: int,
    seed: int = 0,
    progress: Progress | None = None,
) -> TuneResult:
    """Search ``budget`` settings of one family with seeded TPE; record every trial."""
    t0 = time.perf_counter()
    fam = FAMILIES[family]
    kw: dict[str, Any] = {
        "task": task,
        "n_classes": n_classes,
        "positive": positive,
        "seed": seed,
    }
    if not fam.has_hyperparameters:
        scores = list(iter_cv_scores(family, {}, X, y, folds, **kw))
        value = float(np.nanmean(scores)) if np.isfinite(scores).any() else float("nan")
        trial = {"number": 0, "params": {}, "value": value, "state": "COMPLETE", "fold_scores": scores}
        if progress:
            progress(1.0, f"{family}: {NO_HYPERPARAMETERS}")
        return TuneResult(family, {}, value, scores, 1, [trial], NO_HYPERPARAMETERS, time.perf_counter() - t0)

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    info = SpaceInfo(
        task=task,
        n_features=X.shape[1],
        n_fit_min=int(min(len(fd.fit_rows) for fd in folds)),
        n_classes=n_classes,
    )
    fold_scores: dict[int, list[float]] = {}
    objective = make_objective(family, X, y, folds, kw, info, fold_scores, progress, budget)
    spread = _spread_config(budget)
    if spread is not None:  # the trials run as a SLURM job array sharing one Optuna study
        from ._spread import spread_study

        payload = {"X": X, "y": y, "folds": list(folds), "kw": kw, "info": info, "seed": seed}
        study = spread_study(family, payload, budget=budget, config=spread, progress=progress)
    else:
        study = optuna.create_study(
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP, n_warmup_steps=PRUNE_WARMUP),
        )
        study.optimize(objective, n_trials=budget, catch=(ValueError, ArithmeticError))
    trials = [
        {
            "number": t.number,
            "params": dict(t.params),
            "value": t.value,
            "state": t.state.name,
            "fold_scores": fold_scores.get(t.number) or list(t.user_attrs.get("fold_scores", [])),
            "duration_s": t.duration.total_seconds() if t.duration else None,
        }
        for t in study.trials
    ]
    done = [
        t for t in study.trials if t.state.name == "COMPLETE" and t.value is not None and np.isfinite(t.value)
    ]
    if not done:
        from ..errors import ModelError

        raise ModelError(
            f"Every {family} setting failed during tuning (for example, a fold without both classes). "
            "Check the split: each CV fold needs samples of every class."
        )
    best = max(done, key=lambda t: float(t.value or 0.0))  # every value in done is finite
    params = dict(best.params)
    return TuneResult(
        family,
        params,
        float(best.value or 0.0),
        fold_scores.get(best.number) or list(best.user_attrs.get("fold_scores", [])),
        len(study.trials),
        trials,
        _pruning_note(trials),
        time.perf_counter() - t0,
    )


def make_objective(
    family: str,
    X: np.ndarray,
    y: np.ndarray,
    folds: Sequence[FoldData],
    kw: dict[str, Any],
    info: SpaceInfo,
    fold_scores: dict[int, list[float]],
    progress: Progress | None,
    budget: int,
) -> Callable[[Any], float]:
    """Optuna's objective for one family: the mean primary metric over the CV folds,
    pruned fold by fold. Each trial's fold scores go to ``fold_scores`` (and, in a
    shared study, to the trial's ``fold_scores`` attribute)."""
    import optuna

    fam = FAMILIES[family]

    def objective(trial: Any) -> float:
        params = fam.space(trial, info)
        scores: list[float] = []
        fold_scores[trial.number] = scores
        try:
            for step, score in enumerate(iter_cv_scores(family, params, X, y, folds, **kw)):
                scores.append(score)
                finite = [v for v in scores if np.isfinite(v)]
                if finite and step < len(folds) - 1:
                    trial.report(float(np.mean(finite)), step)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
        finally:
            if not isinstance(trial.storage, optuna.storages.InMemoryStorage):
                trial.set_user_attr("fold_scores", [float(v) for v in scores])
            if progress:
                progress((trial.number + 1) / budget, f"{family}: trial {trial.number + 1} of {budget}")
        finite = [v for v in scores if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")

    return objective


def _spread_config(budget: int) -> Any | None:
    """The executor configuration when this search is to run as a SLURM array, else None."""
    import os

    if os.environ.get("DEEPRULES_EXECUTOR", "local").strip().lower() != "slurm" or budget < 2:
        return None
    from ..jobs._config import ExecutorConfig

    return ExecutorConfig.from_env()


def _pruning_note(trials: Sequence[dict[str, Any]]) -> str:
    pruned = sum(t["state"] == "PRUNED" for t in trials)
    return f"Optuna TPE; {pruned} of {len(trials)} trials stopped early (median pruning)" if pruned else ""
