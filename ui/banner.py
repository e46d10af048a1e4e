"""The carry-forward banner: the study's open errors from earlier steps, on every
modelling page, each with a link to the page where it was found."""

from __future__ import annotations

import streamlit as st

from deeprules_core.steps import open_errors, out_of_date_steps
from deeprules_core.store import step_title
from deeprules_core.study import Study

from . import state


def _title(code: str) -> str:
    from deeprules_core import names

    title = getattr(names, "finding_title", None)  # plain-words titles, where they exist
    return str(title(code)) if title else code.replace("_", " ").capitalize()


def _first_sentence(text: str) -> str:
    head = text.split(". ")[0].rstrip(".")
    return head + "."


def out_of_date_banner(study: Study, *, page: str) -> int:
    """Say which steps up to ``page`` ran on inputs the study no longer has (earlier column
    roles, table, design or split), each with a link to re-run it; return how many."""
    stale = out_of_date_steps(state.workspace(), study.id, page=page)
    if not stale:
        return 0
    with st.container(border=True, key=f"{page}.out_of_date"):
        st.warning(
            "**Out of date.** " + " ".join(o.message for o in stale) + " Their earlier findings and results "
            "no longer count.",
            icon=":material/update:",
        )
        for o in stale:
            if o.step in state.PAGES and o.step != page:
                state.link(o.step, f"Open {step_title(o.step)}")
    return len(stale)


def open_errors_banner(study: Study, *, page: str) -> int:
    """Show which earlier steps are out of date (:func:`out_of_date_banner`) and the study's
    open (unacknowledged) errors of the steps before ``page`` in one compact banner; return
    how many errors there are."""
    out_of_date_banner(study, page=page)
    entries = open_errors(state.workspace(), study.id, page=page)
    if not entries:
        return 0
    lines = [
        f"- **{_title(e.finding.code)}**"
        + (f" ({', '.join(e.finding.columns[:4])})" if e.finding.columns else "")
        + f", found on *{step_title(e.step)}*: {_first_sentence(e.finding.message)}"
        for e in entries
    ]
    n = len(entries)
    with st.container(border=True, key=f"{page}.open_errors"):
        st.error(
            f"**{n} open error{'s' if n != 1 else ''} from earlier steps.** "
            "Results on this page would be wrong to publish until "
            + ("it is" if n == 1 else "they are")
            + " fixed, or acknowledged with a written reason where "
            + ("it was" if n == 1 else "they were")
            + " found.\n"
            + "\n".join(lines),
            icon=":material/error:",
        )
        for step in dict.fromkeys(e.step for e in entries):
            if step in state.PAGES:
                state.link(step, f"Open {step_title(step)}")
    return n


def results_not_shown(study: Study, *, steps: tuple[str, ...]) -> bool:
    """When any of ``steps`` ran on inputs the study no longer has, say that its results
    are not shown (the out-of-date banner above names each step to re-run, with its link)
    and return True."""
    from deeprules_core.current import out_of_date

    stale = [o for s, o in out_of_date(study).items() if s in steps]
    if not stale:
        return False
    st.info(
        "Results computed on earlier inputs are not shown: re-run the out-of-date steps above, in order.",
        icon=":material/update:",
    )
    return True
