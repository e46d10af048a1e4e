"""The Privacy step: what the study knows (:func:`privacy_overview`), the analysis that
measures (:func:`run_privacy`: private training, membership inference, subgroups), and
the user's confirmation that a sensitive study's bundle may carry raw rows
(:func:`confirm_bundle_rows`).

``run_privacy`` stores artifact ``("privacy", "privacy")``, the private network's weights
when the lock allows it, and the ``privacy`` step record with its findings in the study's
findings ledger (read by the report with every other finding).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import DeepRulesError, ModelError, SplitError
from ..findings import Finding, sort_findings, summarise, to_jsonable
from ..names import model_label
from ..study import StepRecord, Study, package_versions, utcnow
from ._card import KIND, ethics_register, model_card_state
from ._dp import DPSettings
from ._lock import MEMORISING, NOT_MEMORISING, export_plan, guard_model_export
from ._mia import loss_threshold_attack, mia_finding, shadow_attack
from ._subgroups import subgroup_metrics

__all__ = ["privacy_overview", "run_privacy", "confirm_bundle_rows", "rows_consent", "privacy_results"]

Progress = Callable[[float, str], None]


def privacy_results(ws: Any, study: Study) -> dict[str, Any] | None:
    """The stored privacy analysis; None when there is none or when the privacy step ran on
    inputs the study no longer has (its models and attacks were about other roles, table
    or split: :mod:`deeprules_core.current`)."""
    from ..current import out_of_date

    if "privacy" in out_of_date(study):
        return None
    got = ws.get_json(study.id, KIND, "privacy")
    return dict(got) if isinstance(got, Mapping) else None


def rows_consent(ws: Any, study: Study) -> list[dict[str, Any]]:
    """Every confirmation that the bundle may carry raw rows (who, when, why)."""
    got = ws.get_json(study.id, KIND, "rows_consent")
    return list(got) if isinstance(got, list) else []


def confirm_bundle_rows(ws: Any, study: Study, reason: str, *, who: str = "") -> dict[str, Any]:
    """Record that the user lets the bundle of a sensitive study carry the data rows, and why."""
    if len(reason.strip()) < 10:
        raise DeepRulesError(
            "Give the reason the raw rows may leave with the bundle (at least a sentence: e.g. the data-sharing "
            "agreement that allows it). It goes into the report."
        )
    entry = {"at": utcnow(), "who": who, "reason": reason.strip()}
    ws.put_json(study.id, KIND, "rows_consent", rows_consent(ws, study) + [entry])
    ws.log(study.id, "bundle_rows_confirmed", entry)
    return entry


def privacy_overview(ws: Any, study: Study) -> dict[str, Any]:
    """What the study knows about privacy, without computing anything new."""
    from ..modeling._stored import current_results
    from ..report._build import load_findings

    results = current_results(ws, study)
    card, card_out_of_date = model_card_state(ws, study, results)  # judged on the same results
    stored = privacy_results(ws, study) or {}
    private_models = {stored["dp"]["name"]: stored["dp"]} if stored.get("dp") else {}
    findings = load_findings(ws, study) or []
    plan = export_plan(study, results, private_models)
    sensitive = bool(study.design.sensitive_data)
    consent = rows_consent(ws, study)
    rows_ok = (not sensitive) or bool(consent)
    bundle = [
        ("study.yaml", "the study file: roles, split settings, models, design answers"),
        ("split.csv", "each sample id with its side (train / tune / test): ids, no measurements"),
        (
            "results.json",
            "metrics with intervals"
            + (", per-sample predictions" if rows_ok else "; no per-sample predictions"),
        ),
        ("findings.json", "every finding with its evidence"),
        (
            "data/…",
            "the raw rows of the table"
            if rows_ok
            else "left out: the study is sensitive and nobody confirmed",
        ),
        (
            "models/…",
            ", ".join(d.model for d in plan if d.allowed and d.family in ("mlp", "cnn"))
            or "no model weights",
        ),
    ]
    return {
        "sensitive": sensitive,
        "ethics_approval": study.design.ethics_approval,
        "identifying": [f for f in findings if f.code == "identifying_column"],
        "memorising": {
            **{k: (True, v) for k, v in MEMORISING.items()},
            **{k: (False, v) for k, v in NOT_MEMORISING.items()},
        },
        "export_plan": [d.to_dict() for d in plan],
        "bundle": bundle,
        "rows_consent": consent,
        "analysis": stored or None,
        "model_card": card,
        "model_card_out_of_date": card_out_of_date,
        "ethics_register": ethics_register(ws, study),
    }


def _scorer(name: str, entry: Mapping[str, Any], df: Any, roles: Any, split: Any, results: Mapping[str, Any]
            ) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], Any], np.ndarray, Any]:  # fmt: skip
    """(score(rows), fit(rows) -> score, member rows, TaskArrays) for one model of the results."""
    if entry.get("kind") == "deep":
        from ..deep._model import labelled_rows, train_on_rows
        from ..deep._train import pick_device, validation_rows
        from ._deep import deep_parts

        parts = deep_parts(df, roles, split, config=entry["params"])
        seed = int(entry.get("seed", 0))
        fit_rows, val_rows = validation_rows(
            split, labelled_rows(parts.data, roles.task), groups=parts.data.groups, y=parts.data.y, seed=seed
        )

        def train(rows: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
            cut = max(1, len(rows) // 5)
            model, _ = train_on_rows(parts.data, rows[cut:], rows[:cut], spec=parts.spec, config=parts.config,
                                     seed=seed, device=pick_device("cpu"))  # fmt: skip
            return lambda r: model.scores(parts.data.subset(r))

        return _deep_target(parts, fit_rows, val_rows, seed), train, fit_rows, parts.t
    from ..modeling import fit_model, model_inputs
    from ..modeling._harness import TaskArrays
    from ..modeling._models import make_pipeline

    t = TaskArrays(df, roles, split)
    bc = bool(results.get("batch_correct"))
    X, _ = model_inputs(df, roles, batch_correct=bc)
    params, seed = dict(entry.get("params") or {}), int(entry.get("seed", 0))
    model = fit_model(df, roles, split, family=entry["family"], params=params, seed=seed, batch_correct=bc)

    def score_with(m: Any) -> Callable[[np.ndarray], np.ndarray]:
        return (
            (lambda r: m.predict_proba(X[r])) if t.task == "classification" else (lambda r: m.predict(X[r]))
        )

    def train_baseline(rows: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        m = make_pipeline(
            entry["family"], params, task=t.task, n_features=X.shape[1], seed=seed, batch_correct=bc
        )
        return score_with(m.fit(X[rows], t.y[rows]))

    return score_with(model), train_baseline, t.rows["train"], t


def _deep_target(
    parts: Any, fit_rows: np.ndarray, val_rows: np.ndarray, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    from ..deep._model import train_on_rows
    from ..deep._train import pick_device

    model, _ = train_on_rows(parts.data, fit_rows, val_rows, spec=parts.spec, config=parts.config, seed=seed,
                             device=pick_device("cpu"))  # fmt: skip
    return lambda r: model.scores(parts.data.subset(r))


def _attack(task: str, y: np.ndarray, score: Any, fit: Any, members: np.ndarray, nonmembers: np.ndarray,
            *, n_boot: int, seed: int, shadow: bool, groups: np.ndarray | None) -> dict[str, Any]:  # fmt: skip
    """Both attacks; with ``groups`` (the group of every row) the intervals draw whole individuals."""
    kw: dict[str, Any] = {"n_boot": n_boot, "seed": seed, "groups": groups}
    out: dict[str, Any] = {"loss_threshold": loss_threshold_attack(task, y, score, members, nonmembers, **kw)}
    out["shadow_model"] = shadow_attack(task, y, score, fit, members, nonmembers, **kw) if shadow else None
    return out


def run_privacy(
    ws: Any,
    study: Study,
    *,
    dp: DPSettings | None = None,
    subgroup_columns: Sequence[str] = (),
    mia: bool | None = None,
    shadow: bool = True,
    n_boot: int = 500,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the privacy analysis of ``study`` and record it (the one engine call of the page,
    the job and ``run``).

    ``dp``: train the deep model with differential privacy at this budget (and its
    non-private twin); ``subgroup_columns``: the metric panel per level of each;
    ``mia``: the membership-inference attacks on every model (default: when the study is
    sensitive).
    """
    from ..intake import load_dataset
    from ..modeling._stored import current_results
    from ..split import load_split

    say = progress or (lambda _f, _m: None)
    t0, started = time.perf_counter(), utcnow()
    if study.dataset is None:
        raise ModelError("The study has no data yet: load a table on the Data page first.")
    df = load_dataset(ws, study.dataset.dataset_id)
    split = load_split(ws, study)
    if split is None:
        raise SplitError("The study has no split yet: make the split on the Split page first.")
    results = current_results(ws, study) or {}
    roles, task = study.roles, study.roles.task
    sensitive = bool(study.design.sensitive_data)
    mia = sensitive if mia is None else bool(mia)
    missing = [c for c in subgroup_columns if c not in df.columns]
    if missing:
        raise DeepRulesError(
            f"The table has no column {missing}; mark subgroup columns that exist in the table."
        )
    out: dict[str, Any] = {"sensitive": sensitive, "seed": seed, "n_boot": n_boot, "membership_inference": {}}
    findings: list[Finding] = []
    private_models: dict[str, Any] = {}

    if dp is not None:
        from ._deep import private_deep

        deep_entry = next(
            (e for e in (results.get("models") or {}).values() if e.get("kind") == "deep"), None
        )
        run = private_deep(df, roles, split, config=(deep_entry or {}).get("params"), settings=dp, seed=seed,
                           n_boot=n_boot, progress=lambda f, m: say(0.4 * f, m))  # fmt: skip
        entry = run.entry
        refused = guard_model_export(ws, study, entry["name"], entry, where="privacy step")
        if refused is None:
            from ..deep._io import save_deep

            entry["weights_sha256"] = save_deep(ws, study.id, run.private, name=entry["name"])
        else:
            entry["weights_sha256"] = None
            findings.append(refused)
        out["dp"] = entry
        private_models[entry["name"]] = entry
        if mia:
            y = run.parts.t.y
            priv = run.private
            plain = run.plain
            tune = run.parts.t.rows["tune"]
            for name, model in ((entry["name"], priv), (f"{entry['family']}_plain", plain)):
                score = (lambda m: lambda r: m.scores(run.parts.data.subset(r)))(model)
                out["membership_inference"][name] = _attack(task, y, score, None, run.members, tune, n_boot=n_boot,
                                                           seed=seed, shadow=False, groups=run.parts.t.groups)  # fmt: skip
                res = out["membership_inference"][name]
                res.update(private=name == entry["name"], family=entry["family"])
                res["label"] = model_label(entry["family"], task) + (
                    " (trained with differential privacy)" if res["private"] else " (its non-private twin)"
                )
                res["shadow_note"] = "not run for the private network and its twin (loss threshold only)"

    if mia:
        names = [n for n, e in (results.get("models") or {}).items() if e.get("family") != "dummy"]
        for i, name in enumerate(names):
            entry = results["models"][name]
            say(
                0.4 + 0.4 * i / max(len(names), 1),
                f"membership inference: {model_label(entry.get('family', name), task)}",
            )
            score, fit, members, t = _scorer(name, entry, df, roles, split, results)
            res = _attack(
                task,
                t.y,
                score,
                fit,
                members,
                t.rows["tune"],
                n_boot=n_boot,
                seed=seed,
                shadow=shadow,
                groups=t.groups,
            )
            res.update(private=False, family=entry.get("family", name))
            res["label"] = model_label(res["family"], task)
            if res["shadow_model"] is None:
                res["shadow_note"] = (
                    "not asked for"
                    if not shadow
                    else "not run: too few held-out (tune) rows for shadow models"
                )
            out["membership_inference"][name] = res
        for name, res in out["membership_inference"].items():
            f = mia_finding(name, res["label"], res, sensitive=sensitive)
            if f is not None:
                findings.append(f)

    if subgroup_columns:
        say(0.85, "metrics by subgroup")
        out["subgroups"] = _subgroups(df, roles, split, results, subgroup_columns, n_boot=n_boot, seed=seed)
        findings += [Finding.from_dict(f) for f in out["subgroups"].pop("findings")]

    if sensitive:  # every memorising model of the study is explained once
        for name, entry in (results.get("models") or {}).items():
            refused = guard_model_export(ws, study, name, entry, where="privacy step")
            if refused is not None:
                findings.append(refused)
    out["export_plan"] = [d.to_dict() for d in export_plan(study, results, private_models)]
    findings = sort_findings(findings)
    out["findings"] = [f.to_dict() for f in findings]
    out["versions"] = package_versions(("torch", "opacus", "scikit-learn", "numpy"))
    out = to_jsonable(out)
    sha = ws.put_json(study.id, KIND, "privacy", out)
    record = StepRecord(
        step="privacy",
        params={
            "dp": dp.to_dict() if dp else None,
            "subgroup_columns": list(subgroup_columns),
            "mia": mia,
            "shadow": shadow,
            "n_boot": n_boot,
        },  # fmt: skip
        input_hashes={"dataset": study.dataset.sha256, "split": split.sha256, "privacy": sha},
        seed=seed,
        versions=out["versions"],
        started_at=started,
        finished_at=utcnow(),
        summary={
            "findings": summarise(findings),
            "duration_s": round(time.perf_counter() - t0, 2),
            "epsilon": (out.get("dp") or {}).get("dp", {}).get("epsilon"),
        },  # fmt: skip
    )
    from ..steps import record_step  # the step record and its findings in the study's ledger

    record_step(ws, study, record, findings, action="privacy", always=True)
    say(1.0, "done")
    return out


def _subgroups(df: Any, roles: Any, split: Any, results: Mapping[str, Any], columns: Sequence[str], *, n_boot: int,
               seed: int) -> dict[str, Any]:  # fmt: skip
    """Subgroup panels of the selected model on the tune side, from its stored predictions."""
    from ..modeling._harness import TaskArrays

    name = results.get("selected")
    entry = (results.get("models") or {}).get(name or "") or {}
    pred = (entry.get("predictions") or {}).get("tune")
    if not name or pred is None:
        raise ModelError(
            "There is no selected model with tune-side predictions yet: run the baselines first."
        )
    t = TaskArrays(df, roles, split)
    rows = t.rows["tune"]
    pred = np.asarray(pred, dtype=float)
    if len(pred) != len(rows):
        raise ModelError("The stored predictions do not match the current split; run the models again.")
    label = model_label(entry.get("family", name), roles.task)
    table, found = subgroup_metrics(
        t.y[rows], pred, df.iloc[rows][list(columns)], task=roles.task,
        classes=list(range(t.n_classes)) if t.classes else None,
        positive_class=t.positive if t.classes else None, groups=t.groups_of(rows), n_boot=n_boot, seed=seed,
        model_label=f"the {label}",
    )  # fmt: skip
    return {"model": name, "side": "tune", "columns_marked": list(columns), "table": table,
            "findings": [f.to_dict() for f in found]}  # fmt: skip
