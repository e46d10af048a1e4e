"""Membership inference: a measured leak risk (Tip 10).

An attacker holding a patient's record and the model asks "was this record used for
training?". Models fit their training rows better than unseen rows, so a low loss says
"member". We run that attack on the study's own samples: the training rows (members)
against the held-out tune rows (non-members, never seen in training), and report the
attack's AUC with a bootstrap interval. 0.5 means the attacker cannot tell; 1.0 means
every training sample is recognisable.

* **Loss threshold** (Yeom et al. 2018): the score is minus the sample's loss.
* **Shadow model** (Shokri et al. 2017), where the tune side is large enough: half of the
  tune rows train shadow copies of the model (same family and settings) with known
  members; an attack classifier learns from them what members look like (loss and
  confidence) and is then applied to the real model, on the other half of the tune rows
  against as many training rows.

Examples
--------
>>> import numpy as np
>>> r = attack_auc(np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0]), n_boot=0)
>>> r["auc"]
1.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..findings import Finding
from ..modeling._metrics import CI_LEVEL

__all__ = [
    "MIA_RISK_AUC",
    "MIN_SHADOW_ROWS",
    "per_sample_loss",
    "attack_auc",
    "loss_threshold_attack",
    "shadow_attack",
    "mia_finding",
]

#: An attack AUC at or above this (with the interval above 0.5) is reported as a risk.
MIA_RISK_AUC = 0.6
#: Tune rows needed for the shadow-model attack (half shadow, half evaluation).
MIN_SHADOW_ROWS = 40
EPS = 1e-7

Scorer = Callable[[np.ndarray], np.ndarray]  # rows -> probabilities (n, k) or predictions (n,)
Fitter = Callable[[np.ndarray], Scorer]  # training rows -> scorer of a model fitted on them


def per_sample_loss(task: str, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Cross-entropy of the true class (classification) or squared error (regression)."""
    if task == "regression":
        return (np.asarray(y, dtype=float) - np.asarray(score, dtype=float).ravel()) ** 2
    p = np.asarray(score, dtype=float)
    if p.ndim == 1:
        p = np.column_stack([1.0 - p, p])
    y = np.asarray(y, dtype=int)
    return -np.log(np.clip(p[np.arange(len(y)), y], EPS, 1.0))


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann–Whitney AUC: the chance a member scores above a non-member (ties count half)."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def _resampler(n: int, groups: np.ndarray | None) -> Callable[[np.random.Generator], np.ndarray]:
    """Draw rows with replacement, or whole groups (individuals) with all their rows."""
    if groups is None:
        return lambda rng: rng.integers(0, n, n)
    _, codes = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    rows = [np.flatnonzero(codes == g) for g in range(int(codes.max()) + 1)]
    return lambda rng: np.concatenate([rows[g] for g in rng.integers(0, len(rows), len(rows))])


def attack_auc(
    members: np.ndarray,
    nonmembers: np.ndarray,
    *,
    n_boot: int = 500,
    seed: int = 0,
    groups_members: np.ndarray | None = None,
    groups_nonmembers: np.ndarray | None = None,
) -> dict[str, Any]:
    """AUC of an attack score (higher = 'member'), with a bootstrap interval that resamples
    members and non-members separately (whole individuals when their groups are given)."""
    members, nonmembers = np.asarray(members, dtype=float), np.asarray(nonmembers, dtype=float)
    auc = _auc(members, nonmembers)
    lo = hi = float("nan")
    if n_boot > 0 and len(members) > 1 and len(nonmembers) > 1:
        rng = np.random.default_rng(seed)
        draw_m = _resampler(len(members), groups_members)
        draw_n = _resampler(len(nonmembers), groups_nonmembers)
        boots = [_auc(members[draw_m(rng)], nonmembers[draw_n(rng)]) for _ in range(int(n_boot))]
        a = (1.0 - CI_LEVEL) / 2.0
        lo, hi = (float(v) for v in np.quantile(boots, [a, 1.0 - a]))
    return {"auc": auc, "low": lo, "high": hi, "n_members": len(members), "n_nonmembers": len(nonmembers)}


def loss_threshold_attack(
    task: str,
    y: np.ndarray,
    score: Scorer,
    members: np.ndarray,
    nonmembers: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """The loss-threshold attack on a fitted model (``score(rows)``); ``groups`` (one per row
    of the table) makes the bootstrap draw whole individuals."""
    lm = per_sample_loss(task, y[members], score(members))
    ln = per_sample_loss(task, y[nonmembers], score(nonmembers))
    gm, gn = (None, None) if groups is None else (groups[members], groups[nonmembers])
    out = attack_auc(-lm, -ln, n_boot=n_boot, seed=seed, groups_members=gm, groups_nonmembers=gn)
    out.update(
        attack="loss_threshold", mean_loss_members=float(lm.mean()), mean_loss_nonmembers=float(ln.mean())
    )
    return out


def _features(task: str, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    loss = per_sample_loss(task, y, s)
    if task == "regression":
        return np.column_stack([-loss])
    p = np.asarray(s, dtype=float)
    p = np.column_stack([1.0 - p, p]) if p.ndim == 1 else p
    return np.column_stack([-loss, p.max(axis=1)])


def shadow_attack(
    task: str,
    y: np.ndarray,
    score: Scorer,
    fit: Fitter,
    members: np.ndarray,
    nonmembers: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> dict[str, Any] | None:
    """The shadow-model attack; None when the held-out rows are too few (< MIN_SHADOW_ROWS)."""
    if len(nonmembers) < MIN_SHADOW_ROWS or len(members) < MIN_SHADOW_ROWS // 2:
        return None
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    pool = rng.permutation(nonmembers)
    shadow, evaluate = pool[: len(pool) // 2], pool[len(pool) // 2 :]
    s_in, s_out = shadow[: len(shadow) // 2], shadow[len(shadow) // 2 :]
    shadow_score = fit(np.sort(s_in))
    X = np.vstack(
        [_features(task, y[s_in], shadow_score(s_in)), _features(task, y[s_out], shadow_score(s_out))]
    )
    lab = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    attack = LogisticRegression().fit(X, lab)
    m = np.sort(rng.choice(members, min(len(members), len(evaluate)), replace=False))
    pm = attack.predict_proba(_features(task, y[m], score(m)))[:, 1]
    pn = attack.predict_proba(_features(task, y[evaluate], score(evaluate)))[:, 1]
    gm, gn = (None, None) if groups is None else (groups[m], groups[evaluate])
    out = attack_auc(pm, pn, n_boot=n_boot, seed=seed, groups_members=gm, groups_nonmembers=gn)
    out.update(attack="shadow_model", n_shadow_in=len(s_in), n_shadow_out=len(s_out))
    return out


def mia_finding(model: str, label: str, result: dict[str, Any], *, sensitive: bool) -> Finding | None:
    """``membership_inference_risk`` when the stronger attack clearly beats chance."""
    attacks = [a for a in (result.get("loss_threshold"), result.get("shadow_model")) if a]
    if not attacks:
        return None
    worst = max(attacks, key=lambda a: a["auc"] if np.isfinite(a["auc"]) else -1)
    if not (worst["auc"] >= MIA_RISK_AUC and np.isfinite(worst["low"]) and worst["low"] > 0.5):
        return None
    kind = "loss-threshold" if worst["attack"] == "loss_threshold" else "shadow-model"
    return Finding(
        code="membership_inference_risk",
        severity="warning",
        tip=10,
        message=(
            f"A {kind} membership-inference attack tells the {label}'s training samples from held-out ones "
            f"with AUC {worst['auc']:.2f} (95% CI {worst['low']:.2f}–{worst['high']:.2f}; 0.5 = cannot tell). "
            "Someone holding a patient's record and this model could learn whether the patient was in the "
            "training data. "
            + (
                "Do not share the model; train it with differential privacy (Privacy page) or regularise it more."
                if sensitive
                else "If the data are sensitive, say so in the design questionnaire: the model's export is then locked."
            )
        ),
        evidence={"model": model, **{k: v for k, v in worst.items()}},
    )
