"""Versions as deltas, and the merge of a save that was based on an older version.

A study's record is split into its fields (name, design, datasets, roles,
acknowledgements...) and its steps. A save stores only the fields it changed and the
steps it added. A save based on an older version is merged onto the newest when the two
changes are independent: different fields, or steps (or acknowledgements) added on both
sides. When both
changed the same field differently, or one side rewrote steps the other kept, the save
is refused (:class:`~deeprules_core.errors.ConflictError`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SavePlan", "split_record", "plan_save", "normalise"]

#: not part of the versioned fields: the id never changes, steps have their own rows
NOT_FIELDS = ("id", "steps")
#: list fields that only grow: entries added on both sides are merged, like steps
APPEND_ONLY = ("acknowledgements",)
_UNKNOWN = object()


def _extends(value: Any, base: Any) -> bool:
    return isinstance(value, list) and isinstance(base, list) and value[: len(base)] == base


def normalise(obj: Any) -> Any:
    """The value as it reads back from JSON (tuples become lists), so equal means equal."""
    return json.loads(json.dumps(obj, sort_keys=True, allow_nan=False))


def split_record(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(fields, steps) of a ``Study.to_dict()``, normalised."""
    rec = normalise(dict(record))
    steps = rec.pop("steps", [])
    rec.pop("id", None)
    return rec, steps


@dataclass
class SavePlan:
    """What a save writes: fields to set, how many live steps to keep, steps to add."""

    set: dict[str, Any] = field(default_factory=dict)
    keep: int = 0
    append: list[Mapping[str, Any]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    merged: bool = False

    @property
    def delta(self) -> dict[str, Any]:
        return {"set": self.set, "steps": {"keep": self.keep, "added": len(self.append)}}


def _prefix(a: Sequence[Any], b: Sequence[Any]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def plan_save(
    current: Mapping[str, Any],
    current_steps: Sequence[Mapping[str, Any]],
    mine: Mapping[str, Any],
    mine_steps: Sequence[Mapping[str, Any]],
    *,
    stale: bool = False,
    their_fields: set[str] | None = None,
    base_value: Callable[[str], Any] | None = None,
    base_steps: Sequence[Mapping[str, Any]] = (),
) -> SavePlan:
    """Plan a save of ``mine`` onto ``current``.

    Parameters
    ----------
    current, current_steps
        The newest saved fields and live steps.
    mine, mine_steps
        What the caller asks to save.
    stale
        True when ``mine`` was based on an older version than ``current``.
    their_fields
        Fields changed by the versions saved since the base (None: any field may have).
    base_value
        The value a field had in the base version.
    base_steps
        The live steps of the base version.
    """
    plan = SavePlan(merged=stale)
    names = list(dict.fromkeys([*current, *mine]))
    for f in names:
        m, cur = mine.get(f), current.get(f)
        if m == cur:
            continue
        if not stale:
            plan.set[f] = m
        elif their_fields is not None and f not in their_fields:
            plan.set[f] = m  # only this save changed it
        else:
            base = base_value(f) if base_value is not None else _UNKNOWN
            if m == base:
                continue  # only they changed it: theirs stays
            if (
                f in APPEND_ONLY
                and isinstance(base, list)
                and isinstance(m, list)
                and isinstance(cur, list)
                and _extends(m, base)
                and _extends(cur, base)
            ):
                plan.set[f] = [*cur, *m[len(base) :]]  # both added entries: theirs, then these
            else:
                plan.conflicts.append(f)
    if not stale or list(base_steps) == list(current_steps):
        plan.keep = _prefix(current_steps, mine_steps)
        plan.append = list(mine_steps[plan.keep :])
    elif list(mine_steps[: len(base_steps)]) == list(base_steps):
        plan.keep = len(current_steps)  # both added steps: theirs first, then these
        plan.append = list(mine_steps[len(base_steps) :])
    else:
        plan.conflicts.append("steps")
    return plan
