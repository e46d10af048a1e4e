"""``audit``: everything that can be learned from the table and the design before any
model is fitted (schema and quality checks, batch effects and confounds).

Findings are not failures. :func:`audit_table` returns them; :func:`audit_file` also
describes the dataset (sha256 of the exact bytes, size, shape) for the JSON contract::

    {"dataset": {"sha256", "rows", "columns", ...}, "findings": [...]}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import DataFormatError
from .findings import Finding, sort_findings, summarise
from .study import Design, Roles

__all__ = ["AuditResult", "audit_table", "audit_file", "format_summary"]

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class AuditResult:
    dataset: dict[str, Any]
    findings: list[Finding]

    def to_dict(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "findings": [f.to_dict() for f in self.findings]}


def audit_table(
    df: pd.DataFrame,
    roles: Roles,
    *,
    design: Design | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> list[Finding]:
    """Run the data checks and the confound checks on a parsed table."""
    from .checks import run_checks
    from .confounds import run_confound_checks

    roles.validate_against(df)
    if progress:
        progress(0.0, "schema, metadata and quality checks")
    findings = list(run_checks(df, roles, design=design))
    if roles.label:
        if progress:
            progress(0.5, "batch effects and confounds")
        findings += run_confound_checks(df, roles, seed=seed)
    if progress:
        progress(1.0, "done")
    return sort_findings(findings)


def audit_file(
    path: str | Path,
    roles: Roles,
    *,
    design: Design | None = None,
    seed: int = 0,
    sheet: str | int | None = None,
    task_stated: bool = True,
) -> AuditResult:
    """Read a file (any supported format, ``sheet`` of a workbook), describe it and audit it.

    ``task_stated=False``: ``roles.task`` was not given; it is inferred from the label
    column as the app suggests it (:func:`deeprules_core.intake.infer_task`)."""
    from dataclasses import replace

    from .intake import infer_task, read_table
    from .store import sha256_file

    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"There is no file at {path}.")
    if path.is_dir():
        raise DataFormatError(f"{path} is a folder; give the path of a table file.")
    df = read_table(path, name=path.name, sheet=sheet)
    if not task_stated and roles.label in df.columns:
        roles = replace(roles, task=infer_task(df[roles.label]))
    known = all(c in df.columns for c in roles.metadata_columns)
    features = roles.feature_columns(df) if known else []
    unused = roles.unused_columns(df) if known else []
    dataset = {
        "path": str(path),
        "name": path.name,
        "sha256": sha256_file(path),
        "size_bytes": path.stat().st_size,
        "rows": int(df.shape[0]),
        "columns": int(df.shape[1]),
        "n_features": len(features),
        "unused_columns": unused,
        "label": roles.label,
        "task": roles.task,
    }
    return AuditResult(dataset=dataset, findings=audit_table(df, roles, design=design, seed=seed))


def format_summary(result: AuditResult) -> str:
    """A short human summary: the dataset, counts per severity, one line per finding."""
    d = result.dataset
    counts = summarise(result.findings)
    lines = [
        f"{d['name']}: {d['rows']} rows x {d['columns']} columns ({d['n_features']} features), "
        f"sha256 {d['sha256'][:12]}",
        f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)",
    ]
    unused = d.get("unused_columns") or []
    if unused:
        shown = ", ".join(map(str, unused[:8])) + (f" and {len(unused) - 8} more" if len(unused) > 8 else "")
        lines.append(f"  Not used by the models (no role, not numeric): {shown}.")
    if not d["n_features"]:
        lines.append(
            "  No column is left as a feature: every numeric column has a role. A model needs features; "
            "give the measurement columns no role."
        )
    for f in result.findings:
        cols = f" [{', '.join(f.columns[:4])}{', ...' if len(f.columns) > 4 else ''}]" if f.columns else ""
        first = f.message.split(". ")[0].rstrip(".")
        lines.append(f"  {f.severity.upper():7} tip {f.tip:<2} {f.code}{cols}: {first}.")
    if not result.findings:
        lines.append("  Nothing to report.")
    return "\n".join(lines)
