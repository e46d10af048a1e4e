"""The methods-checklist PDF (fpdf2, bundled DejaVu Sans, charts as PNG; nothing fetched).

Layout: a title page, a table of contents, a summary of the ten tips, one section per
tip with its evidence and key chart, data and provenance, models and evaluation, the
DOME and REFORMS checklists, the methods paragraph and the reproducibility record.
A4, 18 mm margins, page numbers "page X of N" in the footer.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..findings import Finding, summarise
from ..names import evidence_text, params_text, step_label, strategy_label
from ._charts import chart_png
from ._checklists import TO_COMPLETE, ChecklistItem, dome_items, reforms_items
from ._facts import NOT_STATED, ReportFacts
from ._methods import methods_text
from ._text import fmt_ci, fmt_num, fmt_value, metric_name, plural
from ._tips import STATUSES, TipStatus, tip_statuses
from ._wording import provenance_rows, run_files_text, sensitive_text, trials_text

__all__ = ["build_pdf", "FONT_DIR", "STATUS_COLOURS"]

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
MARGIN = 18.0
BODY_PT, SMALL_PT = 9.5, 8
LINE = 4.8
STATUS_COLOURS: dict[str, tuple[int, int, int]] = {
    "done": (212, 237, 218),
    "needs attention": (255, 224, 178),
    "not done": (226, 227, 229),
    "not applicable": (214, 234, 248),
}
SEVERITY_COLOURS = {"error": (176, 0, 32), "warning": (184, 110, 0), "info": (60, 90, 140)}
GREY = (110, 110, 110)
ACCENT = (20, 70, 130)
#: Evidence items printed per finding (the full evidence is in findings.json).
MAX_EVIDENCE_ITEMS = 6
MAX_FINDINGS_PER_TIP = 12
MAX_PARAM_CHARS = 400


def _clean(text: Any) -> str:
    """Plain text: no Markdown emphasis or code marks, no control characters."""
    s = str(text if text is not None else "")
    s = re.sub(r"\*\*(.+?)\*\*", r"\1", s)
    s = re.sub(r"`([^`]*)`", r"\1", s)
    return "".join(ch for ch in s if ch in "\n\t" or ord(ch) >= 32)


def _short(value: Any, limit: int = 80, *, key: str = "") -> str:
    if isinstance(value, Mapping):
        s = ", ".join(f"{k}={_short(v, limit, key=str(k))}" for k, v in value.items())
    elif isinstance(value, list | tuple):
        s = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, int | float):
        s = fmt_value(value, key=key)
    else:
        s = str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _status_count(n: int, status: str) -> str:
    return f"{n} {'need attention' if status == 'needs attention' and n != 1 else status}"


def _make_pdf(facts: ReportFacts) -> Any:
    from fpdf import FPDF

    study_name = _clean(facts.study.name)

    class _PDF(FPDF):  # type: ignore[misc]
        def footer(self) -> None:
            if self.page_no() == 1:
                return
            self.set_y(-12)
            self.set_font(FONT, "", 7.5)
            self.set_text_color(*GREY)
            self.cell(0, 5, f"deeprules methods checklist · {study_name}", align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"page {self.page_no()} of {{nb}}", align="R")
            self.set_text_color(0, 0, 0)

    pdf = _PDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
    pdf.add_font(FONT, "I", str(FONT_DIR / "DejaVuSans-Oblique.ttf"))
    pdf.set_title(f"Methods checklist: {study_name}")
    pdf.set_author("deeprules")
    pdf.set_creator("deeprules")
    pdf.set_font(FONT, "", BODY_PT)
    return pdf


# --------------------------------------------------------------------------- primitives
def _heading(pdf: Any, text: str, level: int = 0, *, new_page: bool = True) -> None:
    size = {0: 15, 1: 12, 2: 10.5}[level]
    if level == 0 and new_page:
        pdf.add_page()
    elif pdf.will_page_break(30):
        pdf.add_page()
    else:
        pdf.ln({0: 7, 1: 3}.get(level, 2))
    pdf.start_section(text, level=level)
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, size * 0.5, _clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(1.5)
    pdf.set_font(FONT, "", BODY_PT)


def _para(
    pdf: Any, text: str, *, style: str = "", size: float = BODY_PT, colour: Sequence[int] = (0, 0, 0)
) -> None:
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, LINE * size / BODY_PT, _clean(text), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(FONT, "", BODY_PT)


def _bullets(pdf: Any, items: Sequence[str], *, colour: Sequence[int] = (0, 0, 0)) -> None:
    for item in items:
        pdf.set_x(pdf.l_margin + 2)
        pdf.set_text_color(*colour)
        pdf.cell(4, LINE, "•")
        pdf.multi_cell(0, LINE, _clean(item), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _label(pdf: Any, text: str) -> None:
    pdf.ln(1)
    _para(pdf, text, style="B", size=BODY_PT)


def _table(
    pdf: Any,
    rows: Sequence[Sequence[Any]],
    *,
    widths: Sequence[float],
    header: bool = True,
    fills: Mapping[tuple[int, int], tuple[int, int, int]] | None = None,
    greys: set[tuple[int, int]] | None = None,
    size: float = SMALL_PT,
) -> None:
    """A table whose cells wrap; ``fills``/``greys`` colour or grey out (row, col) cells."""
    from fpdf.fonts import FontFace

    pdf.set_font(FONT, "", size)
    pdf.set_fill_color(255, 255, 255)
    heading = FontFace(emphasis="BOLD", fill_color=(232, 236, 243))
    with pdf.table(
        col_widths=tuple(widths),
        text_align="LEFT",
        line_height=size * 0.5,
        first_row_as_headings=header,
        headings_style=heading,
        padding=1.2,
        borders_layout="HORIZONTAL_LINES",
        width=pdf.epw,
    ) as table:
        for r, row in enumerate(rows):
            trow = table.row()
            for c, value in enumerate(row):
                style = None
                if fills and (r, c) in fills:
                    style = FontFace(fill_color=fills[(r, c)])
                elif greys and (r, c) in greys:
                    style = FontFace(emphasis="ITALICS", color=GREY)
                trow.cell(_clean(value), style=style)
    pdf.ln(2)
    pdf.set_font(FONT, "", BODY_PT)


#: Tables of at most this many rows are not split across pages (with their heading).
KEEP_ROWS = 25


def _titled_table(pdf: Any, title: str, rows: Sequence[Sequence[Any]], *, note: str = "", **kw: Any) -> None:
    """A level-1 heading, a table and an optional note, moved to the next page together when a
    short table would otherwise be split (no page holding two spill-over rows)."""

    def draw(p: Any) -> None:
        _heading(p, title, level=1)
        _table(p, rows, **kw)
        if note:
            _para(p, note, size=7.5, colour=GREY)

    if len(rows) <= KEEP_ROWS:
        with pdf.offset_rendering() as dummy:
            draw(dummy)
        if dummy.page_break_triggered:
            pdf.add_page()
    draw(pdf)


def _image(pdf: Any, png: bytes | None, width: float = 150) -> None:
    if not png:
        return
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        w_px, h_px = im.size
    height = width * h_px / w_px
    if pdf.will_page_break(height + 2):
        pdf.add_page()
    pdf.image(io.BytesIO(png), x=pdf.l_margin + (pdf.epw - width) / 2, w=width)
    pdf.ln(2)


def _render_toc(pdf: Any, outline: Sequence[Any]) -> None:
    pdf.set_xy(pdf.l_margin, pdf.t_margin)
    pdf.set_font(FONT, "B", 15)
    pdf.set_text_color(*ACCENT)
    pdf.cell(0, 9, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    for section in outline:
        if section.level > 1:
            continue
        size = 10 if section.level == 0 else 9
        pdf.set_font(FONT, "B" if section.level == 0 else "", size)
        indent = 6 * section.level
        link = pdf.add_link(page=section.page_number)
        pdf.set_x(pdf.l_margin + indent)
        name = _clean(section.name)
        pdf.cell(pdf.epw - indent - 12, 5.6, name, link=link)
        pdf.cell(12, 5.6, str(section.page_number), align="R", link=link, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", BODY_PT)


# --------------------------------------------------------------------------- sections
def _title_page(pdf: Any, facts: ReportFacts, statuses: list[TipStatus]) -> None:
    pdf.add_page()
    pdf.ln(30)
    pdf.set_font(FONT, "", 11)
    pdf.set_text_color(*GREY)
    pdf.cell(0, 6, "deeprules · methods checklist", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(FONT, "B", 22)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 10, _clean(facts.study.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    if facts.study.design.question:
        _para(pdf, facts.study.design.question, style="I", size=11)
        pdf.ln(3)
    d = facts.dataset
    rows = [
        ("Generated", facts.generated_at.replace("T", " ").replace("+00:00", " UTC")),
        ("Study id", facts.study.id),
        ("Dataset", d.name if d else "no dataset loaded"),
        ("Dataset sha256", d.sha256 if d else "—"),
    ]
    if facts.split is not None and facts.split.sha256:
        rows.append(("Split sha256", facts.split.sha256))
    if facts.selected:
        rows.append(("Selected model", facts.label_of(facts.selected)))
    _table(pdf, rows, widths=(35, 139), header=False, size=9)
    counts = {s: sum(t.status == s for t in statuses) for s in STATUSES}
    pdf.ln(4)
    _para(
        pdf,
        "Tips: " + ", ".join(_status_count(n, s) for s, n in counts.items() if n) + ".",
        style="B",
        size=10.5,
    )
    pdf.ln(6)
    _para(
        pdf,
        "This document was generated from the study record, its findings and its results; every "
        "number in it comes from the analysis itself. The ten tips are those of Lee BD et al., "
        "\u201cTen quick tips for deep learning in biology\u201d, PLoS Computational Biology 18(3): "
        "e1009803 (2022); the explanations are deeprules' own. The checklists follow DOME (Walsh et "
        "al., Nature Methods 2021) and REFORMS (Kapoor et al., Science Advances 2024). Items that "
        f"only the authors can answer are marked \u201c{TO_COMPLETE}\u201d.",
        size=8.5,
        colour=GREY,
    )


def _summary(pdf: Any, facts: ReportFacts, statuses: list[TipStatus]) -> None:
    _heading(pdf, "1. Summary of the ten tips", new_page=False)
    rows: list[list[str]] = [["Tip", "Advice", "Status"]]
    fills = {}
    for i, t in enumerate(statuses, start=1):
        rows.append([str(t.tip.number), t.tip.title, t.status])
        fills[(i, 2)] = STATUS_COLOURS[t.status]
    _table(pdf, rows, widths=(12, 122, 40), fills=fills, size=9)
    if facts.statement:
        _para(pdf, facts.statement, style="B")
        pdf.ln(1)
    if facts.out_of_date:  # steps whose inputs changed since they ran: their results are not shown
        _para(pdf, "Out of date: " + " ".join(facts.out_of_date.values()), style="B")
        pdf.ln(1)
    counts = summarise(facts.findings)
    acked = sum(facts.study.acknowledgement(f.key) is not None for f in facts.findings)
    _para(
        pdf,
        f"Findings: {plural(counts['error'], 'error')}, {plural(counts['warning'], 'warning')}, "
        f"{plural(counts['info'], 'note')}; {acked} acknowledged with a written justification.",
    )
    missing = [(t.tip.number, m) for t in statuses for m in t.missing if t.status != "not applicable"]
    if missing:
        _label(pdf, "Still to do")
        _bullets(
            pdf,
            [f"Tip {n}: {m.text}" + (f" ({TO_COMPLETE})" if m.attention else "") for n, m in missing],
        )


def _finding_lines(f: Finding) -> str:
    cols = f" ({', '.join(f.columns[:6])}{', …' if len(f.columns) > 6 else ''})" if f.columns else ""
    ev = evidence_text(f.evidence, limit=MAX_EVIDENCE_ITEMS)
    out = f"{f.severity.upper()} · {f.title}{cols}: {f.message}"
    return out + (f" Evidence: {ev}." if ev else "")


def _tip_section(pdf: Any, facts: ReportFacts, t: TipStatus) -> None:
    _heading(pdf, f"Tip {t.tip.number}. {t.tip.title}", level=1)
    _para(pdf, t.tip.explanation, style="I", size=8.5, colour=GREY)
    pdf.ln(1)
    pdf.set_font(FONT, "B", 9)
    pdf.set_fill_color(*STATUS_COLOURS[t.status])
    pdf.cell(
        pdf.get_string_width(t.status) + 8, 6, t.status, fill=True, align="C", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_fill_color(255, 255, 255)
    pdf.set_font(FONT, "", BODY_PT)
    pdf.ln(1)
    if t.reason:
        _para(pdf, f"Not applicable, in the authors' words: \u201c{t.reason}\u201d")
    if t.done:
        _label(pdf, "What the study shows")
        _bullets(pdf, t.done)
    todo = [m.text for m in t.missing if not m.attention]
    authors = [m.text for m in t.missing if m.attention]
    if authors and t.status != "not applicable":
        _label(pdf, "To be completed by the authors")
        _bullets(pdf, authors, colour=SEVERITY_COLOURS["warning"])
    if todo and t.status != "not applicable":
        _label(pdf, "Not done yet")
        _bullets(pdf, todo, colour=GREY)
    if t.open_findings:
        _label(pdf, "Findings that need attention")
        for f in t.open_findings[:MAX_FINDINGS_PER_TIP]:
            _bullets(pdf, [_finding_lines(f)], colour=SEVERITY_COLOURS[f.severity])
        if len(t.open_findings) > MAX_FINDINGS_PER_TIP:
            _para(
                pdf, f"… and {len(t.open_findings) - MAX_FINDINGS_PER_TIP} more (findings.json).", colour=GREY
            )
    if t.acknowledged:
        _label(pdf, "Acknowledged findings and the authors' justification")
        for f, ack in t.acknowledged:
            by = ", ".join(x for x in (ack.who, ack.at[:10]) if x)
            who = f" ({by})" if by else ""
            _bullets(pdf, [_finding_lines(f) + f" Justification{who}: \u201c{ack.justification}\u201d"])
    if t.notes:
        _label(pdf, "Notes")
        _bullets(pdf, [_finding_lines(f) for f in t.notes[:MAX_FINDINGS_PER_TIP]], colour=GREY)
    for name in t.charts:
        _image(pdf, chart_png(name, facts), width=140 if name != "pca" else 165)


def _data_section(pdf: Any, facts: ReportFacts) -> None:
    _heading(pdf, "3. Data and provenance")
    if not facts.datasets:
        _para(pdf, "No dataset has been loaded yet.", colour=GREY)
    for d in facts.datasets:
        rows = [
            ("sha256", d.sha256),
            ("Rows × columns", f"{d.rows} × {d.columns}" if d.rows is not None else "n/a"),
            ("Features", str(d.n_features) if d.n_features is not None else "n/a"),
            *provenance_rows(d),
        ]
        greys = {(i, 1) for i, r in enumerate(rows) if str(r[1]).startswith(NOT_STATED)}
        _titled_table(pdf, f"Dataset: {d.name}", rows, widths=(35, 139), header=False, greys=greys)
    r, des = facts.study.roles, facts.study.design
    answered = facts.design_answered  # an untouched questionnaire: its defaults are not answers
    rows2 = [
        ("Question", des.question or TO_COMPLETE),
        ("Study type", des.study_type if answered else NOT_STATED),
        (
            "Replicates",
            des.replicate_kind.replace("_", " ") + ("; several time points" if des.time_points else "")
            if answered
            else NOT_STATED,
        ),
        ("Matching", des.matching or ("none stated" if answered else NOT_STATED)),
        ("Sensitive data", sensitive_text(facts)[0]),
        ("Ethics approval", des.ethics_approval or NOT_STATED),
        ("Label (task)", f"{r.label or 'not set'} ({r.task})"),
        ("Sample id", r.id or "none"),
        ("Individual (group)", r.group or "none"),
        ("Batch columns", ", ".join(r.batch) or "none"),
        ("Covariates", ", ".join(r.covariates) or "none"),
    ]
    greys = {(i, 1) for i, row in enumerate(rows2) if row[1] == TO_COMPLETE or row[1].startswith(NOT_STATED)}
    if not sensitive_text(facts)[1]:
        greys.add((4, 1))
    _titled_table(pdf, "Design and column roles", rows2, widths=(35, 139), header=False, greys=greys)
    s = facts.split
    if s is None:
        _heading(pdf, "Split", level=1)
        _para(pdf, "No split has been made yet.", colour=GREY)
        return
    classes = list(dict.fromkeys(c for cc in s.class_counts.values() for c in cc))
    head = ["Side", "Samples", *classes[:6]] + (["Individuals"] if s.groups else [])
    rows3 = [head]
    for side, n in s.sizes.items():
        cc = s.class_counts.get(side, {})
        rows3.append(
            [side, str(n), *[str(cc.get(c, 0)) for c in classes[:6]]]
            + ([str(s.groups.get(side, 0))] if s.groups else [])
        )
    w = pdf.epw / len(head)
    note = (
        f"Strategy: {strategy_label(s.strategy)}, seed {s.seed}"
        + (f", {s.n_folds} CV folds on the training side" if s.n_folds else "")
        + (f"; individuals on more than one side: {s.group_overlap}" if s.group_overlap is not None else "")
        + (f"; split file sha256 {s.sha256}" if s.sha256 else "")
        + "."
    )
    _titled_table(pdf, "Split", rows3, widths=[w] * len(head), size=8.5, note=note)


def _models_section(pdf: Any, facts: ReportFacts) -> None:
    if not facts.models:  # one short line: no page of its own
        _heading(pdf, "4. Models and evaluation", new_page=pdf.will_page_break(40))
        _para(pdf, "No model has been fitted yet.", colour=GREY)
        return
    _heading(pdf, "4. Models and evaluation")
    name_w = 48
    for side, title in (("tune", "Tuning side"), ("test", "Locked test set")):
        panels = [(m, m.metrics.get(side)) for m in facts.models if m.metrics.get(side)]
        if not panels:
            if side == "test":
                _para(pdf, "The locked test set has not been used yet.", colour=GREY)
            continue
        keys = list(dict.fromkeys(k for _, p in panels for k in p))  # type: ignore[union-attr]
        if facts.primary_metric in keys:
            keys.remove(facts.primary_metric)
            keys.insert(0, facts.primary_metric)
        keys = keys[:4]
        rows = [["Model", *[metric_name(k) for k in keys]]]
        for m, p in panels:
            name = facts.label_of(m.name) + (" (selected)" if m.name == facts.selected else "")
            rows.append([name, *[fmt_ci(p.get(k), 3, compact=True) for k in keys]])  # type: ignore[union-attr]
        w = (pdf.epw - name_w) / len(keys)
        _titled_table(
            pdf, f"Metrics: {title.lower()} (95% CI)", rows, widths=[name_w] + [w] * len(keys), size=7.5
        )
    if facts.comparisons:
        rows = [["Model A", "Model B", "Metric", "Difference A − B (95% CI)"]]
        for c in facts.unique_comparisons:
            ci = fmt_ci({"value": c.get("diff"), "low": c.get("low"), "high": c.get("high")})
            rows.append(
                [
                    facts.label_of(c.get("a")),
                    facts.label_of(c.get("b")),
                    metric_name(str(c.get("metric"))),
                    ci,
                ]
            )
        _titled_table(pdf, "Paired comparisons", rows, widths=(44, 44, 26, 60))
    rows = [["Model", "Kind", "Trials", "Search score", "Seeds", "Chosen values"]]
    for m in facts.models:
        rows.append(
            [
                facts.label_of(m.name),
                m.kind,
                trials_text(m, short=True),
                fmt_num(m.cv_score),
                str(m.n_seeds),
                _short(params_text(_shown_params(m)), MAX_PARAM_CHARS) or "none (no hyper-parameters)",
            ]
        )
    notes = ["Search score: the mean cross-validated score of the best trial on the training side"]
    if any(m.kind == "deep" for m in facts.models):
        notes.append(
            "for a deep model, the validation score of its best trial on the first cross-validation fold, "
            "which is not comparable with the baselines' mean over folds"
        )
    note = "; ".join(notes) + ". Models are compared on the tuning side."
    _titled_table(
        pdf, "Hyper-parameter search log", rows, widths=(32, 16, 22, 16, 12, 76), size=7.5, note=note
    )


#: Settings of a deep configuration that do not apply to its kind of network.
_NOT_FOR_KIND = {"mlp": ("kind", "n_filters", "kernel_size"), "cnn": ("kind", "width")}


def _shown_params(m: Any) -> dict[str, Any]:
    params = dict(m.params)
    drop = _NOT_FOR_KIND.get(str(params.get("kind", "")), ())
    return {k: v for k, v in params.items() if k not in drop}


def _checklist(pdf: Any, title: str, items: list[ChecklistItem], intro: str) -> None:
    _heading(pdf, title)
    filled = sum(i.filled for i in items)
    _para(pdf, f"{intro} {filled} of {len(items)} items filled from the study.", size=8.5, colour=GREY)
    pdf.ln(1)
    rows = [["Section", "Item", "Answer"]]
    greys = set()
    for r, it in enumerate(items, start=1):
        rows.append([it.section, it.item, it.text])
        if not it.filled:
            greys.add((r, 2))
    _table(pdf, rows, widths=(30, 42, 102), greys=greys, size=7.8)


def _repro_section(pdf: Any, facts: ReportFacts) -> None:
    _heading(pdf, "8. Reproducibility record", new_page=pdf.will_page_break(90))
    _heading(pdf, "Files", level=1)
    if facts.outputs == "run":
        text = "Written by 'deeprules run' into its output folder: " + run_files_text()
    elif facts.outputs == "bundle":
        text = (
            "This report is part of a reproducibility bundle: study.yaml, the data, split.csv, results.json, "
            "findings.json, versions.json, README.md and SHA256SUMS ('sha256sum -c SHA256SUMS' checks them); "
            "'python -m deeprules_core run study.yaml --out DIR' re-runs the analysis."
        )
    else:
        text = (
            "This report was written on its own: no study file, split file, results file or bundle was "
            "exported with it. The Report page exports a reproducibility bundle; 'deeprules run' writes "
            "its files into an output folder."
        )
    _para(pdf, text, size=8.5)
    if facts.test_uses:
        rows = [["When", "Purpose", "Unlock reason"]]
        rows += [
            [
                str(u.get("at") or "").replace("T", " ")[:19],
                str(u.get("purpose")),
                str(u.get("unlock_reason") or "none needed"),
            ]
            for u in facts.test_uses
        ]
        _titled_table(pdf, "Uses of the locked test set", rows, widths=(40, 67, 67))
    rows = [["Item", "Value"], *([k, v] for k, v in sorted(facts.versions.items()))]
    rows += [[k.replace("_", " "), v] for k, v in facts.hardware.items() if k != "platform"]
    rows += [[f"seed ({k})", str(v)] for k, v in facts.seeds.items()]
    _titled_table(pdf, "Software, hardware and seeds", rows, widths=(50, 124), size=7.5)
    if facts.study.steps:
        rows = [["Step", "Finished", "Seed", "Parameters"]]
        for rec in facts.study.steps:
            rows.append(
                [
                    step_label(rec.step),
                    rec.finished_at.replace("T", " ")[:19],
                    "" if rec.seed is None else str(rec.seed),
                    _short(params_text(dict(rec.params)), 240),
                ]
            )
        _titled_table(pdf, "Steps run", rows, widths=(26, 36, 12, 100), size=7.5)


# --------------------------------------------------------------------------- entry point
def build_pdf(facts: ReportFacts, out_path: str | Path) -> Path:
    """Write the methods-checklist PDF for ``facts`` to ``out_path``; return the path."""
    out = Path(out_path)
    statuses = tip_statuses(facts)
    pdf = _make_pdf(facts)
    _title_page(pdf, facts, statuses)
    pdf.add_page()
    pdf.insert_toc_placeholder(_render_toc, pages=1, allow_extra_pages=True)
    _summary(pdf, facts, statuses)
    _heading(pdf, "2. The ten tips")
    for i, t in enumerate(statuses):
        if i:
            pdf.ln(2)
        _tip_section(pdf, facts, t)
    _data_section(pdf, facts)
    _models_section(pdf, facts)
    _checklist(pdf, "5. DOME checklist", dome_items(facts),
               "DOME (Walsh et al., Nature Methods 18: 1122–1127, 2021): Data, Optimization, Model, Evaluation.")  # fmt: skip
    _checklist(pdf, "6. REFORMS checklist", reforms_items(facts),
               "REFORMS (Kapoor et al., Science Advances 10: eadk3452, 2024), the modules a tool can speak to.")  # fmt: skip
    _heading(pdf, "7. Methods paragraph", new_page=pdf.will_page_break(80))
    _para(
        pdf,
        "Generated from the same facts as this report; edit it freely for the paper.",
        size=8.5,
        colour=GREY,
    )
    pdf.ln(1)
    _para(pdf, methods_text(facts))
    _repro_section(pdf, facts)
    from ._privacy import privacy_section  # Tip 10: section 9, when the study has privacy records

    privacy_section(pdf, facts)
    from .._files import atomic_write

    atomic_write(out, bytes(pdf.output()))  # whole or not at all
    return out
