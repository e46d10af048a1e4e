"""Make ``simulated_planted.csv``: simulated expression data with planted problems.

Run from the repository root: ``python sample_data/make_simulated.py``. Seeded: the same
files come out every time. Writes the table, its ground truth
(``simulated_planted.truth.json``) and its provenance record
(``simulated_planted.provenance.json``).

Planted (Tip 1: test the pipeline on data whose truth is known):
- 80 patients x 3 replicate samples each (a random split would leak between sides);
- plates partly confounded with the label (60% of samples on the plate of their class)
  plus a plate effect on every gene;
- ``marker_score``, a near-copy of the label (label leakage);
- 4 samples loaded twice under new ids (exact duplicates);
- 1% of gene values missing at random.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from deeprules_core.simulate import simulate_expression  # noqa: E402

SEED = 20240501
#: fixed so that re-running the script gives byte-identical files
GENERATED_ON = "2026-11-25"

PARAMS = dict(
    seed=SEED,
    informative=6,
    effect_size=1.2,
    n_groups=80,
    confounded=0.6,
    batch_effect=0.4,
    leak_feature=True,
    n_duplicates=4,
    missing_fraction=0.01,
)


def main(out: Path = HERE) -> Path:
    df, truth = simulate_expression(240, 60, **PARAMS)
    path = out / "simulated_planted.csv"
    df.to_csv(path, index=False, lineterminator="\n")
    (out / "simulated_planted.truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    provenance = {
        "source": "deeprules:sample_data/make_simulated.py",
        "version": f"1 (seed {SEED})",
        "download_date": GENERATED_ON,
        "licence": "CC0 1.0 (simulated data, no real samples)",
        "description": (
            "Simulated log-expression of 60 genes in 244 samples from 80 patients (3 replicates each, "
            "4 samples loaded twice), tumour vs normal, on 2 plates. Planted problems: replicates, "
            "plate partly confounded with the label plus a plate effect, a label-leak column "
            "(marker_score), exact duplicates, 1% missing values. The ground truth is in "
            "simulated_planted.truth.json."
        ),
        "entered_by": "deeprules sample data",
    }
    (out / "simulated_planted.provenance.json").write_text(
        json.dumps(provenance, indent=2) + "\n", encoding="utf-8"
    )
    return path


if __name__ == "__main__":
    print(main())
