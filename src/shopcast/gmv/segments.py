"""Segment forecasts that add up: every bottom segment forecast, every level a sum of paths.

:func:`forecast_segments` fits one forecaster per bottom segment (on each of its history draws),
couples the segments' sample paths through a joint bootstrap of their one-step residuals
(:mod:`shopcast.gmv.joint`; independent sampling would understate the total's spread), and sums
the paths up the hierarchy. :func:`shopcast.gmv.segment_goals.segment_goals` then says how likely
the goal is for the total and for each segment, and where the gap is.

Coherence is exact, not approximate: bottom paths are rounded to whole dollars (at most 50 cents
a month off), and sums of whole numbers below 2**53 are exact in float64 in any order, so every
level equals the sum of its children, and the total the sum of the bottom segments, to the last
digit however the sums are taken.

The work runs serially or as Dask tasks (:mod:`shopcast.engine`): segments are grouped in
chunks, each chunk is scattered to the workers once, and each segment's draws depend only on the
run's seed and the segment's name, so the result is the same, digit for digit, in either engine,
on any number of workers.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from shopcast import engine as engines
from shopcast.exceptions import DataError, ModelError, ParameterError
from shopcast.forecasting.base import SamplePaths, future_months, paths_frame
from shopcast.forecasting.baselines import DriftForecaster, SeasonalNaiveForecaster
from shopcast.forecasting.draws import forecast_over_draws
from shopcast.forecasting.ensemble import EnsembleForecaster
from shopcast.forecasting.ets import ETSForecaster
from shopcast.forecasting.ets_fast import FastETSForecaster
from shopcast.forecasting.names import MODELS
from shopcast.forecasting.theta import ThetaForecaster
from shopcast.forecasting.theta_fast import FastThetaForecaster
from shopcast.gmv import goals, joint
from shopcast.gmv.segment_data import SEPARATOR, BadSegment, SegmentData, check_action

#: The models a segment forecast may name (levels or log scale, no Prophet: too slow per series).
SEGMENT_MODELS = (
    "ensemble",
    "ensemble_fast",
    "ets",
    "ets_fast",
    "ets_fast_log",
    "theta",
    "theta_log",
    "theta_fast",
    "theta_fast_log",
    "drift",
    "drift_log",
    "seasonal_naive",
)
#: The members of the segments' statsmodels ensemble (ETS on levels, Theta on logs: the goal
#: pipeline's ensemble before issue 13).
SEGMENT_ENSEMBLE = ("ets", "theta_log")
#: The segments' default: ETS and Theta both on logs, fitted by statsforecast (ETS on logs tries
#: its 4 additive configurations, not 10). Chosen for speed by the rule fixed before the M3 run
#: (``bench/results/ensemble_choice_rule.md``): on all 1,428 M3 monthly series sMAPE 13.36, MASE
#: 0.844, coverage 76.9% (ETS on levels with Theta on logs: 13.38, 0.838, 77.4%) for 54 ms of
#: CPU a series instead of 122 ms.
SEGMENT_FAST_ENSEMBLE = ("ets_fast_log", "theta_fast_log")
assert set(SEGMENT_MODELS) <= set(MODELS)
#: Exact integer sums in float64 need every value below this.
EXACT_LIMIT = 2.0**53
#: History months kept in front of the forecast when the goal window does not ask for more.
HISTORY_SHOWN = 24


def segment_factory(model: str) -> Callable[[], Any]:
    """The factory of an unfitted forecaster named ``model`` (one of :data:`SEGMENT_MODELS`)."""
    factories: dict[str, Callable[[], Any]] = {
        "ets": ETSForecaster,
        "ets_fast": FastETSForecaster,
        "ets_fast_log": lambda: FastETSForecaster(log=True),
        "theta": ThetaForecaster,
        "theta_log": lambda: ThetaForecaster(log=True),
        "theta_fast": FastThetaForecaster,
        "theta_fast_log": lambda: FastThetaForecaster(log=True),
        "drift": DriftForecaster,
        "drift_log": lambda: DriftForecaster(log=True),
        "seasonal_naive": SeasonalNaiveForecaster,
    }
    ensembles = {"ensemble": SEGMENT_ENSEMBLE, "ensemble_fast": SEGMENT_FAST_ENSEMBLE}
    if model in ensembles:
        members = {name: factories[name] for name in ensembles[model]}
        return lambda: EnsembleForecaster(members)
    if model not in factories:
        raise ParameterError("model", model, f"one of {', '.join(SEGMENT_MODELS)}")
    return factories[model]


@dataclass(frozen=True)
class SegmentSettings:
    """How every segment is forecast (small: it travels to every task).

    Attributes:
        model: one of :data:`SEGMENT_MODELS`.
        horizon: months forecast past the last history month.
        n_samples: sample paths per segment (and for every total).
        n_histories: history draws a model is fitted on (reconstructed data).
        seed: seeds everything.
        keep_from: first month kept in the paths (history before it is dropped).
        rank_start, rank_end: the months whose total ranks a segment's paths for the reordering.
    """

    model: str
    horizon: int
    n_samples: int
    n_histories: int
    seed: int
    keep_from: pd.Timestamp
    rank_start: pd.Timestamp
    rank_end: pd.Timestamp


@dataclass(frozen=True)
class SegmentTask:
    """One segment's input to a task: its key, history draws and joint-bootstrap residuals.

    Attributes:
        key: the segment's level values.
        draws: its history draws (rows draws, columns months).
        residuals: the standardised one-step residuals of its median history
            (:func:`shopcast.gmv.joint.innovations`), computed once by the caller.
    """

    key: tuple[str, ...]
    draws: pd.DataFrame
    residuals: pd.Series


@dataclass(frozen=True)
class SegmentOutput:
    """One segment's reordered paths (whole dollars), or why it could not be forecast."""

    key: tuple[str, ...]
    values: np.ndarray | None
    months: pd.DatetimeIndex | None
    draw_of_row: tuple[Any, ...] | None
    notes: tuple[str, ...] = ()
    problem: str | None = None


def forecast_chunk(
    chunk: list[SegmentTask],
    settings: SegmentSettings,
    grid: pd.DatetimeIndex,
    months: np.ndarray,
) -> list[SegmentOutput]:
    """Forecast and reorder the segments of one chunk (the unit of work of a task).

    Args:
        chunk: the segments' inputs.
        settings: the run's settings.
        grid: the residual months shared by every segment.
        months: jointly drawn positions in ``grid``, ``(n_samples, horizon)``
            (:func:`shopcast.gmv.joint.joint_months`).

    Returns:
        One :class:`SegmentOutput` per segment, in order; a segment that cannot be fitted
        carries its ``problem`` instead of paths.
    """
    factory = segment_factory(settings.model)
    out = []
    for task in chunk:
        name = SEPARATOR.join(task.key)
        seed = joint.segment_seed(settings.seed, name)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                paths = forecast_over_draws(
                    factory,
                    task.draws,
                    settings.horizon,
                    n_samples=settings.n_samples,
                    seed=seed,
                    n_histories=min(settings.n_histories, len(task.draws)),
                )
        except ModelError as exc:
            out.append(
                SegmentOutput(task.key, None, None, None, problem=f"cannot be forecast: {exc}")
            )
            continue
        frame = paths.frame
        cols = pd.DatetimeIndex(frame.columns)
        keep = cols >= settings.keep_from
        values = np.round(frame.to_numpy(dtype=float)[:, keep])
        cols = cols[keep]
        in_rank = (cols >= settings.rank_start) & (cols <= settings.rank_end)
        summary = values[:, in_rank].sum(axis=1)
        filled = joint.filled_residuals(
            task.residuals, grid, joint.segment_seed(settings.seed, name, stream=2)
        )
        order = joint.reorder_rows(summary, joint.dependence_keys(filled, months))
        rows = paths.draw_of_row
        out.append(
            SegmentOutput(
                task.key,
                values[order],
                cols,
                tuple(rows[i] for i in order) if rows is not None else None,
            )
        )
    return out


@dataclass(frozen=True)
class SegmentForecast:
    """Sample paths of every segment and every level of the hierarchy, all coherent.

    Attributes:
        levels: the hierarchy's level names, top first.
        months: the paths' months (history kept, then forecast), one column each.
        last_actual: the last history month.
        nodes: every node of the hierarchy -> its paths, ``(n_samples, n_months)`` whole
            dollars; a node is a tuple of level values: ``()`` is the total, a full-length tuple
            a bottom segment. Row ``i`` of every node belongs to the same joint draw.
        bottom: the bottom segments, sorted.
        bad: segments left out (bad data, or no model could be fitted).
        history_kind: ``"observed"`` or ``"reconstructed"``.
        draw_of_row: per bottom segment, the history draw of each row (reconstructed data).
        residual_correlation: the bottom segments' residual correlation matrix (pairwise
            complete months), the dependence the joint draws carry.
        settings: how it was made.
        engine: ``"serial"`` or the Dask scheduler's address.
    """

    levels: tuple[str, ...]
    months: pd.DatetimeIndex
    last_actual: pd.Timestamp
    nodes: dict[tuple[str, ...], np.ndarray] = field(repr=False)
    bottom: tuple[tuple[str, ...], ...]
    bad: tuple[BadSegment, ...]
    history_kind: str
    draw_of_row: dict[tuple[str, ...], tuple[Any, ...] | None] = field(repr=False)
    residual_correlation: pd.DataFrame = field(repr=False)
    settings: SegmentSettings
    engine: str

    def paths(self, node: tuple[str, ...] = ()) -> SamplePaths:
        """A node's paths (the total by default) as :class:`SamplePaths`.

        Their ``draw_of_row`` is :meth:`clusters`, so a goal probability's Monte-Carlo error
        counts the history draws that rows share, for an aggregate as for a segment.
        """
        return SamplePaths(
            paths_frame(self.nodes[tuple(node)], self.months),
            last_actual=self.last_actual,
            draw_of_row=self.clusters(node),
            history_kind=self.history_kind,
        )

    def clusters(self, node: tuple[str, ...] = ()) -> tuple[Any, ...] | None:
        """Each row's history draws under ``node``: the clusters of its Monte-Carlo error.

        A segment's row is labelled by its history draw (``draw_of_row``); an aggregate's row by
        the tuple of the draws of the reconstructed segments under it, so two rows share a
        cluster when they share every history draw (and a total is not treated as if its rows
        were independent). None when no segment under ``node`` is reconstructed.
        """
        node = tuple(node)
        if self.history_kind != "reconstructed":
            return None  # one observed history per segment: the rows are independent
        if node in self.draw_of_row:
            return self.draw_of_row[node]
        labels = [
            self.draw_of_row[k]
            for k in self.bottom
            if k[: len(node)] == node and len(set(self.draw_of_row.get(k) or ())) > 1
        ]
        if not labels:
            return None
        return tuple(labels[0]) if len(labels) == 1 else tuple(zip(*labels, strict=True))

    def children(self, node: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The nodes one level below ``node``, sorted."""
        node = tuple(node)
        return sorted({k[: len(node) + 1] for k in self.bottom if k[: len(node)] == node})

    def name(self, node: tuple[str, ...]) -> str:
        """A node's display name (``"total"`` for the root)."""
        return SEPARATOR.join(node) if node else "total"


def _hierarchy(bottom: dict[tuple[str, ...], np.ndarray], depth: int) -> dict:
    """Every node as the sum of its children, from the bottom up (exact: whole dollars)."""
    nodes = dict(bottom)
    for level in range(depth - 1, -1, -1):
        children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for key in sorted(k for k in nodes if len(k) == level + 1):
            children.setdefault(key[:level], []).append(key)
        for parent, kids in children.items():
            nodes[parent] = reduce(np.add, (nodes[k] for k in kids))
    return nodes


def _chunks(tasks: list[SegmentTask], n_chunks: int) -> list[list[SegmentTask]]:
    size = max(1, math.ceil(len(tasks) / max(1, n_chunks)))
    return [tasks[i : i + size] for i in range(0, len(tasks), size)]


def forecast_segments(
    data: SegmentData,
    horizon: int,
    model: str = "ensemble_fast",
    n_samples: int = 1000,
    n_histories: int = 10,
    seed: int = 0,
    keep_from: str | pd.Timestamp | None = None,
    rank_window: tuple[Any, Any] | None = None,
    on_bad_segment: str = "skip",
    engine: str = "dask",
    address: str | None = None,
    n_workers: int | None = None,
    client: Any = None,
    chunks_per_worker: int = 4,
) -> SegmentForecast:
    """Forecast every bottom segment with dependence kept, and sum up the hierarchy.

    Args:
        data: the segments' history draws (:func:`shopcast.gmv.segment_data.load_segment_csv`
            or :func:`shopcast.gmv.countries.load_country_segments`).
        horizon: months to forecast past the last history month.
        model: one of :data:`SEGMENT_MODELS`.
        n_samples: sample paths per segment and per total.
        n_histories: history draws each segment's model is fitted on (reconstructed data).
        seed: seeds everything.
        keep_from: first month kept in the paths (default: 24 months before the forecast).
        rank_window: ``(start, end)`` months whose total ranks each segment's paths for the
            joint reordering (default: the forecast months); pass the goal window so the
            dependence is imposed where the goal is judged.
        on_bad_segment: ``"skip"`` or ``"fail"`` for a segment no model can be fitted to.
        engine: ``"dask"`` (a LocalCluster, or the cluster at ``address`` /
            ``$SHOPCAST_DASK_ADDRESS``) or ``"serial"`` (this process).
        address: a Dask scheduler address.
        n_workers: workers of the LocalCluster (default one per core).
        client: an existing ``distributed.Client`` to use (overrides ``address``).
        chunks_per_worker: tasks per worker (more balance the load, fewer cost less overhead).

    Returns:
        A :class:`SegmentForecast`.

    Raises:
        ParameterError: for an unknown model, engine or action.
        DataError: with ``on_bad_segment="fail"`` when a segment cannot be forecast, or when no
            segment can.
        shopcast.engine.EngineError: when a Dask task fails after its retries.
    """
    check_action(on_bad_segment)
    segment_factory(model)
    if engine not in engines.ENGINES:
        raise ParameterError("engine", engine, f"one of {', '.join(engines.ENGINES)}")
    last = data.last_month
    future = future_months(last, horizon)
    keep = pd.Timestamp(keep_from) if keep_from else last - pd.DateOffset(months=HISTORY_SHOWN - 1)
    keep = min(keep.to_period("M").to_timestamp(), future[0])
    lo, hi = rank_window if rank_window else (future[0], future[-1])
    settings = SegmentSettings(
        model,
        int(horizon),
        int(n_samples),
        int(n_histories),
        int(seed),
        keep,
        goals.as_month(lo, "rank_window start"),
        goals.as_month(hi, "rank_window end"),
    )
    residuals = {}
    for key in data.keys:
        draws = data.draws[key]
        values = draws.to_numpy(dtype=float)
        # np.nanmedian goes through masked arrays: ten times slower when nothing is missing
        middle = np.median(values, axis=0) if np.isfinite(values).all() else None
        median = pd.Series(
            middle if middle is not None else np.nanmedian(values, axis=0),
            index=pd.DatetimeIndex(draws.columns),
        )
        residuals[SEPARATOR.join(key)] = joint.innovations(median)
    grid = joint.residual_grid(residuals)
    if len(grid) == 0:
        grid = pd.DatetimeIndex([last])  # no residual anywhere: every segment independent
    months = joint.joint_months(len(grid), n_samples, horizon, seed)
    tasks = [SegmentTask(key, data.draws[key], residuals[SEPARATOR.join(key)]) for key in data.keys]
    shared = {"settings": settings, "grid": grid, "months": months}

    if engine == "serial":
        outputs = engines.run_tasks(forecast_chunk, _chunks(tasks, 1), shared)
        where = "serial"
    elif client is not None:
        n = max(1, len(client.scheduler_info()["workers"]))
        chunks = _chunks(tasks, n * chunks_per_worker)
        outputs = engines.run_tasks(forecast_chunk, chunks, shared, client, _names(chunks))
        where = str(client.scheduler.address)
    else:
        with engines.dask_client(address, n_workers) as own:
            n = max(1, len(own.scheduler_info()["workers"]))
            chunks = _chunks(tasks, n * chunks_per_worker)
            outputs = engines.run_tasks(forecast_chunk, chunks, shared, own, _names(chunks))
            where = engines.scheduler_address(address) or f"LocalCluster ({n} workers)"
    results = [o for chunk in outputs for o in chunk]

    bad = list(data.bad)
    failed = [r for r in results if r.problem is not None]
    bad.extend(BadSegment(SEPARATOR.join(r.key), r.problem or "") for r in failed)
    if failed and on_bad_segment == "fail":
        raise DataError(
            data.source,
            "; ".join(b.describe() for b in bad[len(data.bad) :])
            + " (set on_bad_segment to skip to forecast the others)",
        )
    good = [r for r in results if r.problem is None]
    if not good:
        raise DataError(
            data.source, "no segment could be forecast: " + "; ".join(b.describe() for b in bad)
        )
    # numpy on the month stamps: a thousand pandas index unions cost seconds
    stamps = np.unique(np.concatenate([r.months.to_numpy() for r in good]))
    all_months = pd.DatetimeIndex(stamps)
    bottom: dict[tuple[str, ...], np.ndarray] = {}
    for r in good:
        block = np.zeros((n_samples, len(all_months)))
        block[:, np.searchsorted(stamps, r.months.to_numpy())] = r.values
        bottom[r.key] = block
    nodes = _hierarchy(bottom, len(data.levels))
    if float(np.max(np.abs(nodes[()]))) >= EXACT_LIMIT:
        raise ModelError(
            "the total's paths exceed 2**53 dollars a month, beyond which sums of whole dollars "
            "are not exact in float64; rescale the data (e.g. to thousands of dollars)"
        )
    names = [SEPARATOR.join(r.key) for r in good]
    matrix = pd.DataFrame({n: residuals[n] for n in names})
    return SegmentForecast(
        levels=data.levels,
        months=pd.DatetimeIndex(all_months, freq="MS"),
        last_actual=last,
        nodes=nodes,
        bottom=tuple(sorted(bottom)),
        bad=tuple(sorted(bad, key=lambda b: b.segment)),
        history_kind=data.history_kind,
        draw_of_row={r.key: r.draw_of_row for r in good},
        residual_correlation=matrix.corr(min_periods=3),
        settings=settings,
        engine=where,
    )


def _names(chunks: list[list[SegmentTask]]) -> list[str]:
    return [
        f"task {i} (segments {SEPARATOR.join(c[0].key)} .. {SEPARATOR.join(c[-1].key)})"
        for i, c in enumerate(chunks)
    ]
