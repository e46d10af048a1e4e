"""Simulated studies with known batch effects and confounds (ground truth for tests and
benchmarks).

>>> df, roles = simulate_batch_study(n=60, p=20, seed=1)
>>> df.shape, roles.batch
((60, 24), ('plate',))
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..study import Roles

__all__ = ["simulate_batch_study"]


def simulate_batch_study(
    *,
    n: int = 200,
    p: int = 500,
    n_batches: int = 4,
    batch_effect: float = 0.0,
    batch_affected: float = 0.2,
    batch_scale: float = 0.0,
    label_effect: float = 0.5,
    n_signal: int = 20,
    confounding: float = 0.0,
    covariate_confounding: float = 0.0,
    covariate_effect: float = 0.0,
    leak: bool = False,
    n_per_individual: int = 1,
    individual_sd: float = 0.0,
    task: str = "classification",
    seed: int = 0,
) -> tuple[pd.DataFrame, Roles]:
    """A table of ``n`` samples x ``p`` standard-normal features with planted structure.

    Parameters
    ----------
    batch_effect : float
        SD of each batch's shift of an affected feature (in feature SD units).
    batch_affected : float
        Share of features the batch shifts.
    batch_scale : float
        Log-SD of each batch's multiplicative scale on the affected features.
    label_effect, n_signal : float, int
        Shift between the classes on the first ``n_signal`` features (regression: slope).
    confounding : float
        0: every batch holds both classes in equal numbers (balanced design); 1: cases and
        controls are processed in disjoint halves of the batches; in between, the share of
        samples placed by class.
    covariate_confounding, covariate_effect : float
        Shift of the covariate ``age`` (in SD) between classes, and the effect of ``age``
        (per SD) on a separate 10% of features.
    leak : bool
        Add a feature ``leak_marker`` that is the label plus tiny noise.
    n_per_individual, individual_sd : int, float
        Several samples per individual (column ``individual``, all in one batch) with a
        random individual effect on every feature.
    """
    rng = np.random.default_rng(seed)
    n_ind = int(np.ceil(n / n_per_individual))
    if task == "classification":
        y_ind = np.tile([0, 1], n_ind // 2 + 1)[:n_ind]
        rng.shuffle(y_ind)
    else:
        y_ind = rng.normal(size=n_ind)
    # batches, assigned per individual
    half = max(n_batches // 2, 1)
    yb = (y_ind > np.median(y_ind)).astype(int) if task != "classification" else y_ind
    batch_ind = np.empty(n_ind, dtype=int)
    for cls in (0, 1):
        idx = np.flatnonzero(yb == cls)
        rng.shuffle(idx)
        batch_ind[idx] = np.arange(len(idx)) % n_batches  # balanced: each batch gets both classes
        by_class = rng.random(len(idx)) < confounding
        side = np.arange(half) if cls == 0 else np.arange(half, n_batches)
        if len(side) == 0:
            side = np.arange(n_batches)
        batch_ind[idx[by_class]] = rng.choice(side, size=int(by_class.sum()))
    ind = np.repeat(np.arange(n_ind), n_per_individual)[:n]
    y, batch = y_ind[ind], batch_ind[ind]
    X = rng.normal(size=(n, p))
    if individual_sd > 0:
        X += rng.normal(scale=individual_sd, size=(n_ind, p))[ind]
    X[:, :n_signal] += label_effect * (y if task == "classification" else y)[:, None]
    n_aff = int(round(batch_affected * p))
    affected = rng.choice(p, size=n_aff, replace=False) if n_aff else np.array([], dtype=int)
    if n_aff and (batch_effect > 0 or batch_scale > 0):
        shift = rng.normal(scale=batch_effect, size=(n_batches, n_aff))
        scale = np.exp(rng.normal(scale=batch_scale, size=(n_batches, n_aff)))
        X[:, affected] = X[:, affected] * scale[batch] + shift[batch]
    yc = (y - y.mean()) / (y.std() or 1.0)
    age = 50 + 10 * (rng.normal(size=n) + covariate_confounding * yc)
    if covariate_effect:
        cov_feats = rng.choice(np.setdiff1d(np.arange(p), affected), size=max(p // 10, 1), replace=False)
        X[:, cov_feats] += covariate_effect * ((age - 50) / 10)[:, None]
    df = pd.DataFrame(X, columns=[f"g{i:05d}" for i in range(p)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    labels = np.where(y == 1, "case", "control") if task == "classification" else y
    df.insert(1, "label", labels)
    df.insert(2, "plate", [f"P{b + 1}" for b in batch])
    df.insert(3, "age", np.round(age, 1))
    if leak:
        df["leak_marker"] = (y if task == "classification" else y) + rng.normal(scale=0.01, size=n)
    group = None
    if n_per_individual > 1:
        df.insert(4, "individual", [f"ind{i}" for i in ind])
        group = "individual"
    roles = Roles(
        id="sample_id", label="label", task=task, group=group, batch=("plate",), covariates=("age",)
    )
    return df, roles
