"""Batch effects and confounds (Tips 4, 7 and 9 of Lee et al. 2022).

Before any model is trained: is a processing batch visible in the features, does it go
together with the label, does a covariate explain both the label and the features, can the
metadata alone predict the label, and does a single feature almost determine it?

Public API
----------
run_confound_checks(df, roles, *, seed=0, progress=None) -> list[Finding]
    Every check of this module (codes batch_effect, batch_confounding,
    confounding_covariate, metadata_predicts_label, label_leakage).
explore(df, roles, *, n_components=10, seed=0) -> Exploration
    PCA, per-component R-squared of each variable, PVCA-style variance partition.
metadata_only_model(df, roles, split=None, *, seed=0) -> dict | None
batch_label_association(df, roles, batch_col, *, seed=0) -> dict; contingency(df, roles, batch_col)
BatchCorrector, ColumnBatchCorrector, check_correction_allowed(df, roles, batch_col)

Examples
--------
>>> import numpy as np, pandas as pd
>>> from deeprules_core.study import Roles
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame(rng.normal(size=(120, 30)), columns=[f"g{i}" for i in range(30)])
>>> df["label"] = np.tile(["a", "b"], 60); df["plate"] = np.repeat(["p1", "p2", "p3"], 40)
>>> run_confound_checks(df, Roles(label="label", batch=("plate",)))
[]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from ..findings import Finding, sort_findings
from ..study import Roles
from ._association import association, batch_label_association, contingency
from ._batch import batch_effect_stats, batch_findings
from ._common import label_tokens_as_missing, prepare
from ._correction import (
    BatchConfoundedError,
    BatchCorrectionError,
    BatchCorrector,
    ColumnBatchCorrector,
    check_correction_allowed,
)
from ._covariates import covariate_findings, metadata_only_model
from ._leakage import leak_candidates, leakage_findings
from ._pca import Exploration, explore, study_variables

__all__ = [
    "run_confound_checks",
    "confound_report",
    "explore",
    "Exploration",
    "study_variables",
    "metadata_only_model",
    "batch_label_association",
    "batch_effect_stats",
    "contingency",
    "association",
    "leak_candidates",
    "BatchCorrector",
    "ColumnBatchCorrector",
    "BatchCorrectionError",
    "BatchConfoundedError",
    "check_correction_allowed",
]

Progress = Callable[[float, str], None]

#: Principal components computed once for the checks (batch classifier, neighbour graph).
_N_PCS = 20


def confound_report(
    df: pd.DataFrame,
    roles: Roles,
    *,
    seed: int = 0,
    n_components: int = 10,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run every confound check and return the findings with the numbers behind them.

    Returns ``{"findings": [Finding...], "exploration": Exploration | None (top
    ``n_components`` components), "batch": {col: {"effect": {...}, "association": {...}}},
    "metadata_only": dict | None, "leaks": [...], "timings": {step: seconds}}``.
    """
    roles.validate_against(df)
    df = label_tokens_as_missing(df, roles)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    def step(frac: float, msg: str) -> None:
        if progress:
            progress(frac, msg)

    step(0.0, "principal components of the features")
    prepared = prepare(df, roles, n_components=_N_PCS, seed=seed)
    timings["prepare_pca"] = time.perf_counter() - t0
    findings: list[Finding] = []
    out: dict[str, Any] = {"batch": {}, "metadata_only": None, "leaks": [], "exploration": None}
    if prepared.features:
        t = time.perf_counter()
        step(0.25, "variance explained by label, batch and covariates")
        out["exploration"] = explore(df, roles, n_components=n_components, seed=seed, prepared=prepared)
        timings["explore"] = time.perf_counter() - t
    label_ok = bool(roles.label) and df[roles.label].nunique(dropna=True) >= 2  # type: ignore[index]
    if roles.batch:
        t = time.perf_counter()
        found, out["batch"] = batch_findings(
            df,
            roles if label_ok else Roles(batch=roles.batch, group=roles.group, features=roles.features),
            prepared=prepared,
            seed=seed,
            progress=lambda f, m: step(0.3 + 0.3 * f, m),
        )
        findings += found
        timings["batch"] = time.perf_counter() - t
    if label_ok:
        t = time.perf_counter()
        step(0.6, "covariates")
        findings += covariate_findings(df, roles, prepared=prepared, seed=seed)
        timings["covariates"] = time.perf_counter() - t
        t = time.perf_counter()
        step(0.7, "metadata-only model")
        meta = metadata_only_model(df, roles, seed=seed)
        if meta is not None:
            findings += [Finding.from_dict(f) for f in meta["findings"]]
        out["metadata_only"] = meta
        timings["metadata_only"] = time.perf_counter() - t
        t = time.perf_counter()
        step(0.8, "features that copy the label")
        leaks = leakage_findings(df, roles, prepared=prepared, seed=seed)
        findings += leaks
        out["leaks"] = [dict(f.evidence) for f in leaks if f.code == "label_leakage"]
        out["markers"] = [dict(f.evidence) for f in leaks if f.code == "label_markers"]
        timings["leakage"] = time.perf_counter() - t
    step(1.0, "done")
    timings["total"] = time.perf_counter() - t0
    out["findings"] = sort_findings(findings)
    out["timings"] = timings
    return out


def run_confound_checks(
    df: pd.DataFrame, roles: Roles, *, seed: int = 0, progress: Progress | None = None
) -> list[Finding]:
    """Every batch and confound check on a parsed table; nothing to say gives ``[]``.

    Parameters
    ----------
    df : DataFrame
        One row per sample.
    roles : Roles
        Column roles: the label, batch variables, covariates, group; features are
        ``roles.feature_columns(df)``.
    seed : int
        Seed of the randomized SVD and the cross-validation folds.
    progress : callable, optional
        ``progress(fraction, message)``.
    """
    return confound_report(df, roles, seed=seed, progress=progress)["findings"]
