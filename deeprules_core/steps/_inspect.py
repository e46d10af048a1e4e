"""The steps before any model: the checks (with the saved schema) and the batch &
confound checks. Each runs its checks, records the step and its findings, and returns
what a page shows."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..current import design_digest, roles_digest
from ..errors import DataFormatError, DeepRulesError
from ..findings import Finding
from ..study import Roles, StepRecord, Study, package_versions, utcnow
from ._common import design_dict, digest, memo, record_step, step_summary

__all__ = [
    "SCHEMA_KIND",
    "run_checks",
    "save_schema",
    "run_confounds",
    "correction_verdicts",
    "refuse_batch_correction",
    "correction_rule",
]

#: Artifact kind and name of the schema the user saved on the Checks page.
SCHEMA_KIND = "schema"


def _dataset_sha(study: Study) -> str:
    if study.dataset is None:
        raise DataFormatError("The study has no data yet: load a table on the Data page first.")
    return study.dataset.sha256


def _table(ws: Any, study: Study, df: pd.DataFrame | None) -> pd.DataFrame:
    if df is not None:
        return df
    from ..intake import load_dataset

    _dataset_sha(study)
    return load_dataset(ws, study.dataset.dataset_id)  # type: ignore[union-attr]


# ------------------------------------------------------------------------------ checks
def _compute_checks(df: pd.DataFrame, roles: Roles, design: Any, schema: Any) -> dict[str, Any]:
    from ..checks import FeatureProfile, infer_spec, missingness_table, outlier_scores, validate_schema
    from ..checks import run_checks as check_table

    roles.validate_against(df)
    profile = FeatureProfile.from_frame(df, roles)
    findings = check_table(df, roles, design=design, schema=schema, profile=profile)
    inferred = infer_spec(df, roles, profile=profile)
    by = [c for c in (roles.label, *roles.batch) if c and c in df.columns]
    return {
        "findings": list(findings),
        "inferred_spec": inferred,
        "failures": validate_schema(df, schema or inferred),
        "outliers": outlier_scores(df, roles, profile=profile),
        "missingness": {c: missingness_table(df, roles, by=c, profile=profile) for c in by},
        "n_features": profile.p,
    }


def run_checks(ws: Any, study: Study, df: pd.DataFrame | None = None) -> dict[str, Any]:
    """Run the schema, metadata, quality and design checks of the study's table (with the
    schema saved on the Checks page, if any), record the ``checks`` step and its findings.

    Returns ``{"study", "findings", "schema" (the saved spec or None), "inferred_spec",
    "failures", "outliers", "missingness", "n_features"}`` (shared: do not modify).
    """
    sha = _dataset_sha(study)
    df = _table(ws, study, df)
    schema = ws.get_json(study.id, SCHEMA_KIND, SCHEMA_KIND)
    roles = study.roles
    design = design_dict(study.design)
    started = utcnow()
    out = memo(
        ("checks", sha, digest(roles.to_dict()), digest(design), digest(schema)),
        lambda: _compute_checks(df, roles, study.design, schema),
    )
    findings: list[Finding] = out["findings"]
    record = StepRecord(
        "checks",
        params={"schema": bool(schema), "roles": roles.to_dict()},
        input_hashes={"dataset": sha, "roles": roles_digest(roles), "design": design_digest(study.design)}
        | ({"schema": digest(schema)} if schema else {}),
        versions=package_versions(("numpy", "pandas", "scipy", "pandera")),
        started_at=started,
        finished_at=utcnow(),
        summary=step_summary(findings),
    )
    saved = record_step(ws, study, record, findings, action="run_checks")
    return {**out, "study": saved, "schema": schema}


def save_schema(ws: Any, study: Study, spec: dict[str, Any], *, reset: bool = False) -> Study:
    """Save the schema the user edited (or the inferred one, ``reset``) with the study and
    record it as the ``schema`` step; the next :func:`run_checks` validates against it."""
    sha = ws.put_json(study.id, SCHEMA_KIND, SCHEMA_KIND, spec)
    now = utcnow()
    record = StepRecord(
        "schema",
        params={"artifact_sha256": sha, "reset": bool(reset)},
        input_hashes={"dataset": _dataset_sha(study)},
        started_at=now,
        finished_at=now,
        summary={
            "n_columns": len(spec.get("columns", {})),
            "n_features": len((spec.get("features") or {}).get("columns", [])),
        },
    )
    return record_step(
        ws, study, record, None, action="reset_schema" if reset else "save_schema", always=True
    )


# ------------------------------------------------------------------------------ confounds
def correction_verdicts(df: pd.DataFrame, roles: Roles, *, seed: int = 0) -> dict[str, dict[str, Any]]:
    """Whether batch correction is allowed on each batch column, and why not.

    The one rule (:func:`deeprules_core.confounds.check_correction_allowed`) that the
    confounds page shows and the baselines (page, ``run`` and job) obey.
    """
    from ..confounds import check_correction_allowed

    out: dict[str, dict[str, Any]] = {}
    for col in roles.batch:
        try:
            out[col] = {"allowed": True, **check_correction_allowed(df, roles, col, seed=seed)}
        except DeepRulesError as exc:
            out[col] = {"allowed": False, "reason": str(exc)}
    return out


def correction_rule(study: Study, df: pd.DataFrame, *, seed: int = 0) -> dict[str, dict[str, Any]]:
    """:func:`correction_verdicts` for the study's table, computed once per table and roles."""
    return memo(
        ("correction", _dataset_sha(study), digest(study.roles.to_dict()), seed),
        lambda: correction_verdicts(df, study.roles, seed=seed),
    )


def refuse_batch_correction(df: pd.DataFrame, roles: Roles, *, seed: int = 0) -> None:
    """Raise the confounds step's refusal when any batch column may not be corrected."""
    from ..confounds import check_correction_allowed

    for col in roles.batch:
        check_correction_allowed(df, roles, col, seed=seed)


def _compute_confounds(df: pd.DataFrame, roles: Roles, seed: int) -> dict[str, Any]:
    from ..confounds import confound_report

    rep = confound_report(df, roles, seed=seed)
    ex = rep["exploration"]
    return {
        "findings": list(rep["findings"]),
        "scores": None if ex is None else ex.scores,
        "exploration": None if ex is None else ex.to_dict(),
        "r2": None if ex is None else ex.r2,
        "batch": rep["batch"],
        "metadata_only": rep["metadata_only"],
        "leaks": rep["leaks"],
        "timings": rep["timings"],
        "correction": correction_verdicts(df, roles, seed=seed),
    }


def run_confounds(ws: Any, study: Study, df: pd.DataFrame | None = None, *, seed: int = 0) -> dict[str, Any]:
    """Run the batch-effect, batch × label, covariate, metadata-only and label-leak checks,
    the exploration (PCA, variance partition) and the batch-correction rule; record the
    ``confounds`` step and its findings.

    Returns ``{"study", "findings", "scores", "exploration", "r2", "batch",
    "metadata_only", "leaks", "timings", "correction"}`` (shared: do not modify).
    """
    sha = _dataset_sha(study)
    df = _table(ws, study, df)
    roles = study.roles
    roles.validate_against(df)
    started = utcnow()
    out = memo(("confounds", sha, digest(roles.to_dict()), seed), lambda: _compute_confounds(df, roles, seed))
    findings: list[Finding] = out["findings"]
    meta = out["metadata_only"]
    extra: dict[str, Any] = {}
    if meta:
        extra["metadata_only"] = {k: meta.get(k) for k in ("metric", "value", "chance", "p_value")}
    refused = sorted(c for c, v in out["correction"].items() if not v["allowed"])
    if refused:
        extra["correction_refused"] = refused
    record = StepRecord(
        "confounds",
        params={"roles": roles.to_dict(), "seed": seed},
        input_hashes={"dataset": sha, "roles": roles_digest(roles)},
        seed=seed,
        versions=package_versions(("numpy", "pandas", "scipy", "scikit-learn")),
        started_at=started,
        finished_at=utcnow(),
        summary=step_summary(findings, **extra),
    )
    saved = record_step(ws, study, record, findings, action="run_confounds")
    return {**out, "study": saved}
