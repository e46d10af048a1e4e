"""The upload's progress is honest: while a large table is parsed it moves with the bytes
the parser has read (not a jump from 10% to 70%), and it never goes back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deeprules_core.intake import Provenance, ingest
from deeprules_core.intake._readers import read_and_hash

PROV = Provenance(source="sim", version="1", download_date="2026-12-03", licence="CC0", entered_by="t")


def _csv(rows: int) -> bytes:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(rows, 12)).round(5), columns=[f"g{i}" for i in range(12)])
    df.insert(0, "sample_id", [f"S{i}" for i in range(rows)])
    return df.to_csv(index=False).encode()


def test_progress_is_monotone_and_moves_through_the_parse(workspace):
    data = _csv(40_000)  # ~3.7 MB: many reads of the parser
    seen: list[tuple[float, str]] = []
    ingest(workspace, data, name="big.csv", provenance=PROV, progress=lambda f, m: seen.append((f, m)))
    values = [f for f, _ in seen]
    assert values == sorted(values) and values[-1] == 1.0
    reading = [f for f, m in seen if m.startswith("reading big.csv (")]
    assert len(set(reading)) >= 5, reading  # several steps while parsing, not one jump
    assert min(reading) < 0.3 and max(reading) == pytest.approx(0.7)
    assert any(0.3 < f < 0.6 for f in reading)


@pytest.mark.parametrize("rows", [50, 40_000])
def test_the_metered_parse_reads_the_same_table(rows):
    data = _csv(rows)
    plain, _, sha = read_and_hash(data, name="t.csv")
    fractions: list[float] = []
    metered, _, sha2 = read_and_hash(data, name="t.csv", progress=fractions.append)
    pd.testing.assert_frame_equal(plain.df, metered.df)
    assert sha == sha2 and fractions == sorted(set(fractions)) and fractions[-1] == 1.0
