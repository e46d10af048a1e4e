"""How the report writes numbers, metrics, model names and counts (one place for all).

* numbers in fixed decimals, never in scientific notation for ordinary magnitudes
  (``< 0.001`` for a tiny positive value, ``p < 0.001`` for a p-value);
* metric keys as readers know them (``auprc`` -> AUPRC);
* model families by task: the family ``logistic_regression`` is an elastic-net *linear*
  regression when the task is regression;
* counts with the right plural ("1 feature", "2 features").

Examples
--------
>>> model_label("logistic_regression", "regression")
'linear regression (elastic net)'
>>> plural(1, "sample"), plural(3, "class", "classes")
('1 sample', '3 classes')
>>> fmt_num(0.00004), fmt_ci({"value": -0.018, "low": -0.153, "high": -2.1e-05}, compact=True)
('< 0.001', '-0.018 [-0.153, -0.000]')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..names import METRIC_NAMES, finite, fmt_p, model_label

__all__ = [
    "METRIC_NAMES",
    "fmt_num",
    "fmt_fixed",
    "fmt_ci",
    "fmt_p",
    "fmt_value",
    "metric_name",
    "model_label",
    "plural",
]


def fmt_fixed(value: Any, digits: int = 3) -> str:
    """Fixed decimals whatever the magnitude ('-0.000' keeps the sign of a tiny negative)."""
    v = finite(value)
    if v is None:
        return "n/a"
    if abs(v) >= 1e6:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def fmt_num(value: Any, digits: int = 3) -> str:
    """A number on its own: fixed digits, '< 0.001' for a tiny positive value, 'n/a' when missing."""
    v = finite(value)
    if v is None:
        return "n/a"
    tiny = 10 ** (-digits)
    if 0 < v < tiny:
        return f"< {tiny:.{digits}f}"
    if -tiny < v < 0:
        return f"> -{tiny:.{digits}f}"
    return fmt_fixed(v, digits)


def fmt_ci(entry: Mapping[str, Any] | None, digits: int = 3, *, compact: bool = False) -> str:
    """``{"value", "low", "high"}`` as '0.812 (95% CI 0.741–0.880)', or '0.812 [0.741, 0.880]'
    when ``compact`` (tables whose header says "95% CI"). Bounds keep fixed decimals; one
    decimal when a number reaches 10."""
    if not entry or finite(entry.get("value")) is None:
        return "n/a"
    low, high = finite(entry.get("low")), finite(entry.get("high"))
    if max(abs(v) for v in (finite(entry["value"]), low, high) if v is not None) >= 10:
        digits = 1  # errors in the outcome's units (MAE 38.7 ms): three decimals are noise
    out = fmt_fixed(entry["value"], digits)
    if low is not None and high is not None:
        lo, hi = fmt_fixed(low, digits), fmt_fixed(high, digits)
        if compact:
            out += f" [{lo}, {hi}]"
        else:
            out += f" (95% CI {lo} to {hi})" if low < 0 else f" (95% CI {lo}–{hi})"
    return out


def fmt_value(value: Any, *, key: str = "") -> str:
    """A hyper-parameter or evidence value: p-values as p, floats without long tails."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    v = finite(value)
    if v is None:
        return str(value)
    if "p_value" in key or key in ("p", "pvalue"):
        return fmt_p(v, bare=True)
    if v == 0 or 1e-4 <= abs(v) < 1e4:
        return f"{v:.4g}"
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    return f"{v:.1e}"  # learning rates and weight decays below 1e-4 are written so


def metric_name(key: str) -> str:
    """The reader's name of a metric key (``auprc`` -> 'AUPRC')."""
    return METRIC_NAMES.get(key, key)


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 sample', '2 samples' (``many`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
