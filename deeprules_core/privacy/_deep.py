"""The deep model trained privately and its non-private twin, on one study's split.

The network is the study's own (the configuration the deep search chose, or the
suggested one), rebuilt from the deep package's parts; both versions see the same
training rows, epochs, batch size and optimiser, so the difference in tune-side metrics
is the cost of privacy at that budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..study import Roles
from ._dp import DPSettings, train_private

__all__ = ["DeepParts", "deep_parts", "private_deep", "PrivateDeep"]


@dataclass
class DeepParts:
    """The prepared inputs of a deep model for one table and split."""

    t: Any  # modeling TaskArrays: labels, classes, rows of each side
    spec: dict[str, Any]
    config: Any  # DeepConfig
    data: Any  # deep TaskData

    def targets(self, module: Any, rows: np.ndarray) -> np.ndarray:
        """Training targets: class indices, or standardised values (as the deep trainer)."""
        y = self.data.y[rows]
        if self.spec["task"] == "regression":
            return ((y - float(module.y_mean)) / float(module.y_scale)).astype(np.float32)
        return y.astype(np.int64)

    def new_module(self, rows: np.ndarray) -> Any:
        from ..deep._train import new_module

        return new_module(
            self.config,
            n_in=int(self.spec["n_in"]),
            n_out=int(self.spec["n_out"]),
            fit=self.data.subset(rows),
            task=self.spec["task"],
        )

    def model(self, module: Any, training: Mapping[str, Any] | None = None) -> Any:
        from ..deep._model import DeepModel

        return DeepModel(module, self.config, self.spec, training=dict(training or {}))


def deep_parts(
    df: pd.DataFrame, roles: Roles, split: Any, *, config: Mapping[str, Any] | Any | None
) -> DeepParts:
    """Spec, prepared data and label bookkeeping, as the deep runner builds them."""
    from ..deep._arch import DeepConfig, suggest_architecture
    from ..deep._runner import network_inputs

    cfg = DeepConfig.from_dict(config) if config else suggest_architecture(df, roles).config
    if cfg is None:
        raise ModelError("No deep architecture fits these data (no numeric features and no sequence column).")
    t, spec, data = network_inputs(df, roles, split, cfg)
    return DeepParts(t=t, spec=spec, config=cfg, data=data)


@dataclass
class PrivateDeep:
    """Both trainings and the entry that records them."""

    entry: dict[str, Any]
    private: Any  # DeepModel
    plain: Any  # DeepModel
    parts: DeepParts
    members: np.ndarray


def _train(
    parts: DeepParts, rows: np.ndarray, settings: DPSettings, seed: int, private: bool
) -> tuple[Any, dict[str, Any]]:
    from ..deep._train import reproducible

    cfg = parts.config
    with reproducible(seed):
        module = parts.new_module(rows)
        out = train_private(
            module,
            parts.data.x[rows],
            parts.targets(module, rows),
            task=parts.spec["task"],
            n_classes=int(parts.spec["n_out"]),
            settings=settings,
            lr=float(cfg.lr),
            weight_decay=float(cfg.weight_decay),
            batch_size=int(cfg.batch_size),
            seed=seed,
            private=private,
        )
    return out.module, out.record


def private_deep(
    df: pd.DataFrame,
    roles: Roles,
    split: Any,
    *,
    config: Mapping[str, Any] | None,
    settings: DPSettings,
    seed: int = 0,
    n_boot: int = 200,
    progress: Callable[[float, str], None] | None = None,
) -> PrivateDeep:
    """Train the network with DP and without; score both on the tune side."""
    parts = deep_parts(df, roles, split, config=config)
    t = parts.t
    rows = t.rows["train"]
    if len(rows) < 10:
        raise ModelError(
            f"Private training needs at least 10 labelled training rows; the split has {len(rows)}."
        )
    say = progress or (lambda _f, _m: None)
    say(0.0, "training the private network (Opacus)")
    priv_module, record = _train(parts, rows, settings, seed, private=True)
    say(0.5, "training its non-private twin")
    plain_module, plain_record = _train(parts, rows, settings, seed, private=False)
    private, plain = parts.model(priv_module, record), parts.model(plain_module, plain_record)
    tune = t.rows["tune"]
    data_tune = parts.data.subset(tune)
    panels = {
        "private": t.panel(tune, private.scores(data_tune), n_boot=n_boot, seed=seed),
        "plain": t.panel(tune, plain.scores(data_tune), n_boot=n_boot, seed=seed),
    }
    primary = "auprc" if roles.task == "classification" else "r2"
    cost = {
        "metric": primary,
        "private": panels["private"][primary]["value"],
        "plain": panels["plain"][primary]["value"],
        "difference": panels["private"][primary]["value"] - panels["plain"][primary]["value"],
    }
    family = parts.config.kind
    entry = {
        "family": family,
        "kind": "deep",
        "name": f"{family}_dp",
        "params": {**parts.config.to_dict(), "max_epochs": int(settings.epochs)},
        "seed": int(seed),
        "dp": record,
        "settings": settings.to_dict(),
        "metrics": {"tune": panels["private"]},
        "plain_metrics": {"tune": panels["plain"]},
        "cost": cost,
    }
    say(1.0, "private training done")
    return PrivateDeep(entry=entry, private=private, plain=plain, parts=parts, members=rows)
