"""Load: 20 browser sessions at once against one app server with a PostgreSQL store.

A private PostgreSQL server is started under a temporary folder (Debian's binaries in
/usr/lib/postgresql/*/bin, run as the ``postgres`` user when this runs as root) on a free
port, the app is started in header sign-in mode on 127.0.0.1 and each session is a
different user (its own Playwright context, its own X-Forwarded-User). Every session at the
same time: creates a study on the Study page, loads the breast-cancer sample on the Data
page and confirms the roles, opens the Checks page (which runs every check), then walks
Study, Data and Checks again. A page time is from the navigation (or the click) until
Streamlit has finished running the script. Any exception, traceback or missing page
heading counts as an error.

Run by hand: ``python benchmarks/bench_server_load.py [--sessions 20] [--rounds 2]``.
Prints the page times (median, p95, max) and one Markdown row for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e._servers import BROWSER_ARGS, CHROMIUM, free_port, streamlit_app  # noqa: E402


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit("PostgreSQL's server binaries are not installed (apt-get install postgresql)")
    return found[-1]


@contextmanager
def private_postgres(tmp: Path):
    """A throw-away PostgreSQL server on 127.0.0.1:<free port>; yields its SQLAlchemy URL."""
    data, sock = tmp / "pgdata", tmp / "pgsock"
    sock.mkdir(parents=True)
    as_pg: list[str] = []
    if os.geteuid() == 0:
        os.chmod(tmp.parent, 0o711)  # the postgres user must pass through the temporary folder
        shutil.chown(tmp, "postgres")
        shutil.chown(sock, "postgres")
        as_pg = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [*as_pg, _pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"
    subprocess.run(
        [*as_pg, _pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l", str(tmp / "pg.log"), "start"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        subprocess.run(
            [*as_pg, _pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "deeprules"],
            check=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/deeprules"
    finally:
        subprocess.run(
            [*as_pg, _pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "stop"], stdout=subprocess.DEVNULL
        )


async def _settle(page, t0: float, heading: str, timeout_s: float = 300.0) -> float:
    """Seconds from t0 until the page's heading is drawn and the script run has finished (no
    running icon for 1 s after it)."""
    await page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_s * 1000)
    await page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        running = await page.locator('[data-testid="stStatusWidgetRunningIcon"]').count() > 0
        now = time.monotonic()
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since > 1.0:
            return quiet_since - t0
        await page.wait_for_timeout(100)
    raise TimeoutError("the page was still running after the timeout")


async def _errors(page, where: str, heading: str) -> list[str]:
    out = []
    if await page.locator('[data-testid="stException"]').count():
        out.append(f"{where}: exception shown")
    body = await page.inner_text("body")
    if "Traceback" in body:
        out.append(f"{where}: traceback shown")
    if await page.get_by_role("heading", name=heading).count() == 0:
        out.append(f"{where}: no '{heading}' heading")
    return out


async def _session(browser, app: str, i: int, rounds: int, times: dict[str, list[float]], errors: list[str]):
    ctx = await browser.new_context(
        extra_http_headers={"X-Forwarded-User": f"user{i:02d}"}, viewport={"width": 1400, "height": 1600}
    )
    ctx.set_default_timeout(300_000)  # 20 sessions on a small machine: slow, not broken
    ctx.set_default_navigation_timeout(300_000)
    page = await ctx.new_page()

    async def visit(kind: str, url: str, heading: str) -> None:
        t0 = time.monotonic()
        await page.goto(url)
        times[kind].append(await _settle(page, t0, heading))
        errors.extend(await _errors(page, f"user{i:02d} {kind}", heading))

    async def click(kind: str, locator, heading: str) -> None:
        t0 = time.monotonic()
        await locator.click()
        times[kind].append(await _settle(page, t0, heading))
        errors.extend(await _errors(page, f"user{i:02d} {kind}", heading))

    try:
        await visit("Study", app, "Study")
        await page.get_by_role("tab", name="New study").click()
        await page.get_by_label("Name").fill(f"Load test study {i}")
        await click("Study: create", page.get_by_role("button", name="Create study"), f"Load test study {i}")
        study_id = page.url.split("study=")[-1].split("&")[0]
        await visit("Data", f"{app}/data?study={study_id}", "Data")
        await page.get_by_role("tab", name="Sample data").click()
        await click(
            "Data: load sample", page.get_by_role("button", name="Load sample: breast cancer"), "Data"
        )
        await click("Data: save roles", page.get_by_role("button", name="Save roles"), "Data")
        await visit("Checks", f"{app}/checks?study={study_id}", "Checks")
        for _ in range(rounds - 1):
            await visit("Study", f"{app}/study?study={study_id}", "Study")
            await visit("Data", f"{app}/data?study={study_id}", "Data")
            await visit("Checks", f"{app}/checks?study={study_id}", "Checks")
    except Exception as exc:  # noqa: BLE001 (a benchmark counts every failure, whatever it is)
        errors.append(f"user{i:02d}: {type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        await ctx.close()


async def _load(app: str, sessions: int, rounds: int) -> tuple[dict[str, list[float]], list[str], float]:
    from playwright.async_api import async_playwright

    times: dict[str, list[float]] = {
        k: [] for k in ("Study", "Study: create", "Data", "Data: load sample", "Data: save roles", "Checks")
    }
    errors: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        t0 = time.monotonic()
        await asyncio.gather(*(_session(browser, app, i, rounds, times, errors) for i in range(sessions)))
        wall = time.monotonic() - t0
        await browser.close()
    return times, errors, wall


def _p95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[-1] if len(xs) > 1 else xs[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2, help="walks of Study, Data, Checks per session")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="deeprules-load-") as tmp_name:
        tmp = Path(tmp_name)
        with (
            private_postgres(tmp / "pg") as db_url,
            streamlit_app(
                tmp / "home",
                env={"DEEPRULES_DB_URL": db_url, "DEEPRULES_AUTH": "header"},
                log=tmp / "app.log",
            ) as app,
        ):
            times, errors, wall = asyncio.run(_load(app, args.sessions, args.rounds))
            log = (tmp / "app.log").read_text(errors="replace")
    pages = [t for k in ("Study", "Data", "Checks") for t in times[k]]
    print(f"{args.sessions} sessions x {args.rounds} walks, {wall:.1f} s wall, {os.cpu_count()} CPUs")
    print(f"errors: {len(errors)}")
    for e in errors[:20]:
        print("  ", e)
    if not pages:
        raise SystemExit("no page was measured")
    for kind, xs in times.items():
        if xs:
            print(
                f"  {kind:<18} n={len(xs):3d}  median {statistics.median(xs):6.2f} s  "
                f"p95 {_p95(xs):6.2f} s  max {max(xs):6.2f} s"
            )
    print(
        f"  {'all page visits':<18} n={len(pages):3d}  median {statistics.median(pages):6.2f} s  "
        f"p95 {_p95(pages):6.2f} s  max {max(pages):6.2f} s"
    )
    tracebacks = log.count("Traceback")
    print(f"tracebacks in the server log: {tracebacks}")
    if tracebacks:
        print(log[log.index("Traceback") :][:3000])
    print(
        f"\n| {args.sessions} browser sessions at once, one server, PostgreSQL store: Study, Data, Checks "
        f"pages (#14) | page time median {statistics.median(pages):.2f} s, **p95 {_p95(pages):.2f} s** "
        f"(max {max(pages):.2f} s, n={len(pages)}); {len(errors)} errors | no errors |"
    )


if __name__ == "__main__":
    main()
