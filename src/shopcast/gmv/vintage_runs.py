"""The goal forecast re-run as of past dates (vintages), serially or as Dask tasks.

Each vintage is one call of :func:`shopcast.gmv.pipeline.run_goal_forecast` with the scenario's
settings and ``as_of`` set to the vintage, so it sees only the figures published by then
(:mod:`shopcast.gmv.vintage`). Two shortcuts keep the post-mortem quick without changing a
number:

- **Vintages that know the same data are forecast once.** A forecast depends on ``as_of`` only
  through the data known on that date (the anchors published by then, or a user's series as
  known then): the history, the model choice, the paths and the goals are functions of those
  data and the settings. Vintages whose known data have the same digest share one forecast
  (copied, with its own ``as_of``); ``VintageForecast.same_data_as`` says which.
- **Vintages run in parallel** on the project's Dask engine (:mod:`shopcast.engine`): a
  LocalCluster, or the scheduler at an address. Every random step is seeded from the scenario's
  seed alone, never from the order or the place a vintage runs, so a serial run and a Dask run
  give the same numbers to the last digit (a test checks).
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from shopcast import engine as engines
from shopcast.config import resolve_project_path
from shopcast.exceptions import DataError, ParameterError, ShopcastError
from shopcast.gmv.pipeline import ForecastSettings, GoalForecast, known_data, run_goal_forecast
from shopcast.gmv.vintage import parse_as_of
from shopcast.publish import sha256


def vintage_dates(
    first: str, last: str, step_months: int = 3, extra: tuple[str, ...] = ()
) -> list[pd.Timestamp]:
    """Month ends from ``first`` to ``last`` every ``step_months``, plus the ``extra`` dates.

    Quarter ends by default; sorted and unique.

    Raises:
        ParameterError: ``last`` before ``first`` or a step below 1.
    """
    start, end = parse_as_of(first, "first_vintage"), parse_as_of(last, "last_vintage")
    if start is None or end is None or end < start:
        raise ParameterError("last_vintage", last, f"an ISO date on or after first_vintage {first}")
    if not isinstance(step_months, int) or step_months < 1:
        raise ParameterError("vintage_step_months", step_months, "a whole number of months >= 1")
    dates = set(pd.date_range(start, end, freq=f"{step_months}ME"))
    dates.update(parse_as_of(d, "extra vintage") for d in extra if d)
    return sorted(dates)


@dataclass(frozen=True)
class GoalSpec:
    """The goals a post-mortem scores (a scenario's goal settings)."""

    target_usd: float
    start: str
    end: str
    multiple: float
    base_start: str
    base_end: str


@dataclass(frozen=True)
class VintageSpec:
    """What every vintage of one post-mortem shares: the data, the goals and the settings.

    Attributes:
        data_file: the anchors table or a user's GMV CSV.
        coverage: the region forecast and scored.
        segment: segment of a user's CSV ('' sums all).
        goals: the goals.
        horizon_months: months forecast past each vintage's last history month.
        settings: the forecaster's settings.
        n_draws: reconstruction draws per vintage.
        n_histories: history draws a model is fitted on per vintage.
        n_samples: sample paths per vintage.
        seed: seeds every random step (the same for every vintage).
    """

    data_file: str | Path
    coverage: str
    segment: str
    goals: GoalSpec
    horizon_months: int
    settings: ForecastSettings
    n_draws: int
    n_histories: int
    n_samples: int
    seed: int


@dataclass
class VintageForecast:
    """One vintage's re-run goal forecast (or why there is none).

    Attributes:
        as_of: the vintage.
        forecast: the :class:`GoalForecast`, or None when it could not be made.
        error: why not (the error's message), "" otherwise.
        seconds: how long the run took (0 for a vintage that shared an earlier one's forecast).
        same_data_as: the earlier vintage that knew the same data and whose forecast this is
            (copied, with this vintage's ``as_of``), or None when it was computed for this one.
    """

    as_of: pd.Timestamp
    forecast: GoalForecast | None
    error: str = ""
    seconds: float = 0.0
    same_data_as: pd.Timestamp | None = None


def known_data_digest(spec: VintageSpec, as_of: pd.Timestamp) -> str | None:
    """SHA-256 of the data a forecast as of ``as_of`` sees, or None when they cannot be read.

    The digest covers the kind of history and every value and label of the known anchors (or of
    the user's monthly series); None leaves the vintage to be run on its own, which reports why
    its data cannot be read.
    """
    try:
        kind, data = known_data(spec.data_file, spec.segment, f"{as_of:%Y-%m-%d}")
    except ShopcastError:
        return None
    digest = hashlib.sha256(kind.encode())
    digest.update(data.to_csv().encode())
    return digest.hexdigest()


def forecast_vintage(
    as_of: pd.Timestamp, spec: VintageSpec, data_sha256: str = ""
) -> VintageForecast:
    """Run the goal forecast as of one vintage (the task the engine runs).

    A vintage whose data cannot carry a forecast (too few figures, a horizon too short) is kept
    with the reason, not dropped.

    Args:
        as_of: the vintage.
        spec: the settings every vintage shares.
        data_sha256: the data file's SHA-256 as the caller read it; checked before the forecast,
            so that a worker that sees another file under the same path (a remote cluster)
            stops instead of forecasting other data.

    Raises:
        DataError: the data file on this machine is not the caller's.
    """
    path = resolve_project_path(spec.data_file)
    if data_sha256 and sha256(path) != data_sha256:
        raise DataError(
            path,
            f"this file differs from the one the post-mortem was started with (SHA-256 "
            f"{data_sha256[:12]}...) on the machine running vintage {as_of:%Y-%m-%d}; give the "
            "Dask workers the same data file at the same path, or run with engine serial",
        )
    t0 = time.perf_counter()
    g = spec.goals
    try:
        forecast = run_goal_forecast(
            path,
            spec.coverage,
            spec.segment,
            g.target_usd,
            g.start,
            g.end,
            g.multiple,
            g.base_start,
            g.base_end,
            spec.horizon_months,
            spec.settings,
            history_end="",
            n_draws=spec.n_draws,
            n_histories=spec.n_histories,
            n_samples=spec.n_samples,
            seed=spec.seed,
            as_of=f"{as_of:%Y-%m-%d}",
        )
    except ShopcastError as exc:
        return VintageForecast(as_of, None, str(exc), time.perf_counter() - t0)
    return VintageForecast(as_of, forecast, "", time.perf_counter() - t0)


def _shared_copy(first: VintageForecast, as_of: pd.Timestamp) -> VintageForecast:
    """``first``'s forecast for another vintage that knew the same data."""
    forecast = first.forecast
    if forecast is not None:
        forecast = replace(copy.deepcopy(forecast), as_of=f"{as_of:%Y-%m-%d}")
    return VintageForecast(as_of, forecast, first.error, 0.0, first.as_of)


def run_vintages(
    vintages: list[pd.Timestamp],
    spec: VintageSpec,
    *,
    engine: str = "serial",
    address: str | None = None,
    n_workers: int | None = None,
    client: Any = None,
) -> list[VintageForecast]:
    """Re-run the goal forecast as of each vintage, each distinct set of known data once.

    Args:
        vintages: the ``as_of`` dates (see :func:`vintage_dates`).
        spec: what every vintage shares.
        engine: ``"serial"`` (this process) or ``"dask"`` (a LocalCluster, or the cluster at
            ``address`` / ``$SHOPCAST_DASK_ADDRESS``).
        address: a Dask scheduler address.
        n_workers: workers of the LocalCluster (default one per core).
        client: an existing ``distributed.Client`` (overrides ``address``).

    Returns:
        One :class:`VintageForecast` per vintage, in the order given.

    Raises:
        ParameterError: an unknown engine.
        shopcast.engine.EngineError: a Dask task failed after its retries.
    """
    if engine not in engines.ENGINES:
        raise ParameterError("engine", engine, f"one of {', '.join(engines.ENGINES)}")
    digests = [known_data_digest(spec, as_of) for as_of in vintages]
    first_with: dict[str, int] = {}
    todo = []
    for i, digest in enumerate(digests):
        if digest is None or digest not in first_with:
            todo.append(i)
            if digest is not None:
                first_with[digest] = i
    # the path as seen here: a worker elsewhere must find the same file under it
    path = resolve_project_path(spec.data_file)
    spec = replace(spec, data_file=str(path))
    chunks = [vintages[i] for i in todo]
    shared = {"spec": spec, "data_sha256": sha256(path)}
    names = [f"vintage {vintages[i]:%Y-%m-%d}" for i in todo]
    if engine == "serial":
        done = engines.run_tasks(forecast_vintage, chunks, shared, names=names)
    elif client is not None:
        done = engines.run_tasks(forecast_vintage, chunks, shared, client, names)
    else:
        with engines.dask_client(address, n_workers) as own:
            done = engines.run_tasks(forecast_vintage, chunks, shared, own, names)
    computed = dict(zip(todo, done, strict=True))
    out = []
    for i, (as_of, digest) in enumerate(zip(vintages, digests, strict=True)):
        if i in computed:
            out.append(computed[i])
        else:
            out.append(_shared_copy(computed[first_with[digest]], as_of))
    return out
