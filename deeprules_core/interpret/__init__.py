"""Interpretation (Tips 8 and 9): which features drive the predictions, globally and for
one sample, whether models agree, and a guard against reading too much into them.

* :func:`permutation_importance_grouped`: held-out, group-aware permutation importance
  with intervals, for any model; :func:`linear_coefficients` for linear models.
* :func:`integrated_gradients` / :func:`deep_attributions`: integrated gradients (Captum)
  with the convergence check, for deep models; :func:`aggregate_attributions`,
  :func:`sequence_map` and :func:`logo_figure` for global and per-position views.
* :func:`explain_sample`: the top contributions to one sample's prediction.
* :func:`rank_agreement`: do two rankings agree (Spearman, top-k overlap)?
* :func:`attribution_guard`: a top feature that is a proxy for a batch or covariate
  (finding ``attribution_on_confounder``); :data:`NOT_CAUSAL_CAVEAT` goes on every view.

Torch and Captum are imported only when a deep model is explained.
"""

from __future__ import annotations

from ._agreement import agreement_table, as_importance_series, rank_agreement
from ._gradients import (
    DELTA_TOLERANCE,
    DeepAttribution,
    IGResult,
    aggregate_attributions,
    deep_attributions,
    integrated_gradients,
    logo_figure,
    sequence_map,
)
from ._guard import NOT_CAUSAL_CAVEAT, attribution_guard, benjamini_hochberg
from ._local import explain_sample, is_deep, occlusion_contributions
from ._permutation import (
    SCORINGS,
    group_permutation,
    linear_coefficients,
    model_classes,
    model_outputs,
    permutation_importance_grouped,
)

__all__ = [
    "NOT_CAUSAL_CAVEAT",
    "SCORINGS",
    "DELTA_TOLERANCE",
    "IGResult",
    "DeepAttribution",
    "permutation_importance_grouped",
    "group_permutation",
    "linear_coefficients",
    "model_outputs",
    "model_classes",
    "integrated_gradients",
    "deep_attributions",
    "aggregate_attributions",
    "sequence_map",
    "logo_figure",
    "explain_sample",
    "occlusion_contributions",
    "is_deep",
    "rank_agreement",
    "agreement_table",
    "as_importance_series",
    "attribution_guard",
    "benjamini_hochberg",
]
