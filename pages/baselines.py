"""Baselines: traditional models, tuned as hard as the deep model will be (Tips 2 and 6)."""

from __future__ import annotations

import streamlit as st

from deeprules_core import jobs
from deeprules_core.current import MODEL_STEPS
from deeprules_core.errors import DeepRulesError
from deeprules_core.modeling import BASELINE_FAMILIES, FAMILIES
from deeprules_core.steps import correction_rule, study_headline
from ui import modeling, state
from ui.banner import open_errors_banner, results_not_shown
from ui.jobs import job_panel
from ui.text import md

st.title("Baselines")
st.caption(
    "A deep model is only worth its cost if it beats simple models that were tuned just as hard (Tip 2). "
    "Every family gets the same number of tuning trials, on the group-aware cross-validation folds of the "
    "training side; the tune side scores them; the test side stays locked."
)

study, df = state.require_table()
ws = state.workspace()
open_errors_banner(study, page="baselines")
try:
    split = modeling.current_split(ws, study)
except DeepRulesError as exc:
    st.error(md(exc))
    st.stop()
if split is None:
    st.info("Make the replicate-aware split first: the baselines are tuned and scored on its sides.")
    state.link("split", "Make the split")
    st.stop()

# the form starts from the last run's settings, so the page shows what produced its results
results_error: DeepRulesError | None = None
try:
    last = modeling.last_settings(ws, study)
    results = modeling.load_results(ws, study)
except DeepRulesError as exc:
    last, results, results_error = {}, None, exc
ran = [m for m, e in (last.get("models") or {}).items() if e.get("kind") != "deep" and m in BASELINE_FAMILIES]
last_ctrl = (last.get("controls") or {}).get("shuffled_label") or {}

with st.form("baselines.form"):
    models = st.multiselect(
        "Models",
        list(BASELINE_FAMILIES),
        default=ran or list(BASELINE_FAMILIES),
        format_func=lambda m: FAMILIES[m].label,
        key="baselines.models",
    )
    c1, c2, c3 = st.columns(3)
    budget = c1.number_input(
        "Tuning trials per model family",
        min_value=1,
        max_value=500,
        value=int(last.get("budget") or 20),
        key="baselines.budget",
        help="The same for every family (the deep model should get the same number).",
    )
    n_shuffles = c2.number_input(
        "Shuffled-label repetitions",
        min_value=0,
        max_value=500,
        value=int(last_ctrl.get("n_shuffles") or 20),
        key="baselines.n_shuffles",
        help="Permutations of the labels (each cross-validates the whole pipeline). At least 20, or the p-value cannot fall below 0.05 and the control is inconclusive.",
    )
    n_boot = c3.number_input(
        "Bootstrap resamples",
        min_value=0,
        max_value=10000,
        value=int(last.get("n_boot") if last.get("n_boot") is not None else 1000),
        step=100,
        key="baselines.n_boot",
    )
    # the confounds step's rule: correction is refused where a batch goes with the label
    refused = [v["reason"] for v in correction_rule(study, df).values() if not v["allowed"]]
    batch_correct = st.checkbox(
        "Correct for batch inside every pipeline (fitted on training rows only)",
        value=False,
        key="baselines.batch_correct",
        disabled=not study.roles.batch or bool(refused),
        help="Needs a batch column (Data page)." if not refused else refused[0],
    )
    for reason in refused:
        st.caption(reason)
    seed = st.number_input("Seed", min_value=0, value=int(last.get("seed") or 0), key="baselines.seed")
    start = st.form_submit_button("Start the baselines", type="primary")

if start:
    if not models:
        st.error("Choose at least one model.")
    else:
        try:
            jobs.submit(
                ws,
                target="deeprules_core.modeling.jobs:baselines_job",
                kind="baselines",
                params={
                    "models": models,
                    "budget": int(budget),
                    "seed": int(seed),
                    "n_shuffles": int(n_shuffles),
                    "n_boot": int(n_boot),
                    "batch_correct": bool(batch_correct),
                },
                study_id=study.id,
            )
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            st.rerun()

previous = jobs.list_jobs(ws, study.id, kind="baselines")
if previous:
    st.subheader("Latest run")
    job_panel(previous[0].id, key="baselines.job")

if results_error is not None:
    st.error(md(results_error))
if results is None:
    if not results_not_shown(study, steps=MODEL_STEPS):
        st.info("No baseline results yet. Choose the models and start them above.")
    st.stop()

st.subheader("Comparison")
st.markdown(f"**{md(study_headline(ws, study, results))}**")
if results.get("split_sha256") != split.sha256:
    st.warning("These results were computed on an earlier split. Run the baselines again.")
st.dataframe(modeling.comparison_table(results), hide_index=True, width="stretch")
st.caption(
    f"Budget: {results['budget']} trials per family · seed {results['seed']} · "
    f"CV: {results.get('cv', {}).get('source', '')} · ★ = selected: the best score on the tune side, "
    "which every model shares (hyper-parameters were tuned by CV on the training side). "
    "Intervals are 95% bootstrap intervals that resample whole groups."
)
chart = modeling.trials_chart(results)
if chart is not None:
    st.altair_chart(chart, width="stretch")
state.link("evaluate", "Evaluate: metric panel, controls and the locked test set")
