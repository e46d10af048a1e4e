"""The sign-in decision, the listen-address rule, user text as Markdown, the server config.

The browser tests (tests/e2e/test_signin.py, test_safe_server.py) run the same code behind
a real nginx, a real OpenID Connect provider and a real browser; these cover every branch
in milliseconds.
"""

from __future__ import annotations

import os
import socket
import tomllib
from pathlib import Path

import pytest

from ui.auth import Identity, Refusal, listen_is_private, resolve
from ui.text import md

ROOT = Path(__file__).resolve().parents[2]


def test_local_mode_is_the_os_user_as_admin():
    got = resolve(mode="local", env={}, local_name="ada")
    assert got == Identity(name="ada", role="admin", mode="local")


def test_header_mode_takes_the_configured_header_on_loopback_only():
    env = {"DEEPRULES_AUTH_HEADER": "X-Remote-User", "DEEPRULES_ADMINS": "boss, ada"}
    got = resolve(mode="header", env=env, address="127.0.0.1", headers={"x-remote-user": ["ada"]})
    assert got == Identity(name="ada", role="admin", mode="header")
    got = resolve(mode="header", env=env, address="::1", headers={"X-Remote-User": "bob"})
    assert got == Identity(name="bob", role="user", mode="header")
    for address in (None, "0.0.0.0", "192.168.1.7", "lab.example.org"):
        got = resolve(mode="header", env=env, address=address, headers={"X-Remote-User": "bob"})
        assert isinstance(got, Refusal) and "switched off" in got.message, address


def test_header_mode_refuses_a_missing_an_empty_or_a_doubled_header():
    for headers in ({}, {"X-Forwarded-User": "  "}, {"X-Forwarded-User": ["ada", "eve"]}):
        got = resolve(mode="header", env={}, address="127.0.0.1", headers=headers)
        assert isinstance(got, Refusal) and "X-Forwarded-User" in got.message


def test_a_unix_socket_counts_only_when_other_users_cannot_connect(tmp_path):
    path = tmp_path / "app.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        os.chmod(path, 0o770)
        assert listen_is_private(f"unix://{path}") == (True, "")
        os.chmod(path, 0o777)
        private, why = listen_is_private(f"unix://{path}")
        assert not private and "every user of this machine" in why
    assert not listen_is_private(f"unix://{tmp_path / 'missing.sock'}")[0]


def test_oidc_mode_needs_a_signed_in_user_and_names_them_by_a_claim():
    assert isinstance(resolve(mode="oidc", env={}, oidc_claims={"is_logged_in": False}), Refusal)
    assert resolve(mode="oidc", env={}, oidc_claims=None).login  # type: ignore[union-attr]
    claims = {"is_logged_in": True, "sub": "42", "email": "ada@lab.org", "preferred_username": "ada"}
    assert resolve(mode="oidc", env={}, oidc_claims=claims).name == "ada@lab.org"  # type: ignore[union-attr]
    env = {"DEEPRULES_AUTH_CLAIM": "preferred_username", "DEEPRULES_ADMINS": "ada"}
    assert resolve(mode="oidc", env=env, oidc_claims=claims) == Identity("ada", "admin", "oidc")
    assert resolve(mode="oidc", env={}, oidc_claims={"is_logged_in": True, "sub": "42"}).name == "42"  # type: ignore[union-attr]


def test_an_unknown_mode_is_refused_in_words():
    got = resolve(mode="ldap", env={})
    assert isinstance(got, Refusal) and "local, oidc, header" in got.message


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("![x](http://evil.example/p.png)", "\\!\\[x\\]("),
        ("[click](http://evil.example)", "\\[click\\]("),
        (
            "**bold** _it_ ~~gone~~ $x^2$ :red[alarm]",
            "\\*\\*bold\\*\\* \\_it\\_ \\~\\~gone\\~\\~ \\$x^2\\$ :red\\[alarm\\]",
        ),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)\\>"),
    ],
)
def test_md_escapes_what_markdown_acts_on(text, escaped):
    assert escaped in md(text)


def test_md_keeps_words_and_urls_as_typed():
    assert md("sample_id and plate_2") == "sample_id and plate_2"
    assert md("source https://doi.org/10.1/x_y") == "source `https://doi.org/10.1/x_y`"
    assert md("mail ada@lab.org") == "mail `ada@lab.org`"
    assert (
        md("# not a heading\n- not a list\n1. nor this")
        == "\\# not a heading  \n\\- not a list  \n1\\. nor this"
    )


def test_server_config_is_safe_by_default():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["enableXsrfProtection"] is True
    assert 0 < cfg["server"]["maxUploadSize"] <= 1024
    assert cfg["client"]["showErrorDetails"] == "none"
    assert cfg["browser"]["gatherUsageStats"] is False
