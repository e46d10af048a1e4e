"""The over-interpretation guard (Tip 9): is a top feature a proxy for a batch or covariate?

A feature can rank high because it carries the batch (plate, run, site, date) or a
covariate (age, sex) rather than the biology: if the batch is unevenly spread over the
labels, a model can predict the label from it. For each top feature and each batch and
covariate column we ask whether the variable explains the feature:

* a **categorical** variable (every batch column; a covariate with at most
  :data:`CATEGORICAL_MAX_LEVELS` values or text): one-way ANOVA F test, effect size
  epsilon² (eta² corrected for the number of levels, so that many small batches do not
  inflate it);
* a **continuous** covariate: Spearman correlation.

The p-values of all (feature, variable) tests are corrected together with
Benjamini-Hochberg. A pair is flagged when the association is significant
(q < :data:`ALPHA`) **and** large (epsilon² >= :data:`ETA2_LARGE`, or |rho| >=
:data:`RHO_LARGE`): with hundreds of samples tiny associations are significant and
would be noise to the user.

The same test is repeated **within the label** (the variable's effect after the label's,
a nested F test on the ranks for continuous variables). A biological feature in a study
whose batch is unevenly spread over the labels is associated with the batch only
*through* the label; a batch proxy stays associated among samples with the same label.
Severity: ``warning`` when the association holds within the label too (or when batch
and label cannot be told apart at all), ``info`` when it runs entirely through the label
(the feature may still be biology; the design cannot tell).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from deeprules_core.study import Roles
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"plate": np.repeat(["p1", "p2", "p3", "p4"], 50), "y": rng.integers(0, 2, 200)})
>>> df["gene"] = rng.normal(size=200) + df["y"]
>>> df["proxy"] = df["plate"].map({"p1": 0, "p2": 2, "p3": 4, "p4": 6}) + rng.normal(size=200)
>>> roles = Roles(label="y", batch=("plate",))
>>> [f.columns for f in attribution_guard(df, roles, ["proxy", "gene"])]
[('proxy', 'plate')]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..findings import Finding
from ..stats import benjamini_hochberg
from ..study import Roles

__all__ = [
    "NOT_CAUSAL_CAVEAT",
    "ALPHA",
    "ETA2_LARGE",
    "RHO_LARGE",
    "CATEGORICAL_MAX_LEVELS",
    "attribution_guard",
    "benjamini_hochberg",
]

#: Shown on every interpretation view and in the report (Tip 9).
NOT_CAUSAL_CAVEAT = (
    "Importance is not causation. A feature ranks high because the model uses it to predict the label "
    "in these data, not because it causes the outcome: it may stand in for the real cause, for a batch, "
    "or for how the samples were collected (a classic model learned that asthma lowers pneumonia risk, "
    "because asthmatic patients were treated more aggressively). Read the top features as hypotheses to "
    "test with knowledge of the biology and, where possible, an experiment."
)

#: False-discovery rate over all (feature, variable) tests.
ALPHA = 0.05
#: Cohen's (1988) conventional "large" eta² is 0.14; below it a batch explains too little
#: of a feature for the feature to be mostly batch.
ETA2_LARGE = 0.14
#: Cohen's "large" correlation, 0.5 (a quarter of the rank variance shared).
RHO_LARGE = 0.5
#: A covariate with at most this many distinct values is treated as categorical (sex,
#: smoking status, a 1-5 grade); batch columns are always categorical.
CATEGORICAL_MAX_LEVELS = 5
#: Rows used per test at most (a seeded random subset beyond): the effect sizes are
#: stable long before this and it bounds the cost on large tables.
MAX_ROWS = 5000
#: Fewer complete rows than this: no test (the effect size would be too unstable).
MIN_ROWS = 10


def _dummies(values: pd.Series) -> np.ndarray:
    return pd.get_dummies(values.astype(str), drop_first=True).to_numpy(dtype=float)


def _nested(y: np.ndarray, adjust: np.ndarray, tested: np.ndarray) -> dict[str, float] | None:
    """Nested F test of ``tested`` columns after ``adjust`` (which includes the intercept).
    Returns p, epsilon² (partial) and the partial R², or None when not estimable."""
    n = len(y)

    def fit(design: np.ndarray) -> tuple[float, int, np.ndarray]:
        coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        return float(resid @ resid), int(rank), coef

    rss_a, rank_a, _ = fit(adjust)
    full = np.hstack([adjust, tested])
    rss_f, rank_f, coef = fit(full)
    df1, df2 = rank_f - rank_a, n - rank_f
    if df1 <= 0 or df2 <= 0 or rss_a <= 1e-12:
        return None
    ss_effect = max(rss_a - rss_f, 0.0)
    ms_error = rss_f / df2
    f_stat = (ss_effect / df1) / max(ms_error, 1e-300)
    return {
        "p": float(stats.f.sf(f_stat, df1, df2)),
        "epsilon2": float(max((ss_effect - df1 * ms_error) / rss_a, 0.0)),
        "r2": float(ss_effect / rss_a),
        "sign": float(np.sign(coef[-1])) if tested.shape[1] == 1 else 1.0,
        "df1": float(df1),
        "df2": float(df2),
    }


def _is_categorical(s: pd.Series, *, batch: bool) -> bool:
    if batch or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return True
    return s.nunique(dropna=True) <= CATEGORICAL_MAX_LEVELS


def _test(feature: pd.Series, var: pd.Series, label: pd.Series | None, *, categorical: bool, task: str):
    ok = feature.notna() & var.notna() & (label.notna() if label is not None else True)
    f, v = feature[ok].astype(float), var[ok]
    lab = label[ok] if label is not None else None
    if len(f) < MIN_ROWS or v.nunique() < 2 or f.nunique() < 2:
        return None
    ones = np.ones((len(f), 1))
    if categorical:
        y = f.to_numpy()
        tested = _dummies(v)
    else:
        y = stats.rankdata(f.to_numpy())
        tested = stats.rankdata(pd.to_numeric(v).to_numpy())[:, None]
    marginal = _nested(y, ones, tested)
    if marginal is None:
        return None
    if not categorical:  # Spearman's rho and its usual p-value
        res = stats.spearmanr(f.to_numpy(), pd.to_numeric(v).to_numpy())
        marginal.update(effect=float(res.statistic), p=float(res.pvalue))
    else:
        marginal["effect"] = marginal["epsilon2"]
    adjusted = None
    if lab is not None:
        if task == "classification":
            adj = np.hstack([ones, _dummies(lab)])
        else:
            adj = np.hstack([ones, stats.rankdata(pd.to_numeric(lab).to_numpy())[:, None]])
        adjusted = _nested(y, adj, tested)
        if adjusted is not None:
            adjusted["effect"] = (
                adjusted["epsilon2"] if categorical else adjusted["sign"] * float(np.sqrt(adjusted["r2"]))
            )
    # every level of the variable holds a single label: batch and label cannot be told apart
    inseparable = bool(
        lab is not None and categorical and task == "classification" and lab.groupby(v).nunique().max() == 1
    )
    return {"n": int(len(f)), "marginal": marginal, "adjusted": adjusted, "inseparable": inseparable}


def _large(effect: float, categorical: bool) -> bool:
    return effect >= ETA2_LARGE if categorical else abs(effect) >= RHO_LARGE


def attribution_guard(
    df: pd.DataFrame, roles: Roles, top_features: Any, *, seed: int = 0, alpha: float = ALPHA
) -> list[Finding]:
    """Flag top features that are strongly associated with a batch variable or covariate.

    Parameters
    ----------
    df
        The table (all rows: the association is a property of the data).
    roles
        Column roles: ``batch`` and ``covariates`` are tested, ``label`` adjusts.
    top_features
        The model's top features, most important first (names, or an importance table
        with a ``feature`` column). Names that are not columns (sequence positions) are
        skipped.
    seed
        Seeds the row subset on tables larger than :data:`MAX_ROWS`.
    alpha
        False-discovery rate.

    Returns
    -------
    list of Finding
        Code ``attribution_on_confounder``, one per flagged (feature, variable) pair.
    """
    if isinstance(top_features, pd.DataFrame):
        top_features = top_features["feature"].tolist()
    feats = [str(f) for f in top_features if str(f) in df.columns]
    variables = [(v, True) for v in roles.batch if v in df.columns]
    variables += [(v, False) for v in roles.covariates if v in df.columns and v not in roles.batch]
    feats = [f for f in feats if f not in {v for v, _ in variables} and f != roles.label]
    if not feats or not variables:
        return []
    data = df if len(df) <= MAX_ROWS else df.sample(MAX_ROWS, random_state=seed)
    label = data[roles.label] if roles.label and roles.label in data.columns else None
    results: list[dict[str, Any]] = []
    for rank, f in enumerate(feats, start=1):
        if not pd.api.types.is_numeric_dtype(data[f]):
            continue
        for v, is_batch in variables:
            categorical = _is_categorical(data[v], batch=is_batch)
            res = _test(data[f], data[v], label, categorical=categorical, task=roles.task)
            if res is not None:
                results.append(
                    {
                        "feature": f,
                        "rank": rank,
                        "variable": v,
                        "batch": is_batch,
                        "categorical": categorical,
                        **res,
                    }
                )
    if not results:
        return []
    q_marg = benjamini_hochberg([r["marginal"]["p"] for r in results])
    q_adj = benjamini_hochberg([r["adjusted"]["p"] if r["adjusted"] else np.nan for r in results])
    findings = []
    for r, qm, qa in zip(results, q_marg, q_adj, strict=True):
        if not (qm < alpha and _large(r["marginal"]["effect"], r["categorical"])):
            continue
        adj = r["adjusted"]
        within = adj is not None and qa < alpha and _large(adj["effect"], r["categorical"])
        inseparable = label is not None and (adj is None or r["inseparable"])
        severity = "warning" if (within or inseparable or label is None) else "info"
        findings.append(_finding(r, qm, qa, severity=severity, within=within, inseparable=inseparable))
    return findings


def _finding(r: dict[str, Any], qm: float, qa: float, *, severity: str, within: bool, inseparable: bool):
    f, v = r["feature"], r["variable"]
    kind = "batch variable" if r["batch"] else "covariate"
    stat = "epsilon²" if r["categorical"] else "Spearman rho"
    m = r["marginal"]
    head = (
        f"The feature '{f}', number {r['rank']} among the model's top features, is strongly associated "
        f"with the {kind} '{v}' ({stat} = {m['effect']:.2f}, q = {qm:.1g}, n = {r['n']}). "
    )
    if inseparable:
        body = (
            f"Every value of the {kind} holds samples of a single label: the {kind} and the label cannot be "
            f"told apart in these data, so this feature may carry the {kind}, not the biology, and no "
            "analysis of these data can say which. "
        )
    elif within:
        body = (
            f"The association holds among samples with the same label ({stat} = {r['adjusted']['effect']:.2f} "
            f"within the label), so this feature may carry the {kind}, not the biology: the model may be "
            f"predicting the label from how the samples were processed or who they came from. "
        )
    elif r["adjusted"] is None:
        body = f"This feature may carry the {kind}, not the biology. "
    else:
        body = (
            f"The association runs through the label (it vanishes among samples with the same label), "
            f"because the {kind} is unevenly spread over the labels: the feature may well be biology, but "
            f"this design cannot rule out that it carries the {kind}. "
        )
    todo = (
        "Look at the Batch & confounds page; re-run with batch correction fitted on the training side, or "
        "with a split that holds out whole batches, and see whether the feature stays on top; do not "
        "report it as a biomarker before it does."
    )
    evidence = {
        "feature": f,
        "rank": r["rank"],
        "variable": v,
        "variable_role": "batch" if r["batch"] else "covariate",
        "test": "ANOVA F (epsilon²)" if r["categorical"] else "Spearman",
        "n": r["n"],
        "effect": m["effect"],
        "p": m["p"],
        "q": qm,
        "within_label_effect": r["adjusted"]["effect"] if r["adjusted"] else None,
        "within_label_p": r["adjusted"]["p"] if r["adjusted"] else None,
        "within_label_q": qa,
        "thresholds": {"alpha": ALPHA, "eta2_large": ETA2_LARGE, "rho_large": RHO_LARGE},
    }
    return Finding(
        code="attribution_on_confounder",
        severity=severity,  # type: ignore[arg-type]
        tip=9,
        message=head + body + todo,
        columns=(f, v),
        evidence=evidence,
    )
