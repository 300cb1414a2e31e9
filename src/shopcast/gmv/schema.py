"""Parameters of the GMV goal notebooks, beside the analysis that owns their vocabularies.

``gmv_goal_forecast`` uses :class:`GmvGoalForecastParams`; ``threshold_vs_goal`` adds the seller
fields to :class:`GoalFields` (see :mod:`shopcast.sellers.schema`).
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import functools
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shopcast.config import resolve_project_path
from shopcast.engine import ENGINES
from shopcast.forecasting.ensemble import ENSEMBLE_MEMBERS
from shopcast.forecasting.names import META_MODELS, MODELS
from shopcast.gmv.regions import COVERAGES
from shopcast.schema import (
    DaskAddress,
    DataFile,
    ISODate,
    NotebookParams,
    OptionalISODate,
    iso_date,
)

#: The candidates the goal pipeline fits (log-scale drift and Theta: GMV grows exponentially;
#: ETS's AICc search includes the multiplicative seasons, and the damped multiplicative
#: Holt-Winters is the fixed seasonal benchmark, issue 13 item 7). The statsforecast-fitted
#: ``ets_fast`` and ``theta_fast_log`` come last, so the earlier candidates keep their seeds.
GOAL_CANDIDATES = (
    "seasonal_naive",
    "drift_log",
    "ets",
    "theta_log",
    "prophet",
    "hw_damped_mul",
    "ets_fast",
    "theta_fast_log",
)
#: The ensemble of the goal pipeline: the package's default ensemble
#: (:data:`shopcast.forecasting.ensemble.ENSEMBLE_MEMBERS`, chosen on M3 monthly).
GOAL_ENSEMBLE = ENSEMBLE_MEMBERS
#: What the ``model`` parameter of a goal notebook may name.
GOAL_MODELS = GOAL_CANDIDATES + META_MODELS
#: The longest forecast, in months.
MAX_HORIZON_MONTHS = 120
assert set(GOAL_MODELS) <= set(MODELS)


class ForecastFields(NotebookParams):
    """The data, goal and model parameters every GMV goal forecast takes."""

    data_file: DataFile
    data_segment: str
    coverage: Literal[COVERAGES]
    goal_target_usd: float = Field(gt=0)
    goal_start: ISODate
    goal_end: ISODate
    goal_multiple: float = Field(gt=0)
    base_start: ISODate
    base_end: ISODate
    horizon_months: int = Field(ge=1, le=MAX_HORIZON_MONTHS)
    model: Literal[GOAL_MODELS]
    growth: Literal["linear", "logistic"]
    cap_usd_per_month: float = Field(gt=0)
    changepoint_prior_scale: float = Field(gt=0, le=10)
    festival_effects: bool
    ad_scenario: bool
    ad_growth_per_year: float = Field(gt=-1, le=20)
    n_draws: int = Field(ge=1, le=2000)
    n_histories: int = Field(ge=1, le=500)
    n_samples: int = Field(ge=100, le=50000)
    seed: int = Field(ge=0)

    @model_validator(mode="after")
    def _goal_windows(self) -> ForecastFields:
        start, end = iso_date(self.goal_start, "goal_start"), iso_date(self.goal_end, "goal_end")
        base_start, base_end = (
            iso_date(self.base_start, "base_start"),
            iso_date(self.base_end, "base_end"),
        )
        if end < start:
            raise ValueError("goal_end must not be before goal_start")
        if base_end < base_start:
            raise ValueError("base_end must not be before base_start")
        if self.n_histories > self.n_draws:
            raise ValueError(
                f"n_histories ({self.n_histories}) must not exceed n_draws ({self.n_draws})"
            )
        return self


class GoalFields(ForecastFields):
    """The GMV forecast and goal parameters (``gmv_goal_forecast``, ``threshold_vs_goal``)."""

    as_of: OptionalISODate
    history_end: OptionalISODate

    @model_validator(mode="after")
    def _windows(self) -> GoalFields:
        end = iso_date(self.goal_end, "goal_end")
        first, last = check_gmv_file(self.data_file, self.data_segment)
        if self.as_of:
            iso_date(self.as_of, "as_of")
            last = data_last_month(self.data_file, self.as_of)
        if self.history_end:
            history_end = iso_date(self.history_end, "history_end").replace(day=1)
            if first is not None and history_end < first:
                raise ValueError(
                    f"history_end {self.history_end} is before the first month of data_file "
                    f"({first:%Y-%m}); set history_end to a month the data covers, or empty "
                    "for all of it"
                )
            last = min(last, history_end) if last else history_end
        if self.growth == "logistic":
            level = recent_monthly_level(self.data_file, last)
            if level is not None and self.cap_usd_per_month <= level:
                raise ValueError(
                    f"cap_usd_per_month {self.cap_usd_per_month:,.0f} is below the average monthly "
                    f"GMV of the latest published total for the history ({level:,.0f}); logistic "
                    "growth needs a ceiling above current GMV: raise cap_usd_per_month or use "
                    "growth linear"
                )
        if last is not None:
            months = (end.year - last.year) * 12 + end.month - last.month
            if months > MAX_HORIZON_MONTHS:
                raise ValueError(
                    f"goal_end {end:%Y-%m} is {months} months after the end of the history "
                    f"(history_end / data end {last:%Y-%m}); forecasts reach at most "
                    f"{MAX_HORIZON_MONTHS} months: move history_end later or goal_end earlier"
                )
            if months > self.horizon_months:
                raise ValueError(
                    f"goal_end {end:%Y-%m} lies outside the forecast: history_end / data end "
                    f"{last:%Y-%m} "
                    f"and horizon_months is {self.horizon_months}; set horizon_months to at "
                    f"least {months} or move goal_end"
                )
        return self


def history_end_month(
    data_file: str, data_segment: str, history_end: str, as_of: str = ""
) -> dt.date | None:
    """The last month of history: ``history_end`` or the data's last month, whichever is first.

    With ``as_of``, the data's last month is the last one the figures published by then cover.
    """
    _, last = check_gmv_file(data_file, data_segment)
    if as_of:
        last = data_last_month(data_file, as_of)
    if history_end:
        end = dt.date.fromisoformat(history_end).replace(day=1)
        return min(last, end) if last else end
    return last


def check_gmv_file(data_file: str, data_segment: str = "") -> tuple[dt.date | None, dt.date]:
    """Validate a GMV data file with the loader the notebook uses, before any kernel starts.

    The anchors table (a header with ``anchor_id``) is checked by
    :func:`shopcast.gmv.anchors.load_anchors`, a user's CSV by
    :func:`shopcast.gmv.series.load_gmv_csv` (with ``data_segment``).

    Returns:
        The first month of data (None for anchors) and the last month covered.

    Raises:
        DataError: what the loader says is wrong, naming file, line, column and value.
    """
    path = resolve_project_path(data_file)
    stat = path.stat()
    return _checked_gmv(str(path), data_segment, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _checked_gmv(
    path: str,
    segment: str,
    size: int,  # noqa: ARG001 - part of the cache key: a changed file is checked again
    mtime_ns: int,  # noqa: ARG001
) -> tuple[dt.date | None, dt.date]:
    from shopcast.fileio import check_text_file
    from shopcast.gmv.anchors import load_anchors
    from shopcast.gmv.series import load_gmv_csv

    header = check_text_file(path).split("\n", 1)[0]
    if "anchor_id" in next(csv.reader([header]), []):
        anchors = load_anchors(Path(path))
        return None, max(anchors["period_end"]).date().replace(day=1)
    series = load_gmv_csv(Path(path), segment=segment or None)
    return series.index[0].date(), series.index[-1].date()


def recent_monthly_level(data_file: str, last: dt.date | None) -> float | None:
    """Average monthly GMV of the latest global ``total`` anchor ending by ``last`` (a floor).

    Only for the anchors table; None for other files (the forecaster checks the cap against the
    history itself once it is built).
    """
    path = resolve_project_path(data_file)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [
                r
                for r in csv.DictReader(handle)
                if r.get("measure") == "total"
                and r.get("coverage") == "global"
                and r.get("kind") == "estimate"
            ]
        best = None
        for r in rows:
            start = dt.date.fromisoformat(r["period_start"])
            end = dt.date.fromisoformat(r["period_end"])
            if last is not None and end.replace(day=1) > last:
                continue
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            if best is None or end > best[0]:
                best = (end, float(r["value_usd"]) / months)
    except (OSError, ValueError, KeyError):
        return None
    return best[1] if best else None


def _published_by(row: dict, as_of: str) -> bool:
    """Whether a row was surely published by ``as_of``.

    Rows without a date count as known; an ambiguous partial date is left to the loader,
    which says what to do.
    """
    published = (row.get("published") or "").strip()
    if not as_of or not published:
        return True
    try:
        return _last_day(published) <= dt.date.fromisoformat(as_of)
    except ValueError:
        return True


def _last_day(published: str) -> dt.date:
    """The last day a ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` date can mean.

    As :func:`shopcast.gmv.vintage.publication_span`, without importing pandas here.
    """
    if len(published) == 10:
        return dt.date.fromisoformat(published)
    if len(published) == 7:
        year, month = int(published[:4]), int(published[5:])
        return dt.date(year, month, calendar.monthrange(year, month)[1])
    return dt.date(int(published), 12, 31)


def data_last_month(data_file: str, as_of: str = "") -> dt.date | None:
    """The last month a GMV data file covers (read from the CSV alone, without the models).

    The anchors table ends at its latest ``period_end``; a user's CSV at its latest ``date``;
    with ``as_of``, among the rows published by then (a user's CSV without a ``published``
    column: the last month ended by then). Returns None when the file cannot be read here (the
    loader will then say why).
    """
    path = resolve_project_path(data_file)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if _published_by(r, as_of)]
        column = "period_end" if rows and "period_end" in rows[0] else "date"
        if as_of and column == "date" and rows and "published" not in rows[0]:
            cutoff = dt.date.fromisoformat(as_of)
            rows = [r for r in rows if _last_day(r["date"].strip()[:7]) <= cutoff]
        dates = [dt.date.fromisoformat(r[column].strip()[:10]) for r in rows if r.get(column)]
    except (OSError, ValueError, KeyError):
        return None
    return max(dates).replace(day=1) if dates else None


class GmvGoalForecastParams(GoalFields):
    """Parameters of ``notebooks/gmv_goal_forecast.ipynb``."""


class ForecastPostmortemParams(ForecastFields):
    """Parameters of ``notebooks/forecast_postmortem.ipynb``.

    A goal scenario's settings, the vintages to re-run it at, and the date the outcomes are
    known by.
    """

    first_vintage: ISODate
    last_vintage: ISODate
    vintage_step_months: int = Field(ge=1, le=24)
    call_as_of: OptionalISODate
    outcomes_known_by: OptionalISODate
    engine: Literal[ENGINES]
    dask_address: DaskAddress

    @model_validator(mode="after")
    def _vintages(self) -> ForecastPostmortemParams:
        first = iso_date(self.first_vintage, "first_vintage")
        last = iso_date(self.last_vintage, "last_vintage")
        if last < first:
            raise ValueError("last_vintage must not be before first_vintage")
        if self.call_as_of:
            iso_date(self.call_as_of, "call_as_of")
        if self.outcomes_known_by and iso_date(self.outcomes_known_by, "outcomes_known_by") < last:
            raise ValueError(
                "outcomes_known_by must be after last_vintage (or empty for every figure), "
                "otherwise no figure is an outcome of the last vintages"
            )
        return self
