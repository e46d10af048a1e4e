"""Split: replicate-aware train / tune / test, the leakage audit and the locked test set
(Tips 1, 4 and 7)."""

from __future__ import annotations

import streamlit as st

from deeprules_core.errors import DeepRulesError
from deeprules_core.names import sizes_text, strategy_label
from deeprules_core.split import (
    STRATEGIES,
    export_split_csv,
    load_split,
    pending_unlock,
    test_set_history,
    unlock_test_set,
)
from deeprules_core.steps import preview_split, run_split, suggest_split
from ui import split as ui_split
from ui import state
from ui.banner import open_errors_banner
from ui.findings import show_findings
from ui.text import md

st.title("Split")
st.caption(
    "Tip 1: train, tune and test on data that do not overlap. Tip 4: rows of one individual are "
    "not independent. Tip 7: use the test set once, and test on truly independent data if you can."
)

study, df = state.require_table()
ws = state.workspace()
roles = study.roles
open_errors_banner(study, page="split")
auto, sentence = suggest_split(ws, study)  # reads the design and the study's open findings
try:
    saved = load_split(ws, study)
except DeepRulesError as exc:
    st.error(md(exc))
    saved = None
history = test_set_history(ws, study)

st.info(f"**Suggested: {ui_split.STRATEGY_LABELS[auto].split(':')[0].lower()}.** {md(sentence)}")

# ---------------------------------------------------------------- the form
choices = [s for s in STRATEGIES if s != "auto"]
base = dict(saved.params) if saved is not None else {}
default_strategy = saved.strategy if saved is not None and saved.strategy in choices else auto
levels = ui_split.batch_levels(df, roles)
with st.form("split.form"):
    strategy = st.selectbox(
        "Strategy",
        choices,
        index=choices.index(default_strategy),
        format_func=ui_split.STRATEGY_LABELS.get,
        key="split.strategy",
    )
    c1, c2, c3, c4 = st.columns(4)
    test_fraction = c1.slider(
        "Test fraction", 0.05, 0.5, float(base.get("test_fraction", 0.2)), 0.05, key="split.test_fraction"
    )
    tune_fraction = c2.slider(
        "Tuning fraction", 0.0, 0.4, float(base.get("tune_fraction", 0.2)), 0.05, key="split.tune_fraction"
    )
    n_folds = c3.number_input("CV folds (0 = none)", 0, 10, int(base.get("n_folds", 5)), key="split.n_folds")
    seed = c4.number_input("Seed", 0, 2**31 - 1, int(saved.seed if saved else 0), key="split.seed")
    holdout = []
    if levels:
        holdout = st.multiselect(
            f"Levels of '{roles.batch[0]}' to hold out (leave-batch-out only; empty = chosen for you)",
            levels,
            default=[v for v in base.get("holdout_batch") or [] if v in levels],
            key="split.holdout",
        )
    st.form_submit_button("Make split", type="primary")

params = {
    "strategy": strategy,
    "test_fraction": round(float(test_fraction), 4),
    "tune_fraction": round(float(tune_fraction), 4),
    "n_folds": int(n_folds),
    "seed": int(seed),
}
if strategy == "leave_batch_out" and holdout:
    params["holdout_batch"] = list(holdout)

preview = preview_split(ws, study, df, params)
if preview["error"]:
    st.error(preview["error"])
    st.stop()
split, findings, summary = preview["split"], preview["findings"], preview["summary"]

# ---------------------------------------------------------------- the preview
is_saved = saved is not None and saved.sha256 == split.sha256
st.subheader("This split" + (" (saved, test set locked)" if is_saved else " (not saved yet)"))
st.caption(md(split.params.get("explanation", "")))
cols = st.columns(3)
for col, side in zip(cols, ("train", "tune", "test"), strict=True):
    s = summary["sides"][side]
    col.metric(f"{side}: rows", f"{s['rows']:,}", help="Rows on this side")
    col.metric(
        f"{side}: independent units",
        f"{s['groups']:,}",
        help=f"Effective sample size: distinct {summary['unit']} values. This, not the row count, "
        "is how many independent samples the side holds.",
    )
st.dataframe(ui_split.sides_table(summary), hide_index=True, width="stretch")
charts = [ui_split.class_chart(summary)] if roles.task == "classification" else []
charts = [c for c in charts if c is not None]
if roles.task == "regression":
    charts.append(ui_split.label_chart(df, roles, split))
charts += ui_split.batch_charts(summary)
for i in range(0, len(charts), 2):
    row = st.columns(2)
    for col, chart in zip(row, charts[i : i + 2], strict=False):
        col.altair_chart(chart, width="stretch")

st.subheader("Leakage audit")
# the audit's own findings, and an unresolved batch/label confounding repeated (no split cures it)
show_findings(list(findings) + list(preview["carried"]), study=study, key="split")

if not is_saved:
    if history:
        st.warning(
            f"The test set of this study was already used {len(history)} time(s). A new split does "
            "not reset the lock: its test side overlaps samples you have already looked at."
        )
    st.caption(
        "Saving records the split with its sha256 and locks the test set: every later use is logged, "
        "and a second look needs a written reason."
    )
    if st.button("Save the split and lock the test set", type="primary", key="split.save"):
        try:
            run_split(ws, study, split, df)  # saves, locks, audits and records the step
        except DeepRulesError as exc:
            st.error(md(exc))
        else:
            state.set_current_study(study.id)
            st.rerun()

# ---------------------------------------------------------------- the locked split
if saved is not None:
    st.subheader("The locked test set")
    st.markdown(
        f"Saved split: **{strategy_label(saved.strategy)}**, seed {saved.seed}, {sizes_text(saved.sizes())}  \n"
        f"sha256 `{saved.sha256}`"
    )
    data, sha = export_split_csv(saved)
    st.download_button(
        "Download the split (sample id, split, fold) as CSV",
        data=data,
        file_name=f"split-{sha[:12]}.csv",
        mime="text/csv",
        key="split.download",
    )
    st.caption(f"Checksum of the file: sha256 {sha}")
    if not history:
        st.success("The test set has not been used yet.")
    else:
        st.markdown(f"**Test-set uses** ({len(history)}):")
        st.dataframe(ui_split.history_table(history), hide_index=True, width="stretch")
        pending = pending_unlock(ws, study)
        if pending:
            st.info(md(f"Unlocked for the next use: “{pending}”"))
        else:
            with st.form("split.unlock"):
                reason = st.text_area(
                    "Unlock for one more use: why must the test set be used again? (logged; it goes "
                    "into the report)",
                    key="split.unlock.reason",
                )
                if st.form_submit_button("Unlock for the next use"):
                    try:
                        unlock_test_set(ws, study, reason=reason)
                    except DeepRulesError as exc:
                        st.error(md(exc))
                    else:
                        st.rerun()

st.subheader("Next")
state.link("baselines", "Fit the baselines on this split")
