"""Deep learning: the architecture chosen by the data, a systematic search with the
baselines' budget, reproducible training with several seeds (Tips 3, 5, 6, 7)."""

from __future__ import annotations

import streamlit as st

from deeprules_core import jobs
from deeprules_core.deep import suggest_architecture
from deeprules_core.errors import DeepRulesError
from deeprules_core.findings import Finding
from ui import deep as ui_deep
from ui import modeling, state
from ui.banner import open_errors_banner, results_not_shown
from ui.findings import show_findings
from ui.jobs import job_panel
from ui.text import md

st.title("Deep learning")
st.caption(
    "The data choose the network: a multilayer perceptron for unordered measurements, a 1D "
    "convolutional network for DNA, RNA or protein sequences (Tip 5). Its hyper-parameters are searched "
    "with the same number of trials as the baselines (Tips 2 and 6); early stopping, dropout and weight "
    "decay fight overfitting, and the shuffled-label control checks that it learned something (Tip 7). "
    "Seeds and deterministic settings are recorded, and the chosen configuration is trained with "
    "several seeds (Tip 3)."
)

study, df = state.require_table()
ws = state.workspace()
open_errors_banner(study, page="deep_learning")
try:
    split = modeling.current_split(ws, study)
except DeepRulesError as exc:
    st.error(md(exc))
    st.stop()
if split is None:
    st.info("Make the replicate-aware split first: the deep model is trained and judged on its sides.")
    state.link("split", "Make the split")
    st.stop()

kinds = ["auto", "mlp", "cnn"] if study.roles.sequence else ["auto", "mlp"]
kind = st.radio(
    "Architecture",
    kinds,
    format_func={"auto": "Suggested", "mlp": "MLP", "cnn": "1D CNN"}.get,
    horizontal=True,
    key="deep.kind",
)
try:
    choice = suggest_architecture(df, study.roles, kind=kind)
except DeepRulesError as exc:
    st.error(md(exc))
    st.stop()
st.info(f"**{choice.kind.upper()}**: {md(choice.reason)}")
st.caption(
    f"Starting network: {choice.n_params:,} trainable parameters for {choice.n_samples:,} labelled samples."
)
if choice.warning:
    st.warning(md(choice.warning))

baselines = ws.get_json(study.id, "results", "baselines")
default_budget = int(baselines["budget"]) if baselines and baselines.get("budget") else 20
with st.form("deep.form"):
    c1, c2, c3 = st.columns(3)
    budget = c1.number_input(
        "Search trials",
        min_value=1,
        max_value=500,
        value=default_budget,
        key="deep.budget",
        help="Give the deep model the same number of trials as each baseline family (Tip 2).",
    )
    max_epochs = c2.number_input("Max epochs", min_value=1, max_value=2000, value=100, key="deep.max_epochs")
    n_seeds = c3.number_input(
        "Seeds of the final configuration", min_value=1, max_value=20, value=3, key="deep.n_seeds"
    )
    c4, c5, c6 = st.columns(3)
    n_shuffles = c4.number_input(
        "Shuffled-label permutations",
        min_value=0,
        max_value=200,
        value=20,
        key="deep.n_shuffles",
        help="Each permutation retrains the chosen network on a few folds for a fixed number of "
        "epochs (a cheaper schedule than the search). At least 20, or the control is inconclusive.",
    )
    n_boot = c5.number_input(
        "Bootstrap resamples", min_value=0, max_value=10000, value=1000, step=100, key="deep.n_boot"
    )
    seed = c6.number_input("Seed", min_value=0, value=0, key="deep.seed")
    start = st.form_submit_button("Start training", type="primary")
st.caption(
    f"The baselines had {default_budget} trials per family."
    if baselines
    else "No baseline results yet: run the baselines too, with the same budget, to compare fairly."
)

if start:
    try:
        jobs.submit(
            ws,
            target="deeprules_core.deep.jobs:deep_job",
            kind="deep_learning",
            params={
                "kind": kind,
                "budget": int(budget),
                "max_epochs": int(max_epochs),
                "n_seeds": int(n_seeds),
                "n_shuffles": int(n_shuffles),
                "n_boot": int(n_boot),
                "seed": int(seed),
            },
            study_id=study.id,
        )
    except DeepRulesError as exc:
        st.error(md(exc))
    else:
        st.rerun()

previous = jobs.list_jobs(ws, study.id, kind="deep_learning")
if previous:
    st.subheader("Latest run")
    job_panel(previous[0].id, key="deep.job")

if results_not_shown(study, steps=("deep_learning",)):
    st.stop()
results = ui_deep.load_deep_results(ws, study)
entries = ui_deep.deep_entries(results)
if not results or not entries:
    st.info("No deep model yet. Start the training above.")
    st.stop()

metric = results["primary_metric"]
st.subheader("Comparison with the baselines")
if results.get("statement"):
    st.markdown(f"**{md(results['statement'])}**")
if results.get("split_sha256") != split.sha256:
    st.warning("These results were computed on an earlier split. Train the deep model again.")
st.dataframe(modeling.comparison_table(results), hide_index=True, width="stretch")
comparisons = modeling.comparisons_table(results)
if not comparisons.empty:
    st.dataframe(comparisons, hide_index=True, width="stretch")
chart = modeling.difference_chart(results)
if chart is not None:
    st.altair_chart(chart, width="stretch")

for name, entry in entries.items():
    st.subheader(f"{name.upper()}")
    arch = entry.get("architecture") or {}
    st.markdown(
        f"{arch.get('reason', '')}  \nChosen configuration: {arch.get('n_params', 0):,} parameters, "
        f"trained on {arch.get('n_samples', 0):,} samples · device `{entry.get('device')}` · deterministic "
        f"algorithms {'on' if entry.get('deterministic') else 'off'} · seed {entry.get('seed')}"
    )
    if arch.get("warning"):
        st.warning(md(arch["warning"]))
    chart = ui_deep.learning_curve_charts(entry, name=name)
    if chart is not None:
        st.altair_chart(chart, width="content")
    st.caption(ui_deep.control_text(entry))
    summary = (entry.get("seed_summary") or {}).get(metric) or {}
    if summary:
        st.markdown(
            f"Across {len(entry.get('seeds') or [])} seeds: tune {metric.upper()} "
            f"{summary['mean']:.3f} ± {summary['sd']:.3f} (mean ± SD)."
        )
    st.dataframe(ui_deep.seeds_table(entry, metric), hide_index=True)
    with st.expander(f"Search: {entry.get('n_trials', 0)} trials"):
        st.dataframe(ui_deep.trials_table(entry), hide_index=True, width="stretch")
        chart = ui_deep.importance_chart(entry)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        st.json(entry.get("params", {}), expanded=False)
    with st.expander("Reproducibility record"):
        st.json(entry.get("reproducibility", {}), expanded=False)

st.subheader("Findings")
show_findings([Finding.from_dict(f) for f in results.get("findings", [])], study=study, key="deep")
state.link("evaluate", "Evaluate: metric panel, controls and the locked test set")
