"""deeprules: a guided, auditable path through "Ten quick tips for deep learning in biology".

Run with ``streamlit run app.py``. Pages are grouped in sections; the sidebar shows the
open study, its data and the status of each step.
"""

from __future__ import annotations

import streamlit as st

from ui import state

st.set_page_config(page_title="deeprules", page_icon="🧬", layout="wide")


def _page(name: str, *, default: bool = False) -> st.Page:
    path, title, icon = state.PAGES[name]
    return st.Page(path, title=title, icon=icon, default=default, url_path=name)


sections = {
    "Design": [_page("study", default=True)],
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
nav = st.navigation(sections)
state.sidebar_status(state.current_study())
nav.run()
