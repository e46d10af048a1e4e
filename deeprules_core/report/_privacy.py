"""Tip 10 in the report: the privacy analysis, the model card and the ethics register.

:func:`with_privacy` puts what the workspace holds into the facts (``facts.privacy``);
:func:`tip10_lines` gives the Tip 10 summary its sentences (the membership-inference AUC
quoted with its interval, the ε achieved, subgroup gaps, the raw-rows confirmation);
:func:`privacy_section` writes section 9 of the PDF. The page and the PDF read the same
stored artifacts, so they say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..names import model_label
from ._text import fmt_ci, fmt_num

__all__ = ["with_privacy", "tip10_lines", "privacy_section", "mia_sentence"]

ATTACKS = {"loss_threshold": "loss-threshold", "shadow_model": "shadow-model"}


def with_privacy(facts: Any, ws: Any, study: Any) -> Any:
    """``facts`` with the study's privacy artifacts (analysis, card, register, confirmations)."""
    from ..privacy import model_card, privacy_results

    got = {name: ws.get_json(study.id, "privacy", name) for name in ("ethics_register", "rows_consent")}
    got["privacy"], got["model_card"] = privacy_results(ws, study), model_card(ws, study)  # None: out of date
    return replace(facts, privacy={k: v for k, v in got.items() if v})


def _label(facts: Any, name: str, res: Mapping[str, Any]) -> str:
    if res.get("label"):
        return str(res["label"])
    fam = next((m.family for m in facts.models if m.name == name), None) or str(name).split("_")[0]
    text = model_label(fam, facts.task)
    if res.get("private"):
        text += " (differentially private)"
    elif str(name).endswith("_plain"):
        text += " (non-private twin)"
    return text


def mia_sentence(label: str, res: Mapping[str, Any]) -> str:
    """'MLP: loss-threshold attack AUC 0.78 (95% CI 0.71–0.84); shadow-model …'."""
    parts = []
    for key, word in ATTACKS.items():
        a = res.get(key)
        if a:
            parts.append(
                f"{word} attack AUC {fmt_ci({'value': a['auc'], 'low': a['low'], 'high': a['high']}, 2)}"
            )
    return f"{label}: " + "; ".join(parts) if parts else f"{label}: not measured"


def tip10_lines(facts: Any) -> list[str]:
    """What the privacy step adds to Tip 10 ('done' lines)."""
    p = facts.privacy or {}
    a = p.get("privacy") or {}
    out: list[str] = []
    mia = a.get("membership_inference") or {}
    if mia:
        out.append(
            "Membership inference (training vs held-out tune samples; 0.5 = an attacker cannot tell): "
            + " · ".join(mia_sentence(_label(facts, n, r), r) for n, r in mia.items())
            + "."
        )
    dp = (a.get("dp") or {}).get("dp")
    if dp:
        cost = (a.get("dp") or {}).get("cost") or {}
        out.append(
            f"Differentially private training (Opacus {dp.get('opacus')}, {dp.get('accountant_name')}): target ε "
            f"{fmt_num(dp.get('target_epsilon'), 2)}, achieved ε {fmt_num(dp.get('epsilon'), 2)} at δ "
            f"{dp.get('delta'):.1g}; {str(cost.get('metric', '')).upper()} on the tune side "
            f"{fmt_num(cost.get('private'))} private vs {fmt_num(cost.get('plain'))} non-private. "
            "secure_mode off (no cryptographically secure generator)."
        )
    locked = [d for d in a.get("export_plan") or [] if not d.get("allowed")]
    if locked:
        out.append(
            "Export refused for: " + ", ".join(model_label(d["family"], facts.task) for d in locked) + "."
        )
    sub = a.get("subgroups") or {}
    if sub:
        gaps = [f for f in a.get("findings") or [] if f.get("code") == "subgroup_gap"]
        out.append(
            f"Metrics by subgroup ({', '.join(sub.get('columns_marked') or [])}): "
            + (f"{len(gaps)} subgroup(s) far below the rest." if gaps else "no subgroup far below the rest.")
        )
    for c in p.get("rows_consent") or []:
        out.append(f"Raw rows released in the bundle on {str(c.get('at'))[:10]} by {c.get('who') or 'the user'}: "
                   f"{c.get('reason')}")  # fmt: skip
    if p.get("model_card"):
        out.append("Model card written (section 9).")
    if p.get("ethics_register"):
        out.append(f"Ethics register: {len(p['ethics_register'])} dated entries (section 9).")
    return out


def privacy_section(pdf: Any, facts: Any) -> None:
    """Section 9: privacy and ethics (only when the study has privacy records)."""
    from ._pdf import GREY, _bullets, _heading, _para, _titled_table

    p = facts.privacy or {}
    if not p:
        return
    a = p.get("privacy") or {}
    _heading(pdf, "9. Privacy and ethics (Tip 10)", new_page=pdf.will_page_break(80))
    mia = a.get("membership_inference") or {}
    if mia:
        rows = [["Model", "Loss-threshold AUC (95% CI)", "Shadow-model AUC (95% CI)", "Members / held out"]]
        for name, r in mia.items():
            cells = []
            for key in ATTACKS:
                x = r.get(key)
                cells.append(fmt_ci({"value": x["auc"], "low": x["low"], "high": x["high"]}, 2, compact=True)
                             if x else str(r.get("shadow_note") or "not run"))  # fmt: skip
            lt = r.get("loss_threshold") or {}
            rows.append([_label(facts, name, r), *cells, f"{lt.get('n_members')} / {lt.get('n_nonmembers')}"])
        _titled_table(pdf, "Membership inference", rows, widths=(44, 46, 46, 38), size=7.5,
                      note="An attacker with a sample and the model guesses whether the sample was used for training; "
                      "0.5 = no better than a coin.")  # fmt: skip
    dp = (a.get("dp") or {}).get("dp")
    if dp:
        _heading(pdf, "Differentially private training", level=1)
        _bullets(pdf, [
            f"Accountant: {dp.get('accountant_name')}; target ε {fmt_num(dp.get('target_epsilon'), 2)}, "
            f"achieved ε {fmt_num(dp.get('epsilon'), 3)}, δ {dp.get('delta'):.2g}; noise multiplier "
            f"{fmt_num(dp.get('noise_multiplier'), 3)}, clipping norm {fmt_num(dp.get('max_grad_norm'), 2)}, "
            f"sampling rate {fmt_num(dp.get('sample_rate'), 3)}, {dp.get('steps')} steps, {dp.get('epochs')} epochs.",
            str(dp.get("meaning", "")),
            "Layers replaced: " + ("; ".join(dp.get("layers_replaced") or []) or "none (no layer needed it)") + ".",
            str(dp.get("secure_mode_note", "")),
        ])  # fmt: skip
    sub = a.get("subgroups") or {}
    if sub.get("table"):
        metric = "auroc" if facts.task == "classification" else "mae"
        rows = [
            ["Column", "Subgroup", "n", f"{metric.upper()} (95% CI)", "Difference from the rest (95% CI)"]
        ]
        for col, items in sub["table"].items():
            for it in items:
                g = it.get("gap") or {}
                diff = (fmt_ci({"value": g["difference"], "low": g["low"], "high": g["high"]}, 2, compact=True)
                        if g else "too few samples")  # fmt: skip
                rows.append([col, it["level"], str(it["n"]), fmt_ci((it["metrics"] or {}).get(metric), 2, compact=True),
                             diff])  # fmt: skip
        _titled_table(
            pdf, f"Subgroups (tune side, {sub.get('model')})", rows, widths=(28, 40, 14, 44, 48), size=7.5
        )
    card = p.get("model_card")
    if card:
        from ..privacy._card import model_card_markdown

        _heading(pdf, "Model card", level=1)
        for block in model_card_markdown(card).split("\n\n")[2:]:
            _para(pdf, block.replace("**", ""), size=8.5)
    reg = p.get("ethics_register") or []
    _heading(pdf, "Ethics register", level=1)
    if reg:
        rows = [["Date", "Entry", "Who", "Reference"]] + [[e["date"], e["entry"], e.get("who", ""),
                                                           e.get("reference", "")] for e in reg]  # fmt: skip
        _titled_table(pdf, "Entries", rows, widths=(22, 102, 25, 25), size=7.5)
    else:
        _para(pdf, "No entry yet (Privacy page).", colour=GREY)
