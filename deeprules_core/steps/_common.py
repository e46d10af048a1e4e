"""What every step function shares: recording a step (its record and its findings, in one
place), a small memo of pure computations keyed on content hashes, and acknowledgements."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from threading import Lock
from typing import Any, TypeVar

from ..current import design_dict, digest
from ..findings import Finding, sort_findings, summarise
from ..study import Acknowledgement, StepRecord, Study, utcnow

__all__ = ["digest", "design_dict", "memo", "record_step", "acknowledge"]

T = TypeVar("T")
_MEMO: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_MEMO_LOCK = Lock()
#: Results kept by :func:`memo` (the app reruns a page on every click: the checks of an
#: unchanged table are computed once).
MEMO_SIZE = 16


def memo(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """``compute()`` once per ``key`` (content hashes, never object identities).

    The result is shared: callers must not modify it.
    """
    with _MEMO_LOCK:
        if key in _MEMO:
            _MEMO.move_to_end(key)
            return _MEMO[key]  # type: ignore[no-any-return]
    value = compute()
    with _MEMO_LOCK:
        _MEMO[key] = value
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def _same(last: StepRecord | None, record: StepRecord) -> bool:
    return (
        last is not None
        and dict(last.params) == dict(record.params)
        and dict(last.input_hashes) == dict(record.input_hashes)
        and dict(last.summary) == dict(record.summary)
    )


def record_step(
    ws: Any,
    study: Study,
    record: StepRecord,
    findings: Iterable[Finding] | None,
    *,
    action: str,
    supersedes: Sequence[str] = (),
    always: bool = False,
) -> Study:
    """Save the step record and record its findings in the ledger; return the saved study.

    A re-run that gives the same record (parameters, inputs, outcome) writes nothing, so a
    page that reruns on every click does not grow the study's history. ``findings=None``:
    the step has no findings to record (e.g. the report). ``always``: record even when
    nothing changed (a job's run, a test-set use).
    """
    items = sort_findings(findings or [])
    latest = ws.get_study(study.id)
    ledger_steps = ws.recorded_steps(study.id)
    unchanged = _same(latest.step(record.step), record) and (
        findings is None or not items or record.step in ledger_steps
    )
    if unchanged and not always:
        return latest
    saved = ws.save_study(latest.with_step(record), action=action, detail=dict(record.summary))
    if findings is not None:
        ws.record_findings(
            study.id,
            step=record.step,
            findings=items,
            input_hashes=dict(record.input_hashes),
            supersedes=supersedes,
        )
    return saved  # type: ignore[no-any-return]


def step_summary(findings: Iterable[Finding], **extra: Any) -> dict[str, Any]:
    """Counts per severity and the codes: the summary every step record carries."""
    items = list(findings)
    return {**summarise(items), "codes": sorted({f.code for f in items}), **extra}


def acknowledge(
    ws: Any, study: Study, finding_key: str, justification: str, *, who: str | None = None
) -> Study:
    """Acknowledge a finding with a written justification: in the ledger (attached to the
    entry) and in the study record (which the exported study carries)."""
    ack = ws.acknowledge_finding(study.id, finding_key, justification, who=who)
    latest = ws.get_study(study.id)
    return ws.save_study(  # type: ignore[no-any-return]
        latest.with_acknowledgement(Acknowledgement(ack.finding_key, ack.justification, ack.who, ack.at)),
        action="acknowledge_finding",
        detail={"finding": finding_key},
    )


def now() -> str:
    return utcnow()


def as_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
