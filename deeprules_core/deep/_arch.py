"""Architectures chosen by the data representation (Tip 5), kept small (Tip 3).

* :class:`MLPNet`: a multilayer perceptron for unordered measurements (expression,
  metabolites, clinical values). Its first step standardises each feature with the mean
  and spread of the training rows only (stored as buffers, so they travel with the
  weights) and puts a missing value at the training mean.
* :class:`CNNNet`: a 1D convolutional network over one-hot sequences. Convolutions
  scan for short motifs wherever they sit; a global max pool over the real (unpadded)
  positions asks "does the motif occur anywhere?", so sequences of any length work.

Examples
--------
>>> cfg = DeepConfig(kind="mlp", depth=1, width=8)
>>> net = build_module(cfg, n_in=4, n_out=2)
>>> count_parameters(net)
58
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..errors import ModelError
from ..study import Roles
from ._data import detect_alphabet

__all__ = [
    "DeepConfig",
    "MLPNet",
    "CNNNet",
    "build_module",
    "count_parameters",
    "ArchitectureChoice",
    "suggest_architecture",
    "PARAMS_PER_SAMPLE_WARNING",
]

#: Warn when a network has more than this many trainable parameters per training sample.
#: Classical statistics asks for ~10 samples per parameter; regularised deep networks
#: routinely work with more parameters than samples, so we warn only at two orders of
#: magnitude, where memorising the training rows becomes the easy way out (Tips 1, 5, 7).
PARAMS_PER_SAMPLE_WARNING = 100

KINDS = ("mlp", "cnn")
SCHEDULES = ("plateau", "cosine", "none")
#: Train-only reductions of a wide table inside the MLP (chosen in the search): keep the
#: ``n_reduce`` features most associated with the label, or project on ``n_reduce``
#: principal components; both are fitted on the rows the network is trained on.
REDUCTIONS = ("none", "filter", "pca")
#: A table is wide for the MLP when it has more features than this and than samples:
#: the search then chooses a reduction (the baselines' filter, or a PCA) for every trial.
DEEP_WIDE_MIN = 100
#: The first trial on a wide table keeps this many label-associated features, in a small,
#: fast-learning network (one layer of 32, learning rate 3e-3, batches of 16). Measured on
#: 85 x 10,000 with eight perfect markers: tune AUROC 1.0 in 30 epochs, where 100 features
#: or 10 principal components gave 0.57-0.86 (Adam moves the weights of the noise features
#: as fast as those of the markers; a small first set keeps them few).
FIRST_FILTER = 20


@dataclass(frozen=True)
class DeepConfig:
    """Hyper-parameters of one deep model (architecture and training).

    ``depth`` is the number of hidden layers (MLP) or convolution layers (CNN);
    ``width`` the hidden units per layer (MLP); ``n_filters`` and ``kernel_size`` the
    convolution filters and their span in letters (CNN).
    """

    kind: str = "mlp"
    depth: int = 2
    width: int = 64
    n_filters: int = 32
    kernel_size: int = 9
    dropout: float = 0.2
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 32
    max_epochs: int = 100
    patience: int = 10
    schedule: str = "plateau"
    reduce: str = "none"
    n_reduce: int = 0

    def __post_init__(self) -> None:
        if self.reduce not in REDUCTIONS:
            raise ModelError(f"The 'reduce' must be one of {REDUCTIONS}. Got {self.reduce!r} instead.")
        if self.reduce != "none" and int(self.n_reduce) < 1:
            raise ModelError(f"A '{self.reduce}' reduction needs n_reduce >= 1. Got {self.n_reduce!r}.")
        if self.kind not in KINDS:
            raise ModelError(f"The 'kind' of a deep model must be one of {KINDS}. Got {self.kind!r} instead.")
        if self.schedule not in SCHEDULES:
            raise ModelError(f"The 'schedule' must be one of {SCHEDULES}. Got {self.schedule!r} instead.")
        for name in ("depth", "width", "n_filters", "kernel_size", "batch_size", "max_epochs", "patience"):
            if int(getattr(self, name)) < 1:
                raise ModelError(
                    f"The '{name}' of a deep model must be an int >= 1. Got {getattr(self, name)!r}."
                )
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ModelError(f"The 'dropout' must be in [0, 1). Got {self.dropout!r} instead.")
        if float(self.lr) <= 0 or float(self.weight_decay) < 0:
            raise ModelError("The learning rate must be > 0 and the weight decay >= 0.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> DeepConfig:
        if isinstance(data, DeepConfig):
            return data
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ModelError(
                f"Unknown deep-model setting(s) {sorted(unknown)}; the settings are {sorted(known)}."
            )
        kw: dict[str, Any] = {}
        for k, v in data.items():
            default = getattr(cls, k)
            kw[k] = type(default)(v) if isinstance(default, (int, float)) else v
        return cls(**kw)

    def with_(self, **changes: Any) -> DeepConfig:
        return replace(self, **changes)


class MLPNet(nn.Module):
    """Standardise (training statistics) → [keep the label-associated features, or project
    on principal components, both learned on the training rows] → [Linear → ReLU →
    Dropout] × depth → Linear."""

    x_mean: torch.Tensor
    x_scale: torch.Tensor
    y_mean: torch.Tensor
    y_scale: torch.Tensor
    keep: torch.Tensor
    components: torch.Tensor
    pc_scale: torch.Tensor

    def __init__(
        self,
        n_in: int,
        n_out: int,
        *,
        depth: int,
        width: int,
        dropout: float,
        reduce: str = "none",
        n_reduce: int = 0,
    ) -> None:
        super().__init__()
        self.reduce = reduce
        self.register_buffer("x_mean", torch.zeros(n_in))
        self.register_buffer("x_scale", torch.ones(n_in))
        self.register_buffer("y_mean", torch.zeros(1))
        self.register_buffer("y_scale", torch.ones(1))
        last = n_in
        if reduce == "filter":
            last = min(int(n_reduce), n_in)
            self.register_buffer("keep", torch.arange(last))
        elif reduce == "pca":
            last = int(n_reduce)
            self.register_buffer("components", torch.zeros(n_in, last))
            self.register_buffer("pc_scale", torch.ones(last))
        layers: list[nn.Module] = []
        for _ in range(depth):
            layers += [nn.Linear(last, width), nn.ReLU(), nn.Dropout(dropout)]
            last = width
        layers.append(nn.Linear(last, n_out))
        self.body = nn.Sequential(*layers)

    def fit_scaling(self, x: np.ndarray, y: np.ndarray | None = None) -> None:
        """Learn the standardisation from the training rows only (Tip 7)."""
        with np.errstate(all="ignore"):
            mean = np.nanmean(x, axis=0) if x.size else np.zeros(x.shape[1])
            sd = np.nanstd(x, axis=0) if x.size else np.ones(x.shape[1])
        mean = np.nan_to_num(mean, nan=0.0)
        sd = np.where(np.isfinite(sd) & (sd > 1e-12), sd, 1.0)
        self.x_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.x_scale.copy_(torch.as_tensor(sd, dtype=torch.float32))
        if y is not None:
            _fit_target(self, y)

    def fit_reduction(self, x: np.ndarray, labels: np.ndarray | None, *, task: str) -> None:
        """Learn the reduction from the training rows (and their labels, for the filter):
        call after :meth:`fit_scaling`."""
        if self.reduce == "none":
            return
        z = np.nan_to_num((np.asarray(x, dtype=np.float64) - self.x_mean.numpy()) / self.x_scale.numpy())
        if self.reduce == "filter":
            score = _association(z, labels, task=task)
            k = int(self.keep.numel())
            keep = np.sort(np.argsort(-score, kind="stable")[:k])
            self.keep.copy_(torch.as_tensor(keep, dtype=torch.long))
            return
        k = int(self.pc_scale.numel())
        z = z - z.mean(axis=0)
        _, sv, vt = np.linalg.svd(z, full_matrices=False)
        comp = np.zeros((z.shape[1], k))
        scale = np.ones(k)
        m = min(k, vt.shape[0])
        comp[:, :m] = vt[:m].T
        sd = sv[:m] / np.sqrt(max(len(z) - 1, 1))
        scale[:m] = np.where(sd > 1e-8, sd, 1.0)
        self.components.copy_(torch.as_tensor(comp, dtype=torch.float32))
        self.pc_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.x_mean) / self.x_scale
        z = torch.nan_to_num(z, nan=0.0)  # a missing value sits at the training mean
        if self.reduce == "filter":
            z = z[:, self.keep]
        elif self.reduce == "pca":
            z = (z @ self.components) / self.pc_scale
        return self.body(z)


def _association(z: np.ndarray, labels: np.ndarray | None, *, task: str) -> np.ndarray:
    """Per feature: the ANOVA F across classes, or |Pearson r| with a number (0 when undefined)."""
    import warnings

    if labels is None:
        raise ModelError("The feature filter of a wide table needs the labels of the rows it is fitted on.")
    y = np.asarray(labels)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # constant features: F and r are undefined
        if task == "classification":
            from sklearn.feature_selection import f_classif

            score = f_classif(z, y)[0]
        else:
            from sklearn.feature_selection import r_regression

            score = np.abs(r_regression(z, y.astype(float)))
    return np.nan_to_num(np.asarray(score, dtype=float), nan=0.0, posinf=np.finfo(float).max)


class CNNNet(nn.Module):
    """One-hot tokens → [Conv1d → ReLU] × depth → masked global max pool → Dropout → Linear."""

    def __init__(
        self, n_channels: int, n_out: int, *, depth: int, n_filters: int, kernel_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.n_channels = n_channels
        self.register_buffer("y_mean", torch.zeros(1))
        self.register_buffer("y_scale", torch.ones(1))
        k = int(kernel_size) | 1  # odd, so that 'same' padding is symmetric
        convs: list[nn.Module] = []
        last = n_channels
        for _ in range(depth):
            convs.append(nn.Conv1d(last, n_filters, k, padding=k // 2))
            last = n_filters
        self.convs = nn.ModuleList(convs)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(last, n_out)

    def fit_scaling(self, x: np.ndarray, y: np.ndarray | None = None) -> None:
        if y is not None:
            _fit_target(self, y)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mask = tokens > 0  # 0 = padding
        onehot = nn.functional.one_hot(tokens, self.n_channels + 2)[..., 2:]  # pad/unknown -> zeros
        return self.forward_onehot(onehot.float(), mask)

    def forward_onehot(self, onehot: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The network from its one-hot input (batch, length, channels) and the mask of real
        positions: what integrated gradients differentiate (``deeprules_core.interpret``)."""
        keep = mask.unsqueeze(1)
        h = onehot.transpose(1, 2)
        for conv in self.convs:
            # padding stays exactly zero between layers, so padding never changes the output
            h = torch.relu(conv(h)) * keep
        h = h.masked_fill(~keep, float("-inf")).amax(dim=-1)
        h = torch.where(torch.isfinite(h), h, torch.zeros_like(h))  # an empty sequence
        return self.head(self.dropout(h))


def _fit_target(module: nn.Module, y: np.ndarray) -> None:
    """Regression targets are standardised on the training rows; predictions undo it."""
    y = np.asarray(y, dtype=np.float64)
    mean, sd = float(np.nanmean(y)), float(np.nanstd(y))
    module.y_mean.fill_(mean)  # type: ignore[operator]
    module.y_scale.fill_(sd if sd > 1e-12 else 1.0)  # type: ignore[operator]


def is_wide(n_features: int, n_samples: int) -> bool:
    """More features than :data:`DEEP_WIDE_MIN` and than samples: reduce inside the MLP."""
    return n_features > max(DEEP_WIDE_MIN, n_samples)


def build_module(config: DeepConfig, *, n_in: int, n_out: int) -> nn.Module:
    """The network for a configuration; ``n_in`` = features (MLP) or alphabet size (CNN)."""
    if config.kind == "mlp":
        return MLPNet(
            n_in,
            n_out,
            depth=config.depth,
            width=config.width,
            dropout=config.dropout,
            reduce=config.reduce,
            n_reduce=config.n_reduce,
        )
    return CNNNet(
        n_in,
        n_out,
        depth=config.depth,
        n_filters=config.n_filters,
        kernel_size=config.kernel_size,
        dropout=config.dropout,
    )


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters (weights and biases)."""
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


@dataclass(frozen=True)
class ArchitectureChoice:
    """The suggested architecture, why, and how its size compares with the data."""

    kind: str
    reason: str
    n_params: int
    n_samples: int
    warning: str | None = None
    config: DeepConfig | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("kind", "reason", "n_params", "n_samples", "warning")}
        out["config"] = self.config.to_dict() if self.config else None
        return out


def default_config(kind: str) -> DeepConfig:
    """A small, sensible starting point (Tip 3: start small); the search starts here."""
    if kind == "cnn":
        return DeepConfig(kind="cnn", depth=1, n_filters=32, kernel_size=9, dropout=0.2, lr=3e-3)
    return DeepConfig(kind="mlp", depth=2, width=64, dropout=0.2, lr=1e-3)


def n_outputs(df: pd.DataFrame, roles: Roles) -> int:
    if roles.task == "regression" or not roles.label:
        return 1
    return max(int(df[roles.label].nunique(dropna=True)), 2)


def suggest_architecture(df: pd.DataFrame, roles: Roles, *, kind: str = "auto") -> ArchitectureChoice:
    """Choose MLP or 1D CNN from the data representation and size it against the data.

    Parameters
    ----------
    df
        The table.
    roles
        Column roles; a ``sequence`` role means one-hot sequences and a 1D CNN.
    kind
        ``"auto"`` (choose), or force ``"mlp"`` / ``"cnn"``.

    Returns
    -------
    ArchitectureChoice
        ``kind``, a one-sentence ``reason``, the parameter count of the starting
        configuration, the labelled samples, and a ``warning`` when parameters
        vastly outnumber samples.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> df = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 5)), columns=list("abcde"))
    >>> df["y"] = [0, 1] * 100
    >>> suggest_architecture(df, Roles(label="y")).kind
    'mlp'
    """
    if kind not in ("auto", *KINDS):
        raise ModelError(f"The 'kind' must be 'auto', 'mlp' or 'cnn'. Got {kind!r} instead.")
    has_seq = bool(roles.sequence and roles.sequence in df.columns)
    chosen = kind if kind != "auto" else ("cnn" if has_seq else "mlp")
    n_samples = int(df[roles.label].notna().sum()) if roles.label and roles.label in df.columns else len(df)
    config = default_config(chosen)
    if chosen == "cnn":
        if not has_seq:
            raise ModelError(
                "A 1D CNN needs a sequence column. Give a column the role 'sequence' on the Data "
                "page, or choose the MLP for numeric measurements."
            )
        alphabet = detect_alphabet(df[roles.sequence])
        n_in = alphabet.n_channels
        reason = (
            f"The samples are {alphabet.name.upper() if alphabet.name != 'protein' else 'protein'} "
            "sequences, so a 1D convolutional network reads them one-hot encoded and scans for short "
            "motifs wherever they occur."
        )
    else:
        n_in = len(roles.feature_columns(df))
        reason = (
            f"The {n_in} features are unordered measurements (no sequence or image), so a small "
            "multilayer perceptron that combines all of them is the natural deep model."
        )
        if n_in == 0:
            raise ModelError(
                "There is no numeric feature column for an MLP. Mark the measurement columns as "
                "features on the Data page."
            )
        wide = is_wide(n_in, n_samples)
        if wide:
            config = config.with_(
                reduce="filter",
                n_reduce=min(FIRST_FILTER, n_in),
                depth=1,
                width=32,
                dropout=0.1,
                lr=3e-3,
                batch_size=16,
            )
            reason += (
                f" The table is wide ({n_in:,} features for {n_samples:,} samples), so, as for the "
                "baselines, each network first keeps the features most associated with the label (or a "
                "PCA), chosen in the search and fitted on its training rows only."
            )
    n_params = count_parameters(build_module(config, n_in=n_in, n_out=n_outputs(df, roles)))
    warning = None
    if n_params > PARAMS_PER_SAMPLE_WARNING * max(n_samples, 1):
        warning = (
            f"The starting network has {n_params:,} parameters for {n_samples:,} labelled samples "
            f"(over {PARAMS_PER_SAMPLE_WARNING} per sample): it can memorise the training data. "
            "Rely on the tune-set metrics and the shuffled-label control, prefer the smaller "
            "configurations, and ask whether a baseline model is enough (Tip 1)."
        )
    return ArchitectureChoice(chosen, reason, n_params, n_samples, warning, config)
