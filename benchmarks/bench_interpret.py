"""Interpretation cost on a wide expression-like table (run by hand: python benchmarks/bench_interpret.py).

Prints seconds for: permutation importance (pre-screen to 200 features, 10 shuffles) of a
logistic regression and a random forest on 300 tune rows x 5,000 features; occlusion
contributions of 200 samples on 30 features; integrated gradients of an MLP on 300 rows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from deeprules_core.interpret import (  # noqa: E402
    integrated_gradients,
    occlusion_contributions,
    permutation_importance_grouped,
)


def main(n: int = 600, p: int = 5000) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"g{i}" for i in range(p)])
    y = (X["g0"] - X["g1"] + 0.5 * rng.normal(size=n) > 0).astype(int)
    tr, tu = slice(0, n // 2), slice(n // 2, n)
    for name, est in (
        ("logistic_regression", LogisticRegression(C=0.1, max_iter=300)),
        ("random_forest", RandomForestClassifier(n_estimators=200, n_jobs=2, random_state=0)),
    ):
        model = est.fit(X.iloc[tr], y.iloc[tr])
        t = time.perf_counter()
        imp = permutation_importance_grouped(model, X.iloc[tu], y.iloc[tu], n_repeats=10)
        dt = time.perf_counter() - t
        print(
            f"{name}: permutation {n // 2} x {p} (200 permuted, 10 shuffles): {dt:.1f} s; top {imp.feature[:2].tolist()}"
        )
        t = time.perf_counter()
        occlusion_contributions(model, X.iloc[tu], np.arange(200), features=imp.feature[:30].tolist())
        print(f"{name}: occlusion 200 samples x 30 features: {time.perf_counter() - t:.1f} s")
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(p, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).eval()
    x = torch.as_tensor(X.iloc[tu].to_numpy(), dtype=torch.float32)
    t = time.perf_counter()
    res = integrated_gradients(lambda v: net(v)[:, 0], x, n_steps=50)
    print(f"mlp: integrated gradients {len(x)} x {p}: {time.perf_counter() - t:.1f} s ({res.n_steps} steps)")


if __name__ == "__main__" and "--step" not in sys.argv:
    main()


def step(n: int = 600, p: int = 5000) -> None:
    """The Interpret step as ``run`` calls it (``interpret_study``: permutation importance
    through the study's pipelines, with the column-wise fast path and the total-cost cap,
    integrated gradients and permutation importance for the MLP, one-sample views, the
    guard) on 300 tune rows x 5,000 features. Setup (the models' search) is not timed."""
    from deeprules_core.deep import run_deep
    from deeprules_core.deep.jobs import merge_deep
    from deeprules_core.interpret.jobs import interpret_study
    from deeprules_core.modeling import run_baselines
    from deeprules_core.split import Split
    from deeprules_core.study import Roles

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"g{i}" for i in range(p)])
    df["y"] = np.where(df["g0"] - df["g1"] + 0.5 * rng.normal(size=n) > 0, "a", "b")
    sides = ["train"] * (n // 2) + ["tune"] * (n // 2)
    folds = [i % 3 if s == "train" else -1 for i, s in enumerate(sides)]
    split = Split(
        "random", 0, pd.DataFrame({"id": [str(i) for i in range(n)], "split": sides, "fold": folds})
    )
    roles = Roles(label="y")
    results = run_baselines(
        df, roles, split, models=("logistic_regression", "random_forest"), budget=1, n_shuffles=0, n_boot=0
    )
    entry = run_deep(df, roles, split, kind="mlp", budget=1, n_seeds=1, max_epochs=10, n_shuffles=0, n_boot=0)
    results = merge_deep(results, entry, roles=roles, split=split, budget=1, n_boot=0)
    for models in (["logistic_regression"], ["random_forest"], ["mlp"]):
        t = time.perf_counter()
        out = interpret_study(df, roles, split, results, models=models)
        e = out["models"][models[0]]
        cap = (e.get("global") or {}).get("cost_cap") or {}
        print(
            f"interpret step, {models[0]}: {time.perf_counter() - t:.1f} s "
            f"(permuted {cap.get('features')} features x {cap.get('repeats')} repeats, capped {cap.get('capped')}; "
            f"top {[r['feature'] for r in e['global']['rows'][:2]]})"
        )


if __name__ == "__main__" and "--step" in sys.argv:
    step()
