"""Who is using the app: the sign-in modes of a deeprules server.

One setting, ``DEEPRULES_AUTH``, picks the mode:

``local`` (default)
    A laptop or a one-person server: one user named after the operating-system user that
    runs the app, role admin, no login.
``oidc``
    Streamlit's own OpenID Connect sign-in (``st.login`` / ``st.user`` / ``st.logout``),
    configured in ``.streamlit/secrets.toml`` under ``[auth]``. The user name is the claim
    named by ``DEEPRULES_AUTH_CLAIM`` (default ``email``; ``sub`` when that is absent).
``header``
    Behind a reverse proxy that authenticates (oauth2-proxy, Apache, nginx ``auth_*``): the
    user is the value of the header ``DEEPRULES_AUTH_HEADER`` (default ``X-Forwarded-User``).
    Anyone who can reach the app directly could send that header, so this mode is refused
    unless the app listens only on a loopback address or on a unix socket that other users
    of the machine cannot connect to.

Names listed in ``DEEPRULES_ADMINS`` (comma-separated) get the admin role in ``oidc`` and
``header`` modes; everyone else is a ``user``.

The decision itself (:func:`resolve`) is plain Python so it can be read and tested on its
own; :func:`require_user` feeds it what Streamlit knows about this session.
"""

from __future__ import annotations

import getpass
import ipaddress
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

__all__ = ["MODES", "Identity", "Refusal", "resolve", "require_user", "auth_mode", "listen_is_private"]

MODES = ("local", "oidc", "header")
DEFAULT_HEADER = "X-Forwarded-User"
MAX_NAME = 200
_LOG = logging.getLogger("deeprules.auth")
_IDENTITY_KEY = "deeprules.identity"


@dataclass(frozen=True)
class Identity:
    """The signed-in user of one browser session."""

    name: str
    role: str  # "admin" or "user"
    mode: str


@dataclass(frozen=True)
class Refusal:
    """Why nobody is signed in; ``message`` is shown to the visitor as it is."""

    message: str
    login: bool = False  # True: offer the OIDC sign-in button


def auth_mode(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return (env.get("DEEPRULES_AUTH") or "local").strip().lower()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _admins(env: Mapping[str, str]) -> set[str]:
    return {n.strip() for n in (env.get("DEEPRULES_ADMINS") or "").split(",") if n.strip()}


def listen_is_private(address: str | None) -> tuple[bool, str]:
    """Whether only this machine (or only the proxy) can reach an app listening on ``address``.

    Returns the answer and, when it is no, the reason in words.
    """
    if not address or address in ("0.0.0.0", "::", "[::]"):
        return False, "the app listens on every network interface (server.address is not a loopback address)"
    if address.startswith("unix://"):
        path = address[len("unix://") :]
        try:
            mode = os.stat(path).st_mode
        except OSError:
            return False, f"the unix socket {path} cannot be found"
        if mode & stat.S_IWOTH:
            return False, (
                f"every user of this machine can connect to the unix socket {path} "
                "(start the app with umask 007 so only its owner and group can)"
            )
        return True, ""
    host = address.strip("[]")
    if host == "localhost":
        return True, ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True, ""
    except ValueError:
        pass
    return False, f"the app listens on {address}, which other machines can reach"


def _clean_name(raw: str | None) -> str | None:
    if raw is None:
        return None
    name = raw.strip()
    if not name or len(name) > MAX_NAME or any(ord(ch) < 32 for ch in name):
        return None
    return name


def _one_header(headers: Mapping[str, str | list[str]], name: str) -> str | None:
    """The single value of header ``name`` (any case); None when absent or sent twice."""
    values = [v for k, v in headers.items() if k.lower() == name.lower()]
    flat = [x for v in values for x in (v if isinstance(v, list) else [v])]
    return flat[0] if len(flat) == 1 else None


def resolve(
    *,
    mode: str,
    env: Mapping[str, str],
    address: str | None = None,
    headers: Mapping[str, str | list[str]] | None = None,
    oidc_claims: Mapping[str, object] | None = None,
    local_name: str | None = None,
) -> Identity | Refusal:
    """Decide who the user of a session is, or why nobody is.

    Parameters
    ----------
    mode : {"local", "oidc", "header"}
        ``DEEPRULES_AUTH``.
    env : mapping
        The settings (``DEEPRULES_ADMINS``, ``DEEPRULES_AUTH_HEADER``, ``DEEPRULES_AUTH_CLAIM``).
    address : str, optional
        Streamlit's ``server.address`` (header mode only).
    headers : mapping, optional
        The request headers of the session (header mode); a header sent more than once
        counts as absent.
    oidc_claims : mapping, optional
        ``st.user`` (oidc mode); ``None`` or ``is_logged_in`` false when not signed in.
    local_name : str, optional
        The operating-system user (local mode).
    """
    admins = _admins(env)
    if mode == "local":
        return Identity(name=local_name or os_user(), role="admin", mode="local")
    if mode == "oidc":
        if not oidc_claims or not oidc_claims.get("is_logged_in"):
            return Refusal("Sign in with your lab account to use deeprules.", login=True)
        claim = (env.get("DEEPRULES_AUTH_CLAIM") or "email").strip()
        name = _clean_name(str(oidc_claims.get(claim) or oidc_claims.get("sub") or "")) or None
        if name is None:
            return Refusal(
                f"Your sign-in did not say who you are (no '{claim}' or 'sub' claim). "
                "Ask the administrator to check DEEPRULES_AUTH_CLAIM."
            )
        return Identity(name=name, role="admin" if name in admins else "user", mode="oidc")
    if mode == "header":
        header = (env.get("DEEPRULES_AUTH_HEADER") or DEFAULT_HEADER).strip()
        private, why = listen_is_private(address)
        if not private:
            return Refusal(
                f"Sign-in by proxy header is switched off: {why}. With DEEPRULES_AUTH=header "
                f"anyone who reaches the app directly could claim any name in {header}. Start the "
                "app with --server.address 127.0.0.1 (or a unix socket only the proxy can open) "
                "behind the lab's authenticating proxy."
            )
        name = _clean_name(_one_header(headers or {}, header))
        if name is None:
            return Refusal(
                f"The request carries no user in the {header} header. Open deeprules through "
                "the lab's sign-in proxy, not directly."
            )
        return Identity(name=name, role="admin" if name in admins else "user", mode="header")
    return Refusal(
        f"DEEPRULES_AUTH={mode!r} is not a sign-in mode. Use one of: {', '.join(MODES)} "
        "(local is the default)."
    )


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, OSError, StreamlitSecretNotFoundError):
        return False


def _nothing() -> None:
    """The only page of a visitor who is not signed in (its text is drawn by require_user)."""


def require_user() -> Identity:
    """The signed-in user of this session; otherwise explain, offer the sign-in, and stop."""
    mode = auth_mode()
    env = dict(os.environ)
    if mode == "oidc" and not _oidc_configured():
        got: Identity | Refusal = Refusal(
            "This server is set to sign in through OpenID Connect (DEEPRULES_AUTH=oidc) but its "
            ".streamlit/secrets.toml has no [auth] section. The administrator needs to add one "
            "(see the README, 'Run it for your lab')."
        )
    elif mode == "oidc":
        got = resolve(mode=mode, env=env, oidc_claims=st.user.to_dict())
    elif mode == "header":
        got = resolve(
            mode=mode,
            env=env,
            address=st.get_option("server.address"),
            headers={k: st.context.headers.get_all(k) for k in st.context.headers},
        )
    else:
        got = resolve(mode=mode, env=env)
    if isinstance(got, Refusal):
        _LOG.warning("sign-in refused (%s mode): %s", mode, got.message)
        # no page list in the sidebar for a visitor who is not signed in
        st.navigation([st.Page(_nothing, title="Sign in", url_path="signin")], position="hidden")
        st.title("deeprules")
        if got.login:
            st.write(got.message)
            st.button("Sign in", type="primary", on_click=st.login)
        else:
            st.error(got.message)
        st.stop()
    st.session_state[_IDENTITY_KEY] = got
    return got  # type: ignore[return-value]


def signed_in() -> Identity | None:
    """The identity :func:`require_user` found for this session, if any."""
    return st.session_state.get(_IDENTITY_KEY)


def sidebar_user(identity: Identity) -> None:
    """Who is signed in, and a way out where there is a sign-in."""
    with st.sidebar:
        st.text(f"Signed in as {identity.name}" + (" (admin)" if identity.role == "admin" else ""))
        if identity.mode == "oidc":
            st.button("Sign out", on_click=st.logout)
