"""Charts that read, links that hold, a log without deprecations, in a real browser.

One study is run headless (``run`` on the simulated sample, small budgets), the app is
started on its workspace, and a 1440-px-wide browser:

* screenshots every chart of every page and tab, and checks each one: its rendered
  height, no mark squeezed to a line (the Batch × label heatmap once was), every axis
  label drawn in full (not cut at the chart's edge, not ellipsised, not thinned out,
  not overlapping its neighbour);
* unlocks the test set on Evaluate and finds the new test result on the page at once;
* opens every page from its deep link in a new tab, and reloads a page reached from
  the sidebar: the study stays open;
* finally reads the server's log: no deprecation warning from Streamlit.

Set ``DEEPRULES_SCREENSHOTS=DIR`` to keep the screenshots.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e._servers import BROWSER_ARGS, CHROMIUM, ROOT, settle, streamlit_app

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

#: page url -> the title on the page
PAGES = {
    "study": "Study",
    "data": "Data",
    "checks": "Checks",
    "confounds": "Batch & confounds",
    "split": "Split",
    "baselines": "Baselines",
    "deep_learning": "Deep learning",
    "evaluate": "Evaluate",
    "interpret": "Interpret",
    "privacy": "Privacy",
    "report": "Report",
}
CHART_PAGES = ("checks", "confounds", "split", "baselines", "evaluate")
#: The smallest height a chart may render at (a heatmap collapsed to a line is ~80 px of axes).
MIN_CHART_PX = 120

STUDY = """
name: Chart walk
data: {data}
roles: {{id: sample_id, label: label, group: patient_id, batch: [plate], covariates: [age, sex]}}
split: {{strategy: group, test_fraction: 0.2, tune_fraction: 0.2, seed: 0}}
models: [dummy, logistic_regression]
budget: 2
n_shuffles: 3
n_boot: 50
provenance: {{source: "lab:EXP-2024-07", version: v1, download_date: 2024-07-01, licence: CC-BY-4.0}}
"""

# Every problem of a chart that a reader would see, measured on the rendered SVG.
CHART_PROBLEMS_JS = """
(host) => {
  const svg = host.querySelector('svg');
  if (!svg) return ['no SVG was rendered'];
  const box = svg.getBoundingClientRect();
  const hostBox = host.getBoundingClientRect();
  const problems = [];
  if (box.height < MIN) problems.push(`rendered ${Math.round(box.height)} px high (< MIN px)`);
  if (box.right > hostBox.right + 1) problems.push('wider than its place on the page (cut off)');
  const texts = [...svg.querySelectorAll(
    '.role-axis-label text, .role-axis-title text, .role-title-text text, .role-legend-label text')];
  for (const t of texts) {
    const r = t.getBoundingClientRect();
    const s = t.textContent;
    if (t.getAttribute('opacity') === '0') { problems.push(`label '${s}' hidden (labels thinned)`); continue; }
    if (s.includes('…')) problems.push(`label '${s}' ellipsised`);
    // a few pixels of a glyph's box may overhang (font ascent); a cut label loses more
    const slack = 5;
    if (r.left < box.left - slack || r.right > box.right + slack || r.top < box.top - slack
        || r.bottom > box.bottom + slack)
      problems.push(`label '${s}' cut at the chart's edge (${Math.round(r.left-box.left)},${Math.round(box.right-r.right)},${Math.round(r.top-box.top)},${Math.round(box.bottom-r.bottom)})`);
  }
  for (const axis of svg.querySelectorAll('.role-axis-label')) {
    const rs = [...axis.querySelectorAll('text')].filter(t => t.getAttribute('opacity') !== '0')
      .map(t => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < rs.length; i++) for (let j = i + 1; j < rs.length; j++) {
      const [a, ra] = rs[i], [b, rb] = rs[j];
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 2 && h > 2) problems.push(`labels '${a}' and '${b}' overlap`);
    }
  }
  const rects = [...svg.querySelectorAll('.mark-rect path')].map(p => p.getBoundingClientRect());
  if (rects.length && Math.max(...rects.map(r => Math.min(r.width, r.height))) < 8)
    problems.push('every bar or cell is squeezed to a line');
  return problems;
}
""".replace("MIN", str(MIN_CHART_PX))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A finished study (``run``) and the app serving its workspace; yields (url, study id, log)."""
    from deeprules_core.store import Workspace
    from deeprules_core.workflow import run_study

    base = tmp_path_factory.mktemp("charts")
    study = base / "study.yaml"
    study.write_text(STUDY.format(data=ROOT / "sample_data" / "simulated_planted.csv"))
    run_study(study, base / "out")
    home = base / "out" / "workspace"
    (row,) = Workspace(home).list_studies()
    log = base / "server.log"
    with streamlit_app(home, log=log) as url:
        yield url, row["id"], log


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield b
        b.close()


def _settle(page, timeout_s: float = 120) -> None:
    settle(page, timeout_ms=int(timeout_s * 1000))


#: Pages the tests of this module have shown (the log check walks the others).
VISITED: set[str] = set()


def _no_error(page, where: str) -> None:
    VISITED.add(where.split()[-1].strip("/()") if where.startswith("deep link") else where.split()[0])
    assert page.locator('[data-testid="stException"]').count() == 0, f"exception shown on {where}"
    assert "Page not found" not in page.inner_text("body"), f"'Page not found' on {where}"


def _shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("DEEPRULES_SCREENSHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_every_chart_reads_at_1440_px(app, browser, tmp_path):
    url, study_id, _ = app
    shots = _shots(tmp_path)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    problems, checked = {}, []
    for name in CHART_PAGES:
        page.goto(f"{url}/{name}?study={study_id}")
        _settle(page)
        _no_error(page, name)
        tabs = page.get_by_role("tab")
        for t in range(tabs.count()) or [None]:
            if t is not None:
                tabs.nth(t).click()
                _settle(page)
            charts = page.locator('[data-testid="stVegaLiteChart"]')
            for k in range(charts.count()):
                chart = charts.nth(k)
                if chart.bounding_box() is None:  # in another tab
                    continue
                tag = f"{name}_{'' if t is None else f'tab{t}_'}{k}"
                if tag in checked:
                    continue
                chart.scroll_into_view_if_needed()
                chart.screenshot(path=str(shots / f"{tag}.png"))
                checked.append(tag)
                found = chart.evaluate(CHART_PROBLEMS_JS)
                if found:
                    problems[tag] = found
    page.close()
    assert not problems, f"charts that do not read: {problems}"
    # the charts of the issue are all there: PCA, R², partition, Batch × label, curves, control
    assert sum(tag.startswith("confounds_") for tag in checked) >= 4, checked
    assert sum(tag.startswith("evaluate_") for tag in checked) >= 5, checked
    assert len(checked) >= 14, checked


def test_the_test_result_shows_right_after_an_unlock(app, browser):
    url, study_id, _ = app
    page = browser.new_page(viewport={"width": 1440, "height": 1400})
    page.goto(f"{url}/evaluate?study={study_id}")
    _settle(page)
    reason = "Reviewer asked for the model refitted after the label correction"
    page.get_by_label("Why must the test set be used again?").fill(reason)
    page.get_by_role("button", name="Unlock and evaluate again").click()
    _settle(page)
    _no_error(page, "evaluate (unlocked)")
    body = page.inner_text("body")
    assert "Latest test-set evaluation" in body and reason in body
    # the selected model: logistic regression, or the marker baseline when one feature does as well
    assert re.search(r"Test AUPRC \[95% CI\]: (Logistic regression|Best single feature) \d\.\d{3}", body), (
        body[-2000:]
    )
    assert page.get_by_role("radio", name="test").is_checked(), "the panel did not switch to the test side"
    assert "Metric panel (test side)" in body
    assert "p = 0.000" not in body and "logistic_regression" not in body
    page.close()


def test_deep_links_and_a_reload_after_sidebar_navigation_keep_the_study(app, browser):
    url, study_id, _ = app
    for name, title in PAGES.items():
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.goto(f"{url}/{name}?study={study_id}")
        _settle(page)
        _no_error(page, f"deep link /{name}")
        page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=30_000)
        assert "Study: Chart walk" in page.locator('[data-testid="stSidebar"]').inner_text(), name
        context.close()
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/?study={study_id}")
    _settle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Checks").click()
    _settle(page)
    page.reload()
    _settle(page)
    _no_error(page, "checks after a reload")
    assert "/checks" in page.url and f"study={study_id}" in page.url
    assert "No study is open" not in page.inner_text("body")
    assert "Study: Chart walk" in page.locator('[data-testid="stSidebar"]').inner_text()
    context.close()


def test_no_deprecation_warning_in_the_server_log(app, browser):
    """Runs last in this module; walks any page the other tests did not, then reads the log."""
    url, study_id, log = app
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    for name in PAGES:
        if name not in VISITED:
            page.goto(f"{url}/{name}?study={study_id}")
            _settle(page)
    page.close()
    text = log.read_text(errors="replace")
    said = [line for line in text.splitlines() if re.search(r"deprecat|will be removed", line, re.I)]
    assert not said, "Streamlit deprecation warnings:\n" + "\n".join(said)
