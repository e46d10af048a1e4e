"""Every fact the report states, gathered once into one typed object.

The PDF, the checklists, the tip statuses and the methods paragraph all read the same
:class:`ReportFacts`, so a number printed in one place is the number printed in every
other. Facts come from the :class:`~deeprules_core.study.Study` record (design, roles,
step records, acknowledgements), the findings, the results dict of the modelling steps,
the split summary and the dataset provenance. Anything missing stays ``None`` / empty
and the report says "not done" or "to be completed by the authors".
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..current import out_of_date, results_out_of_date
from ..findings import Finding, sort_findings, to_jsonable
from ..study import Design, Study, package_versions, utcnow
from ._text import METRIC_NAMES, fmt_ci, fmt_num, fmt_p, metric_name, model_label

__all__ = [
    "DatasetFacts",
    "SplitFacts",
    "ModelFacts",
    "ReportFacts",
    "gather_facts",
    "summarise_split",
    "clean_provenance",
    "pca_summary",
    "STEP_ALIASES",
    "OUTPUTS",
    "NOT_STATED",
    "METRIC_NAMES",
    "fmt_num",
    "fmt_ci",
    "fmt_p",
    "metric_name",
    "model_label",
]

#: Step names as the steps record them (several spellings are accepted).
STEP_ALIASES: dict[str, tuple[str, ...]] = {
    "checks": ("checks", "audit"),
    "confounds": ("confounds", "audit"),
    "split": ("split",),
    "baselines": ("baselines",),
    "deep": ("deep_learning", "deep"),
    "evaluate": ("evaluate",),
    "interpret": ("interpret",),
    "privacy": ("privacy",),
    "run": ("run",),
}
#: PCA points drawn in the report; more are subsampled (a chart, not an analysis).
MAX_PCA_POINTS = 2000
PROVENANCE_KEYS = ("source", "version", "download_date", "licence", "description", "entered_by")
#: What accompanies the report: the PDF alone, a ``deeprules run`` folder, or a bundle.
OUTPUTS = ("pdf", "run", "bundle")
NOT_STATED = "not stated"
#: Provenance values that say nothing (filled in by a tool, not by the person who got the data).
_PLACEHOLDERS = ("as found on disk", "not stated", "unknown", "n/a", "none")


@dataclass(frozen=True)
class DatasetFacts:
    """One dataset: what it is, where it came from, the hash of its exact bytes."""

    name: str
    sha256: str
    dataset_id: str = ""
    rows: int | None = None
    columns: int | None = None
    n_features: int | None = None
    provenance: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitFacts:
    """The train / tune / test assignment, its sizes and what the leakage audit saw."""

    strategy: str
    seed: int | None
    sha256: str
    sizes: Mapping[str, int]
    class_counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    groups: Mapping[str, int] = field(default_factory=dict)
    group_overlap: int | None = None
    n_folds: int = 0
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelFacts:
    """One fitted model family from the results dict."""

    name: str
    family: str
    kind: str  # "baseline" | "deep"
    label: str
    params: Mapping[str, Any]
    seed: int | None
    n_trials: int
    cv_score: float | None
    metrics: Mapping[str, Mapping[str, Mapping[str, float]] | None]
    duration_s: float | None = None
    n_seeds: int = 1
    learning_curve: Mapping[str, Any] | None = None
    n_params: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # device, deterministic, seed_summary...


@dataclass(frozen=True)
class ReportFacts:
    """Everything the report says, in one place."""

    study: Study
    generated_at: str
    datasets: tuple[DatasetFacts, ...] = ()
    findings: tuple[Finding, ...] = ()
    checks_run: bool = False
    confounds_run: bool = False
    task: str = "classification"
    label: str | None = None
    classes: tuple[str, ...] = ()
    positive_class: str | None = None
    class_counts: Mapping[str, int] = field(default_factory=dict)
    split: SplitFacts | None = None
    models: tuple[ModelFacts, ...] = ()
    primary_metric: str | None = None
    selected: str | None = None
    budget: int | None = None
    seed: int | None = None
    comparisons: tuple[Mapping[str, Any], ...] = ()
    controls: Mapping[str, Any] = field(default_factory=dict)
    interpret: Mapping[str, Any] = field(default_factory=dict)
    pca: Mapping[str, Any] | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    hardware: Mapping[str, str] = field(default_factory=dict)
    seeds: Mapping[str, int] = field(default_factory=dict)
    test_uses: tuple[Mapping[str, Any], ...] = ()
    preprocessing: Mapping[str, Any] = field(default_factory=dict)
    cv: Mapping[str, Any] = field(default_factory=dict)
    statement: str = ""  # the headline on the selected model (see _wording.headline)
    has_predictions: bool = False
    outputs: str = "pdf"  # one of OUTPUTS: what is written next to this report
    n_rows: Mapping[str, int] = field(default_factory=dict)  # labelled rows per side (results)
    privacy: Mapping[str, Any] = field(default_factory=dict)  # Tip 10: report._privacy.load_privacy
    warnings: tuple[str, ...] = ()  # the headline's warnings (a label leak, metadata that reach the score)
    #: steps whose record no longer holds for the study (deeprules_core.current): step -> sentence
    out_of_date: Mapping[str, str] = field(default_factory=dict)

    # ---- derived views -------------------------------------------------------
    @property
    def dataset(self) -> DatasetFacts | None:
        return self.datasets[-1] if self.datasets else None

    @property
    def has_results(self) -> bool:
        return bool(self.models)

    def step(self, key: str) -> Any:
        """The latest step record under any of the names of ``key`` (STEP_ALIASES)."""
        for name in STEP_ALIASES.get(key, (key,)):
            rec = self.study.step(name)
            if rec is not None:
                return None if name in self.out_of_date else rec
        return None

    def model(self, name: str | None) -> ModelFacts | None:
        return next((m for m in self.models if m.name == name), None)

    @property
    def baselines(self) -> tuple[ModelFacts, ...]:
        return tuple(m for m in self.models if m.kind != "deep")

    @property
    def deep_models(self) -> tuple[ModelFacts, ...]:
        return tuple(m for m in self.models if m.kind == "deep")

    def findings_for_tip(self, tip: int) -> list[Finding]:
        return [f for f in self.findings if f.tip == tip]

    def label_of(self, name: str | None, *, long: bool = False) -> str:
        """The display name of a fitted model (by its family and the task)."""
        m = self.model(name)
        return model_label(m.family if m else str(name), self.task, long=long)

    @property
    def unique_comparisons(self) -> list[Mapping[str, Any]]:
        """The paired comparisons, each pair once (B − A is dropped when A − B is there)."""
        seen: set[tuple[Any, ...]] = set()
        out = []
        for c in self.comparisons:
            key = (frozenset((c.get("a"), c.get("b"))), c.get("metric"))
            if key not in seen:
                seen.add(key)
                out.append(c)
        return out

    @property
    def shuffled_control(self) -> Mapping[str, Any] | None:
        """The shuffled-label control of the selected model (a deep model stores its own),
        else the baselines' control."""
        sel = self.model(self.selected)
        own = (sel.extra.get("controls") or {}).get("shuffled_label") if sel else None
        return own or self.controls.get("shuffled_label") or None

    @property
    def all_shuffled_controls(self) -> list[Mapping[str, Any]]:
        """Every shuffled-label control: the selected model's first, then the others."""
        out = [m.extra["controls"]["shuffled_label"] for m in self.models
               if (m.extra.get("controls") or {}).get("shuffled_label")]  # fmt: skip
        if self.controls.get("shuffled_label"):
            out.append(self.controls["shuffled_label"])
        first = self.shuffled_control
        return [first, *[c for c in out if c is not first]] if first else out

    @property
    def design_answered(self) -> bool:
        """False when the design questionnaire was never filled in (every answer the default):
        then a False ``sensitive_data`` means "not asked", not "no"."""
        return self.study.design != Design()

    @property
    def n_train(self) -> int | None:
        """Labelled rows on the training side (the models' count, else the split's)."""
        if self.n_rows.get("train") is not None:
            return int(self.n_rows["train"])
        return self.split.sizes.get("train") if self.split else None


# --------------------------------------------------------------------------- helpers
def _f(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


_EXTRA_KEYS = (
    "device",
    "deterministic",
    "seed_summary",
    "architecture",
    "tuning_note",
    "controls",
    "cv_note",
)


def _models(results: Mapping[str, Any]) -> tuple[ModelFacts, ...]:
    out = []
    for name, m in (results.get("models") or {}).items():
        if not isinstance(m, Mapping):
            continue
        metrics = m.get("metrics") or {}
        seeds = m.get("seeds")
        n_seeds = len(seeds) if isinstance(seeds, Sequence | Mapping) and seeds else 1
        trials = m.get("trials") or []
        out.append(
            ModelFacts(
                name=str(name),
                family=str(m.get("family") or name),
                label=str(m.get("label") or name),
                kind=str(m.get("kind") or "baseline"),
                params=dict(m.get("params") or {}),
                seed=m.get("seed"),
                n_trials=int(m.get("n_trials") or len(trials) or 0),
                cv_score=_f(m.get("cv_score")),
                metrics={s: metrics.get(s) for s in ("train", "tune", "test")},
                duration_s=_f(m.get("duration_s")),
                n_seeds=n_seeds,
                learning_curve=m.get("learning_curve") or (m.get("curves") or {}).get("learning_curve"),
                n_params=m.get("n_params") if isinstance(m.get("n_params"), int) else None,
                extra=to_jsonable({k: m[k] for k in _EXTRA_KEYS if m.get(k) is not None}),
            )
        )
    return tuple(out)


def summarise_split(df: pd.DataFrame | None, roles: Any, split: Any) -> dict[str, Any]:
    """Sizes per side and class, groups per side and group overlap of a ``Split``."""
    sizes = split.sizes()
    out: dict[str, Any] = {
        "strategy": split.strategy,
        "seed": split.seed,
        "sha256": split.sha256,
        "sizes": sizes,
        "n_folds": split.n_folds,
        "params": dict(split.params),
    }
    if df is None or len(df) != len(split.assignment):
        return out
    sides = split.assignment["split"].to_numpy()
    if roles.label and roles.label in df and roles.task == "classification":
        lab = df[roles.label].astype(str).to_numpy()
        out["class_counts"] = {
            s: {str(k): int(v) for k, v in pd.Series(lab[sides == s]).value_counts().sort_index().items()}
            for s in sizes
        }
    if roles.group and roles.group in df:
        g = df[roles.group].astype(str).to_numpy()
        sets = {s: set(g[sides == s]) for s in sizes}
        out["groups"] = {s: len(v) for s, v in sets.items()}
        names = list(sets)
        overlap: set[str] = set()
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                overlap |= sets[a] & sets[b]
        out["group_overlap"] = len(overlap)
    return out


def _split_facts(summary: Mapping[str, Any] | None) -> SplitFacts | None:
    if not summary:
        return None
    summary = dict(summary)
    sides = summary.get("sides")  # deeprules_core.split.split_summary's form
    if isinstance(sides, Mapping):
        summary.setdefault("sizes", {s: e.get("rows", 0) for s, e in sides.items()})
        summary.setdefault("class_counts", {s: e["classes"] for s, e in sides.items() if e.get("classes")})
        if summary.get("unit") not in (None, "row"):
            summary.setdefault("groups", {s: e["groups"] for s, e in sides.items() if "groups" in e})
    sizes = summary.get("sizes") or {s: summary[s] for s in ("train", "tune", "test") if s in summary}
    return SplitFacts(
        strategy=str(summary.get("strategy", "unknown")),
        seed=summary.get("seed"),
        sha256=str(summary.get("sha256", "")),
        sizes={str(k): int(v) for k, v in sizes.items()},
        class_counts={
            str(s): {str(k): int(v) for k, v in c.items()}
            for s, c in (summary.get("class_counts") or {}).items()
        },
        groups={str(k): int(v) for k, v in (summary.get("groups") or {}).items()},
        group_overlap=summary.get("group_overlap"),
        n_folds=int(summary.get("n_folds") or 0),
        params=dict(summary.get("params") or {}),
    )


def pca_summary(df: pd.DataFrame, roles: Any, *, seed: int = 0) -> dict[str, Any] | None:
    """First two principal components of the standardised features, for the chart."""
    cols = roles.feature_columns(df)
    if len(cols) < 2 or len(df) < 3:
        return None
    X = df[cols].to_numpy(dtype=float)
    keep = np.arange(len(X))
    if len(X) > MAX_PCA_POINTS:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), MAX_PCA_POINTS, replace=False))
        X = X[keep]
    col_mean = np.nanmean(X, axis=0)
    X = np.where(np.isnan(X), col_mean, X)
    X = np.nan_to_num(X - X.mean(axis=0))
    sd = X.std(axis=0)
    X = X[:, sd > 0] / sd[sd > 0]
    if X.shape[1] < 2:
        return None
    u, s, _ = np.linalg.svd(X, full_matrices=False)
    var = s**2 / max(float((s**2).sum()), 1e-300)
    sub = df.iloc[keep]
    return {
        "x": (u[:, 0] * s[0]).tolist(),
        "y": (u[:, 1] * s[1]).tolist(),
        "explained": [float(var[0]), float(var[1])],
        "label": sub[roles.label].astype(str).tolist() if roles.label in df else None,
        "batch": sub[roles.batch[0]].astype(str).tolist() if roles.batch and roles.batch[0] in df else None,
        "batch_name": roles.batch[0] if roles.batch else None,
    }


def _hardware(study: Study) -> dict[str, str]:
    recorded = [rec.versions["platform"] for rec in study.steps if rec.versions.get("platform")]
    hw = {
        "platform": recorded[-1] if recorded else platform.platform(),
        "platform recorded by": "the steps" if recorded else "the report (no step recorded one)",
        "machine": platform.machine(),
        "cpu_count": str(os.cpu_count() or "unknown"),
    }
    for rec in study.steps:
        for source in (rec.params, rec.summary, rec.versions):
            for key in ("device", "gpu", "cuda_device", "accelerator"):
                if source.get(key):
                    hw["gpu" if key != "device" else "device"] = str(source[key])
    return hw


def _class_counts(df: pd.DataFrame | None, roles: Any, split: SplitFacts | None) -> dict[str, int]:
    if df is not None and roles.label in df and roles.task == "classification":
        vc = df[roles.label].astype(str).value_counts().sort_index()
        return {str(k): int(v) for k, v in vc.items()}
    if split and split.class_counts:
        total: dict[str, int] = {}
        for counts in split.class_counts.values():
            for k, v in counts.items():
                total[k] = total.get(k, 0) + v
        return dict(sorted(total.items()))
    return {}


def _stated(value: Any) -> bool:
    """False for an empty value or a placeholder such as 'as found on disk'."""
    if value is None:
        return False
    text = str(value).strip().lower()
    return bool(text) and not any(text.startswith(p) for p in _PLACEHOLDERS)


def _unstated_by_tool(provenance: Mapping[str, Any]) -> set[str]:
    """Fields a tool filled in for the user, as its description says ('deeprules run' writes
    "Not stated in the study file: download_date, ..." and "No download date was given")."""
    text = str(provenance.get("description") or "")
    out = set()
    m = re.search(r"not stated in the study file:\s*([a-z_, ]+)", text, flags=re.IGNORECASE)
    if m:
        out |= {k.strip() for k in m.group(1).split(",")}
    if re.search(r"no download date was given", text, flags=re.IGNORECASE):
        out.add("download_date")
    return out & set(PROVENANCE_KEYS)


def clean_provenance(provenance: Mapping[str, Any] | None) -> dict[str, str]:
    """The provenance fields a person actually stated (placeholders, blanks and values a tool
    filled in dropped). A download date a tool took from the file is kept as ``file_date``."""
    given = dict(provenance or {})
    unstated = _unstated_by_tool(given)
    out = {k: str(v) for k, v in given.items() if k in PROVENANCE_KEYS and k not in unstated and _stated(v)}
    if "download_date" in unstated and _stated(given.get("download_date")):
        out["file_date"] = str(given["download_date"])
    if out.get("source", "").startswith("file:"):  # a path on the analyst's disk is not a source
        out["local_file"] = out.pop("source")
    elif "source" in unstated and _stated(given.get("source")):
        out["local_file"] = str(given["source"])
    return out


def _dataset_facts(
    study: Study, dataset: Mapping[str, Any] | None, provenance: Mapping[str, Any] | None
) -> tuple[DatasetFacts, ...]:
    prov = clean_provenance(provenance)
    out = []
    for ref in study.datasets:
        last = ref is study.datasets[-1]
        d = dataset if (last and dataset) else {}
        out.append(
            DatasetFacts(
                name=ref.name,
                sha256=ref.sha256,
                dataset_id=ref.dataset_id,
                rows=d.get("rows"),
                columns=d.get("columns"),
                n_features=d.get("n_features"),
                provenance=prov if last else {},
            )
        )
    if not out and dataset:
        out.append(
            DatasetFacts(
                name=str(dataset.get("name", "dataset")),
                sha256=str(dataset.get("sha256", "")),
                rows=dataset.get("rows"),
                columns=dataset.get("columns"),
                n_features=dataset.get("n_features"),
                provenance=prov,
            )
        )
    return tuple(out)


def gather_facts(
    study: Study,
    *,
    findings: Iterable[Finding] | None = None,
    results: Mapping[str, Any] | None = None,
    split_summary: Mapping[str, Any] | None = None,
    provenance: Mapping[str, Any] | Any | None = None,
    dataset: Mapping[str, Any] | None = None,
    df: pd.DataFrame | None = None,
    interpret: Mapping[str, Any] | None = None,
    test_uses: Sequence[Mapping[str, Any]] = (),
    outputs: str | None = None,
) -> ReportFacts:
    """Gather every fact of the report from its parts; none of them is required.

    ``findings=None`` means "no check was run"; an empty list means "checks ran and found
    nothing". ``provenance`` may be a mapping or an object with the provenance attributes.
    ``outputs`` says what is written next to the report (:data:`OUTPUTS`): ``"pdf"`` (the
    report alone: no bundle is claimed), ``"run"`` (the folder of ``deeprules run``) or
    ``"bundle"`` (the reproducibility bundle). ``None``: ``"run"`` when the study has a
    ``run`` step, else ``"pdf"``.
    """
    if outputs is None:
        outputs = "run" if study.step("run") is not None else "pdf"
    if outputs not in OUTPUTS:
        raise ValueError(
            f"The 'outputs' parameter of gather_facts must be one of {OUTPUTS}. Got {outputs!r} instead."
        )
    stale = out_of_date(study)
    if results and results_out_of_date(study, results):  # about other roles, table or split: not shown
        results = None
    results = dict(results or {})
    if provenance is not None and not isinstance(provenance, Mapping):
        provenance = {k: getattr(provenance, k, None) for k in PROVENANCE_KEYS}
    if dataset is None and df is not None:
        dataset = {"rows": int(df.shape[0]), "columns": int(df.shape[1])}
        if study.roles.label:
            dataset["n_features"] = len(study.roles.feature_columns(df))
    all_findings = list(findings or [])
    all_findings += [Finding.from_dict(f) for f in results.get("findings", []) if isinstance(f, Mapping)]
    unique = {(f.code, f.columns, f.message): f for f in all_findings}
    split = _split_facts(split_summary)
    roles = study.roles
    checks_run = "checks" not in stale and (
        findings is not None or any(study.step(n) for n in ("checks", "audit", "run"))
    )
    confounds_run = "confounds" not in stale and (
        any(study.step(n) for n in ("confounds", "audit", "run"))
        or (findings is not None and dataset is not None)
    )
    versions: dict[str, str] = dict(package_versions())
    versions.update({k: str(v) for k, v in (results.get("versions") or {}).items()})
    seeds = {rec.step: int(rec.seed) for rec in study.steps if rec.seed is not None}
    if results.get("seed") is not None:
        seeds.setdefault("models", int(results["seed"]))
    interp = dict(interpret or {}) if "interpret" not in stale else {}
    rec = study.step("interpret") if "interpret" not in stale else None
    if rec is not None:
        for src in (rec.params, rec.summary):
            for k, v in src.items():
                interp.setdefault(k, v)
    facts = ReportFacts(
        study=study,
        generated_at=utcnow(),
        datasets=_dataset_facts(study, dataset, provenance),  # type: ignore[arg-type]
        findings=tuple(sort_findings(unique.values())),
        checks_run=bool(checks_run),
        confounds_run=bool(confounds_run),
        task=str(results.get("task") or roles.task),
        label=results.get("label") or roles.label,
        classes=tuple(str(c) for c in (results.get("classes") or ())),
        positive_class=results.get("positive_class"),
        class_counts=_class_counts(df, roles, split),
        split=split,
        models=_models(results),
        primary_metric=results.get("primary_metric"),
        selected=results.get("selected"),
        budget=results.get("budget"),
        seed=results.get("seed"),
        comparisons=tuple(results.get("comparisons") or ()),
        controls=to_jsonable(dict(results.get("controls") or {})),
        interpret=to_jsonable(interp),
        pca=pca_summary(df, roles) if df is not None and roles.label else None,
        versions=versions,
        hardware=_hardware(study),
        seeds=seeds,
        test_uses=tuple(test_uses),
        preprocessing=to_jsonable(dict(results.get("preprocessing") or {})),
        cv=to_jsonable(dict(results.get("cv") or {})),
        statement=str(results.get("statement") or ""),
        has_predictions=any(
            isinstance(m, Mapping) and m.get("predictions") for m in (results.get("models") or {}).values()
        ),
        outputs=outputs,
        out_of_date={step: o.message for step, o in stale.items()},
        n_rows={str(k): int(v) for k, v in (results.get("n_rows") or {}).items() if isinstance(v, int)},
    )
    # the sentence the Baselines and Evaluate pages show too (one engine function): display
    # names, "selected" not "best", "inconclusive (n = ...)", a leaked or metadata-reached score
    from ..steps._headline import headline, headline_warnings

    said = headline(
        results, facts.findings, interpretation=interp, metric_label=metric_name, fmt_interval=fmt_ci
    )
    warned = headline_warnings(results, facts.findings, interpretation=interp) if results else []
    return replace(facts, statement=said or facts.statement, warnings=tuple(warned))
