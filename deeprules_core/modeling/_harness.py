"""``run_baselines``: tuned baselines with an equal budget, the metric panel, the controls.

The harness is pure: it reads the table, the roles and the split and returns the results
dict (HELPERS.md). It never touches the test side; :func:`evaluate_on_test` does that,
once, through the split's lock.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from ..errors import ColumnError, DataFormatError, ModelError, SplitError
from ..findings import to_jsonable
from ..study import Roles, package_versions, utcnow
from ._compare import finalize_results, select_model
from ._controls import learning_curve, metadata_only_control, shuffled_label_control
from ._curves import curve_data
from ._metrics import metric_panel, sorted_classes
from ._models import BASELINE_FAMILIES, FAMILIES, SINGLE_FEATURE, WIDE_FEATURES, make_pipeline
from ._tuning import predict_scores, prepare_folds, tune_family

__all__ = ["run_baselines", "fit_model", "evaluate_on_test", "model_inputs", "TaskArrays", "task_arrays"]

Progress = Callable[[float, str], None]
#: Folds made here when the split has none (group-aware, on the training side only).
DEFAULT_FOLDS = 5


def _noop(_f: float, _m: str) -> None:
    return None


def model_inputs(
    df: pd.DataFrame, roles: Roles, *, batch_correct: bool = False
) -> tuple[np.ndarray, list[str]]:
    """The feature matrix the baseline pipelines take (floats; NaN is imputed inside the
    pipeline). With ``batch_correct`` the batch code is appended as the last column."""
    cols = roles.feature_columns(df)
    if not cols:
        raise ColumnError(
            "There are no feature columns: every numeric column has another role (label, id, group, "
            "batch, covariate or time). Give the measurement columns no role (Data page, or the roles "
            "of the study file), so that they are used as features."
        )
    bad = [
        c for c in cols if not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
    ]
    if bad:
        raise DataFormatError(
            f"The feature column(s) {bad[:5]} are not numeric. The baseline models need numbers: fix "
            "the column type on the Checks page or remove the column from the features."
        )
    X = df[cols].to_numpy(dtype=float)
    X[np.isinf(X)] = np.nan  # as the out_of_range_values finding says: infinite values count as missing
    if batch_correct:
        if not roles.batch:
            raise ModelError("Batch correction needs a batch column; set one on the Data page.")
        batch = df[list(roles.batch)].astype(str).agg("|".join, axis=1)
        X = np.column_stack([X, pd.factorize(batch)[0].astype(float)])
    return X, cols


class TaskArrays:
    """Labels, classes, groups and the usable rows of each side, for one table and split."""

    def __init__(self, df: pd.DataFrame, roles: Roles, split: Any) -> None:
        if not roles.label or roles.label not in df.columns:
            raise ColumnError(
                "The study has no label column (the outcome to predict). Set it on the Data page."
            )
        if len(split.assignment) != len(df):
            raise SplitError(
                f"The split has {len(split.assignment)} rows but the table has {len(df)}: it was made for "
                "another table. Make the split again on the Split page."
            )
        self.task = roles.task
        from ..checks._units import without_missing_tokens  # the checks' list of tokens

        raw = without_missing_tokens(df[roles.label])  # a label typed '.' or 'NA' is no label
        labelled = raw.notna().to_numpy()
        if self.task == "classification":
            self.classes: list[Any] | None = sorted_classes(raw.to_numpy())
            if len(self.classes) < 2:
                raise ModelError(
                    f"The label {roles.label!r} has a single class; a classifier needs at least two."
                )
            lookup = {str(c): i for i, c in enumerate(self.classes)}
            self.y = np.array(
                [lookup.get(str(v), -1) if ok else -1 for v, ok in zip(raw, labelled, strict=True)]
            )
        else:
            self.classes = None
            self.y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
            labelled &= np.isfinite(self.y)
        self.n_unlabelled = int((~labelled).sum())
        self.groups = df[roles.group].astype(str).to_numpy() if roles.group else None
        self.ids = split.assignment["id"].to_numpy()
        self.rows = {s: split.indices(s)[labelled[split.indices(s)]] for s in ("train", "tune", "test")}
        if len(self.rows["train"]) < 2 or len(self.rows["tune"]) < 1:
            raise SplitError(
                "The split leaves too few labelled rows for training and tuning. Make a split with "
                "train and tune sides on the Split page."
            )
        self.n_classes = len(self.classes) if self.classes else 0
        self.positive = 0
        if self.classes and self.n_classes == 2:
            counts = np.bincount(self.y[self.rows["train"]], minlength=2)
            # the rarer class is the one whose precision-recall curve is informative
            self.positive = int(np.argmin(counts)) if counts[0] != counts[1] else 1

    @property
    def positive_class(self) -> Any:
        return self.classes[self.positive] if self.classes and self.n_classes == 2 else None

    def groups_of(self, rows: np.ndarray) -> np.ndarray | None:
        return None if self.groups is None else self.groups[rows]

    def panel(self, rows: np.ndarray, pred: np.ndarray, *, n_boot: int, seed: int) -> dict[str, Any]:
        return metric_panel(
            self.y[rows],
            pred,
            task=self.task,
            classes=list(range(self.n_classes)) if self.classes else None,
            groups=self.groups_of(rows),
            n_boot=n_boot,
            seed=seed,
            positive_class=self.positive if self.classes else None,
        )


task_arrays = TaskArrays


def _folds(split: Any, t: TaskArrays, seed: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    usable = np.zeros(len(t.y), dtype=bool)
    usable[t.rows["train"]] = True
    folds = [(f[usable[f]], v[usable[v]]) for f, v in split.cv_folds()]
    folds = [(f, v) for f, v in folds if len(f) and len(v)]
    if len(folds) >= 2:
        return folds, "the split's group-aware folds"
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    rows = t.rows["train"]
    groups = np.asarray(t.groups_of(rows) if t.groups is not None else rows.astype(str))
    k = int(min(DEFAULT_FOLDS, len(np.unique(groups))))
    if k < 2:
        raise SplitError("The training side has fewer than two groups: cross-validation is impossible.")
    if t.task == "classification" and np.bincount(t.y[rows]).min() >= k:
        cv: Any = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        cv = GroupKFold(n_splits=k, shuffle=True, random_state=seed)
    made = [(rows[a], rows[b]) for a, b in cv.split(rows, t.y[rows], groups)]
    return made, f"{k} group-aware folds made on the training side (the split had none)"


def _round(a: np.ndarray) -> list[Any]:
    return np.round(np.asarray(a, dtype=float), 6).tolist()


def _fit_entry(
    name: str,
    tuned: Any,
    X: np.ndarray,
    t: TaskArrays,
    *,
    seed: int,
    n_boot: int,
    budget: int,
    batch_correct: bool,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = make_pipeline(
        name, tuned.params, task=t.task, n_features=X.shape[1], seed=seed, batch_correct=batch_correct
    )
    tr, tu = t.rows["train"], t.rows["tune"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[tr], t.y[tr])
    p_train = predict_scores(model, X[tr], task=t.task, n_classes=t.n_classes)
    p_tune = predict_scores(model, X[tu], task=t.task, n_classes=t.n_classes)
    classes = list(range(t.n_classes)) if t.classes else None
    curves = curve_data(t.y[tu], p_tune, task=t.task, classes=classes, positive_class=t.positive)
    if t.classes:  # key the curves by the real class names
        names = {str(i): str(c) for i, c in enumerate(t.classes)}
        curves = {
            k: ({names.get(c, c): v for c, v in d.items()} if k != "scatter" else d)
            for k, d in curves.items()
        }
    est = model.steps[-1][1]
    extra: dict[str, Any] = {}
    if hasattr(est, "feature_"):  # the marker baseline: which column it chose on the training side
        support = getattr(model.named_steps.get("feature_filter"), "support_", None)
        extra["_feature_index"] = int(support[est.feature_] if support is not None else est.feature_)
    return extra | {
        "family": name,
        "kind": "baseline",
        "label": FAMILIES[name].label,
        "estimator": type(est).__name__,
        "params": tuned.params,
        "seed": seed,
        "budget": budget,
        "n_trials": tuned.n_trials,
        "tuning_note": tuned.note,
        "cv_score": tuned.cv_score,
        "cv_fold_scores": tuned.fold_scores,
        "trials": tuned.trials,
        "metrics": {
            "train": t.panel(tr, p_train, n_boot=n_boot, seed=seed),
            "tune": t.panel(tu, p_tune, n_boot=n_boot, seed=seed),
            "test": None,
        },
        "curves": curves,
        "predictions": {"tune": _round(p_tune)},
        "tuning_s": round(tuned.duration_s, 3),
        "duration_s": round(tuned.duration_s + time.perf_counter() - t0, 3),
    }


def run_baselines(
    df: pd.DataFrame,
    roles: Roles,
    split: Any,
    *,
    models: Sequence[str] = BASELINE_FAMILIES,
    budget: int = 20,
    seed: int = 0,
    n_shuffles: int = 20,
    n_boot: int = 1000,
    batch_correct: bool = False,
    learning_curve_fractions: Sequence[float] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Tune every baseline family with the same budget, score them, run the controls.

    Parameters
    ----------
    df, roles, split
        The table, its column roles, and the study's split (the test side is not touched).
    models
        Baseline families among ``dummy``, ``logistic_regression``, ``random_forest``,
        ``gradient_boosting``, ``knn`` (regression uses their regression counterparts).
    budget
        Optuna trials per family, the same for every family.
    n_shuffles
        Repetitions of the shuffled-label control (0 skips it).
    n_boot
        Bootstrap resamples (of groups) for the 95% intervals.
    batch_correct
        Put batch correction (fitted on training rows) into every pipeline.

    Returns
    -------
    dict
        The results dict of HELPERS.md; ``metrics["test"]`` is None until
        :func:`evaluate_on_test`.
    """
    report = progress or _noop
    unknown = [m for m in models if m not in FAMILIES]
    if unknown:
        raise ModelError(f"Unknown baseline model(s) {unknown}; choose among {list(BASELINE_FAMILIES)}.")
    if not models:
        raise ModelError("Choose at least one baseline model.")
    if SINGLE_FEATURE not in models:  # the marker baseline joins every comparison (Tip 1)
        models = (
            [*models[:1], SINGLE_FEATURE, *models[1:]] if models[0] == "dummy" else [SINGLE_FEATURE, *models]
        )
    if budget < 1:
        raise ModelError(f"The 'budget' must be an int >= 1. Got {budget} instead.")
    started, t0 = utcnow(), time.perf_counter()
    t = TaskArrays(df, roles, split)
    X, features = model_inputs(df, roles, batch_correct=batch_correct)
    folds, fold_source = _folds(split, t, seed)
    fold_data = prepare_folds(X, folds, y=t.y, task=t.task, batch_correct=batch_correct)
    n_models = len(models)
    share = 0.75 / n_models
    entries: dict[str, Any] = {}
    for i, name in enumerate(models):
        lo = 0.02 + i * share

        def sub(f: float, m: str, lo: float = lo) -> None:
            report(lo + share * 0.9 * f, m)

        tuned = tune_family(
            name,
            X,
            t.y,
            fold_data,
            task=t.task,
            n_classes=t.n_classes,
            positive=t.positive,
            budget=budget,
            seed=seed,
            progress=sub,
        )
        report(lo + share * 0.95, f"{name}: refit on the training side and score the tune side")
        entries[name] = _fit_entry(
            name, tuned, X, t, seed=seed, n_boot=n_boot, budget=budget, batch_correct=batch_correct
        )
        if name == SINGLE_FEATURE:
            entries[name]["chosen_feature"] = features[entries[name].pop("_feature_index")]
    del fold_data
    results: dict[str, Any] = {
        "task": t.task,
        "label": roles.label,
        "classes": t.classes,
        "positive_class": t.positive_class,
        "budget": int(budget),
        "seed": int(seed),
        "n_boot": int(n_boot),
        "split_sha256": split.sha256,
        "primary_metric": "auprc" if t.task == "classification" else "r2",
        "cv": {"source": fold_source, "n_folds": len(folds)},
        "preprocessing": {
            "steps": ["median imputation"]
            + (["batch correction"] if batch_correct else [])
            + (
                [
                    f"keep the {WIDE_FEATURES} features most associated with the label "
                    f"({'ANOVA F' if t.task == 'classification' else 'absolute correlation'}), "
                    "chosen again on the fitting rows of every fold and of every refit"
                ]
                if X.shape[1] > WIDE_FEATURES
                else []
            )
            + ["standardisation"],
            "fitted_on": "training rows only (each CV fold's fitting rows during tuning)",
            "n_features": len(features),
        },
        "batch_correct": bool(batch_correct),
        "n_rows": {s: int(len(r)) for s, r in t.rows.items()} | {"unlabelled": t.n_unlabelled},
        "models": entries,
        "tune_truth": {
            "ids": t.ids[t.rows["tune"]].tolist(),
            "y": t.y[t.rows["tune"]].tolist(),
            "groups": None if t.groups is None else t.groups[t.rows["tune"]].tolist(),
        },
        "controls": {"shuffled_label": None, "metadata_only": None},
    }
    if t.classes:  # the panel scores integer codes; the truth keeps the class names
        results["tune_truth"]["y"] = [t.classes[i] for i in t.y[t.rows["tune"]]]
    selected = select_model(results)
    results["selected"] = selected
    if selected:
        _controls(
            results,
            X,
            t,
            selected,
            folds=folds,
            seed=seed,
            n_shuffles=n_shuffles,
            batch_correct=batch_correct,
            report=report,
        )
    report(0.97, "metadata-only model")
    results["controls"]["metadata_only"] = metadata_only_control(df, roles, split, seed=seed)
    report(0.98, "paired comparisons")
    finalize_results(results)
    results["versions"] = package_versions()
    results["started_at"], results["finished_at"] = started, utcnow()
    results["duration_s"] = round(time.perf_counter() - t0, 2)
    report(1.0, "baselines done")
    return to_jsonable(results)


def _controls(
    results: dict[str, Any],
    X: np.ndarray,
    t: TaskArrays,
    selected: str,
    *,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    seed: int,
    n_shuffles: int,
    batch_correct: bool,
    report: Progress,
) -> None:
    entry = results["models"][selected]
    kw = {
        "train_rows": t.rows["train"],
        "tune_rows": t.rows["tune"],
        "groups": t.groups,
        "family": selected,
        "params": entry["params"],
        "task": t.task,
        "n_classes": t.n_classes,
        "positive": t.positive,
        "seed": seed,
        "batch_correct": batch_correct,
    }
    if n_shuffles > 0 and entry.get("family") != "dummy":  # the dummy ignores the features
        results["controls"]["shuffled_label"] = shuffled_label_control(
            X,
            t.y,
            folds=folds,
            n_shuffles=n_shuffles,
            progress=lambda f, m: report(0.77 + 0.15 * f, m),
            **{k: v for k, v in kw.items() if k != "tune_rows"},
        )
    report(0.93, "learning curve")
    entry["curves"]["learning_curve"] = learning_curve(X, t.y, **kw)


def fit_model(
    df: pd.DataFrame,
    roles: Roles,
    split: Any,
    *,
    family: str,
    params: dict[str, Any],
    seed: int = 0,
    batch_correct: bool = False,
) -> Pipeline:
    """The fitted Pipeline (preprocessing + model) of one family on the training side.

    It takes ``model_inputs(df, roles, batch_correct=...)[0]`` rows. Classifiers are fitted
    on integer codes: column ``i`` of ``predict_proba`` is class ``model.deeprules_classes_[i]``
    (the same order as ``results["classes"]``).
    """
    t = TaskArrays(df, roles, split)
    X, features = model_inputs(df, roles, batch_correct=batch_correct)
    model = make_pipeline(
        family, params, task=t.task, n_features=X.shape[1], seed=seed, batch_correct=batch_correct
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[t.rows["train"]], t.y[t.rows["train"]])
    model.deeprules_classes_ = t.classes
    model.deeprules_features_ = features
    return model


def evaluate_on_test(
    ws: Any,
    study: Any,
    df: pd.DataFrame,
    results: dict[str, Any],
    split: Any,
    *,
    models: Sequence[str] | None = None,
    unlock_reason: str | None = None,
    n_boot: int | None = None,
) -> dict[str, Any]:
    """Score the selected model (and the dummy, as the reference) once on the locked test set.

    The test rows come from ``deeprules_core.split.use_test_set``, which logs the use and
    refuses a second one without a written reason (LockedTestSetError). Returns a new
    results dict with ``metrics["test"]`` filled in and a ``test_evaluation`` record.
    """
    from ..split import use_test_set

    if results.get("split_sha256") and results["split_sha256"] != split.sha256:
        raise SplitError(
            "These results were computed on another split than the study's current one; run the "
            "baselines again before using the test set."
        )
    out = copy.deepcopy(results)
    sel = out.get("selected")
    if models is None:
        dummies = [n for n, m in out["models"].items() if m.get("family") == "dummy" and n != sel]
        models = [m for m in [sel, *dummies[:1]] if m]
    if not models:
        raise ModelError("There is no selected model to evaluate; run the baselines first.")
    roles = study.roles
    from ..names import model_label

    task = str(out.get("task", "classification"))
    shown = [model_label(str((out["models"].get(m) or {}).get("family") or m), task) for m in models]
    purpose = f"final evaluation of {', '.join(shown)}"
    test = np.asarray(use_test_set(ws, study, split, purpose=purpose, unlock_reason=unlock_reason))
    t = TaskArrays(df, roles, split)
    rows = test[np.isin(test, t.rows["test"])]
    if len(rows) == 0:
        raise SplitError("The test side has no labelled rows to evaluate on.")
    X = None
    for name in models:
        entry = out["models"][name]
        if entry.get("kind") == "deep":
            from ..deep import fit_deep

            deep = fit_deep(df, roles, split, config=entry["params"], seed=int(entry.get("seed", 0)))
            sub = df.iloc[rows]
            pred = deep.predict_proba(sub) if t.task == "classification" else deep.predict(sub)
        else:
            if X is None:
                X, _ = model_inputs(df, roles, batch_correct=bool(out.get("batch_correct")))
            pipe = fit_model(
                df,
                roles,
                split,
                family=entry["family"],
                params=entry["params"],
                seed=int(entry.get("seed", 0)),
                batch_correct=bool(out.get("batch_correct")),
            )
            pred = predict_scores(pipe, X[rows], task=t.task, n_classes=t.n_classes)
        boot = int(out.get("n_boot", 1000) if n_boot is None else n_boot)
        entry["metrics"]["test"] = t.panel(rows, pred, n_boot=boot, seed=int(out.get("seed", 0)))
        entry.setdefault("predictions", {})["test"] = _round(pred)
    out["test_evaluation"] = {
        "models": list(models),
        "purpose": purpose,
        "at": utcnow(),
        "n_test": int(len(rows)),
        # independent units (individuals) among them: what an interval's width depends on
        "n_test_units": int(len(np.unique(np.asarray(t.groups)[rows].astype(str))))
        if t.groups is not None
        else int(len(rows)),
        "unlock_reason": unlock_reason,
        "ids": t.ids[rows].tolist(),
    }
    return to_jsonable(out)
