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


def _parquet(rows: int, cols: int, *, row_group_size: int | None = None) -> bytes:
    import io

    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(rows, cols)), columns=[f"g{i}" for i in range(cols)])
    df.insert(0, "tissue", pd.Categorical(rng.choice(["liver", "lung"], size=rows)))
    df.index = [f"S{i}" for i in range(rows)]  # a stored index, turned into a column on reading
    buf = io.BytesIO()
    df.to_parquet(buf, row_group_size=row_group_size)
    return buf.getvalue()


@pytest.mark.parametrize(("rows", "cols", "groups"), [(300, 400, None), (1000, 30, 300), (5, 2, None)])
def test_a_parquet_upload_moves_with_its_columns_and_reads_the_same_table(rows, cols, groups):
    data = _parquet(rows, cols, row_group_size=groups)
    plain, _, _ = read_and_hash(data, name="t.parquet")
    fractions: list[float] = []
    metered, _, _ = read_and_hash(data, name="t.parquet", progress=fractions.append)
    pd.testing.assert_frame_equal(plain.df, metered.df)
    assert metered.df.columns[0] == "index" and metered.details["notes"] == plain.details["notes"]
    assert fractions == sorted(set(fractions)) and fractions[-1] == 1.0
    if cols > 100:  # a wide table: many steps while it is decoded, not one jump
        assert len(fractions) >= 20 and fractions[0] < 0.1
