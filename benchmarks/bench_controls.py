"""The permutation control's cost against scikit-learn's ``permutation_test_score`` on the
same pipeline, folds and number of permutations (run by hand:
``python benchmarks/bench_controls.py``). Target: at most 1.2x. Wall time and the process's
CPU time (all threads) are both printed: on a shared machine the CPU time is the fairer
ratio, as the load can change between the two timings.

Both cross-validate the study's pipeline (imputation, the label-associated filter, scaling,
the tuned model) on the training side's folds, on the real labels and on 20 permuted
labellings. Ours permutes by ``permute_labels`` (groups respected; here one row per
sample, so a plain permutation, as scikit-learn's without groups).
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deeprules_core.modeling._controls import shuffled_label_control  # noqa: E402
from deeprules_core.modeling._models import make_pipeline  # noqa: E402


def main(n: int = 300, p: int = 5000, n_perm: int = 20) -> None:
    from sklearn.metrics import average_precision_score, make_scorer
    from sklearn.model_selection import StratifiedKFold, permutation_test_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, p))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=n) > 0).astype(int)
    rows = np.arange(n)
    folds = [(rows[a], rows[b]) for a, b in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)]
    scorer = make_scorer(average_precision_score, response_method="predict_proba")
    for family, params in (
        ("logistic_regression", {"C": 0.1}),
        ("random_forest", {"n_estimators": 100, "max_features": "sqrt"}),
    ):
        t, c = time.perf_counter(), time.process_time()
        ours = shuffled_label_control(
            X, y, folds=folds, train_rows=rows, groups=None, family=family, params=params,
            task="classification", n_classes=2, positive=1, n_shuffles=n_perm, seed=0,
        )  # fmt: skip
        t_ours, c_ours = time.perf_counter() - t, time.process_time() - c
        pipe = make_pipeline(family, params, task="classification", n_features=p, seed=0)
        t, c = time.perf_counter(), time.process_time()
        with warnings.catch_warnings(), threadpool_limits(limits=1 if X.size <= 2_000_000 else None):
            warnings.simplefilter("ignore")
            real, null, pv = permutation_test_score(
                pipe, X, y, cv=folds, n_permutations=n_perm, scoring=scorer, random_state=0
            )
        t_sk, c_sk = time.perf_counter() - t, time.process_time() - c
        print(
            f"{family}: ours {t_ours:.1f} s (real {ours['real']:.3f}, p {ours['p_value']:.3f}, null mean "
            f"{np.mean(ours['null']):.3f}); sklearn permutation_test_score {t_sk:.1f} s (real {real:.3f}, "
            f"p {pv:.3f}, null mean {np.mean(null):.3f}): wall {t_ours / t_sk:.2f}x, CPU {c_ours:.1f} s vs "
            f"{c_sk:.1f} s = {c_ours / c_sk:.2f}x"
        )


if __name__ == "__main__":
    main()
