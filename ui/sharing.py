"""Who may open a study: the Study page's sharing panel and the picker's labels.

The owner (and an admin) shares the open study with a colleague as a viewer (reads it,
its results and report) or an editor (also changes and runs it), sees who has it, and
stops sharing; an admin hands a study over to another owner. Colleagues are named as the
sign-in gives their names; a name nobody has signed in with yet is shared only after the
user confirms it (a typo would otherwise go unnoticed). Every change goes through the
engine (``share_study``, ``unshare_study``, ``reassign_study``), which decides who may.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import streamlit as st

from deeprules_core.errors import DeepRulesError
from deeprules_core.store import Workspace
from deeprules_core.study import Study
from ui import state
from ui.text import md

__all__ = ["ROLE_WORDS", "study_label", "sharing_panel"]

ROLE_WORDS = {"viewer": "Viewer: reads it", "editor": "Editor: also changes and runs it"}
_A = {"viewer": "a viewer", "editor": "an editor", "admin": "an admin", "owner": "the owner"}


def study_label(item: Mapping[str, Any]) -> str:
    """A study in the picker: its name, whose it is when it is not mine, when it changed."""
    changed = str(item["updated_at"])[:16].replace("T", " ")
    access = item.get("access", "owner")
    if access in ("viewer", "editor"):
        whose = f" · shared by {item['owner']}, you are {_A[access]}"
    elif access == "admin":
        whose = f" · {item['owner']}'s study, you are an admin"
    else:
        whose = ""
    return f"{item['name']}{whose} · changed {changed}"


def _unknown_name(ws: Workspace, name: str) -> str | None:
    """Why ``name`` may be a typo (nobody by that name signed in), or None when known."""
    known = ws.known_users()
    if name in known:
        return None
    near = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    return (
        f"Nobody called “{name}” has signed in to deeprules on this server yet.{hint} Names are "
        "exactly what the sign-in gives (for example a full e-mail address). If the spelling is "
        "right and they have just not signed in yet, tick “They have not signed in yet” and press "
        "the button again."
    )


def _name_form(ws: Workspace, key: str, label: str, button: str, *, roles: bool) -> tuple[str, str] | None:
    """A form asking for a colleague's name (and a role); the name and role once confirmed."""
    with st.form(key):
        name = st.text_input(label, key=f"{key}.name", placeholder="their user name, as they sign in")
        role = "viewer"
        if roles:
            role = st.radio(
                "Role", list(ROLE_WORDS), format_func=ROLE_WORDS.get, horizontal=True, key=f"{key}.role"
            )
        anyway = st.checkbox("They have not signed in yet: go ahead anyway", key=f"{key}.anyway")
        if not st.form_submit_button(button):
            return None
    name = name.strip()
    if not name:
        st.error("Type the user name of the colleague first.")
        return None
    why = _unknown_name(ws, name)
    if why and not anyway:
        st.warning(md(why), icon=":material/person_search:")
        return None
    return name, str(role)


def _done(message: str) -> None:
    state.set_note("sharing", message)
    st.rerun()


def sharing_panel(ws: Workspace, study: Study, access: str) -> None:
    """Who may open ``study``; sharing controls for its owner and admins.

    ``access`` is this user's relation to the study (``ws.access``).
    """
    owner = ws.study_owner(study.id)
    shares = ws.study_shares(study.id)
    st.subheader("Who can open this study")
    if done := state.take_note("sharing"):
        st.success(md(done), icon=":material/check:")
    if access in ("viewer", "editor"):
        st.markdown(
            f"It belongs to **{md(owner)}**, who shared it with you as {_A[access]}. Only they (or an "
            "admin) can share it with others or stop sharing it."
        )
    else:
        st.markdown(f"Owner: **{md(owner)}**" + (" (you)" if owner == ws.user.name else ""))
    if not shares:
        st.caption("Nobody else: it is shared with no one (admins of this server can see every study).")
    for grantee, role in sorted(shares.items()):
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.markdown(f"**{md(grantee)}** · {ROLE_WORDS[role]}")
        if access in ("owner", "admin") and right.button(
            "Stop sharing", key=f"sharing.{study.id}.remove.{grantee}"
        ):
            try:
                ws.unshare_study(study.id, grantee)
            except DeepRulesError as exc:
                st.error(md(exc))
            else:
                _done(f"{grantee} can no longer open this study.")
    if access not in ("owner", "admin"):
        return
    got = _name_form(ws, f"sharing.{study.id}.share", "Share with", "Share", roles=True)
    if got is not None:
        name, role = got
        try:
            ws.share_study(study.id, name, role)
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            _done(f"Shared with {name} as {_A[role]}. They find it in their list of studies.")
    if ws.user.is_admin:  # on every study, their own included
        with st.expander("Hand this study over to another owner (admins only)"):
            got = _name_form(ws, f"sharing.{study.id}.reassign", "New owner", "Hand over", roles=False)
            if got is not None:
                try:
                    ws.reassign_study(study.id, got[0])
                except DeepRulesError as exc:
                    st.error(md(exc))
                else:
                    _done(f"{got[0]} now owns this study.")
