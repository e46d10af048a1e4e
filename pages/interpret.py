"""Interpret: which features drive the predictions, and a guard against over-reading them (Tips 8, 9)."""

from __future__ import annotations

import streamlit as st

from deeprules_core import jobs
from deeprules_core.current import MODEL_STEPS
from deeprules_core.errors import DeepRulesError
from deeprules_core.findings import Finding
from deeprules_core.interpret import NOT_CAUSAL_CAVEAT
from deeprules_core.interpret.jobs import (
    ARTIFACT_KIND,
    ARTIFACT_NAME,
    default_models,
    primary_ranking,
)
from deeprules_core.modeling import current_results
from deeprules_core.names import model_label
from ui import interpret as view
from ui import state
from ui.banner import open_errors_banner, results_not_shown
from ui.findings import show_findings
from ui.jobs import job_panel
from ui.text import md

st.title("Interpret")
st.caption(
    "Tip 8: find the features that drive the predictions, for the whole tune set and for one sample, "
    "and check whether the models agree. Tip 9: do not over-interpret them."
)
st.info(NOT_CAUSAL_CAVEAT, icon=":material/warning:")

study, df = state.require_table()
ws = state.workspace()
open_errors_banner(study, page="interpret")
results = current_results(ws, study)
if not results or not results.get("models"):
    if not results_not_shown(study, steps=MODEL_STEPS):  # the banner above links each step to re-run
        st.info("There are no trained models yet. Train the baselines (and the deep model) first.")
        state.link("baselines", "Train the baselines")
    st.stop()

names = list(results["models"])
with st.form("interpret.form"):
    chosen = st.multiselect(
        "Models to interpret",
        names,
        default=default_models(results),
        key="interpret.models",
        help="Each is refitted on the training side (a saved deep model is reloaded) and explained on the "
        "tune side; the locked test set is never used.",
    )
    c1, c2 = st.columns(2)
    n_repeats = c1.number_input(
        "Shuffles per feature", min_value=2, max_value=100, value=10, key="interpret.n_repeats"
    )
    seed = c2.number_input("Seed", min_value=0, value=int(results.get("seed", 0)), key="interpret.seed")
    start = st.form_submit_button("Compute the interpretation", type="primary")

if start:
    if not chosen:
        st.error("Choose at least one model.")
    else:
        try:
            jobs.submit(
                ws,
                target="deeprules_core.interpret.jobs:interpret_job",
                kind="interpret",
                params={"models": chosen, "n_repeats": int(n_repeats), "seed": int(seed)},
                study_id=study.id,
            )
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            st.rerun()

previous = jobs.list_jobs(ws, study.id, kind="interpret")
if previous:
    st.subheader("Latest run")
    job_panel(previous[0].id, key="interpret.job")

if results_not_shown(study, steps=("interpret",)):
    st.stop()
interp = ws.get_json(study.id, ARTIFACT_KIND, ARTIFACT_NAME)
if not interp:
    st.info("No interpretation yet. Choose the models and compute it above.")
    st.stop()
if results.get("split_sha256") and interp.get("split_sha256") != results.get("split_sha256"):
    st.warning("This interpretation was computed for models trained on another split. Compute it again.")

options = view.model_options(interp)
name = st.selectbox("Model", options, format_func=model_label, key="interpret.model")
entry = interp["models"][name]
rankings = {n: primary_ranking(e) for n, e in interp["models"].items()}

tab_global, tab_agree, tab_one, *tab_seq = st.tabs(
    ["Global importance", "Agreement", "One sample"] + (["Sequence map"] if entry.get("sequence") else [])
)

with tab_global:
    for key in ("attributions", "global", "coefficients"):
        block = entry.get(key)
        if not block:
            continue
        chart = view.importance_chart(block, title=view.METHOD_LABELS.get(block.get("method"), key))
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        if key == "global":
            st.caption(
                f"Importance = how much the {view.score_text(block)} of the {block.get('n_rows')} tune rows "
                f"worsens when the feature is shuffled; {block.get('n_repeats')} shuffles per feature"
                + (", moving whole groups (individuals)" if block.get("group_aware") else "")
                + f". Bars: mean drop of the score; lines: {block.get('interval')}."
                + (
                    f" {block['screened_out']} features were not permuted (pre-screen)."
                    if block.get("screened_out")
                    else ""
                )
            )
        elif key == "attributions":
            st.caption(
                f"Baseline: {block.get('baseline')}; {block.get('n_steps')} integration steps; convergence "
                f"delta {block.get('relative_delta', 0):.1%} of the output change; lines: 95% bootstrap over samples."
            )
            if block.get("warning"):
                st.warning(md(block["warning"]))
        elif key == "coefficients":
            st.caption(
                "Coefficients of the linear model"
                + (" on standardised features" if block.get("standardized") else "")
                + ": the sign says in which direction the feature pushes the prediction."
            )

with tab_agree:
    pairs = [a for a in interp.get("agreement", []) if name in (a["a"], a["b"])] or interp.get(
        "agreement", []
    )
    if not pairs:
        st.info("Interpret at least two models to compare their rankings.")
    else:
        labels = [f"{model_label(p['a'])} vs {model_label(p['b'])}" for p in pairs]
        i = st.selectbox("Compare", range(len(pairs)), format_func=labels.__getitem__, key="interpret.pair")
        pair = pairs[i]
        c1, c2, c3 = st.columns(3)
        rho = pair.get("spearman")
        c1.metric("Spearman ρ (shared features)", "—" if rho is None else f"{rho:.2f}")
        c2.metric(f"Top-{pair['top']} overlap", f"{pair['overlap']} of {pair['top']}")
        c3.metric("Jaccard index", "—" if pair.get("jaccard") is None else f"{pair['jaccard']:.2f}")
        chart = view.agreement_chart(interp, pair["a"], pair["b"], rankings=rankings, top=pair["top"] or 10)
        if chart is not None:
            st.altair_chart(chart, width="content")
        st.caption(
            "Deep models are ranked by integrated gradients, the others by permutation importance. Features "
            "that both rank high are more trustworthy than those only one model uses, but agreement is still "
            "not causation."
        )

with tab_one:
    local = entry.get("local") or {}
    samples = local.get("samples") or {}
    if not samples:
        st.info("No one-sample view for this model.")
    else:
        sid = st.selectbox("Sample (tune side)", list(samples), key="interpret.sample")
        sample = samples[sid]
        output = local.get("output", "prediction")
        if sample.get("prediction") is not None:
            st.markdown(f"Model output ({output}): **{sample['prediction']:.3f}**")
        chart = view.local_chart(sample, output=output)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        st.dataframe(view.local_frame(sample), hide_index=True, width="stretch")
        st.caption(
            "Occlusion: each feature in turn is set to its training median and the change of the output is its "
            f"contribution ({local.get('n_features', '')} most important features)."
            if local.get("method") == "occlusion"
            else "Integrated gradients from the training mean (or an empty sequence): the contributions add up "
            "to the change of the output between that reference and this sample."
        )

if tab_seq:
    with tab_seq[0]:
        seqs = entry["sequence"]["samples"]
        sid = st.selectbox("Sample", list(seqs), key="interpret.seq_sample")
        s = seqs[sid]
        length = len(s["sequence"])
        lo, hi = (
            st.slider("Positions", 1, max(length, 2), (1, min(length, 80)), key="interpret.seq_window")
            if length > 1
            else (1, 1)
        )
        st.altair_chart(view.logo_chart(s["sequence"], s["attribution"], window=(lo, hi)), width="stretch")
        st.caption(
            "Letters are scaled by their attribution: above the line they push towards the target class."
        )

st.subheader("Over-interpretation guard")
st.caption(
    "Tip 9: is a top feature a stand-in for a batch or a covariate? Each model's top features are tested "
    "against every batch and covariate column."
)
show_findings([Finding.from_dict(f) for f in interp.get("findings", [])], study=study, key="interpret")
state.link("report", "Write the report")
