"""The Interpret step: ``interpret_study`` (pure) and the job target ``interpret_job``.

For each chosen model of the study's results it refits the model on the training side
(baselines: :func:`deeprules_core.modeling.fit_model`; a deep model is loaded from its
saved weights, or retrained with :func:`deeprules_core.deep.fit_deep` when none were
kept), then on the **tune** side (held out, never the locked test set):

* permutation importance, group-aware, with intervals (every tabular model), scored
  with the study's primary metric;
* standardised coefficients (linear models);
* integrated gradients aggregated over samples (deep models), and per-position maps of
  a few samples for sequence models;
* the top contributions of each tune sample (occlusion for baselines, on the
  :data:`LOCAL_FEATURES` globally most important features; integrated gradients for
  deep models);
* the agreement between every pair of models' rankings;
* the guard (``attribution_on_confounder``) on the union of the models' top features.

The result is stored as artifact ``("interpretation", "interpretation")`` and an
``interpret`` step record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ModelError, SplitError
from ..findings import Finding, sort_findings, to_jsonable
from ..modeling._stored import latest_results, results_to_use
from ..study import Roles, StepRecord, package_versions, utcnow
from ._agreement import rank_agreement
from ._guard import NOT_CAUSAL_CAVEAT, attribution_guard
from ._permutation import linear_coefficients, permutation_importance_grouped

__all__ = [
    "run_interpretation",
    "run_models",
    "rankings",
    "interpret_study",
    "interpret_job",
    "default_models",
    "latest_results",
    "primary_ranking",
    "ARTIFACT_KIND",
    "ARTIFACT_NAME",
    "GUARD_TOP",
    "LOCAL_FEATURES",
    "MAX_LOCAL_SAMPLES",
]

ARTIFACT_KIND = ARTIFACT_NAME = "interpretation"
#: Top features of each model that the guard examines (what a reader would look at).
GUARD_TOP = 10
#: One-sample views of baselines occlude this many globally most important features.
LOCAL_FEATURES = 30
#: Tune samples with a stored one-sample view (a seeded subset beyond).
MAX_LOCAL_SAMPLES = 200
#: Sequence samples with a stored per-position map.
MAX_SEQUENCE_MAPS = 40
#: Contributions kept per sample.
LOCAL_TOP = 10
#: Score whose drop measures permutation importance: smooth proper scores, which move with
#: every prediction (ranking metrics such as AUPRC move only when samples swap order, so
#: on a small tune side their drops are coarse; see permutation_importance_grouped).
PERMUTATION_SCORING = {"classification": "neg_brier", "regression": "r2"}
#: Rows given to integrated gradients at most (a seeded subset of the tune side).
MAX_IG_ROWS = 500

Progress = Callable[[float, str], None]


def run_models(results: Mapping[str, Any]) -> list[str]:
    """What ``run`` interprets: the selected model and every deep model (never the dummy)."""
    models = results.get("models", {})
    sel = results.get("selected")
    names = [sel] if sel in models and models[sel].get("family") != "dummy" else []
    return names + [n for n, m in models.items() if m.get("kind") == "deep" and n not in names]


def default_models(results: Mapping[str, Any]) -> list[str]:
    """Every model except the dummy, the selected one first."""
    names = [n for n, m in results.get("models", {}).items() if m.get("family") != "dummy"]
    sel = results.get("selected")
    return sorted(names, key=lambda n: (n != sel, names.index(n)))


def _records(df: pd.DataFrame, cols: Sequence[str]) -> list[dict[str, Any]]:
    return [dict(zip(cols, row, strict=True)) for row in df[list(cols)].itertuples(index=False, name=None)]


def _subset(rows: np.ndarray, k: int, seed: int) -> np.ndarray:
    if len(rows) <= k:
        return rows
    return np.sort(np.random.default_rng(seed).choice(rows, k, replace=False))


def _fit(
    name: str,
    entry: Mapping[str, Any],
    df: pd.DataFrame,
    roles: Roles,
    split: Any,
    results: Mapping,
    load_deep: Callable[[str], Any] | None,
) -> Any:
    if entry.get("kind") == "deep":
        if entry.get("weights_sha256") and load_deep is not None:
            return load_deep(entry["weights_sha256"])
        from ..deep import fit_deep

        return fit_deep(df, roles, split, config=entry["params"], seed=int(entry.get("seed", 0)))
    from ..modeling import fit_model

    return fit_model(
        df,
        roles,
        split,
        family=entry["family"],
        params=dict(entry.get("params") or {}),
        seed=int(entry.get("seed", 0)),
        batch_correct=bool(results.get("batch_correct")),
    )


def _inputs(model: Any, df: pd.DataFrame, roles: Roles, results: Mapping) -> tuple[pd.DataFrame, list[str]]:
    """The frame the model takes, and the feature columns that can be permuted."""
    if hasattr(model, "spec"):
        spec = model.spec
        if spec.get("representation") == "sequence":
            return df, []
        feats = list(spec["features"])
        return df[feats], feats
    from ..modeling import model_inputs

    X, feats = model_inputs(df, roles, batch_correct=bool(results.get("batch_correct")))
    cols = list(feats) + (["__batch__"] if X.shape[1] > len(feats) else [])
    return pd.DataFrame(X, columns=cols), list(feats)


def _interpret_one(
    name: str,
    model: Any,
    df: pd.DataFrame,
    roles: Roles,
    split: Any,
    results: Mapping,
    *,
    n_repeats: int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    from ._local import occlusion_contributions

    t0 = time.perf_counter()
    X, feats = _inputs(model, df, roles, results)
    label = df[roles.label]
    tune = split.indices("tune")
    tune = tune[label.iloc[tune].notna().to_numpy()]
    if len(tune) < 5:
        raise SplitError("The tune side has fewer than 5 labelled rows: too few to interpret a model on.")
    ids = split.assignment["id"].to_numpy()
    groups = df[roles.group].astype(str).to_numpy()[tune] if roles.group else None
    scoring = PERMUTATION_SCORING[roles.task]
    out: dict[str, Any] = {
        "kind": "deep" if hasattr(model, "spec") else "baseline",
        "global": None,
        "coefficients": None,
        "attributions": None,
        "local": None,
        "sequence": None,
    }
    Xt = X.iloc[tune].reset_index(drop=True)
    if feats:
        imp = permutation_importance_grouped(
            model,
            Xt,
            label.iloc[tune].to_numpy(),
            groups=groups,
            scoring=scoring,
            n_repeats=n_repeats,
            seed=seed,
            features=feats,
            progress=lambda f, m: progress(0.6 * f, f"{name}: {m}"),
        )
        out["global"] = {**imp.attrs, "rows": _records(imp, ["feature", "importance", "std", "low", "high"])}
        est = model.steps[-1][1] if hasattr(model, "steps") else model
        if hasattr(est, "coef_"):
            names = feats + (["__batch__"] if "__batch__" in X.columns else [])
            coefs = linear_coefficients(model, feature_names=names)
            out["coefficients"] = {
                **coefs.attrs,
                "rows": _records(coefs, ["feature", "coefficient", "importance", "class"]),
            }
    local_rows = _subset(np.arange(len(tune)), MAX_LOCAL_SAMPLES, seed)
    if out["kind"] == "deep":
        from ._gradients import aggregate_attributions, deep_attributions

        ig_rows = _subset(np.arange(len(tune)), MAX_IG_ROWS, seed)
        att = deep_attributions(
            model, df.iloc[tune[ig_rows]], progress=lambda f, m: progress(0.6 + 0.3 * f, f"{name}: {m}")
        )
        agg = aggregate_attributions(att.attributions, att.names, seed=seed)
        out["attributions"] = {
            **agg.attrs,
            "relative_delta": att.relative_delta,
            "n_steps": att.n_steps,
            "warning": att.warning,
            "baseline": "training mean" if att.representation == "tabular" else "all-zeros one-hot",
            "target": att.target[0] if att.target else None,
            "rows": _records(agg, ["feature", "importance", "std", "low", "high"]),
        }
        per = att.per_position if att.representation == "sequence" else att.attributions
        samples = {}
        for k, r in enumerate(ig_rows[:MAX_LOCAL_SAMPLES]):
            vals = per[k]
            order = np.argsort(-np.abs(vals), kind="stable")[:LOCAL_TOP]
            if att.representation == "sequence":
                seq = att.sequences[k]
                contrib = [
                    {
                        "feature": f"pos {j + 1}",
                        "value": seq[j] if j < len(seq) else "",
                        "contribution": vals[j],
                    }
                    for j in order
                ]
            else:
                contrib = [
                    {"feature": att.names[j], "value": Xt.iloc[r][att.names[j]], "contribution": vals[j]}
                    for j in order
                ]
            samples[str(ids[tune[r]])] = {
                "target": att.target[k] if att.target else None,
                "contributions": contrib,
            }
        out["local"] = {
            "method": "ig",
            "output": "log-odds of the target class" if att.target else "prediction",
            "samples": samples,
        }
        if att.representation == "sequence":
            out["sequence"] = {
                "letters": att.letters,
                "samples": {
                    str(ids[tune[r]]): {
                        "sequence": att.sequences[k],
                        "attribution": per[k][: len(att.sequences[k])].tolist(),
                    }
                    for k, r in enumerate(ig_rows[:MAX_SEQUENCE_MAPS])
                },
            }
    elif out["global"] is not None:
        top_feats = [r["feature"] for r in out["global"]["rows"][:LOCAL_FEATURES]]
        train = split.indices("train")
        reference = X.iloc[train][top_feats].median()
        progress(0.7, f"{name}: one-sample contributions")
        occl, base, names = occlusion_contributions(
            model, Xt, local_rows, reference=reference, features=top_feats
        )
        samples = {}
        for k, r in enumerate(local_rows):
            order = np.argsort(-np.abs(occl[k]), kind="stable")[:LOCAL_TOP]
            samples[str(ids[tune[r]])] = {
                "prediction": base[k],
                "contributions": [
                    {"feature": names[j], "value": Xt.iloc[r][names[j]], "contribution": occl[k, j]}
                    for j in order
                ],
            }
        out["local"] = {
            "method": "occlusion",
            "reference": "training median",
            "n_features": len(names),
            "output": "positive-class probability" if roles.task == "classification" else "prediction",
            "samples": samples,
        }
    out["duration_s"] = round(time.perf_counter() - t0, 2)
    return out


def primary_ranking(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ranking a model is judged by: integrated gradients for deep models, else permutation."""
    for key in ("attributions", "global", "coefficients"):
        if entry.get(key):
            return list(entry[key]["rows"])
    return []


def interpret_study(
    df: pd.DataFrame,
    roles: Roles,
    split: Any,
    results: Mapping[str, Any],
    *,
    models: Sequence[str] | None = None,
    n_repeats: int = 10,
    seed: int = 0,
    load_deep: Callable[[str], Any] | None = None,
    fitted: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Interpret the chosen models of a results dict (see the module docstring).

    ``fitted`` maps model names to already fitted models (skips refitting).
    """
    report = progress or (lambda f, m: None)
    names = list(models) if models else default_models(results)
    unknown = [n for n in names if n not in results.get("models", {})]
    if unknown or not names:
        raise ModelError(f"No model named {unknown or names} in the results; train the models first.")
    entries: dict[str, Any] = {}
    for i, name in enumerate(names):
        entry = results["models"][name]

        def sub(f: float, m: str, i: int = i) -> None:
            report((i + 0.1 + 0.9 * f) / (len(names) + 0.2), m)

        report(i / (len(names) + 0.2), f"{name}: fitting on the training side")
        model = (fitted or {}).get(name) or _fit(name, entry, df, roles, split, results, load_deep)
        entries[name] = {
            "family": entry.get("family", name),
            **_interpret_one(
                name, model, df, roles, split, results, n_repeats=n_repeats, seed=seed, progress=sub
            ),
        }
    report(len(names) / (len(names) + 0.2), "agreement and guard")
    agreement = []
    for a_i, a in enumerate(names):
        for b in names[a_i + 1 :]:
            ra, rb = primary_ranking(entries[a]), primary_ranking(entries[b])
            if ra and rb:
                agreement.append({"a": a, "b": b, **rank_agreement(ra, rb, top=GUARD_TOP)})
    top: list[str] = []
    for name in names:
        for r in primary_ranking(entries[name])[:GUARD_TOP]:
            if r["feature"] not in top:
                top.append(r["feature"])
    findings = sort_findings(attribution_guard(df, roles, top, seed=seed))
    report(1.0, "done")
    return to_jsonable(
        {
            "caveat": NOT_CAUSAL_CAVEAT,
            "task": roles.task,
            "label": roles.label,
            "classes": results.get("classes"),
            "positive_class": results.get("positive_class"),
            "scoring": results.get("primary_metric"),
            "split_sha256": split.sha256,
            "seed": seed,
            "n_repeats": n_repeats,
            "selected": results.get("selected"),
            "models": entries,
            "agreement": agreement,
            "guard": {"top_features": top, "per_model": GUARD_TOP},
            "findings": [f.to_dict() for f in findings],
            "versions": package_versions(),
        }
    )


def run_interpretation(
    ws: Any,
    study: Any,
    df: pd.DataFrame,
    split: Any,
    results: Mapping[str, Any],
    *,
    models: Sequence[str] | None = None,
    n_repeats: int = 10,
    seed: int | None = None,
    load_deep: Callable[[str], Any] | None = None,
    progress: Progress | None = None,
) -> tuple[Any, dict[str, Any]]:
    """The Interpret step, run and recorded: the one engine call of the Interpret page's
    job and of ``run``.

    Interprets ``models`` (default: every model but the dummy) with :func:`interpret_study`,
    stores the result as the ``interpretation`` artifact, and adds an ``interpret`` step
    record to the study. Returns the updated study and the interpretation (its
    ``rankings`` hold a ranked list per model with its method; its ``findings`` the
    guard's).
    """
    if results.get("split_sha256") and results["split_sha256"] != split.sha256:
        raise SplitError("The models were trained on another split. Train them again on the current split.")
    names = [str(m) for m in (models or default_models(results))]
    seed = int(results.get("seed", 0) if seed is None else seed)
    if load_deep is None:

        def load_deep(sha: str) -> Any:
            from ..deep import load_deep as load

            return load(ws, sha)

    started = utcnow()
    out = interpret_study(
        df, study.roles, split, results, models=names, n_repeats=n_repeats, seed=seed, load_deep=load_deep,
        progress=progress,
    )  # fmt: skip
    out["rankings"] = rankings(out)
    sha = ws.put_json(study.id, ARTIFACT_KIND, ARTIFACT_NAME, out)
    findings = [Finding.from_dict(f) for f in out["findings"]]
    summary = {
        "models": names,
        "top": {n: [r["feature"] for r in primary_ranking(e)[:5]] for n, e in out["models"].items()},
        "findings": [f.key for f in findings],
        "interpretation_sha256": sha,
    }
    record = StepRecord(
        step="interpret",
        params={"models": names, "n_repeats": n_repeats, "seed": seed},
        input_hashes={"dataset": study.dataset.sha256, "split": split.sha256},
        seed=seed,
        versions=out["versions"],
        started_at=started,
        finished_at=utcnow(),
        summary=summary,
    )
    from ..steps import record_interpretation  # the step record and the ledger, in one place

    latest = record_interpretation(ws, ws.get_study(study.id), record, findings)
    out["summary"] = summary
    return latest, out


#: Features per model in the ranked lists of ``rankings`` (results.json, the report).
RANKED_TOP = 20
_METHOD_NAMES = {
    "global": "permutation importance (tune side, group-aware)",
    "attributions": "integrated gradients (tune side, mean |attribution|)",
    "coefficients": "standardised coefficients",
}


def rankings(out: Mapping[str, Any], *, top: int = RANKED_TOP) -> dict[str, list[dict[str, Any]]]:
    """Per model, one ranked list per method (permutation importance for every tabular
    model, integrated gradients for deep models): ``method``, ``scoring`` and the top
    features with importance and interval."""
    keys = ("feature", "importance", "low", "high")
    ranked: dict[str, list[dict[str, Any]]] = {}
    for name, entry in (out.get("models") or {}).items():
        lists = []
        for key in ("global", "attributions"):
            block = entry.get(key)
            if not block:
                continue
            info: dict[str, Any] = {"method": _METHOD_NAMES[key]}
            for k in (
                "scoring",
                "baseline_score",
                "n_repeats",
                "screened_out",
                "not_used_by_model",
                "cost_cap",
            ):
                if block.get(k) is not None:
                    info[k] = block[k]
            # a feature whose every shuffle changed nothing is not used by the model: not ranked
            used = [r for r in block["rows"] if not (r.get("importance") == 0 and not r.get("std"))]
            info["features"] = [{k: r.get(k) for k in keys} for r in used[:top]]
            lists.append(info)
        ranked[name] = lists
    return ranked


def interpret_job(ctx: Any) -> dict[str, Any]:
    """Job target ``deeprules_core.interpret.jobs:interpret_job``.

    Parameters (``ctx.params``): ``models`` (names in the results; default every model
    but the dummy), ``n_repeats`` (10), ``seed`` (the results' seed).
    """
    from ..intake import load_dataset
    from ..split import load_split

    ws = ctx.workspace
    study = ws.get_study(ctx.study_id)
    if study.dataset is None:
        raise ModelError("The study has no data yet: load a table on the Data page first.")
    results = results_to_use(ws, study, to="interpret")
    df = load_dataset(ws, study.dataset.dataset_id)
    split = load_split(ws, study)
    if split is None:
        raise SplitError("The study has no split yet: make one on the Split page first.")
    p = dict(ctx.params)
    _, out = run_interpretation(
        ws,
        study,
        df,
        split,
        results,
        models=[str(m) for m in (p.get("models") or default_models(results))],
        n_repeats=int(p.get("n_repeats", 10)),
        seed=int(p.get("seed", results.get("seed", 0))),
        progress=ctx.progress,
    )
    return dict(out["summary"])
