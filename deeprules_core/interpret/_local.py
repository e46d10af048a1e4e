"""One sample: why this prediction? The top contributions for a chosen sample (Tip 8).

Two methods:

* ``"occlusion"`` (any model): each feature in turn is replaced by a reference value
  (the median of the training rows) and the change of the model's output is that
  feature's contribution: ``output(sample) - output(sample with feature := median)``.
  The occluded copies (of one or many samples) are stacked and predicted in a few calls.
* ``"ig"`` (deep models): integrated gradients from the training mean (see
  :mod:`._gradients`).

The output is the positive-class probability for two classes, the probability of the
predicted class for more, and the prediction for regression (occlusion); the log-odds
of the same class (integrated gradients).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from sklearn.linear_model import LinearRegression
>>> X = pd.DataFrame({"a": [0.0, 1, 2, 3], "b": [1.0, 1, 1, 2]})
>>> m = LinearRegression().fit(X, 2 * X["a"])
>>> explain_sample(m, X, 3, top=1)["feature"].tolist()
['a']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError
from ._permutation import CELL_BUDGET, model_classes, model_outputs, stacked_frame

__all__ = ["explain_sample", "occlusion_contributions", "is_deep"]


def is_deep(model: Any) -> bool:
    """True for a deep model (a torch module behind ``.module`` and a data ``.spec``)."""
    return hasattr(model, "module") and hasattr(model, "spec")


def _output(model: Any, X: pd.DataFrame, classes: list[Any] | None, cls: np.ndarray | None) -> np.ndarray:
    if classes is None:
        return model_outputs(model, X, proba=False)
    p = model_outputs(model, X, proba=True)
    return p[np.arange(len(p)), cls] if cls is not None else p[:, -1]


def occlusion_contributions(
    model: Any,
    X: pd.DataFrame,
    rows: Sequence[int] | np.ndarray,
    *,
    reference: pd.Series | None = None,
    features: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Occlusion contributions for several rows at once.

    Parameters
    ----------
    model
        A fitted model (``predict`` / ``predict_proba``).
    X
        The table the rows come from, with every column the model needs.
    rows
        Row positions to explain.
    reference
        The value each occluded feature takes (default: the median of ``X``); pass the
        training rows' medians.
    features
        Features to occlude (default: every column of ``X``).

    Returns
    -------
    (contributions (rows, features), outputs (rows,), feature names)
    """
    feats = [str(f) for f in (features if features is not None else X.columns)]
    ref = reference if reference is not None else X[feats].median(numeric_only=True)
    missing = [f for f in feats if f not in ref.index]
    if missing:
        raise ModelError(f"No reference value for the features {missing[:5]}.")
    rows = np.asarray(rows, dtype=int)
    classes = model_classes(model)
    sub = X.iloc[rows]
    if classes is not None and len(classes) > 2:
        cls = model_outputs(model, sub, proba=True).argmax(axis=1)
    else:
        cls = None
    base = _output(model, sub, classes, cls)
    columns = list(X.columns)
    pos = [columns.index(f) for f in feats]
    values = X.to_numpy()
    ref_values = ref[feats].to_numpy()
    p = len(feats)
    jobs_r = np.repeat(np.arange(len(rows)), p)  # every (row, feature) pair, row-major
    jobs_f = np.tile(np.arange(p), len(rows))
    per_call = max(1, CELL_BUDGET // max(1, len(columns)))
    flat = np.zeros(len(jobs_r))
    for start in range(0, len(jobs_r), per_call):
        r_idx, f_idx = jobs_r[start : start + per_call], jobs_f[start : start + per_call]
        block = values[rows[r_idx]].copy()
        block[np.arange(len(r_idx)), np.asarray(pos)[f_idx]] = ref_values[f_idx]
        frame = stacked_frame(X, block)
        out = _output(model, frame, classes, None if cls is None else cls[r_idx])
        flat[start : start + len(r_idx)] = base[r_idx] - out
    contrib = flat.reshape(len(rows), p)
    return contrib, base, feats


def explain_sample(
    model: Any,
    X: pd.DataFrame,
    row: int,
    *,
    method: str | None = None,
    top: int = 10,
    reference: pd.Series | None = None,
    features: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The top contributions to one sample's prediction.

    Parameters
    ----------
    model
        A fitted scikit-learn model or a :class:`~deeprules_core.deep.DeepModel`.
    X
        Rows with every column the model needs.
    row
        Position of the sample in ``X``.
    method
        ``"occlusion"`` or ``"ig"`` (default: ``"ig"`` for deep models, else occlusion).
    top
        How many contributions to return (largest absolute first).
    reference
        Occlusion: the value each feature is replaced by (the training medians).
    features
        Occlusion: the features to occlude (default: all columns).

    Returns
    -------
    pandas.DataFrame
        ``feature, value, contribution`` (for sequence models ``feature`` is the position
        and ``value`` the letter). ``attrs`` has ``method`` and ``prediction``.
    """
    if not 0 <= int(row) < len(X):
        raise ModelError(f"The sample position {row} is outside the table (0..{len(X) - 1}).")
    method = method or ("ig" if is_deep(model) else "occlusion")
    if method == "ig":
        if not is_deep(model):
            raise ModelError("Integrated gradients need a deep (PyTorch) model; use method='occlusion'.")
        from ._gradients import deep_attributions

        res = deep_attributions(model, X.iloc[[int(row)]])
        if res.representation == "sequence":
            seq = res.sequences[0]
            contrib = res.per_position[0][: len(seq)]
            values: list[Any] = list(seq)
            names = [f"pos {i + 1}" for i in range(len(seq))]
        else:
            contrib = res.attributions[0]
            names = res.names
            values = X.iloc[int(row)][names].tolist()
        prediction: Any = None
        extra = {"relative_delta": res.relative_delta, "target": res.target[0] if res.target else None}
    elif method == "occlusion":
        c, base, names = occlusion_contributions(model, X, [int(row)], reference=reference, features=features)
        contrib = c[0]
        values = X.iloc[int(row)][names].tolist()
        prediction = float(base[0])
        extra = {}
    else:
        raise ModelError(f"The 'method' must be 'occlusion' or 'ig'. Got {method!r} instead.")
    df = pd.DataFrame({"feature": names, "value": values, "contribution": np.asarray(contrib, dtype=float)})
    order = np.argsort(-np.abs(df["contribution"].to_numpy()), kind="stable")[: int(top)]
    out = df.iloc[order].reset_index(drop=True)
    out.attrs.update(method=method, prediction=prediction, **extra)
    return out
