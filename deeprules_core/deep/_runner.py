"""``run_deep``: search, several seeds, controls and findings for one deep model.

The entry it returns goes into ``results["models"]`` next to the baselines, with the
same metric panel and the same bootstrap intervals (``deeprules_core.modeling``):

1. the architecture is chosen from the data representation (MLP or 1D CNN);
2. ``budget`` Optuna trials search the hyper-parameters on the training side;
3. the best configuration is trained with ``n_seeds`` seeds (mean and spread reported;
   the first seed's model is *the* model, the one saved and compared);
4. the shuffled-label control trains the same configuration on shuffled training labels
   ``n_shuffles`` times and scores it on the real tune labels (Tip 7);
5. findings: ``no_signal`` (no better than shuffled labels), ``overfitting`` (a large
   train-to-tune gap).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..findings import Finding, to_jsonable
from ..split import Split
from ..study import Roles
from ._arch import PARAMS_PER_SAMPLE_WARNING, count_parameters, suggest_architecture
from ._data import Alphabet, TaskData, prepare
from ._model import DeepModel, labelled_rows, make_spec, train_on_rows
from ._search import search
from ._train import pick_device, validation_rows

__all__ = ["run_deep", "deep_run", "DeepRun", "MIN_TRAIN_ROWS"]

Progress = Callable[[float, str], None]

#: Below this many labelled training rows a deep model cannot be fitted and judged.
MIN_TRAIN_ROWS = 20
#: Report progress at most this often (seconds): each report asks the store about cancel.
PROGRESS_EVERY_S = 0.2


@dataclass
class DeepRun:
    """Everything one run made: the results entry, the model, its findings."""

    entry: dict[str, Any]
    model: DeepModel
    findings: list[Finding]


def _modeling() -> Any:
    from .. import modeling

    return modeling


def epoch_curve(history: list[dict[str, Any]], *, metric: str, best_epoch: int) -> dict[str, Any]:
    """The per-epoch learning curve as columns (train/validation loss and metric)."""
    keys = ("epoch", "train_loss", "val_loss", "train_metric", "val_metric")
    out: dict[str, Any] = {k: [h[k] for h in history] for k in keys}
    out.update(metric=metric, best_epoch=int(best_epoch), validation="first CV fold of the training side")
    return out


def _curves(t: Any, rows: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    """ROC / PR / calibration data on the tune side, as the baselines have them."""
    from ..modeling._curves import curve_data

    classes = list(range(t.n_classes)) if t.classes else None
    curves = curve_data(t.y[rows], scores, task=t.task, classes=classes, positive_class=t.positive)
    if t.classes:  # key the curves by the real class names
        names = {str(i): str(c) for i, c in enumerate(t.classes)}
        curves = {
            k: ({names.get(c, c): v for c, v in d.items()} if k != "scatter" else d)
            for k, d in curves.items()
        }
    return curves


class _Throttle:
    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.last = progress, 0.0

    def __call__(self, frac: float, msg: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is not None and (force or now - self.last >= PROGRESS_EVERY_S):
            self.last = now
            self.progress(min(max(frac, 0.0), 1.0), msg)


def deep_run(
    df: pd.DataFrame,
    roles: Roles,
    split: Split,
    *,
    kind: str = "auto",
    budget: int = 20,
    seed: int = 0,
    n_seeds: int = 3,
    max_epochs: int = 100,
    n_shuffles: int = 20,
    n_boot: int = 1000,
    device: str | None = None,
    progress: Progress | None = None,
) -> DeepRun:
    """Like :func:`run_deep`, but also return the trained model and the findings."""
    t0 = time.perf_counter()
    report = _Throttle(progress)
    if not roles.label:
        raise ModelError("The study has no label column: set one on the Data page.")
    if n_seeds < 1 or n_shuffles < 0 or budget < 1:
        raise ModelError("The deep model needs budget >= 1, n_seeds >= 1 and n_shuffles >= 0.")
    dev = pick_device(device)
    choice = suggest_architecture(df, roles, kind=kind)
    base = choice.config.with_(max_epochs=int(max_epochs), patience=min(10, max(3, int(max_epochs) // 5)))  # type: ignore[union-attr]
    t, spec, data = network_inputs(df, roles, split, base)
    labelled = labelled_rows(data, roles.task)
    fit_rows, val_rows = validation_rows(split, labelled, groups=data.groups, y=data.y, seed=seed)
    tune_rows = t.rows["tune"]
    if len(fit_rows) + len(val_rows) < MIN_TRAIN_ROWS or len(tune_rows) == 0:
        raise ModelError(
            f"Too few labelled samples for a deep model: {len(fit_rows) + len(val_rows)} on the training "
            f"side (at least {MIN_TRAIN_ROWS}) and {len(tune_rows)} on the tune side. Deep learning "
            "needs far more data (Tip 1); use the baselines."
        )

    # 1-2. systematic search (0 -> 60 %)
    found = search(
        data,
        fit_rows,
        val_rows,
        spec=spec,
        base=base,
        budget=budget,
        seed=seed,
        device=dev,
        progress=lambda f, m: report(0.6 * f, m),
    )
    config = found.best

    primary = "auprc" if roles.task == "classification" else "r2"

    # 3. several seeds of the chosen configuration (60 -> 80 %)
    tune = data.subset(tune_rows)
    tune_groups = tune.groups
    per_seed: list[dict[str, Any]] = []
    model: DeepModel | None = None
    for i in range(n_seeds):
        s = seed + i

        def on_epoch(epoch: int, _rec: Mapping[str, Any], i: int = i) -> None:
            report(
                0.6 + 0.2 * (i + epoch / config.max_epochs) / n_seeds,
                f"seed {i + 1}/{n_seeds}, epoch {epoch}",
            )

        m, _ = train_on_rows(
            data, fit_rows, val_rows, spec=spec, config=config, seed=s, device=dev, on_epoch=on_epoch
        )
        panel = t.panel(tune_rows, m.scores(tune), n_boot=0, seed=seed)
        per_seed.append(
            {
                "seed": s,
                "best_epoch": m.training_["best_epoch"],
                "tune": {k: v["value"] for k, v in panel.items()},
            }
        )
        if model is None:
            model = m
    if model is None:  # n_seeds >= 1 was checked above
        raise ModelError("No seed was trained.")
    fit = data.subset(fit_rows)
    tune_scores = model.scores(tune)
    metrics: dict[str, Any] = {  # the baselines' panel: same classes, positive class, groups and intervals
        "train": t.panel(fit_rows, model.scores(fit), n_boot=n_boot, seed=seed),
        "tune": t.panel(tune_rows, tune_scores, n_boot=n_boot, seed=seed),
        "test": None,
    }

    # 4. the permutation control (80 -> 100 %), permuted as the baselines' control permutes
    control = _permutation_control(
        data, t, split, spec=spec, config=config, best_epoch=int(model.training_.get("best_epoch") or 1),
        n_shuffles=n_shuffles, seed=seed, device=dev, report=lambda f, m: report(0.8 + 0.2 * f, m),
    )  # fmt: skip

    n_params = count_parameters(model.module)
    architecture = choice.to_dict()
    architecture.update(
        n_params=n_params,
        n_samples=len(fit_rows),
        config=config.to_dict(),
        warning=choice.warning
        if n_params <= PARAMS_PER_SAMPLE_WARNING * len(fit_rows)
        else (
            f"The chosen network has {n_params:,} parameters for {len(fit_rows):,} training samples "
            f"(over {PARAMS_PER_SAMPLE_WARNING} per sample): it can memorise the training data. "
            "Trust the tune-set metrics and the shuffled-label control, not the training metrics."
        ),
    )
    seed_values = {k: [p["tune"][k] for p in per_seed] for k in per_seed[0]["tune"]}
    entry: dict[str, Any] = {
        "family": config.kind,
        "kind": "deep",
        "params": config.to_dict(),
        "seed": int(seed),
        "n_trials": len(found.trials),
        "cv_score": found.best_metric,
        "cv_note": "validation metric of the best trial on the training side's first CV fold",
        "trials": found.trials,
        "importance": found.importance,
        "metrics": metrics,
        "curves": _curves(t, tune_rows, tune_scores),
        "learning_curve": epoch_curve(
            model.history_, metric=primary, best_epoch=model.training_["best_epoch"]
        ),
        "seeds": per_seed,
        "seed_summary": {
            k: {"mean": float(np.nanmean(v)), "sd": float(np.nanstd(v, ddof=1)) if len(v) > 1 else 0.0}
            for k, v in seed_values.items()
        },
        "n_params": n_params,
        "device": str(dev),
        "deterministic": True,
        "reproducibility": model.training_,
        "architecture": architecture,
        "controls": {"shuffled_label": control},
        "positive_class": t.positive_class,
        "predictions": {"tune": np.round(tune_scores, 6)},
        "tune_predictions": {
            "ids": tune.ids,
            "scores": tune_scores,
            "y_true": tune.y_raw,
            "groups": tune_groups,
        },
        "duration_s": time.perf_counter() - t0,
    }
    findings = deep_findings(entry, name=config.kind)
    entry["findings"] = [f.to_dict() for f in findings]
    report(1.0, "deep model done", force=True)
    return DeepRun(entry=to_jsonable(entry), model=model, findings=findings)


#: The deep control's cheaper schedule: at most this many of the split's CV folds, and a
#: fixed number of epochs (the chosen model's best epoch), no early stopping.
CONTROL_FOLDS = 3


def _permutation_control(
    data: TaskData,
    t: Any,
    split: Split,
    *,
    spec: Mapping[str, Any],
    config: Any,
    best_epoch: int,
    n_shuffles: int,
    seed: int,
    device: Any,
    report: Callable[[float, str], None],
) -> dict[str, Any]:
    """The permutation test of the deep model (as the baselines': labels permuted on the
    training side, scored on equally permuted labels by cross-validation), on a cheaper
    schedule: the first :data:`CONTROL_FOLDS` folds, the chosen configuration trained for a
    fixed number of epochs (its best epoch) without early stopping."""
    from ..modeling._controls import permutation_test
    from ..modeling._harness import _folds
    from ..modeling._tuning import score_primary

    folds = _folds(split, t, seed)[0][:CONTROL_FOLDS]
    epochs = max(1, min(int(best_epoch), int(config.max_epochs)))
    fixed = config.with_(max_epochs=epochs, patience=epochs + 1)
    done = [0]
    total = (1 + n_shuffles) * len(folds)

    def score(labels: np.ndarray) -> float:
        y = data.y.copy()  # type: ignore[union-attr]
        y[t.rows["train"]] = labels[t.rows["train"]]
        relabelled = TaskData(data.x, y, data.ids, data.groups, data.y_raw)
        scores = []
        for fit, val in folds:
            m, _ = train_on_rows(
                relabelled, fit, val, spec=spec, config=fixed, seed=seed, device=device, keep_last=True
            )
            pred = m.scores(relabelled.subset(val))
            scores.append(
                score_primary(y[val], pred, task=t.task, n_classes=t.n_classes, positive=t.positive)
            )
            done[0] += 1
            report(done[0] / total, f"shuffled-label control: fit {done[0]} of {total}")
        finite = [v for v in scores if np.isfinite(v)]
        return float(np.mean(finite)) if finite else float("nan")

    out = permutation_test(
        score, np.asarray(data.y), train_rows=t.rows["train"], groups=data.groups, n_permutations=n_shuffles,
        seed=seed,
    )  # fmt: skip
    return {
        "model": config.kind,
        "metric": "auprc" if t.task == "classification" else "r2",
        **out,
        "tuning": "the deep model's chosen configuration, retrained in every fold of every permutation",
        "scored_on": f"training side by cross-validation on {len(folds)} folds, the labels of the fitting and "
        "the scoring rows permuted alike (Ojala and Garriga 2010)",
        "schedule": f"cheaper than the search: {len(folds)} folds, {epochs} epochs each (the chosen model's "
        "best epoch), no early stopping",
        "n_folds": len(folds),
    }


def network_inputs(df: Any, roles: Any, split: Any, config: Any) -> tuple[Any, dict[str, Any], Any]:
    """The baselines' task arrays (labels, classes, positive class, rows), the network's spec
    for ``config`` and the prepared tensors-to-be: what every deep training starts from."""
    from ..modeling._harness import TaskArrays

    t = TaskArrays(df, roles, split)
    spec = make_spec(df, roles, config)
    if t.classes is not None:
        spec["classes"] = list(t.classes)
        spec["n_out"] = max(len(t.classes), 2)
    data = prepare(
        df,
        roles,
        representation=spec["representation"],
        features=spec.get("features"),
        alphabet=Alphabet(**spec["alphabet"]) if spec.get("alphabet") else None,
        classes=spec.get("classes"),
    )
    return t, spec, data


def run_deep(
    df: pd.DataFrame,
    roles: Roles,
    split: Split,
    *,
    kind: str = "auto",
    budget: int = 20,
    seed: int = 0,
    n_seeds: int = 3,
    max_epochs: int = 100,
    n_shuffles: int = 20,
    n_boot: int = 1000,
    device: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train, tune and check one deep model; return its entry for ``results["models"]``.

    Parameters
    ----------
    df, roles, split
        The table, its column roles and the study's split (only train and tune are used).
    kind
        ``"auto"`` (MLP for measurements, 1D CNN for a sequence column), ``"mlp"``, ``"cnn"``.
    budget
        Optuna trials: give the same number as the baselines (Tip 2).
    seed
        First seed; the chosen configuration is retrained with ``seed .. seed+n_seeds-1``.
    n_seeds
        Seeds of the final configuration (mean and spread reported; Tip 3).
    max_epochs
        Upper limit of epochs; early stopping usually ends training sooner.
    n_shuffles
        Shuffled-label control runs (Tip 7); each trains the chosen configuration.
    n_boot
        Bootstrap resamples of the metric intervals (as for the baselines).
    progress
        ``progress(fraction, message)``, called at most every 0.2 s during training.

    Returns
    -------
    dict
        ``family``, ``kind="deep"``, ``params``, ``seed``, ``n_trials``, ``cv_score``,
        ``trials``, ``metrics`` (train/tune panels), ``seeds``, ``learning_curve``,
        ``device``, ``deterministic``, ``architecture``, ``controls``,
        ``tune_predictions``, ``findings``, ``duration_s``.
    """
    return deep_run(
        df,
        roles,
        split,
        kind=kind,
        budget=budget,
        seed=seed,
        n_seeds=n_seeds,
        max_epochs=max_epochs,
        n_shuffles=n_shuffles,
        n_boot=n_boot,
        device=device,
        progress=progress,
    ).entry


def deep_findings(entry: Mapping[str, Any], *, name: str) -> list[Finding]:
    """``no_signal`` (or ``control_inconclusive``) and ``overfitting`` for one deep entry,
    by the baselines' rules (``modeling.check_no_signal`` / ``check_overfitting``, same
    thresholds); the messages name the deep model, and call it "selected" only when it is."""
    from ..modeling._compare import check_no_signal, check_overfitting

    ctrl = entry["controls"]["shuffled_label"]
    mini = {
        "primary_metric": ctrl["metric"],
        "task": "regression" if ctrl["metric"] == "r2" else "classification",
        "selected": None,
        "models": {name: entry},
        "controls": {"shuffled_label": ctrl},
    }
    return check_no_signal(mini) + check_overfitting(mini, model=name)
