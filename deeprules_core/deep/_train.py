"""Reproducible training (Tips 3 and 7): seeds, deterministic algorithms, early stopping.

One loop trains every deep model: AdamW (weight decay), dropout in the network, a
learning-rate schedule, class weights for imbalanced classes, and early stopping on a
validation part of the *training side* (the first cross-validation fold of the split,
so one individual never sits on both sides). The tune side stays untouched until the
model is compared with the baselines, which are tuned on the training side as well:
the comparison is fair (Tip 2). Every epoch records train and validation loss and the
primary metric (AUPRC or R²): the learning curve.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import ModelError
from ..split import Split
from ._arch import DeepConfig, build_module
from ._data import TaskData

__all__ = [
    "EpochCallback",
    "TrainResult",
    "pick_device",
    "set_threads",
    "reproducible",
    "validation_rows",
    "train_module",
    "quick_metric",
    "VALIDATION_FRACTION",
]

#: Share of the training side held out for early stopping when the split has no CV folds.
VALIDATION_FRACTION = 0.2
#: Relative improvement of the validation loss that counts as progress for early stopping.
MIN_REL_IMPROVEMENT = 1e-4
MAX_THREADS = 4
#: Multiply-adds per training batch below which one CPU thread is fastest (see set_threads).
PARALLEL_WORK = 50_000_000
PREDICT_CHUNK = 4096

# cuBLAS needs this before its first use to run deterministically (PyTorch docs,
# "Reproducibility"); harmless on the CPU.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

EpochCallback = Callable[[int, Mapping[str, Any]], None]


def pick_device(device: str | None = None) -> torch.device:
    """CUDA when a GPU is present, the CPU otherwise (or what the caller asks for)."""
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(work: int | None = None) -> int:
    """Choose PyTorch's CPU threads for a network of a given size; return the count.

    ``work`` is the multiply-adds of one training batch (roughly batch size × parameters,
    × sequence length for a CNN). Small networks run fastest on one thread: splitting a
    tiny matrix product costs more than it saves, and on a busy machine threads that
    spin-wait slow every step down many times over (measured: 2.5 ms against 95 ms per
    step of a 5k-parameter MLP on a shared 2-core machine). Large ones use half the
    cores, at most 4, leaving the rest to the app and other jobs. The choice depends on
    the network and the machine only, never on the current load, so that the same seed
    gives the same numbers (the summation order of gradients depends on the thread
    count). ``DEEPRULES_TORCH_THREADS`` overrides it (recorded with the run).
    """
    cores = os.cpu_count() or 1
    forced = os.environ.get("DEEPRULES_TORCH_THREADS", "").strip()
    if forced.isdigit() and int(forced) > 0:
        n = int(forced)
    elif work is not None and work < PARALLEL_WORK:
        n = 1
    else:
        n = max(1, min(cores // 2, MAX_THREADS))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


@contextmanager
def reproducible(seed: int) -> Iterator[dict[str, Any]]:
    """Seed Python, NumPy and PyTorch and switch on deterministic algorithms (restored after).

    Yields the record that goes into the results: seed, deterministic flags, device.
    """
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    seed_everything(seed)
    try:
        yield {
            "seed": int(seed),
            "deterministic": True,
            "cudnn_deterministic": True,
            "cudnn_benchmark": False,
            "threads": torch.get_num_threads(),
        }
    finally:
        torch.use_deterministic_algorithms(prev, warn_only=prev_warn)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = prev_cudnn


def validation_rows(
    split: Split, labelled: np.ndarray, *, groups: np.ndarray | None, y: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(fit rows, validation rows) on the training side, as row positions.

    The split's first CV fold when it has folds (group-aware by construction);
    otherwise a seeded hold-out of whole groups, or a stratified one without groups.
    """
    train = np.intersect1d(split.indices("train"), np.flatnonzero(labelled))
    if split.n_folds >= 2:
        fit, val = next(split.cv_folds())
        fit, val = np.intersect1d(fit, train), np.intersect1d(val, train)
        if len(fit) and len(val):
            return fit, val
    rng = np.random.default_rng(seed)
    n_val = max(1, int(round(VALIDATION_FRACTION * len(train))))
    if groups is not None:
        g = groups[train]
        order = rng.permutation(np.unique(g))
        chosen: list[Any] = []
        count = 0
        for grp in order:
            if count >= n_val:
                break
            chosen.append(grp)
            count += int((g == grp).sum())
        is_val = np.isin(g, chosen)
    elif y is not None and y.dtype.kind in "iu":
        is_val = np.zeros(len(train), dtype=bool)
        for cls in np.unique(y[train]):
            members = np.flatnonzero(y[train] == cls)
            take = int(round(VALIDATION_FRACTION * len(members)))
            is_val[rng.permutation(members)[:take]] = True
    else:
        is_val = np.zeros(len(train), dtype=bool)
        is_val[rng.permutation(len(train))[:n_val]] = True
    return train[~is_val], train[is_val]


def quick_metric(task: str, y: np.ndarray, out: np.ndarray) -> float:
    """The primary metric for learning curves, fast: AUPRC (macro) or R² on raw outputs."""
    if len(y) == 0:
        return float("nan")
    if task == "regression":
        resid = float(np.sum((y - out.ravel()) ** 2))
        total = float(np.sum((y - y.mean()) ** 2))
        return 1.0 - resid / total if total > 0 else float("nan")
    k = out.shape[1]
    z = out - out.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    classes = [1] if k == 2 else range(k)
    aps = []
    for c in classes:
        pos = y == c
        n_pos = int(pos.sum())
        if n_pos == 0 or n_pos == len(y):
            continue
        hits = pos[np.argsort(-p[:, c], kind="mergesort")]
        tp = np.cumsum(hits)
        aps.append(float(np.sum((tp / np.arange(1, len(y) + 1))[hits]) / n_pos))
    return float(np.mean(aps)) if aps else float("nan")


@dataclass
class TrainResult:
    """What one training run did: the learning curve and where it stopped."""

    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    best_val_loss: float = float("inf")
    stopped_early: bool = False


def _targets(module: nn.Module, data: TaskData, task: str, device: torch.device) -> torch.Tensor:
    if task == "regression":
        mean, scale = torch.as_tensor(module.y_mean).cpu(), torch.as_tensor(module.y_scale).cpu()
        y = (torch.as_tensor(data.y, dtype=torch.float32) - mean) / scale
        return y.unsqueeze(1).to(device)
    return torch.as_tensor(data.y, dtype=torch.long, device=device)


def _inputs(data: TaskData, device: torch.device) -> torch.Tensor:
    dtype = torch.long if data.x.dtype.kind in "iu" else torch.float32
    return torch.as_tensor(data.x, dtype=dtype, device=device)


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """'Balanced' weights n / (k × n_c): every class counts as much in the loss (Tip 1)."""
    counts = np.bincount(y, minlength=n_classes).astype(float)
    present = counts > 0
    w = np.zeros(n_classes)
    w[present] = len(y) / (present.sum() * counts[present])
    return w


def train_module(
    module: nn.Module,
    fit: TaskData,
    val: TaskData,
    *,
    config: DeepConfig,
    task: str,
    n_classes: int,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
    keep_last: bool = False,
) -> TrainResult:
    """Train in place with early stopping on ``val``; leave the best epoch's weights in place
    (``keep_last``: train ``config.max_epochs`` epochs and keep the last weights, so the
    validation rows choose nothing: the permutation control's fixed schedule)."""
    if len(fit) < 2 or len(val) < 1:
        raise ModelError(
            f"Too few labelled samples to train a deep model ({len(fit)} to fit, {len(val)} to "
            "validate). Deep learning needs far more data (Tip 1): use the baselines."
        )
    module.to(device)
    x_fit, x_val = _inputs(fit, device), _inputs(val, device)
    y_fit, y_val = _targets(module, fit, task, device), _targets(module, val, task, device)
    y_fit_np, y_val_np = y_fit.cpu().numpy().squeeze(), y_val.cpu().numpy().squeeze()
    y_fit_np, y_val_np = np.atleast_1d(y_fit_np), np.atleast_1d(y_val_np)
    if task == "regression":
        loss_fn: nn.Module = nn.MSELoss()
    else:
        weight = torch.as_tensor(
            class_weights(np.asarray(fit.y), n_classes), dtype=torch.float32, device=device
        )
        loss_fn = nn.CrossEntropyLoss(weight=weight)
    opt = torch.optim.AdamW(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched: Any = None
    if config.schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, factor=0.5, patience=max(2, config.patience // 3)
        )
    elif config.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.max_epochs)
    gen = torch.Generator().manual_seed(int(seed))
    n, bs = len(fit), min(int(config.batch_size), len(fit))
    result = TrainResult()
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    for epoch in range(1, config.max_epochs + 1):
        module.train()
        perm = torch.randperm(n, generator=gen).to(device)
        total = torch.zeros((), device=device)
        outs, order = [], []
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            out = module(x_fit[idx])
            loss = loss_fn(out, y_fit[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
            outs.append(out.detach())
            order.append(idx)
        train_loss = float(total) / n
        train_out = torch.cat(outs).cpu().numpy()
        train_y = y_fit_np[torch.cat(order).cpu().numpy()]
        val_out_t = predict_raw(module, x_val)
        val_loss = float(loss_fn(val_out_t, y_val))
        val_out = val_out_t.cpu().numpy()
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "train_metric": quick_metric(task, train_y, train_out),
            "val_metric": quick_metric(task, y_val_np, val_out),
            "lr": float(opt.param_groups[0]["lr"]),
        }
        result.history.append(record)
        if not np.isfinite(val_loss):
            raise ModelError(
                "Training diverged (the loss became infinite or NaN). Lower the learning rate or "
                "check the features for extreme values."
            )
        best = result.best_val_loss
        if best == float("inf") or val_loss < best - MIN_REL_IMPROVEMENT * abs(best) - 1e-12:
            result.best_val_loss, result.best_epoch, stale = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            stale += 1
        if sched is not None:
            sched.step(val_loss) if config.schedule == "plateau" else sched.step()
        if on_epoch is not None:
            on_epoch(epoch, record)
        if stale >= config.patience and not keep_last:
            result.stopped_early = True
            break
    if best_state is not None and not keep_last:
        module.load_state_dict(best_state)
    module.eval()
    return result


def predict_raw(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Network outputs in evaluation mode (no dropout), in chunks."""
    module.eval()
    with torch.inference_mode():
        if len(x) <= PREDICT_CHUNK:
            return module(x)
        return torch.cat([module(x[i : i + PREDICT_CHUNK]) for i in range(0, len(x), PREDICT_CHUNK)])


def new_module(config: DeepConfig, *, n_in: int, n_out: int, fit: TaskData, task: str) -> nn.Module:
    """A freshly initialised network whose scaling is fitted on the training rows only."""
    module = build_module(config, n_in=n_in, n_out=n_out)
    module.fit_scaling(fit.x, fit.y if task == "regression" else None)  # type: ignore[operator]
    if hasattr(module, "fit_reduction"):
        module.fit_reduction(fit.x, fit.y, task=task)  # type: ignore[operator]
    return module
