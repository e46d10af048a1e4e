"""Evaluate: the metric panel with intervals, the controls, and the locked test set (Tips 1, 2, 7)."""

from __future__ import annotations

import streamlit as st

from deeprules_core.current import MODEL_STEPS
from deeprules_core.errors import DeepRulesError
from deeprules_core.findings import Finding
from deeprules_core.names import fmt_p, metric_label, model_label
from deeprules_core.split import pending_unlock, test_set_history
from deeprules_core.steps import run_evaluate, study_headline
from ui import modeling, state
from ui.banner import open_errors_banner, results_not_shown
from ui.findings import show_findings
from ui.modeling import model_family as modeling_family
from ui.text import md

st.title("Evaluate")
st.caption(
    "An imbalance-aware panel of metrics with 95% intervals that resample whole individuals, the "
    "shuffled-label control, the learning curve, and, once, the locked test set."
)

study, df = state.require_table()
ws = state.workspace()
open_errors_banner(study, page="evaluate")
try:
    results = modeling.load_results(ws, study)
    split = modeling.current_split(ws, study)
except DeepRulesError as exc:
    st.error(md(exc))
    st.stop()
if results is None:
    if not results_not_shown(study, steps=MODEL_STEPS):  # the banner above links each step to re-run
        st.info("There is nothing to evaluate yet: run the baselines first.")
        state.link("baselines", "Run the baselines")
    st.stop()

st.markdown(f"**{md(study_headline(ws, study, results))}**")

sides = ["tune"] + (["test"] if results.get("test_evaluation") else [])
if state.take_flag("evaluate.just_tested") and "test" in sides:
    state.set_widget("evaluate.side", "test")  # show the result the user has just asked for
side = st.radio("Scored on", sides, horizontal=True, key="evaluate.side")
st.subheader(f"Metric panel ({side} side)")
st.dataframe(modeling.panel_table(results, side), hide_index=True, width="stretch")
st.caption(
    "value [95% bootstrap interval]; the bootstrap resamples groups (individuals) when the study has them."
)

st.subheader("Curves")
if side == "test":
    st.caption(
        "The curves are drawn on the tune side, where the models were compared; the test side is scored "
        "once, in the panel above and under *The locked test set* below."
    )
if results["task"] == "classification":
    classes = modeling.curve_classes(results)
    cls = st.selectbox("Class", classes, key="evaluate.class") if len(classes) > 1 else None
    c1, c2 = st.columns(2)
    c1.altair_chart(modeling.roc_chart(results, cls), width="stretch")
    c2.altair_chart(modeling.pr_chart(results, cls), width="stretch")
    st.altair_chart(modeling.calibration_chart(results, cls), width="stretch")
else:
    st.altair_chart(modeling.calibration_chart(results), width="stretch")

st.subheader("Controls")
null = modeling.null_chart(results)
if null is not None:
    st.altair_chart(null, width="stretch")
    st.caption(
        "The same model and hyper-parameters, trained on shuffled labels (replicates of one individual keep "
        "one label) and scored on the real tune labels. The red rule is the score with the real labels."
    )
else:
    st.info("The shuffled-label control was not run (0 repetitions).")
lc = modeling.learning_curve_chart(results)
if lc is not None:
    st.altair_chart(lc, width="stretch")
meta = (results.get("controls") or {}).get("metadata_only")
if meta:
    st.markdown(
        f"**Metadata-only model** (batch and covariates alone: {md(', '.join(meta.get('columns', [])))}): "
        f"{metric_label(meta.get('metric', 'score'))} {modeling.fmt_num(meta.get('score'))} against chance "
        f"{modeling.fmt_num(meta.get('chance'))} ({fmt_p(meta.get('p_value'))}), cross-validated on the "
        "train side."
    )
    meta_findings = [Finding.from_dict(f) for f in meta.get("findings", [])]
    if meta_findings:
        show_findings(meta_findings, study=study, key="evaluate.metadata")

st.subheader("Paired comparisons")
diff = modeling.difference_chart(results)
if diff is not None:
    st.altair_chart(diff, width="stretch")
st.dataframe(modeling.comparisons_table(results), hide_index=True, width="stretch")

st.subheader("Findings")
show_findings([Finding.from_dict(f) for f in results.get("findings", [])], study=study, key="evaluate")

st.subheader("The locked test set")
if split is None:
    st.info("The study has no split: the test set is defined by the split.")
    state.link("split", "Make the split")
    st.stop()
uses = test_set_history(ws, study)  # every use of this study's test sets, any split
unlocked = pending_unlock(ws, study) if uses else None
done = results.get("test_evaluation")
if done:
    names = ", ".join(model_label(modeling_family(results, m)) for m in done.get("models", []))
    st.success(
        f"Latest test-set evaluation: {names} on {done['n_test']} test rows, {done['at'][:16].replace('T', ' ')} "
        f"UTC"
        + (f"; reason for unlocking: “{done['unlock_reason']}”" if done.get("unlock_reason") else "")
        + "."
    )
    st.markdown(f"**{modeling.test_headline(results)}**")
    st.dataframe(modeling.panel_table(results, "test"), hide_index=True, width="stretch")


def _evaluate(reason: str | None) -> None:
    try:
        # scores the test set once, logs the use, stores the results and records the step
        run_evaluate(ws, study, df, split, results=results, unlock_reason=reason)
    except DeepRulesError as exc:
        st.error(md(exc))
        return
    state.set_flag("evaluate.just_tested")
    st.rerun()


if not uses:
    st.caption(
        f"The selected model ({model_label(modeling_family(results, results.get('selected')))}) and the dummy reference are refitted on the training "
        "side and scored once on the test side. The use is logged; a second use needs a written reason."
    )
    if st.button("Evaluate the selected model on the locked test set", type="primary", key="evaluate.test"):
        with st.spinner("Scoring the test set…"):
            _evaluate(None)
elif unlocked:
    st.info(
        f"The test set was unlocked on the Split page: “{unlocked}”. The next evaluation uses that reason."
    )
    if st.button("Evaluate again on the unlocked test set", type="primary", key="evaluate.test_unlocked"):
        with st.spinner("Scoring the test set…"):
            _evaluate(None)
else:
    last = uses[-1]
    st.warning(
        f"The test set of this study was already used {len(uses)} time(s), last on {last['at'][:16]} "
        f"({last['purpose']}). Using it again after looking at its result biases the estimate."
    )
    with st.form("evaluate.unlock"):
        reason = st.text_area(
            "Why must the test set be used again? (recorded in the log and the report)", key="evaluate.reason"
        )
        if st.form_submit_button("Unlock and evaluate again"):
            if not reason.strip():
                st.error("Write the reason first.")
            else:
                _evaluate(reason.strip())
