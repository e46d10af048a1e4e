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


def write_cache(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write ``df`` (string column names, no index) to ``path`` as Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    block = _block_columns(df)
    if block is None:
        df.to_parquet(path, index=False, compression="snappy")
        return
    dtype, cols = block
    X = np.ascontiguousarray(df[cols].to_numpy(dtype=dtype)).astype(
        np.dtype(dtype).newbyteorder("<"), copy=False
    )
    row_bytes = X.shape[1] * X.dtype.itemsize
    offsets = np.arange(0, (X.shape[0] + 1) * row_bytes, row_bytes, dtype=np.int64)
    blob = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(),
        X.shape[0],
        [None, pa.py_buffer(offsets), pa.py_buffer(X.reshape(-1).view(np.uint8))],
    )
    rest = [c for c in df.columns if c not in set(cols)]
    if rest:
        table = pa.Table.from_pandas(df[rest], preserve_index=False).append_column(_BLOCK, blob)
    else:
        table = pa.table({_BLOCK: blob})
    layout = {"layout": "block-v1", "dtype": dtype, "block": cols, "columns": [str(c) for c in df.columns]}
    meta = dict(table.schema.metadata or {})
    meta[_KEY] = json.dumps(layout).encode()
    table = table.replace_schema_metadata(meta)
    pq.write_table(
        table, path, compression={c: ("none" if c == _BLOCK else "snappy") for c in table.column_names}
    )


def read_cache(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a table written by :func:`write_cache` (or any Parquet file)."""
    import pyarrow.parquet as pq

    table = pq.read_table(Path(path))
    meta = table.schema.metadata or {}
    if _KEY not in meta:
        return table.to_pandas()
    layout = json.loads(meta[_KEY])
    blob = table.column(_BLOCK).combine_chunks()
    n, cols = table.num_rows, layout["block"]
    dtype = np.dtype(layout["dtype"]).newbyteorder("<")
    offsets = np.frombuffer(blob.buffers()[1], dtype=np.int64, count=n + 1, offset=blob.offset * 8)
    data = np.frombuffer(blob.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    X = data.view(dtype).reshape(n, len(cols))
    # one copy: Arrow's memory is read-only, and callers may modify their table
    block = pd.DataFrame(X.astype(layout["dtype"], copy=True), columns=cols, copy=False)
    rest = table.drop_columns([_BLOCK])
    if rest.num_columns == 0:
        return block
    other = rest.to_pandas()
    out = pd.concat([other, block], axis=1, copy=False)
    order = layout["columns"]
    return out if list(out.columns) == order else out[order]
