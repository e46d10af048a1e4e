"""Make ``breast_cancer.csv``: the Wisconsin Diagnostic Breast Cancer data (real, public).

Run from the repository root: ``python sample_data/make_breast_cancer.py``. The data come
offline from scikit-learn (``sklearn.datasets.load_breast_cancer``), which ships a copy
of the UCI Machine Learning Repository dataset. 569 fine-needle aspirates of breast
masses, 30 nuclear features computed from digitised images, diagnosis malignant/benign.

Citation: Wolberg W, Mangasarian O, Street N, Street W. Breast Cancer Wisconsin
(Diagnostic). UCI Machine Learning Repository (1993), https://doi.org/10.24432/C5DW2B,
licence CC BY 4.0.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer

HERE = Path(__file__).resolve().parent
#: the date this copy was made from the installed scikit-learn (fixed: reproducible files)
TAKEN_ON = "2026-11-25"


def main(out: Path = HERE) -> Path:
    bunch = load_breast_cancer(as_frame=True)
    features = bunch.data.rename(columns=lambda c: re.sub(r"\s+", "_", c.strip()))
    df = pd.DataFrame(
        {
            "sample_id": [f"WDBC_{i + 1:04d}" for i in range(len(features))],
            "diagnosis": bunch.target.map(dict(enumerate(bunch.target_names))).astype(str),
        }
    )
    df = pd.concat([df, features.round(6)], axis=1)
    path = out / "breast_cancer.csv"
    df.to_csv(path, index=False, lineterminator="\n")
    provenance = {
        "source": "https://doi.org/10.24432/C5DW2B",
        "version": (
            "UCI ML Repository 'Breast Cancer Wisconsin (Diagnostic)', donated 1995-11-01 "
            f"(wdbc.data, as shipped in scikit-learn {version('scikit-learn')})"
        ),
        "download_date": TAKEN_ON,
        "licence": "CC BY 4.0",
        "description": (
            "569 breast-mass fine-needle aspirates (212 malignant, 357 benign) from the University of "
            "Wisconsin Hospitals; 30 features of the cell nuclei (mean, standard error and worst value "
            "of radius, texture, perimeter, area, smoothness, compactness, concavity, concave points, "
            "symmetry, fractal dimension). Wolberg WH, Street WN, Mangasarian OL (1995). Also at "
            "https://archive.ics.uci.edu/dataset/17/breast+cancer+wisconsin+diagnostic. sample_id "
            "was added by deeprules (row order of the original file)."
        ),
        "entered_by": "deeprules sample data",
    }
    (out / "breast_cancer.provenance.json").write_text(
        json.dumps(provenance, indent=2) + "\n", encoding="utf-8"
    )
    return path


if __name__ == "__main__":
    print(main())
