"""Differentially private training (Opacus) against non-private training of the same
network on the same data: time ratio, and the utility cost and leak at that budget.

Run by hand (not part of the tests)::

    python benchmarks/bench_privacy.py [--n 2000] [--epochs 10] [--repeats 3]

Both runs go through :func:`deeprules_core.privacy.train_private` (the plain run is
the same loop with ``private=False``: same network, rows, batch size, optimiser and
epochs), one thread each, interleaved; each timing is the minimum over the repeats
(the machine may be shared). Per-sample gradients, clipping and noise are what DP
costs; Poisson sampling makes the number of steps per epoch vary slightly. Printed
alongside: the tune-side AUROC of both and the loss-threshold membership-inference
AUC of both (training rows against held-out rows).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deeprules_core.deep._arch import DeepConfig, build_module  # noqa: E402
from deeprules_core.privacy import DPSettings, attack_auc, per_sample_loss, train_private  # noqa: E402


def _data(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2 * n, p)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] + 0.5 * x[:, 2] + rng.normal(scale=0.5, size=2 * n) > 0).astype(np.int64)
    return x, y


def _one(x: np.ndarray, y: np.ndarray, n: int, private: bool, settings: DPSettings, width: int) -> dict:
    torch.manual_seed(0)
    net = build_module(DeepConfig(kind="mlp", depth=2, width=width, dropout=0.0), n_in=x.shape[1], n_out=2)
    net.fit_scaling(x[:n])
    t0 = time.perf_counter()
    out = train_private(net, x[:n], y[:n], task="classification", n_classes=2, settings=settings,
                        lr=1e-3, weight_decay=0.0, batch_size=64, seed=0, private=private)  # fmt: skip
    seconds = time.perf_counter() - t0
    with torch.no_grad():
        p = torch.softmax(out.module(torch.as_tensor(x)), 1).numpy()
    from sklearn.metrics import roc_auc_score

    loss = per_sample_loss("classification", y, p)
    return {
        "seconds": seconds,
        "auroc_heldout": float(roc_auc_score(y[n:], p[n:, 1])),
        "mia_auc": attack_auc(-loss[:n], -loss[n:], n_boot=0)["auc"],
        "epsilon": out.record.get("epsilon"),
        "steps": out.record.get("steps"),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000, help="training rows (as many held out)")
    ap.add_argument("--p", type=int, default=50)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--epsilon", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(1)
    x, y = _data(a.n, a.p)
    settings = DPSettings(epsilon=a.epsilon, epochs=a.epochs)
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(a.repeats):
        for private in (False, True):
            runs[private].append(_one(x, y, a.n, private, settings, a.width))
    plain, priv = (min(runs[k], key=lambda r: r["seconds"]) for k in (False, True))
    print(f"MLP {a.p}->{a.width}->{a.width}->2, {a.n} training rows, {a.epochs} epochs, batch 64, 1 thread")
    print(
        f"non-private: {plain['seconds']:.2f} s  held-out AUROC {plain['auroc_heldout']:.3f}  MIA AUC {plain['mia_auc']:.3f}"
    )
    print(f"private (ε={priv['epsilon']:.2f}, δ=1/(10n), RDP): {priv['seconds']:.2f} s  held-out AUROC "
          f"{priv['auroc_heldout']:.3f}  MIA AUC {priv['mia_auc']:.3f}  ({priv['steps']} steps)")  # fmt: skip
    print(f"DP / non-private time ratio: {priv['seconds'] / plain['seconds']:.2f}x")


if __name__ == "__main__":
    main()
