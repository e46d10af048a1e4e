"""One engine function per step: it runs the step AND records it (the step record in the
study, the findings in the study's ledger). The app's pages, their background jobs and
``deeprules run`` call these same functions, so the app's report and ``run``'s report are
made from the same records.

=====================  ==========================================  ===================
step                   function                                    ledger step
=====================  ==========================================  ===================
Checks                 :func:`run_checks` (:func:`save_schema`)    ``checks``
Batch & confounds      :func:`run_confounds`                       ``confounds``
Split                  :func:`preview_split`, :func:`run_split`    ``split``
Baselines              :func:`run_baselines_step`                  ``baselines``
Deep learning          :func:`run_deep_step`                       ``deep_learning``
Evaluate               :func:`run_evaluate`                        ``evaluate``
Interpret              :func:`record_interpretation`               ``interpret``
Report                 :func:`write_report`                        –
=====================  ==========================================  ===================

Later steps read earlier findings: :func:`open_errors` (the banner on every modelling
page), :func:`suggest_split` and the split audit (an unresolved batch/label confounding),
:func:`refuse_batch_correction` (one rule for page, ``run`` and job) and
:func:`headline` (a leaked or metadata-reached score says so).
"""

from ._common import acknowledge, memo, record_step
from ._headline import (
    INCONCLUSIVE_BELOW,
    headline,
    headline_warnings,
    open_errors,
    out_of_date_steps,
    study_headline,
    tune_units,
)
from ._inspect import (
    correction_rule,
    correction_verdicts,
    refuse_batch_correction,
    run_checks,
    run_confounds,
    save_schema,
)
from ._models import record_interpretation, run_baselines_step, run_deep_step, run_evaluate
from ._report import study_findings, write_report
from ._split import confounding_carried, preview_split, run_split, suggest_split

__all__ = [
    "INCONCLUSIVE_BELOW",
    "acknowledge",
    "confounding_carried",
    "correction_rule",
    "correction_verdicts",
    "headline",
    "headline_warnings",
    "memo",
    "open_errors",
    "out_of_date_steps",
    "preview_split",
    "record_interpretation",
    "record_step",
    "refuse_batch_correction",
    "run_baselines_step",
    "run_checks",
    "run_confounds",
    "run_deep_step",
    "run_evaluate",
    "run_split",
    "save_schema",
    "study_findings",
    "study_headline",
    "suggest_split",
    "tune_units",
    "write_report",
]
