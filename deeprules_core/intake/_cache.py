"""The Parquet cache of a parsed table, fast to reopen even when it is very wide.

An ordinary Parquet file with tens of thousands of columns reopens about as slowly as the
CSV parses (every column has its own metadata, pages and decoding). So a table with many
numeric columns of one dtype (an expression matrix) is cached as:

- the other columns as ordinary Parquet columns;
- the numeric block as one ``large_binary`` column, one value per row holding the row's
  numbers as raw little-endian bytes (uncompressed: it is read back without a copy);
- the key-value metadata ``deeprules.layout`` (JSON): the layout version, the block's
  dtype and columns, and the full column order.

Narrow tables are ordinary Parquet files. Both are read by :func:`read_cache`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["BLOCK_MIN_COLUMNS", "write_cache", "read_cache"]

#: from this many numeric columns of one dtype, they are stored as one block
BLOCK_MIN_COLUMNS = 500
_KEY = b"deeprules.layout"
_BLOCK = "__deeprules_block__"
_DTYPES = ("float64", "float32", "int64", "int32")


def _block_columns(df: pd.DataFrame) -> tuple[str, list[str]] | None:
    by_dtype: dict[str, list[str]] = {}
    for col, dtype in df.dtypes.items():
        if str(dtype) in _DTYPES:
            by_dtype.setdefault(str(dtype), []).append(str(col))
    if not by_dtype:
        return None
    dtype, cols = max(by_dtype.items(), key=lambda kv: len(kv[1]))
    return (dtype, cols) if len(cols) >= BLOCK_MIN_COLUMNS else None


#: rows of the numeric block written (and read) at a time: about this many bytes
_CHUNK_BYTES = 16 * 2**20


def write_cache(
    df: pd.DataFrame, path: str | os.PathLike[str], *, progress: Callable[[float], None] | None = None
) -> None:
    """Write ``df`` (string column names, no index) to ``path`` as Parquet.

    The numeric block is written a slice of rows at a time (one row group each), so the
    peak memory is the table plus one slice, not two or three copies of it.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    block = _block_columns(df)
    if block is None:
        df.to_parquet(path, index=False, compression="snappy")
        return
    dtype, cols = block
    in_block = set(cols)
    rest = [c for c in df.columns if c not in in_block]
    positions = [i for i, c in enumerate(df.columns) if c in in_block]
    whole = len(positions) == df.shape[1]
    rest_table = pa.Table.from_pandas(df[rest], preserve_index=False) if rest else None
    layout = {"layout": "block-v1", "dtype": dtype, "block": cols, "columns": [str(c) for c in df.columns]}
    little = np.dtype(dtype).newbyteorder("<")
    row_bytes = len(cols) * little.itemsize
    step = max(1, _CHUNK_BYTES // max(1, row_bytes))
    n = df.shape[0]
    writer = None
    try:
        for lo in range(0, max(n, 1), step):
            part = df.iloc[lo : lo + step]  # the rows first: the column take below is one slice's worth
            X = np.ascontiguousarray((part if whole else part.iloc[:, positions]).to_numpy(dtype=dtype))
            X = X.astype(little, copy=False)
            offsets = np.arange(0, (X.shape[0] + 1) * row_bytes, row_bytes, dtype=np.int64)
            blob = pa.LargeBinaryArray.from_buffers(
                pa.large_binary(),
                X.shape[0],
                [None, pa.py_buffer(offsets), pa.py_buffer(X.reshape(-1).view(np.uint8))],
            )
            if rest_table is not None:
                table = rest_table.slice(lo, X.shape[0]).append_column(_BLOCK, blob)
            else:
                table = pa.table({_BLOCK: blob})
            if writer is None:
                meta = dict(table.schema.metadata or {})
                meta[_KEY] = json.dumps(layout).encode()
                schema = table.schema.with_metadata(meta)
                writer = pq.ParquetWriter(
                    path,
                    schema,
                    compression={c: ("none" if c == _BLOCK else "snappy") for c in table.column_names},
                )
            writer.write_table(table.cast(schema))
            del X, blob, part
            if progress:
                progress(min(1.0, (lo + step) / max(n, 1)))
    finally:
        if writer is not None:
            writer.close()
        pa.default_memory_pool().release_unused()  # give the slices' buffers back to the system


def read_cache(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_cache` (or any Parquet file)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(Path(path))
    meta = pf.schema_arrow.metadata or {}
    if _KEY not in meta:
        return pf.read().to_pandas()
    layout = json.loads(meta[_KEY])
    cols = layout["block"]
    little = np.dtype(layout["dtype"]).newbyteorder("<")
    n = pf.metadata.num_rows
    X = np.empty((n, len(cols)), dtype=layout["dtype"])
    others = [c for c in pf.schema_arrow.names if c != _BLOCK]
    rest_parts = []
    lo = 0
    for g in range(pf.num_row_groups):  # one row group at a time into the one array
        t = pf.read_row_group(g)
        blob = t.column(_BLOCK).combine_chunks()
        k = t.num_rows
        offsets = np.frombuffer(blob.buffers()[1], dtype=np.int64, count=k + 1, offset=blob.offset * 8)
        data = np.frombuffer(blob.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        X[lo : lo + k] = data.view(little).reshape(k, len(cols))
        if others:
            rest_parts.append(t.drop_columns([_BLOCK]))
        lo += k
        del t, blob, data
    block = pd.DataFrame(X, columns=cols, copy=False)
    if not others:
        return block
    import pyarrow as pa

    other = pa.concat_tables(rest_parts).to_pandas()
    out = pd.concat([other, block], axis=1, copy=False)
    order = layout["columns"]
    return out if list(out.columns) == order else out[order]
