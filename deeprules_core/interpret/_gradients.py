"""Integrated gradients for deep models (Tip 8), with Captum's convergence check.

Integrated gradients (Sundararajan et al. 2017) attribute the difference between the
model's output at a sample and at a *baseline* input to the input features, by
integrating the gradient along the straight path from the baseline to the sample. The
attributions add up to that difference ("completeness"); Captum reports how far they
miss it as the *convergence delta*, and we increase the number of integration steps
until the relative delta is below :data:`DELTA_TOLERANCE` (or :data:`MAX_STEPS` is
reached, with a warning).

What is attributed:

* classification: the **log-odds of the target class** (for two classes, the positive
  class, the last one; for more, by default the class each sample is predicted to be):
  a positive attribution pushes towards that class;
* regression: the prediction, in the label's units.

Baselines: the **training mean** for tabular inputs (an MLPNet stores it; a missing value
is set to it, which is how the network treats missing values anyway) and **all-zeros
one-hot** for sequences (no letter at any position): with that baseline only the letter
present at a position can receive attribution, so a per-position map is the attribution
of the letter that is there.

Examples
--------
>>> import torch
>>> net = torch.nn.Linear(3, 1)
>>> with torch.no_grad():
...     _ = net.weight.copy_(torch.tensor([[1.0, -2.0, 0.0]])); _ = net.bias.zero_()
>>> res = integrated_gradients(lambda x: net(x)[:, 0], torch.ones(2, 3))
>>> res.attributions.round(3).tolist()
[[1.0, -2.0, 0.0], [1.0, -2.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError

__all__ = [
    "DELTA_TOLERANCE",
    "MAX_STEPS",
    "IGResult",
    "DeepAttribution",
    "integrated_gradients",
    "deep_attributions",
    "aggregate_attributions",
    "sequence_map",
    "logo_figure",
]

ProgressCallback = Callable[[float, str], None]

#: Largest acceptable |sum of attributions - (F(x) - F(baseline))|, relative to the total
#: |F(x) - F(baseline)| over the samples. Captum's advice is to add steps when the delta is
#: large; 5% keeps the ranking of features stable while costing few steps on smooth models.
DELTA_TOLERANCE = 0.05
#: Integration steps are doubled from ``n_steps`` up to this many.
MAX_STEPS = 400
_BATCH = 64


@dataclass(frozen=True)
class IGResult:
    """Attributions (same shape as the inputs), per-sample convergence deltas, and checks."""

    attributions: np.ndarray
    delta: np.ndarray
    output_diff: np.ndarray
    relative_delta: float
    n_steps: int
    warning: str | None = None


@dataclass(frozen=True)
class DeepAttribution:
    """Integrated gradients of a deep model on some rows.

    ``attributions`` is (n, features) for tabular models and (n, length, letters) for
    sequence models; ``per_position`` (n, length) sums the letters of each position.
    """

    representation: str
    attributions: np.ndarray
    names: list[str]
    delta: np.ndarray
    relative_delta: float
    n_steps: int
    target: list[Any] | None
    warning: str | None
    sequences: list[str] = field(default_factory=list)
    letters: str = ""

    @property
    def per_position(self) -> np.ndarray:
        if self.representation != "sequence":
            raise ModelError("Per-position maps exist only for sequence models.")
        return self.attributions.sum(axis=2)


def _to_tensor(x: Any, *, dtype: Any = None) -> Any:
    import torch

    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    return t.to(dtype or torch.float32)


def integrated_gradients(
    forward: Callable[..., Any],
    inputs: Any,
    *,
    baselines: Any = None,
    additional_forward_args: tuple[Any, ...] | None = None,
    n_steps: int = 50,
    max_steps: int = MAX_STEPS,
    batch_size: int = _BATCH,
    progress: ProgressCallback | None = None,
) -> IGResult:
    """Integrated gradients of a scalar-per-sample ``forward`` with an adaptive step count.

    Parameters
    ----------
    forward
        ``forward(inputs, *additional_forward_args) -> tensor (n,)``.
    inputs
        Float array or tensor (n, ...).
    baselines
        Same shape as one sample or as ``inputs`` (default: zeros).
    additional_forward_args
        Extra tensors with a first dimension of n (e.g. a mask, per-sample targets).
    n_steps, max_steps
        Start with ``n_steps``; double while the relative convergence delta exceeds
        :data:`DELTA_TOLERANCE`, up to ``max_steps``.

    Returns
    -------
    IGResult
    """
    import torch
    from captum.attr import IntegratedGradients

    x = _to_tensor(inputs)
    if x.ndim < 2 or len(x) == 0:
        raise ModelError("Integrated gradients need a batch of at least one sample.")
    base = torch.zeros_like(x) if baselines is None else _to_tensor(baselines).to(x.device)
    if base.shape != x.shape:
        base = base.expand_as(x).clone()
    extra = tuple(additional_forward_args or ())
    ig = IntegratedGradients(forward)
    steps = int(n_steps)
    while True:
        attrs, deltas = [], []
        for start in range(0, len(x), batch_size):
            sl = slice(start, start + batch_size)
            a, d = ig.attribute(
                x[sl],
                baselines=base[sl],
                additional_forward_args=tuple(e[sl] for e in extra) or None,
                n_steps=steps,
                return_convergence_delta=True,
            )
            attrs.append(a.detach())
            deltas.append(d.detach())
            if progress is not None:
                progress(min(start + batch_size, len(x)) / len(x), f"integrated gradients ({steps} steps)")
        attr = torch.cat(attrs)
        delta = torch.cat(deltas)
        with torch.no_grad():
            diff = forward(x, *extra) - forward(base, *extra)
        total = float(diff.abs().sum())
        relative = float(delta.abs().sum()) / max(total, 1e-8)
        if relative <= DELTA_TOLERANCE or steps * 2 > max_steps:
            break
        steps *= 2
    warning = None
    if relative > DELTA_TOLERANCE:
        warning = (
            f"The attributions miss the model's output change by {relative:.0%} even with {steps} "
            "integration steps (Captum's convergence delta): treat the exact values with caution; "
            "the ranking of the strongest features is usually still sound."
        )
    return IGResult(
        attributions=attr.cpu().numpy(),
        delta=delta.cpu().numpy(),
        output_diff=diff.detach().cpu().numpy(),
        relative_delta=relative,
        n_steps=steps,
        warning=warning,
    )


def _target_output(out: Any, target: Any, scale: float, shift: float) -> Any:
    """Log-odds of the target class (classification) or the prediction (regression)."""
    import torch

    if out.shape[1] == 1:
        return out[:, 0] * scale + shift
    chosen = out.gather(1, target[:, None])[:, 0]
    others = out.masked_fill(torch.nn.functional.one_hot(target, out.shape[1]).bool(), float("-inf"))
    return chosen - torch.logsumexp(others, dim=1)


def _onehot_body(module: Any) -> Callable[[Any, Any], Any]:
    """The network from one-hot input, ``module.forward_onehot(onehot, mask)``;
    :func:`deep_attributions` checks that it reproduces the network's own output."""
    if not hasattr(module, "forward_onehot"):
        raise ModelError(
            "This sequence network does not expose its one-hot input (forward_onehot), so integrated "
            "gradients cannot be computed for it."
        )
    return module.forward_onehot


def deep_attributions(
    model: Any,
    X: pd.DataFrame,
    *,
    target: Any = None,
    baseline: Any = None,
    n_steps: int = 50,
    progress: ProgressCallback | None = None,
) -> DeepAttribution:
    """Integrated gradients of a :class:`~deeprules_core.deep.DeepModel` on the rows of ``X``.

    ``target`` is a class label (default: the positive class for two classes, the
    predicted class for more). ``baseline`` overrides the training mean (tabular).
    """
    import torch

    module = model.module
    module.eval()
    spec = model.spec
    data = model.inputs(X)
    device = next(module.parameters()).device
    classes = spec.get("classes")
    scale = float(getattr(module, "y_scale", torch.ones(1))) if spec["task"] == "regression" else 1.0
    shift = float(getattr(module, "y_mean", torch.zeros(1))) if spec["task"] == "regression" else 0.0
    n = len(data)
    if classes:
        if target is not None:
            if target not in classes:
                raise ModelError(f"The class {target!r} is not one of the model's classes {classes}.")
            tgt = np.full(n, classes.index(target))
        elif len(classes) == 2:
            tgt = np.full(n, 1)
        else:
            tgt = model.scores(data).argmax(axis=1)
    else:
        tgt = np.zeros(n, dtype=int)
    t_tensor = torch.as_tensor(tgt, dtype=torch.long, device=device)

    if spec["representation"] == "sequence":
        tokens = torch.as_tensor(data.x, dtype=torch.long, device=device)
        letters = spec["alphabet"]["letters"]
        onehot = torch.nn.functional.one_hot(tokens, len(letters) + 2)[..., 2:].float()
        mask = tokens > 0
        body = _onehot_body(module)
        with torch.no_grad():
            same = torch.allclose(body(onehot, mask), module(tokens), atol=1e-4, rtol=1e-4)
        if not same:
            raise ModelError(
                "The sequence network's one-hot path does not reproduce its output, so its attributions "
                "would be wrong. The network needs a forward_onehot(onehot, mask) method."
            )

        def fwd_seq(x: Any, m: Any, t: Any) -> Any:
            return _target_output(body(x, m), t, scale, shift)

        res = integrated_gradients(
            fwd_seq, onehot, additional_forward_args=(mask, t_tensor), n_steps=n_steps, progress=progress
        )
        seqs = ["".join(letters[c - 2] if c >= 2 else "N" for c in row if c > 0) for row in data.x]
        names = [f"pos {i + 1}" for i in range(onehot.shape[1])]
        return DeepAttribution(
            "sequence",
            res.attributions,
            names,
            res.delta,
            res.relative_delta,
            res.n_steps,
            [classes[i] for i in tgt] if classes else None,
            res.warning,
            sequences=seqs,
            letters=letters,
        )

    x = torch.as_tensor(data.x, dtype=torch.float32, device=device)
    if baseline is None:
        mean = getattr(module, "x_mean", None)
        if mean is None:
            raise ModelError("Give the training mean as the baseline: this network does not store it.")
        base = mean.detach().to(device).float().expand_as(x).clone()
    else:
        base = torch.as_tensor(np.asarray(baseline, dtype=np.float32), device=device).expand_as(x).clone()
    x = torch.where(torch.isnan(x), base, x)  # the network puts a missing value at the training mean

    def fwd_tab(v: Any, t: Any) -> Any:
        return _target_output(module(v), t, scale, shift)

    res = integrated_gradients(
        fwd_tab, x, baselines=base, additional_forward_args=(t_tensor,), n_steps=n_steps, progress=progress
    )
    return DeepAttribution(
        "tabular",
        res.attributions,
        list(spec.get("features") or [f"x{i}" for i in range(x.shape[1])]),
        res.delta,
        res.relative_delta,
        res.n_steps,
        [classes[i] for i in tgt] if classes else None,
        res.warning,
    )


def aggregate_attributions(
    attributions: np.ndarray, names: Sequence[str], *, n_boot: int = 200, seed: int = 0
) -> pd.DataFrame:
    """Global importance from per-sample attributions: mean |attribution| per feature.

    Sequence attributions (n, length, letters) are summed over letters first (one value
    per position). The interval is a percentile bootstrap over samples.
    """
    a = np.abs(attributions.sum(axis=2) if attributions.ndim == 3 else attributions)
    n = len(a)
    mean = a.mean(axis=0)
    rng = np.random.default_rng(seed)
    boots = np.stack([a[rng.integers(0, n, n)].mean(axis=0) for _ in range(n_boot)])
    low, high = np.percentile(boots, [2.5, 97.5], axis=0)
    df = pd.DataFrame(
        {"feature": list(names), "importance": mean, "std": a.std(axis=0), "low": low, "high": high}
    )
    df = df.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
    df.attrs.update(method="integrated_gradients", n_rows=int(n), interval="bootstrap over samples, 95%")
    return df


def sequence_map(attribution: DeepAttribution, i: int) -> pd.DataFrame:
    """The per-position map of one sample: ``position, letter, attribution``."""
    seq = attribution.sequences[i]
    scores = attribution.per_position[i][: len(seq)]
    return pd.DataFrame({"position": np.arange(1, len(seq) + 1), "letter": list(seq), "attribution": scores})


def logo_figure(letters: str, scores: Sequence[float], *, title: str | None = None) -> Any:
    """A sequence-logo-like matplotlib Figure: each letter scaled by its attribution
    (above the axis when it pushes towards the target, below when against)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.patches import PathPatch
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    values = np.asarray(scores, dtype=float)
    colours = {"A": "#2ca02c", "C": "#1f77b4", "G": "#ff7f0e", "T": "#d62728", "U": "#d62728"}
    fig = Figure(figsize=(max(4.0, 0.25 * len(letters)), 2.4))
    ax = fig.subplots()
    font = FontProperties(family="DejaVu Sans", weight="bold")
    for i, (letter, s) in enumerate(zip(letters, values, strict=False)):
        if not np.isfinite(s) or s == 0:
            continue
        path = TextPath((0, 0), letter, size=1, prop=font)
        ext = path.get_extents()
        sx = 0.9 / max(ext.width, 1e-6)
        sy = abs(s) / max(ext.height, 1e-6)
        y0 = 0.0 if s > 0 else s
        tr = Affine2D().translate(-ext.x0, -ext.y0).scale(sx, sy).translate(i + 0.05, y0)
        ax.add_patch(PathPatch(tr.transform_path(path), color=colours.get(letter, "#555555"), lw=0))
    lim = float(np.nanmax(np.abs(values))) if len(values) and np.isfinite(values).any() else 1.0
    ax.set_xlim(0, len(letters))
    ax.set_ylim(-lim * 1.05 if (values < 0).any() else 0, lim * 1.05 or 1.0)
    ax.axhline(0, color="black", lw=0.5)
    ax.set_xlabel("position")
    ax.set_ylabel("attribution")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
