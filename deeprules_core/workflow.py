"""``run``: the whole workflow from a YAML study file, headless.

Writes into the output folder: ``findings.json`` (as ``audit``), ``split.csv``,
``results.json``, ``report.pdf`` and ``study.yaml`` (the resolved study, re-runnable),
plus ``workspace/`` (the store of this run: study record, audit log, test-set log).
The same seeds give the same numbers on the CPU.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .findings import to_jsonable
from .store import Workspace
from .study import StepRecord, Study, package_versions, utcnow
from .studyfile import StudyFile, load_study_file

__all__ = ["run_study", "OUTPUT_FILES"]

OUTPUT_FILES = ("findings.json", "split.csv", "results.json", "report.pdf", "study.yaml")

Progress = Callable[[float, str], None]


def _noop(_f: float, _m: str) -> None:
    return None


def _provenance(sf: StudyFile) -> Any:
    """The study file's provenance, completed with what the file itself tells."""
    from .intake import Provenance

    stat = sf.data.stat()
    given = dict(sf.provenance)
    unstated = [k for k in ("source", "version", "download_date", "licence") if not given.get(k)]
    given.setdefault("source", sf.data.resolve().as_uri())
    given.setdefault("version", "not stated")
    given.setdefault("licence", "not stated")
    mtime = datetime.fromtimestamp(stat.st_mtime, tz=UTC).date().isoformat()
    given.setdefault("download_date", mtime)
    note = f"Read by 'deeprules run' from {sf.data.name}."
    if "download_date" in unstated:
        note += f" No download date was given: {mtime} is the file's modification date."
    if unstated:
        note += f" Not stated in the study file: {', '.join(unstated)} (Tip 4: add them under 'provenance:')."
    given.setdefault("description", note)
    given.setdefault("entered_by", "deeprules run")
    if isinstance(given["download_date"], date):
        given["download_date"] = given["download_date"].isoformat()
    return Provenance(**given)


def run_study(study_path: str | Path, out_dir: str | Path, *, progress: Progress | None = None) -> Path:
    """Run every step the study file asks for; return the output folder.

    Every step goes through the same engine function the app's page (or job) calls
    (:mod:`deeprules_core.steps`), so the study's ledger, its records and the PDF are made
    the same way as in the app.
    """
    from . import steps
    from .intake import ingest, load_dataset
    from .split import make_split

    report = progress or _noop
    sf = load_study_file(study_path)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ws_home = out / "workspace"
    if ws_home.exists():  # a re-run starts from a clean store: same inputs, same numbers
        shutil.rmtree(ws_home)
    ws = Workspace(ws_home, db_url=f"sqlite:///{ws_home / 'deeprules.sqlite'}")
    t0 = time.perf_counter()

    report(0.0, f"reading {sf.data.name}")
    if not sf.data.is_file():
        from .errors import DataFormatError

        raise DataFormatError(f"The study file's data {sf.data} does not exist.")
    sf = replace(sf, name=sf.name or sf.data.stem)
    study = Study.new(sf.name, design=sf.design).with_roles(sf.roles)
    ingested, _info = ingest(
        ws, sf.data.read_bytes(), name=sf.data.name, provenance=_provenance(sf), study=study, sheet=sf.sheet
    )
    if ingested is None or ingested.dataset is None:
        from .errors import DataFormatError

        raise DataFormatError(f"{sf.data.name} could not be stored in the run's workspace.")
    study = ws.save_study(ingested, action="run_ingest")
    df = load_dataset(ws, study.dataset.dataset_id)  # type: ignore[union-attr]
    if not sf.task_stated and sf.roles.label in df.columns:  # as the app suggests it
        from .intake import infer_task

        task = infer_task(df[sf.roles.label])
        changed = task != sf.roles.task
        sf = replace(sf, roles=replace(sf.roles, task=task), task_stated=True)  # study.yaml states it
        if changed:
            study = ws.save_study(study.with_roles(sf.roles), action="run_roles")
    sf.roles.validate_against(df)

    report(0.05, "checks")
    study = steps.run_checks(ws, study, df)["study"]
    report(0.1, "batch effects and confounds")
    study = steps.run_confounds(ws, study, df, seed=sf.seed)["study"]

    report(0.15, "replicate-aware split")
    if "file" in sf.split:
        split = _split_from_file(Path(sf.split["file"]), df, sf)
    else:
        split_kw = {k: v for k, v in sf.split.items() if k != "seed"}
        split = make_split(
            df, sf.roles, design=sf.design, seed=int(sf.split.get("seed", sf.seed)), **split_kw
        )
    study = steps.run_split(ws, study, split, df)
    (out / "split.csv").write_text(split.to_csv(), encoding="utf-8")

    results = _run_models(ws, study, df, sf, split, report)
    from .interpret.jobs import run_interpretation, run_models

    if run_models(results):  # Tips 8 and 9: the Interpret page's engine call (records its findings)
        report(0.91, "interpretation: permutation importance, integrated gradients, the guard")
        _, interp = run_interpretation(
            ws, ws.get_study(study.id), df, split, results, models=run_models(results)
        )
        results["interpretation"] = {k: interp[k] for k in ("rankings", "caveat", "agreement", "guard")}
    if sf.design.sensitive_data:  # Tip 10: run exports no model; the lock is explained, the leak measured
        from .privacy import run_privacy

        report(0.92, "privacy: export lock, membership inference, subgroups")
        run_privacy(  # the privacy page's engine call; it records its findings in the ledger
            ws,
            ws.get_study(study.id),
            subgroup_columns=tuple(sf.roles.covariates),
            mia=True,
            n_boot=min(sf.n_boot, 500),
            seed=sf.seed,
        )
    study = ws.get_study(study.id)
    findings = steps.study_findings(ws, study)

    dataset = {
        "sha256": study.dataset.sha256,  # type: ignore[union-attr]
        "rows": int(df.shape[0]),
        "columns": int(df.shape[1]),
        "name": sf.data.name,
        "n_features": len(sf.roles.feature_columns(df)),
        "label": sf.roles.label,
        "task": sf.roles.task,
    }
    (out / "findings.json").write_text(
        json.dumps(
            {"dataset": dataset, "findings": [f.to_dict() for f in findings]}, indent=2, allow_nan=False
        ),
        encoding="utf-8",
    )
    (out / "results.json").write_text(
        json.dumps(to_jsonable(results), indent=2, allow_nan=False), encoding="utf-8"
    )
    study = study.with_step(
        StepRecord(
            step="run",
            params={"study_file": str(study_path)},
            seed=sf.seed,
            versions=package_versions(),
            started_at=utcnow(),
            finished_at=utcnow(),
            summary={"duration_s": round(time.perf_counter() - t0, 2)},
        )
    )
    study = ws.save_study(study, action="run_done")
    (out / "study.yaml").write_text(sf.to_yaml(data_relative_to=out), encoding="utf-8")

    report(0.95, "report PDF")
    steps.write_report(ws, study, out / "report.pdf", outputs="run")
    report(1.0, "done")
    return out


def _split_from_file(path: Path, df: Any, sf: StudyFile) -> Any:
    """Reuse an exact assignment; every sample of the table must be in it, once."""
    from .errors import SplitError
    from .split import Split

    if not path.is_file():
        raise SplitError(f"The study file names the split file {path}, which does not exist.")
    try:
        split = Split.from_csv(path.read_text(encoding="utf-8"), strategy="from_file", seed=sf.seed)
    except (SplitError, UnicodeDecodeError) as exc:
        why = str(exc) if isinstance(exc, SplitError) else "It is not text."
        raise SplitError(
            f"The study file's split file {path.name!r} cannot be used. {why} Give the split.csv of an "
            "earlier run, or remove 'file' from 'split' to make a new split."
        ) from exc
    ids = df[sf.roles.id].astype(str) if sf.roles.id else pd.Series([str(i) for i in range(len(df))])
    given = split.assignment.set_index("id")
    if given.index.duplicated().any() or set(given.index) != set(ids):
        missing = sorted(set(ids) - set(given.index))[:5]
        extra = sorted(set(given.index) - set(ids))[:5]
        raise SplitError(
            f"The split file {path.name} does not match the table: samples not in it {missing}, "
            f"ids in it but not in the table {extra}. Use the split file made for this exact table, "
            "or remove 'file' from 'split' to make a new split."
        )
    ordered = given.loc[ids.to_numpy()].reset_index()
    return Split(strategy="from_file", seed=sf.seed, assignment=ordered, params={"file": path.name})


def _run_models(
    ws: Workspace, study: Study, df: Any, sf: StudyFile, split: Any, report: Progress
) -> dict[str, Any]:
    """Baselines, then the deep models, then the test set once for the selected model:
    the step functions of the Baselines and Deep learning jobs and of the Evaluate page."""
    from . import steps

    def scaled(lo: float, hi: float) -> Progress:
        return lambda f, m: report(lo + (hi - lo) * f, m)

    deep = sf.deep_models
    report(0.2, "baselines (equal tuning budget)")
    results = steps.run_baselines_step(
        ws,
        study,
        df,
        split,
        models=sf.baseline_models or ("dummy",),
        budget=sf.budget,
        seed=sf.seed,
        n_shuffles=sf.n_shuffles,
        n_boot=sf.n_boot,
        batch_correct=sf.batch_correct,
        progress=scaled(0.2, 0.6 if deep else 0.9),
    )
    for i, kind in enumerate(deep):
        lo = 0.6 + 0.3 * i / len(deep)
        results = steps.run_deep_step(
            ws,
            ws.get_study(study.id),
            df,
            split,
            kind=kind,
            budget=sf.budget,
            seed=sf.seed,
            n_seeds=sf.n_seeds,
            max_epochs=sf.max_epochs,
            n_shuffles=sf.n_shuffles,
            n_boot=sf.n_boot,
            progress=scaled(lo, lo + 0.3 / len(deep)),
        )
    report(0.9, "locked test set: one evaluation of the selected model")
    return steps.run_evaluate(ws, ws.get_study(study.id), df, split, results=results)
