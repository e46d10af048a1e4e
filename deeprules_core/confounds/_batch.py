"""Batch effects (is a batch variable visible in the features?) and batch-label
confounding (does the batch go together with the label?).

Three kinds of evidence for a batch effect, all in the finding's evidence:

1. **predictability**: a logistic regression on the top principal components predicts the
   batch of held-out samples (stratified, group-aware cross-validation when a group column
   exists, so that recognising an individual does not count as recognising its batch);
   balanced accuracy against chance, with a one-sided binomial test;
2. **neighbourhood mixing** (kBET / LISI-style): the share of each sample's k nearest
   neighbours in PCA space that come from the same batch, against the share expected when
   batches are well mixed (neighbours from the same individual are skipped);
3. **features**: how many features differ between batch levels (vectorised one-way ANOVA
   F over every feature, Benjamini-Hochberg at 5%). When every individual sits in one batch
   the test is on per-individual means, so that differences between individuals are not
   taken for a batch effect.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..findings import Finding
from ..names import finding_title, fmt_p, test_text
from ..stats import benjamini_hochberg
from ..study import Roles
from ._association import batch_label_association
from ._common import (
    Prepared,
    as_levels,
    chance_test,
    cv_splitter,
    design,
    groups_of,
    one_thread,
    partial_f,
)

__all__ = ["batch_effect_stats", "batch_findings"]

#: Cross-validated balanced accuracy must beat chance (1 / number of levels) by at least
#: this much: a ten-point gain is what a batch has to reach before a model can lean on it.
PRED_MARGIN = 0.10
#: ...and the binomial test against chance must give p below this (a few batch variables
#: per study, so a strict level keeps false alarms far below one in a hundred studies).
PRED_ALPHA = 1e-3
#: False discovery rate for the per-feature ANOVA.
FDR = 0.05
#: A batch effect "in the features" needs at least this many FDR-significant features and
#: at least this share of all features; under the null BH gives any discovery at most 5% of
#: the time, and five or more essentially never.
MIN_SIG_FEATURES = 5
MIN_SIG_SHARE = 0.01
#: Principal components used by the batch classifier and the neighbour graph.
N_PCS = 20
#: Nearest neighbours per sample for the mixing statistic (kBET uses 5-30).
K_NEIGHBOURS = 20


def _predictability(S: np.ndarray, b: np.ndarray, groups: np.ndarray | None, seed: int) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    levels, counts = np.unique(b, return_counts=True)
    keep = np.isin(b, levels[counts >= 2])
    S, b = S[keep], b[keep]
    g = groups[keep] if groups is not None else None
    splitter, name = cv_splitter(b, g, seed=seed)
    if splitter is None or S.shape[1] == 0:
        return {"testable": False, "reason": name}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000))
    with one_thread(), warnings.catch_warnings():
        # many small levels (e.g. processing dates) make sklearn warn that y "could represent a
        # regression problem"; the levels are categories, and the chance test handles them
        warnings.simplefilter("ignore", UserWarning)
        pred = cross_val_predict(model, S, b, cv=splitter, groups=g)
    out: dict[str, Any] = dict(chance_test(b, pred))
    out.update({"testable": True, "cv": name, "model": "logistic_regression on top PCs",
                "n_pcs": int(S.shape[1])})  # fmt: skip
    out["margin"] = out["balanced_accuracy"] - out["chance_balanced_accuracy"]
    out["predictable"] = bool(out["margin"] >= PRED_MARGIN and out["p_value"] < PRED_ALPHA)
    return out


def _mixing(S: np.ndarray, b: np.ndarray, groups: np.ndarray | None) -> dict[str, Any]:
    from sklearn.neighbors import NearestNeighbors

    n = len(b)
    k = int(min(K_NEIGHBOURS, max(n // 4, 1)))
    if n < 10 or S.shape[1] == 0:
        return {"k": 0}
    codes = pd.factorize(b)[0]
    g = np.arange(n) if groups is None else pd.factorize(groups)[0]
    gsize = np.bincount(g)
    extra = int(gsize.max()) - 1
    m = min(n - 1, k + extra)
    with one_thread():
        idx = NearestNeighbors(n_neighbors=m + 1).fit(S).kneighbors(S, return_distance=False)[:, 1:]
    valid = g[idx] != g[:, None]
    take = valid & (np.cumsum(valid, axis=1) <= k)
    used = take.sum(axis=1)
    same = ((codes[idx] == codes[:, None]) & take).sum(axis=1)
    ok = used > 0
    # expected share of same-batch neighbours among samples of other individuals
    bg = pd.crosstab(g, codes).to_numpy()
    nb = np.bincount(codes)
    own = bg[g, codes]
    exp_i = (nb[codes] - own) / np.maximum(n - gsize[g], 1)
    obs = float((same[ok] / used[ok]).mean())
    exp = float(exp_i[ok].mean())
    return {"k": k, "same_batch_fraction": obs, "expected_same_batch_fraction": exp,
            "mixing_excess": float((obs - exp) / max(1 - exp, 1e-12))}  # fmt: skip


def _feature_anova(prep: Prepared, b: pd.Series, df: pd.DataFrame, roles: Roles, groups) -> dict[str, Any]:
    ok = b.notna().to_numpy()
    X = prep.X if ok.all() else prep.X[ok]
    lev = b[ok].reset_index(drop=True)
    g = groups[ok] if groups is not None else None
    unit = "sample"
    if g is not None:
        per_group = pd.Series(lev.to_numpy()).groupby(g).nunique()
        if (per_group == 1).all() and len(per_group) < len(g):
            codes, uniq = pd.factorize(g)
            G = np.zeros((len(uniq), len(g)), dtype=X.dtype)
            G[codes, np.arange(len(g))] = 1.0
            X = (G @ X) / G.sum(axis=1, keepdims=True)
            lev = pd.Series(lev.to_numpy()).groupby(codes).first().reset_index(drop=True)
            unit = "individual (mean of its samples)"
    n, p = X.shape
    one = np.ones((n, 1))
    _, pv, df1, df2 = partial_f(X, one, design(lev, continuous=False))
    q = benjamini_hochberg(pv)
    n_sig = int(np.nansum(q < FDR))
    out: dict[str, Any] = {"n_features_tested": p, "n_features_associated": n_sig, "fdr": FDR,
                           "unit": unit, "df": [df1, df2]}  # fmt: skip
    if n_sig:
        top = np.argsort(np.where(np.isfinite(pv), pv, 2.0))[: min(10, n_sig)]
        out["top_features"] = [prep.features[i] for i in top]
    # the same test beyond the label (sample level), when the label can be adjusted for
    if unit == "sample" and roles.label and p:
        y = df[roles.label][ok].reset_index(drop=True)  # type: ignore[index]
        has = y.notna().to_numpy()
        if has.sum() > 3:
            Xl = X if has.all() else X[has]
            ydes = design(y[has], continuous=roles.task == "regression")
            base = np.hstack([np.ones((int(has.sum()), 1)), ydes])
            _, pv2, d1, _ = partial_f(Xl, base, design(lev[has], continuous=False))
            if d1 > 0:
                out["n_features_associated_beyond_label"] = int(np.nansum(benjamini_hochberg(pv2) < FDR))
    out["many"] = bool(n_sig >= max(MIN_SIG_FEATURES, MIN_SIG_SHARE * p))
    return out


def batch_effect_stats(
    df: pd.DataFrame, roles: Roles, batch_col: str, *, prepared: Prepared, seed: int = 0
) -> dict[str, Any]:
    """Predictability, neighbour mixing and per-feature association of one batch variable."""
    b = as_levels(df[batch_col])
    ok = b.notna().to_numpy()
    groups = groups_of(df, roles)
    levels = b[ok].value_counts()
    out: dict[str, Any] = {"batch": batch_col, "n_levels": int(len(levels)),
                           "level_sizes": {str(k): int(v) for k, v in levels.items()}}  # fmt: skip
    if len(levels) < 2 or not prepared.features:
        out["testable"] = False
        return out
    S = prepared.scores[ok, :N_PCS]
    bv = b[ok].to_numpy(dtype=object).astype(str)
    g = groups[ok] if groups is not None else None
    out["predictability"] = _predictability(S, bv, g, seed)
    out["mixing"] = _mixing(S, bv, g)
    out["features"] = _feature_anova(prepared, b, df, roles, groups)
    out["testable"] = True
    out["detected"] = bool(out["predictability"].get("predictable") or out["features"]["many"])
    return out


def _fmt_p(p: float) -> str:
    return fmt_p(p, bare=True).removeprefix("= ")


def _effect_finding(st: dict[str, Any], conf: dict[str, Any] | None, label: str | None) -> Finding:
    col, pr, mx, ft = st["batch"], st["predictability"], st["mixing"], st["features"]
    parts = []
    if pr.get("testable"):
        parts.append(
            f"a classifier on the top {pr['n_pcs']} principal components predicts the {col} of held-out "
            f"samples with balanced accuracy {pr['balanced_accuracy']:.2f} (chance "
            f"{pr['chance_balanced_accuracy']:.2f}, binomial test, {fmt_p(pr['p_value'])}, {pr['cv']})"
        )
    parts.append(
        f"{ft['n_features_associated']:,} of {ft['n_features_tested']:,} features differ between levels "
        f"(ANOVA, FDR {ft['fdr']:.0%})"
    )
    if mx.get("k"):
        parts.append(
            f"{mx['same_batch_fraction']:.0%} of each sample's {mx['k']} nearest neighbours share its "
            f"{col} (expected {mx['expected_same_batch_fraction']:.0%} if well mixed)"
        )
    msg = (
        f"The batch variable '{col}' is visible in the features: " + "; ".join(parts) + ". "
        f"A model can learn '{col}' instead of the biology, and scores mislead when '{col}' is "
        "distributed differently between training and test data. "
    )
    if conf is not None and conf.get("confounded"):
        msg += (
            f"'{col}' is also associated with the label '{label}' (see “{finding_title('batch_confounding')}”), so part of "
            "this signal may be biology: with these samples the two cannot be separated. "
        )
    msg += (
        f"What to do: check that '{col}' is balanced across classes; validate with whole levels of "
        f"'{col}' held out (leave-batch-out) to see whether the model transfers; if the design is "
        "balanced, consider batch correction fitted on the training data only."
    )
    ev = {"predictability": pr, "mixing": mx, "features": ft, "level_sizes": st["level_sizes"]}
    return Finding("batch_effect", "warning", 4, msg, columns=(col,), evidence=ev)


def _confounding_finding(col: str, conf: dict[str, Any], label: str) -> Finding:
    msg = f"The batch variable '{col}' and the label '{label}' go together ({test_text(conf)}). "
    singles = conf.get("single_class_levels") or []
    if conf.get("complete"):
        msg += f"Every level of '{col}' holds a single class: batch and biology are completely confounded. "
    if singles:
        shown = ", ".join(f"{s['level']} (only '{s['class']}', {s['n']} samples)" for s in singles[:8])
        more = f" and {len(singles) - 8} more" if len(singles) > 8 else ""
        msg += f"Levels holding a single class: {shown}{more}; these samples cannot tell batch from biology. "
    if conf.get("most_shifted_levels"):
        msg += f"Levels with the most shifted label: {', '.join(conf['most_shifted_levels'])}. "
    msg += (
        f"Why it matters: a difference between classes may be a '{col}' effect, and a model can score "
        f"well by recognising '{col}'. What to do: re-balance (process classes across every level of "
        f"'{col}' in new samples), block on '{col}' (compare classes within a level; validate with "
        f"levels held out), or restrict the claim to what the design supports. Do not batch-correct: "
        "correction would remove the biology along with the batch."
    )
    severe = conf.get("complete") or conf["effect"] >= 0.5
    ev = {k: conf[k] for k in conf if k not in ("significant",)}
    return Finding("batch_confounding", "error" if severe else "warning", 4, msg,
                   columns=(col, label), evidence=ev)  # fmt: skip


def batch_findings(
    df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0, progress=None
) -> tuple[list[Finding], dict[str, Any]]:
    """Findings batch_effect and batch_confounding for every batch variable, and the stats."""
    findings: list[Finding] = []
    stats_out: dict[str, Any] = {}
    for i, col in enumerate(roles.batch):
        if progress:
            progress(i / max(len(roles.batch), 1), f"batch variable '{col}'")
        conf = None
        if roles.label:
            conf = batch_label_association(df, roles, col, seed=seed)
            if conf["confounded"]:
                findings.append(_confounding_finding(col, conf, roles.label))
        st = batch_effect_stats(df, roles, col, prepared=prepared, seed=seed)
        if st.get("testable") and st["detected"]:
            findings.append(_effect_finding(st, conf, roles.label))
        stats_out[col] = {"effect": st, "association": conf}
    return findings, stats_out
