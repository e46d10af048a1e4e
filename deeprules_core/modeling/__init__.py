"""Fair baselines, the metric panel and the controls (Tips 1, 2, 6 and 7).

- :func:`run_baselines` tunes every baseline family with the same Optuna budget on the
  split's group-aware CV folds, scores them with the metric panel on the tune side, and
  runs the controls (shuffled labels, learning curve, metadata-only model).
- :func:`metric_panel` / :func:`paired_difference`: metrics with 95% intervals from a
  bootstrap that resamples groups (individuals), not rows.
- :func:`evaluate_on_test`: the selected model, once, on the locked test set.
- :func:`finalize_results`: re-select, re-compare and re-check after models (e.g. deep
  models) were added to the results dict.

The job target for the app is ``deeprules_core.modeling.jobs:baselines_job``.
"""

from ._compare import (
    ALPHA,
    OVERFIT_GAP,
    check_baseline_beaten,
    check_equal_tuning,
    check_no_signal,
    check_overfitting,
    compare_models,
    finalize_results,
    modelling_findings,
    select_model,
)
from ._controls import learning_curve, permute_labels, shuffled_label_control
from ._curves import calibration_curve_data, curve_data
from ._harness import TaskArrays, evaluate_on_test, fit_model, model_inputs, run_baselines
from ._metrics import (
    CLASSIFICATION_METRICS,
    HIGHER_IS_BETTER,
    REGRESSION_METRICS,
    bootstrap_weights,
    metric_panel,
    paired_difference,
)
from ._models import BASELINE_FAMILIES, FAMILIES, WIDE_FEATURES, make_pipeline
from ._stored import RESULT_NAMES, current_results, latest_results, results_to_use

__all__ = [
    "RESULT_NAMES",
    "latest_results",
    "current_results",
    "results_to_use",
    "ALPHA",
    "OVERFIT_GAP",
    "BASELINE_FAMILIES",
    "FAMILIES",
    "WIDE_FEATURES",
    "CLASSIFICATION_METRICS",
    "REGRESSION_METRICS",
    "HIGHER_IS_BETTER",
    "TaskArrays",
    "bootstrap_weights",
    "calibration_curve_data",
    "check_baseline_beaten",
    "check_equal_tuning",
    "check_no_signal",
    "check_overfitting",
    "compare_models",
    "curve_data",
    "evaluate_on_test",
    "finalize_results",
    "fit_model",
    "learning_curve",
    "make_pipeline",
    "metric_panel",
    "model_inputs",
    "modelling_findings",
    "paired_difference",
    "permute_labels",
    "run_baselines",
    "select_model",
    "shuffled_label_control",
]
