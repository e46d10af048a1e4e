"""Charts for the PDF, drawn with matplotlib's Agg renderer into PNG bytes (offline).

Each function takes plain facts and returns PNG bytes, or ``None`` when there is
nothing to draw. ``matplotlib.figure.Figure`` is used directly (no pyplot), so nothing
global is switched and the functions are safe in a web server's threads.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..names import control_scored_on, strategy_label
from ..palette import CATEGORICAL, REAL_COLOUR, SHUFFLED_COLOUR, SIDE_COLOURS
from ._facts import ModelFacts, ReportFacts, SplitFacts
from ._text import metric_name, model_label

__all__ = [
    "class_balance_png",
    "pca_png",
    "split_png",
    "metrics_png",
    "shuffled_null_png",
    "learning_curve_png",
    "chart_png",
]

WIDTH_IN, HEIGHT_IN, DPI = 6.4, 2.8, 120
#: Classes and levels take the app's categorical palette in sorted order (same colours as the pages).
PALETTE = CATEGORICAL
MAX_CLASSES_DRAWN = 12
#: Legend entries longer than this are cut with an ellipsis; longer than LEGEND_WRAP, wrapped.
LEGEND_CHARS, LEGEND_WRAP = 48, 26
#: A metric in [0, 1] is never drawn on an axis narrower than this (tiny gaps look huge).
MIN_METRIC_SPAN = 0.05


def _legend_label(text: Any, wrap: int = LEGEND_WRAP) -> str:
    """A class name for a legend: at most LEGEND_CHARS characters (… when cut), wrapped."""
    import textwrap

    s = str(text)
    if len(s) > LEGEND_CHARS:
        s = s[: LEGEND_CHARS - 1].rstrip() + "…"
    return "\n".join(textwrap.wrap(s, wrap)) or s


def _unit_span(values: Sequence[float] | np.ndarray) -> tuple[float, float] | None:
    """Axis limits at least MIN_METRIC_SPAN wide for values in [0, 1]; None for other values."""
    v = np.asarray([x for x in np.ravel(values) if np.isfinite(x)], dtype=float)
    if v.size == 0 or v.min() < 0 or v.max() > 1:
        return None
    lo, hi = float(v.min()), float(v.max())
    if hi - lo >= MIN_METRIC_SPAN:
        return None
    pad = (MIN_METRIC_SPAN - (hi - lo)) / 2
    lo, hi = lo - pad, hi + pad
    if hi > 1:
        lo, hi = lo - (hi - 1), 1.0
    if lo < 0:
        lo, hi = 0.0, hi - lo
    margin = 0.05 * MIN_METRIC_SPAN
    return max(0.0, lo - margin), min(1.0 + margin, hi + margin)


def _figure(width: float = WIDTH_IN, height: float = HEIGHT_IN) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    fig.set_layout_engine("constrained")
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.title.set_fontsize(9)


def class_balance_png(counts: Mapping[str, int]) -> bytes | None:
    """Samples per class, as horizontal bars with the counts written on them."""
    if not counts:
        return None
    items = list(counts.items())[:MAX_CLASSES_DRAWN]
    fig = _figure(height=max(1.4, 0.35 * len(items) + 0.8))
    ax = fig.add_subplot()
    names = [str(k) for k, _ in items]
    vals = [int(v) for _, v in items]
    ax.barh(names, vals, color=[_level_colour(n, names) for n in names])
    for i, v in enumerate(vals):
        ax.text(v, i, f" {v}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("samples", fontsize=8)
    ax.set_title("Samples per class")
    _style(ax)
    return _png(fig)


def _level_colour(level: Any, levels: Sequence[Any]) -> str:
    """A class or level's colour: its rank in sorted order, as on the app's charts."""
    ordered = sorted({str(v) for v in levels})
    return PALETTE[ordered.index(str(level)) % len(PALETTE)] if str(level) in ordered else PALETTE[-1]


def _scatter(ax: Any, x: np.ndarray, y: np.ndarray, labels: Sequence[str], title: str) -> None:
    levels = sorted(dict.fromkeys(str(v) for v in labels))
    labels = [str(v) for v in labels]
    for lev in levels[:MAX_CLASSES_DRAWN]:
        mask = np.array([lab == lev for lab in labels])
        ax.scatter(
            x[mask], y[mask], s=6, alpha=0.7, color=_level_colour(lev, levels), label=_legend_label(lev)
        )
    ax.legend(fontsize=6, markerscale=2, frameon=False, loc="best")
    ax.set_title(title)
    _style(ax)


def pca_png(pca: Mapping[str, Any] | None) -> bytes | None:
    """PC1 vs PC2, coloured by label (and, beside it, by the first batch column)."""
    if not pca or not pca.get("x"):
        return None
    x, y = np.asarray(pca["x"], dtype=float), np.asarray(pca["y"], dtype=float)
    ev = pca.get("explained") or [float("nan")] * 2
    panels = [("label", "coloured by label")]
    if pca.get("batch"):
        panels.append(("batch", f"coloured by {pca.get('batch_name') or 'batch'}"))
    fig = _figure(height=3.0)
    for i, (key, title) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        _scatter(ax, x, y, pca.get(key) or ["all"] * len(x), f"PCA {title}")
        ax.set_xlabel(f"PC1 ({100 * ev[0]:.0f}%)", fontsize=8)
        ax.set_ylabel(f"PC2 ({100 * ev[1]:.0f}%)", fontsize=8)
    return _png(fig)


def split_png(split: SplitFacts | None) -> bytes | None:
    """Samples per side of the split, stacked by class."""
    if split is None or not split.sizes:
        return None
    sides = list(split.sizes)
    fig = _figure(height=2.2)
    ax = fig.add_subplot()
    if split.class_counts:
        every = list(dict.fromkeys(c for cc in split.class_counts.values() for c in cc))
        classes = sorted(every, key=str)[:MAX_CLASSES_DRAWN]
        left = np.zeros(len(sides))
        for c in classes:
            vals = np.array([split.class_counts.get(s, {}).get(c, 0) for s in sides], dtype=float)
            ax.barh(
                sides, vals, left=left, color=_level_colour(c, every), label=_legend_label(c, LEGEND_CHARS)
            )
            left += vals
        ax.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    else:
        ax.barh(sides, [split.sizes[s] for s in sides], color=PALETTE[0])
    for i, s in enumerate(sides):
        ax.text(split.sizes[s], i, f" {split.sizes[s]}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("samples", fontsize=8)
    ax.set_title(f"Split composition: {strategy_label(split.strategy)}")
    _style(ax)
    return _png(fig)


def metrics_png(
    models: Sequence[ModelFacts], metric: str | None, task: str = "classification"
) -> bytes | None:
    """The primary metric of every model with its 95% interval, tuning and test side."""
    if not models or not metric:
        return None
    rows = []
    for m in models:
        for side, offset in (("tune", -0.15), ("test", 0.15)):
            entry = (m.metrics.get(side) or {}).get(metric)
            if entry and entry.get("value") is not None:
                rows.append((m.name, side, offset, entry))
    if not rows:
        return None
    names = list(dict.fromkeys(m.name for m in models))
    families = {m.name: m.family for m in models}
    fig = _figure(height=max(1.6, 0.4 * len(names) + 0.9))
    ax = fig.add_subplot()
    drawn: list[float] = []
    for side, color in (("tune", SIDE_COLOURS["tune"]), ("test", SIDE_COLOURS["test"])):
        pts = [r for r in rows if r[1] == side]
        if not pts:
            continue
        ys = [names.index(r[0]) + r[2] for r in pts]
        vals = np.array([r[3]["value"] for r in pts], dtype=float)
        lo = np.array([r[3].get("low", r[3]["value"]) for r in pts], dtype=float)
        hi = np.array([r[3].get("high", r[3]["value"]) for r in pts], dtype=float)
        err = np.vstack([np.clip(vals - lo, 0, None), np.clip(hi - vals, 0, None)])
        ax.errorbar(vals, ys, xerr=err, fmt="o", ms=4, capsize=3, color=color, label=side)
        drawn += [*vals, *lo, *hi]
    limits = _unit_span(drawn)
    if limits:
        ax.set_xlim(*limits)
    ax.set_yticks(range(len(names)), [_capital(model_label(families[n], task)) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric_name(metric)} (95% CI)", fontsize=8)
    ax.legend(fontsize=7, frameon=False)
    ax.set_title(f"{metric_name(metric)} per model")
    _style(ax)
    return _png(fig)


def shuffled_null_png(control: Mapping[str, Any] | None, model: str = "") -> bytes | None:
    """The shuffled-label null distribution with the real score marked."""
    if not control or not control.get("null"):
        return None
    null = np.array([v for v in control["null"] if v is not None], dtype=float)
    if null.size == 0 or control.get("real") is None:
        return None
    few = null.size < 10  # a histogram of three values is three bars of height 1: draw the values
    fig = _figure(height=1.6 if few else 2.3)
    ax = fig.add_subplot()
    if few:
        ax.plot(
            null,
            np.zeros_like(null),
            "o",
            color=SHUFFLED_COLOUR,
            ms=6,
            label=f"shuffled labels ({null.size} runs)",
        )
        ax.set_yticks([])
        ax.set_ylim(-1.0, 1.6)  # the legend sits above the points
        ax.spines["left"].set_visible(False)
    else:
        ax.hist(null, bins=min(20, max(5, null.size // 2)), color=SHUFFLED_COLOUR, label="shuffled labels")
        ax.set_ylabel("shuffles", fontsize=8)
    ax.axvline(float(control["real"]), color=REAL_COLOUR, lw=2, label="real labels")
    ax.set_xlabel(
        f"{metric_name(str(control.get('metric', 'score')))}, {control_scored_on(control)}", fontsize=8
    )
    ax.legend(fontsize=7, frameon=False, loc="upper left", ncols=2)
    ax.set_title(f"Shuffled-label control ({model or control.get('model', '')})")
    _style(ax)
    return _png(fig)


_X_KEYS = ("epoch", "epochs", "n_train", "train_sizes", "sizes", "x")
#: Numeric lists of a learning-curve record that are axes or counts, not curves.
_NOT_SERIES = {"fraction", "n_groups", "n_train", "train_sizes", "sizes", "epoch", "epochs", "x", "seeds"}


def learning_curve_png(curve: Mapping[str, Any] | None, title: str = "Learning curve") -> bytes | None:
    """Every numeric series of a learning-curve record against epochs (or training size)."""
    if not curve or not isinstance(curve, Mapping):
        return None
    xkey = next((k for k in _X_KEYS if isinstance(curve.get(k), Sequence)), None)
    series = {
        k: np.asarray(v, dtype=float)
        for k, v in curve.items()
        if k != xkey
        and k not in _NOT_SERIES
        and isinstance(v, Sequence)
        and not isinstance(v, str)
        and len(v) > 1
        and all(isinstance(e, int | float) or e is None for e in v)
    }
    if not series:
        return None
    from matplotlib.ticker import MaxNLocator

    losses = {k: v for k, v in series.items() if k.endswith("loss")}
    others = {k: v for k, v in series.items() if k not in losses}
    metric = metric_name(str(curve.get("metric") or ""))
    panels = [(g, y) for g, y in ((losses, "loss"), (others, metric)) if g]
    fig = _figure(height=2.4)
    for p, (group, ylabel) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), p + 1)
        for i, (k, v) in enumerate(group.items()):
            x = np.asarray(curve[xkey], dtype=float)[: len(v)] if xkey else np.arange(1, len(v) + 1)
            ax.plot(x, v[: len(x)], color=_series_colour(k, i), label=_series_label(k), lw=1.5)
        if isinstance(curve.get("best_epoch"), int) and xkey in ("epoch", "epochs"):
            ax.axvline(curve["best_epoch"], color="#999999", lw=1, ls="--", label="best epoch")
        if ylabel != "loss":
            limits = _unit_span(np.concatenate([np.asarray(v, dtype=float) for v in group.values()]))
            if limits:
                ax.set_ylim(*limits)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        xlabel = {"n_train": "training samples"}.get(xkey or "", (xkey or "epoch").replace("_", " "))
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.legend(fontsize=7, frameon=False)
        ax.set_title(title if p == 0 else "")
        _style(ax)
    return _png(fig)


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _series_colour(key: str, i: int) -> str:
    """Train series in the train colour, tune / validation series in the tune colour."""
    k = key.lower()
    if k.startswith("train"):
        return SIDE_COLOURS["train"]
    if k.startswith(("tune", "val")):
        return SIDE_COLOURS["tune"]
    return PALETTE[(i + 3) % len(PALETTE)]


def _series_label(key: str) -> str:
    k = key.lower()
    if k.startswith("val"):
        return "validation (train side) " + key.split("_", 1)[-1].replace("_", " ")
    return key.replace("_", " ")


def chart_png(name: str, facts: ReportFacts) -> bytes | None:
    """The named chart (``class_balance``, ``pca``, ``split``, ``metrics``,
    ``shuffled_null``, ``learning_curve``) for a study, or None when it cannot be drawn."""
    if name == "class_balance":
        return class_balance_png(facts.class_counts)
    if name == "pca":
        return pca_png(facts.pca)
    if name == "split":
        return split_png(facts.split)
    if name == "metrics":
        return metrics_png(facts.models, facts.primary_metric, facts.task)
    if name == "shuffled_null":
        ctrl = facts.shuffled_control
        return shuffled_null_png(ctrl, facts.label_of(ctrl.get("model")) if ctrl else "")
    if name in ("learning_curve", "deep_learning_curve"):
        if name == "deep_learning_curve":
            models = list(facts.deep_models)
        else:  # the selected model's curve first, then any other
            sel = facts.model(facts.selected)
            models = ([sel] if sel else []) + [m for m in facts.models if m is not sel and m.kind != "deep"]
        for m in models:
            png = learning_curve_png(m.learning_curve, f"Learning curve: {facts.label_of(m.name)}")
            if png:
                return png
        return None
    raise ValueError(f"Unknown chart {name!r}.")
