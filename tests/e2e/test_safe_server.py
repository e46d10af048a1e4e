"""A server that is safe by default, checked in a real browser.

- Text a user typed (study name, file name, column name, provenance fields, design answers)
  is shown as text: a Markdown image in it makes no browser fetch anything (a local HTTP
  server counts every request), and no link or image pointing there is on the page.
- A database that cannot be reached shows the visitor a plain sentence: no URL, no
  password, no traceback; the server's log has the details with the password masked.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest

from tests.e2e._servers import BROWSER_ARGS, CHROMIUM, free_port, settle, streamlit_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the http.server API)
        type(self).hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _evil(base: str, where: str) -> str:
    return (
        f"![{where}]({base}/{where}.png) [{where} link]({base}/{where}-link) "
        f"<{base}/{where}-auto> {base}/{where}-bare <img src='{base}/{where}-html.png'>"
    )


def test_markdown_in_user_text_fetches_nothing(tmp_path):
    from playwright.sync_api import sync_playwright

    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.store import Workspace
    from deeprules_core.study import Design

    _Counter.hits = []
    trap = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Counter)
    threading.Thread(target=trap.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{trap.server_address[1]}"
    try:
        # a colleague's study, written through the engine with Markdown everywhere they type
        home = tmp_path / "ws"
        ws = Workspace(home)
        study = ws.create_study(
            _evil(base, "name"),
            design=Design(
                question=_evil(base, "question"),
                matching=_evil(base, "matching"),
                ethics_approval=_evil(base, "ethics"),
            ),
        )
        rows = "\n".join(f"s{i},{i % 2},{i * 0.5},{(i * 7) % 5}" for i in range(40))
        csv = f"sample_id,label,gene_a,![col]({base}/column.png)\n{rows}\n".encode()
        text = _evil(base, "prov")
        new, _info = ingest(
            ws,
            csv,
            name=f"![file]({base}/file.png).csv",
            provenance=Provenance(
                source=f"{base}/source.png",
                version=text,
                download_date="2024-01-01",
                licence=text,
                description=text,
                entered_by=text,
            ),
            study=study,
        )
        ws.save_study(new)
        del ws

        with streamlit_app(home) as app, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 2400})
            seen = ""
            for name in ("study", "data", "checks", "report"):
                page.goto(f"{app}/{name}?study={study.id}")
                settle(page, 120_000)
                for expander in page.locator('[data-testid="stExpander"] summary').all():
                    expander.click()  # open every folded section so its text is drawn too
                page.wait_for_timeout(500)
                seen += page.inner_text("body")
                trap_host = base.split("//")[1]
                links = page.locator(
                    f'a[href*="{trap_host}"], img[src*="{trap_host}"], [srcset*="{trap_host}"]'
                )
                assert links.count() == 0, name
            browser.close()
        # the text is there, as typed (the visitor can read what the author wrote)
        assert f"![name]({base}/name.png)" in seen
        assert "![file](" in seen and "[prov link](" in seen and f"{base}/source.png" in seen
    finally:
        trap.shutdown()
    assert _Counter.hits == [], f"the browser fetched {_Counter.hits}"


def test_unreachable_database_shows_no_secret(tmp_path):
    from playwright.sync_api import sync_playwright

    password = "S3cret-Pw-9f2"
    url = f"postgresql+psycopg://deeprules:{password}@127.0.0.1:{free_port()}/deeprules"
    log = tmp_path / "app.log"
    with (
        streamlit_app(tmp_path / "ws", env={"DEEPRULES_DB_URL": url}, log=log) as app,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page()
        for name in ("study", "data?study=0123456789ab"):
            page.goto(f"{app}/{name}")
            settle(page)
            body = page.inner_text("body")
            assert "cannot reach its workspace database" in body
            for secret in (password, "postgresql", "deeprules:", "127.0.0.1", "Traceback", "psycopg"):
                assert secret not in body, (name, secret)
            assert page.locator('[data-testid="stException"]').count() == 0
        browser.close()
    server_log = log.read_text()
    assert "cannot open the workspace" in server_log  # the administrator gets the details
    assert password not in server_log
