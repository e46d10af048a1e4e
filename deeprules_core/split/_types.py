"""The Split object: the one assignment of samples to train / tune / test (and CV folds)
that every later step uses. No other code splits data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["SIDES", "Split"]

SIDES = ("train", "tune", "test")


@dataclass(frozen=True, eq=False)
class Split:
    """An assignment of every row of a table to a side and (on train) a CV fold.

    ``assignment`` has one row per sample, in the table's row order, with columns
    ``id`` (the sample id, or the row position as a string when the study has no id
    column), ``split`` (``train`` / ``tune`` / ``test``) and ``fold`` (0..K-1 on the
    training side when cross-validation folds were made, -1 elsewhere).
    """

    strategy: str
    seed: int
    assignment: pd.DataFrame
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        a = self.assignment
        missing = {"id", "split", "fold"} - set(a.columns)
        if missing:
            raise ValueError(f"A split assignment needs the columns id, split, fold; missing {missing}.")
        bad = set(a["split"].unique()) - set(SIDES)
        if bad:
            raise ValueError(f"Unknown split side(s) {bad}; sides are {SIDES}.")
        a = a[["id", "split", "fold"]].reset_index(drop=True).copy()
        a["id"] = a["id"].astype(str)
        a["fold"] = a["fold"].astype(int)
        object.__setattr__(self, "assignment", a)

    @property
    def sha256(self) -> str:
        """Checksum of the assignment (id, split, fold): what the lock records."""
        return hashlib.sha256(self.to_csv().encode("utf-8")).hexdigest()

    @property
    def n_folds(self) -> int:
        folds = self.assignment["fold"]
        return int(folds.max()) + 1 if (folds >= 0).any() else 0

    def indices(self, side: str) -> np.ndarray:
        """Row positions (into the table) of one side."""
        if side not in SIDES:
            raise ValueError(f"The 'side' must be one of {SIDES}. Got {side!r}.")
        return np.flatnonzero(self.assignment["split"].to_numpy() == side)

    def sizes(self) -> dict[str, int]:
        return {s: int((self.assignment["split"] == s).sum()) for s in SIDES}

    def cv_folds(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(fit rows, validation rows) per CV fold, as row positions into the table.
        Only rows of the training side take part."""
        fold = self.assignment["fold"].to_numpy()
        train = self.assignment["split"].to_numpy() == "train"
        for k in range(self.n_folds):
            yield np.flatnonzero(train & (fold != k) & (fold >= 0)), np.flatnonzero(train & (fold == k))

    def to_csv(self) -> str:
        return self.assignment.to_csv(index=False, lineterminator="\n")

    @classmethod
    def from_csv(cls, text: str, *, strategy: str = "from_file", seed: int = 0) -> Split:
        from io import StringIO

        from ..errors import SplitError

        want = "a split file (a CSV with the columns id, split and fold, as deeprules writes split.csv)"
        # keep_default_na=False: a sample called "NA" or "null" keeps its name
        try:
            a = pd.read_csv(StringIO(text), dtype={"id": str, "split": str}, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise SplitError(f"This is not {want}: it cannot be read as CSV.") from exc
        missing = [c for c in ("id", "split") if c not in a.columns]
        if missing:
            raise SplitError(f"This is not {want}: it has no column {', '.join(map(repr, missing))}.")
        odd = sorted(set(a["split"]) - {"train", "tune", "test"})
        if odd:
            raise SplitError(
                f"This is not {want}: its 'split' column holds {', '.join(repr(str(v)[:20]) for v in odd[:5])}, "
                "not only train, tune and test."
            )
        return cls(strategy=strategy, seed=seed, assignment=a)
