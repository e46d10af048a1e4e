"""deeprules: a guided, auditable path through "Ten quick tips for deep learning in biology".

Run with ``streamlit run app.py``. Pages are grouped in sections; the sidebar shows the
open study, its data and the status of each step.
"""

from __future__ import annotations

import streamlit as st

from deeprules_core.store import User
from ui import auth, state

st.set_page_config(page_title="deeprules", page_icon="🧬", layout="wide")


def _page(name: str) -> st.Page:
    path, title, icon = state.PAGES[name]
    return st.Page(path, title=title, icon=icon, url_path=name)


def _start() -> None:
    """The app's root URL: open the Study page, keeping the query (``?study=ID``).

    Streamlit serves its default page at ``/`` only, so a default Study page would leave
    the deep link ``/study`` unknown; this hidden default page sends ``/`` on instead.
    """
    st.switch_page(state.PAGES["study"][0], query_params=dict(st.query_params))


sections = {
    "": [st.Page(_start, title="Start", url_path="start", default=True, visibility="hidden")],
    "Design": [_page("study")],
    "Inspect": [_page("data"), _page("checks"), _page("confounds")],
    "Model": [
        _page("split"),
        _page("baselines"),
        _page("deep_learning"),
        _page("evaluate"),
        _page("interpret"),
    ],
    "Report": [_page("privacy"), _page("report")],
}
identity = auth.require_user()  # local, oidc or header sign-in (DEEPRULES_AUTH)
state.set_current_user(User(identity.name, identity.role))  # every query is scoped by them
state.note_sign_in(identity.mode)  # colleagues can now share a study with them by name
nav = st.navigation(sections)
auth.sidebar_user(identity)
state.sidebar_status(state.current_study())
nav.run()
