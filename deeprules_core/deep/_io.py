"""Saving and loading deep models without pickling code (Tips 3 and 10).

A saved model is one zip archive in the workspace (content-addressed by its sha256):

* ``config.json``: the hyper-parameters, the data specification (task, classes,
  feature columns or sequence column and alphabet) and the training record (seed,
  deterministic flags, device, package versions);
* ``weights.pt``: the network's state dict (tensors only), written by ``torch.save``
  and read back with ``torch.load(..., weights_only=True)``, which refuses anything
  but tensors and plain containers, so loading a file cannot run code.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from typing import Any

import torch

from ..errors import ExportLockedError, ModelError, StoreError
from ..findings import to_jsonable
from ..store import Workspace
from ..study import package_versions
from ._arch import DeepConfig, build_module
from ._model import DeepModel

__all__ = ["FORMAT", "model_to_bytes", "model_from_bytes", "save_deep", "load_deep"]

FORMAT = "deeprules-deep-model/1"


def model_to_bytes(model: DeepModel) -> bytes:
    """The model as a zip of ``config.json`` and ``weights.pt`` (no pickled objects)."""
    weights = io.BytesIO()
    state = {k: v.detach().cpu().contiguous() for k, v in model.module.state_dict().items()}
    torch.save(state, weights)
    config = {
        "format": FORMAT,
        "config": model.config.to_dict(),
        "spec": to_jsonable(model.spec),
        "training": to_jsonable(model.training_),
        "versions": package_versions(("torch", "numpy")),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        # fixed timestamps: the same model gives the same bytes, hence the same sha256
        for name, data in (
            ("config.json", json.dumps(config, sort_keys=True, allow_nan=False).encode("utf-8")),
            ("weights.pt", weights.getvalue()),
        ):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, data)
    return out.getvalue()


def model_from_bytes(data: bytes, *, device: str | None = None) -> DeepModel:
    """Rebuild a model from :func:`model_to_bytes` output; weights load with weights_only=True."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            meta: dict[str, Any] = json.loads(z.read("config.json"))
            weights = z.read("weights.pt")
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ModelError(f"This is not a saved deeprules deep model ({exc}).") from exc
    if meta.get("format") != FORMAT:
        raise ModelError(f"Unknown model format {meta.get('format')!r}; expected {FORMAT!r}.")
    config = DeepConfig.from_dict(meta["config"])
    spec = meta["spec"]
    module = build_module(config, n_in=int(spec["n_in"]), n_out=int(spec["n_out"]))
    try:
        state = torch.load(io.BytesIO(weights), map_location=device or "cpu", weights_only=True)
        module.load_state_dict(state)
    except (pickle.UnpicklingError, RuntimeError, TypeError, AttributeError) as exc:
        raise ModelError(
            "The saved weights hold something other than tensors, or do not fit the saved "
            f"configuration; deeprules loads only tensors, so nothing in the file can run ({exc})."
        ) from exc
    module.eval()
    if device:
        module.to(device)
    return DeepModel(module, config, spec, training=meta.get("training"))


def save_deep(ws: Workspace, study_id: str, model: DeepModel, *, name: str | None = None) -> str:
    """Store the model as a workspace artifact (kind ``deep_model``); return its sha256.

    The export lock (Tip 10) is checked here too: the weights of a sensitive study's model
    are refused (:class:`ExportLockedError`, logged) unless it was trained with
    differential privacy (its training record says so).
    """
    from ..privacy import guard_model_export

    training = dict(model.training_ or {})
    entry = {"family": model.config.kind, "dp": training if training.get("private") else None}
    refused = guard_model_export(
        ws, ws.get_study(study_id), name or model.config.kind, entry, where="save_deep"
    )
    if refused is not None:
        raise ExportLockedError(refused.message)
    data = model_to_bytes(model)
    meta = {"format": FORMAT, "kind": model.config.kind, "task": model.task}
    return ws.put_artifact(study_id, "deep_model", name or model.config.kind, data, meta)


def load_deep(ws: Workspace, sha256: str, *, device: str | None = None) -> DeepModel:
    """Load a model saved by :func:`save_deep` by its sha256."""
    try:
        data = ws.get_blob(sha256)
    except (FileNotFoundError, StoreError) as exc:
        raise ModelError(f"No saved model with sha256 {sha256[:12]}… in this workspace.") from exc
    return model_from_bytes(data, device=device)
