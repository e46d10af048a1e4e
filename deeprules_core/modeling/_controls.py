"""Controls (Tip 7): the shuffled-label control, the learning curve, the metadata-only model.

The shuffled-label control follows Chuang and Keiser (2018): fit the selected model
(same pipeline, same tuned hyper-parameters) on training labels that were shuffled,
score it against the *real* tune labels, and repeat. The shuffled scores are what
"no signal" looks like; a real score that does not stand above them means the model
learned nothing it can carry to new samples.
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
from ._tuning import predict_scores, score_primary

__all__ = [
    "permute_labels",
    "permutation_kind",
    "shuffled_label_control",
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


def shuffled_label_control(
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
    real_score: float,
    n_shuffles: int = 20,
    seed: int = 0,
    batch_correct: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Null distribution of the tune score under shuffled training labels, and a p-value.

    ``p = (1 + #{null >= real}) / (1 + n_shuffles)`` (the permutation p-value that counts
    the real labelling as one of the possible ones).
    """
    rng = np.random.default_rng(seed + 7919)
    g_train = None if groups is None else np.asarray(groups)[train_rows]
    null = []
    for i in range(n_shuffles):
        y_perm = permute_labels(y[train_rows], g_train, rng)
        (pred,) = _fit_predict(
            X,
            y_perm,
            train_rows,
            [tune_rows],
            family=family,
            params=params,
            task=task,
            n_classes=n_classes,
            seed=seed + i + 1,
            batch_correct=batch_correct,
        )
        null.append(score_primary(y[tune_rows], pred, task=task, n_classes=n_classes, positive=positive))
        if progress:
            progress((i + 1) / max(n_shuffles, 1), f"shuffled-label control {i + 1} of {n_shuffles}")
    finite = np.array([v for v in null if np.isfinite(v)])
    p = (1.0 + float((finite >= real_score).sum())) / (1.0 + finite.size) if finite.size else float("nan")
    return {
        "model": family,
        "metric": "auprc" if task == "classification" else "r2",
        "real": float(real_score),
        "null": [float(v) for v in null],
        "p_value": p,
        "n_shuffles": int(n_shuffles),
        "permutation": permutation_kind(y[train_rows], g_train),
        "tuning": "the real model's tuned hyper-parameters and pipeline, refitted on each shuffle",
        "scored_on": "tune side, real labels",
    }


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
