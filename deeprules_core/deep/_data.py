"""Data representations for the deep models (Tip 5).

Two representations, chosen by the column roles:

* **tabular**: the feature columns as a float matrix (missing values stay NaN; the
  network's first layer standardises with statistics of the training rows only and
  puts a missing value at the training mean);
* **sequence**: a DNA, RNA or protein string column as integer tokens (0 = padding,
  1 = an unknown letter such as ``N``, 2.. = the alphabet), padded to the longest
  sequence. The network one-hot encodes the tokens itself and ignores padding in its
  global max pooling, so sequences of any length are handled without truncation.

Examples
--------
>>> alphabet = detect_alphabet(["ACGT", "GGNA"])
>>> alphabet.name, alphabet.letters
('dna', 'ACGT')
>>> encode_sequences(["ACG", "TN"], alphabet=alphabet).tolist()
[[2, 3, 4], [5, 1, 0]]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ColumnError, DataFormatError, ModelError
from ..study import Roles

__all__ = [
    "Alphabet",
    "ALPHABETS",
    "detect_alphabet",
    "encode_sequences",
    "TaskData",
    "label_classes",
    "prepare",
]

PAD, UNKNOWN = 0, 1

#: Letters kept per alphabet; anything else that the alphabet tolerates (``N`` in DNA,
#: ``X`` in proteins, gaps) becomes the "unknown" token: an all-zero one-hot column.
ALPHABETS: dict[str, str] = {
    "dna": "ACGT",
    "rna": "ACGU",
    "protein": "ACDEFGHIKLMNPQRSTVWY",
}
_TOLERATED = {
    "dna": set("ACGTNRYSWKMBDHV-.U"),
    "rna": set("ACGUNRYSWKMBDHV-."),
    "protein": set("ACDEFGHIKLMNPQRSTVWYXBZJUO*-."),
}


@dataclass(frozen=True)
class Alphabet:
    """The sequence alphabet: its name (dna / rna / protein) and the one-hot letters."""

    name: str
    letters: str

    @property
    def n_channels(self) -> int:
        return len(self.letters)


def _clean(seq: Any) -> str:
    if seq is None or (isinstance(seq, float) and np.isnan(seq)):
        return ""
    return "".join(str(seq).split()).upper()


def detect_alphabet(sequences: Iterable[Any]) -> Alphabet:
    """Guess whether the strings are DNA, RNA or protein from the letters they use.

    Raises
    ------
    DataFormatError
        When the letters fit none of the three alphabets.
    """
    letters: set[str] = set()
    for s in sequences:
        letters |= set(_clean(s))
    if not letters:
        raise DataFormatError(
            "The sequence column is empty: every value is missing. A 1D CNN needs the "
            "sequences; check the column chosen as 'sequence' on the Data page."
        )
    if letters <= _TOLERATED["dna"] and ("T" in letters or "U" not in letters):
        return Alphabet("dna", ALPHABETS["dna"])
    if letters <= _TOLERATED["rna"]:
        return Alphabet("rna", ALPHABETS["rna"])
    if letters <= _TOLERATED["protein"]:
        return Alphabet("protein", ALPHABETS["protein"])
    odd = sorted(letters - _TOLERATED["protein"])
    raise DataFormatError(
        f"The sequence column contains characters that are neither nucleotides nor amino "
        f"acids: {''.join(odd[:20])!r}. A one-hot encoding needs DNA, RNA or protein letters; "
        "remove headers, numbers or separators from the sequences."
    )


def encode_sequences(
    sequences: Sequence[Any], *, alphabet: Alphabet, length: int | None = None
) -> np.ndarray:
    """Integer tokens (n, length) for one-hot encoding inside the network.

    ``length`` defaults to the longest sequence; shorter ones are padded with 0 and
    longer ones are never cut unless ``length`` is given.
    """
    table = np.full(256, UNKNOWN, dtype=np.int64)
    for i, ch in enumerate(alphabet.letters):
        table[ord(ch)] = i + 2
    cleaned = [_clean(s) for s in sequences]
    width = length if length is not None else max((len(s) for s in cleaned), default=1)
    out = np.zeros((len(cleaned), max(width, 1)), dtype=np.int64)
    for row, s in enumerate(cleaned):
        codes = np.frombuffer(s[:width].encode("ascii", "replace"), dtype=np.uint8)
        out[row, : len(codes)] = table[codes]
    return out


def label_classes(y: pd.Series) -> list[Any]:
    """The classes in a fixed order (sorted), the column order of predicted probabilities."""
    values = y.dropna().to_numpy()
    try:
        return list(np.unique(values))
    except TypeError:  # mixed types: sort by their text
        return sorted(set(values.tolist()), key=str)


@dataclass
class TaskData:
    """The model inputs for one set of rows: x (floats or tokens), targets, ids and groups."""

    x: np.ndarray
    y: np.ndarray | None
    ids: np.ndarray
    groups: np.ndarray | None
    y_raw: np.ndarray | None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, rows: np.ndarray) -> TaskData:
        return TaskData(
            x=self.x[rows],
            y=None if self.y is None else self.y[rows],
            ids=self.ids[rows],
            groups=None if self.groups is None else self.groups[rows],
            y_raw=None if self.y_raw is None else self.y_raw[rows],
        )


def prepare(
    df: pd.DataFrame,
    roles: Roles,
    *,
    representation: str,
    features: Sequence[str] | None = None,
    alphabet: Alphabet | None = None,
    classes: Sequence[Any] | None = None,
    need_label: bool = True,
) -> TaskData:
    """Turn table rows into model inputs.

    ``representation`` is ``"tabular"`` (the feature columns) or ``"sequence"`` (the
    column with the role ``sequence``). Classification targets become class indices
    into ``classes``; regression targets stay floats.
    """
    if representation == "sequence":
        if not roles.sequence or roles.sequence not in df.columns:
            raise ColumnError(
                "A 1D CNN needs a sequence column (DNA, RNA or protein strings). Give a column "
                "the role 'sequence' on the Data page, or use the MLP on the numeric features."
            )
        alphabet = alphabet or detect_alphabet(df[roles.sequence])
        x = encode_sequences(df[roles.sequence].tolist(), alphabet=alphabet)
    else:
        cols = list(features) if features is not None else roles.feature_columns(df)
        if not cols:
            raise ColumnError(
                "There is no numeric feature column to train an MLP on. Mark the measurement "
                "columns as features on the Data page."
            )
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise ColumnError(
                f"The table lacks the feature column(s) {missing} that the model was trained on."
            )
        try:
            x = df[cols].to_numpy(dtype=np.float32)
            x[np.isinf(x)] = np.nan  # infinite values count as missing (out_of_range_values finding)
        except (TypeError, ValueError) as exc:
            raise DataFormatError(
                f"Some feature columns are not numeric ({exc}). Fix the types on the Checks page "
                "or leave those columns out of the features."
            ) from exc
    if roles.id and roles.id in df.columns:
        ids = df[roles.id].astype(str).to_numpy()
    else:  # the split names rows by their position when the study has no id column
        ids = np.arange(len(df)).astype(str)
    groups = df[roles.group].astype(str).to_numpy() if roles.group and roles.group in df.columns else None
    y = y_raw = None
    if need_label and roles.label:
        col = df[roles.label]
        y_raw = col.to_numpy()
        if roles.task == "classification":
            classes = list(classes) if classes is not None else label_classes(col)
            lookup = {c: i for i, c in enumerate(classes)}
            try:
                y = np.array([lookup[v] if not pd.isna(v) else -1 for v in y_raw], dtype=np.int64)
            except KeyError as exc:
                raise ModelError(
                    f"The label value {exc.args[0]!r} was not seen when the model was trained."
                ) from exc
        else:
            y = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float32)
    return TaskData(x=x, y=y, ids=ids, groups=groups, y_raw=y_raw)
