"""The findings ledger of a study: one table, one API (one study, one truth).

Every step (checks, confounds, split audit, baselines, deep learning, evaluate,
interpret, privacy) records its findings here with the step's name, the hashes of its
inputs and the time; a re-run supersedes that step's earlier findings (the rows are kept,
marked superseded); acknowledgements, each with its written justification, attach to
ledger entries. The pages, ``run``, ``audit --pdf`` and the report read the study's
findings from here and keep no copy of their own.

Examples
--------
>>> import tempfile
>>> from deeprules_core.findings import Finding
>>> from deeprules_core.store import Workspace
>>> ws = Workspace(tempfile.mkdtemp())
>>> s = ws.create_study("demo")
>>> f = Finding(code="duplicate_ids", severity="error", tip=1, columns=("id",), message="2 ids repeat.")
>>> [e.finding.code for e in ws.record_findings(s.id, step="checks", findings=[f])]
['duplicate_ids']
>>> [e.step for e in ws.open_findings(s.id)]
['checks']
>>> _ = ws.acknowledge_finding(s.id, f.key, "The ids were re-assigned by the core facility.")
>>> ws.open_findings(s.id)
[]
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from ..errors import StoreError
from ..findings import SEVERITIES, Finding, sort_findings, summarise
from ..names import step_label
from ..study import Acknowledgement, Study, utcnow
from . import _schema as T

__all__ = ["STEP_ORDER", "LedgerEntry", "LedgerMixin", "step_title"]

#: The workflow's steps in order; "earlier" and "later" refer to this order.
STEP_ORDER: tuple[str, ...] = (
    "checks",
    "confounds",
    "split",
    "baselines",
    "deep_learning",
    "evaluate",
    "interpret",
    "privacy",
    "report",
)
_ORDER = {s: i for i, s in enumerate(STEP_ORDER)}


def step_title(step: str) -> str:
    """The page title of a step ("Batch & confounds" for ``confounds``)."""
    return step_label(step)


@dataclass(frozen=True)
class LedgerEntry:
    """One finding as a step recorded it, with its acknowledgement (if any)."""

    id: int
    study_id: str
    step: str
    run_id: str
    finding: Finding
    input_hashes: Mapping[str, str]
    recorded_at: str
    superseded_at: str | None = None
    acknowledgement: Acknowledgement | None = None

    @property
    def current(self) -> bool:
        """True until a re-run of the step supersedes it."""
        return self.superseded_at is None

    @property
    def open(self) -> bool:
        """A current warning or error that nobody acknowledged."""
        return self.current and self.finding.severity != "info" and self.acknowledgement is None


def _dedupe(entries: Iterable[LedgerEntry]) -> list[LedgerEntry]:
    """One entry per finding (code, columns, message): the earliest step's is kept."""
    seen: dict[tuple[Any, ...], LedgerEntry] = {}
    for e in sorted(entries, key=lambda e: (_ORDER.get(e.step, len(_ORDER)), e.id)):
        seen.setdefault((e.finding.code, e.finding.columns, e.finding.message), e)
    order = {id(f): i for i, f in enumerate(sort_findings(e.finding for e in seen.values()))}
    return sorted(seen.values(), key=lambda e: order[id(e.finding)])


class LedgerMixin:
    """The ledger's part of :class:`~deeprules_core.store.Workspace`. Every query goes
    through the store's one access check (``check_study``): reading a study's findings
    needs read access, recording or acknowledging them edit access."""

    # provided by Workspace and its access mixin
    connect: Any
    transaction: Any
    check_study: Any
    _log: Any
    user: Any

    # ------------------------------------------------------------------ write
    def record_findings(
        self,
        study_id: str,
        *,
        step: str,
        findings: Iterable[Finding],
        input_hashes: Mapping[str, str] | None = None,
        supersedes: Sequence[str] | None = None,
    ) -> list[LedgerEntry]:
        """Record what ``step`` found for a study; return the step's current entries.

        The step's earlier entries (and those of the steps named in ``supersedes``, e.g. the
        deep-learning step re-derives the baselines' modelling findings) are marked
        superseded. Recording the same findings from the same inputs again changes nothing.
        An empty list records that the step found nothing (and supersedes what it found
        before).
        """
        if step not in _ORDER:
            raise StoreError(
                f"Unknown step {step!r} for the findings ledger; the steps are {list(STEP_ORDER)}."
            )
        items = sort_findings(findings)
        hashes = {str(k): str(v) for k, v in (input_hashes or {}).items()}
        steps = {step, *(supersedes or ())}
        mine = self.findings(study_id, steps=(step,), dedupe=False)
        same = [e.finding.to_dict() for e in mine] == [f.to_dict() for f in items]
        if same and mine and all(dict(e.input_hashes) == hashes for e in mine):
            others = [e for e in self.findings(study_id, steps=tuple(steps - {step}), dedupe=False)]
            if not others:
                return mine
        now = utcnow()
        run_id = uuid.uuid4().hex[:16]
        with self.transaction() as c:
            self.check_study(c, study_id, "edit")
            c.execute(
                update(T.findings_ledger)
                .where(
                    T.findings_ledger.c.study_id == study_id,
                    T.findings_ledger.c.step.in_(sorted(steps)),
                    T.findings_ledger.c.superseded_at.is_(None),
                )
                .values(superseded_at=now)
            )
            for f in items:
                c.execute(
                    insert(T.findings_ledger).values(
                        study_id=study_id,
                        step=step,
                        run_id=run_id,
                        finding_key=f.key[:400],
                        code=f.code,
                        severity=f.severity,
                        tip=int(f.tip),
                        finding=f.to_json(),
                        input_hashes=json.dumps(hashes, sort_keys=True),
                        recorded_at=now,
                    )
                )
            self._log(
                c, study_id, "record_findings", {"step": step, "run_id": run_id, **summarise(items)}, None
            )
        return self.findings(study_id, steps=(step,), dedupe=False)

    def acknowledge_finding(
        self, study_id: str, finding_key: str, justification: str, *, who: str | None = None
    ) -> Acknowledgement:
        """Attach a written justification to the study's current entry with this key.

        The acknowledgement holds for later re-runs that record the same finding again.
        ``who``: default the signed-in user.
        """
        text = (justification or "").strip()
        if not text:
            raise StoreError(
                "An acknowledgement needs a written justification: say why this finding does not change "
                "your conclusions; it goes into the report."
            )
        entry = next((e for e in self.findings(study_id, dedupe=False) if e.finding.key == finding_key), None)
        ack = Acknowledgement(finding_key, text, who=who or self.user.name, at=utcnow())
        with self.transaction() as c:
            self.check_study(c, study_id, "edit")
            c.execute(
                insert(T.finding_acknowledgements).values(
                    study_id=study_id,
                    ledger_id=entry.id if entry is not None else None,
                    finding_key=finding_key[:400],
                    justification=text,
                    who=ack.who,
                    at=ack.at,
                )
            )
            self._log(c, study_id, "acknowledge_finding", {"finding": finding_key}, ack.who)
        return ack

    # ------------------------------------------------------------------ read
    def acknowledgements(self, study_id: str) -> dict[str, Acknowledgement]:
        """The latest acknowledgement of each finding key of the study."""
        q = (
            select(T.finding_acknowledgements)
            .where(T.finding_acknowledgements.c.study_id == study_id)
            .order_by(T.finding_acknowledgements.c.id)
        )
        with self.connect() as c:
            self.check_study(c, study_id, "read", deleted_ok=True)
            rows = c.execute(q).all()
        return {r.finding_key: Acknowledgement(r.finding_key, r.justification, r.who, r.at) for r in rows}

    def findings(
        self,
        study_id: str,
        *,
        steps: Sequence[str] | None = None,
        include_superseded: bool = False,
        dedupe: bool = True,
        dataset: str | None = None,
        study: Study | None = None,
    ) -> list[LedgerEntry]:
        """The study's current ledger entries (errors first), optionally of some steps only.

        ``dedupe``: one entry per finding when two steps recorded the same one.
        ``dataset``: the sha256 of the study's current table; entries recorded on another
        table (before the user loaded a new file) are left out.
        ``study``: the study as it is now; entries that do not hold for it (recorded on
        another table, other column roles, another design or split, or by a step that
        builds on an out-of-date one: :func:`deeprules_core.current.is_current`) are left
        out. Every reader of the study's findings passes it.
        """
        q = select(T.findings_ledger).where(T.findings_ledger.c.study_id == study_id)
        if steps is not None:
            if not steps:
                return []
            q = q.where(T.findings_ledger.c.step.in_(list(steps)))
        if not include_superseded:
            q = q.where(T.findings_ledger.c.superseded_at.is_(None))
        with self.connect() as c:
            self.check_study(c, study_id, "read", deleted_ok=True)
            rows = c.execute(q.order_by(T.findings_ledger.c.id)).all()
        acks = self.acknowledgements(study_id)
        out = [
            LedgerEntry(
                id=int(r.id),
                study_id=r.study_id,
                step=r.step,
                run_id=r.run_id,
                finding=Finding.from_dict(json.loads(r.finding)),
                input_hashes=json.loads(r.input_hashes or "{}"),
                recorded_at=r.recorded_at,
                superseded_at=r.superseded_at,
                acknowledgement=acks.get(r.finding_key),
            )
            for r in rows
        ]
        if dataset is not None:
            out = [e for e in out if e.input_hashes.get("dataset", dataset) == dataset]
        if study is not None and not include_superseded:
            from ..current import is_current, out_of_date

            stale = out_of_date(study)
            out = [e for e in out if is_current(e.step, e.input_hashes, study, stale)]
        return _dedupe(out) if dedupe and not include_superseded else out

    def current_findings(
        self,
        study_id: str,
        *,
        steps: Sequence[str] | None = None,
        dataset: str | None = None,
        study: Study | None = None,
    ) -> list[Finding]:
        """The study's current findings, one per finding, errors first (``dataset``,
        ``study``: see :meth:`findings`)."""
        return [e.finding for e in self.findings(study_id, steps=steps, dataset=dataset, study=study)]

    def recorded_steps(self, study_id: str) -> set[str]:
        """Steps that recorded findings (even superseded) for the study."""
        with self.connect() as c:
            self.check_study(c, study_id, "read", deleted_ok=True)
            rows = c.execute(
                select(T.findings_ledger.c.step).where(T.findings_ledger.c.study_id == study_id).distinct()
            ).all()
        return {r.step for r in rows}

    def open_findings(
        self,
        study_id: str,
        *,
        severities: Sequence[str] = ("error",),
        before: str | None = None,
        dataset: str | None = None,
        study: Study | None = None,
    ) -> list[LedgerEntry]:
        """Current, unacknowledged findings of the given severities (errors by default).

        ``before``: only those recorded by steps that come before this one in
        :data:`STEP_ORDER` (what a page must carry forward). ``dataset``, ``study``: see
        :meth:`findings`.
        """
        bad = [s for s in severities if s not in SEVERITIES]
        if bad:
            raise StoreError(f"Unknown severity {bad[0]!r}; the severities are {list(SEVERITIES)}.")
        limit = _ORDER.get(before, len(_ORDER)) if before is not None else len(_ORDER) + 1
        return [
            e
            for e in self.findings(study_id, dataset=dataset, study=study)
            if e.finding.severity in severities
            and e.acknowledgement is None
            and _ORDER.get(e.step, len(_ORDER)) < limit
        ]
