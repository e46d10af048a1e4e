"""A confounded study for the tests that claim the workflow carries an error forward:
four processing batches, two of which hold a single class (plate P1 only controls,
plate P2 only cases), a batch shift on half of the features and a modest real signal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from deeprules_core.study import Roles

ROLES = Roles(id="sample_id", label="label", batch=("plate",))


def confounded_table(n: int = 80, p: int = 30, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = n // 4
    plate = np.repeat(["P1", "P2", "P3", "P4"], per)
    label = np.concatenate(
        [
            np.full(per, "control"),
            np.full(per, "case"),
            np.resize(["case", "control"], per),
            np.resize(["control", "case"], per),
        ]
    )
    X = rng.normal(size=(n, p))
    X[:, :4] += 0.8 * (label == "case")[:, None]
    shift = rng.normal(scale=1.5, size=(4, p // 2))
    X[:, p // 2 :] += shift[pd.factorize(plate)[0]]
    df = pd.DataFrame(X.round(4), columns=[f"gene_{i:03d}" for i in range(p)])
    df.insert(0, "sample_id", [f"S{i:03d}" for i in range(n)])
    df.insert(1, "plate", plate)
    df.insert(2, "label", label)
    return df
