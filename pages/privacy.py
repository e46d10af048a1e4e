"""Privacy: what the study knows about privacy and ethics, the measured leak risk, private
training, subgroups, the model card and the ethics register (Tip 10)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from deeprules_core import jobs
from deeprules_core.errors import DeepRulesError
from deeprules_core.names import model_label
from deeprules_core.privacy import (
    ACCOUNTANTS,
    MIA_RISK_AUC,
    add_ethics_entry,
    build_model_card,
    confirm_bundle_rows,
    explain_budget,
    model_card_markdown,
    privacy_overview,
)
from ui import state
from ui.banner import open_errors_banner
from ui.jobs import job_panel
from ui.text import md, md_all

st.title("Privacy")
st.caption(
    "Models trained on sensitive data can leak it: a k-nearest-neighbour model stores its training rows, and "
    "forests, boosted trees and deep networks can memorise them (Tip 10). This page gathers what the study "
    "knows, measures the leak, trains the deep model with differential privacy, checks subgroups, and keeps "
    "the model card and the ethics register."
)

study = state.require_study()
ws = state.workspace()
open_errors_banner(study, page="privacy")
try:
    view = privacy_overview(ws, study)
except DeepRulesError as exc:
    st.error(md(exc))
    st.stop()
task = study.roles.task

# ---- what the study knows ------------------------------------------------------------
st.subheader("What the study knows")
c1, c2 = st.columns(2)
c1.markdown(
    f"**Sensitive data:** {'yes' if view['sensitive'] else 'no (or not answered)'}  \n"
    f"**Ethics approval:** {view['ethics_approval'] or 'not given'}"
)
if not view["sensitive"]:
    c1.caption("Answer on the Study page; a sensitive study locks the export of memorising models.")
ident = view["identifying"]
c2.markdown(f"**Identifying columns found by the checks:** {len(ident)}")
for f in ident:
    c2.caption(f"{', '.join(f.columns)}: {f.message}")

st.markdown("**Which models memorise training rows, and may they leave the study?**")
plan = view["export_plan"]
if plan:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Model": model_label(d["family"], task) + (" (private)" if d["private"] else ""),
                    "Memorises rows": "yes" if d["memorises"] else "no",
                    "Export": "allowed" if d["allowed"] else "refused",
                    "Why": d["reason"],
                }
                for d in plan
            ]
        ),
        hide_index=True,
        width="stretch",
    )
else:
    st.caption(
        "No model fitted on the study as it is now. "
        + "; ".join(f"{model_label(k, task)}: {v[1]}" for k, v in view["memorising"].items())
    )
st.markdown("**What the reproducibility bundle would carry**")
st.dataframe(pd.DataFrame(view["bundle"], columns=["File", "Content"]), hide_index=True, width="stretch")
if view["sensitive"]:
    for c in view["rows_consent"]:
        st.caption(md(f"Raw rows released on {c['at'][:10]} by {c['who'] or 'the user'}: {c['reason']}"))
    with st.form("privacy.rows"):
        reason = st.text_area(
            "Let the bundle carry the raw rows: why is that allowed? (goes into the report)",
            key="privacy.rows_reason",
            placeholder="e.g. data-sharing agreement DSA-7 allows sharing with the consortium",
        )
        if st.form_submit_button("Confirm"):
            try:
                confirm_bundle_rows(ws, study, reason, who=state.user_name())
            except DeepRulesError as exc:
                st.error(md(exc))
            else:
                st.rerun()

# ---- the analysis (a background job) --------------------------------------------------
st.subheader("Measure the leak, train privately, check subgroups")
with st.form("privacy.form"):
    mia = st.checkbox(
        "Membership-inference attacks on every model (loss threshold; shadow models where the tune side allows)",
        value=view["sensitive"],
        key="privacy.mia",
    )
    dp = st.checkbox("Train the deep model with differential privacy (Opacus)", value=False, key="privacy.dp")
    a, b, c = st.columns(3)
    eps = a.number_input("Target ε", min_value=0.1, max_value=50.0, value=3.0, step=0.5, key="privacy.eps")
    delta = b.number_input(
        "δ", min_value=1e-9, max_value=1e-2, value=1e-5, format="%.1e", key="privacy.delta"
    )
    acc = c.selectbox("Accountant", list(ACCOUNTANTS), format_func=ACCOUNTANTS.get, key="privacy.accountant")
    epochs = a.number_input("Epochs", min_value=1, max_value=500, value=30, key="privacy.epochs")
    clip = b.number_input("Clipping norm", min_value=0.01, max_value=100.0, value=1.0, key="privacy.clip")
    st.caption(explain_budget(float(eps), float(delta)))
    unused: list[str] = []
    if study.dataset is not None:
        try:
            unused = study.roles.unused_columns(state.load_table(study.dataset.dataset_id))
        except DeepRulesError:
            unused = []
    columns = st.multiselect(
        "Subgroup columns (sex, site, any covariate)",
        list(dict.fromkeys(c for c in (*study.roles.covariates, *study.roles.batch, *unused) if c)),
        default=list(study.roles.covariates),
        key="privacy.subgroups",
    )
    start = st.form_submit_button("Start", type="primary")
if start:
    params = {
        "mia": bool(mia),
        "subgroup_columns": list(columns),
        "dp": {
            "epsilon": float(eps),
            "delta": float(delta),
            "accountant": acc,
            "epochs": int(epochs),
            "max_grad_norm": float(clip),
        }
        if dp
        else None,  # fmt: skip
    }
    try:
        jobs.submit(ws, target="deeprules_core.privacy.jobs:privacy_job", kind="privacy", params=params,
                    study_id=study.id)  # fmt: skip
    except DeepRulesError as exc:
        st.error(md(exc))
    else:
        st.rerun()
previous = jobs.list_jobs(ws, study.id, kind="privacy")
if previous:
    job_panel(previous[0].id, key="privacy.job")

analysis = view["analysis"] or {}
for f in analysis.get("findings") or []:
    if f["code"] != "sensitive_model_export":
        (st.warning if f["severity"] == "warning" else st.info)(f["message"])
mia_res = analysis.get("membership_inference") or {}
if mia_res:
    rows = []
    for name, r in mia_res.items():
        lt, sh = r.get("loss_threshold") or {}, r.get("shadow_model") or {}
        rows.append({
            "Model": r.get("label") or name,
            "Loss-threshold AUC": f"{lt['auc']:.2f} ({lt['low']:.2f}–{lt['high']:.2f})" if lt else "–",
            "Shadow-model AUC": f"{sh['auc']:.2f} ({sh['low']:.2f}–{sh['high']:.2f})" if sh else r.get("shadow_note", "not run"),
        })  # fmt: skip
    st.markdown("**Membership inference** (0.5 = an attacker cannot tell training samples from others)")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(f"An AUC of {MIA_RISK_AUC} or more, with its interval above 0.5, is reported as a risk.")
entry = analysis.get("dp")
if entry:
    rec, cost = entry["dp"], entry["cost"]
    st.markdown(
        f"**Private {model_label(entry['family'], task)}** · {rec['accountant_name']} · achieved ε = "
        f"{rec['epsilon']:.3g} (target {rec['target_epsilon']:g}), δ = {rec['delta']:.1g} · "
        f"{cost['metric'].upper()} {cost['private']:.3f} private vs {cost['plain']:.3f} non-private "
        f"(same network, rows and epochs)"
    )
    st.caption(rec["meaning"])
    st.caption(
        "Layers replaced: "
        + ("; ".join(rec["layers_replaced"]) or "none needed")
        + ". "
        + rec["secure_mode_note"]
    )
sub = analysis.get("subgroups") or {}
for col, items in (sub.get("table") or {}).items():
    metric = "auroc" if task == "classification" else "mae"
    st.markdown(f"**Subgroups by {md(col)}** ({md(sub.get('model'))}, tune side)")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Subgroup": i["level"],
                    "n": i["n"],
                    metric.upper(): f"{i['metrics'][metric]['value']:.3f}",
                    "95% CI": f"{i['metrics'][metric]['low']:.3f}–{i['metrics'][metric]['high']:.3f}",
                }
                for i in items
            ]
        ),  # fmt: skip
        hide_index=True,
        width="stretch",
    )

# ---- model card and ethics register ----------------------------------------------------
st.subheader("Model card")
if view["model_card"]:
    st.markdown(model_card_markdown(md_all(view["model_card"])))  # user text in it stays text
elif view["model_card_out_of_date"]:
    st.warning(
        "The model card was written for another model or earlier inputs (column roles, table, split): its "
        "model and numbers no longer describe the study, so it is not shown or reported. Write it again below."
    )
with st.form("privacy.card"):
    use = st.text_area("Intended use: who may use the model, for what, on which samples", key="privacy.use")
    limits = st.text_area("Limitations", key="privacy.limits")
    if st.form_submit_button("Write the model card"):
        try:
            build_model_card(ws, study, intended_use=use, limitations=limits, who=state.user_name())
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            st.rerun()

st.subheader("Ethics register")
if view["ethics_register"]:
    st.dataframe(
        pd.DataFrame(view["ethics_register"])[["date", "entry", "who", "reference"]], hide_index=True
    )
with st.form("privacy.register"):
    text = st.text_input("Entry (a decision or check)", key="privacy.entry")
    ref = st.text_input("Reference (approval number, document)", key="privacy.ref")
    day = st.date_input("Date", key="privacy.date")
    if st.form_submit_button("Add to the register"):
        try:
            add_ethics_entry(ws, study, text, who=state.user_name(), reference=ref, on=day)
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            st.rerun()
state.link("report", "Report: Tip 10 quotes these results")
