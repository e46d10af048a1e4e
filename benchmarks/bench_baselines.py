"""Benchmarks of the baselines harness (run by hand; prints numbers and ratios).

1. ``overhead``: the harness's tuning against plain scikit-learn ``cross_val_score`` doing
   the same work: the same families, the same hyper-parameter settings (those the
   harness's trials chose), the same folds, a fresh Pipeline per fold. Target: <= 1.2x.
2. ``wide``: the full baseline comparison (every family, 20 trials each, 20 shuffles,
   1,000 bootstrap resamples) on a 2,000 x 20,000 table. Target: <= 10 minutes.

    python benchmarks/bench_baselines.py overhead
    python benchmarks/bench_baselines.py wide [--rows 2000 --features 20000 --budget 20]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deeprules_core.modeling import run_baselines  # noqa: E402
from deeprules_core.modeling._models import make_pipeline  # noqa: E402
from deeprules_core.modeling._tuning import prepare_folds, tune_family  # noqa: E402
from deeprules_core.split import Split  # noqa: E402
from deeprules_core.study import Roles  # noqa: E402


def simulate(n: int, p: int, *, seed: int = 0, reps: int = 2) -> tuple[pd.DataFrame, Roles, Split]:
    """Expression-like table: ``reps`` rows per donor, 20 informative features."""
    rng = np.random.default_rng(seed)
    donors = np.arange(n) // reps
    X = rng.normal(size=(n, p)).astype(np.float64)
    lin = X[:, :20] @ rng.normal(size=20) / np.sqrt(20) * 2
    y = np.where(lin + rng.normal(size=n) > 0, "case", "control")
    df = pd.DataFrame(X, columns=[f"g{i}" for i in range(p)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df.insert(1, "donor", [f"d{d}" for d in donors])
    df["label"] = y
    n_d = donors.max() + 1
    side_of = np.array(["train"] * 3 + ["tune", "test"])[rng.permutation(n_d) % 5]
    fold_of = np.where(side_of == "train", rng.permutation(n_d) % 5, -1)
    split = Split(
        "group",
        seed,
        pd.DataFrame({"id": df["sample_id"], "split": side_of[donors], "fold": fold_of[donors]}),
    )
    return df, Roles(id="sample_id", label="label", group="donor"), split


def overhead(n: int = 600, p: int = 300, budget: int = 5) -> None:
    from sklearn.model_selection import PredefinedSplit, cross_val_score

    df, roles, split = simulate(n, p)
    X = df[roles.feature_columns(df)].to_numpy(float)
    y = (df["label"] == "control").astype(int).to_numpy()  # the harness's codes (case=0, control=1)
    folds = list(split.cv_folds())
    train = split.indices("train")
    # the same folds as a scikit-learn splitter over the training rows
    fold_ids = split.assignment["fold"].to_numpy()[train]
    pairs = list(PredefinedSplit(fold_ids).split())
    print(
        f"overhead: {n} rows x {p} features, {len(folds)} folds, {budget} trials a family (each side run twice)"
    )
    total_h = total_s = 0.0
    for family in ("logistic_regression", "random_forest", "gradient_boosting", "knn"):

        def harness(family: str = family) -> tuple[float, list]:
            t0 = time.perf_counter()
            fd = prepare_folds(X, folds, y=y, task="classification")
            res = tune_family(family, X, y, fd, task="classification", n_classes=2, positive=0, budget=budget)
            return time.perf_counter() - t0, res.trials

        def plain(trials: list, family: str = family) -> float:
            t0 = time.perf_counter()
            for trial in trials:
                pipe = make_pipeline(family, trial["params"], task="classification", n_features=p)
                # the folds the harness scored (a pruned trial stops after its first folds)
                done = pairs[: len(trial["fold_scores"]) or len(pairs)]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cross_val_score(pipe, X[train], 1 - y[train], cv=done, scoring="average_precision")
            return time.perf_counter() - t0

        # ABBA order, so that a change in the machine's load hits both sides alike
        h1, trials = harness()
        s1 = plain(trials)
        s2 = plain(trials)
        h2, _ = harness()
        t_h, t_s = h1 + h2, s1 + s2
        total_h, total_s = total_h + t_h, total_s + t_s
        print(f"  {family:20s} harness {t_h:7.2f} s   cross_val_score {t_s:7.2f} s   ratio {t_h / t_s:5.2f}x")
    print(
        f"  {'all':20s} harness {total_h:7.2f} s   cross_val_score {total_s:7.2f} s   ratio {total_h / total_s:5.2f}x"
    )


def wide(n: int, p: int, budget: int, n_shuffles: int, n_boot: int) -> None:
    df, roles, split = simulate(n, p)
    print(
        f"wide: {n} rows x {p} features, {budget} trials a family, {n_shuffles} shuffles, {n_boot} resamples"
    )
    last = [time.perf_counter()]
    t_start, c_start = time.perf_counter(), time.process_time()

    def progress(f: float, m: str) -> None:
        now = time.perf_counter()
        if now - last[0] > 30 or f >= 1.0:
            last[0] = now
            print(f"  [{now - t_start:7.1f} s] {f:5.1%} {m}", flush=True)

    r = run_baselines(
        df, roles, split, budget=budget, n_shuffles=n_shuffles, n_boot=n_boot, progress=progress
    )
    total = time.perf_counter() - t_start
    for name, m in r["models"].items():
        tune = m["metrics"]["tune"]["auroc"]
        print(
            f"  {name:20s} tuning {m['tuning_s']:7.1f} s  total {m['duration_s']:7.1f} s  tune AUROC {tune['value']:.3f}"
        )
    print(f"  selected {r['selected']}; findings {[f['code'] for f in r['findings']]}")
    ctrl = r["controls"].get("shuffled_label") or {}
    print(f"  shuffled-label control: p {ctrl.get('p_value')}, {ctrl.get('n_shuffles')} permutations")
    print(
        f"  TOTAL {total:.1f} s = {total / 60:.1f} min (target <= 10 min); process CPU {time.process_time() - c_start:.0f} s"
    )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["overhead", "wide"])
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--features", type=int, default=None)
    ap.add_argument("--budget", type=int, default=None)
    ap.add_argument("--shuffles", type=int, default=20)
    ap.add_argument("--boot", type=int, default=1000)
    a = ap.parse_args()
    if a.part == "overhead":
        overhead(a.rows or 600, a.features or 300, a.budget or 5)
    else:
        wide(a.rows or 2000, a.features or 20000, a.budget or 20, a.shuffles, a.boot)
