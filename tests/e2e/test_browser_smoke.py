"""One real-browser walk: start the app, create a study, load a sample dataset with its
provenance, visit every page (no exception, no traceback), restart the server and find
the study and its provenance again.

Needs Debian's chromium (``apt-get install chromium``; `.ci/run` installs it). Set
``DEEPRULES_SCREENSHOTS=DIR`` to keep a screenshot of every page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e._servers import (
    BROWSER_ARGS,
    CHROMIUM,
    create_study,
    free_port,
    no_error,
    settle,
    streamlit_app,
)

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


def test_walk_every_page_and_survive_a_restart(tmp_path):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("DEEPRULES_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    home, port = tmp_path / "workspace", free_port()
    with streamlit_app(home, port=port) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2600})
        study_id = create_study(page, url, "Breast cancer smoke test")
        page.get_by_role("heading", name="Breast cancer smoke test").wait_for(timeout=30_000)
        assert len(study_id) == 12, page.url
        page.screenshot(path=str(shots / "00_study.png"), full_page=True)

        page.goto(f"{url}/data?study={study_id}")
        settle(page)
        page.get_by_role("tab", name="Sample data").click()
        page.get_by_role("button", name="Load sample: breast cancer").click()
        settle(page)
        no_error(page, "data")
        page.get_by_text("569").first.wait_for(timeout=60_000)
        page.get_by_role("button", name="Save roles").click()  # the suggested roles, confirmed
        settle(page)
        no_error(page, "data (roles)")
        page.screenshot(path=str(shots / "01_data.png"), full_page=True)

        page.goto(f"{url}/split?study={study_id}")
        settle(page, 120_000)
        page.get_by_role("button", name="Save the split and lock the test set").click()
        settle(page, 120_000)
        no_error(page, "split (save)")

        page.goto(f"{url}/baselines?study={study_id}")
        settle(page, 120_000)
        page.get_by_role("spinbutton", name="Tuning trials per model family").fill("2")
        page.get_by_role("spinbutton", name="Shuffled-label repetitions").fill("3")
        page.get_by_role("spinbutton", name="Bootstrap resamples").fill("100")
        page.get_by_role("button", name="Start the baselines").click()
        page.get_by_text("finished").first.wait_for(timeout=420_000)  # the job ran in the background
        settle(page, 120_000)
        no_error(page, "baselines (job)")

        for i, name in enumerate(PAGES, start=2):
            page.goto(f"{url}/{name}?study={study_id}")
            settle(page, 120_000)
            no_error(page, name)
            page.screenshot(path=str(shots / f"{i:02d}_{name}.png"), full_page=True)
        browser.close()

    # everything survives a restart: a new server on the same store and port
    with streamlit_app(home, port=port) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 2600})
        page.goto(f"{url}/data?study={study_id}")
        settle(page)
        # the saved provenance record is found again
        page.get_by_text("https://doi.org/10.24432/C5DW2B").first.wait_for(timeout=60_000)
        settle(page)
        no_error(page, "data after restart")
        body = page.inner_text("body")
        (shots / "after_restart.txt").write_text(body)
        assert "Breast cancer smoke test" in body
        assert "archive.ics.uci.edu" in body or "10.24432/C5DW2B" in body  # the saved provenance
        page.screenshot(path=str(shots / "99_after_restart.png"), full_page=True)
        browser.close()
