"""How findings name a sample so that a person can find it in the file.

A sample id names a sample only when it is unique. When the id column repeats values,
or no id column is set, a sample is named by its row as a spreadsheet shows it: the
header is row 1, so the first sample is row 2. Row numbers are 1-based and say "row"
explicitly; 0-based positions stay in the evidence under ``rows``.

Examples
--------
>>> import pandas as pd
>>> from deeprules_core.study import Roles
>>> df = pd.DataFrame({"id": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]})
>>> sample_refs(df, Roles(id="id"), [1, 2])
['row 3 (id b)', 'row 4 (id a)']
>>> sample_refs(df, Roles(), [0])
['row 2']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..study import Roles

__all__ = ["ROW_NOTE", "id_is_unique", "sample_refs", "refs_text", "uses_rows"]

#: Row numbers in messages are those of a spreadsheet with one header row.
FIRST_DATA_ROW = 2
#: Said once in a message that names samples by row.
ROW_NOTE = "row numbers as in a spreadsheet, the header being row 1"


def id_is_unique(df: pd.DataFrame, roles: Roles) -> bool:
    """True when an id column is set and no id occurs twice (missing ids aside)."""
    if not roles.id or roles.id not in df.columns:
        return False
    ids = df[roles.id]
    return not bool(ids[ids.notna()].duplicated().any())


def sample_refs(df: pd.DataFrame, roles: Roles, rows: Sequence[int] | np.ndarray) -> list[str]:
    """Names for the samples at 0-based positions ``rows``: the id when it is unique,
    otherwise "row N" (spreadsheet numbering), with the repeated id in brackets."""
    rows = np.asarray(rows, dtype=int)
    numbers = rows + FIRST_DATA_ROW
    if not roles.id or roles.id not in df.columns:
        return [f"row {k}" for k in numbers]
    ids = df[roles.id].to_numpy()[rows]
    unique = id_is_unique(df, roles)
    out = []
    for k, v in zip(numbers, ids, strict=True):
        if pd.isna(v):
            out.append(f"row {k}")
        elif unique:
            out.append(str(v))
        else:
            out.append(f"row {k} ({roles.id} {v})")
    return out


def uses_rows(refs: Sequence[str]) -> bool:
    """True when any of ``refs`` names a row (then the message explains the numbering)."""
    return any(r.startswith("row ") for r in refs)


def refs_text(refs: Sequence[str], *, limit: int = 3) -> str:
    """``refs`` joined for a message, with the row numbering explained when rows are named.

    >>> refs_text(["row 5 (id 4)", "row 9 (id 4)"])
    'row 5 (id 4), row 9 (id 4); row numbers as in a spreadsheet, the header being row 1'
    """
    text = ", ".join(refs[:limit])
    return text + (f"; {ROW_NOTE}" if uses_rows(refs[:limit]) else "")
