"""The one module that touches ``st.session_state``.

It holds which study is open (also kept in the URL as ``?study=ID`` so a reload or a
new tab finds it again), opens the workspace once per server, and loads tables through
a cache keyed on the dataset id (the dataset's content never changes under its id).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from deeprules_core.errors import ConflictError, DeepRulesError, ForbiddenError, NotFoundError
from deeprules_core.names import step_label
from deeprules_core.store import STEP_ORDER, User, Workspace, default_home
from deeprules_core.study import Study
from ui import auth
from ui.text import md

_STUDY_KEY = "deeprules.study_id"
_USER_KEY = "deeprules.user"
_SEEN_KEY = "deeprules.seen_versions"  # {study id: version the page showed in the last run}
_BASE_KEY = "deeprules.base_versions"  # {study id: version this run's input was based on}
_FORMS_KEY = "deeprules.forms"  # {form tag: (version, values) its keyed widgets were filled from}
_SIGNED_KEY = "deeprules.signed_in"  # the name whose sign-in this session has recorded
_LOG = logging.getLogger("deeprules.app")


def _leave_pages_directory_mode() -> None:
    """Make a deep link on a fresh server go through app.py.

    The layout asks for a ``pages/`` folder, and Streamlit treats such a folder as the old
    (v1) multipage app until some session has called ``st.navigation``: a first visit to
    ``/checks`` would run the page alone, without the app's navigation and sidebar. The
    flag is process-wide; clearing it and rerunning once sends this and every later run
    through ``app.py``.

    The flag is cleared when this module is imported, but the rerun waits for the first
    call of :func:`workspace` or :func:`current_study` (every page makes one): a rerun
    raised while the module is being imported made the import fail for another session
    importing it at the same moment (seen with 20 sessions on a freshly started server).
    """
    global _RERUN_PENDING
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the flag has no such mode
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        _RERUN_PENDING = True


def _rerun_if_pending() -> None:
    global _RERUN_PENDING
    if _RERUN_PENDING:
        _RERUN_PENDING = False
        st.rerun()


_RERUN_PENDING = False
_leave_pages_directory_mode()

PAGES = {
    "study": ("pages/study.py", "Study", ":material/science:"),
    "data": ("pages/data.py", "Data", ":material/table:"),
    "checks": ("pages/checks.py", "Checks", ":material/fact_check:"),
    "confounds": ("pages/confounds.py", "Batch & confounds", ":material/scatter_plot:"),
    "split": ("pages/split.py", "Split", ":material/call_split:"),
    "baselines": ("pages/baselines.py", "Baselines", ":material/stacked_line_chart:"),
    "deep_learning": ("pages/deep_learning.py", "Deep learning", ":material/hub:"),
    "evaluate": ("pages/evaluate.py", "Evaluate", ":material/query_stats:"),
    "interpret": ("pages/interpret.py", "Interpret", ":material/lightbulb:"),
    "privacy": ("pages/privacy.py", "Privacy", ":material/shield_lock:"),
    "report": ("pages/report.py", "Report", ":material/picture_as_pdf:"),
}


@st.cache_resource(show_spinner=False)
def _open_workspace(home: str, db_url: str | None) -> Workspace:
    # One per server, shared by every session (st.cache_resource is): it holds the database
    # connections, and each session sees it through workspace() as its own user only.
    return Workspace(home, db_url=db_url)


def current_user() -> User:
    """Who is signed in to this session: what app.py's sign-in found (:func:`set_current_user`);
    for a page run on its own, the sign-in of ``DEEPRULES_AUTH`` (local mode: the
    operating-system user, admin of their own laptop), which stops the page when nobody is."""
    user = st.session_state.get(_USER_KEY)
    if isinstance(user, User):
        return user
    identity = auth.require_user()
    return User(identity.name, identity.role)


def set_current_user(user: User) -> None:
    st.session_state[_USER_KEY] = user


def note_sign_in(mode: str) -> None:
    """Record once per session that the user signed in, so colleagues can share with them.

    A database that cannot be reached is not this function's to report (the page says so
    when it opens the workspace); the sign-in is recorded on a later run instead.
    """
    user = current_user()
    if st.session_state.get(_SIGNED_KEY) == user.name:
        return
    try:
        _open_workspace(str(default_home()), os.environ.get("DEEPRULES_DB_URL")).as_user(user).record_sign_in(
            mode
        )
    except DeepRulesError as exc:
        _LOG.warning("could not record the sign-in of %s: %s", user.name, exc)
        return
    st.session_state[_SIGNED_KEY] = user.name


def user_name() -> str:
    """The name of the signed-in user."""
    return current_user().name


def workspace() -> Workspace:
    """The workspace of this server (``DEEPRULES_HOME`` / ``DEEPRULES_DB_URL``) as the
    signed-in user sees it: every query is scoped by them.

    When the database cannot be opened the visitor is told so in words, without the
    database URL or a traceback (the details go to the server log), and the page stops.
    """
    _rerun_if_pending()
    try:
        base = _open_workspace(str(default_home()), os.environ.get("DEEPRULES_DB_URL"))
    except DeepRulesError as exc:
        _LOG.error("cannot open the workspace: %s", exc)
        st.error(
            "deeprules cannot reach its workspace database right now, so nothing can be shown "
            "or saved. Try again in a minute; if it persists, tell the administrator of this "
            "server (the details are in the server's log)."
        )
        st.stop()
        raise  # st.stop() does not return; this keeps type checkers content
    return base.as_user(current_user())


def current_study() -> Study | None:
    """The open study, or None. Survives reloads through the ``study`` query parameter."""
    _rerun_if_pending()
    study_id = st.session_state.get(_STUDY_KEY) or st.query_params.get("study")
    if not study_id:
        return None
    try:
        study = workspace().get_study(study_id)
    except DeepRulesError:
        set_current_study(None)
        return None
    st.session_state[_STUDY_KEY] = study.id
    _note_seen(study)
    if st.query_params.get("study") != study.id:
        # the sidebar's links drop the query: put the study back into the URL, so that a
        # reload (or a copied link) after moving between pages still opens it
        st.query_params["study"] = study.id
    return study


def _new_run() -> bool:
    """True on the first call in each script run (Streamlit gives every run new cursors)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return True
    if getattr(ctx, "_deeprules_cursors", None) is ctx.cursors:
        return False
    ctx._deeprules_cursors = ctx.cursors  # type: ignore[attr-defined]
    return True


def _note_seen(study: Study) -> None:
    """Remember which version the user was looking at: what they type in this run was
    based on the version the previous run showed, not on one someone saved since."""
    seen: dict[str, int] = st.session_state.setdefault(_SEEN_KEY, {})
    base: dict[str, int] = st.session_state.setdefault(_BASE_KEY, {})
    if _new_run():
        base.clear()
    if study.id not in base:
        base[study.id] = seen.get(study.id, study.version)
    seen[study.id] = study.version


def set_current_study(study_id: str | None) -> None:
    if study_id:
        st.session_state[_STUDY_KEY] = study_id
        st.query_params["study"] = study_id
    else:
        st.session_state.pop(_STUDY_KEY, None)
        st.query_params.pop("study", None)


CONFLICT_MESSAGE = (
    "Someone else changed this study after you opened it, and your change touches the same "
    "part of it, so it was not saved (nothing of theirs or yours is lost). Reload the study "
    "to see their version, then make your change again."
)


def save_study(
    study: Study,
    action: str,
    detail: Mapping[str, Any] | None = None,
    *,
    base_version: int | None = None,
    on_reload: Callable[[], None] | None = None,
) -> Study:
    """Save a new version of the study (the store keeps every version) and log it.

    A change made on top of a newer version by someone else is merged when independent;
    when it is not, the page says so, offers a reload, and stops (nothing is saved). A user
    who may not change the study (a viewer) reads why, and the page stops.

    ``base_version`` is the version the user's input was made on (a form filled from an
    older version than the page shows now); ``on_reload`` runs when they choose to reload
    after a conflict (a form then fills itself from the newest version).
    """
    base = base_version or st.session_state.get(_BASE_KEY, {}).get(study.id)
    if base and 0 < base < study.version:
        study = replace(study, version=base)  # the user's input was made on that version
    try:
        saved = workspace().save_study(study, action=action, detail=detail)
    except ConflictError:
        kept = " What you typed is still in the form: copy it before you reload." if on_reload else ""
        st.warning(CONFLICT_MESSAGE + kept, icon=":material/sync_problem:")
        if st.button("Reload the study", key="deeprules.reload_after_conflict", on_click=on_reload):
            st.rerun()
        st.stop()
    except (ForbiddenError, NotFoundError) as exc:
        st.error(md(exc), icon=":material/lock:")
        st.stop()
    set_current_study(saved.id)
    st.session_state.setdefault(_SEEN_KEY, {})[saved.id] = saved.version
    st.session_state.setdefault(_BASE_KEY, {})[saved.id] = saved.version
    return saved


def bind_form(tag: str, values: Mapping[str, Any], version: int) -> tuple[int, dict[str, Any]]:
    """Fill the keyed widgets ``{tag}.{field}`` from ``values`` once, and keep what the user
    types in them across reruns (another session's save, a job finishing) until
    :func:`reset_form`.

    Returns the study version the form was filled from and the values it was filled with:
    a save states that version, so a change someone made since is merged or refused, never
    overwritten. Call before the widgets are drawn. Widgets Streamlit dropped (the user
    went to another page) are filled again from ``values``.
    """
    forms: dict[str, tuple[int, dict[str, Any]]] = st.session_state.setdefault(_FORMS_KEY, {})
    keys = {f"{tag}.{field}": value for field, value in values.items()}
    if tag not in forms or any(k not in st.session_state for k in keys):
        for key, value in keys.items():
            st.session_state[key] = value
        forms[tag] = (version, dict(values))
    return forms[tag]


def reset_form(tag: str) -> None:
    """Fill the form ``tag`` from the study again on the next run (after a save or a reload)."""
    st.session_state.setdefault(_FORMS_KEY, {}).pop(tag, None)


@st.cache_resource(show_spinner="Loading the table…", max_entries=4)
def _load_table(home: str, db_url: str | None, dataset_id: str) -> pd.DataFrame:
    from deeprules_core.intake import load_dataset

    return load_dataset(_open_workspace(home, db_url), dataset_id)


def load_table(dataset_id: str) -> pd.DataFrame:
    """The parsed table of a dataset, from the Parquet cache. Shared: do not modify it.

    The in-memory cache is shared by every session, so this user's access is checked first.
    """
    from deeprules_core.intake import dataset_info

    dataset_info(workspace(), dataset_id)  # NotFoundError for a dataset this user may not see
    return _load_table(str(default_home()), os.environ.get("DEEPRULES_DB_URL"), dataset_id)


def set_flag(key: str) -> None:
    """Remember for the next run of the script that something happened (e.g. a test evaluation)."""
    st.session_state[f"flag.{key}"] = True


def take_flag(key: str) -> bool:
    """Whether ``set_flag(key)`` was called since the last ``take_flag(key)``; clears it."""
    return bool(st.session_state.pop(f"flag.{key}", False))


def set_note(key: str, text: str) -> None:
    """A sentence to show on the next run of the script (what a click did, before a rerun)."""
    st.session_state[f"note.{key}"] = text


def take_note(key: str) -> str | None:
    """The sentence :func:`set_note` left for this run, if any; clears it."""
    return st.session_state.pop(f"note.{key}", None)


def set_widget(key: str, value: Any) -> None:
    """Preset a widget's value; call before the widget is drawn in this run."""
    st.session_state[key] = value


def link(page: str, label: str | None = None) -> None:
    """A link to another page; plain text when the page runs on its own (tests)."""
    path, title, icon = PAGES[page]
    try:
        st.page_link(path, label=label or f"Go to {title}", icon=icon)
    except (StreamlitAPIException, KeyError):
        st.markdown(f"→ **{label or title}** (page *{title}* in the sidebar)")


def require_study() -> Study:
    """The open study; otherwise a message with a link to the Study page, and stop."""
    study = current_study()
    if study is None:
        st.info("No study is open. Create a study or open one first: every result is recorded in it.")
        link("study", "Create or open a study")
        st.stop()
    sensitive_badge(study)  # type: ignore[arg-type]
    access_note(study)  # type: ignore[arg-type]
    return study  # type: ignore[return-value]


def access_note(study: Study) -> str:
    """Say whose study this is when it is someone else's; return this user's access."""
    try:
        access = workspace().access(study.id)
        owner = workspace().study_owner(study.id) if access != "owner" else ""
    except DeepRulesError:
        return "none"
    if access == "viewer":
        st.info(
            f"{md(owner)} shared this study with you to read. You can open every page and its "
            "results; changes, runs and exports are refused. Ask them for editor access to work on it.",
            icon=":material/visibility:",
        )
    elif access == "editor":
        st.caption(f":material/group: {md(owner)}'s study, shared with you as an editor.")
    elif access == "admin":
        st.caption(f":material/admin_panel_settings: {md(owner)}'s study; you see it as an admin.")
    return access


SENSITIVE_BADGE = "Sensitive data: models that memorise rows are not exported"


def sensitive_badge(study: Study) -> None:
    """A small badge on every page of a sensitive study (Tip 10)."""
    if study.design.sensitive_data:
        st.badge(SENSITIVE_BADGE, icon=":material/lock:", color="red")


def require_table(*, need_label: bool = True) -> tuple[Study, pd.DataFrame]:
    """The open study and its table; otherwise say what is missing, link to it, and stop."""
    study = require_study()
    if study.dataset is None:
        st.info(f"The study **{md(study.name)}** has no data yet. Load a table (or a sample dataset) first.")
        link("data", "Load data")
        st.stop()
    try:
        df = load_table(study.dataset.dataset_id)  # type: ignore[union-attr]
    except DeepRulesError as exc:
        st.error(md(exc))
        link("data", "Load the data again")
        st.stop()
    if need_label and not study.roles.label:
        st.info("Tell deeprules which column is the label (the outcome to predict) on the Data page.")
        link("data", "Set column roles")
        st.stop()
    return study, df


def sidebar_status(study: Study | None) -> None:
    """Current study, dataset and each step's status, in the sidebar."""
    with st.sidebar:
        if study is None:
            st.caption("No study open.")
            return
        st.markdown(f"**Study:** {md(study.name)}")
        if study.design.sensitive_data:
            st.caption(
                ":material/lock: Sensitive data: export of memorising models is locked (Privacy page)."
            )
        ds = study.dataset
        st.caption(f"Data: {md(ds.name)} · sha256 {ds.sha256[:10]}…" if ds else "Data: none yet")
        from deeprules_core.current import out_of_date

        stale = out_of_date(study)
        lines = []
        for step in STEP_ORDER:
            label = step_label(step)
            if step in stale:  # ran on inputs the study no longer has: not done
                lines.append(f":material/update: {label} (out of date)")
                continue
            done = study.step(step) is not None
            icon = ":material/check_circle:" if done else ":material/radio_button_unchecked:"
            lines.append(f"{icon} {label}")
        st.markdown("  \n".join(lines))
