"""The reproducibility bundle: one zip that re-runs the study headless.

Contents::

    study.yaml       the study file (DESIGN.md format), data pointing inside the bundle
    data/<sha>.<ext> the exact bytes of the dataset (its sha256 is the one in the report)
    split.csv        the sample assignment (id, split, fold)
    results.json     the results dict (metrics with intervals, controls, search log)
    findings.json    {"dataset": {...}, "findings": [...]}
    versions.json    package versions now and as recorded by each step
    README.md        how to re-run and check
    SHA256SUMS       checksums of every other file (``sha256sum -c SHA256SUMS``)
    report.pdf       the methods checklist, when asked for (``include_report=True``); it is
                     the only report that describes the bundle, because it is inside one
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..errors import ExportLockedError, StoreError
from ..findings import to_jsonable
from ..store import Workspace
from ..study import Study, package_versions, utcnow
from ._build import load_findings, load_provenance, load_results, load_table
from ._facts import PROVENANCE_KEYS

__all__ = ["export_bundle", "bundle_study_dict", "verify_bundle", "BUNDLE_FILES"]

BUNDLE_FILES = (
    "study.yaml",
    "split.csv",
    "results.json",
    "findings.json",
    "versions.json",
    "README.md",
    "SHA256SUMS",
)
#: Keys the study file accepts inside ``split`` (deeprules_core.studyfile.SPLIT_KEYS).
SPLIT_KEYS = ("strategy", "test_fraction", "tune_fraction", "seed", "n_folds", "holdout_batch", "file")
KNOWN_MODELS = ("dummy", "logistic_regression", "random_forest", "gradient_boosting", "knn", "mlp", "cnn")
DATA_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".h5ad")


def _split_obj(ws: Workspace, study: Study) -> Any:
    try:
        from ..split import load_split  # type: ignore[attr-defined]
    except ImportError:
        return None
    return load_split(ws, study)


def _split_section(study: Study, split: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    rec = study.step("split")
    if rec is not None:
        params.update(rec.params)
        if rec.seed is not None:
            params.setdefault("seed", rec.seed)
    if split is not None:
        params.update(dict(split.params))
        params["strategy"] = split.strategy
        params["seed"] = int(split.seed)
        params["file"] = "split.csv"  # the bundle carries the exact assignment: a re-run reuses it
    params.setdefault("strategy", "auto")
    return {k: to_jsonable(params[k]) for k in SPLIT_KEYS if k in params and params[k] is not None}


def _models_section(study: Study, results: Mapping[str, Any] | None) -> list[str]:
    names: list[str] = []
    for step in ("baselines", "deep_learning", "deep", "run"):
        rec = study.step(step)
        if rec is not None:
            names += [str(m) for m in rec.params.get("models", []) or []]
    for name, m in ((results or {}).get("models") or {}).items():
        names.append(str(name))
        if isinstance(m, Mapping):
            names.append(str(m.get("family", "")))
    return [m for m in dict.fromkeys(names) if m in KNOWN_MODELS]


def bundle_study_dict(
    study: Study,
    *,
    data: str,
    results: Mapping[str, Any] | None = None,
    split: Any = None,
    provenance: Any = None,
) -> dict[str, Any]:
    """The study file (DESIGN.md format) that re-runs ``study``."""
    r = study.roles
    roles = {k: v for k, v in r.to_dict().items() if v not in (None, [], (), "")}
    out: dict[str, Any] = {
        "name": study.name,
        "data": data,
        "roles": roles,
        "split": _split_section(study, split),
    }
    models = _models_section(study, results)
    if models:
        out["models"] = models
    base = study.step("baselines")
    res = dict(results or {})
    budget = res.get("budget") or (base.params.get("budget") if base else None)
    if budget:
        out["budget"] = int(budget)
    seed = res.get("seed", base.seed if base else None)
    if seed is not None:
        out["seed"] = int(seed)
    null = ((res.get("controls") or {}).get("shuffled_label") or {}).get("null")
    for key in ("n_shuffles", "n_boot", "n_seeds", "max_epochs"):
        for rec in (base, study.step("deep_learning"), study.step("deep")):
            if rec is not None and isinstance(rec.params.get(key), int):
                out.setdefault(key, int(rec.params[key]))
    if "n_shuffles" not in out and isinstance(null, list):
        out["n_shuffles"] = len(null)
    if "n_boot" not in out and isinstance(res.get("n_boot"), int):
        out["n_boot"] = int(res["n_boot"])
    if base is not None and isinstance(base.params.get("batch_correct"), bool):
        out["batch_correct"] = base.params["batch_correct"]
    out["design"] = {k: v for k, v in study.to_dict()["design"].items()}
    if provenance is not None:
        prov = (
            provenance
            if isinstance(provenance, Mapping)
            else {k: getattr(provenance, k, None) for k in PROVENANCE_KEYS}
        )
        prov = {k: to_jsonable(prov[k]) for k in PROVENANCE_KEYS if prov.get(k) not in (None, "")}
        if prov:
            out["provenance"] = prov
    return out


def _readme(
    study: Study, data_name: str | None, sums: Mapping[str, str], note: str = "", *, report: bool = False
) -> str:
    data_line = (
        f"- `{data_name}`: {note or 'the exact bytes of the dataset'} (sha256 `{sums.get(data_name, '')}`).\n"
        if data_name
        else "- the dataset is not inside this bundle: `data:` in study.yaml names where it was.\n"
    )
    return f"""# Reproducibility bundle: {study.name}

Exported by deeprules on {utcnow()} from study `{study.id}`.

## Contents
- `study.yaml`: the study file (data, roles, split, models, budget, seeds, design).
{data_line}- `split.csv`: which sample went to train / tune / test (and which CV fold).
- `results.json`: every model's parameters, seed, search log, metrics with 95% intervals, controls.
- `findings.json`: every finding of the checks, with its evidence.
- `versions.json`: package versions at export and as recorded by each step.
{"- `report.pdf`: the methods checklist (ten tips, DOME, REFORMS, methods paragraph)." + chr(10) if report else ""}- `SHA256SUMS`: checksums of the files above.

## Check the files
    sha256sum -c SHA256SUMS

## Re-run the study (CPU, same seeds, same numbers)
    pip install -r requirements.txt   # the deeprules version in versions.json
    python -m deeprules_core run study.yaml --out rerun

Then compare `rerun/results.json` with `results.json` and `rerun/split.csv` with `split.csv`
(the split's sha256 is also in results.json as `split_sha256`). Differences in the last digits
can come from other package versions; compare versions.json first.
"""


def _data_file(ws: Workspace, study: Study) -> tuple[str, bytes, str]:
    """The dataset's exact bytes; for a dataset made of several files (matrix + sample
    sheet) the parsed table as Parquet, because the study file names one table."""
    ds = study.dataset
    if ds is None:
        raise StoreError(f"The study {study.name!r} has no data yet; load a table on the Data page first.")
    suffix = PurePosixPath(ds.name).suffix.lower()
    try:
        data = ws.get_blob(ds.sha256)
    except StoreError:
        data = None
    if data is not None and suffix in DATA_SUFFIXES:
        return f"data/{ds.sha256[:16]}{suffix}", data, "the exact bytes of the dataset"
    df = load_table(ws, study)
    if df is None:
        raise StoreError(
            f"The data of {study.name!r} ({ds.name}) is not in this workspace's store, so the "
            "bundle cannot carry it. Load the file again on the Data page, or export without data."
        )
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    note = f"the parsed table of {ds.name} (dataset sha256 {ds.sha256}) as Parquet"
    return f"data/{ds.sha256[:16]}.parquet", buf.getvalue(), note


def _report_pdf(ws: Workspace, study: Study) -> bytes:
    from ._build import build_report

    with tempfile.TemporaryDirectory() as tmp:
        return build_report(ws, study, out_pdf=Path(tmp) / "report.pdf", outputs="bundle").read_bytes()


def export_bundle(
    ws: Workspace,
    study: Study,
    out_zip: str | Path,
    *,
    data_path_in_bundle: bool | None = None,
    include_report: bool = False,
    include_models: bool = False,
    rows_reason: str | None = None,
    who: str = "",
) -> Path:
    """Write the reproducibility bundle of ``study`` to ``out_zip``; return the path.

    ``data_path_in_bundle=True`` copies the exact data bytes into ``data/`` and points the
    study file there; ``False`` leaves the data out and points to its place in the store;
    None (the default) copies them unless the study is sensitive and nobody confirmed.
    ``include_report=True`` adds ``report.pdf``, written to describe the bundle it is in.
    ``include_models=True`` adds the stored weights of the deep models the export lock
    allows (``models/<name>.zip``); every refused model is logged and explained.

    A sensitive study's bundle carries no raw rows (no data file, no per-sample
    predictions) unless the user confirms with a reason (``rows_reason``, recorded with
    ``who`` and quoted in the report); asking for the data without it raises
    :class:`~deeprules_core.errors.ExportLockedError`.

    Only the study's owner, its editors and admins export it: a viewer is refused with
    :class:`~deeprules_core.errors.ForbiddenError` (someone it was not shared with, with
    :class:`~deeprules_core.errors.NotFoundError`).
    """
    from ..privacy import confirm_bundle_rows, export_plan, guard_model_export, privacy_results, rows_consent

    ws.access(study.id, "export")  # a viewer reads the study on screen; its data stay inside
    out = Path(out_zip)
    sensitive = bool(study.design.sensitive_data)
    if rows_reason and sensitive:
        confirm_bundle_rows(ws, study, rows_reason, who=who)
    rows_ok = not sensitive or bool(rows_consent(ws, study))
    if data_path_in_bundle is None:
        data_path_in_bundle = rows_ok
    if data_path_in_bundle and not rows_ok:
        ws.log(study.id, "export_refused", {"what": "raw rows", "where": "bundle"})
        raise ExportLockedError(
            f"The study {study.name!r} holds sensitive data, so its bundle carries no raw rows unless you confirm "
            "it may, with a reason (the data-sharing agreement that allows it); the reason goes into the report. "
            "Give the reason, or export without the data file."
        )
    results = load_results(ws, study)
    findings = list(load_findings(ws, study) or [])
    private = (privacy_results(ws, study) or {}).get("dp")
    model_files: dict[str, bytes] = {}
    refused: list[str] = []
    if include_models:
        extra = {private["name"]: private} if private else {}
        entries = {**dict((results or {}).get("models") or {}), **extra}
        for d in export_plan(study, results, extra):
            if not d.allowed:
                finding = guard_model_export(ws, study, d.model, entries.get(d.model), where="bundle")
                if finding is not None:
                    findings.append(finding)
                    refused.append(d.model)
                continue
            sha = (entries.get(d.model) or {}).get("weights_sha256")
            if sha:
                model_files[f"models/{d.model}.zip"] = ws.get_blob(sha)
    split = _split_obj(ws, study)
    provenance = load_provenance(ws, study)
    files: dict[str, bytes] = {}
    data_name, data_note = None, ""
    ds = study.dataset
    if ds is None:
        raise StoreError(
            f"The study {study.name!r} has no data yet, so there is nothing to re-run. "
            "Load a table on the Data page first."
        )
    if data_path_in_bundle:
        data_name, data, data_note = _data_file(ws, study)
        files[data_name] = data
        data_ref = data_name
    else:
        data_ref = str(ws.blob_path(ds.sha256))
    study_dict = bundle_study_dict(study, data=data_ref, results=results, split=split, provenance=provenance)
    if data_ref.lower().endswith((".xlsx", ".xlsm")) or not data_path_in_bundle:
        from ..intake import dataset_info

        read = dataset_info(ws, ds.dataset_id).details.get("read", {})
        if read.get("format") == "xlsx" and read.get("sheet"):
            study_dict["sheet"] = read["sheet"]  # a workbook's sheet is never guessed on re-run
    files["study.yaml"] = yaml.safe_dump(study_dict, sort_keys=False, allow_unicode=True).encode("utf-8")
    if split is not None:
        files["split.csv"] = split.to_csv().encode("utf-8")
    shown = results if rows_ok else _without_rows(results)
    files["results.json"] = json.dumps(to_jsonable(shown or {}), indent=2, allow_nan=False).encode("utf-8")
    files.update(model_files)
    dataset = {"name": ds.name, "sha256": ds.sha256, "dataset_id": ds.dataset_id}
    files["findings.json"] = json.dumps(
        {"dataset": dataset, "findings": [f.to_dict() for f in findings]}, indent=2, allow_nan=False
    ).encode("utf-8")
    versions = {"export": package_versions(), "steps": {rec.step: dict(rec.versions) for rec in study.steps}}
    if results and results.get("versions"):
        versions["results"] = dict(results["versions"])
    files["versions.json"] = json.dumps(to_jsonable(versions), indent=2).encode("utf-8")
    if include_report:
        files["report.pdf"] = _report_pdf(ws, study)
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    readme = _readme(study, data_name, sums, data_note, report=include_report)
    readme += _privacy_note(sensitive, rows_ok, sorted(model_files), refused)
    files["README.md"] = readme.encode("utf-8")
    sums["README.md"] = hashlib.sha256(files["README.md"]).hexdigest()
    files["SHA256SUMS"] = "".join(f"{sums[n]}  {n}\n" for n in sorted(sums)).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    ws.log(study.id, "export_bundle", {"files": sorted(files), "sha256": sums})
    return out


#: Per-sample fields of a results dict: the rows of a sensitive study, in another form.
ROW_KEYS = ("predictions", "tune_predictions", "test_predictions", "tune_truth")


def _without_rows(results: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The results without per-sample predictions, labels or ids (a sensitive study's bundle)."""
    if results is None:
        return None
    out = {k: v for k, v in results.items() if k not in ROW_KEYS}
    out["models"] = {
        n: ({k: v for k, v in m.items() if k not in ROW_KEYS} if isinstance(m, Mapping) else m)
        for n, m in (results.get("models") or {}).items()
    }
    out["rows_removed"] = "per-sample predictions removed: sensitive study (Tip 10)"
    return out


def _privacy_note(sensitive: bool, rows_ok: bool, models: list[str], refused: list[str]) -> str:
    lines = []
    if models:
        lines.append(f"- `models/`: weights the export lock allows ({', '.join(models)}); load with "
                     "`deeprules_core.deep.model_from_bytes` (tensors only).")  # fmt: skip
    if sensitive:
        lines.append(
            "- The study holds sensitive data (Tip 10): "
            + (
                "the raw rows were confirmed for export, with the reason given in the report. "
                if rows_ok
                else "no raw rows and no per-sample predictions are in this bundle. "
            )  # fmt: skip
            + "Models that memorise training rows (k-nearest neighbours, forests, boosting, deep networks "
            "without differential privacy) are never exported"
            + (f"; refused here: {', '.join(refused)}." if refused else ".")
        )
    return ("\n## Privacy\n" + "\n".join(lines) + "\n") if lines else ""


def verify_bundle(path: str | Path) -> dict[str, bool]:
    """Check every file of a bundle against its SHA256SUMS; ``{name: ok}``."""
    with zipfile.ZipFile(path) as zf:
        sums = zf.read("SHA256SUMS").decode("utf-8")
        out = {}
        for line in sums.splitlines():
            digest, name = line.split("  ", 1)
            out[name] = hashlib.sha256(zf.read(name)).hexdigest() == digest
    return out
