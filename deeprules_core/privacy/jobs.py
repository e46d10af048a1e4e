"""Job target: the privacy analysis in a background process (``deeprules_core.jobs``)."""

from __future__ import annotations

from typing import Any

__all__ = ["privacy_job"]


def privacy_job(ctx: Any) -> dict[str, Any]:
    """Run :func:`~deeprules_core.privacy.run_privacy` for ``ctx.study_id``.

    Parameters (``ctx.params``): ``dp`` (a dict of :class:`DPSettings` fields, or None),
    ``subgroup_columns``, ``mia``, ``shadow``, ``n_boot``, ``seed``.
    """
    from ._dp import DPSettings
    from ._step import run_privacy

    p = dict(ctx.params)
    ws = ctx.workspace
    study = ws.get_study(ctx.study_id)
    dp = DPSettings(**p["dp"]) if p.get("dp") else None
    out = run_privacy(
        ws,
        study,
        dp=dp,
        subgroup_columns=tuple(p.get("subgroup_columns") or ()),
        mia=p.get("mia"),
        shadow=bool(p.get("shadow", True)),
        n_boot=int(p.get("n_boot", 500)),
        seed=int(p.get("seed", 0)),
        progress=ctx.progress,
    )
    return {
        "findings": [f["code"] for f in out.get("findings", [])],
        "epsilon": ((out.get("dp") or {}).get("dp") or {}).get("epsilon"),
    }
