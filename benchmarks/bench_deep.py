"""Our training loop against a bare PyTorch loop: same model, data, epochs, threads.

Target: ours <= 1.15x the bare loop. Run by hand (not part of the tests)::

    python benchmarks/bench_deep.py [--epochs 20] [--repeats 3]

The bare loop does what any honest loop must do per epoch: shuffle, train on
mini-batches with AdamW, and compute the validation loss (early stopping needs it).
Ours adds class weights, the learning-rate schedule, per-epoch train/validation
metrics, best-state copies and the early-stopping bookkeeping; early stopping is set
so that both run the same number of epochs. A second ratio against a train-only loop
(no validation pass) is printed for transparency. Each timing is the minimum over
interleaved repeats (the machine may be shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deeprules_core.deep._arch import DeepConfig, count_parameters  # noqa: E402
from deeprules_core.deep._data import TaskData  # noqa: E402
from deeprules_core.deep._train import new_module, reproducible, set_threads, train_module  # noqa: E402


def _data(kind: str, n: int, seed: int = 0) -> tuple[TaskData, TaskData, int]:
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        x = rng.normal(size=(n, 50)).astype(np.float32)
        y = (x[:, 0] * x[:, 1] + 0.3 * x[:, 2] > 0).astype(np.int64)
        n_in = 50
    else:
        x = rng.integers(2, 6, size=(n, 200)).astype(np.int64)  # DNA tokens, length 200
        y = (x[:, 50] == x[:, 51]).astype(np.int64)
        n_in = 4
    cut = int(0.8 * n)
    mk = lambda a, b: TaskData(x[a:b], y[a:b], np.arange(a, b).astype(str), None, y[a:b])  # noqa: E731
    return mk(0, cut), mk(cut, n), n_in


def ours(config: DeepConfig, fit: TaskData, val: TaskData, n_in: int) -> float:
    with reproducible(0):
        module = new_module(config, n_in=n_in, n_out=2, fit=fit, task="classification")
        t0 = time.perf_counter()
        result = train_module(
            module,
            fit,
            val,
            config=config,
            task="classification",
            n_classes=2,
            seed=0,
            device=torch.device("cpu"),
        )
        elapsed = time.perf_counter() - t0
    assert len(result.history) == config.max_epochs
    return elapsed


def bare(config: DeepConfig, fit: TaskData, val: TaskData, n_in: int, *, validate: bool = True) -> float:
    with reproducible(0):
        module = new_module(config, n_in=n_in, n_out=2, fit=fit, task="classification")
        dtype = torch.long if fit.x.dtype.kind in "iu" else torch.float32
        x, y = torch.as_tensor(fit.x, dtype=dtype), torch.as_tensor(fit.y)
        xv, yv = torch.as_tensor(val.x, dtype=dtype), torch.as_tensor(val.y)
        opt = torch.optim.AdamW(module.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(0)
        t0 = time.perf_counter()
        for _ in range(config.max_epochs):
            module.train()
            perm = torch.randperm(len(x), generator=gen)
            for i in range(0, len(x), config.batch_size):
                idx = perm[i : i + config.batch_size]
                loss = loss_fn(module(x[idx]), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if validate:
                module.eval()
                with torch.inference_mode():
                    float(loss_fn(module(xv), yv))
        return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cases = {
        "mlp": (DeepConfig(kind="mlp", depth=2, width=128, batch_size=64), 5000),
        "cnn": (DeepConfig(kind="cnn", depth=1, n_filters=32, kernel_size=9, batch_size=64), 2000),
    }
    for kind, (config, n) in cases.items():
        config = config.with_(max_epochs=args.epochs, patience=args.epochs + 1, dropout=0.0)
        fit, val, n_in = _data(kind, n)
        length = fit.x.shape[1] if kind == "cnn" else 1
        probe = new_module(config, n_in=n_in, n_out=2, fit=fit, task="classification")
        threads = set_threads(config.batch_size * count_parameters(probe) * length)
        times: dict[str, list[float]] = {"ours": [], "bare": [], "bare_train_only": []}
        for _ in range(args.repeats):  # interleaved, so that load changes hit all three alike
            times["bare"].append(bare(config, fit, val, n_in))
            times["ours"].append(ours(config, fit, val, n_in))
            times["bare_train_only"].append(bare(config, fit, val, n_in, validate=False))
        best = {k: min(v) for k, v in times.items()}
        print(
            f"{kind}: {len(fit)} train / {len(val)} validation rows, {args.epochs} epochs, "
            f"{count_parameters(probe):,} parameters, {threads} thread(s), torch {torch.__version__}"
        )
        print(
            f"  ours {best['ours']:.3f}s  bare {best['bare']:.3f}s  bare train-only "
            f"{best['bare_train_only']:.3f}s  (min of {args.repeats})"
        )
        print(
            f"  ratio ours/bare = {best['ours'] / best['bare']:.3f}  (target <= 1.15)   "
            f"ours/bare-train-only = {best['ours'] / best['bare_train_only']:.3f}"
        )


if __name__ == "__main__":
    main()
