"""Whether what a step recorded still holds for the study as it is now: the one rule.

Every step records the hashes of its inputs (``StepRecord.input_hashes``, copied onto
each of its entries in the findings ledger): the sha256 of the table (``dataset``), a
digest of the column roles (``roles``) and of the design answers the analysis reads
(``design``), the sha256 of the split (``split``). When the user loads another table,
picks another label, moves a column to the covariates, answers the design differently or
makes a new split, what the steps recorded before is about inputs that are no longer the
study's. A step's record is **current** when every input it recorded still has the same
hash now and every step it builds on (:data:`BUILDS_ON`) whose results it can have used
is current (only an optional step, the deep model, may be passed over: one trained on
earlier column roles was not used by an evaluation made under the new ones, since the
results it read left that model out); a ledger entry is
current when its step is and its own hashes match.

The ledger's readers (the banner, the split suggestion, the headline, the report and
``run``) all ask this module, so a finding about a label that is no longer the label
is nowhere an open error, and every place says which step to re-run
(:func:`deeprules_core.names.out_of_date_text`).

Examples
--------
>>> from deeprules_core.study import Roles, StepRecord, Study
>>> s = Study.new("demo").with_roles(Roles(label="a"))
>>> s = s.with_step(StepRecord("checks", input_hashes=study_inputs(s)))
>>> out_of_date(s)
{}
>>> [o.message for o in out_of_date(s.with_roles(Roles(label="b"))).values()]
['Checks were run on earlier column roles; re-run them on the Checks page.']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from .names import out_of_date_text
from .study import Design, Roles, Study

__all__ = [
    "INPUTS",
    "BUILDS_ON",
    "MODEL_STEPS",
    "OutOfDate",
    "digest",
    "design_dict",
    "design_digest",
    "roles_digest",
    "study_inputs",
    "changed_input",
    "out_of_date",
    "is_current",
    "results_out_of_date",
]

#: The inputs compared, in the order a reason is given (the first that changed).
INPUTS: tuple[str, ...] = ("dataset", "roles", "design", "split")
#: The steps whose results each step builds on: when one of them is out of date, so is it.
BUILDS_ON: dict[str, tuple[str, ...]] = {
    "baselines": ("split",),
    "deep_learning": ("split",),
    "evaluate": ("split", "baselines", "deep_learning"),
    "interpret": ("split", "baselines", "deep_learning"),
    "privacy": ("split", "baselines", "deep_learning"),
}
#: Steps whose results later steps use only while they are current (the results those
#: steps read leave an out-of-date deep model out): a later step recorded on other inputs
#: than theirs did not use them, so their being out of date does not pass on to it. Every
#: other step a step builds on (the split, the baselines) it always used.
OPTIONAL: frozenset[str] = frozenset({"deep_learning"})
#: The steps whose stored results (``results/*``) the pages and the report show.
MODEL_STEPS: tuple[str, ...] = ("baselines", "deep_learning", "evaluate")
#: The steps judged, in workflow order (a step is judged after those it builds on).
_JUDGED = ("checks", "confounds", "split", "baselines", "deep_learning", "evaluate", "interpret", "privacy")
#: The design answers that change what the checks and the split compute.
_DESIGN_INPUTS = ("replicate_kind", "time_points")


def digest(obj: Any) -> str:
    """A short, stable hash of a JSON-able value (roles, design, parameters)."""
    text = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def design_dict(design: Design) -> dict[str, Any]:
    """Every answer of the design questionnaire, by field name."""
    return {f.name: getattr(design, f.name) for f in fields(Design)}


def design_digest(design: Design) -> str:
    """The digest of the design answers the analysis reads (replicates, time points); the
    question's wording or the ethics reference do not make the checks out of date."""
    return digest({k: getattr(design, k) for k in _DESIGN_INPUTS})


def roles_digest(roles: Roles) -> str:
    """The digest of the column roles, as the steps record it."""
    return digest(roles.to_dict())


def study_inputs(study: Study) -> dict[str, str]:
    """The hashes of the study's inputs now: ``dataset`` (when a table is loaded),
    ``roles``, ``design`` and ``split`` (when a split is saved)."""
    out: dict[str, str] = {}
    if study.dataset is not None:
        out["dataset"] = study.dataset.sha256
    out["roles"] = roles_digest(study.roles)
    out["design"] = design_digest(study.design)
    rec = study.step("split")
    if rec is not None and rec.summary.get("sha256"):
        out["split"] = str(rec.summary["sha256"])
    return out


def changed_input(
    recorded: Mapping[str, str], study: Study, now: Mapping[str, str] | None = None
) -> str | None:
    """The first input (of :data:`INPUTS`) whose recorded hash differs from the study's now,
    or None. An input the step did not record, or the study does not have, is not compared
    (records of older versions hold fewer hashes)."""
    now = study_inputs(study) if now is None else now
    for key in INPUTS:
        was, cur = recorded.get(key), now.get(key)
        if was is None or cur is None or was == cur:
            continue
        if key == "design" and was == digest(design_dict(study.design)):
            continue  # recorded by an older version: the digest of every answer
        return key
    return None


@dataclass(frozen=True)
class OutOfDate:
    """A step whose record no longer holds: ``reason`` is the input that changed since
    (one of :data:`INPUTS`), directly or in a step it builds on."""

    step: str
    reason: str

    @property
    def message(self) -> str:
        """The plain sentence the pages, the report and the PDF print."""
        return out_of_date_text(self.step, self.reason)


def out_of_date(study: Study) -> dict[str, OutOfDate]:
    """The study's steps whose latest record is not current, by step, in workflow order."""
    now = study_inputs(study)
    out: dict[str, OutOfDate] = {}
    for step in _JUDGED:
        rec = study.step(step)
        if rec is None:
            continue
        reason = changed_input(rec.input_hashes, study, now)
        if reason is None:
            reason = next(
                (
                    out[d].reason
                    for d in BUILDS_ON.get(step, ())
                    if d in out and (d not in OPTIONAL or _built_on(rec, study.step(d)))
                ),
                None,
            )
        if reason is not None:
            out[step] = OutOfDate(step, reason)
    return out


def is_current(
    step: str,
    input_hashes: Mapping[str, str],
    study: Study,
    stale: Mapping[str, OutOfDate] | None = None,
) -> bool:
    """Whether a ledger entry of ``step`` recorded with ``input_hashes`` holds for the study
    now (``stale``: :func:`out_of_date` of the study, when already computed)."""
    stale = out_of_date(study) if stale is None else stale
    return step not in stale and changed_input(input_hashes, study) is None


def _built_on(rec: Any, dep: Any) -> bool:
    """Whether the step recorded as ``rec`` can have used the results of the step recorded
    as ``dep``: every input both recorded has the same hash in both. A deep model trained
    on earlier column roles was not used by an evaluation made under the new ones (the
    results it read left it out), so its being out of date does not make that evaluation
    out of date."""
    if dep is None:
        return False
    mine, theirs = rec.input_hashes, dep.input_hashes
    return all(mine[k] == theirs[k] for k in INPUTS if k in mine and k in theirs)


def _holds(results: Mapping[str, Any], step: str) -> bool:
    """Whether a results dict holds what ``step`` produced."""
    models = [m for m in (results.get("models") or {}).values() if isinstance(m, Mapping)]
    if step == "deep_learning":
        return any(m.get("kind") == "deep" for m in models)
    if step == "evaluate":
        return bool(results.get("test_evaluation"))
    return any(m.get("kind") != "deep" for m in models)


def results_out_of_date(study: Study, results: Mapping[str, Any] | None = None) -> list[OutOfDate]:
    """The modelling steps whose stored results no longer hold. With ``results``, only those
    whose results that dict holds (baseline models, deep models, the test evaluation): when
    any is listed, the dict is not the study's and is not shown."""
    stale = out_of_date(study)
    out = [stale[s] for s in MODEL_STEPS if s in stale]
    if results is not None:
        out = [o for o in out if _holds(results, o.step)]
    return out
