"""Excel .xlsx, Parquet and AnnData .h5ad readers."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import DataFormatError, SheetChoiceError, one_line, quote
from ._delimited import _SUMMARY_RE, ReadResult, _check_header
from ._memory import check_memory, format_bytes
from ._meter import ByteMeter

#: a dense matrix above this many cells (8 bytes each, 16 GiB) is refused
MAX_DENSE_CELLS = 2_000_000_000


#: a workbook whose parts inflate more than this many times their zipped size is refused
MAX_XLSX_RATIO = 100


def excel_sheets(data: bytes, name: str = "workbook.xlsx") -> list[str]:
    """The sheet names of an .xlsx workbook, in order (for a sheet picker).

    Examples
    --------
    >>> import io, pandas as pd
    >>> buf = io.BytesIO()
    >>> with pd.ExcelWriter(buf) as w:
    ...     pd.DataFrame({"a": [1]}).to_excel(w, sheet_name="readme")
    ...     pd.DataFrame({"a": [1]}).to_excel(w, sheet_name="data")
    >>> excel_sheets(buf.getvalue())
    ['readme', 'data']
    """
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_inflation(data, name)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, TypeError) as exc:
        raise DataFormatError(
            f"{name!r} cannot be opened as an Excel workbook ({one_line(str(exc), 120)}). Save it again "
            "from Excel as .xlsx."
        ) from exc
    try:
        return [str(s) for s in wb.sheetnames]
    finally:
        wb.close()


def _check_inflation(data: bytes, name: str) -> None:
    """Refuse a zip bomb before any XML is parsed: the parts' declared sizes are summed."""
    import zipfile

    from ._readers import max_upload_bytes

    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataFormatError(
            f"{name!r} cannot be opened as an Excel workbook ({one_line(str(exc), 120)}). Save it again "
            "from Excel as .xlsx."
        ) from exc
    inflated = sum(i.file_size for i in infos)
    limit = max(max_upload_bytes(), 1)
    if inflated > limit or inflated > MAX_XLSX_RATIO * max(len(data), 2**20):
        raise DataFormatError(
            f"{name!r} inflates to {format_bytes(inflated)} uncompressed ({inflated / max(len(data), 1):,.0f} "
            "times its size), which no ordinary workbook does: it may be damaged or a 'zip bomb'. Export "
            "the sheet as CSV from Excel and upload that."
        )


def _read_excel(data: bytes, name: str, sheet: str | int | None) -> ReadResult:
    from openpyxl import load_workbook

    sheets = excel_sheets(data, name)
    notes: list[str] = []
    listed = ", ".join(quote(s, 40) for s in sheets[:20]) + (" …" if len(sheets) > 20 else "")
    if isinstance(sheet, str) and sheet.strip().lstrip("-").isdigit() and sheet not in sheets:
        sheet = int(sheet)
    if sheet is None or sheet == "":
        if len(sheets) > 1:
            raise SheetChoiceError(
                f"{name!r} has {len(sheets)} sheets ({listed}); deeprules does not guess which one holds "
                "the table. Choose one: '--sheet NAME' on the command line, 'sheet: NAME' in the study "
                "file, or the sheet picker in the app.",
                sheets,
            )
        chosen: str = sheets[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(sheets):
            raise DataFormatError(
                f"{name!r} has {len(sheets)} sheet(s) ({listed}); there is no sheet #{sheet}."
            )
        chosen = sheets[sheet]
    elif sheet in sheets:
        chosen = sheet
    else:
        raise DataFormatError(f"{name!r} has no sheet named {quote(sheet, 40)}; its sheets are {listed}.")
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        ws = wb[chosen]
        n_rows, n_cols = ws.max_row or 0, ws.max_column or 0
    finally:
        wb.close()
    check_memory(
        n_rows * n_cols * 8 * 4,  # openpyxl holds every cell as a Python object on the way
        name,
        f"sheet {quote(chosen, 40)}, {n_rows:,} x {n_cols:,} cells",
        "Export the sheet as CSV or Parquet, or remove the columns you do not need.",
    )
    head = pd.read_excel(io.BytesIO(data), sheet_name=chosen, header=None, nrows=1, engine="openpyxl")
    if head.empty:
        raise DataFormatError(f"The sheet {chosen!r} of {name!r} is empty.")
    _check_header(["" if pd.isna(v) else str(v) for v in head.iloc[0]], f"{name} [{chosen}]")
    df = pd.read_excel(io.BytesIO(data), sheet_name=chosen, header=0, engine="openpyxl")
    n_formulas = _inert_formulas(data, chosen, df)
    if n_formulas:
        notes.append(
            f"{n_formulas} formula cell(s) had no saved value (the workbook was not recalculated by Excel); "
            "their formulas were kept as plain text, never evaluated."
        )
    df = df.dropna(how="all").dropna(axis=1, how="all")
    if df.shape[0]:
        last = df.iloc[-1, 0]
        if isinstance(last, str) and _SUMMARY_RE.match(last):
            df = df.iloc[:-1]
            notes.append(f"The last row looks like a summary ({last!r}), not a sample; it was dropped.")
    return ReadResult(df.reset_index(drop=True), "xlsx", {"format": "xlsx", "sheet": chosen, "notes": notes})


def _inert_formulas(data: bytes, sheet: str, df: pd.DataFrame) -> int:
    """Formula cells without a saved value come out empty; keep their formula as inert text
    (``=cmd|...`` stays a string: deeprules never evaluates a formula). Returns how many."""
    import zipfile

    from openpyxl import load_workbook

    z = zipfile.ZipFile(io.BytesIO(data))
    sheets_xml = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
    if not any(b"<f>" in (x := z.read(n)) or b"<f " in x for n in sheets_xml):
        return 0  # no formula at all: the common case costs one unzip
    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        n = 0
        for i, row in enumerate(wb[sheet].iter_rows(min_row=2, values_only=True)):
            if i >= df.shape[0]:
                break
            for j, v in enumerate(row[: df.shape[1]]):
                if isinstance(v, str) and v.startswith("=") and pd.isna(df.iat[i, j]):
                    if not pd.api.types.is_object_dtype(df.dtypes.iloc[j]):
                        df[df.columns[j]] = df[df.columns[j]].astype(object)
                    df.iat[i, j] = v
                    n += 1
        return n
    finally:
        wb.close()


#: A metered Parquet read decodes the columns in about this many batches (per row group).
PARQUET_BATCHES = 50


def _read_parquet(data: bytes, name: str, meter: ByteMeter | None = None) -> ReadResult:
    """Read a Parquet file; with ``meter``, column batch by column batch (the same table),
    noting the share decoded so far."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(io.BytesIO(data))
        meta = pf.metadata
        check_memory(
            meta.num_rows * meta.num_columns * 8,
            name,
            f"{meta.num_rows:,} rows x {meta.num_columns:,} columns",
            "Select the rows and columns you need before saving the file.",
        )
        names = pf.schema_arrow.names
        if meter is None or len(set(names)) != len(names):  # duplicate names: one read, refused below
            table = pq.read_table(io.BytesIO(data))
        else:
            table = _metered_parquet(pf, names, meter)
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError(
            f"{name!r} cannot be read as Parquet ({one_line(str(exc), 160)}). Write it again."
        ) from exc
    _check_header([str(n) for n in table.column_names], name)
    df = table.to_pandas()
    notes = []
    if not isinstance(df.index, pd.RangeIndex):
        label = df.index.name or "index"
        df = df.reset_index(names=str(label))
        notes.append(f"The stored index was turned into the column {label!r}.")
    return ReadResult(df, "parquet", {"format": "parquet", "notes": notes})


def _metered_parquet(pf: Any, names: list[str], meter: ByteMeter) -> Any:
    """The file's table, decoded in column batches of every row group (one metered read)."""
    import pyarrow as pa

    step = max(1, -(-len(names) // PARQUET_BATCHES))
    batches = [names[i : i + step] for i in range(0, len(names), step)]
    total, done, groups = pf.num_row_groups * len(batches), 0, []
    for rg in range(pf.num_row_groups):
        columns: dict[str, Any] = {}
        for batch in batches:
            part = pf.read_row_group(rg, columns=batch)
            columns.update({c: part.column(c) for c in batch})
            done += 1
            meter.note(done, total)
        groups.append(pa.table([columns[c] for c in names], schema=pf.schema_arrow))
    if not groups:
        return pf.schema_arrow.empty_table()
    return pa.concat_tables(groups)


def _read_h5ad(data: bytes, name: str) -> ReadResult:
    import tempfile

    import anndata
    import h5py
    import numpy as np
    import scipy.sparse as sp

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.h5ad"
        path.write_bytes(data)
        try:  # backed: obs and var in memory, X read below only if it fits
            adata = anndata.read_h5ad(path, backed="r")
        except (OSError, KeyError, ValueError, TypeError, AttributeError) as exc:
            raise DataFormatError(
                f"{name!r} cannot be read as AnnData .h5ad ({one_line(str(exc), 160)}). Write it again with "
                "adata.write_h5ad()."
            ) from exc
        try:
            if adata.X is None:
                raise DataFormatError(f"{name!r} has no data matrix X. Store the measurements in X.")
            n_obs, n_vars = adata.shape
            sparse = not isinstance(adata.X, h5py.Dataset | np.ndarray)
            dtype = np.dtype(adata.X.dtype)
            if not np.issubdtype(dtype, np.number):
                raise DataFormatError(f"{name!r} has a non-numeric X ({dtype}); store numbers in X.")
            if n_obs * n_vars > MAX_DENSE_CELLS:
                raise DataFormatError(
                    f"{name!r} is {n_obs:,} x {n_vars:,}: too big to hold as a dense table. Select highly "
                    "variable genes or aggregate cells (pseudo-bulk) first."
                )
            check_memory(
                n_obs * n_vars * dtype.itemsize,
                name,
                f"{n_obs:,} observations x {n_vars:,} variables{', sparse, made dense' if sparse else ''}",
                "Select highly variable genes or aggregate cells (pseudo-bulk) first, and write the "
                "smaller AnnData file.",
            )
            X = np.empty((n_obs, n_vars), dtype=dtype)
            step = max(1, (64 * 2**20) // max(1, n_vars * dtype.itemsize))
            for lo in range(0, n_obs, step):  # in slices: never the sparse and the dense copy whole
                part = adata.X[lo : lo + step]
                X[lo : lo + step] = part.toarray() if sp.issparse(part) else np.asarray(part)
            has_raw, layers = adata.raw is not None, list(adata.layers)
            obs_df, var_index, obs_index_name = adata.obs.copy(), adata.var_names, adata.obs.index.name
        except (OSError, KeyError, TypeError, AttributeError) as exc:
            raise DataFormatError(
                f"{name!r} cannot be read as AnnData .h5ad ({one_line(str(exc), 160)}). Write it again with "
                "adata.write_h5ad()."
            ) from exc
        finally:
            adata.file.close()
    var_names = [str(v) for v in var_index]
    try:
        _check_header(var_names, f"{name} (var_names)")
    except DataFormatError as exc:
        raise DataFormatError(
            f"{exc} In Python: adata.var_names_make_unique(), then write the file again."
        ) from exc
    df = pd.DataFrame(X, columns=var_names)
    obs = obs_df.reset_index(drop=False)
    id_name = str(obs_index_name or "obs_id")
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
        + (" (sparse, made dense)" if sparse else "")
        + f", plus {obs.shape[1] - 1} obs column(s) and the obs names as {id_name!r}."
    ]
    if has_raw or layers:
        notes.append(
            "The file also holds "
            + " and ".join(
                x
                for x in (
                    ("adata.raw" if has_raw else ""),
                    (f"layers {layers}" if layers else ""),
                )
                if x
            )
            + "; only X was read. If the model should see other values, store them in X."
        )
    return ReadResult(df, "h5ad", {"format": "h5ad", "notes": notes})
