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

Leak or marker. A feature that separates the classes is not by itself a leak: eight
Y-chromosome genes separate the sexes perfectly, and they are biology measured before
anything happened. What makes a column a *leak* is that it stands alone: it predicts the
label far better (by :data:`LEAK_GAP` in AUROC) than the best model on every other
feature (a cross-validated logistic regression on the rest, with the other separating
columns counted at their own AUROC). Such a column (a follow-up score recorded after the
diagnosis, a code derived from it) is a leak from AUROC :data:`CANDIDATE_AUROC` up, not
only at 0.99; a column named or shaped like metadata (a score, status, code or date
among measurements) needs a smaller gap (:data:`METADATA_GAP`). Separating columns that
do not stand alone (several of them, or others also strongly predictive) are *markers*:
``label_markers``, a warning that the task is easy and one measurement may answer it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..findings import Finding
from ..study import Roles
from ._common import Prepared, as_levels

__all__ = ["leak_candidates", "leakage_findings", "separating_features"]

#: AUROC at or above this (or at or below 1 - it) is "almost determines the label".
LEAK_AUROC = 0.99
#: |Spearman rho| at or above this for a continuous label.
LEAK_RHO = 0.98
#: Balanced accuracy a cross-validated single-threshold rule must reach on held-out samples.
LEAK_CV_BALANCED_ACCURACY = 0.95
#: Family-wise error rate of the Bonferroni-corrected test over every feature (and class).
LEAK_ALPHA = 0.01
#: A feature that stands this far above the best model on every other feature is a leak
#: from CANDIDATE_AUROC up (a planted follow-up score at AUROC 0.990 against a best real
#: feature at 0.66 is one).
CANDIDATE_AUROC = 0.95
LEAK_GAP = 0.15
#: ... or this far for a (near-)perfect column (AUROC >= LEAK_AUROC): a copy of the label
#: among features that reach 0.88 together is still a copy.
PERFECT_LEAK_GAP = 0.10
#: ... or this far, when the column looks like metadata among measurements.
METADATA_GAP = 0.05
#: Cross-validated balanced accuracy a candidate's single threshold must reach.
CANDIDATE_CV_BALANCED_ACCURACY = 0.85
#: Screen: share of the other class beyond the class median. AUROC >= 0.95 implies more
#: than 80% (half the smaller class tying with or losing to 20% of the other costs at
#: least 0.5 x 0.2 x 0.5 = 0.05 of AUROC).
_SCREEN = 0.80
#: Column names that say "recorded about the outcome", not "measured on the sample".
_METADATA_NAME = re.compile(
    r"(follow|outcome|diagnos|status|score|stage|grade|date|time|surviv|death|dead|relapse|"
    r"recur|response|label|class|code|result|visit|treat)",
    re.IGNORECASE,
)
#: The rest-model: a filter to this many features (fitted in every fold), then L2 logistic.
_REST_FEATURES = 200
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
        if max(auc, 1 - auc) < CANDIDATE_AUROC:
            continue
        higher = auc >= 0.5
        p_bonf = float(min(1.0, res.pvalue * n_tests))
        cv = _stump_cv(x[ok], pos[ok].astype(int), seed)
        if p_bonf < LEAK_ALPHA and cv >= CANDIDATE_CV_BALANCED_ACCURACY:
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
            if worst_auc < CANDIDATE_AUROC:
                break
        if worst_auc < CANDIDATE_AUROC:
            continue
        p_bonf = float(min(1.0, worst_p * len(prep.features)))
        yk = np.searchsorted(kept, codes[ok])
        cv = _interval_cv(x[ok], yk, len(kept), seed)
        if p_bonf < LEAK_ALPHA and cv >= CANDIDATE_CV_BALANCED_ACCURACY:
            order = sorted(kept, key=lambda k: float(np.median(per_class[k])))
            out.append({"feature": name, "auroc": worst_auc, "separates": [str(classes[k]) for k in order],
                        "order": "low to high", "p_bonferroni": p_bonf,
                        "cv_balanced_accuracy_all_classes": cv, "cv_threshold_balanced_accuracy": cv,
                        "n": int(ok.sum()),
                        "median_by_class": {str(classes[k]): float(np.median(per_class[k])) for k in order}})  # fmt: skip
    return out


def _rest_auroc(X: np.ndarray, codes: np.ndarray, exclude: np.ndarray, seed: int) -> float:
    """How well every *other* feature predicts the label: the held-out AUROC (worst pair of
    classes for three or more) of an L2 logistic regression on all features but ``exclude``
    (the :data:`_REST_FEATURES` most label-associated ones, chosen inside every fold)."""
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline

    from ._common import one_thread

    keep = np.setdiff1d(np.arange(X.shape[1]), exclude)
    sizes = np.bincount(codes)
    n_splits = int(min(5, sizes[sizes > 0].min()))
    if len(keep) == 0 or n_splits < 2:
        return 0.5
    Xr = X[:, keep]
    k = min(_REST_FEATURES, Xr.shape[1])
    proba = np.zeros((len(codes), len(sizes)))
    cv = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
    import warnings

    with one_thread(), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # constant columns in a fold: F undefined, harmless
        for tr, va in cv.split(Xr, codes):
            model = make_pipeline(SelectKBest(f_classif, k=k), LogisticRegression(C=1.0, max_iter=500))
            model.fit(Xr[tr], codes[tr])
            proba[np.ix_(va, model.classes_)] = model.predict_proba(Xr[va])
    from sklearn.metrics import roc_auc_score

    worst = 1.0
    present = np.flatnonzero(sizes >= 2)
    for i, a in enumerate(present):
        for b in present[i + 1 :]:
            m = (codes == a) | (codes == b)
            score = proba[m, b] / np.maximum(proba[m, a] + proba[m, b], 1e-12)
            auc = float(roc_auc_score(codes[m] == b, score))
            worst = min(worst, max(auc, 1 - auc))
    return worst


def metadata_like(df: pd.DataFrame, name: str, features: list[str]) -> bool:
    """A column that looks recorded *about* the outcome rather than measured on the sample:
    its name says so (score, status, follow-up, code, date ...), or it is a whole-number
    column with few values among mostly continuous measurements."""
    if _METADATA_NAME.search(str(name)):
        return True
    x = pd.to_numeric(df[name], errors="coerce").dropna()
    if x.empty or not np.all(x == np.round(x)) or x.nunique() > 20:
        return False
    sample = features[:: max(1, len(features) // 200)][:200]
    cont = 0
    for c in sample:
        v = pd.to_numeric(df[c], errors="coerce").dropna()
        cont += bool(len(v) and not np.all(v == np.round(v)))
    return cont > 0.5 * len(sample)


def _leak_or_marker(
    df: pd.DataFrame, prep: Prepared, X: np.ndarray, codes: np.ndarray, found: list[dict[str, Any]], seed: int
) -> list[dict[str, Any]]:
    """Mark every separating feature ``kind = "leak"`` or ``"marker"`` (see the module notes)."""
    if not found:
        return found
    index = {f: j for j, f in enumerate(prep.features)}
    cand = np.array([index[r["feature"]] for r in found])
    rest = _rest_auroc(X, codes, cand, seed)
    for r in found:
        others = [o["auroc"] for o in found if o is not r]
        beside = max([rest, *others])
        meta = metadata_like(df, r["feature"], prep.features)
        gap = r["auroc"] - beside
        need = METADATA_GAP if meta else (PERFECT_LEAK_GAP if r["auroc"] >= LEAK_AUROC else LEAK_GAP)
        leak = gap >= need
        r.update(
            kind="leak" if leak else "marker",
            best_other_auroc=float(beside),
            rest_model_auroc=float(rest),
            gap=float(gap),
            metadata_like=bool(meta),
        )
    # a marker is worth a warning only when it (almost) determines the label
    return [r for r in found if r["kind"] == "leak" or r["auroc"] >= LEAK_AUROC]


def _classification(df: pd.DataFrame, roles: Roles, prep: Prepared, seed: int) -> list[dict[str, Any]]:
    from ..checks._units import without_missing_tokens  # the checks' list of missing-value tokens

    y = without_missing_tokens(as_levels(df[roles.label]))  # type: ignore[index]  # '.' is no label
    rows = y.notna().to_numpy()
    codes, classes = pd.factorize(y[rows], sort=True)
    if len(classes) < 2:
        return []
    X = prep.X if rows.all() else prep.X[rows]
    find = _binary if len(classes) == 2 else _multiclass
    out = _leak_or_marker(df, prep, X, codes, find(df, prep, X, rows, codes, classes, seed), seed)
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
                            "n": int(ok.sum()), "kind": "leak"})  # fmt: skip
    return sorted(out, key=lambda r: -abs(r["spearman_rho"]))


def separating_features(
    df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0
) -> list[dict[str, Any]]:
    """Every feature that (almost) determines the label, strongest first, with its numbers
    and its ``kind``: ``"leak"`` (it stands alone) or ``"marker"`` (see the module notes)."""
    if not roles.label or not prepared.features:
        return []
    if roles.task == "regression":
        return _regression(df, roles, prepared)
    return _classification(df, roles, prepared, seed)


def leak_candidates(
    df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0
) -> list[dict[str, Any]]:
    """The label leaks among :func:`separating_features`."""
    return [r for r in separating_features(df, roles, prepared=prepared, seed=seed) if r["kind"] == "leak"]


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


def _leak_finding(leaks: list[dict[str, Any]], roles: Roles) -> Finding:
    names = [r["feature"] for r in leaks]
    if roles.task == "regression":
        detail = ", ".join(f"'{r['feature']}' (Spearman rho {r['spearman_rho']:+.3f})" for r in leaks[:5])
        why = "A single measurement that follows the label this closely"
    else:
        detail = ", ".join(_describe(r) for r in leaks[:5])
        rest = max(r.get("best_other_auroc", 0.0) for r in leaks)
        why = (
            "Each stands alone: every other feature together reaches only AUROC "
            f"{rest:.2f}. A single column that predicts the label far better than everything else"
        )
    more = f" and {len(leaks) - 5} more" if len(leaks) > 5 else ""
    msg = (
        f"{len(leaks)} feature(s) almost determine the label '{roles.label}' on their own: {detail}{more}. "
        f"{why} is usually a copy of the label, a measurement taken after the outcome, or a code derived "
        "from the diagnosis (a leak), not biology; a model would score near-perfectly and learn nothing "
        "useful. What to do: find out how and when each of these was measured; remove it from the "
        "features unless it is truly available before the outcome (and then say so)."
    )
    ev = {"features": leaks[:_MAX_REPORTED], "n_leak_features": len(leaks)}
    return Finding("label_leakage", "error", 7, msg, columns=tuple(names[:_MAX_REPORTED]), evidence=ev)


def _marker_finding(markers: list[dict[str, Any]], roles: Roles, n_features: int) -> Finding:
    names = [r["feature"] for r in markers]
    detail = ", ".join(f"'{r['feature']}' (AUROC {r['auroc']:.3f})" for r in markers[:5])
    more = f" and {len(markers) - 5} more" if len(markers) > 5 else ""
    beside = min(r["best_other_auroc"] for r in markers)
    msg = (
        f"{len(markers)} of {n_features:,} features separate the classes of '{roles.label}' (almost) "
        f"perfectly on their own: {detail}{more}. They are markers, not a leak: none stands alone (the "
        f"other separating features and the rest of the table reach AUROC {beside:.2f} or more), as "
        "genes of one pathway or chromosome do (Y-chromosome genes and sex). A leak is a single column "
        "that predicts the label far better than everything else, a copy of the outcome; markers are "
        "biology measured on the sample. The task is easy: one measurement may answer the question "
        "(Tip 1), so compare any model with the best single feature before reaching for deep learning."
    )
    ev = {"features": markers[:_MAX_REPORTED], "n_marker_features": len(markers)}
    return Finding("label_markers", "warning", 1, msg, columns=tuple(names[:_MAX_REPORTED]), evidence=ev)


def leakage_findings(df: pd.DataFrame, roles: Roles, *, prepared: Prepared, seed: int = 0) -> list[Finding]:
    """``label_leakage`` (error) naming every leak, ``label_markers`` (warning) naming markers."""
    found = separating_features(df, roles, prepared=prepared, seed=seed)
    leaks = [r for r in found if r["kind"] == "leak"]
    markers = [r for r in found if r["kind"] == "marker"]
    out = [_leak_finding(leaks, roles)] if leaks else []
    if markers:
        out.append(_marker_finding(markers, roles, len(prepared.features)))
    return out
