"""Memory guard: refuse a table whose in-memory size would be above ``DEEPRULES_MAX_MEMORY``
before reading it, instead of letting the machine run out of memory.

The limit is the largest in-memory size of one table (reading and caching it needs about
two to three times that at the peak). Default: a quarter of the machine's memory (or of
the container's memory limit, when there is one). ``DEEPRULES_MAX_MEMORY`` accepts a
number of bytes or a size such as ``8GB``, ``500MB``, ``2.5G``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..errors import DataFormatError

__all__ = ["max_memory_bytes", "check_memory", "format_bytes"]

DEFAULT_FRACTION = 0.25
_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def format_bytes(n: float) -> str:
    """A size in words: '5.96 GB', '512 MB', '20 KB'."""
    for unit, size in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= size:
            return f"{n / size:,.2f} {unit}" if n < 10 * size else f"{n / size:,.0f} {unit}"
    return f"{int(n)} bytes"


def _machine_memory() -> int:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            raw = Path(f).read_text().strip()
        except OSError:
            continue
        if raw.isdigit() and 0 < int(raw) < total:
            total = int(raw)
    return int(total)


def max_memory_bytes() -> int:
    """The largest in-memory size of one table, from ``DEEPRULES_MAX_MEMORY``."""
    raw = os.environ.get("DEEPRULES_MAX_MEMORY", "").strip()
    if not raw:
        return int(_machine_memory() * DEFAULT_FRACTION)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", raw.lower())
    if m is None:
        raise DataFormatError(
            f"DEEPRULES_MAX_MEMORY must be a size such as '8GB' or '500MB'; got {raw[:40]!r}."
        )
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def check_memory(n_bytes: float, name: str, what: str, advice: str) -> None:
    """Refuse when ``n_bytes`` (an estimate of the table in memory) is over the limit.

    Examples
    --------
    >>> import os; os.environ["DEEPRULES_MAX_MEMORY"] = "1MB"
    >>> check_memory(2 * 2**20, "x.csv", "1,000 x 262 numbers", "Drop columns.")
    Traceback (most recent call last):
    ...
    deeprules_core.errors.DataFormatError: 'x.csv' (1,000 x 262 numbers) would take about 2.00 MB in memory, over the limit of 1.00 MB (DEEPRULES_MAX_MEMORY). Drop columns.
    >>> del os.environ["DEEPRULES_MAX_MEMORY"]
    """
    limit = max_memory_bytes()
    if n_bytes > limit:
        raise DataFormatError(
            f"{name!r} ({what}) would take about {format_bytes(n_bytes)} in memory, over the limit of "
            f"{format_bytes(limit)} (DEEPRULES_MAX_MEMORY). {advice}"
        )
