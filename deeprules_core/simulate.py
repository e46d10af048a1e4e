"""Simulated expression-like data with a known ground truth (Tip 1).

"Verify the pipeline on simulated data for which the ground truth is known": every
simulator here is seeded, returns ``(df, truth)``, and ``truth`` says exactly which
problems were planted. Other parts of deeprules test and benchmark against these data,
so the signatures and the truth keys below are stable.

Columns of the table (in this order)
------------------------------------
``sample_id``  unique string id ``S0001``...
``patient_id`` the individual (``P001``...); one row per patient unless replicates are asked for
``plate``      processing batch (``plate_1``...)
``age``        years (float, one decimal); constant within a patient
``sex``        ``"F"``/``"M"``; constant within a patient
``label``      ``"tumour"``/``"normal"`` (classification) or a float (regression)
``gene_000``.. the features (float, log-expression-like, about N(8, 1))
``marker_score`` only with ``leak_feature=True``: a near-copy of the label

Truth keys
----------
``seed``, ``params`` (every argument), ``task``, ``id_column``, ``label_column``,
``group_column``, ``batch_column``, ``covariate_columns``, ``classes``, ``positive_class``,
``feature_columns`` (all gene columns), ``informative_features`` (genes whose mean
differs between classes, or that enter the regression target), ``effect_size``,
``batch_effect``, ``batch_affected_features``, ``confounded`` and
``batch_label_cramers_v`` (the observed plate x label association),
``n_groups``, ``replicates_per_group``, ``leak_feature`` (column name or None),
``duplicate_rows`` (list of [original row, copy row] positions), ``missing_cells``
(count), ``planted`` (list of the planted problem names; empty for clean data) and
``expected_findings`` (finding codes a correct audit must report).

Examples
--------
>>> df, truth = simulate_clean(100, 20, seed=1)
>>> df.shape, truth["planted"]
((100, 26), [])
>>> df, truth = simulate_expression(120, 30, seed=2, n_groups=40, leak_feature=True)
>>> truth["replicates_per_group"], truth["leak_feature"], sorted(truth["planted"])
(3, 'marker_score', ['label_leak', 'replicates'])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["simulate_expression", "simulate_clean", "cramers_v"]

#: mean and spread of the baseline log-expression of every gene
_BASE_MEAN, _GENE_SD_RANGE = 8.0, (0.5, 1.5)


def cramers_v(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> float:
    """Cramér's V association between two categorical vectors (0 none, 1 perfect)."""
    table = pd.crosstab(np.asarray(a), np.asarray(b)).to_numpy(dtype=float)
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))


def _balanced(labels: np.ndarray, n_levels: int, rng: np.random.Generator) -> np.ndarray:
    """Levels 0..n_levels-1 spread evenly within each label (no chance association)."""
    out = np.empty(len(labels), dtype=int)
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        levels = np.resize(np.arange(n_levels), len(idx))
        out[rng.permutation(idx)] = levels
    return out


def simulate_expression(
    n_samples: int = 200,
    n_features: int = 50,
    *,
    seed: int = 0,
    informative: int = 5,
    effect_size: float = 1.5,
    task: str = "classification",
    class_balance: float = 0.5,
    n_batches: int = 2,
    batch_effect: float = 0.0,
    batch_affected_fraction: float = 1.0,
    confounded: bool | float = False,
    n_groups: int | None = None,
    replicates_per_group: int = 1,
    group_effect: float = 1.0,
    leak_feature: bool = False,
    n_duplicates: int = 0,
    missing_fraction: float = 0.0,
    covariate_effect: float = 0.0,
    noise: float = 1.0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Simulate an expression-like table with a known ground truth.

    Parameters
    ----------
    n_samples, n_features : int
        Rows (before ``n_duplicates`` copies are appended) and gene columns.
    seed : int
        Everything is drawn from ``numpy.random.default_rng(seed)``.
    informative : int
        Genes that carry the signal: the first ``informative`` genes after a seeded shuffle
        (their names are in ``truth["informative_features"]``).
    effect_size : float
        Classification: shift of the informative genes' means between the classes, in
        units of the noise SD. Regression: weight of each informative gene in the target.
    task : {"classification", "regression"}
    class_balance : float
        Share of the positive class ("tumour"). 0.5 is balanced.
    n_batches : int
        Number of plates. With no batch effect and no confounding the plates are spread
        evenly within each class (no association with the label at all).
    batch_effect : float
        Shift added per plate (plate k gets ``k * batch_effect`` noise SDs) to a fraction
        ``batch_affected_fraction`` of the genes.
    confounded : bool or float
        Share of samples whose plate follows their label (True means 0.8): tumours on
        plate_1, normals on plate_2. 0/False: no confounding.
    n_groups : int, optional
        Number of individuals. Rows are spread over them evenly; each individual has one
        label, one age and sex, and a random shift of SD ``group_effect`` on every gene
        (so its replicates resemble each other: a random split leaks).
    replicates_per_group : int
        Rows per individual when ``n_groups`` is not given (1 = independent samples).
    leak_feature : bool
        Add ``marker_score``: the label plus small noise (a near-copy of the label).
    n_duplicates : int
        Append exact copies of this many rows (new sample ids, same values).
    missing_fraction : float
        Share of gene cells set to NaN completely at random.
    covariate_effect : float
        Standardised difference in age between the classes (0: age unrelated to label).
    noise : float
        SD of the per-sample noise on every gene.

    Returns
    -------
    (pandas.DataFrame, dict)
        The table (columns described in the module docstring) and the ground truth.
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"The 'task' must be 'classification' or 'regression'. Got {task!r}.")
    if n_samples < 4 or n_features < 1:
        raise ValueError(f"Need at least 4 samples and 1 feature. Got {n_samples} x {n_features}.")
    if not 0 <= informative <= n_features:
        raise ValueError(f"The 'informative' parameter must be in [0, n_features]. Got {informative}.")
    params = {k: v for k, v in locals().items() if k not in ("params",)}
    rng = np.random.default_rng(seed)
    conf = 0.8 if confounded is True else float(confounded or 0.0)

    # individuals and their attributes
    if n_groups is None:
        n_groups = int(np.ceil(n_samples / max(1, replicates_per_group)))
    n_groups = int(min(max(1, n_groups), n_samples))
    group = np.sort(np.resize(np.arange(n_groups), n_samples))
    reps = int(np.bincount(group).max())
    n_pos = int(round(class_balance * n_groups))
    g_label = np.zeros(n_groups, dtype=int)
    g_label[rng.permutation(n_groups)[:n_pos]] = 1
    g_sex = _balanced(g_label, 2, rng)
    g_age = rng.normal(60, 10, n_groups) + covariate_effect * 10 * (g_label - g_label.mean())
    g_shift = (
        rng.normal(0, group_effect, (n_groups, n_features)) if reps > 1 else np.zeros((n_groups, n_features))
    )

    y_cls = g_label[group]
    # plates: balanced within each class, then a share `conf` of samples follow their label
    plate = _balanced(y_cls, max(1, n_batches), rng)
    if conf > 0 and n_batches >= 2:
        follow = rng.random(n_samples) < conf
        plate[follow] = np.where(y_cls[follow] == 1, 0, 1)

    # genes
    gene_sd = rng.uniform(*_GENE_SD_RANGE, n_features)
    X = _BASE_MEAN + rng.normal(0, 1, (n_samples, n_features)) * noise * gene_sd + g_shift[group] * gene_sd
    order = rng.permutation(n_features)
    informative_idx = np.sort(order[:informative])
    names = [f"gene_{i:03d}" for i in range(n_features)]
    if task == "classification":
        X[:, informative_idx] += np.outer(y_cls - 0.5, effect_size * noise * gene_sd[informative_idx])
        label: np.ndarray = np.where(y_cls == 1, "tumour", "normal")
        y_num = y_cls.astype(float)
    else:
        z = (X[:, informative_idx] - X[:, informative_idx].mean(0)) / X[:, informative_idx].std(0)
        y_num = z @ np.full(informative, effect_size) + rng.normal(0, 1, n_samples)
        label = np.round(y_num, 4)
    n_affected = int(round(batch_affected_fraction * n_features)) if batch_effect else 0
    affected = np.sort(rng.permutation(n_features)[:n_affected])
    if n_affected:
        X[:, affected] += np.outer(plate * batch_effect * noise, gene_sd[affected])

    df = pd.DataFrame(np.round(X, 4), columns=names)
    df.insert(0, "label", label)
    df.insert(0, "sex", np.where(g_sex[group] == 0, "F", "M"))
    df.insert(0, "age", np.round(g_age[group], 1))
    df.insert(0, "plate", [f"plate_{p + 1}" for p in plate])
    df.insert(0, "patient_id", [f"P{g + 1:03d}" for g in group])
    df.insert(0, "sample_id", [f"S{i + 1:04d}" for i in range(n_samples)])
    if leak_feature:
        df["marker_score"] = np.round(y_num + rng.normal(0, 0.05, n_samples), 4)

    n_missing = 0
    if missing_fraction > 0:
        mask = rng.random((n_samples, n_features)) < missing_fraction
        n_missing = int(mask.sum())
        df[names] = df[names].mask(mask)

    dup_pairs: list[list[int]] = []
    if n_duplicates:
        src = np.sort(rng.choice(n_samples, size=n_duplicates, replace=False))
        copies = df.iloc[src].copy()
        copies["sample_id"] = [f"S{n_samples + i + 1:04d}" for i in range(n_duplicates)]
        dup_pairs = [[int(s), n_samples + i] for i, s in enumerate(src)]
        df = pd.concat([df, copies], ignore_index=True)
    n_missing = int(df[names].isna().to_numpy().sum())

    planted = []
    expected = []
    if reps > 1:
        planted.append("replicates")
        expected.append("group_leakage")
    if batch_effect:
        planted.append("batch_effect")
        expected.append("batch_effect")
    if conf > 0 and n_batches >= 2:
        planted.append("batch_confounding")
        expected.append("batch_confounding")
    if leak_feature:
        planted.append("label_leak")
        expected.append("label_leakage")
    if n_duplicates:
        planted.append("exact_duplicates")
        expected.append("exact_duplicates")
    if n_missing:
        planted.append("missing_values")
        expected.append("missing_values")
    if covariate_effect:
        planted.append("confounding_covariate")
        expected.append("confounding_covariate")

    truth: dict[str, Any] = {
        "seed": seed,
        "params": params,
        "task": task,
        "id_column": "sample_id",
        "label_column": "label",
        "group_column": "patient_id",
        "batch_column": "plate",
        "covariate_columns": ["age", "sex"],
        "classes": ["normal", "tumour"] if task == "classification" else None,
        "positive_class": "tumour" if task == "classification" else None,
        "feature_columns": names,
        "informative_features": [names[i] for i in informative_idx],
        "effect_size": effect_size,
        "batch_effect": batch_effect,
        "batch_affected_features": [names[i] for i in affected],
        "confounded": conf,
        "batch_label_cramers_v": round(cramers_v(df["plate"], df["label"]), 4)
        if task == "classification"
        else None,
        "n_groups": n_groups,
        "replicates_per_group": reps,
        "leak_feature": "marker_score" if leak_feature else None,
        "duplicate_rows": dup_pairs,
        "missing_cells": n_missing,
        "planted": planted,
        "expected_findings": expected,
    }
    return df, truth


def simulate_clean(
    n_samples: int = 200,
    n_features: int = 50,
    *,
    seed: int = 0,
    informative: int = 5,
    effect_size: float = 1.5,
    task: str = "classification",
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Simulated data with no planted problem: one row per patient, balanced classes,
    plates and sex spread evenly within each class, no batch effect, no missing values.
    A correct audit reports no warning and no error on it."""
    return simulate_expression(
        n_samples, n_features, seed=seed, informative=informative, effect_size=effect_size, task=task
    )
