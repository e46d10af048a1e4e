"""What every altair chart of the app shares: a height that fits its rows, labels that are
never cut, and colours that keep their meaning (deeprules_core.palette) across datasets.

A discrete axis gets a fixed step per row (``alt.Step``), not a fixed height: a fixed
height squeezes many rows into unreadable slivers (and Streamlit's renderer collapses a
layered heatmap with a fixed height to a line), while a step grows the chart with its rows.
Column names go into the data under fixed field names (``level``, ``class``): a name
with a dot or brackets, common in GEO sample sheets, is read by Vega as a nested field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import altair as alt

from deeprules_core.names import model_label
from deeprules_core.palette import CATEGORICAL, ROLE_COLOURS, SIDE_COLOURS, model_colour

__all__ = [
    "ROW_STEP",
    "axis",
    "gradient_legend",
    "role_scale",
    "side_scale",
    "model_scale",
    "category_scale",
    "model_names",
    "capitalised",
]

#: Pixels per row of a discrete axis (bars, heatmap rows).
ROW_STEP = 26


def axis(**kw: Any) -> alt.Axis:
    """An axis whose labels are never truncated (``labelLimit=0``) nor thinned out."""
    return alt.Axis(labelLimit=0, labelOverlap=False, **kw)


def gradient_legend(rows: int, title: str, step: int = ROW_STEP) -> alt.Legend:
    """A colour-gradient legend no taller than ``rows`` rows of ``step`` pixels (a legend
    taller than a short heatmap is cut at the chart's bottom edge)."""
    return alt.Legend(title=title, gradientLength=max(24, rows * step - 24), labelLimit=0)


def role_scale(roles: Iterable[str] | None = None) -> alt.Scale:
    domain = [r for r in ROLE_COLOURS if roles is None or r in set(roles)]
    return alt.Scale(domain=domain, range=[ROLE_COLOURS[r] for r in domain])


def side_scale(sides: Iterable[str] | None = None) -> alt.Scale:
    domain = [s for s in SIDE_COLOURS if sides is None or s in set(sides)]
    return alt.Scale(domain=domain, range=[SIDE_COLOURS[s] for s in domain])


def category_scale(levels: Iterable[Any]) -> alt.Scale:
    """Classes or batch levels in sorted order, each with its own colour."""
    domain = sorted({str(v) for v in levels})
    return alt.Scale(domain=domain, range=[CATEGORICAL[i % len(CATEGORICAL)] for i in range(len(domain))])


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def model_names(results: Mapping[str, Any]) -> dict[str, str]:
    """Each model's display name ('Logistic regression', 'MLP'); a family that occurs twice
    keeps its run name in brackets, so two models never read the same."""
    task = str(results.get("task", "classification"))
    models = results.get("models") or {}
    families = [str(m.get("family") or n) for n, m in models.items()]
    out = {}
    for name, fam in zip(models, families, strict=True):
        label = capitalised(model_label(fam, task))
        out[name] = label if families.count(fam) == 1 else f"{label} ({name})"
    return out


def model_scale(results: Mapping[str, Any]) -> alt.Scale:
    """A colour per model display name, fixed by family (logistic regression is always blue)."""
    names = model_names(results)
    models = results.get("models") or {}
    domain = list(names.values())
    colours = [model_colour(n, (models.get(k) or {}).get("family")) for k, n in names.items()]
    return alt.Scale(domain=domain, range=colours)
