"""The Study page's design questionnaire (Tips 4 and 10), safe to fill in while others save.

Every field has a key bound to the study (``study.design.<id>.<field>``) and is filled from
the study once, so what the user types survives any rerun of the page: their own clicks
elsewhere, another session's save, a job that finished. The save states the version the
form was filled from; a change someone else made since to the design is refused as a
conflict ("someone else changed this study; reload"), with the typed answers still in the
form, and an independent change (a new name, a step) is merged.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import streamlit as st

from deeprules_core.study import REPLICATE_KINDS, STUDY_TYPES, Design, Study
from ui import state
from ui.text import md

__all__ = ["design_form", "form_tag"]

REPLICATE_HELP = {
    "none": "one row per independent sample",
    "biological": "several biological samples, each from a different individual",
    "technical": "the same biological sample measured several times",
    "repeated_individual": "several samples from the same individual (patient, donor, animal, cell line)",
    "time_points": "the same individuals at several time points",
}
STUDY_TYPE_WORDS = {
    "observational": "Observational",
    "rct": "Randomised (RCT / randomised experiment)",
    "unknown": "Not sure",
}


def form_tag(study: Study) -> str:
    """The prefix of the design form's widget keys for ``study``."""
    return f"study.design.{study.id}"


def _answers(design: Design) -> dict[str, Any]:
    return {
        "question": design.question,
        "study_type": design.study_type,
        "replicate_kind": design.replicate_kind,
        "time_points": design.time_points,
        "matching": design.matching,
        "sensitive": design.sensitive_data,
        "ethics": design.ethics_approval,
    }


def design_form(study: Study) -> None:
    """Draw the questionnaire of ``study`` and save it through :func:`ui.state.save_study`."""
    tag = form_tag(study)
    base, filled = state.bind_form(tag, _answers(study.design), study.version)
    reload_form = partial(state.reset_form, tag)
    if base < study.version and filled != _answers(study.design):
        st.info(
            f"Someone saved new design answers (version {study.version}) after this form was "
            "filled in. Reload the form to see them; saving yours now would be refused.",
            icon=":material/sync_problem:",
        )
        st.button("Reload the form", key=f"{tag}.reload", on_click=reload_form)
    with st.form("study.design"):
        question = st.text_area("The biological question", key=f"{tag}.question")
        c1, c2 = st.columns(2)
        study_type = c1.selectbox(
            "Study type", STUDY_TYPES, format_func=STUDY_TYPE_WORDS.get, key=f"{tag}.study_type"
        )
        replicate_kind = c2.selectbox(
            "What do the rows represent?",
            REPLICATE_KINDS,
            format_func=lambda k: f"{k.replace('_', ' ')}: {REPLICATE_HELP[k]}",
            key=f"{tag}.replicate_kind",
        )
        time_points = c1.checkbox("Samples were taken at several time points", key=f"{tag}.time_points")
        matching = c2.text_input(
            "Matching (if any)",
            placeholder="e.g. cases matched to controls on age and sex",
            key=f"{tag}.matching",
        )
        sensitive = c1.checkbox(
            "The data are sensitive (patients, human genomes, anything identifying)",
            help="Tip 10: models trained on sensitive data can leak it; weight export is then refused.",
            key=f"{tag}.sensitive",
        )
        ethics = c2.text_input(
            "Ethics approval reference",
            placeholder="e.g. IRB-2021-044, or 'not required: public data'",
            key=f"{tag}.ethics",
        )
        submitted = st.form_submit_button("Save design", type="primary")
    if not submitted:
        return
    try:
        design = Design(
            question=question.strip(),
            study_type=study_type,
            replicate_kind=replicate_kind,
            time_points=time_points,
            matching=matching.strip(),
            sensitive_data=sensitive,
            ethics_approval=ethics.strip(),
        )
    except ValueError as exc:
        st.error(md(exc))
        return
    # refused (conflict, a viewer): the page says why and stops, the typed answers stay
    state.save_study(study.with_design(design), "save_design", base_version=base, on_reload=reload_form)
    reload_form()
    st.rerun()
