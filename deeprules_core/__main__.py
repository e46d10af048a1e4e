"""Command line: the same engine, no browser.

    python -m deeprules_core audit DATA --label COL [--id COL] [--group COL]
            [--batch COL ...] [--covariate COL ...] [--task classification|regression]
            [--json OUT.json] [--pdf OUT.pdf]
    python -m deeprules_core run STUDY.yaml --out DIR

Findings are not failures (exit 0). Bad input: a one-line error, exit 2, no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from .errors import DeepRulesError, from_os_error, one_line

#: the longest error line the command line prints
MAX_MESSAGE = 500


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line too (the usage stays behind --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {one_line(message, MAX_MESSAGE)} (see '{self.prog} --help')\n")


if TYPE_CHECKING:
    from .audit import AuditResult
    from .study import Roles


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m deeprules_core",
        description="deeprules: ten quick tips for deep learning in biology, as checks.",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    a = sub.add_parser("audit", help="check a table before any model is fitted")
    a.add_argument("data", help="CSV, TSV, Excel, Parquet or AnnData (.h5ad) file")
    a.add_argument("--label", required=True, help="the column to predict")
    a.add_argument("--id", dest="id_col", help="sample id column")
    a.add_argument("--group", help="individual / donor / patient column")
    a.add_argument(
        "--batch", nargs="+", action="extend", default=[], help="batch columns (plate, run, site, ...)"
    )
    a.add_argument(
        "--covariate", nargs="+", action="extend", default=[], help="covariate columns (age, sex, ...)"
    )
    a.add_argument("--time", help="time point column")
    a.add_argument("--sequence", help="sequence column (DNA, RNA or protein)")
    a.add_argument("--sheet", help="the Excel sheet to read (name or 0-based position)")
    a.add_argument(
        "--task",
        choices=("classification", "regression"),
        default=None,
        help="default: inferred from the label column, as the app suggests it",
    )
    a.add_argument("--json", dest="json_out", help="write the findings as JSON here")
    a.add_argument("--pdf", dest="pdf_out", help="write a report PDF here")
    r = sub.add_parser("run", help="run the whole workflow from a study file, headless")
    r.add_argument("study", help="the YAML study file")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument(
        "--executor",
        choices=("local", "slurm"),
        help="where the hyper-parameter searches run: this machine, or a SLURM job array per model "
        "family (default: DEEPRULES_EXECUTOR, else local; SLURM settings: DEEPRULES_SLURM_*)",
    )
    return p


def _audit(args: argparse.Namespace) -> int:
    from .audit import audit_file, format_summary
    from .study import Roles

    roles = Roles(
        id=args.id_col,
        label=args.label,
        task=args.task or "classification",
        group=args.group,
        batch=tuple(args.batch),
        covariates=tuple(args.covariate),
        time=args.time,
        sequence=args.sequence,
    )
    from ._files import atomic_write

    result = audit_file(args.data, roles, sheet=args.sheet, task_stated=args.task is not None)
    from dataclasses import replace

    roles = replace(roles, task=str(result.dataset.get("task") or roles.task))
    print(format_summary(result))
    if args.json_out:  # whole or not at all: never a 0-byte file
        atomic_write(args.json_out, json.dumps(result.to_dict(), indent=2, allow_nan=False))
    if args.pdf_out:
        _audit_pdf(args, roles, result)
    return 0


def _audit_pdf(args: argparse.Namespace, roles: Roles, result: AuditResult) -> None:
    """The audit's PDF, made like every other report: the findings go into a study's
    ledger (in a throw-away workspace) and the report reads them from there."""
    import tempfile

    from .report import report_from_parts
    from .store import Workspace
    from .study import Study

    with tempfile.TemporaryDirectory(prefix="deeprules-audit-") as tmp:
        ws = Workspace(tmp, db_url=f"sqlite:///{Path(tmp) / 'audit.sqlite'}")
        study = ws.save_study(Study.new(Path(args.data).name).with_roles(roles), action="audit")
        ws.record_findings(
            study.id,
            step="checks",
            findings=result.findings,
            input_hashes={"dataset": result.dataset["sha256"]},
        )
        report_from_parts(
            study,
            findings=ws.current_findings(study.id, study=study),
            results=None,
            dataset=result.dataset,
            out_pdf=Path(args.pdf_out),
        )


def _run(args: argparse.Namespace) -> int:
    import warnings

    from ._files import staged_output
    from ._progress import ProgressBar
    from .workflow import run_study

    if args.executor:
        os.environ["DEEPRULES_EXECUTOR"] = args.executor
        if args.executor == "slurm":  # the shared search storage and the workers' logs go with the run
            os.environ.setdefault("DEEPRULES_HOME", str(Path(args.out).resolve() / "cluster"))
    out = Path(args.out)
    bar = ProgressBar()
    try:
        with warnings.catch_warnings():
            # numerical warnings of the libraries (an empty slice, a constant column) are
            # handled where they matter; they are not the user's to read
            warnings.simplefilter("ignore", RuntimeWarning)
            # written beside the output folder and moved in at the end: a failed run leaves it as it was
            with staged_output(out) as stage:
                run_study(args.study, stage, progress=bar)
    finally:
        bar.close()
    print(run_summary(out))
    return 0


def run_summary(out: Path) -> str:
    """What a finished ``run`` says: the findings by severity, the selected model and its
    scores, and the files written."""
    from .names import finding_title, model_label

    lines = [f"Done. Results in {out}"]
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8")).get("findings", [])
    counts = {s: sum(f.get("severity") == s for f in findings) for s in ("error", "warning", "info")}
    lines.append(
        f"  findings: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)"
        + (
            f" ({'; '.join(sorted({finding_title(f['code']) for f in findings if f.get('severity') == 'error'}))})"
            if counts["error"]
            else ""
        )
    )
    results_path = out / "results.json"
    if results_path.exists():
        from .steps import study_headline
        from .store import Workspace

        r = json.loads(results_path.read_text(encoding="utf-8"))
        sel = r.get("selected")
        m = (r.get("models") or {}).get(sel) or {}
        shown = model_label(str(m.get("family") or sel), str(r.get("task", "classification")))
        lines.append(f"  selected model: {shown}")
        # the sentence the Baselines and Evaluate pages and the PDF print: one engine function,
        # on the run's own store (its ledger and interpretation)
        ws = Workspace(out / "workspace")
        said = "".join(study_headline(ws, ws.get_study(row["id"]), r) for row in ws.list_studies()[:1])
        if said:
            lines.append(f"  verdict: {said}")
    written = sorted(p.name for p in out.iterdir() if p.is_file())
    lines.append(f"  files: {', '.join(written)} (the run's own store is in {out / 'workspace'})")
    return "\n".join(lines)


def _fail(message: str) -> int:
    print(f"error: {one_line(message, MAX_MESSAGE)}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; every failure is one line on stderr and exit status 2."""
    from sqlalchemy.exc import OperationalError

    args = _parser().parse_args(argv)
    try:
        return _audit(args) if args.command == "audit" else _run(args)
    except DeepRulesError as exc:
        return _fail(str(exc))
    except OSError as exc:  # unreadable file, full disk, permission: one line, no traceback
        return _fail(str(from_os_error(exc)))
    except MemoryError:
        return _fail(
            "deeprules ran out of memory. Use a smaller table (fewer columns or rows), or set "
            "DEEPRULES_MAX_MEMORY lower so that tables this big are refused before they are read."
        )
    except OperationalError as exc:  # the database: a full disk, a locked or unreachable server
        orig = getattr(exc, "orig", None)
        if "full" in str(orig).lower():
            return _fail(str(from_os_error(OSError(28, "No space left on device", os.getcwd()))))
        return _fail(f"The workspace database cannot be used: {orig}. Check DEEPRULES_DB_URL and the disk.")
    except KeyboardInterrupt:
        print("error: interrupted; nothing half-written was kept.", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if os.environ.get("DEEPRULES_DEBUG"):
            raise
        return _fail(
            f"deeprules could not finish: {exc}. This input reached a case deeprules does not check "
            "yet; please report it with the file (DEEPRULES_DEBUG=1 shows the details)."
        )


if __name__ == "__main__":
    sys.exit(main())
