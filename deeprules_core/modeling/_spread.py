"""One family's tuning trials, and the labellings of a shuffled-label control, spread over
a SLURM job array (``DEEPRULES_EXECUTOR=slurm``).

The workers share one Optuna study through a database (RDB storage: PostgreSQL on a
cluster; an SQLite file serves a single machine). Each worker takes a *slot* before it
asks Optuna for a trial (an atomic ``UPDATE … SET issued = issued + 1 WHERE issued <
budget`` in the same database), so the study ends with exactly ``budget`` trials, each
recorded once. A worker that dies loses only the trial it held: the others take the
remaining slots, and its unfinished trial is recorded as failed. The caller reads the
trials back from the storage, in the same shape as a local search.
"""

from __future__ import annotations

import os
import pickle
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "spread_study",
    "search_storage",
    "search_worker",
    "spread_control",
    "control_worker",
    "SLOTS_TABLE",
]

SLOTS_TABLE = "deeprules_search_slots"
Progress = Callable[[float, str], None]


def search_storage() -> dict[str, Any]:
    """URL and engine options of the shared Optuna storage (see ``jobs._config``)."""
    from ..store._workspace import default_home

    url = os.environ.get("DEEPRULES_OPTUNA_URL")
    if url:
        return {"url": url, "engine_kwargs": {}}
    db = os.environ.get("DEEPRULES_DB_URL", "")
    if db.startswith("postgresql"):
        # the workspace's own PostgreSQL, in a schema of its own (Optuna's tables would
        # collide with the workspace's: both have a 'studies' table)
        from sqlalchemy import create_engine, text

        with create_engine(db).begin() as c:
            c.execute(text("CREATE SCHEMA IF NOT EXISTS optuna"))
        return {"url": db, "engine_kwargs": {"connect_args": {"options": "-csearch_path=optuna"}}}
    path = default_home() / "optuna.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return {"url": f"sqlite:///{path}", "engine_kwargs": {"connect_args": {"timeout": 120}}}


def _slots(storage: dict[str, Any]) -> tuple[Any, Any]:
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine

    engine = create_engine(storage["url"], **storage["engine_kwargs"])
    table = Table(
        SLOTS_TABLE,
        MetaData(),
        Column("study_name", String(200), primary_key=True),
        Column("budget", Integer, nullable=False),
        Column("issued", Integer, nullable=False),
    )
    return engine, table


def _take_slot(engine: Any, table: Any, name: str) -> bool:
    from sqlalchemy import update

    with engine.begin() as c:
        res = c.execute(
            update(table)
            .where(table.c.study_name == name, table.c.issued < table.c.budget)
            .values(issued=table.c.issued + 1)
        )
    return res.rowcount == 1


def _sampler_and_pruner(seed: int) -> tuple[Any, Any]:
    import optuna

    from ._tuning import PRUNE_STARTUP, PRUNE_WARMUP

    sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    return sampler, optuna.pruners.MedianPruner(n_startup_trials=PRUNE_STARTUP, n_warmup_steps=PRUNE_WARMUP)


@contextmanager
def _array(
    kind: str,
    name: str,
    payload: dict[str, Any],
    fn: Callable[..., Any],
    args: list[list[Any]],
    *,
    job: str,
    config: Any,
    gpu: bool = False,
) -> Iterator[tuple[list[Any], Path, str]]:
    """Write ``payload`` for the workers, submit ``fn`` as a SLURM array named ``job`` (one
    task per element of each list in ``args``, after the payload's path; logs in the
    workspace's ``jobs/slurm/KIND``) and yield (tasks, the log folder, the payload's
    path). The tasks are cancelled if the caller fails; the payload is removed at the end."""
    import submitit

    from ..jobs._executors import SRC_ROOT
    from ..store._workspace import default_home

    folder = default_home() / "jobs" / "slurm" / kind
    folder.mkdir(parents=True, exist_ok=True)
    payload_path = folder / f"{name}.pkl"
    with open(payload_path, "wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
    n = len(args[0])
    ex = submitit.SlurmExecutor(folder=folder, python=sys.executable)
    ex.update_parameters(
        **config.slurm_parameters(job, gpu=gpu),
        array_parallelism=n,
        setup=[f"export PYTHONPATH={SRC_ROOT}${{PYTHONPATH:+:$PYTHONPATH}}"],
    )
    try:
        with submitit.helpers.clean_env():  # started inside a SLURM job: a new job, not a step
            tasks = ex.map_array(fn, [str(payload_path)] * n, *args)
        try:
            yield tasks, folder, str(payload_path)
        except BaseException:
            for t in tasks:
                t.cancel(check=False)
            raise
    finally:
        payload_path.unlink(missing_ok=True)


def search_worker(payload_path: str, storage: dict[str, Any], study_name: str, index: int) -> int:
    """One array task: take slots and run trials until the budget is spent. Returns how
    many trials it ran."""
    import optuna

    from ._tuning import make_objective

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with open(payload_path, "rb") as fh:
        p = pickle.load(fh)
    sampler, pruner = _sampler_and_pruner(p["seed"] * 1000 + index)
    rdb = optuna.storages.RDBStorage(storage["url"], engine_kwargs=storage["engine_kwargs"])
    study = optuna.load_study(study_name=study_name, storage=rdb, sampler=sampler, pruner=pruner)
    objective = make_objective(
        p["family"], p["X"], p["y"], p["folds"], p["kw"], p["info"], {}, None, p["budget"]
    )
    engine, table = _slots(storage)
    n = 0
    while _take_slot(engine, table, study_name):
        trial = study.ask()
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        except (ValueError, ArithmeticError) as exc:  # as study.optimize(catch=...) locally
            print(f"trial {trial.number} failed: {exc}", file=sys.stderr)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)
        n += 1
    return n


def spread_study(
    family: str,
    payload: dict[str, Any],
    *,
    budget: int,
    config: Any,
    progress: Progress | None = None,
    gpu: bool = False,
) -> Any:
    """Run ``budget`` trials of ``family`` over ``config.search_workers`` array tasks;
    return the finished Optuna study (loaded from the shared storage)."""
    import optuna

    from ..errors import ModelError

    storage = search_storage()
    name = f"deeprules-{family}-{uuid.uuid4().hex[:12]}"
    rdb = optuna.storages.RDBStorage(storage["url"], engine_kwargs=storage["engine_kwargs"])
    study = optuna.create_study(study_name=name, storage=rdb, direction="maximize")
    engine, table = _slots(storage)
    table.metadata.create_all(engine)
    with engine.begin() as c:
        c.execute(table.insert().values(study_name=name, budget=budget, issued=0))
    n = max(1, min(int(config.search_workers), budget))
    payload = {**payload, "family": family, "budget": budget}
    args: list[list[Any]] = [[storage] * n, [name] * n, list(range(n))]
    job = f"search-{family}"
    with _array("search", name, payload, search_worker, args, job=job, config=config, gpu=gpu) as (
        tasks,
        folder,
        _,
    ):
        _follow(study, tasks, family=family, budget=budget, progress=progress)
    running = [tr for tr in study.get_trials(deepcopy=False) if tr.state == optuna.trial.TrialState.RUNNING]
    for tr in running:  # its worker died (every task has ended): the trial is lost, recorded as failed
        rdb.set_trial_state_values(tr._trial_id, optuna.trial.TrialState.FAIL)
    if not study.get_trials(deepcopy=False):
        errors = [str(t.exception()) for t in tasks if t.exception() is not None]
        raise ModelError(
            f"No {family} trial ran on the cluster: {errors[0] if errors else 'the array tasks did not start'}. "
            f"The workers' logs are in {folder}."
        )
    return optuna.load_study(study_name=name, storage=rdb)


def _follow(study: Any, tasks: list[Any], *, family: str, budget: int, progress: Progress | None) -> None:
    """Report progress until every trial is told, or every array task has ended."""
    import optuna

    finished = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    )
    last, tick = -1, 0
    while True:
        done = len(study.get_trials(deepcopy=False, states=finished))
        if done != last and progress:
            progress(
                done / budget, f"{family}: trial {done} of {budget} ({len(tasks)} workers on the cluster)"
            )
        last = done
        if done >= budget:
            return
        tick += 1
        # a task's result file says it ended; one killed leaves none, so ask sacct now and then
        if all(t.done(force_check=tick % 10 == 0) for t in tasks):
            return
        time.sleep(0.5)


def control_worker(payload_path: str, start: int, stop: int) -> list[list[float]]:
    """One array task of a spread control: the fold scores of labellings ``start:stop``."""
    from ._controls import score_labellings

    with open(payload_path, "rb") as fh:
        p = pickle.load(fh)
    return score_labellings(p["X"], p["labellings"][start:stop], p["folds"], p["model"]).tolist()


def spread_control(
    X: Any,
    labellings: list[Any],
    folds: list[Any],
    model: dict[str, Any],
    *,
    workers: int,
    config: Any,
    progress: Progress | None = None,
) -> Any:
    """The fold scores of every labelling (see ``_controls.score_labellings``), the
    labellings shared out in contiguous blocks over ``workers`` array tasks: the same
    numbers as computing them in one process."""
    import numpy as np

    from ..errors import ModelError

    name = f"deeprules-control-{model['family']}-{uuid.uuid4().hex[:12]}"
    payload = {"X": X, "labellings": labellings, "folds": folds, "model": model}
    bounds = np.linspace(0, len(labellings), workers + 1).round().astype(int)
    args = [bounds[:-1].tolist(), bounds[1:].tolist()]
    job = f"control-{model['family']}"
    with _array("control", name, payload, control_worker, args, job=job, config=config) as (tasks, folder, _):
        tick = 0
        while True:
            tick += 1
            done = sum(t.done(force_check=tick % 10 == 0) for t in tasks)
            if progress:
                progress(
                    done / workers, f"shuffled-label control: {done} of {workers} workers on the cluster done"
                )
            if done == workers:
                break
            time.sleep(1.0)
        blocks = []
        for t in tasks:
            try:
                blocks.append(np.asarray(t.result(), dtype=float).reshape(-1, len(folds)))
            except Exception as exc:  # noqa: BLE001 - a worker's failure, reported with its log
                raise ModelError(
                    f"A worker of the shuffled-label control failed on the cluster: {exc}. "
                    f"The workers' logs are in {folder}."
                ) from exc
    return np.vstack(blocks)
