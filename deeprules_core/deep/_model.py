"""The fitted deep model: a network plus everything needed to use it on new rows.

:class:`DeepModel` holds the PyTorch module (``.module``), its hyper-parameters
(``.config``) and the data specification (``.spec``: task, classes, feature columns or
sequence column and alphabet). ``predict_proba`` / ``predict`` take a DataFrame with
the same columns as the training table. :func:`fit_deep` trains one on the training
side of a split.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..errors import ModelError
from ..split import Split
from ..study import Roles
from ._arch import DeepConfig, count_parameters, n_outputs
from ._data import Alphabet, TaskData, detect_alphabet, label_classes, prepare
from ._train import (
    EpochCallback,
    TrainResult,
    new_module,
    pick_device,
    predict_raw,
    reproducible,
    set_threads,
    train_module,
    validation_rows,
)

__all__ = ["DeepModel", "fit_deep", "make_spec", "train_on_rows"]


class DeepModel:
    """A trained network with its configuration and data specification.

    Attributes
    ----------
    module : torch.nn.Module
        The network (in evaluation mode).
    config : DeepConfig
        Hyper-parameters.
    spec : dict
        ``task``, ``classes``, ``representation`` (tabular / sequence), ``features`` or
        ``sequence`` and ``alphabet``, ``n_in``, ``n_out``.
    history_ : list of dict
        The learning curve of the training run (empty after loading).
    """

    def __init__(
        self,
        module: nn.Module,
        config: DeepConfig,
        spec: Mapping[str, Any],
        *,
        history: list[dict[str, Any]] | None = None,
        training: Mapping[str, Any] | None = None,
    ) -> None:
        self.module = module
        self.config = config
        self.spec = dict(spec)
        self.history_ = list(history or [])
        self.training_ = dict(training or {})

    @property
    def task(self) -> str:
        return str(self.spec["task"])

    @property
    def classes(self) -> list[Any] | None:
        return self.spec.get("classes")

    @property
    def device(self) -> torch.device:
        return next(self.module.parameters()).device

    def inputs(self, df: pd.DataFrame) -> TaskData:
        roles = Roles(sequence=self.spec.get("sequence"), features=tuple(self.spec.get("features") or ()))
        alphabet = Alphabet(**self.spec["alphabet"]) if self.spec.get("alphabet") else None
        return prepare(
            df,
            roles,
            representation=self.spec["representation"],
            features=self.spec.get("features"),
            alphabet=alphabet,
            need_label=False,
        )

    def _raw(self, data: TaskData) -> np.ndarray:
        dtype = torch.long if data.x.dtype.kind in "iu" else torch.float32
        x = torch.as_tensor(data.x, dtype=dtype, device=self.device)
        return predict_raw(self.module, x).float().cpu().numpy()

    def scores(self, data: TaskData) -> np.ndarray:
        """Class probabilities (n, k) or predictions (n,) for prepared inputs."""
        out = self._raw(data)
        if self.task == "regression":
            m = self.module
            return out[:, 0] * float(m.y_scale) + float(m.y_mean)  # type: ignore[arg-type]
        z = out - out.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, one column per class in ``spec['classes']`` order."""
        if self.task != "classification":
            raise ModelError(
                "predict_proba is for classification; this model predicts a number (use predict)."
            )
        return self.scores(self.inputs(X))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted class labels (classification) or values (regression)."""
        s = self.scores(self.inputs(X))
        if self.task == "regression":
            return s
        return np.asarray(self.classes, dtype=object)[s.argmax(axis=1)]


def make_spec(df: pd.DataFrame, roles: Roles, config: DeepConfig) -> dict[str, Any]:
    """The data specification a configuration implies for this table."""
    spec: dict[str, Any] = {"task": roles.task, "label": roles.label, "n_out": n_outputs(df, roles)}
    if roles.task == "classification":
        spec["classes"] = label_classes(df[roles.label])
        spec["n_out"] = max(len(spec["classes"]), 2)
    if config.kind == "cnn":
        if not roles.sequence or roles.sequence not in df.columns:
            raise ModelError(
                "A 1D CNN needs a sequence column. Give a column the role 'sequence' on the Data "
                "page, or choose the MLP for numeric measurements."
            )
        alphabet = detect_alphabet(df[roles.sequence])
        spec.update(
            representation="sequence",
            sequence=roles.sequence,
            alphabet={"name": alphabet.name, "letters": alphabet.letters},
            n_in=alphabet.n_channels,
        )
    else:
        features = roles.feature_columns(df)
        spec.update(representation="tabular", features=list(features), n_in=len(features))
    return spec


def train_on_rows(
    data: TaskData,
    fit_rows: np.ndarray,
    val_rows: np.ndarray,
    *,
    spec: Mapping[str, Any],
    config: DeepConfig,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
    keep_last: bool = False,
) -> tuple[DeepModel, TrainResult]:
    """Train one network (seeded, deterministic) on prepared data (``keep_last``: see
    :func:`deeprules_core.deep._train.train_module`)."""
    fit, val = data.subset(fit_rows), data.subset(val_rows)
    with reproducible(seed) as record:
        module = new_module(
            config, n_in=int(spec["n_in"]), n_out=int(spec["n_out"]), fit=fit, task=spec["task"]
        )
        length = int(data.x.shape[1]) if spec["representation"] == "sequence" else 1
        record["threads"] = set_threads(config.batch_size * count_parameters(module) * length)
        result = train_module(
            module,
            fit,
            val,
            config=config,
            task=spec["task"],
            n_classes=int(spec["n_out"]),
            seed=seed,
            device=device,
            on_epoch=on_epoch,
            keep_last=keep_last,
        )
    record.update(
        device=str(device),
        best_epoch=result.best_epoch,
        stopped_early=result.stopped_early,
        n_fit=len(fit_rows),
        n_val=len(val_rows),
    )
    model = DeepModel(module, config, spec, history=result.history, training=record)
    return model, result


def labelled_rows(data: TaskData, task: str) -> np.ndarray:
    if data.y is None:
        raise ModelError("The study has no label column: set one on the Data page.")
    return data.y >= 0 if task == "classification" else np.isfinite(data.y)


def fit_deep(
    df: pd.DataFrame,
    roles: Roles,
    split: Split,
    *,
    config: DeepConfig | Mapping[str, Any],
    seed: int = 0,
    device: str | None = None,
    on_epoch: EpochCallback | None = None,
) -> DeepModel:
    """Train one deep model with a given configuration on the training side of a split.

    Early stopping watches a validation part of the training side (the split's first CV
    fold, or a seeded group-aware hold-out); the tune and test sides are never seen.

    Parameters
    ----------
    df, roles, split
        The table, its column roles and the study's split.
    config
        A :class:`DeepConfig` or its dict (e.g. ``results["models"]["mlp"]["params"]``).
    seed
        Seeds Python, NumPy and PyTorch; deterministic algorithms are on while training.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from deeprules_core.split import Split
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    >>> df["y"] = (df["a"] > 0).astype(int)
    >>> sides = ["train"] * 40 + ["tune"] * 10 + ["test"] * 10
    >>> split = Split("random", 0, pd.DataFrame({"id": range(60), "split": sides, "fold": -1}))
    >>> m = fit_deep(df, Roles(label="y"), split, config={"kind": "mlp", "max_epochs": 5})
    >>> m.predict_proba(df.head(2)).shape
    (2, 2)
    """
    cfg = DeepConfig.from_dict(config)
    spec = make_spec(df, roles, cfg)
    data = prepare(
        df,
        roles,
        representation=spec["representation"],
        features=spec.get("features"),
        alphabet=Alphabet(**spec["alphabet"]) if spec.get("alphabet") else None,
        classes=spec.get("classes"),
    )
    fit_rows, val_rows = validation_rows(
        split, labelled_rows(data, roles.task), groups=data.groups, y=data.y, seed=seed
    )
    model, _ = train_on_rows(
        data,
        fit_rows,
        val_rows,
        spec=spec,
        config=cfg,
        seed=seed,
        device=pick_device(device),
        on_epoch=on_epoch,
    )
    return model
