"""Label leakage: a single feature that (almost) determines the label, such as a
measurement taken after the outcome, a diagnosis code, or a copy of the label.

Two classes: a feature is a leak when its AUROC is >= 0.99 (or <= 0.01), the
Mann-Whitney test survives a Bonferroni correction over all features (so that a
"perfect" separator found by chance among 20,000 features in 20 samples is not called a
leak), and a one-threshold rule learned on training folds classifies held-out samples
with balanced accuracy >= 0.95.

Three or more classes: the feature must determine the whole label, not set one class
apart (one species with longer flippers is biology, not leakage): every pair of classes
has AUROC >= 0.99, the largest pairwise p-value survives the Bonferroni correction, and a
one-feature classifier (one interval per class) reaches balanced accuracy >= 0.95 over
all classes on held-out samples. Regression: |Spearman rho| >= 0.98 with a
Bonferroni-corrected p.

Ranking 20,000 columns is slow, so a cheap screen with a guarantee comes first (for every
pair of classes when there are more than two). Let m be the median of one class (the
smaller). If AUROC >= 0.99 (or <= 0.01), more than 90% of
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


def _screen(X: np.ndarray, a: np.ndarray, b: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The columns of ``cols`` that may separate rows ``a`` from rows ``b`` with AUROC >= 0.99
    (more than 90% of the larger side strictly beyond the median of the smaller side)."""
    small, other = (a, b) if a.sum() <= b.sum() else (b, a)
    Xc = X[:, cols]
    m = _col_median(Xc[small])
    below = np.count_nonzero((Xc < m)[other], axis=0) / other.sum()
    above = np.count_nonzero((Xc > m)[other], axis=0) / other.sum()
    return cols[(below >= _SCREEN) | (above >= _SCREEN)]


def _binary(
    df: pd.DataFrame,
    prep: Prepared,
    X: np.ndarray,
    rows: np.ndarray,
    codes: np.ndarray,
    classes: pd.Index,
    seed: int,
) -> list[dict[str, Any]]:
    """Two classes: the feature separates them (AUROC and a cross-validated threshold)."""
    pos = codes == 1
    if min(pos.sum(), (~pos).sum()) < 2:
        return []
    n_tests = len(prep.features)
    out: list[dict[str, Any]] = []
    for j in _screen(X, pos, ~pos, np.arange(X.shape[1])):
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
        cv = _stump_cv(x[ok], pos[ok].astype(int), seed)
        if p_bonf < LEAK_ALPHA and cv >= LEAK_CV_BALANCED_ACCURACY:
            cls = classes[1] if higher else classes[0]  # the class in which the feature is high
            out.append({"feature": name, "auroc": max(auc, 1 - auc), "class": str(cls), "direction": "higher",
                        "separates": [str(c) for c in classes], "p_bonferroni": p_bonf,
                        "cv_threshold_balanced_accuracy": cv, "n": int(ok.sum()),
                        "mean_in_class": float((xp if higher else xn).mean()),
                        "mean_in_others": float((xn if higher else xp).mean())})  # fmt: skip
    return out


def _interval_cv(x: np.ndarray, y: np.ndarray, n_classes: int, seed: int) -> float:
    """Cross-validated balanced accuracy over all classes of a one-feature classifier
    (a tree with one leaf per class: one interval of the feature per class)."""
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    n_splits = int(min(5, np.bincount(y).min()))
    if n_splits < 2:
        return float("nan")
    tree = DecisionTreeClassifier(max_leaf_nodes=n_classes, class_weight="balanced", random_state=seed)
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    pred = cross_val_predict(tree, x.reshape(-1, 1), y, cv=cv)
    return float(balanced_accuracy_score(y, pred))


def _multiclass(
    df: pd.DataFrame,
    prep: Prepared,
    X: np.ndarray,
    rows: np.ndarray,
    codes: np.ndarray,
    classes: pd.Index,
    seed: int,
) -> list[dict[str, Any]]:
    """Three or more classes: the feature must separate every class from every other.

    One class set apart from the rest (Gentoo penguins by flipper length) is ordinary
    biology, not a copy of the label. A leak puts each class in its own interval: every
    pair of classes has AUROC >= 0.99, every pair's test survives a Bonferroni correction
    over the features (an intersection-union test: the largest pairwise p-value is the
    feature's p-value), and a one-feature classifier with one interval per class reaches
    the balanced-accuracy bar over all classes on held-out samples.
    """
    sizes = np.bincount(codes, minlength=len(classes))
    kept = np.flatnonzero(sizes >= 2)
    if len(kept) < 2:
        return []
    pairs = [(a, b) for i, a in enumerate(kept) for b in kept[i + 1 :]]
    cols = np.arange(X.shape[1])
    for a, b in sorted(pairs, key=lambda ab: -(sizes[ab[0]] + sizes[ab[1]])):
        cols = _screen(X, codes == a, codes == b, cols)
        if not len(cols):
            return []
    out: list[dict[str, Any]] = []
    for j in cols:
        name = prep.features[j]
        x = _raw(df, name, rows)
        ok = np.isfinite(x) & np.isin(codes, kept)
        per_class = {k: x[ok & (codes == k)] for k in kept}
        if min(len(v) for v in per_class.values()) < 2:
            continue
        worst_auc, worst_p = 1.0, 0.0
        for a, b in pairs:
            res = stats.mannwhitneyu(per_class[a], per_class[b], alternative="two-sided")
            auc = float(res.statistic / (len(per_class[a]) * len(per_class[b])))
            worst_auc, worst_p = min(worst_auc, max(auc, 1 - auc)), max(worst_p, float(res.pvalue))
            if worst_auc < LEAK_AUROC:
                break
        if worst_auc < LEAK_AUROC:
            continue
        p_bonf = float(min(1.0, worst_p * len(prep.features)))
        yk = np.searchsorted(kept, codes[ok])
        cv = _interval_cv(x[ok], yk, len(kept), seed)
        if p_bonf < LEAK_ALPHA and cv >= LEAK_CV_BALANCED_ACCURACY:
            order = sorted(kept, key=lambda k: float(np.median(per_class[k])))
            out.append({"feature": name, "auroc": worst_auc, "separates": [str(classes[k]) for k in order],
                        "order": "low to high", "p_bonferroni": p_bonf,
                        "cv_balanced_accuracy_all_classes": cv, "cv_threshold_balanced_accuracy": cv,
                        "n": int(ok.sum()),
                        "median_by_class": {str(classes[k]): float(np.median(per_class[k])) for k in order}})  # fmt: skip
    return out


def _classification(df: pd.DataFrame, roles: Roles, prep: Prepared, seed: int) -> list[dict[str, Any]]:
    from ..checks._units import without_missing_tokens  # the checks' list of missing-value tokens

    y = without_missing_tokens(as_levels(df[roles.label]))  # type: ignore[index]  # '.' is no label
    rows = y.notna().to_numpy()
    codes, classes = pd.factorize(y[rows], sort=True)
    if len(classes) < 2:
        return []
    X = prep.X if rows.all() else prep.X[rows]
    find = _binary if len(classes) == 2 else _multiclass
    out = find(df, prep, X, rows, codes, classes, seed)
    return sorted(out, key=lambda r: -abs(r["auroc"] - 0.5))


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


def _describe(r: dict[str, Any]) -> str:
    if "class" in r:  # two classes
        return (
            f"'{r['feature']}' (AUROC {r['auroc']:.3f}, higher in '{r['class']}'; one threshold classifies "
            f"held-out samples with balanced accuracy {r['cv_threshold_balanced_accuracy']:.2f})"
        )
    order = " < ".join(f"'{c}'" for c in r["separates"])
    return (
        f"'{r['feature']}' (separates all {len(r['separates'])} classes, from low to high {order}: every "
        f"pair of classes has AUROC {r['auroc']:.3f} or more, and one feature alone classifies held-out "
        f"samples with balanced accuracy {r['cv_balanced_accuracy_all_classes']:.2f} over all classes)"
    )


def leakage_findings(df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0) -> list[Finding]:
    """One label_leakage finding naming every near-copy of the label."""
    leaks = leak_candidates(df, roles, prepared=prepared, seed=seed)
    if not leaks:
        return []
    names = [r["feature"] for r in leaks]
    if roles.task == "regression":
        detail = ", ".join(f"'{r['feature']}' (Spearman rho {r['spearman_rho']:+.3f})" for r in leaks[:5])
    else:
        detail = ", ".join(_describe(r) for r in leaks[:5])
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
