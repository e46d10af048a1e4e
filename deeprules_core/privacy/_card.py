"""The model card and the ethics register (Tip 10), saved with the study.

* The **ethics register** is a dated list of decisions and events (approval granted,
  consent scope checked, data access reviewed): artifact ``("privacy", "ethics_register")``;
  each entry is also written to the audit log. Entries are only ever added.
* The **model card** (Mitchell et al. 2019) gathers intended use, data, metrics with
  intervals, subgroup results, limits, privacy measures and the ethics approval. The
  user writes the intended use and the limits; everything else is filled from the study.
  Artifact ``("privacy", "model_card")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from ..errors import DeepRulesError
from ..names import model_label
from ..study import Study, utcnow

__all__ = [
    "KIND",
    "add_ethics_entry",
    "ethics_register",
    "build_model_card",
    "model_card",
    "model_card_markdown",
    "model_card_state",
]

KIND = "privacy"


def ethics_register(ws: Any, study: Study) -> list[dict[str, Any]]:
    """The study's ethics register, oldest entry first."""
    got = ws.get_json(study.id, KIND, "ethics_register")
    return list(got) if isinstance(got, list) else []


def add_ethics_entry(
    ws: Any, study: Study, text: str, *, who: str = "", reference: str = "", on: str | date | None = None
) -> list[dict[str, Any]]:
    """Add one dated entry; return the whole register."""
    if not str(text).strip():
        raise DeepRulesError(
            "An ethics-register entry needs a text: what was decided or checked, and by whom."
        )
    day = on.isoformat() if isinstance(on, date) else (str(on) if on else utcnow()[:10])
    try:
        date.fromisoformat(day)
    except ValueError as exc:
        raise DeepRulesError(
            f"The date of an ethics-register entry must be YYYY-MM-DD. Got {day!r}."
        ) from exc
    entry = {
        "date": day,
        "entry": str(text).strip(),
        "who": who,
        "reference": reference,
        "recorded_at": utcnow(),
    }
    register = ethics_register(ws, study) + [entry]
    register.sort(key=lambda e: (e["date"], e["recorded_at"]))
    ws.put_json(study.id, KIND, "ethics_register", register)
    ws.log(study.id, "ethics_register_entry", entry)
    return register


def _metrics(results: Mapping[str, Any] | None) -> dict[str, Any]:
    if not results or not results.get("selected"):
        return {}
    name = results["selected"]
    entry = (results.get("models") or {}).get(name) or {}
    return {
        "model": name,
        "family": entry.get("family", name),
        "primary_metric": results.get("primary_metric"),
        "tune": (entry.get("metrics") or {}).get("tune") or {},
        "test": (entry.get("metrics") or {}).get("test") or {},
    }


def build_model_card(
    ws: Any,
    study: Study,
    *,
    intended_use: str,
    limitations: str = "",
    out_of_scope: str = "",
    who: str = "",
) -> dict[str, Any]:
    """Write the model card of ``study`` from the user's words and the study's facts; save it."""
    if not intended_use.strip():
        raise DeepRulesError(
            "The model card needs its intended use: who may use the model, for what, on which patients or samples."
        )
    from ..current import study_inputs
    from ..modeling._stored import current_results
    from ._step import privacy_results

    results = current_results(ws, study)
    privacy = privacy_results(ws, study) or {}
    ds = study.dataset
    metrics = _metrics(results)
    subgroups = privacy.get("subgroups") or {}
    card: dict[str, Any] = {
        "study": study.name,
        "written_at": utcnow(),
        "inputs": study_inputs(study),  # what it describes; a change makes it out of date
        "written_by": who,
        "intended_use": intended_use.strip(),
        "out_of_scope": out_of_scope.strip(),
        "limitations": limitations.strip(),
        "model": (model_label(metrics["family"], study.roles.task) if metrics else "no model selected yet"),
        "data": {
            "dataset": ds.name if ds else None,
            "sha256": ds.sha256 if ds else None,
            "label": study.roles.label,
            "task": study.roles.task,
            "group": study.roles.group,
            "question": study.design.question,
        },
        "metrics": metrics,
        "subgroups": {
            "columns": subgroups.get("columns_marked", []),
            "gaps": [f for f in privacy.get("findings", []) if f.get("code") == "subgroup_gap"],
        },
        "privacy": {
            "sensitive_data": study.design.sensitive_data,
            "export_lock": [d for d in privacy.get("export_plan", []) if not d.get("allowed")],
            "dp": (privacy.get("dp") or {}).get("dp"),
            "membership_inference": {
                k: {a: (v.get(a) or {}).get("auc") for a in ("loss_threshold", "shadow_model")}
                for k, v in (privacy.get("membership_inference") or {}).items()
            },
        },
        "ethics": {"approval": study.design.ethics_approval, "register": ethics_register(ws, study)},
    }
    ws.put_json(study.id, KIND, "model_card", card)
    ws.log(study.id, "model_card", {"intended_use": card["intended_use"][:200]})
    return card


def model_card(ws: Any, study: Study) -> dict[str, Any] | None:
    """The study's model card; None when there is none or when it no longer describes the
    study (:func:`model_card_state`)."""
    from ..modeling._stored import current_results

    return model_card_state(ws, study, current_results(ws, study))[0]


def model_card_state(
    ws: Any, study: Study, results: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, bool]:
    """(the card, or None; whether a stored card is out of date). A card is out of date when
    it was written on inputs (table, roles, design, split) that changed since, or for another
    selected model or other numbers than ``results`` (the study's current results) have."""
    from ..current import changed_input

    card = ws.get_json(study.id, KIND, "model_card")
    if not isinstance(card, Mapping) or not card:
        return None, False
    old = changed_input(dict(card.get("inputs") or {}), study) is not None or _metrics(results) != dict(
        card.get("metrics") or {}
    )
    return (None if old else dict(card)), old


def _ci(v: Mapping[str, Any] | None) -> str:
    if not v or v.get("value") is None:
        return "–"
    if v.get("low") is None:
        return f"{v['value']:.3f}"
    return f"{v['value']:.3f} ({v['low']:.3f}–{v['high']:.3f})"


def model_card_markdown(card: Mapping[str, Any]) -> str:
    """The card as Markdown (the page shows it; the PDF section has the same items)."""
    m = card.get("metrics") or {}
    lines = [f"### Model card: {card.get('study')}", f"*Written {str(card.get('written_at', ''))[:10]}*", ""]
    lines += [f"**Intended use.** {card.get('intended_use')}"]
    if card.get("out_of_scope"):
        lines += [f"**Out of scope.** {card['out_of_scope']}"]
    d = card.get("data") or {}
    lines += [f"**Model.** {card.get('model')}", f"**Data.** {d.get('dataset')} (sha256 {str(d.get('sha256'))[:12]}…), "
              f"label {d.get('label')!r}, task {d.get('task')}."]  # fmt: skip
    if m:
        for side in ("tune", "test"):
            panel = m.get(side) or {}
            if panel:
                shown = ", ".join(f"{k} {_ci(v)}" for k, v in list(panel.items())[:4])
                lines += [f"**Metrics ({side} side, 95% CI).** {shown}"]
    sub = card.get("subgroups") or {}
    gaps = sub.get("gaps") or []
    lines += [f"**Subgroups.** Checked: {', '.join(sub.get('columns') or []) or 'none marked'}; "
              + (f"{len(gaps)} gap(s): " + "; ".join(g['message'].split(':')[0] for g in gaps) if gaps else "no gap found.")]  # fmt: skip
    lines += [f"**Limitations.** {card.get('limitations') or 'not stated'}"]
    p = card.get("privacy") or {}
    dp = p.get("dp")
    lines += [
        f"**Privacy.** Sensitive data: {'yes' if p.get('sensitive_data') else 'no'}; "
        f"{len(p.get('export_lock') or [])} model(s) locked against export; "
        + (
            f"differentially private training: ε = {dp['epsilon']:.2f}, δ = {dp['delta']:.1g} ({dp['accountant_name']})"
            if dp
            else "no differentially private training"
        )  # fmt: skip
        + "."
    ]
    e = card.get("ethics") or {}
    lines += [
        f"**Ethics approval.** {e.get('approval') or 'not given'}; register entries: {len(e.get('register') or [])}."
    ]
    return "\n\n".join(lines)
