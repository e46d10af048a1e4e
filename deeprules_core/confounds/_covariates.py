"""Covariates linked to both the label and the features (``confounding_covariate``) and
the metadata-only model (``metadata_predicts_label``).

A covariate confounds when it goes with the label *and* moves the features beyond what
the label explains: then a difference between classes may be the covariate's, and a
model can learn the covariate. "Beyond the label" is a partial F test per feature
(features ~ label + covariate against features ~ label, all features at once), so a
covariate that merely tracks the label through the biology is not blamed for the
biology's effect on the features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..findings import Finding, Severity
from ..names import fmt_p, model_label, test_text
from ..stats import benjamini_hochberg
from ..study import Roles
from ._association import ALPHA, association
from ._common import (
    Prepared,
    as_levels,
    chance_test,
    cv_splitter,
    design,
    groups_of,
    is_continuous,
    label_tokens_as_missing,
    one_thread,
    partial_f,
)

__all__ = ["metadata_only_model", "covariate_findings"]

#: FDR of the per-feature partial F test, and how many features must pass (at least 5 and
#: 1% of all): the same rule as for a batch effect.
FDR = 0.05
MIN_SIG_FEATURES = 5
MIN_SIG_SHARE = 0.01
#: A covariate this strongly tied to the label (Cramér's V, epsilon-squared, |rho|) is
#: reported even when its link to the features cannot be shown: a model may use it anyway.
STRONG_EFFECT = 0.5
#: Metadata-only model: balanced accuracy above chance (classification) or R-squared
#: (regression) it must reach, with a chance-test p below ALPHA, before it is reported.
META_MARGIN = 0.10
#: ... and the margin that makes it an error: metadata alone almost determine the label.
META_SEVERE_MARGIN = 0.40


def _feature_link(prep: Prepared, df: pd.DataFrame, roles: Roles, col: str) -> dict[str, Any]:
    y = df[roles.label]  # type: ignore[index]
    rows = (y.notna() & df[col].notna()).to_numpy()
    n = int(rows.sum())
    if n < 5 or not prep.features:
        return {"n_features_associated_beyond_label": 0, "tested": False}
    X = prep.X if rows.all() else prep.X[rows]
    base = np.hstack([np.ones((n, 1)), design(y[rows], continuous=roles.task == "regression")])
    add = design(df[col][rows], continuous=is_continuous(df[col]))
    _, pv, df1, _ = partial_f(X, base, add)
    if df1 <= 0:
        return {"n_features_associated_beyond_label": 0, "tested": False,
                "reason": "the covariate is fully determined by the label"}  # fmt: skip
    q = benjamini_hochberg(pv)
    n_sig = int(np.nansum(q < FDR))
    out: dict[str, Any] = {"tested": True, "n_features_associated_beyond_label": n_sig,
                           "n_features_tested": len(prep.features), "fdr": FDR}  # fmt: skip
    if n_sig:
        top = np.argsort(np.where(np.isfinite(pv), pv, 2.0))[: min(10, n_sig)]
        out["top_features"] = [prep.features[i] for i in top]
    # how much of each top component the covariate explains beyond the label
    _, pcp, _, _ = partial_f(prep.scores[rows][:, :10], base, add)
    out["top_pc_p_values"] = [float(v) for v in pcp]
    out["many"] = bool(n_sig >= max(MIN_SIG_FEATURES, MIN_SIG_SHARE * len(prep.features)))
    return out


def covariate_findings(df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0) -> list[Finding]:
    """A confounding_covariate finding for each covariate tied to the label and the features."""
    if not roles.label:
        return []
    out = []
    y = df[roles.label]
    reg = roles.task == "regression"
    for col in roles.covariates:
        if col in roles.batch or col == roles.label:
            continue
        assoc = association(df[col], y if reg else as_levels(y), y_continuous=reg, seed=seed)
        if not assoc["significant"]:
            continue
        link = _feature_link(prepared, df, roles, col)
        strong = assoc["effect"] >= STRONG_EFFECT
        if not (link.get("many") or strong):
            continue
        msg = f"The covariate '{col}' goes with the label '{roles.label}' ({test_text(assoc)})"
        if link.get("many"):
            msg += (
                f" and it moves the features beyond what the label explains: "
                f"{link['n_features_associated_beyond_label']:,} of {link['n_features_tested']:,} features "
                f"(partial F test, FDR {FDR:.0%}). Part of the difference between classes may be '{col}', "
                f"and a model can predict the label through '{col}'. "
            )
        else:
            msg += (
                f", so strongly that a model can predict the label through '{col}' wherever '{col}' shows "
                "in the features. "
            )
        msg += (
            f"What to do: compare classes within strata of '{col}' (or match on it), report the model's "
            f"performance within levels of '{col}', and keep '{col}' in the metadata-only control."
        )
        ev = {"label_association": assoc, "features": link}
        out.append(
            Finding("confounding_covariate", "warning", 4, msg, columns=(col, roles.label), evidence=ev)
        )
    return out


def _metadata_design(df: pd.DataFrame, roles: Roles) -> tuple[np.ndarray, list[str]]:
    cols = [c for c in dict.fromkeys(tuple(roles.batch) + tuple(roles.covariates)) if c in df.columns]
    parts = []
    for c in cols:
        if c in roles.batch or not is_continuous(df[c]):
            lev = as_levels(df[c]).fillna("<missing>")
            parts.append(pd.get_dummies(lev, dtype=float).to_numpy())
        else:
            parts.append(design(df[c], continuous=True))
    D = np.hstack(parts) if parts else np.zeros((len(df), 0))
    return D, cols


def metadata_only_model(
    df: pd.DataFrame, roles: Roles, split: Any = None, *, seed: int = 0
) -> dict[str, Any] | None:
    """How well the batch variables and covariates alone predict the label, cross-validated.

    Logistic regression (classification; balanced accuracy against chance, binomial test)
    or ridge regression (regression; R-squared, one-sided test of the correlation between
    cross-validated predictions and the label) on one-hot batch levels and covariates.
    Cross-validation is stratified and group-aware when a group column exists. When a
    :class:`~deeprules_core.split.Split` is given, the locked test rows are left out.

    Returns None when the study has no batch variable and no covariate. The dict holds
    ``metric``, ``value`` (= ``score``), ``chance``, ``p_value``, ``n``, ``columns``, ``cv``
    and ``findings`` (a ``metadata_predicts_label`` finding as a dict, when one fired).
    """
    from scipy import stats
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.metrics import r2_score
    from sklearn.model_selection import GroupKFold, KFold, cross_val_predict

    if not roles.label:
        return None
    D, cols = _metadata_design(df, roles)
    if not cols or D.shape[1] == 0:
        return None
    df = label_tokens_as_missing(df, roles)
    y = df[roles.label]
    rows = y.notna().to_numpy()
    if split is not None:
        rows[np.asarray(split.indices("test"), dtype=int)] = False
    groups = groups_of(df, roles)
    g = groups[rows] if groups is not None else None
    D = D[rows]
    out: dict[str, Any] = {"model": "", "columns": cols, "n": int(rows.sum()), "seed": seed,
                           "findings": [], "excluded_test_rows": split is not None}  # fmt: skip
    if roles.task == "regression":
        yv = pd.to_numeric(y[rows], errors="coerce").to_numpy(dtype=float)
        n_splits = int(min(5, len(yv) if g is None else len(np.unique(g))))
        if n_splits < 2 or len(yv) < 10:
            return None
        cv = GroupKFold(n_splits) if g is not None else KFold(n_splits, shuffle=True, random_state=seed)
        with one_thread():
            pred = cross_val_predict(Ridge(alpha=1.0), D, yv, cv=cv, groups=g)
        r = float(np.corrcoef(pred, yv)[0, 1]) if np.std(pred) > 0 else 0.0
        t = r * np.sqrt((len(yv) - 2) / max(1 - r * r, 1e-12))
        out.update({"model": "ridge_regression", "metric": "r2", "score": float(r2_score(yv, pred)),
                    "chance": 0.0, "p_value": float(stats.t.sf(t, len(yv) - 2)), "cv": type(cv).__name__})  # fmt: skip
        margin = out["score"]
    else:
        codes = pd.factorize(as_levels(y[rows]), sort=True)[0]
        splitter, name = cv_splitter(codes, g, seed=seed)
        if splitter is None:
            return None
        model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
        with one_thread():
            pred = cross_val_predict(model, D, codes, cv=splitter, groups=g)
        ct = chance_test(codes, pred)
        out.update({"model": "logistic_regression", "metric": "balanced_accuracy",
                    "score": ct["balanced_accuracy"], "chance": ct["chance_balanced_accuracy"],
                    "p_value": ct["p_value"], "cv": name, "null_accuracy": ct["null_accuracy"]})  # fmt: skip
        margin = out["score"] - out["chance"]
    out["value"] = out["score"]
    if margin >= META_MARGIN and out["p_value"] < ALPHA:
        what = "balanced accuracy" if out["metric"] == "balanced_accuracy" else "R-squared"
        msg = (
            f"The metadata alone ({', '.join(cols)}) predict the label '{roles.label}': a cross-validated "
            f"{model_label(out['model'])} without any feature reaches {what} {out['score']:.2f} "
            f"(chance {out['chance']:.2f}, {fmt_p(out['p_value'])}). A model on the features can score "
            "well by picking up these variables rather than the biology, as in the pneumonia study where "
            "'asthma' predicted lower risk because of the care asthmatics received. What to do: report this "
            "score next to the model's; a model on the features must clearly beat it; evaluate within "
            "levels of these variables; look for the variable responsible in the confound findings."
        )
        sev: Severity = "error" if margin >= META_SEVERE_MARGIN else "warning"
        ev = {k: v for k, v in out.items() if k != "findings"}
        out["findings"] = [
            Finding("metadata_predicts_label", sev, 9, msg, columns=tuple(cols), evidence=ev).to_dict()
        ]
    return out
