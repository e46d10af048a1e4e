"""run_deep, its controls and findings, the comparison with baselines, and the job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("torch")
pytest.importorskip("optuna")
pytest.importorskip("deeprules_core.modeling")

from deeprules_core.deep import compare_with_baselines, load_deep, paired_comparisons, run_deep  # noqa: E402
from deeprules_core.deep._runner import deep_findings  # noqa: E402
from deeprules_core.findings import Finding  # noqa: E402
from deeprules_core.split import Split  # noqa: E402
from deeprules_core.study import Design, Roles  # noqa: E402

SMALL = {"budget": 2, "n_seeds": 2, "max_epochs": 25, "n_shuffles": 2, "n_boot": 100}


def _split(n: int) -> Split:
    a, b = int(n * 0.6), int(n * 0.8)
    sides = ["train"] * a + ["tune"] * (b - a) + ["test"] * (n - b)
    return Split("random", 0, pd.DataFrame({"id": np.arange(n).astype(str), "split": sides, "fold": -1}))


def _xor(n: int = 240, seed: int = 0, *, signal: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    df = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4"])
    y = x[:, 0] * x[:, 1] > 0 if signal else rng.random(n) > 0.5
    df["y"] = y.astype(int)
    return df


def _without_timing(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k not in ("duration_s",)}


@pytest.mark.slow
def test_run_deep_entry_is_complete_reproducible_and_clean_on_clean_data():
    df, split = _xor(), _split(240)
    calls: list[tuple[float, str]] = []
    a = run_deep(df, Roles(label="y"), split, seed=0, progress=lambda f, m: calls.append((f, m)), **SMALL)
    b = run_deep(df, Roles(label="y"), split, seed=0, **SMALL)
    assert _without_timing(a) == _without_timing(b)  # same seed, same numbers (CPU)
    assert a["kind"] == "deep" and a["family"] == "mlp"
    assert a["n_trials"] == SMALL["budget"] and len(a["trials"]) == 2
    assert a["deterministic"] is True and a["device"] == "cpu"
    assert [s["seed"] for s in a["seeds"]] == [0, 1] and "auprc" in a["seeds"][0]["tune"]
    assert set(a["seed_summary"]["auprc"]) == {"mean", "sd"}
    curve = a["learning_curve"]
    assert {"epoch", "train_loss", "val_loss", "train_metric", "val_metric"} <= set(curve)
    assert len(curve["epoch"]) == len(curve["val_loss"]) >= curve["best_epoch"] >= 1
    assert {"roc", "pr"} <= set(a["curves"])
    tune = a["metrics"]["tune"]["auprc"]
    assert tune["value"] > 0.85 and tune["low"] <= tune["value"] <= tune["high"]
    assert a["controls"]["shuffled_label"]["n_shuffles"] == 2
    assert len(a["tune_predictions"]["ids"]) == len(a["predictions"]["tune"]) == 48
    assert a["architecture"]["reason"] and a["architecture"]["n_params"] > 0
    blocking = [f for f in a["findings"] if f["severity"] != "info"]
    assert blocking == []  # clean data: no warning, no error
    assert calls and calls[-1][0] == 1.0 and all(0 <= f <= 1 for f, _ in calls)
    assert any("epoch" in m for _, m in calls)


def test_no_signal_is_found_on_data_without_signal_and_few_permutations_are_inconclusive():
    df, split = _xor(240, seed=1, signal=False), _split(240)
    entry = run_deep(df, Roles(label="y"), split, seed=0, **SMALL)
    codes = [f["code"] for f in entry["findings"]]
    assert "control_inconclusive" in codes and "no_signal" not in codes, entry["controls"]
    cheap = {**SMALL, "n_seeds": 1, "max_epochs": 8, "n_shuffles": 20}
    entry = run_deep(df, Roles(label="y"), split, seed=0, **cheap)
    ctrl = entry["controls"]["shuffled_label"]
    assert ctrl["conclusive"] and "cheaper" in ctrl["schedule"] and ctrl["n_folds"] >= 2
    assert "no_signal" in [f["code"] for f in entry["findings"]], ctrl


def test_regression_entry_uses_r2():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3))
    df = pd.DataFrame(x, columns=["a", "b", "c"])
    df["y"] = 2 * x[:, 0] + np.sin(2 * x[:, 1]) + rng.normal(0, 0.2, 200)
    entry = run_deep(df, Roles(label="y", task="regression"), _split(200), **{**SMALL, "n_seeds": 1})
    assert entry["controls"]["shuffled_label"]["metric"] == "r2"
    assert entry["metrics"]["tune"]["r2"]["value"] > 0.6
    assert not [f for f in entry["findings"] if f["severity"] != "info"]


# --------------------------------------------------------------------------- findings from entries
def _entry(train: float, tune: float, low: float, high: float, null: list[float], p: float) -> dict:
    return {
        "family": "mlp",
        "kind": "deep",
        "metrics": {
            "train": {"auprc": {"value": train, "low": train - 0.02, "high": min(1.0, train + 0.02)}},
            "tune": {"auprc": {"value": tune, "low": low, "high": high}},
        },
        "controls": {
            "shuffled_label": {
                "model": "mlp",
                "metric": "auprc",
                "real": tune,
                "null": null,
                "p_value": p,
                "n_shuffles": len(null),
            }
        },
    }


NULL20 = [0.3 + 0.001 * i for i in range(20)]


def test_overfitting_found_for_a_large_gap_and_not_for_a_small_one():
    planted = deep_findings(_entry(1.0, 0.62, 0.55, 0.70, NULL20, 1 / 21), name="mlp")
    assert [f.code for f in planted] == ["overfitting"]
    # the deep model is not the selected one here: the message names it, not "the selected model"
    assert planted[0].message.startswith("The MLP scores") and "selected" not in planted[0].message
    near = deep_findings(_entry(0.95, 0.85, 0.78, 0.92, NULL20, 1 / 21), name="mlp")
    assert near == []


def test_the_permutation_p_decides_and_few_permutations_are_inconclusive():
    null = [0.5 + 0.01 * i for i in range(20)]  # 0.50 .. 0.69
    lost = deep_findings(_entry(0.7, 0.62, 0.45, 0.78, null, 8 / 21), name="mlp")
    assert [f.code for f in lost] == ["no_signal"] and lost[0].severity == "error"
    won = deep_findings(_entry(0.7, 0.72, 0.6, 0.8, null, 1 / 21), name="mlp")
    assert won == []
    few = deep_findings(_entry(0.7, 0.62, 0.45, 0.78, [0.70, 0.52], 2 / 3), name="mlp")
    assert [(f.code, f.severity) for f in few] == [("control_inconclusive", "info")]


# --------------------------------------------------------------------------- comparison with baselines
def _results(deep_scores: np.ndarray, base_scores: np.ndarray, y: np.ndarray) -> dict:
    ids = [f"s{i}" for i in range(len(y))]
    proba = lambda s: np.column_stack([1 - s, s]).tolist()  # noqa: E731
    panel = lambda s: {"auprc": {"value": float(np.mean((s > 0.5) == y)), "low": 0, "high": 1}}  # noqa: E731
    return {
        "task": "classification",
        "classes": [0, 1],
        "positive_class": 1,
        "primary_metric": "auprc",
        "tune_truth": {"ids": ids, "y": y.tolist(), "groups": None},
        "models": {
            "dummy": {"kind": "baseline", "family": "dummy", "metrics": {"tune": {"auprc": {"value": 0.5}}}},
            "random_forest": {
                "kind": "baseline",
                "family": "random_forest",
                "metrics": {"tune": panel(base_scores)},
                "predictions": {"tune": proba(base_scores)},
            },
            "mlp": {
                "kind": "deep",
                "family": "mlp",
                "metrics": {"tune": panel(deep_scores)},
                "tune_predictions": {
                    "ids": ids[::-1],
                    "scores": proba(deep_scores)[::-1],
                    "y_true": y.tolist()[::-1],
                },
            },
        },
    }


def test_baseline_not_beaten_when_the_deep_model_is_worse_and_silent_when_it_is_better():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 40)
    good = np.clip(y * 0.8 + rng.normal(0, 0.1, 80) + 0.1, 0, 1)
    noise = rng.random(80)
    worse = compare_with_baselines(_results(noise, good, y), n_boot=200)
    assert [f.code for f in worse] == ["baseline_not_beaten"] and worse[0].severity == "warning"
    assert worse[0].evidence["b"] == "random_forest" and worse[0].evidence["paired"] is True
    assert compare_with_baselines(_results(good, noise, y), n_boot=200) == []
    (c,) = paired_comparisons(_results(good, noise, y), n_boot=200)
    assert c["a"] == "mlp" and c["b"] == "random_forest" and c["low"] > 0


def test_baseline_not_beaten_is_only_information_when_the_two_are_equally_good():
    rng = np.random.default_rng(1)
    y = np.array([0, 1] * 40)
    a = np.clip(y * 0.6 + rng.normal(0, 0.25, 80) + 0.2, 0, 1)
    b = np.clip(y * 0.6 + rng.normal(0, 0.25, 80) + 0.2, 0, 1)
    found = compare_with_baselines(_results(a, b, y), n_boot=200)
    assert [(f.code, f.severity) for f in found] == [("baseline_not_beaten", "info")]


# --------------------------------------------------------------------------- the job
def _study_with_split(ws, df: pd.DataFrame, *, sensitive: bool = False):
    from deeprules_core.intake import Provenance, ingest
    from deeprules_core.split import make_split, save_split

    study = ws.create_study("deep job", design=Design(sensitive_data=sensitive))
    study = study.with_roles(Roles(label="y"))
    prov = Provenance(
        source="lab:SIM-2024-01", version="1", download_date="2024-01-01", licence="CC0", entered_by="test"
    )
    study, _ = ingest(ws, df.to_csv(index=False).encode(), name="xor.csv", provenance=prov, study=study)
    split = make_split(df, study.roles, seed=0)
    study = save_split(ws, study, split)
    ws.save_study(study, action="test")
    return study


class _Ctx:
    def __init__(self, ws, study_id: str, params: dict, *, cancel_after: int | None = None) -> None:
        self.workspace, self.study_id, self.params, self.job_id = ws, study_id, params, "test"
        self.calls: list[tuple[float, str]] = []
        self.cancel_after = cancel_after

    def progress(self, fraction: float, message: str = "") -> None:
        from deeprules_core.jobs import JobCancelled

        self.calls.append((fraction, message))
        if self.cancel_after is not None and len(self.calls) > self.cancel_after:
            raise JobCancelled()


@pytest.mark.slow
def test_deep_job_stores_results_weights_and_step(workspace):
    from deeprules_core.deep.jobs import deep_job

    df = _xor(200)
    study = _study_with_split(workspace, df)
    ctx = _Ctx(workspace, study.id, {**SMALL, "n_seeds": 1, "n_shuffles": 1})
    out = deep_job(ctx)
    assert out["model"] == "mlp" and out["weights_sha256"]
    results = workspace.get_json(study.id, "results", "deep")
    assert results["models"]["mlp"]["kind"] == "deep" and results["budget"] == 2
    model = load_deep(workspace, out["weights_sha256"])
    assert model.predict_proba(df.head(3)).shape == (3, 2)
    step = workspace.get_study(study.id).step("deep_learning")
    assert step is not None and step.summary["deterministic"] is True
    assert step.input_hashes["split"]
    for f in results["findings"]:
        Finding.from_dict(f)


@pytest.mark.slow
def test_deep_job_refuses_weight_export_for_sensitive_data_and_can_be_cancelled(workspace):
    from deeprules_core.deep.jobs import deep_job
    from deeprules_core.jobs import JobCancelled

    df = _xor(200)
    study = _study_with_split(workspace, df, sensitive=True)
    out = deep_job(_Ctx(workspace, study.id, {**SMALL, "budget": 1, "n_seeds": 1, "n_shuffles": 0}))
    assert out["weights_sha256"] is None
    assert workspace.list_artifacts(study.id, "deep_model") == []
    results = workspace.get_json(study.id, "results", "deep")
    assert "sensitive_model_export" in [f["code"] for f in results["findings"]]
    ctx = _Ctx(workspace, study.id, {**SMALL, "budget": 3}, cancel_after=3)
    with pytest.raises(JobCancelled):
        deep_job(ctx)
    assert len(workspace.list_artifacts(study.id, "results")) == 1  # nothing stored by the cancelled run
