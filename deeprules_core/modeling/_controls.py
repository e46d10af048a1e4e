"""Controls (Tip 7): the shuffled-label control, the learning curve, the metadata-only model.

The shuffled-label control is a permutation test (Ojala and Garriga 2010, test 1, as
scikit-learn's ``permutation_test_score``): the labels of the training side are permuted
(respecting the replicate structure, :func:`permute_labels`), the *whole* pipeline
(imputation, feature filter, scaling, the model with its tuned settings) is cross-validated
on the permuted labels with the same folds, fitted and scored on the *equally permuted*
labels, and the real labels' cross-validated score is compared with these. Scoring a model
fitted on shuffled labels against the real labels instead is not this null: a strong
structure in the data (two big clusters) lets the shuffled model still order samples
along it, so that null is wide and can sit above chance. Permuting both sides keeps every
statistic of the features and breaks only their link with the labels, so the null is
centred on chance whatever the structure. ``p = (1 + #{null >= real}) / (1 + n)``; with
fewer than :data:`MIN_PERMUTATIONS` permutations p cannot fall below 0.05 and the result
is inconclusive, never a verdict.

"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ..stats import group_permutation
from ._models import make_pipeline
from ._tuning import _spread_config, predict_scores, score_primary

__all__ = [
    "MIN_PERMUTATIONS",
    "permutation_p",
    "permutation_test",
    "permuted_labellings",
    "permute_labels",
    "permutation_kind",
    "shuffled_label_control",
    "score_labellings",
    "learning_curve",
    "metadata_only_control",
    "LEARNING_FRACTIONS",
]

Progress = Callable[[float, str], None]
LEARNING_FRACTIONS = (0.2, 0.4, 0.6, 0.8, 1.0)


def permutation_kind(y: np.ndarray, groups: np.ndarray | None) -> str:
    """How labels are shuffled: ``rows``, ``across_groups`` or ``between_groups``."""
    if groups is None:
        return "rows"
    g = np.asarray(groups).astype(str)
    per_group: dict[str, Any] = {}
    for gi, yi in zip(g, np.asarray(y).tolist(), strict=True):
        if per_group.setdefault(gi, yi) != yi:
            return "between_groups"
    return "across_groups"


def permute_labels(y: np.ndarray, groups: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """Shuffle labels while respecting the replicate structure.

    - No groups: rows are permuted.
    - Every group has one label (an individual's replicates share it): the group -> label
      mapping is permuted, so replicates of one individual keep one (shuffled) label and
      the class counts are kept exactly.
    - Labels vary within some groups (before / after treatment in each patient, or a
      group column that is not one individual): whole groups move, each group taking the
      labels of another group in a random order
      (:func:`deeprules_core.stats.group_permutation`). A group keeps a mix of labels that
      came from one group, and the association with the features is broken both between
      and within groups. (Shuffling within groups only would leave every single-label
      group untouched, a null that keeps most of the signal.)
    """
    y = np.asarray(y)
    kind = permutation_kind(y, groups)
    if kind == "rows":
        return y[rng.permutation(len(y))]
    g = np.asarray(groups).astype(str)
    if kind == "between_groups":
        return y[group_permutation(g, rng)]
    uniq, codes = np.unique(g, return_inverse=True)
    first = np.zeros(len(uniq), dtype=int)
    first[codes[::-1]] = np.arange(len(y))[::-1]  # first row of each group
    group_label = y[first]
    return group_label[rng.permutation(len(uniq))][codes]


def _fit_predict(
    X: np.ndarray,
    y_fit: np.ndarray,
    fit_rows: np.ndarray,
    pred_rows: Sequence[np.ndarray],
    *,
    family: str,
    params: dict[str, Any],
    task: str,
    n_classes: int,
    seed: int,
    batch_correct: bool,
) -> list[np.ndarray]:
    model = make_pipeline(
        family, params, task=task, n_features=X.shape[1], seed=seed, batch_correct=batch_correct
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[fit_rows], y_fit)
    return [predict_scores(model, X[r], task=task, n_classes=n_classes) for r in pred_rows]


#: The fewest permutations for which p = 1 / (1 + n) can fall below 0.05.
MIN_PERMUTATIONS = 20


#: Below this many values, fit on one BLAS/OpenMP thread: on a shared machine threads of
#: tiny matrix products spin against each other (a 90 x 40 logistic fit: 160 ms on two
#: threads under load, 10 ms on one). Numbers are unchanged.
SMALL_DATA = 2_000_000


def _small_blas(X: np.ndarray) -> Any:
    from contextlib import nullcontext

    if X.size > SMALL_DATA:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def permutation_p(real: float, null: Sequence[float]) -> float:
    """``(1 + #{null >= real}) / (1 + n)`` over the finite null scores (NaN without any)."""
    finite = np.array([v for v in null if v is not None and np.isfinite(v)])
    if not finite.size or not np.isfinite(real):
        return float("nan")
    return (1.0 + float((finite >= real - 1e-12).sum())) / (1.0 + finite.size)


def permutation_test(
    score: Callable[[np.ndarray], float],
    y: np.ndarray,
    *,
    train_rows: np.ndarray,
    groups: np.ndarray | None,
    n_permutations: int,
    seed: int = 0,
    progress: Progress | None = None,
    what: str = "shuffled-label control",
) -> dict[str, Any]:
    """The permutation test of any scorer ``score(labels) -> cross-validated score``.

    ``labels`` is the full label vector with the training rows permuted (respecting
    ``groups``); the scorer fits and scores on them. Returns the real score, the null
    scores, p, and how the labels were permuted.
    """
    g_train = None if groups is None else np.asarray(groups)[train_rows]
    real_y, *permuted = permuted_labellings(
        y, train_rows=train_rows, groups=groups, n_permutations=n_permutations, seed=seed
    )
    real = float(score(real_y))
    null = []
    for i, y_perm in enumerate(permuted):
        null.append(float(score(y_perm)))
        if progress:
            progress((i + 1) / max(n_permutations, 1), f"{what}: permutation {i + 1} of {n_permutations}")
    return _test_result(real, null, y[train_rows], g_train)


def _test_result(
    real: float, null: list[float], y_train: np.ndarray, g_train: np.ndarray | None
) -> dict[str, Any]:
    """What every permutation test reports: the scores, p, how the labels were permuted,
    and whether enough permutations ran for p to fall below 0.05."""
    finite = np.isfinite(null)
    return {
        "real": real,
        "null": null,
        "p_value": permutation_p(real, null),
        "n_shuffles": len(null),
        "permutation": permutation_kind(y_train, g_train),
        "conclusive": len(null) >= MIN_PERMUTATIONS,
        "null_mean": float(np.mean(np.asarray(null)[finite])) if finite.any() else float("nan"),
    }


def permuted_labellings(
    y: np.ndarray,
    *,
    train_rows: np.ndarray,
    groups: np.ndarray | None,
    n_permutations: int,
    seed: int = 0,
) -> list[np.ndarray]:
    """The real labels followed by ``n_permutations`` labellings whose training rows are
    permuted (respecting ``groups``), in the order :func:`permutation_test` draws them."""
    rng = np.random.default_rng(seed + 7919)
    g_train = None if groups is None else np.asarray(groups)[train_rows]
    out = [np.asarray(y)]
    for _ in range(n_permutations):
        y_perm = np.array(y, copy=True)
        y_perm[train_rows] = permute_labels(y[train_rows], g_train, rng)
        out.append(y_perm)
    return out


def _label_free_prefix(pipe: Any) -> int:
    """How many leading steps of a pipeline never look at the labels (imputation, batch
    correction, and scaling when no label-associated filter precedes it)."""
    k = 0
    for name, _step in pipe.steps[:-1]:
        if name == "feature_filter":
            break
        k += 1
    return k


def shuffled_label_control(
    X: np.ndarray,
    y: np.ndarray,
    *,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    train_rows: np.ndarray,
    groups: np.ndarray | None,
    family: str,
    params: dict[str, Any],
    task: str,
    n_classes: int,
    positive: int,
    n_shuffles: int = MIN_PERMUTATIONS,
    seed: int = 0,
    batch_correct: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Permutation test of a baseline: the tuned pipeline, cross-validated on the training
    side's folds with the real and with ``n_shuffles`` permuted labellings.

    The work is the same as refitting the whole pipeline for every fold of every labelling
    (scikit-learn's ``permutation_test_score``), in another order: fold by fold, the steps
    that never see the labels (imputation, batch correction, and scaling on tables narrow
    enough to need no filter) are fitted once on the fold's fitting rows, and the rest (the
    label-associated filter, scaling after it, the model) is refitted for each labelling.
    Fitting a Pipeline is exactly this (``fit_transform`` of its first steps, then fitting
    the rest), so the scores are the same numbers.

    Returns
    -------
    dict
        ``model``, ``metric``, ``real`` (the cross-validated score on the real labels),
        ``null``, ``p_value``, ``n_shuffles``, ``conclusive`` (enough permutations for
        p < 0.05), ``permutation``, ``tuning``, ``scored_on``.
    """
    from ..errors import ModelError

    if family == "dummy":
        raise ModelError("The dummy ignores the features: it gets no shuffled-label control.")
    folds = [(np.asarray(f), np.asarray(v)) for f, v in folds]
    labellings = permuted_labellings(
        y, train_rows=train_rows, groups=groups, n_permutations=n_shuffles, seed=seed
    )
    model = {"family": family, "params": params, "task": task, "n_classes": n_classes, "positive": positive,
             "seed": seed, "batch_correct": batch_correct}  # fmt: skip
    spread = _spread_config(len(labellings))
    workers = 0 if spread is None else min(int(spread.search_workers), len(labellings))
    if workers > 1:  # the labellings spread over a SLURM job array, as the searches are
        from ._spread import spread_control

        fold_scores = spread_control(
            X, labellings, folds, model, workers=workers, config=spread, progress=progress
        )
    else:
        fold_scores = score_labellings(X, labellings, folds, model, progress=progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a labelling with no scorable fold
        scores = np.nanmean(fold_scores, axis=1)
    g_train = None if groups is None else np.asarray(groups)[train_rows]
    return {
        "model": family,
        "metric": "auprc" if task == "classification" else "r2",
        **_test_result(float(scores[0]), [float(v) for v in scores[1:]], y[train_rows], g_train),
        "tuning": "the model's tuned settings; the whole pipeline (imputation, filter, scaling, model) "
        "refitted in every fold of every permutation",
        "scored_on": f"training side by {len(folds)}-fold cross-validation, the labels of the fitting and "
        "the scoring rows permuted alike (Ojala and Garriga 2010)",
        "n_folds": len(folds),
        **({"workers": workers} if workers > 1 else {}),
    }


def score_labellings(
    X: np.ndarray,
    labellings: Sequence[np.ndarray],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    model: dict[str, Any],
    *,
    progress: Progress | None = None,
) -> np.ndarray:
    """The cross-validated scores of the pipeline ``model`` describes (``family``,
    ``params``, ``task``, ``n_classes``, ``positive``, ``seed``, ``batch_correct``) on each
    labelling: an array labellings × folds (NaN where a fold's fitting rows hold one class).

    Fold by fold, the steps that never see the labels are fitted once; the rest is refitted
    for each labelling (the same numbers as fitting the whole Pipeline each time)."""
    from sklearn.base import clone

    task, n_classes = model["task"], model["n_classes"]
    template = make_pipeline(
        model["family"], model["params"], task=task, n_features=X.shape[1], seed=model["seed"],
        batch_correct=model["batch_correct"],
    )  # fmt: skip
    k = _label_free_prefix(template)
    fold_scores = np.full((len(labellings), len(folds)), np.nan)
    total, done = len(labellings) * len(folds), 0
    with _small_blas(X), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for j, (fit, val) in enumerate(folds):
            if k:
                prefix = clone(template[:k])
                X_fit = prefix.fit_transform(X[fit], labellings[0][fit])  # the labels are not used
                X_val = prefix.transform(X[val])
            else:
                X_fit, X_val = X[fit], X[val]
            for i, labels in enumerate(labellings):
                done += 1
                if task == "classification" and len(np.unique(labels[fit])) < 2:
                    continue
                rest = clone(template[k:])
                rest.fit(X_fit, labels[fit])
                pred = predict_scores(rest, X_val, task=task, n_classes=n_classes)
                fold_scores[i, j] = score_primary(
                    labels[val], pred, task=task, n_classes=n_classes, positive=model["positive"]
                )
                if progress:
                    progress(done / total, f"shuffled-label control: fold {j + 1} of {len(folds)}, "
                             f"labelling {i + 1} of {len(labellings)}")  # fmt: skip
    return fold_scores


def learning_curve(
    X: np.ndarray,
    y: np.ndarray,
    *,
    train_rows: np.ndarray,
    tune_rows: np.ndarray,
    groups: np.ndarray | None,
    family: str,
    params: dict[str, Any],
    task: str,
    n_classes: int,
    positive: int,
    fractions: Sequence[float] = LEARNING_FRACTIONS,
    seed: int = 0,
    batch_correct: bool = False,
) -> dict[str, Any]:
    """Train and tune score against the fraction of training *groups* used (does more data help?)."""
    rng = np.random.default_rng(seed + 104729)
    g = (
        np.asarray(groups).astype(str)[train_rows]
        if groups is not None
        else np.arange(len(train_rows)).astype(str)
    )
    uniq = np.unique(g)
    order = uniq[rng.permutation(len(uniq))]
    out: dict[str, list[Any]] = {"fraction": [], "n_train": [], "n_groups": [], "train": [], "tune": []}
    for f in fractions:
        keep = set(order[: max(2, math.ceil(f * len(uniq)))].tolist())
        rows = train_rows[np.array([gi in keep for gi in g])]
        if task == "classification" and len(np.unique(y[rows])) < 2:
            continue
        pred_train, pred_tune = _fit_predict(
            X,
            y[rows],
            rows,
            [rows, tune_rows],
            family=family,
            params=params,
            task=task,
            n_classes=n_classes,
            seed=seed,
            batch_correct=batch_correct,
        )
        out["fraction"].append(float(f))
        out["n_train"].append(int(len(rows)))
        out["n_groups"].append(len(keep))
        out["train"].append(
            score_primary(y[rows], pred_train, task=task, n_classes=n_classes, positive=positive)
        )
        out["tune"].append(
            score_primary(y[tune_rows], pred_tune, task=task, n_classes=n_classes, positive=positive)
        )
    out["model"] = family  # type: ignore[assignment]
    out["metric"] = "auprc" if task == "classification" else "r2"  # type: ignore[assignment]
    return out


def metadata_only_control(df: Any, roles: Any, split: Any, *, seed: int = 0) -> dict[str, Any] | None:
    """The confounds step's metadata-only model (batch and covariates alone), when available.

    Returns None when the confounds module does not provide it or the study has no
    metadata columns.
    """
    if not (tuple(roles.batch) or tuple(roles.covariates)):
        return None
    try:
        from ..confounds import metadata_only_model
    except ImportError:
        return None
    result = metadata_only_model(df, roles, split, seed=seed)
    return None if result is None else dict(result)
