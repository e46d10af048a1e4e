"""Excel .xlsx, Parquet and AnnData .h5ad readers."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from ..errors import DataFormatError
from ._delimited import _SUMMARY_RE, ReadResult, _check_header

#: a dense matrix above this many cells (8 bytes each, 16 GiB) is refused
MAX_DENSE_CELLS = 2_000_000_000


def _read_excel(data: bytes, name: str, sheet: str | int | None) -> ReadResult:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise DataFormatError(
            f"{name!r} cannot be opened as an Excel workbook ({exc}). Save it again from Excel as .xlsx."
        ) from exc
    sheets = list(wb.sheetnames)
    wb.close()
    notes = []
    if sheet is None:
        chosen: str = sheets[0]
        if len(sheets) > 1:
            notes.append(f"The workbook has {len(sheets)} sheets {sheets}; the first, {chosen!r}, was read.")
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise DataFormatError(
                f"{name!r} has {len(sheets)} sheet(s) {sheets}; there is no sheet #{sheet}."
            )
        chosen = sheets[sheet]
    elif sheet in sheets:
        chosen = sheet
    else:
        raise DataFormatError(f"{name!r} has no sheet named {sheet!r}; its sheets are {sheets}.")
    head = pd.read_excel(io.BytesIO(data), sheet_name=chosen, header=None, nrows=1, engine="openpyxl")
    if head.empty:
        raise DataFormatError(f"The sheet {chosen!r} of {name!r} is empty.")
    _check_header(["" if pd.isna(v) else str(v) for v in head.iloc[0]], f"{name} [{chosen}]")
    df = pd.read_excel(io.BytesIO(data), sheet_name=chosen, header=0, engine="openpyxl")
    df = df.dropna(how="all").dropna(axis=1, how="all")
    if df.shape[0]:
        last = df.iloc[-1, 0]
        if isinstance(last, str) and _SUMMARY_RE.match(last):
            df = df.iloc[:-1]
            notes.append(f"The last row looks like a summary ({last!r}), not a sample; it was dropped.")
    return ReadResult(df.reset_index(drop=True), "xlsx", {"format": "xlsx", "sheet": chosen, "notes": notes})


def _read_parquet(data: bytes, name: str) -> ReadResult:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError(f"{name!r} cannot be read as Parquet ({exc}). Write it again.") from exc
    _check_header([str(n) for n in table.column_names], name)
    df = table.to_pandas()
    notes = []
    if not isinstance(df.index, pd.RangeIndex):
        label = df.index.name or "index"
        df = df.reset_index(names=str(label))
        notes.append(f"The stored index was turned into the column {label!r}.")
    return ReadResult(df, "parquet", {"format": "parquet", "notes": notes})


def _read_h5ad(data: bytes, name: str) -> ReadResult:
    import tempfile

    import anndata
    import numpy as np
    import scipy.sparse as sp

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.h5ad"
        path.write_bytes(data)
        try:
            adata = anndata.read_h5ad(path)
        except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise DataFormatError(
                f"{name!r} cannot be read as AnnData .h5ad ({exc}). Write it again with adata.write_h5ad()."
            ) from exc
    if adata.X is None:
        raise DataFormatError(f"{name!r} has no data matrix X. Store the measurements in X.")
    n_obs, n_vars = adata.shape
    if n_obs * n_vars > MAX_DENSE_CELLS:
        raise DataFormatError(
            f"{name!r} is {n_obs:,} x {n_vars:,}: too big to hold as a dense table. Select highly "
            "variable genes or aggregate cells (pseudo-bulk) first."
        )
    X = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X)
    var_names = [str(v) for v in adata.var_names]
    try:
        _check_header(var_names, f"{name} (var_names)")
    except DataFormatError as exc:
        raise DataFormatError(
            f"{exc} In Python: adata.var_names_make_unique(), then write the file again."
        ) from exc
    df = pd.DataFrame(X, columns=var_names)
    obs = adata.obs.reset_index(drop=False)
    id_name = str(adata.obs.index.name or "obs_id")
    obs = obs.rename(columns={obs.columns[0]: id_name})
    clash = sorted(set(map(str, obs.columns)) & set(var_names))
    if clash:
        raise DataFormatError(
            f"In {name!r} the obs columns {clash[:10]} have the same names as genes/features (var_names). "
            "Rename the obs columns so each column of the table has its own name."
        )
    obs.columns = [str(c) for c in obs.columns]
    df = pd.concat([obs.reset_index(drop=True), df], axis=1)
    notes = [
        f"AnnData: {n_obs} observations (rows) x {n_vars} variables from X"
        + (" (sparse, made dense)" if sp.issparse(adata.X) else "")
        + f", plus {obs.shape[1] - 1} obs column(s) and the obs names as {id_name!r}."
    ]
    if adata.raw is not None or adata.layers:
        notes.append(
            "The file also holds "
            + " and ".join(
                x
                for x in (
                    ("adata.raw" if adata.raw is not None else ""),
                    (f"layers {list(adata.layers)}" if adata.layers else ""),
                )
                if x
            )
            + "; only X was read. If the model should see other values, store them in X."
        )
    return ReadResult(df, "h5ad", {"format": "h5ad", "notes": notes})
