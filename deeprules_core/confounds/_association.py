"""Associations between metadata and the label: batch x label confounding, covariates
that are linked to both the label and the features, and the metadata-only model.

The tests are chosen by the kinds of the two variables:

* categorical x categorical: Fisher's exact test for a 2 x 2 table, otherwise the
  chi-square test (a Monte Carlo p-value when expected counts are small); effect size
  Cramér's V;
* categorical x continuous: Kruskal-Wallis (robust to skew and outliers), effect size
  epsilon-squared = H / (n - 1); the one-way ANOVA F and eta-squared are in the evidence;
* continuous x continuous: Spearman's rank correlation, effect size |rho|.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..study import Roles
from ._common import as_levels, is_continuous

__all__ = ["association", "contingency", "batch_label_association"]

#: Significance level of every association test of this module. Strict on purpose: the
#: app reports a confound only when chance is a poor explanation (a few tests per study).
ALPHA = 1e-3
#: Minimum effect sizes, Cohen's conventional "small-to-medium" boundaries: Cramér's V 0.2,
#: eta/epsilon-squared 0.06, |Spearman rho| 0.3. Below these an association is real but
#: too weak to drive a model.
MIN_CRAMERS_V = 0.2
MIN_ETA2 = 0.06
MIN_ABS_RHO = 0.3
#: Expected counts below 5 in more than 20% of cells make the chi-square approximation
#: unreliable (Cochran's rule); a Monte Carlo p-value with this many draws is used instead.
_MC_DRAWS = 2000


def contingency(df: pd.DataFrame, roles: Roles, batch_col: str) -> pd.DataFrame:
    """Counts of samples per batch level (rows) and class (columns); rows with a missing
    batch or label are left out."""
    b, y = as_levels(df[batch_col]), as_levels(df[roles.label])  # type: ignore[index]
    ok = b.notna() & y.notna()
    return pd.crosstab(b[ok], y[ok]).rename_axis(index=batch_col, columns=roles.label)


def _chi2_mc(table: np.ndarray, stat: float, seed: int) -> float:
    """Monte Carlo p-value of the chi-square statistic with both margins fixed."""
    rng = np.random.default_rng(seed)
    r, c = table.shape
    rows = np.repeat(np.arange(r), table.sum(axis=1))
    cols = np.repeat(np.arange(c), table.sum(axis=0))
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    hits = 0
    for _ in range(_MC_DRAWS):
        t = np.zeros(r * c)
        np.add.at(t, rows * c + rng.permutation(cols), 1.0)
        s = ((t.reshape(r, c) - expected) ** 2 / expected).sum()
        hits += s >= stat - 1e-9
    return (hits + 1) / (_MC_DRAWS + 1)


def _cat_cat(x: pd.Series, y: pd.Series, seed: int) -> dict[str, Any]:
    table = pd.crosstab(x, y).to_numpy()
    n = int(table.sum())
    if min(table.shape) < 2:
        return {"test": "none", "p_value": 1.0, "effect": 0.0, "effect_name": "cramers_v", "n": n}
    chi2, p, dof, expected = stats.chi2_contingency(table, correction=False)
    v = float(np.sqrt(chi2 / (n * (min(table.shape) - 1))))
    if table.shape == (2, 2):
        test, p = "fisher_exact", float(stats.fisher_exact(table).pvalue)
    elif (expected < 5).mean() > 0.2:
        test, p = "chi_square_monte_carlo", _chi2_mc(table, float(chi2), seed)
    else:
        test = "chi_square"
    return {"test": test, "statistic": float(chi2), "dof": int(dof), "p_value": float(p), "effect": v,
            "effect_name": "cramers_v", "n": n}  # fmt: skip


def _cat_cont(x: pd.Series, v: pd.Series) -> dict[str, Any]:
    vals = pd.to_numeric(v, errors="coerce")
    groups = [g.to_numpy(dtype=float) for _, g in vals.groupby(x, observed=True) if len(g) > 0]
    n = int(sum(len(g) for g in groups))
    if len(groups) < 2 or n <= len(groups):
        return {"test": "none", "p_value": 1.0, "effect": 0.0, "effect_name": "epsilon_squared", "n": n}
    allv = np.concatenate(groups)
    if np.ptp(allv) == 0:
        return {"test": "none", "p_value": 1.0, "effect": 0.0, "effect_name": "epsilon_squared", "n": n}
    h, p = stats.kruskal(*groups)
    f, pf = stats.f_oneway(*groups)
    ssb = sum(len(g) * (g.mean() - allv.mean()) ** 2 for g in groups)
    eta2 = float(ssb / ((allv - allv.mean()) ** 2).sum())
    return {"test": "kruskal_wallis", "statistic": float(h), "p_value": float(p),
            "effect": float(max(h, 0.0) / (n - 1)), "effect_name": "epsilon_squared",
            "anova_f": float(f), "anova_p": float(pf), "eta_squared": eta2, "n": n}  # fmt: skip


def association(
    x: pd.Series,
    y: pd.Series,
    *,
    x_continuous: bool | None = None,
    y_continuous: bool | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Test the association of two columns with the test that fits their kinds.

    Returns a dict with ``test``, ``p_value``, ``effect`` (Cramér's V, epsilon-squared or
    |Spearman rho|), ``effect_name``, ``n`` and ``significant`` (p < ALPHA and the effect at
    least the named minimum). The kinds are guessed with ``is_continuous`` unless given.
    """
    ok = x.notna() & y.notna()
    x, y = x[ok], y[ok]
    out: dict[str, Any]
    minimum: float
    xc = is_continuous(x) if x_continuous is None else x_continuous
    yc = is_continuous(y) if y_continuous is None else y_continuous
    if xc and yc:
        rho, p = stats.spearmanr(x.to_numpy(dtype=float), y.to_numpy(dtype=float))
        rho = 0.0 if not np.isfinite(rho) else float(rho)
        out = {"test": "spearman", "p_value": float(p) if np.isfinite(p) else 1.0, "effect": abs(rho),
               "rho": rho, "effect_name": "abs_spearman_rho", "n": int(ok.sum())}  # fmt: skip
        minimum = MIN_ABS_RHO
    elif xc or yc:
        cat, cont = (y, x) if xc else (x, y)
        out = _cat_cont(as_levels(cat), cont)
        minimum = MIN_ETA2
    else:
        out = _cat_cat(as_levels(x), as_levels(y), seed)
        minimum = MIN_CRAMERS_V
    out["minimum_effect"] = minimum
    out["significant"] = bool(float(out["p_value"]) < ALPHA and float(out["effect"]) >= minimum)
    return out


def _all_one_class_probability(n_level: int, freqs: np.ndarray) -> float:
    """Chance that a level of ``n_level`` samples holds a single class when classes are
    spread at random (with-replacement approximation)."""
    return float(np.clip((freqs**n_level).sum(), 0.0, 1.0))


def batch_label_association(
    df: pd.DataFrame, roles: Roles, batch_col: str, *, seed: int = 0
) -> dict[str, Any]:
    """How far a batch variable and the label go together.

    Returns the test result of :func:`association` plus, for a categorical label, the
    contingency table, the levels that hold a single class (``single_class_levels``: level,
    class, n, the chance of that happening at random) and ``complete`` (every level holds
    one class: batch and label cannot be told apart at all). ``confounded`` is True when the
    association is significant or a single-class level is too large to be chance.
    """
    b = as_levels(df[batch_col])
    y = df[roles.label]  # type: ignore[index]
    reg = roles.task == "regression"
    res = association(b, y if reg else as_levels(y), x_continuous=False, y_continuous=reg, seed=seed)
    res["single_class_levels"], res["complete"], unlikely = [], False, False
    if roles.task == "classification":
        table = contingency(df, roles, batch_col)
        res["table"] = {str(i): {str(c): int(v) for c, v in row.items()} for i, row in table.iterrows()}
        freqs = (table.sum(axis=0) / max(table.to_numpy().sum(), 1)).to_numpy(dtype=float)
        n_levels = max(len(table), 1)
        singles: list[dict[str, Any]] = []
        for level, row in table.iterrows():
            n_l = int(row.sum())
            present = row[row > 0]
            if n_l >= 2 and len(present) == 1 and table.shape[1] > 1:
                chance = _all_one_class_probability(n_l, freqs)
                singles.append({"level": str(level), "class": str(present.index[0]), "n": n_l,
                                "chance_probability": chance})  # fmt: skip
                unlikely |= chance < ALPHA / n_levels
        res["single_class_levels"] = singles
        res["n_samples_in_single_class_levels"] = int(sum(s["n"] for s in singles))
        res["complete"] = bool(table.shape[1] > 1 and (table.gt(0).sum(axis=1) <= 1).all())
    else:
        vals = pd.to_numeric(y, errors="coerce")
        ok = b.notna() & vals.notna()
        means = vals[ok].groupby(b[ok]).agg(["mean", "count"])
        sd = float(vals[ok].std()) or 1.0
        dev = ((means["mean"] - vals[ok].mean()) / sd).abs().sort_values(ascending=False)
        res["level_means"] = {str(k): float(means.loc[k, "mean"]) for k in means.index}
        res["most_shifted_levels"] = [str(k) for k in dev.index[:3]]
    res["confounded"] = bool(res["significant"] or unlikely or res["complete"])
    return res
