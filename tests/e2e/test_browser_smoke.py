"""One real-browser walk: start the app, create a study, load a sample dataset with its
provenance, visit every page (no exception, no traceback), restart the server and find
the study and its provenance again.

Needs Debian's chromium (``apt-get install chromium``; `.ci/run` installs it). Set
``DEEPRULES_SCREENSHOTS=DIR`` to keep a screenshot of every page.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

PAGES = [
    "study",
    "data",
    "checks",
    "confounds",
    "split",
    "baselines",
    "deep_learning",
    "evaluate",
    "interpret",
    "report",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, home: Path) -> None:
        self.home = home
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = dict(os.environ, DEEPRULES_HOME=str(self.home), PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(self.port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--server.fileWatcherType",
                "none",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("streamlit did not start within 60 s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None


def _settle(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script: the running icon has been
    absent for 1.5 s in a row."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    quiet_since = None
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidgetRunningIcon"]').count() > 0
        now = time.monotonic()
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since > 1.5:
            return
        page.wait_for_timeout(200)
    raise AssertionError("the page was still running after the timeout")


def _no_error(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception shown on {where}"
    assert "Traceback" not in page.inner_text("body"), f"traceback shown on {where}"


def test_walk_every_page_and_survive_a_restart(tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("DEEPRULES_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    server = Server(tmp_path / "workspace")
    server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 2600})
            page.goto(server.url)
            _settle(page)
            page.get_by_role("tab", name="New study").click()
            page.get_by_label("Name").fill("Breast cancer smoke test")
            page.get_by_role("button", name="Create study").click()
            _settle(page)
            page.get_by_role("heading", name="Breast cancer smoke test").wait_for(timeout=30_000)
            study_id = page.url.split("study=")[-1].split("&")[0]
            assert len(study_id) == 12, page.url
            page.screenshot(path=str(shots / "00_study.png"), full_page=True)

            page.goto(f"{server.url}/data?study={study_id}")
            _settle(page)
            page.get_by_role("tab", name="Sample data").click()
            page.get_by_role("button", name="Load sample: breast cancer").click()
            _settle(page)
            _no_error(page, "data")
            page.get_by_text("569").first.wait_for(timeout=60_000)
            page.get_by_role("button", name="Save roles").click()  # the suggested roles, confirmed
            _settle(page)
            _no_error(page, "data (roles)")
            page.screenshot(path=str(shots / "01_data.png"), full_page=True)

            page.goto(f"{server.url}/split?study={study_id}")
            _settle(page, 120_000)
            page.get_by_role("button", name="Save the split and lock the test set").click()
            _settle(page, 120_000)
            _no_error(page, "split (save)")

            page.goto(f"{server.url}/baselines?study={study_id}")
            _settle(page, 120_000)
            page.get_by_role("spinbutton", name="Tuning trials per model family").fill("2")
            page.get_by_role("spinbutton", name="Shuffled-label repetitions").fill("3")
            page.get_by_role("spinbutton", name="Bootstrap resamples").fill("100")
            page.get_by_role("button", name="Start the baselines").click()
            page.get_by_text("finished").first.wait_for(timeout=420_000)  # the job ran in the background
            _settle(page, 120_000)
            _no_error(page, "baselines (job)")

            for i, name in enumerate(PAGES, start=2):
                page.goto(f"{server.url}/{name}?study={study_id}")
                _settle(page, 120_000)
                _no_error(page, name)
                page.screenshot(path=str(shots / f"{i:02d}_{name}.png"), full_page=True)
            browser.close()

        server.stop()
        server.start()  # everything survives a restart
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 2600})
            page.goto(f"{server.url}/data?study={study_id}")
            _settle(page)
            # the saved provenance record is found again
            page.get_by_text("https://doi.org/10.24432/C5DW2B").first.wait_for(timeout=60_000)
            _settle(page)
            _no_error(page, "data after restart")
            body = page.inner_text("body")
            (shots / "after_restart.txt").write_text(body)
            assert "Breast cancer smoke test" in body
            assert "archive.ics.uci.edu" in body or "10.24432/C5DW2B" in body  # the saved provenance
            page.screenshot(path=str(shots / "99_after_restart.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
