"""A progress bar for the command line (``run``): one line that updates in place.

On a terminal the bar redraws one line (``\\r``) at most every :data:`REDRAW_S` seconds;
in a log file (not a terminal) it prints one line per stage, where a stage is the
message without its numbers ("permutation 3 of 20" and "permutation 4 of 20" are one
stage), so a run writes a few dozen lines instead of hundreds.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

__all__ = ["ProgressBar"]

REDRAW_S = 0.2
WIDTH = 28
_NUMBERS = re.compile(r"\d+(\.\d+)?")


class ProgressBar:
    """``bar(fraction, message)``; call :meth:`close` at the end."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_draw = 0.0
        self.last_stage = ""
        self.drawn = False

    def __call__(self, fraction: float, message: str) -> None:
        f = min(max(float(fraction), 0.0), 1.0)
        if self.tty:
            now = time.monotonic()
            if now - self.last_draw < REDRAW_S and f < 1.0:
                return
            self.last_draw = now
            filled = int(round(WIDTH * f))
            line = f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {f:4.0%} {message[:70]:<70}"
            self.stream.write(line)
            self.stream.flush()
            self.drawn = True
            return
        stage = _NUMBERS.sub("#", message)
        if stage != self.last_stage:
            self.last_stage = stage
            self.stream.write(f"[{f:4.0%}] {message}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
