"""Differentially private training of the deep model with Opacus (Tip 10).

Differential privacy bounds how much one sample can change what training produces:
each sample's gradient is clipped to a norm ``max_grad_norm`` and Gaussian noise is
added to every batch's sum; an *accountant* adds up the privacy spent over all steps
and reports the achieved ε for a chosen δ. Here:

* ε and δ are chosen in plain words (:func:`explain_budget` says what they mean for one
  patient);
* the accountant is named (``"rdp"``: Rényi DP, the classic; ``"prv"``: privacy random
  variables, tighter for the same noise);
* layers Opacus cannot train privately (BatchNorm mixes the samples of a batch) are
  replaced explicitly with ``ModuleValidator.fix`` and every change is listed;
* the private network and a non-private twin (same architecture, rows, epochs, batch
  size and optimiser; no clipping, no noise) are trained, so the cost in utility is
  measured at the same training budget;
* ``secure_mode=False``: the noise comes from PyTorch's ordinary pseudo-random generator,
  not a cryptographically secure one (torchcsprng is not available for this platform), so
  the guarantee holds against an attacker who cannot predict that generator's state.

Training runs for a fixed number of epochs on every labelled row of the training side:
early stopping on a validation part would spend privacy that no accountant counts.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelError

__all__ = [
    "ACCOUNTANTS",
    "SECURE_MODE_NOTE",
    "DPSettings",
    "explain_budget",
    "replace_unsupported_layers",
    "train_private",
]

#: The accountants Opacus offers, by their name in Opacus, in plain words.
ACCOUNTANTS = {
    "rdp": "Rényi differential privacy (RDP) accountant",
    "prv": "privacy random variable (PRV) accountant",
}
SECURE_MODE_NOTE = (
    "Opacus ran with secure_mode=False: the noise comes from PyTorch's ordinary pseudo-random "
    "generator, not a cryptographically secure one (torchcsprng is not available on this platform). "
    "The guarantee holds against an attacker who cannot reconstruct that generator's state."
)


@dataclass(frozen=True)
class DPSettings:
    """The privacy budget and how it is spent.

    ``delta`` None means 1 / (10 × training samples), below the 1/n that would allow
    leaking one whole record.
    """

    epsilon: float = 3.0
    delta: float | None = None
    accountant: str = "rdp"
    max_grad_norm: float = 1.0
    epochs: int = 30

    def __post_init__(self) -> None:
        if not (isinstance(self.epsilon, (int, float)) and 0 < float(self.epsilon) <= 100):
            raise ModelError(f"The target ε must be a number in (0, 100]. Got {self.epsilon!r} instead.")
        if self.delta is not None and not 0 < float(self.delta) < 1:
            raise ModelError(f"The target δ must be in (0, 1). Got {self.delta!r} instead.")
        if self.accountant not in ACCOUNTANTS:
            raise ModelError(
                f"The 'accountant' must be one of {sorted(ACCOUNTANTS)}. Got {self.accountant!r}."
            )
        if float(self.max_grad_norm) <= 0 or int(self.epochs) < 1:
            raise ModelError("The clipping norm must be > 0 and the number of epochs >= 1.")

    def delta_for(self, n: int) -> float:
        return float(self.delta) if self.delta is not None else 1.0 / (10.0 * max(int(n), 1))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def explain_budget(epsilon: float, delta: float, n: int | None = None) -> str:
    """What (ε, δ) promise one patient, in plain words.

    >>> "at most 2.7 times more (or less) likely" in explain_budget(1.0, 1e-5)
    True
    """
    factor = math.exp(float(epsilon))
    belief = factor / (1.0 + factor)
    text = (
        f"Whether or not one patient is in the training data, any result of training becomes at most "
        f"{factor:.2g} times more (or less) likely. An attacker who thought it a coin toss (50%) that this "
        f"patient took part can, after studying the model, be at most {100 * belief:.0f}% sure. "
        f"δ = {delta:.2g} is the chance that this promise fails altogether"
    )
    if n:
        text += f" (keep it well below 1/{n:,}, one in the number of training samples)"
    text += (
        ". Smaller ε protects more and usually costs accuracy; ε ≤ 1 is strong, ε ≤ 10 is common in practice."
    )
    return text


def replace_unsupported_layers(module: Any) -> tuple[Any, list[str]]:
    """Replace layers Opacus cannot train privately (``ModuleValidator.fix``); list each change."""
    from opacus.validators import ModuleValidator

    errors = ModuleValidator.validate(module, strict=False)
    if not errors:
        return module, []
    before = {name: type(m).__name__ for name, m in module.named_modules()}
    fixed = ModuleValidator.fix(module)
    after = {name: type(m).__name__ for name, m in fixed.named_modules()}
    changes = [
        f"layer '{name}': {before[name]} replaced by {after.get(name, 'nothing')}"
        + (
            " (normalises each sample on its own; BatchNorm mixes the samples of a batch)"
            if "BatchNorm" in before[name]
            else ""
        )
        for name in before
        if name and before[name] != after.get(name)
    ]
    left = ModuleValidator.validate(fixed, strict=False)
    if left:
        raise ModelError(
            f"Opacus cannot train this network privately even after replacing layers: {left[0]}. "
            "Use the MLP or the CNN that deeprules builds."
        )
    return fixed, changes


@dataclass
class PrivateTraining:
    """What one private (or plain) training did."""

    module: Any
    record: dict[str, Any] = field(default_factory=dict)


def _loss(task: str, y: np.ndarray, n_classes: int) -> Any:
    import torch
    from torch import nn

    from ..deep._train import class_weights

    if task == "regression":
        return nn.MSELoss()
    return nn.CrossEntropyLoss(weight=torch.as_tensor(class_weights(y, n_classes), dtype=torch.float32))


def train_private(
    module: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    n_classes: int,
    settings: DPSettings,
    lr: float,
    weight_decay: float,
    batch_size: int,
    seed: int,
    private: bool = True,
    on_epoch: Callable[[int], None] | None = None,
) -> PrivateTraining:
    """Train ``module`` for ``settings.epochs`` on (x, y): with Opacus when ``private``, plainly
    otherwise (the twin that measures the cost). ``y``: class indices, or standardised targets."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    n = len(x)
    if n < 10:
        raise ModelError(f"Private training needs at least 10 labelled training samples; there are {n}.")
    torch.manual_seed(int(seed))
    module, changes = replace_unsupported_layers(module) if private else (module, [])
    xt = torch.as_tensor(x, dtype=torch.long if x.dtype.kind in "iu" else torch.float32)
    yt = (
        torch.as_tensor(y, dtype=torch.float32).unsqueeze(1)
        if task == "regression"
        else torch.as_tensor(y, dtype=torch.long)
    )
    bs = max(1, min(int(batch_size), n))
    gen = torch.Generator().manual_seed(int(seed))
    loader = DataLoader(TensorDataset(xt, yt), batch_size=bs, shuffle=True, generator=gen)
    opt: Any = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = _loss(task, np.asarray(y) if task != "regression" else np.zeros(0), n_classes)
    engine = None
    delta = settings.delta_for(n)
    module.train()
    if private:
        from opacus import PrivacyEngine

        # Opacus warns that secure_mode is off; the record states it (SECURE_MODE_NOTE)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Secure RNG turned off")
            engine = PrivacyEngine(accountant=settings.accountant, secure_mode=False)
        module, opt, loader = engine.make_private_with_epsilon(
            module=module,
            optimizer=opt,
            data_loader=loader,
            target_epsilon=float(settings.epsilon),
            target_delta=delta,
            epochs=int(settings.epochs),
            max_grad_norm=float(settings.max_grad_norm),
        )
    steps = 0
    for epoch in range(int(settings.epochs)):
        for xb, yb in loader:
            if len(xb) == 0:  # Poisson sampling can draw an empty batch
                continue
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(xb), yb)
            with warnings.catch_warnings():  # Opacus's hooks fire on outputs: inputs need no gradient
                warnings.filterwarnings("ignore", message="Full backward hook is firing")
                loss.backward()
            opt.step()
            steps += 1
        if not math.isfinite(float(loss.detach())):
            raise ModelError("Private training diverged (the loss became NaN); lower the learning rate.")
        if on_epoch is not None:
            on_epoch(epoch + 1)
    module.eval()
    record: dict[str, Any] = {
        "private": private,
        "epochs": int(settings.epochs),
        "n_train": n,
        "batch_size": bs,
    }
    if engine is not None:
        history = list(engine.accountant.history)
        record.update(
            opacus=_opacus_version(),
            accountant=settings.accountant,
            accountant_name=ACCOUNTANTS[settings.accountant],
            target_epsilon=float(settings.epsilon),
            delta=delta,
            epsilon=float(engine.get_epsilon(delta)),
            noise_multiplier=float(opt.noise_multiplier),
            max_grad_norm=float(settings.max_grad_norm),
            sample_rate=float(history[-1][1]) if history else 1.0 / len(loader),
            steps=int(sum(h[2] for h in history)),
            accountant_history=[[float(a), float(b), int(c)] for a, b, c in history],
            layers_replaced=changes,
            secure_mode=False,
            secure_mode_note=SECURE_MODE_NOTE,
            meaning=explain_budget(float(engine.get_epsilon(delta)), delta, n),
        )
        module = module._module  # the network inside Opacus's GradSampleModule
    return PrivateTraining(module=module, record=record)


def _opacus_version() -> str:
    from importlib.metadata import version

    return version("opacus")
