"""The two-file layout biologists really have: a measurement matrix plus a sample sheet.

The matrix holds samples as rows (first column: sample id) or as columns (first column:
gene/feature id, one column per sample, as GEO series matrices and count tables come).
The sample sheet holds one row per sample with its metadata. They are joined on the
sample id, and a :class:`JoinReport` says which ids were found in only one file.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from ..errors import ColumnError, DataFormatError
from ._readers import ReadResult, parse_table

__all__ = ["JoinReport", "read_matrix_with_sample_sheet", "join_matrix_and_sheet"]

Orientation = Literal["auto", "samples_as_rows", "samples_as_columns"]
ORIENTATIONS = ("auto", "samples_as_rows", "samples_as_columns")
#: how many unmatched ids a report lists (the counts are always complete)
_MAX_LISTED = 200


@dataclass(frozen=True)
class JoinReport:
    """How the matrix and the sample sheet were joined.

    ``only_in_matrix`` / ``only_in_sheet`` list up to 200 unmatched ids; the ``n_*``
    counts are complete.
    """

    id_column: str
    orientation: str
    n_matrix: int
    n_sheet: int
    matched: int
    n_only_in_matrix: int
    n_only_in_sheet: int
    only_in_matrix: tuple[str, ...] = ()
    only_in_sheet: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.n_only_in_matrix == 0 and self.n_only_in_sheet == 0

    def summary(self) -> str:
        """One sentence for the user."""
        text = (
            f"{self.matched} samples matched on {self.id_column!r} "
            f"({self.orientation.replace('_', ' ')}; matrix {self.n_matrix}, sample sheet {self.n_sheet})."
        )
        if self.n_only_in_matrix:
            text += f" {self.n_only_in_matrix} in the matrix only (dropped: no metadata)."
        if self.n_only_in_sheet:
            text += f" {self.n_only_in_sheet} in the sample sheet only (dropped: no measurements)."
        return text

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["only_in_matrix"] = list(self.only_in_matrix)
        d["only_in_sheet"] = list(self.only_in_sheet)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JoinReport:
        kw = dict(data)
        kw["only_in_matrix"] = tuple(kw.get("only_in_matrix", ()))
        kw["only_in_sheet"] = tuple(kw.get("only_in_sheet", ()))
        return cls(**kw)


def _ids(values: Any) -> list[str]:
    out = []
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        out.append("" if pd.isna(v) else str(v).strip())
    return out


def _duplicates(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    dup: list[str] = []
    for i in ids:
        if i in seen and i not in dup:
            dup.append(i)
        seen.add(i)
    return dup


def _candidates(matrix: pd.DataFrame, sheet: pd.DataFrame, id_column: str | None, orientation: str):
    """Yield (overlap, orientation, sheet column) for every plausible pairing."""
    if id_column is not None and id_column not in sheet.columns:
        raise ColumnError(
            f"The sample sheet has no column {id_column!r}; its columns are {list(sheet.columns)[:20]}."
        )
    sheet_cols = [id_column] if id_column else [c for c in sheet.columns if sheet[c].dtype != float]
    row_key = id_column if id_column in matrix.columns else matrix.columns[0]
    row_ids = set(_ids(matrix[row_key]))
    col_ids = set(map(str, matrix.columns[1:]))
    for col in sheet_cols:
        ids = set(_ids(sheet[col]))
        if orientation in ("auto", "samples_as_rows"):
            yield len(ids & row_ids), "samples_as_rows", col
        if orientation in ("auto", "samples_as_columns"):
            yield len(ids & col_ids), "samples_as_columns", col


def join_matrix_and_sheet(
    matrix: pd.DataFrame,
    sheet: pd.DataFrame,
    *,
    id_column: str | None = None,
    orientation: Orientation = "auto",
    matrix_name: str = "matrix",
    sheet_name: str = "sample sheet",
) -> tuple[pd.DataFrame, JoinReport]:
    """Join two parsed tables; see :func:`read_matrix_with_sample_sheet`."""
    if orientation not in ORIENTATIONS:
        raise ValueError(f"The 'orientation' must be one of {ORIENTATIONS}. Got {orientation!r}.")
    cands = sorted(_candidates(matrix, sheet, id_column, orientation), key=lambda t: -t[0])
    if not cands or cands[0][0] == 0:
        row_ex = _ids(matrix.iloc[:3, 0])
        col_ex = list(map(str, matrix.columns[1:4]))
        sheet_col = id_column or sheet.columns[0]
        raise DataFormatError(
            f"No sample id of the sample sheet {sheet_name!r} (column {sheet_col!r}, e.g. "
            f"{_ids(sheet[sheet_col].head(3))}) matches the matrix {matrix_name!r} (first column e.g. "
            f"{row_ex}; column names e.g. {col_ex}). Check that both files use the same ids "
            "(same spelling, no prefixes such as 'X' added by R), and choose the id column and the "
            "orientation of the matrix."
        )
    _, orient, col = cands[0]
    sheet_ids = _ids(sheet[col])
    dup = _duplicates(sheet_ids)
    if dup:
        raise DataFormatError(
            f"In the sample sheet {sheet_name!r} the ids {dup[:10]} occur more than once in {col!r}. "
            "Each sample needs one row in the sample sheet."
        )
    if orient == "samples_as_rows":
        key = col if col in matrix.columns else matrix.columns[0]
        data = matrix.drop(columns=[key])
        matrix_ids = _ids(matrix[key])
    else:
        feat_ids = _ids(matrix.iloc[:, 0])
        dup_f = _duplicates(feat_ids)
        if dup_f:
            raise DataFormatError(
                f"In {matrix_name!r} the feature ids {dup_f[:10]} occur on more than one row. Aggregate "
                "duplicated genes/probes (e.g. keep the mean) or make their names unique first."
            )
        data = matrix.iloc[:, 1:].T
        data.columns = feat_ids
        matrix_ids = list(map(str, matrix.columns[1:]))
        if not all(pd.api.types.is_numeric_dtype(t) for t in data.dtypes):
            data = data.infer_objects()
    dup = _duplicates(matrix_ids)
    if dup:
        raise DataFormatError(
            f"In the matrix {matrix_name!r} the sample ids {dup[:10]} occur more than once."
        )
    data = data.reset_index(drop=True)
    clash = sorted(set(map(str, data.columns)) & (set(map(str, sheet.columns)) - {col}))
    if clash:
        raise DataFormatError(
            f"The columns {clash[:10]} appear in both the matrix and the sample sheet. Rename one of them."
        )
    pos = {sid: i for i, sid in enumerate(matrix_ids)}
    in_sheet = set(sheet_ids)
    keep_sheet = [i for i, sid in enumerate(sheet_ids) if sid in pos]
    only_matrix = [sid for sid in matrix_ids if sid not in in_sheet]
    only_sheet = [sid for sid in sheet_ids if sid not in pos]
    left = sheet.iloc[keep_sheet].reset_index(drop=True).copy()
    left[col] = [sheet_ids[i] for i in keep_sheet]
    right = data.iloc[[pos[sheet_ids[i]] for i in keep_sheet]].reset_index(drop=True)
    joined = pd.concat([left, right], axis=1)
    report = JoinReport(
        id_column=str(col),
        orientation=orient,
        n_matrix=len(matrix_ids),
        n_sheet=len(sheet_ids),
        matched=len(keep_sheet),
        n_only_in_matrix=len(only_matrix),
        n_only_in_sheet=len(only_sheet),
        only_in_matrix=tuple(only_matrix[:_MAX_LISTED]),
        only_in_sheet=tuple(only_sheet[:_MAX_LISTED]),
    )
    return joined, report


def read_matrix_with_sample_sheet(
    matrix_source: bytes | str | os.PathLike[str],
    sheet_source: bytes | str | os.PathLike[str],
    *,
    matrix_name: str | None = None,
    sheet_name: str | None = None,
    id_column: str | None = None,
    orientation: Orientation = "auto",
) -> tuple[pd.DataFrame, JoinReport]:
    """Read a measurement matrix and a sample sheet and join them on the sample id.

    Parameters
    ----------
    matrix_source, sheet_source : bytes or path
        The two files (any supported format).
    matrix_name, sheet_name : str
        Their names (the extension tells the format).
    id_column : str, optional
        The sample sheet's id column. Default: the column whose values match the matrix best.
    orientation : {"auto", "samples_as_rows", "samples_as_columns"}
        Samples as rows (first column: sample id) or as columns (first column: feature id).
        ``"auto"`` picks the one whose ids match the sample sheet.

    Returns
    -------
    (pandas.DataFrame, JoinReport)
        One row per matched sample: the sample sheet's columns, then the features; and the
        report of ids found in only one of the files.

    Raises
    ------
    DataFormatError
        When no id matches, ids repeat, or a file cannot be read.

    Examples
    --------
    >>> m = b"gene,S1,S2,S3\\nTP53,1.0,2.0,3.0\\nMYC,4.0,5.0,6.0\\n"
    >>> s = b"sample,condition\\nS1,tumour\\nS2,normal\\nS4,normal\\n"
    >>> df, rep = read_matrix_with_sample_sheet(m, s, matrix_name="m.csv", sheet_name="s.csv")
    >>> list(df.columns), rep.matched, rep.only_in_sheet
    (['sample', 'condition', 'TP53', 'MYC'], 2, ('S4',))
    """
    m: ReadResult = parse_table(matrix_source, name=matrix_name)
    s: ReadResult = parse_table(sheet_source, name=sheet_name)
    return join_matrix_and_sheet(
        m.df,
        s.df,
        id_column=id_column,
        orientation=orientation,
        matrix_name=matrix_name or "matrix",
        sheet_name=sheet_name or "sample sheet",
    )
