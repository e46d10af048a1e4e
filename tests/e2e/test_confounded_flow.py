"""The confounded case end to end, in a real browser: upload a table whose batches hold a
single class, run Checks and Batch & confounds (an error), see that error carried forward
on Split and Baselines (banner, batch correction refused), and download the Report page's
PDF, whose text carries the same error in the same words.

Needs Debian's chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from confounded_case import confounded_table
from pypdf import PdfReader

from tests.e2e._servers import BROWSER_ARGS, CHROMIUM, create_study, no_error, settle, streamlit_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

#: The start of the confounds step's error on this table (what every later page repeats).
ERROR_START = "The batch variable 'plate' and the label 'label' go together"


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _sentence(body: str) -> str:
    """The error's first sentence as the page shows it."""
    text = _words(body)
    i = text.index(ERROR_START)
    return text[i : text.index(").", i) + 2]


def test_confounded_study_from_upload_to_pdf(tmp_path):
    from playwright.sync_api import sync_playwright

    data = tmp_path / "confounded_batches.csv"
    confounded_table().to_csv(data, index=False)
    with streamlit_app(tmp_path / "workspace") as url:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2400}, accept_downloads=True)
            study_id = create_study(page, url, "Confounded batches")
            page.get_by_role("heading", name="Confounded batches").wait_for(timeout=30_000)

            # upload with its provenance, confirm the suggested roles
            page.goto(f"{url}/data?study={study_id}")
            settle(page)
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(data))

            def box(label: str):  # the first form's text box of that label (not its help button)
                return page.get_by_role("textbox", name=re.compile("^" + re.escape(label))).first

            box("Source: URL, DOI or accession").fill("lab:CONF-2026")
            box("Version of the dataset").fill("v1")
            box("Licence").fill("CC0-1.0")
            date = page.locator('[data-testid="stDateInput"] input').first
            if date.get_attribute("type") == "date":  # a native date field takes ISO dates
                date.fill("2026-12-01")
            else:
                date.fill("2026/12/01")
                date.press("Enter")
            page.get_by_role("button", name="Save dataset").click()
            settle(page)
            no_error(page, "data (upload)")
            assert "Dataset: confounded_batches.csv" in page.inner_text("body"), _words(
                page.inner_text("body")
            )[-1500:]
            page.get_by_role("button", name="Save roles").click()
            settle(page)
            no_error(page, "data")
            assert "Roles saved" in page.inner_text("body")

            page.goto(f"{url}/checks?study={study_id}")
            settle(page, 90_000)
            no_error(page, "checks")

            # the confounds step finds the error
            page.goto(f"{url}/confounds?study={study_id}")
            settle(page, 90_000)
            no_error(page, "confounds")
            said = _sentence(page.inner_text("body"))
            assert "P1 (only 'control'" in page.inner_text("body")

            # it follows the study: Split (banner, suggestion and audit) ...
            page.goto(f"{url}/split?study={study_id}")
            settle(page, 90_000)
            no_error(page, "split")
            body = _words(page.inner_text("body"))
            assert "1 open error from earlier steps" in body and said in body
            assert "No split cures this" in body
            page.get_by_role("button", name="Save the split and lock the test set").click()
            settle(page, 90_000)

            # ... and Baselines, where batch correction is refused by the same rule
            page.goto(f"{url}/baselines?study={study_id}")
            settle(page, 90_000)
            no_error(page, "baselines")
            body = _words(page.inner_text("body"))
            assert "1 open error from earlier steps" in body and said in body
            assert page.get_by_role("checkbox", name=re.compile("Correct for batch")).is_disabled()
            assert "Batch correction on 'plate' is refused" in body

            # the Report page's PDF says it, in the same words
            page.goto(f"{url}/report?study={study_id}")
            settle(page, 90_000)
            page.get_by_role("button", name="Generate the PDF").click()
            settle(page, 120_000)
            no_error(page, "report")
            with page.expect_download(timeout=60_000) as dl:
                page.get_by_role("button", name="Download the PDF").click()
            pdf = tmp_path / "report.pdf"
            dl.value.save_as(pdf)
            browser.close()
        text = _words(" ".join(pg.extract_text() or "" for pg in PdfReader(pdf).pages))
        assert said in text
        assert re.search(r"Findings: [1-9]\d* errors?", text), "the PDF counts the error"
        assert "the checks raised no error" not in text
