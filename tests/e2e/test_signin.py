"""Sign-in in a real browser: ``header`` mode behind a real nginx that authenticates, and
``oidc`` mode against a real OpenID Connect provider (oidc-provider-mock) started here.

Two people in two browsers (Playwright contexts, no shared cookies) each see their own
name, and their own studies only; behind nginx, a study one shares with another appears in
the other's list, marked as shared, and opens there, while a third person still sees
nothing of it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deeprules_core.store import Workspace
from deeprules_core.study import Design
from tests.e2e._servers import (
    BROWSER_ARGS,
    CHROMIUM,
    NGINX,
    create_study,
    free_port,
    nginx_proxy,
    settle,
    streamlit_app,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def _sidebar(page) -> str:
    return page.locator('[data-testid="stSidebar"]').inner_text()


def _study_options(page) -> str:
    """The names in the Study page's 'Open a study' list (empty when there is none)."""
    if page.get_by_text("No study yet").count():
        return ""
    box = page.get_by_role("combobox", name="Study")
    box.click()
    text = page.get_by_role("listbox").inner_text() + "\n" + box.input_value()
    page.keyboard.press("Escape")
    return text


@pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian's nginx is not installed")
def test_header_mode_behind_nginx_two_users_and_no_direct_access(tmp_path):
    from playwright.sync_api import sync_playwright

    env = {"DEEPRULES_AUTH": "header", "DEEPRULES_ADMINS": "dora"}
    users = {"alice": "a-pass", "bob": "b-pass", "carol": "c-pass"}
    with (
        streamlit_app(tmp_path / "ws", env=env, log=tmp_path / "app.log") as app,
        nginx_proxy(tmp_path / "nginx", app, users) as proxy,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        alice = browser.new_context(http_credentials={"username": "alice", "password": "a-pass"}).new_page()
        bob = browser.new_context(http_credentials={"username": "bob", "password": "b-pass"}).new_page()

        sid = create_study(alice, proxy, "Alice liver cohort")
        assert "Signed in as alice" in _sidebar(alice)
        bob.goto(proxy)
        settle(bob)
        assert "Signed in as bob" in _sidebar(bob)
        assert "Alice liver cohort" not in _study_options(bob)
        create_study(bob, proxy, "Bob kidney cohort")
        alice.goto(proxy)
        settle(alice)
        options = _study_options(alice)
        assert "Alice liver cohort" in options and "Bob kidney cohort" not in options

        # alice shares her study with bob (signed in above) as a viewer, on the Study page
        alice.goto(f"{proxy}/study?study={sid}")
        settle(alice)
        alice.get_by_label("Share with").fill("bob")
        alice.get_by_role("button", name="Share", exact=True).click()
        settle(alice)
        assert "Shared with bob as a viewer" in alice.inner_text("body")
        # bob's list marks it as alice's, shared with him; he opens it from the list
        bob.goto(proxy)
        settle(bob)
        options = _study_options(bob)
        assert "Alice liver cohort · shared by alice, you are a viewer" in options
        bob.get_by_role("combobox", name="Study").click()
        bob.get_by_role("option", name=re.compile("Alice liver cohort")).click()
        bob.locator('[data-testid="stButton"] button').filter(has_text=re.compile("^Open$")).click()
        settle(bob)
        assert bob.get_by_role("heading", name="Alice liver cohort").count() == 1
        assert "alice shared this study with you to read" in bob.inner_text("body")
        # carol, a third person, sees nothing of it: not in her list, not by its URL
        carol = browser.new_context(http_credentials={"username": "carol", "password": "c-pass"}).new_page()
        carol.goto(f"{proxy}/study?study={sid}")
        settle(carol)
        assert "Signed in as carol" in _sidebar(carol)
        assert "Alice liver cohort" not in carol.inner_text("body") and _study_options(carol) == ""

        # what alice types into the design form survives a rerun after someone else's save
        # (the fields keep their identity), and her save is then refused as a conflict
        question = alice.get_by_label("The biological question").last
        question.fill("typed by alice, not saved yet")
        other = Workspace(tmp_path / "ws", user="alice")  # another session of hers, say
        other.save_study(other.get_study(sid).with_design(Design(question="saved elsewhere")))
        alice.get_by_role("button", name="Rename").first.click()
        alice.get_by_label("New name").press("Enter")  # commits the field: the page reruns
        settle(alice)
        assert question.input_value() == "typed by alice, not saved yet"
        alice.get_by_role("button", name="Save design").click()
        settle(alice)
        assert "Someone else changed this study" in alice.inner_text("body")
        assert question.input_value() == "typed by alice, not saved yet"

        # a visitor who reaches the app directly, past the proxy, is nobody: refused in words
        direct = browser.new_context().new_page()
        direct.goto(app)
        settle(direct)
        body = direct.inner_text("body")
        assert "no user in the X-Forwarded-User header" in body
        assert "Alice liver cohort" not in body and "Create study" not in body

        # a forged header sent through nginx is replaced by the signed-in name
        forged = browser.new_context(
            http_credentials={"username": "bob", "password": "b-pass"},
            extra_http_headers={"X-Forwarded-User": "alice"},
        ).new_page()
        forged.goto(proxy)
        settle(forged)
        assert "Signed in as bob" in _sidebar(forged)
        browser.close()


def test_header_mode_is_refused_when_the_app_listens_on_every_interface(tmp_path):
    from playwright.sync_api import sync_playwright

    with (
        streamlit_app(tmp_path / "ws", address="0.0.0.0", env={"DEEPRULES_AUTH": "header"}) as app,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(extra_http_headers={"X-Forwarded-User": "mallory"})
        page.goto(app)
        settle(page)
        body = page.inner_text("body")
        assert "Sign-in by proxy header is switched off" in body
        assert "every network interface" in body
        assert "mallory" not in body and "Create study" not in body
        browser.close()


def _sign_in_oidc(page, app: str, who: str) -> None:
    page.goto(app)
    settle(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector('input[name="sub"]', timeout=30_000)  # the provider's own page
    page.fill('input[name="sub"]', who)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(app + "/**", timeout=30_000)
    settle(page)


def test_oidc_mode_against_a_real_provider_two_users(tmp_path):
    from oidc_provider_mock import run_server_in_thread
    from playwright.sync_api import sync_playwright

    with run_server_in_thread() as provider:
        issuer = f"http://localhost:{provider.server_port}"
        secrets = tmp_path / "secrets.toml"
        port = free_port()
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
            'cookie_secret = "a-long-random-string-only-for-this-test"\n'
            'client_id = "deeprules"\n'
            'client_secret = "deeprules-test-secret"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        )
        with (
            streamlit_app(
                tmp_path / "ws",
                env={"DEEPRULES_AUTH": "oidc"},
                args=["--secrets.files", str(secrets)],
                port=port,
                log=tmp_path / "app.log",
            ) as app_ip,
            sync_playwright() as p,
        ):
            app = app_ip.replace("127.0.0.1", "localhost")  # the host named in redirect_uri
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
            alice = browser.new_context().new_page()
            bob = browser.new_context().new_page()

            alice.goto(app)
            settle(alice)
            assert "Sign in with your lab account" in alice.inner_text("body")
            assert alice.get_by_role("tab", name="New study").count() == 0  # nothing before sign-in

            _sign_in_oidc(alice, app, "alice@lab.example")
            assert "Signed in as alice@lab.example" in _sidebar(alice)
            create_study(alice, app, "Alice OIDC study")

            _sign_in_oidc(bob, app, "bob@lab.example")
            assert "Signed in as bob@lab.example" in _sidebar(bob)
            assert "Alice OIDC study" not in _study_options(bob)

            alice.get_by_role("button", name="Sign out").click()
            # Streamlit ends the session at the provider too (RP-initiated logout), then returns
            alice.get_by_role("button", name="End session").click(timeout=30_000)
            alice.wait_for_url(app + "/**", timeout=30_000)
            settle(alice)
            assert "Sign in with your lab account" in alice.inner_text("body")
            browser.close()
