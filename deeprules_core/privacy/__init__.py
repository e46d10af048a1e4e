"""Privacy and ethics (Tip 10): the export lock, differentially private training,
membership inference, subgroup metrics, the model card and the ethics register.

Heavy parts (torch, Opacus, scikit-learn) load only when used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = [
    "MEMORISING",
    "NOT_MEMORISING",
    "ExportDecision",
    "export_decision",
    "export_plan",
    "guard_model_export",
    "is_private",
    "refusal_finding",
    "ACCOUNTANTS",
    "DPSettings",
    "explain_budget",
    "replace_unsupported_layers",
    "train_private",
    "private_deep",
    "attack_auc",
    "per_sample_loss",
    "loss_threshold_attack",
    "shadow_attack",
    "MIA_RISK_AUC",
    "subgroup_metrics",
    "add_ethics_entry",
    "ethics_register",
    "build_model_card",
    "model_card",
    "model_card_markdown",
    "model_card_state",
    "privacy_overview",
    "run_privacy",
    "privacy_results",
    "confirm_bundle_rows",
    "rows_consent",
]

_WHERE = {
    **dict.fromkeys(
        ("MEMORISING", "NOT_MEMORISING", "ExportDecision", "export_decision", "export_plan",
         "guard_model_export", "is_private", "refusal_finding"), "._lock"),
    **dict.fromkeys(("ACCOUNTANTS", "DPSettings", "explain_budget", "replace_unsupported_layers", "train_private"), "._dp"),
    "private_deep": "._deep",
    **dict.fromkeys(("attack_auc", "per_sample_loss", "loss_threshold_attack", "shadow_attack", "MIA_RISK_AUC"), "._mia"),
    "subgroup_metrics": "._subgroups",
    **dict.fromkeys(("add_ethics_entry", "ethics_register", "build_model_card", "model_card", "model_card_markdown",
                    "model_card_state"), "._card"),
    **dict.fromkeys(("privacy_overview", "run_privacy", "privacy_results", "confirm_bundle_rows", "rows_consent"), "._step"),
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
