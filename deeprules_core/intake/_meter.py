"""How far a parser has read a file: the honest progress of an upload.

The parser reads the bytes through :class:`MeteredBytes`, which notes its position after
every read (pandas' C engine reads 256 KiB at a time, pyarrow 1 MiB); the caller's thread
drains the noted fractions and reports them (a page may only draw from its own thread).

Examples
--------
>>> meter = ByteMeter(step=0.25)
>>> f = MeteredBytes(b"x" * 100, meter)
>>> for _ in range(4):
...     _ = f.read(25)
>>> meter.drain()
[0.25, 0.5, 0.75, 1.0]
"""

from __future__ import annotations

import io
import queue
from collections.abc import Callable
from concurrent.futures import Future, wait
from typing import Any, TypeVar

__all__ = ["ByteMeter", "MeteredBytes", "follow"]

T = TypeVar("T")
#: Smallest change of the fraction read that is reported (1%: at most 100 updates).
STEP = 0.01
#: How often the caller's thread reports what the parser has read, in seconds.
POLL_S = 0.05


class ByteMeter:
    """The fractions of a file read so far, noted from whichever thread reads it.

    Only increases of at least ``step`` are kept, so the fractions drained are strictly
    increasing even when a parser starts over (pyarrow refused, the C engine re-reads).
    """

    def __init__(self, step: float = STEP) -> None:
        self.step = float(step)
        self._last = 0.0
        self._noted: queue.SimpleQueue[float] = queue.SimpleQueue()

    def note(self, done: int, total: int) -> None:
        """Note that ``done`` of ``total`` bytes were read."""
        frac = min(1.0, done / max(total, 1))
        if frac - self._last >= self.step or (frac >= 1.0 > self._last):
            self._last = frac
            self._noted.put(frac)

    def drain(self) -> list[float]:
        """The fractions noted since the last call, in order."""
        out = []
        while True:
            try:
                out.append(self._noted.get_nowait())
            except queue.Empty:
                return out


class MeteredBytes(io.BytesIO):
    """An in-memory file that tells a :class:`ByteMeter` how far it has been read."""

    def __init__(self, data: bytes | memoryview, meter: ByteMeter | None) -> None:
        super().__init__(data)
        self._meter = meter
        self._size = len(data)

    def _noted(self, out: T) -> T:
        if self._meter is not None:
            self._meter.note(self.tell(), self._size)
        return out

    def read(self, size: int | None = -1) -> bytes:
        return self._noted(super().read(size))

    def read1(self, size: int | None = -1) -> bytes:
        return self._noted(super().read1(size))

    def readinto(self, buffer: Any) -> int:
        return self._noted(super().readinto(buffer))


def follow(job: Future[T], meter: ByteMeter, progress: Callable[[float], None]) -> T:
    """Wait for ``job``, reporting the meter's fractions from this thread as they come."""
    while True:
        finished = bool(wait([job], timeout=POLL_S).done)
        for frac in meter.drain():
            progress(frac)
        if finished:
            return job.result()
