"""Sample datasets shipped in ``sample_data/``, each with its provenance record.

Each sample is a table file plus ``<stem>.provenance.json`` (and, for simulated data,
``<stem>.truth.json``, the ground truth). The folder is ``sample_data/`` at the root of
the repository, or ``DEEPRULES_SAMPLE_DATA``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataFormatError
from ..study import Study
from ._ingest import DatasetInfo, ingest
from ._provenance import Provenance

__all__ = ["SampleDataset", "sample_data_dir", "list_sample_datasets", "load_sample_dataset"]

#: key -> (file, title, short title); the order is the order of the buttons
_SAMPLES = {
    "breast_cancer": ("breast_cancer.csv", "Breast cancer (Wisconsin diagnostic, UCI)", "breast cancer"),
    "simulated_planted": (
        "simulated_planted.csv",
        "Simulated expression with planted problems (ground truth known)",
        "simulated with planted problems",
    ),
}


@dataclass(frozen=True)
class SampleDataset:
    key: str
    title: str
    short_title: str
    path: Path
    provenance: Provenance
    truth_path: Path | None = None

    @property
    def description(self) -> str:
        return self.provenance.description

    def truth(self) -> dict[str, Any] | None:
        """The ground truth of a simulated dataset (None for real data)."""
        return json.loads(self.truth_path.read_text(encoding="utf-8")) if self.truth_path else None


def sample_data_dir() -> Path:
    env = os.environ.get("DEEPRULES_SAMPLE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "sample_data"


def _sample(key: str) -> SampleDataset:
    if key not in _SAMPLES:
        raise DataFormatError(f"There is no sample dataset {key!r}; the samples are {sorted(_SAMPLES)}.")
    file, title, short = _SAMPLES[key]
    path = sample_data_dir() / file
    prov_path = path.with_suffix(".provenance.json")
    if not path.exists() or not prov_path.exists():
        raise DataFormatError(
            f"The sample dataset {key!r} is missing from {path.parent} (expected {file} and "
            f"{prov_path.name}). Run the scripts in sample_data/ to make it again."
        )
    prov = Provenance.from_dict(json.loads(prov_path.read_text(encoding="utf-8")))
    truth = path.with_suffix(".truth.json")
    return SampleDataset(key, title, short, path, prov, truth if truth.exists() else None)


def list_sample_datasets() -> list[SampleDataset]:
    """The sample datasets that are present, in button order."""
    out = []
    for key in _SAMPLES:
        try:
            out.append(_sample(key))
        except DataFormatError:
            continue
    return out


def load_sample_dataset(ws: Any, key: str, *, study: Study | None = None) -> tuple[Study | None, DatasetInfo]:
    """Ingest a sample dataset (with its shipped provenance record) like an upload."""
    s = _sample(key)
    return ingest(ws, s.path.read_bytes(), name=s.path.name, provenance=s.provenance, study=study)
