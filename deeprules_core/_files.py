"""Writing files so that a failure leaves nothing half-written.

- :func:`atomic_write`: a file appears whole or not at all (a temporary file beside it,
  renamed into place; removed again on every failure, a full disk included).
- :func:`staged_output`: an output folder filled in a temporary folder beside it and moved
  in only when everything succeeded, so a failed ``run`` leaves the folder as it found it.

Operating-system errors come out as :class:`~deeprules_core.errors.DeepRulesError` with a
plain message (:func:`~deeprules_core.errors.from_os_error`): "The disk holding the
workspace is full (12 MB free ...)".
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import StoreError, from_os_error, quote

__all__ = ["atomic_write", "atomic_replace", "staged_output"]


def atomic_write(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` to ``path`` whole or not at all.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sub" / "x.json"
    >>> atomic_write(p, '{"a": 1}')
    >>> p.read_text(), sorted(x.name for x in p.parent.iterdir())
    ('{"a": 1}', ['x.json'])
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_replace(path) as tmp:
        tmp.write_bytes(raw)


@contextmanager
def atomic_replace(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; it replaces ``path`` when the block
    ends without error and is removed otherwise (a full disk included)."""
    path = Path(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        os.close(fd)
        tmp = Path(name)
        yield tmp
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise from_os_error(exc, path.parent) from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _created_parents(folder: Path) -> list[Path]:
    """The folders ``folder.mkdir(parents=True)`` would create, deepest first."""
    missing = []
    for p in (folder, *folder.parents):
        if p.exists():
            break
        missing.append(p)
    return missing


@contextmanager
def staged_output(out: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary folder beside ``out`` to write into; on success its entries replace
    those of ``out`` (created if needed), on any failure it is removed and ``out`` and its
    parents are left exactly as they were."""
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise StoreError(f"The output folder {quote(str(out), 80)} is a file. Give a folder.")
    created = _created_parents(out.parent)
    stage: Path | None = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name[:40]}.partial-"))
        yield stage
        _move_in(stage, out)
    except OSError as exc:
        raise from_os_error(exc, out.parent) from exc
    finally:
        if stage is not None and stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
        if not out.exists():
            for p in created:  # deepest first; only folders this call made, and only if empty
                try:
                    p.rmdir()
                except OSError:
                    break


def _move_in(stage: Path, out: Path) -> None:
    out_created = not out.exists()
    out.mkdir(exist_ok=True)
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name[:40]}.old-"))
    moved: list[tuple[Path, Path | None]] = []
    try:
        for entry in sorted(stage.iterdir()):
            target = out / entry.name
            kept = None
            if target.exists() or target.is_symlink():
                kept = old / entry.name
                os.replace(target, kept)
            moved.append((target, kept))
            os.replace(entry, target)
    except OSError:
        for target, kept in reversed(moved):  # put the previous results back
            if target.exists():
                shutil.rmtree(target) if target.is_dir() else target.unlink()
            if kept is not None:
                os.replace(kept, target)
        if out_created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
