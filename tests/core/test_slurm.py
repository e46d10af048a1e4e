"""Jobs and searches on a real SLURM cluster (munge, slurmdbd, slurmctld, slurmd).

`.ci/run` starts one with `.ci/slurm/start.sh` and exports SLURM_CONF. Without a cluster
these tests are skipped, except in CI (CI=true), where a missing cluster is a failure.
The time-out job (a 1-minute limit) is submitted first and checked last, so that its
minute overlaps the other tests.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deeprules_core import jobs
from deeprules_core.store import Workspace

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


def _cluster_problem() -> str | None:
    if not shutil.which("sinfo"):
        return "the SLURM client tools (sinfo, sbatch) are not installed"
    try:
        out = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"scontrol ping failed: {exc}"
    if "UP" not in out.stdout:
        return "no SLURM controller answers (start one with .ci/slurm/start.sh, then export SLURM_CONF)"
    return None


@pytest.fixture(scope="module")
def cluster() -> None:
    problem = _cluster_problem()
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the SLURM tests, but {problem}.")
        pytest.skip(f"No SLURM cluster here: {problem}.")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, cluster: None) -> Path:
    return tmp_path_factory.mktemp("slurm") / "workspace"


@pytest.fixture(scope="module")
def optuna_url(home: Path) -> str:
    """The searches' shared Optuna storage: a fresh schema of the test PostgreSQL when
    DEEPRULES_TEST_PG_URL names one, else an SQLite file on the local disk."""
    pg = os.environ.get("DEEPRULES_TEST_PG_URL")
    if not pg:
        return f"sqlite:///{home.parent / 'optuna.sqlite'}"
    from sqlalchemy import create_engine, text

    schema = f"optuna_{uuid.uuid4().hex[:10]}"
    engine = create_engine(pg)
    with engine.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def ws(home: Path, optuna_url: str, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.setenv("DEEPRULES_OPTUNA_URL", optuna_url)
    monkeypatch.setenv("DEEPRULES_HOME", str(home))
    monkeypatch.setenv("DEEPRULES_EXECUTOR", "slurm")
    monkeypatch.setenv("DEEPRULES_SLURM_TIME_MIN", "5")
    return Workspace(home)


@pytest.fixture(scope="module")
def timeout_job(home: Path) -> str:
    """A job with a 1-minute limit that would sleep for 5: submitted first, checked last."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEEPRULES_HOME", str(home))
        mp.setenv("DEEPRULES_EXECUTOR", "slurm")
        mp.setenv("DEEPRULES_SLURM_TIME_MIN", "1")
        ws = Workspace(home)
        study = ws.create_study("time-out")
        return jobs.submit(
            ws,
            target="deeprules_core.jobs:sleep_job",
            kind="sleep",
            params={"seconds": 300},
            study_id=study.id,
        )


def _running(ws: Workspace, job_id: str, timeout: float = 90) -> jobs.Job:
    deadline = time.monotonic() + timeout
    while (job := jobs.get_job(ws, job_id)).status != "running" or not job.progress:
        assert not job.finished and time.monotonic() < deadline, (job.status, job.message, job.error)
        jobs.reap(ws)
        time.sleep(0.2)
    return job


def _sleeper(ws: Workspace, name: str) -> str:
    study = ws.create_study(name)
    return jobs.submit(
        ws, target="deeprules_core.jobs:sleep_job", kind="sleep", params={"seconds": 120}, study_id=study.id
    )


def test_a_job_runs_on_the_cluster_with_the_same_code(ws, timeout_job):
    study = ws.create_study("round trip")
    jid = jobs.submit(
        ws, target="deeprules_core.jobs:sleep_job", kind="sleep", params={"seconds": 0.3}, study_id=study.id
    )
    first = jobs.get_job(ws, jid)
    assert first.executor == "slurm" and first.external_id
    done = jobs.wait(ws, jid, timeout=120)
    assert done.status == "done", done.error
    assert done.result == {"slept": 0.3} and done.progress == 1.0
    assert [e.action for e in ws.audit_log(study.id)][-1] == "job_done"


def test_cancel_from_the_page_reaches_the_cluster(ws):
    jid = _sleeper(ws, "cancel")
    job = _running(ws, jid)
    jobs.cancel(ws, jid)
    done = jobs.wait(ws, jid, timeout=90)
    assert (done.status, done.message) == ("cancelled", "cancelled by the user")
    deadline = time.monotonic() + 60  # the accounting daemon records the end a little later
    while True:
        out = subprocess.run(
            ["sacct", "-n", "-X", "-o", "State", "-j", str(job.external_id)], capture_output=True, text=True
        ).stdout
        if "CANCELLED" in out or "COMPLETED" in out or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert "CANCELLED" in out or "COMPLETED" in out  # it stopped, on the cluster too


def test_scancel_with_kill_is_reported_as_cancelled_on_the_cluster(ws):
    jid = _sleeper(ws, "scancel")
    job = _running(ws, jid)
    subprocess.run(["scancel", "--signal=KILL", str(job.external_id)], check=True)
    done = jobs.wait(ws, jid, timeout=90)
    assert done.status == "cancelled" and "cancelled on the cluster" in done.message
    (entry,) = [e for e in ws.audit_log(done.study_id) if e.action == "job_cancelled"]
    assert "not from deeprules" in entry.detail["reason"]


def test_a_killed_worker_is_failed_with_its_reason(ws):
    """The node kills the job's process (slurmstepd's child, SIGKILL): failed, with why."""
    jid = _sleeper(ws, "node kill")
    job = _running(ws, jid)
    os.kill(int(job.pid), signal.SIGKILL)  # the worker runs on this machine, as root
    done = jobs.wait(ws, jid, timeout=90)
    assert done.status == "failed"
    assert "killed or crashed" in done.error and "SLURM state FAILED" in done.error
    assert [e.action for e in ws.audit_log(done.study_id)][-1] == "job_failed"


def _optuna_trials(url: str, family: str) -> list[list[int]]:
    import optuna

    storage = optuna.storages.RDBStorage(url)
    return [
        [t.number for t in optuna.load_study(study_name=s.study_name, storage=storage).trials]
        for s in optuna.get_all_study_summaries(storage)
        if s.study_name.startswith(f"deeprules-{family}-")
    ]


def _kill_one_worker(home: Path, url: str, after: int, killed: list[int], stop: threading.Event) -> None:
    """Once ``after`` trials are complete, SIGKILL one array task's Python process (found
    by its command line, which names this test's search folder) and note its pid."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)  # read only: Optuna creates its tables itself
    while not stop.is_set():
        try:
            with engine.connect() as c:
                complete = c.execute(
                    text("SELECT count(*) FROM trials WHERE state = 'COMPLETE'")
                ).scalar_one()
        except SQLAlchemyError:  # not created yet
            complete = 0
        if complete > after:
            break
        time.sleep(0.3)
    engine.dispose()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        search = str(home / "jobs" / "slurm" / "search")  # not the other jobs' workers
        if "submitit.core._submit" in cmd and search in cmd and "python" in cmd.split()[0]:
            os.kill(int(proc.name), signal.SIGKILL)
            killed.append(int(proc.name))
            return


def test_a_search_of_40_trials_over_4_array_tasks_records_each_trial_once(ws, home, optuna_url, monkeypatch):
    """One study, 40 trials, each once; one worker is killed midway and loses only the
    trial it held (recorded as failed), the others take the remaining slots."""
    from deeprules_core.modeling._tuning import prepare_folds, tune_family

    monkeypatch.setenv("DEEPRULES_SEARCH_WORKERS", "4")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 4))
    y = (X[:, 0] + rng.normal(size=90) > 0).astype(int)
    rows = np.arange(90)
    folds = prepare_folds(
        X, [(rows[rows % 3 != k], rows[rows % 3 == k]) for k in range(3)], y=y, task="classification"
    )
    kw = dict(task="classification", n_classes=2, positive=1, budget=40, seed=0)
    killed: list[int] = []
    stop = threading.Event()
    killer = threading.Thread(target=_kill_one_worker, args=(home, optuna_url, 10, killed, stop), daemon=True)
    killer.start()
    try:
        spread = tune_family("logistic_regression", X, y, folds, **kw)
    finally:
        stop.set()
        killer.join(timeout=30)
    assert killed, "no search worker was found to kill"
    numbers = sorted(t["number"] for t in spread.trials)
    assert numbers == list(range(len(numbers))) and len(numbers) >= 39  # each once; at most 1 slot lost
    assert sum(t["state"] == "FAIL" for t in spread.trials) <= 1  # the dead worker's trial, at most
    assert sum(t["state"] in ("COMPLETE", "PRUNED") for t in spread.trials) >= 39
    (stored,) = _optuna_trials(optuna_url, "logistic_regression")
    assert sorted(stored) == numbers  # one study holds them, once each
    monkeypatch.setenv("DEEPRULES_EXECUTOR", "local")
    local = tune_family("logistic_regression", X, y, folds, **{**kw, "budget": 3})
    assert set(local.trials[0]) == set(spread.trials[0])  # the same shape as a local search
    assert all(t["fold_scores"] for t in spread.trials if t["state"] == "COMPLETE")


def test_a_control_spread_over_an_array_gives_the_numbers_of_one_process(ws, monkeypatch):
    """The shuffled-label control's 21 labellings over a 3-task array: the same real score,
    null and p as computing them here, and the result says how many workers it had."""
    from deeprules_core.modeling import shuffled_label_control

    monkeypatch.setenv("DEEPRULES_SEARCH_WORKERS", "3")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 30))
    y = (X[:, 0] + rng.normal(size=90) * 0.7 > 0).astype(int)
    rows = np.arange(90)
    folds = [(rows[rows % 3 != k], rows[rows % 3 == k]) for k in range(3)]
    kw = dict(
        folds=folds, train_rows=rows, groups=None, family="random_forest",
        params={"n_estimators": 30, "max_depth": 4}, task="classification", n_classes=2, positive=1,
        n_shuffles=20, seed=3,
    )  # fmt: skip
    spread = shuffled_label_control(X, y, **kw)
    monkeypatch.setenv("DEEPRULES_EXECUTOR", "local")
    here = shuffled_label_control(X, y, **kw)
    assert spread.pop("workers") == 3 and "workers" not in here
    assert spread == here
    assert here["p_value"] < 0.05 and len(here["null"]) == 20


def _study_with_split(ws: Workspace) -> str:
    from deeprules_core import intake
    from deeprules_core.split import make_split, save_split
    from deeprules_core.study import Roles

    rng = np.random.default_rng(1)
    n = 80
    df = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"g{i}" for i in range(4)])
    df.insert(0, "sample_id", [f"s{i}" for i in range(n)])
    df.insert(1, "donor", [f"d{i // 2}" for i in range(n)])
    df["label"] = np.where(df["g0"] + rng.normal(size=n) * 0.5 > 0, "tumour", "normal")
    roles = Roles(id="sample_id", label="label", group="donor")
    prov = intake.Provenance(
        source="lab:SIM", version="1", download_date="2024-01-01", licence="CC0", entered_by="t"
    )
    study = ws.create_study("baselines on the cluster").with_roles(roles)
    study, _ = intake.ingest(
        ws, df.to_csv(index=False).encode(), name="sim.csv", provenance=prov, study=study
    )
    study = ws.save_study(study)
    split = make_split(intake.load_dataset(ws, study.dataset.dataset_id), roles, seed=0)
    return ws.save_study(save_split(ws, study, split)).id


def test_a_studys_baselines_run_on_the_cluster_with_their_search_as_an_array(ws, optuna_url, monkeypatch):
    """The baselines job on SLURM; its tuning trials spread over a 3-task array."""
    monkeypatch.setenv("DEEPRULES_SEARCH_WORKERS", "3")
    sid = _study_with_split(ws)
    jid = jobs.submit(
        ws,
        target="deeprules_core.modeling.jobs:baselines_job",
        kind="baselines",
        params={"models": ["dummy", "logistic_regression"], "budget": 6, "n_shuffles": 2, "n_boot": 50},
        study_id=sid,
    )
    done = jobs.wait(ws, jid, timeout=240)
    assert done.status == "done", done.error
    results = ws.get_json(sid, "results", "baselines")
    trials = results["models"]["logistic_regression"]["trials"]
    assert sorted(t["number"] for t in trials) == list(range(6))
    assert list(range(6)) in [sorted(n) for n in _optuna_trials(optuna_url, "logistic_regression")]
    steps = [s.step for s in ws.get_study(sid).steps]
    assert steps.count("baselines") == 1
    assert results["controls"]["shuffled_label"]["workers"] == 3  # its labellings spread too


def test_a_job_past_its_time_limit_is_failed_with_the_reason(ws, timeout_job):
    done = jobs.wait(ws, timeout_job, timeout=150)
    assert done.status == "failed"
    assert "time limit of 1 min" in done.error
