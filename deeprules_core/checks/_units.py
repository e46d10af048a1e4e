"""Reading numbers that were typed as text: "12.5 mg", "1,234", "<0.1", "37 °C".

Only suffixes that are known units count: "3a" (a tumour stage) is not "3 years".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "MISSING_TOKENS",
    "ParsedValue",
    "parse_value",
    "unit_dimension",
    "string_columns",
    "missing_token_mask",
    "without_missing_tokens",
]

#: Text that people type for "no value". Counted as missing, never as a category.
MISSING_TOKENS = frozenset(
    {
        "",
        "na",
        "n/a",
        "n.a.",
        "nan",
        "none",
        "null",
        "missing",
        "unknown",
        "not available",
        "nd",
        "n.d.",
        "not determined",
        "-",
        "--",
        "?",
        "#n/a",
        ".",
    }
)

_NUM = re.compile(
    r"""^\s*(?P<cmp>[<>≤≥~]=?)?\s*
    (?P<num>[-+−]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][-+]?\d+)?)
    \s*(?P<unit>[^\d\s].*?)?\s*$""",
    re.VERBOSE,
)

# unit token -> (dimension, canonical unit). Exact spelling first, then lower case.
_UNITS: dict[str, tuple[str, str]] = {}


def _add(dimension: str, canonical: str, *spellings: str) -> None:
    for s in (canonical, *spellings):
        _UNITS[s] = (dimension, canonical)


_add("mass", "kg", "kgs", "kilogram", "kilograms")
_add("mass", "g", "gram", "grams", "gr")
_add("mass", "mg", "milligram", "milligrams")
_add("mass", "µg", "μg", "ug", "mcg")
_add("mass", "ng")
_add("mass", "pg")
_add("mass", "lb", "lbs", "pound", "pounds")
_add("mass", "oz", "ounce", "ounces")
_add("mass", "st", "stone")
_add("temperature", "°C", "ºC", "degC", "deg C", "C", "celsius", "Celsius")
_add("temperature", "°F", "ºF", "degF", "deg F", "F", "fahrenheit", "Fahrenheit")
_add("temperature", "K", "kelvin")
_add("concentration", "M", "mol/L", "mol/l")
_add("concentration", "mM", "mmol/L", "mmol/l", "mmol")
_add("concentration", "µM", "μM", "uM", "µmol/L", "umol/L", "umol/l", "µmol/l")
_add("concentration", "nM", "nmol/L", "nmol/l")
_add("concentration", "pM", "pmol/L", "pmol/l")
_add("mass concentration", "mg/dL", "mg/dl")
_add("mass concentration", "g/dL", "g/dl")
_add("mass concentration", "g/L", "g/l")
_add("mass concentration", "mg/L", "mg/l")
_add("mass concentration", "µg/mL", "ug/mL", "ug/ml", "μg/mL", "µg/ml")
_add("mass concentration", "ng/mL", "ng/ml")
_add("mass concentration", "pg/mL", "pg/ml")
_add("length", "m", "metre", "meter", "metres", "meters")
_add("length", "cm", "centimetre", "centimeter")
_add("length", "mm", "millimetre", "millimeter")
_add("length", "µm", "μm", "um", "micron", "microns")
_add("length", "in", "inch", "inches", '"')
_add("length", "ft", "feet", "foot", "'")
_add("volume", "L", "l", "litre", "liter")
_add("volume", "mL", "ml")
_add("volume", "µL", "μL", "uL", "ul", "µl")
_add("time", "s", "sec", "secs", "second", "seconds")
_add("time", "min", "mins", "minute", "minutes")
_add("time", "h", "hr", "hrs", "hour", "hours")
_add("time", "d", "day", "days")
_add("time", "wk", "wks", "week", "weeks")
_add("time", "mo", "month", "months")
_add("time", "y", "yr", "yrs", "year", "years", "yo", "y.o.")
_add("pressure", "mmHg", "mmhg")
_add("pressure", "kPa", "kpa")
_add("fraction", "%", "percent", "pct")
_add("length (sequence)", "bp", "kb", "Mb", "kbp", "Mbp")
_add("rate", "bpm", "/min")
_add("dose", "IU", "iu", "U", "IU/L", "U/L", "iu/l", "u/l")


@dataclass(frozen=True)
class ParsedValue:
    """A text value read as a number, with its comparison sign and unit, if any."""

    value: float
    unit: str | None  # canonical unit, None when there was no unit
    dimension: str | None
    censored: bool  # "<0.1", ">1000"
    thousands: bool  # "1,234"
    decimal_comma: bool  # "12,5"


def unit_dimension(token: str) -> tuple[str, str] | None:
    """(dimension, canonical unit) of a unit token, or None when it is not a known unit."""
    token = token.strip().rstrip(".")
    if token in _UNITS:
        return _UNITS[token]
    low = token.lower()
    for k, v in _UNITS.items():
        if k.lower() == low and v[1] not in ("M", "mM", "µM", "nM", "pM", "m"):
            return v
    return None


def parse_value(text: str) -> ParsedValue | None:
    """Read ``text`` as a number with an optional known unit; None if it is not one.

    >>> parse_value("12.5 mg").unit
    'mg'
    >>> parse_value("1,234").value
    1234.0
    >>> parse_value("3a") is None
    True
    """
    m = _NUM.match(text)
    if m is None:
        return None
    raw = m.group("num").replace("−", "-")
    unit_tok = m.group("unit")
    dim = None
    unit = None
    if unit_tok:
        found = unit_dimension(unit_tok)
        if found is None:
            return None
        dim, unit = found
    thousands = bool(re.search(r"\d,\d{3}(?!\d)", raw)) and raw.count(",") >= 1 and "." not in raw
    thousands = thousands or bool(re.search(r"\d,\d{3},", raw)) or bool(re.search(r",\d{3}\.", raw))
    decimal_comma = "," in raw and not thousands
    if thousands:
        num = raw.replace(",", "")
    elif decimal_comma:
        num = raw.replace(",", ".")
    else:
        num = raw
    try:
        value = float(num)
    except ValueError:
        return None
    return ParsedValue(value, unit, dim, bool(m.group("cmp")), thousands, decimal_comma)


def string_columns(df: pd.DataFrame) -> list[str]:
    """Columns that hold text (object, string or categorical dtype), from ``df.dtypes``."""
    seen: dict[object, bool] = {}
    out = []
    for c, dt in df.dtypes.items():
        ok = seen.get(dt)
        if ok is None:
            ok = seen[dt] = (
                pd.api.types.is_object_dtype(dt)
                or pd.api.types.is_string_dtype(dt)
                or isinstance(dt, pd.CategoricalDtype)
            )
        if ok:
            out.append(c)
    return out


def missing_token_mask(s: pd.Series) -> pd.Series:
    """True where a text column holds a value people type for "no value" ('.', 'NA', '')."""
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(False, index=s.index)
    text = s.astype("object").where(s.notna(), None)
    return text.map(lambda v: v is not None and str(v).strip().lower() in MISSING_TOKENS).astype(bool)


def without_missing_tokens(s: pd.Series) -> pd.Series:
    """``s`` with missing-value tokens set to missing: a label typed '.' is no label, not a class.

    >>> without_missing_tokens(pd.Series(["a", ".", "b", "n/a"])).isna().tolist()
    [False, True, False, True]
    """
    mask = missing_token_mask(s)
    return s.mask(mask) if bool(mask.any()) else s
