"""Batch & confounds: is a batch visible in the features, does it go with the label, does a
covariate confound, can metadata alone predict the label, does a feature copy the label?
(Tips 4, 7 and 9.)"""

from __future__ import annotations

import streamlit as st

from deeprules_core.errors import DeepRulesError
from deeprules_core.findings import summarise
from deeprules_core.names import evidence_text, fmt_p, metric_label, model_label
from deeprules_core.steps import run_confounds
from ui import confounds, state
from ui.findings import show_findings
from ui.text import md

st.title("Batch & confounds")
st.caption(
    "Tip 4: look for batch effects and confounders (plate, run, site, date, age, sex) before modelling. "
    "Tip 9: a model that predicts well may be reading the batch, not the biology. Every test below has a "
    "written threshold; on a balanced design without a batch effect it says nothing."
)

study, df = state.require_table()
roles = study.roles
SEED = 0

if not roles.batch and not roles.covariates:
    st.info(
        "No batch variable (plate, run, site, date) and no covariate (age, sex, …) is marked. The label-leak "
        "check and the exploration still run; mark them on the Data page to test for batch effects and confounds."
    )
    state.link("data", "Set column roles")

try:
    # runs every check and records it (step record + findings ledger); the same call as `run`
    result = run_confounds(state.workspace(), study, df, seed=SEED)
except DeepRulesError as exc:
    st.error(md(exc))
    state.link("data", "Check the column roles")
    st.stop()
study = result["study"]
findings = result["findings"]
counts = summarise(findings)
meta = result["metadata_only"]

ex = result["exploration"]
c1, c2, c3, c4 = st.columns(4)
c1.metric("Samples", f"{len(df):,}")
c2.metric("Features", f"{ex['n_features']:,}" if ex else "0")
c3.metric("Errors", counts["error"])
c4.metric("Warnings", counts["warning"])

tab_f, tab_pca, tab_var, tab_bl, tab_meta, tab_corr = st.tabs(
    ["Findings", "PCA", "Variance explained", "Batch × label", "Metadata-only model", "Batch correction"]
)

with tab_f:
    show_findings(findings, study=study, key="confounds")

with tab_pca:
    if ex is None:
        st.info("The table has no numeric feature columns to explore.")
    else:
        variables = ex["variables"]
        scores = result["scores"]
        options = list(variables) or [roles.label]
        colour = st.selectbox("Colour by", options, key="confounds.colour")
        pcs = list(scores.columns)
        a, b = st.columns(2)
        x = a.selectbox("Horizontal axis", pcs, index=0, key="confounds.pc_x")
        y = b.selectbox("Vertical axis", pcs, index=min(1, len(pcs) - 1), key="confounds.pc_y")
        st.altair_chart(confounds.pca_scatter(scores, df, colour, variables, x=x, y=y), width="stretch")
        ratio = ex["explained_variance_ratio"]
        st.caption(
            f"{x} carries {ratio[pcs.index(x)]:.1%} and {y} {ratio[pcs.index(y)]:.1%} of the feature variance "
            f"(features median-imputed and scaled to unit variance). Colours that separate along a component "
            "show a variable that drives it."
        )

with tab_var:
    if ex is None:
        st.info("The table has no numeric feature columns to explore.")
    else:
        st.markdown("**How much of each principal component each variable explains (R²)**")
        st.altair_chart(confounds.r2_heatmap(result["r2"]), width="stretch")
        st.markdown("**Variance partition (PVCA-style)**")
        st.altair_chart(confounds.partition_bar(ex["partition"], ex["variables"]), width="stretch")
        st.caption(
            f"Over the top {ex['params']['n_components']} components, which hold "
            f"{ex['params']['top_components_variance']:.0%} of the feature variance: "
            f"{ex['params']['partition_method']}. A batch variable with a share comparable to the label's "
            "deserves attention."
        )

with tab_bl:
    if not roles.batch:
        st.info("No batch variable is marked.")
    else:
        col = st.selectbox("Batch variable", list(roles.batch), key="confounds.batch")
        assoc = (result["batch"].get(col) or {}).get("association")
        if assoc and assoc.get("table"):
            st.altair_chart(
                confounds.contingency_heatmap(assoc["table"], col, str(roles.label)), width="stretch"
            )
            st.dataframe(confounds.contingency_frame(assoc["table"], col))
        if assoc:
            st.markdown(
                f"{evidence_text({k: assoc[k] for k in ('test', 'p_value', 'effect', 'effect_name')})} "
                f"(reported when p < 0.001 and the effect is at least {assoc['minimum_effect']:.2f})."
            )
            singles = assoc.get("single_class_levels") or []
            if singles:
                st.warning(
                    "Levels holding a single class (these samples cannot tell batch from biology): "
                    + md(", ".join(f"{s['level']} (only '{s['class']}', {s['n']} samples)" for s in singles))
                )
        effect = (result["batch"].get(col) or {}).get("effect") or {}
        pred = effect.get("predictability") or {}
        if pred.get("testable"):
            st.markdown(
                f"Batch predictability from the features: balanced accuracy {pred['balanced_accuracy']:.2f} "
                f"(chance {pred['chance_balanced_accuracy']:.2f}, {fmt_p(pred['p_value'])}, {pred['cv']}); "
                f"{effect['features']['n_features_associated']:,} features differ between levels (FDR 5%)."
            )

with tab_meta:
    if not meta:
        st.info("The metadata-only model needs a batch variable or a covariate.")
    else:
        m1, m2, m3 = st.columns(3)
        m1.metric(metric_label(meta["metric"]).capitalize(), f"{meta['value']:.3f}")
        m2.metric("Chance level", f"{meta['chance']:.3f}")
        m3.metric("p-value", fmt_p(meta["p_value"], bare=True))
        st.caption(
            f"A cross-validated {model_label(meta['model'])} on {md(', '.join(meta['columns']))} alone "
            f"({meta['cv']}, {meta['n']} samples). A model on the features must clearly beat this score; it is "
            "also reported next to the baselines as a control."
        )

with tab_corr:
    st.markdown(
        "Batch correction removes each batch's shift and scale from every feature, by per-batch "
        "standardisation or ComBat's empirical Bayes. deeprules fits it **on the training rows only**, inside "
        "the model pipeline, and applies the training estimates to the tuning and test rows; a batch level "
        "never seen in training is left uncorrected (with a warning). Turn it on with the baselines' "
        "*batch correction* option. It is refused when a batch goes with the label: the batch's shift would "
        "then include the biology, and correcting would remove it."
    )
    if not roles.batch:
        st.info("No batch variable is marked.")
    for col, verdict in result["correction"].items():
        if verdict["allowed"]:
            st.success(md(f"'{col}': correction allowed (not associated with the label)."))
        else:
            st.error(md(verdict["reason"]))
