"""Deep learning on PyTorch (Tips 3, 5, 6, 7): the architecture chosen by the data
representation, a systematic search with the baselines' budget, reproducible training
with several seeds, learning curves, the shuffled-label control and a fair comparison
with the tuned baselines.

Importing this package is cheap: PyTorch and Optuna load on first use of a name.

Examples
--------
>>> from deeprules_core import deep
>>> sorted(deep.__all__)[:3]
['ArchitectureChoice', 'DeepConfig', 'DeepModel']
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ArchitectureChoice",
    "DeepConfig",
    "DeepModel",
    "DeepRun",
    "PARAMS_PER_SAMPLE_WARNING",
    "compare_with_baselines",
    "deep_run",
    "detect_alphabet",
    "encode_sequences",
    "fit_deep",
    "load_deep",
    "model_from_bytes",
    "model_to_bytes",
    "paired_comparisons",
    "run_deep",
    "save_deep",
    "suggest_architecture",
]

_WHERE = {
    "ArchitectureChoice": "._arch",
    "DeepConfig": "._arch",
    "PARAMS_PER_SAMPLE_WARNING": "._arch",
    "suggest_architecture": "._arch",
    "detect_alphabet": "._data",
    "encode_sequences": "._data",
    "DeepModel": "._model",
    "fit_deep": "._model",
    "DeepRun": "._runner",
    "deep_run": "._runner",
    "run_deep": "._runner",
    "compare_with_baselines": "._compare",
    "paired_comparisons": "._compare",
    "load_deep": "._io",
    "model_from_bytes": "._io",
    "model_to_bytes": "._io",
    "save_deep": "._io",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
