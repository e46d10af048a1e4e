"""The four ways to split: by group, stratified rows, leave-batch-out, time-ordered.

Each builder returns (side per row: 0 train / 1 tune / 2 test, fold per row, extra
params for the Split record) and raises SplitError when the data do not allow it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..errors import SplitError
from ._assign import assign_rows_stratified, assign_units, contiguous_blocks
from ._common import (
    REGRESSION_BINS,
    _check_big_groups,
    _check_every_side_has_every_class,
    _check_units_per_stratum,
    _folds_on,
    _group_codes,
    _n_bins_for,
    _sides_fractions,
    _stratification_report,
    _unit_counts,
    stratum_codes,
)
from ._types import SIDES


def _group(df, roles, *, test_fraction, tune_fraction, n_folds, rng, holdout_batch):
    if not roles.group:
        raise SplitError(
            "The 'group' strategy needs a group column (the individual, donor or patient each "
            "row comes from). Set it on the Data page, or choose 'stratified' if every row is a "
            "different individual."
        )
    units, names_g = _group_codes(df, roles.group)
    _check_big_groups(units, names_g, roles.group, test_fraction)
    fractions = _sides_fractions(test_fraction, tune_fraction)
    n_sides = int((fractions > 0).sum())
    n_bins = REGRESSION_BINS
    if roles.task == "regression":
        n_bins = _n_bins_for(df, roles, units, n_sides)
    strata, names = stratum_codes(df, roles, n_bins=n_bins)
    _check_units_per_stratum(
        units,
        strata,
        names,
        n_sides,
        what="sides (train, tune, test)" if n_sides == 3 else "sides (train, test)",
        unit_word="group",
        fix="Collect more individuals of that class, merge rare classes, or set the tuning "
        "fraction to 0 so that there are two sides only.",
    )
    counts = _unit_counts(units, strata, len(names_g), len(names))
    strat = counts[:, :-1] if counts[:, -1].sum() == 0 else counts  # unlabelled rows: size only
    side_of_group = assign_units(strat, fractions, rng)
    side = side_of_group[units]
    _check_every_side_has_every_class(
        side, strata, names, fractions, "Its groups are too few or too large; choose a larger fraction."
    )
    fold = _folds_on(
        df,
        roles,
        np.flatnonzero(side == 0),
        units,
        strata,
        names,
        n_folds,
        rng,
        unit_word="group",
        grouped=True,
    )
    extra = _stratification_report(side, strata, names, fractions, units, enforce=True)
    extra["n_bins"] = n_bins if roles.task == "regression" else None
    extra["n_groups"] = {SIDES[s]: int(len(np.unique(units[side == s]))) for s in range(3)}
    return side, fold, extra


def _stratified(df, roles, *, test_fraction, tune_fraction, n_folds, rng, holdout_batch):
    fractions = _sides_fractions(test_fraction, tune_fraction)
    n_sides = int((fractions > 0).sum())
    strata, names = stratum_codes(df, roles)
    rows = np.arange(len(df))
    _check_units_per_stratum(
        rows,
        strata,
        names,
        n_sides + max(n_folds, 0),
        what="sides and CV folds",
        unit_word="sample",
        fix="Collect more samples of that class, merge rare classes, or use fewer folds.",
    )
    side = assign_rows_stratified(strata, fractions, rng)
    _check_every_side_has_every_class(side, strata, names, fractions, "Collect more samples of it.")
    fold = _folds_on(
        df,
        roles,
        np.flatnonzero(side == 0),
        rows,
        strata,
        names,
        n_folds,
        rng,
        unit_word="sample",
        grouped=False,
    )
    extra = _stratification_report(side, strata, names, fractions)
    extra["n_groups"] = {SIDES[s]: int((side == s).sum()) for s in range(3)}
    return side, fold, extra


def _holdout_levels(df, roles, holdout_batch, test_fraction, strata, names=()) -> tuple[str, list[str]]:
    column: str | None = roles.batch[0] if roles.batch else None
    levels: list[str] | None = None
    if isinstance(holdout_batch, Mapping):
        if len(holdout_batch) != 1:
            raise SplitError("Give 'holdout_batch' as {column: [levels]} with one column.")
        column, chosen = next(iter(holdout_batch.items()))
        levels = [str(v) for v in ([chosen] if isinstance(chosen, (str, int, float)) else chosen)]
    elif holdout_batch is not None:
        levels = (
            [str(holdout_batch)]
            if isinstance(holdout_batch, (str, int, float))
            else [str(v) for v in holdout_batch]
        )
    if column is None:
        raise SplitError(
            "The 'leave_batch_out' strategy needs a batch column (site, run, plate, date): set one "
            "on the Data page, or choose the 'group' strategy."
        )
    if column not in df.columns:
        raise SplitError(f"The batch column {column!r} is not in the table.")
    batch = df[column].astype(str).where(df[column].notna(), None)
    if batch.isna().any():
        raise SplitError(
            f"{int(batch.isna().sum())} row(s) have no value in the batch column {column!r}. Fill "
            "them in (e.g. 'unknown' is its own batch) or drop those rows."
        )
    all_levels = sorted(batch.unique())
    if len(all_levels) < 2:
        raise SplitError(
            f"The batch column {column!r} has one level only ({all_levels[0]!r}): there is no other "
            "batch to hold out. Choose the 'group' or 'stratified' strategy."
        )
    if levels is not None:
        unknown = [v for v in levels if v not in all_levels]
        if unknown:
            raise SplitError(
                f"The batch level(s) {unknown} are not in {column!r}; its levels are "
                f"{all_levels[:20]}{' ...' if len(all_levels) > 20 else ''}."
            )
        if set(levels) == set(all_levels):
            raise SplitError(f"Holding out every level of {column!r} leaves nothing to train on.")
        return column, levels
    n_classes = int(strata.max()) + 1
    share = batch.value_counts(normalize=True)
    best: tuple[float, str] | None = None
    for level in all_levels:
        on = (batch == level).to_numpy() & (strata >= 0)
        if len(np.unique(strata[on])) < n_classes:
            continue
        gap = abs(float(share[level]) - test_fraction)
        if best is None or gap < best[0]:
            best = (gap, level)
    if best is None:
        raise SplitError(_no_single_level_advice(batch, strata, names, column, test_fraction))
    return column, [best[1]]


def _no_single_level_advice(batch, strata, names, column: str, test_fraction: float) -> str:
    """What to do when no batch level holds every class: which levels together do."""
    from itertools import combinations

    n_classes = int(strata.max()) + 1
    levels = sorted(batch.unique())
    held = {lev: set(np.unique(strata[(batch == lev).to_numpy() & (strata >= 0)]).tolist()) for lev in levels}
    share = batch.value_counts(normalize=True)
    what = "; ".join(
        f"{lev}: {', '.join(str(names[c]) if c < len(names) else str(c) for c in sorted(held[lev])) or 'no labelled row'}"
        for lev in levels[:12]
    ) + ("; …" if len(levels) > 12 else "")
    best: tuple[float, tuple[str, ...]] | None = None
    for k in range(2, min(len(levels) - 1, 4) + 1):
        for combo in combinations(levels, k):
            if len(set().union(*(held[lev] for lev in combo))) < n_classes:
                continue
            gap = abs(float(sum(share[lev] for lev in combo)) - test_fraction)
            if best is None or gap < best[0]:
                best = (gap, combo)
        if best is not None and len(levels) > 8:
            break
    head = (
        f"No single level of {column!r} holds every class ({what}), so a test set of one held-out "
        "level would score only some of the classes. "
    )
    if best is None:
        return head + (
            f"No set of levels short of all of them holds every class either: this design cannot test "
            f"whether a model transfers to a new {column!r}. Choose the 'group' strategy (split by "
            f"individual) and say in the paper that performance on a new {column!r} was not tested."
        )
    combo = best[1]
    n = int(batch.isin(combo).sum())
    return head + (
        f"Hold out several levels together instead: for example {', '.join(map(repr, combo))} "
        f"({n} rows, {n / len(batch):.0%} of the table) hold every class. Pick them under 'Levels of "
        f"{column!r} to hold out' on the Split page (in a study file: split: {{strategy: leave_batch_out, "
        f"holdout_batch: [{', '.join(map(str, combo))}]}}), or choose the 'group' strategy."
    )


def _leave_batch_out(df, roles, *, test_fraction, tune_fraction, n_folds, rng, holdout_batch):
    strata, names = stratum_codes(df, roles)
    column, levels = _holdout_levels(df, roles, holdout_batch, test_fraction, strata, names)
    held = df[column].astype(str).isin(levels).to_numpy()
    if roles.group:
        units, _ = _group_codes(df, roles.group)
    else:
        units = np.arange(len(df))
    # a group with any row in the held-out batch goes wholly to test: no individual on two sides
    test_units = np.zeros(units.max() + 1, dtype=bool)
    test_units[units[held]] = True
    test = test_units[units]
    moved = int((test & ~held).sum())
    side = np.zeros(len(df), dtype=np.int64)
    side[test] = 2
    rest = np.flatnonzero(~test)
    if len(rest) == 0:
        raise SplitError(f"Holding out {levels} of {column!r} leaves nothing to train on.")
    tune_share = tune_fraction / max(1e-9, len(rest) / len(df))
    if tune_share >= 0.9:
        raise SplitError(
            f"Holding out {levels} of {column!r} leaves {len(rest)} rows, too few for a tuning side "
            f"of {tune_fraction:.0%} of the table. Lower the tuning fraction or hold out a smaller batch."
        )
    sub_fr = np.array([1.0 - tune_share, tune_share])
    local, inverse = np.unique(units[rest], return_inverse=True)
    if tune_share > 0:
        counts = _unit_counts(inverse, strata[rest], len(local), len(names))
        strat = counts[:, :-1] if counts[:, -1].sum() == 0 else counts
        side[rest] = assign_units(strat, sub_fr, rng)[inverse]
    _check_every_side_has_every_class(
        side,
        strata,
        names,
        np.array([1.0, tune_fraction, 1.0]),
        f"With {levels} of {column!r} held out, choose other level(s) in 'holdout_batch' "
        "or the 'group' strategy.",
    )
    fold = _folds_on(
        df,
        roles,
        np.flatnonzero(side == 0),
        units,
        strata,
        names,
        n_folds,
        rng,
        unit_word="group" if roles.group else "sample",
        grouped=bool(roles.group),
    )
    extra = _stratification_report(side, strata, names, _sides_fractions(test_fraction, tune_fraction))
    extra.update(
        batch_column=column,
        holdout_batch=levels,
        rows_moved_to_test=moved,
        n_groups={SIDES[s]: int(len(np.unique(units[side == s]))) for s in range(3)},
    )
    return side, fold, extra


def _time_values(df: pd.DataFrame, column: str) -> np.ndarray:
    t = df[column]
    if pd.api.types.is_numeric_dtype(t):
        values = pd.to_numeric(t, errors="coerce").astype(float)
    else:
        values = pd.to_datetime(t, errors="coerce").astype("int64").astype(float)
        values[pd.to_datetime(t, errors="coerce").isna().to_numpy()] = np.nan
    missing = np.isnan(np.asarray(values, dtype=float))
    if missing.any():
        rows = np.flatnonzero(missing)
        raise SplitError(
            f"{len(rows)} row(s) have no usable value in the time column {column!r} (first rows: "
            f"{', '.join(str(r + 1) for r in rows[:5])}). Fill them in or drop those rows."
        )
    return np.asarray(values, dtype=float)


def _time_label(value: float, column: pd.Series) -> float | str:
    """A time value as the user wrote it: a number, or an ISO date."""
    if pd.api.types.is_numeric_dtype(column):
        return value
    return pd.Timestamp(int(value)).isoformat()


def _time(df, roles, *, test_fraction, tune_fraction, n_folds, rng, holdout_batch):
    if not roles.time:
        raise SplitError(
            "The 'time' strategy needs a time column (time point, visit, collection date): set "
            "it on the Data page, or choose the 'group' strategy."
        )
    if roles.time not in df.columns:
        raise SplitError(f"The time column {roles.time!r} is not in the table.")
    t = _time_values(df, roles.time)
    strata, names = stratum_codes(df, roles)
    if roles.group:
        units, _ = _group_codes(df, roles.group)
        start = pd.Series(t).groupby(units).min().to_numpy()  # each group's first time point
    else:
        units, start = pd.factorize(pd.Series(t), sort=True)[0], np.unique(t)
    fractions = _sides_fractions(test_fraction, tune_fraction)
    keep = fractions > 0
    n_units = len(start)
    order = np.argsort(start, kind="stable")
    # units that share a start time are tied: cut only between distinct times
    times_sorted = start[order]
    distinct, tie = np.unique(times_sorted, return_inverse=True)
    if len(distinct) < keep.sum() + (n_folds if n_folds else 0):
        raise SplitError(
            f"The time column {roles.time!r} has {len(distinct)} distinct "
            f"{'first time point(s) of the groups' if roles.group else 'time point(s)'}; a time-ordered "
            f"split needs at least {keep.sum()} (one per side) plus one per CV fold. Choose the "
            "'group' strategy, or fewer folds."
        )
    unit_sizes = np.bincount(units, minlength=n_units)[order]
    sizes_by_time = np.bincount(tie, weights=unit_sizes)
    block_of_time = contiguous_blocks(sizes_by_time, fractions[keep])
    sides_used = np.flatnonzero(keep)
    side_of_unit = np.empty(n_units, dtype=np.int64)
    side_of_unit[order] = sides_used[block_of_time[tie]]
    side = side_of_unit[units]
    _check_every_side_has_every_class(
        side, strata, names, fractions, "The label changes over time; choose the 'group' strategy."
    )
    fold = np.full(len(df), -1, dtype=np.int64)
    if n_folds:
        train_times = np.flatnonzero(sides_used[block_of_time] == 0)
        if len(train_times) < n_folds:
            raise SplitError(
                f"The training side holds {len(train_times)} distinct time point(s), fewer than the "
                f"{n_folds} CV folds (one block of time each). Choose fewer folds (n_folds = 2), or "
                "set n_folds = 0."
            )
        fold_of_time = np.full(len(distinct), -1)
        fold_of_time[train_times] = contiguous_blocks(
            sizes_by_time[train_times], np.full(n_folds, 1 / n_folds)
        )
        fold_of_unit = np.empty(n_units, dtype=np.int64)
        fold_of_unit[order] = fold_of_time[tie]
        fold = np.where((side == 0) & (strata >= 0), fold_of_unit[units], -1)
    extra = _stratification_report(side, strata, names, fractions)
    extra.update(
        time_column=roles.time,
        test_from=_time_label(
            float(distinct[np.flatnonzero(sides_used[block_of_time] == 2)].min()), df[roles.time]
        ),
        n_groups={SIDES[s]: int(len(np.unique(units[side == s]))) for s in range(3)},
        fold_kind="contiguous time blocks",
    )
    return side, fold, extra


BUILDERS = {"group": _group, "stratified": _stratified, "leave_batch_out": _leave_batch_out, "time": _time}
