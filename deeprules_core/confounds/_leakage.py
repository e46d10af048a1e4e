"""Label leakage: a single feature that (almost) determines the label, such as a
measurement taken after the outcome, a diagnosis code, or a copy of the label.

Classification: the univariate AUROC of every feature for every class (one class against
the rest); a feature is a leak when AUROC >= 0.99 (or <= 0.01), the Mann-Whitney test
survives a Bonferroni correction over all features and classes (so that a "perfect"
separator found by chance among 20,000 features in 20 samples is not called a leak), and
a one-threshold rule learned on training folds classifies held-out samples with balanced
accuracy >= 0.95. Regression: |Spearman rho| >= 0.98 with a Bonferroni-corrected p.

Ranking 20,000 columns is slow, so a cheap screen with a guarantee comes first. Let m be
the median of one class (the smaller). If AUROC >= 0.99 (or <= 0.01), more than 90% of
the other class lies strictly on one side of m: otherwise at least half of the first class
(those on m's far side) ties with or loses to at least 10% of the other class, costing at
least 0.5 x 0.1 x 0.5 = 0.025 of AUROC. Only features that pass the screen are tested
exactly (Mann-Whitney).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..findings import Finding
from ..study import Roles
from ._common import Prepared, as_levels

__all__ = ["leak_candidates", "leakage_findings"]

#: AUROC at or above this (or at or below 1 - it) is "almost determines the label".
LEAK_AUROC = 0.99
#: |Spearman rho| at or above this for a continuous label.
LEAK_RHO = 0.98
#: Balanced accuracy a cross-validated single-threshold rule must reach on held-out samples.
LEAK_CV_BALANCED_ACCURACY = 0.95
#: Family-wise error rate of the Bonferroni-corrected test over every feature (and class).
LEAK_ALPHA = 0.01
#: Screen: share of the other class beyond the class median (0.98 is implied by AUROC 0.99).
_SCREEN = 0.90
_MAX_REPORTED = 10


def _stump_cv(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    """Cross-validated balanced accuracy of the best single threshold on one feature."""
    from sklearn.model_selection import StratifiedKFold

    n_splits = int(min(5, np.bincount(y).min()))
    if n_splits < 2:
        return float("nan")
    correct = np.zeros(2)
    total = np.bincount(y).astype(float)
    for tr, va in StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(x, y):
        xs, ys = x[tr], y[tr]
        order = np.argsort(xs, kind="mergesort")
        xs, ys = xs[order], ys[order]
        cuts = np.unique(xs)
        cuts = (cuts[:-1] + cuts[1:]) / 2 if len(cuts) > 1 else cuts
        n1, n0 = ys.sum(), len(ys) - ys.sum()
        above1 = n1 - np.searchsorted(xs[ys == 1], cuts, side="right")
        above0 = n0 - np.searchsorted(xs[ys == 0], cuts, side="right")
        bal_up = 0.5 * (above1 / max(n1, 1) + (n0 - above0) / max(n0, 1))  # predict 1 above
        best_up, best_down = bal_up.max(), (1 - bal_up).max()
        if best_up >= best_down:
            cut, up = cuts[bal_up.argmax()], True
        else:
            cut, up = cuts[(1 - bal_up).argmax()], False
        pred = (x[va] > cut) if up else (x[va] <= cut)
        for c in (0, 1):
            correct[c] += ((pred.astype(int) == y[va]) & (y[va] == c)).sum()
    return float(np.mean(correct / np.maximum(total, 1)))


def _col_median(A: np.ndarray) -> np.ndarray:
    """Column medians; on a transposed contiguous copy (much faster than a strided median)."""
    return np.median(np.ascontiguousarray(A.T), axis=1)


def _raw(df: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)[rows]


def _classification(df: pd.DataFrame, roles: Roles, prep: Prepared, seed: int) -> list[dict[str, Any]]:
    y = as_levels(df[roles.label])  # type: ignore[index]
    rows = y.notna().to_numpy()
    codes, classes = pd.factorize(y[rows], sort=True)
    if len(classes) < 2:
        return []
    X = prep.X if rows.all() else prep.X[rows]
    one_vs_rest = [0] if len(classes) == 2 else list(range(len(classes)))
    n_tests = len(prep.features) * len(one_vs_rest)
    out: list[dict[str, Any]] = []
    for c in one_vs_rest:
        pos = codes == (1 if len(classes) == 2 else c)
        if min(pos.sum(), (~pos).sum()) < 2:
            continue
        small = pos if pos.sum() <= (~pos).sum() else ~pos  # median of the smaller side
        m = _col_median(X[small])
        other = ~small
        below = np.count_nonzero((X < m)[other], axis=0) / other.sum()
        above = np.count_nonzero((X > m)[other], axis=0) / other.sum()
        for j in np.flatnonzero((below >= _SCREEN) | (above >= _SCREEN)):
            name = prep.features[j]
            x = _raw(df, name, rows)
            ok = np.isfinite(x)
            xp, xn = x[ok & pos], x[ok & ~pos]
            if len(xp) < 2 or len(xn) < 2:
                continue
            res = stats.mannwhitneyu(xp, xn, alternative="two-sided")
            auc = float(res.statistic / (len(xp) * len(xn)))
            if max(auc, 1 - auc) < LEAK_AUROC:
                continue
            higher = auc >= 0.5
            p_bonf = float(min(1.0, res.pvalue * n_tests))
            yy = pos[ok].astype(int)
            cv = _stump_cv(x[ok], yy, seed)
            if p_bonf < LEAK_ALPHA and cv >= LEAK_CV_BALANCED_ACCURACY:
                if len(classes) == 2:  # name the class in which the feature is high
                    cls, direction = (classes[1], "higher") if higher else (classes[0], "higher")
                else:
                    cls, direction = classes[c], "higher" if higher else "lower"
                out.append({"feature": name, "auroc": max(auc, 1 - auc), "class": str(cls),
                            "direction": direction, "p_bonferroni": p_bonf,
                            "cv_threshold_balanced_accuracy": cv, "n": int(ok.sum()),
                            "mean_in_class": float((xp if higher or len(classes) > 2 else xn).mean()),
                            "mean_in_others": float((xn if higher or len(classes) > 2 else xp).mean())})  # fmt: skip
    best: dict[str, dict[str, Any]] = {}
    for r in out:
        if r["feature"] not in best or abs(r["auroc"] - 0.5) > abs(best[r["feature"]]["auroc"] - 0.5):
            best[r["feature"]] = r
    return sorted(best.values(), key=lambda r: -abs(r["auroc"] - 0.5))


def _regression(df: pd.DataFrame, roles: Roles, prep: Prepared) -> list[dict[str, Any]]:
    yv = pd.to_numeric(df[roles.label], errors="coerce").to_numpy(dtype=float)  # type: ignore[index]
    rows = np.isfinite(yv)
    n = int(rows.sum())
    if n < 5:
        return []
    X = prep.X if rows.all() else prep.X[rows]
    ranks = np.empty(X.shape, dtype=np.float32)
    np.put_along_axis(ranks, np.argsort(X, axis=0), np.arange(n, dtype=np.float32)[:, None], axis=0)
    ry = stats.rankdata(yv[rows])
    ry = (ry - ry.mean()) / (ry.std() or 1.0)
    ranks -= (n - 1) / 2
    rho_screen = (ranks.T @ ry.astype(np.float32)) / n / np.sqrt((n * n - 1) / 12.0)
    out = []
    for j in np.flatnonzero(np.abs(rho_screen) >= 0.8):
        name = prep.features[j]
        x = _raw(df, name, rows)
        ok = np.isfinite(x)
        rho, p = stats.spearmanr(x[ok], yv[rows][ok])
        if np.isfinite(rho) and abs(rho) >= LEAK_RHO:
            p_bonf = float(min(1.0, p * len(prep.features)))
            if p_bonf < LEAK_ALPHA:
                out.append({"feature": name, "spearman_rho": float(rho), "p_bonferroni": p_bonf,
                            "n": int(ok.sum())})  # fmt: skip
    return sorted(out, key=lambda r: -abs(r["spearman_rho"]))


def leak_candidates(
    df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0
) -> list[dict[str, Any]]:
    """Every feature that (almost) determines the label, strongest first, with its numbers."""
    if not roles.label or not prepared.features:
        return []
    if roles.task == "regression":
        return _regression(df, roles, prepared)
    return _classification(df, roles, prepared, seed)


def leakage_findings(df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0) -> list[Finding]:
    """One label_leakage finding naming every near-copy of the label."""
    leaks = leak_candidates(df, roles, prepared=prepared, seed=seed)
    if not leaks:
        return []
    names = [r["feature"] for r in leaks]
    if roles.task == "regression":
        detail = ", ".join(f"'{r['feature']}' (Spearman rho {r['spearman_rho']:+.3f})" for r in leaks[:5])
    else:
        detail = ", ".join(
            f"'{r['feature']}' (AUROC {r['auroc']:.3f}, {r['direction']} in '{r['class']}'; one threshold classifies "
            f"held-out samples with balanced accuracy {r['cv_threshold_balanced_accuracy']:.2f})"
            for r in leaks[:5]
        )
    more = f" and {len(leaks) - 5} more" if len(leaks) > 5 else ""
    msg = (
        f"{len(leaks)} feature(s) almost determine the label '{roles.label}' on their own: {detail}{more}. "
        "A single measurement that separates the classes this cleanly is usually a copy of the label, a "
        "measurement taken after the outcome, or a code derived from the diagnosis; a model would score "
        "near-perfectly and learn nothing useful. What to do: find out how each of these was measured; "
        "remove it from the features unless it is truly available before the outcome (and then say so)."
    )
    ev = {"features": leaks[:_MAX_REPORTED], "n_leak_features": len(leaks)}
    return [Finding("label_leakage", "error", 7, msg, columns=tuple(names[:_MAX_REPORTED]), evidence=ev)]
