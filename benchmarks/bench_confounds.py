"""Batch & confounds: speed on a wide table and detection power on simulated studies.

Run by hand (not part of the test suite)::

    python benchmarks/bench_confounds.py            # speed + power (a few minutes on 2 cores)
    python benchmarks/bench_confounds.py --speed    # only the 2,000 x 20,000 timing
    python benchmarks/bench_confounds.py --power --seeds 20

Speed: every computation of the confounds step (PCA exploration, batch effect and
confounding, covariates, metadata-only model, label leakage) on an already-parsed
2,000 x 20,000 table; the target is at most 20 s on a 2-core machine.

Power: simulated studies (``deeprules_core.confounds._simulate``) with n samples, p
features, 4 plates; a planted batch shift (SD ``effect`` in feature-SD units) on 20% of
the features, or a planted batch-label confounding (share of samples placed on plates by
class). Each cell is the share of seeds in which the finding fired; effect 0 is the
false-positive rate. The tables are printed as markdown and saved to
``benchmarks/results_confounds.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from deeprules_core.confounds import confound_report, explore  # noqa: E402
from deeprules_core.confounds._simulate import simulate_batch_study  # noqa: E402

TARGET_S = 20.0


def speed(n: int = 2000, p: int = 20000) -> list[str]:
    df, roles = simulate_batch_study(n=n, p=p, batch_effect=0.3, covariate_effect=0.2, seed=0)
    t, c = time.perf_counter(), time.process_time()
    report = confound_report(df, roles, seed=0)  # includes explore() on the same PCA
    total, cpu = time.perf_counter() - t, time.process_time() - c
    t = time.perf_counter()
    explore(df, roles, n_components=10)
    explore_s = time.perf_counter() - t
    lines = [
        f"### Speed: {n:,} x {p:,} table (already parsed)",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v:.2f} |" for k, v in report["timings"].items() if k != "total"]
    lines += [
        f"| **all (confound_report: every check + exploration)** | **{total:.2f}** "
        f"(target ≤ {TARGET_S:.0f} s, ratio {total / TARGET_S:.2f}) |",
        f"| CPU time of the above (all threads) | {cpu:.2f} |",
        f"| explore() alone, from scratch (the page's first view) | {explore_s:.2f} |",
        "",
        "Findings on this table: " + ", ".join(sorted({f.code for f in report["findings"]})),
    ]
    import os

    lines += ["", f"Machine: {os.cpu_count()} cores, load average at the end {os.getloadavg()[0]:.1f}."]
    return lines


def _rate(kind: str, value: float, seeds: int, n: int, p: int) -> tuple[float, float]:
    """Share of seeds with the target finding, and with any finding that should not fire."""
    hit = other = 0
    target = "batch_effect" if kind == "batch" else "batch_confounding"
    for s in range(seeds):
        kw = {"batch_effect": value} if kind == "batch" else {"confounding": value}
        df, roles = simulate_batch_study(n=n, p=p, seed=1000 + s, **kw)
        codes = {f.code for f in confound_report(df, roles, seed=s)["findings"]}
        hit += target in codes
        # with a confounded design the metadata-only model and the label's own signal seen
        # through the plate are true findings, not false alarms
        expected = {target} if kind == "batch" else {target, "metadata_predicts_label", "batch_effect"}
        other += bool(codes - expected)
    return hit / seeds, other / seeds


def power(seeds: int, n: int = 120, p: int = 300) -> list[str]:
    lines = [
        f"### Detection power ({seeds} seeds per cell, n = {n}, p = {p}, 4 plates)",
        "",
        "Batch effect (`batch_effect`): plate shift SD on 20% of the features, balanced design.",
        "",
        "| effect (SD) | detection rate | other findings |",
        "|---|---|---|",
    ]
    for eff in (0.0, 0.1, 0.2, 0.3, 0.5, 1.0):
        hit, other = _rate("batch", eff, seeds, n, p)
        lines.append(f"| {eff:g}{' (false-positive rate)' if eff == 0 else ''} | {hit:.2f} | {other:.2f} |")
    lines += [
        "",
        "Batch-label confounding (`batch_confounding`): share of samples placed on plates by class.",
        "",
        "| confounding | detection rate | other findings |",
        "|---|---|---|",
    ]
    for conf in (0.0, 0.1, 0.2, 0.3, 0.5, 1.0):
        hit, other = _rate("confounding", conf, seeds, n, p)
        lines.append(f"| {conf:g}{' (false-positive rate)' if conf == 0 else ''} | {hit:.2f} | {other:.2f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--power", action="store_true")
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    both = not (args.speed or args.power)
    out = ROOT / "benchmarks" / "results_confounds.md"
    # a partial run replaces its own section of the saved results and keeps the other
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    marker = "### Detection power"
    old_speed, _, old_power = old.partition(marker)
    speed_part = old_speed.split("\n", 2)[2].strip("\n").splitlines() if old_speed.count("\n") >= 2 else []
    power_part = (marker + old_power).strip("\n").splitlines() if old_power else []
    if args.speed or both:
        speed_part = speed()
        print("\n".join(speed_part), flush=True)
    if args.power or both:
        power_part = power(args.seeds)
        print("\n".join(power_part), flush=True)
    lines = ["## Batch & confounds benchmark", "", *speed_part, "", *power_part]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nSaved to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
