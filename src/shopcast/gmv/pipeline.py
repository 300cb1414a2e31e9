"""The path to the goal, end to end: history -> forecast paths -> goals, gap, time to goal.

One function, :func:`run_goal_forecast`, composes the analysis modules so that every notebook that
needs a GMV forecast toward a goal (``gmv_goal_forecast``, ``threshold_vs_goal``) calls the same
code with the same parameters instead of copying cells.

History. The default data file is the table of published anchors: the monthly history is then
*reconstructed* (:func:`shopcast.gmv.reconstruct.reconstruct`) and its draws carry the sources'
disagreement into the forecast. Any other CSV is a user's own GMV series
(:func:`shopcast.gmv.series.load_gmv_csv`), taken as observed (one history, no reconstruction).

Model. ``model`` names a forecaster; ``"auto"`` picks one by rolling-origin backtest (MASE) on the
median history (:func:`shopcast.select_model`), and that choice is then fitted on each
history draw. The backtest always runs against the seasonal-naive and drift baselines and is
reported, including when the forecaster does not beat them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopcast.config import resolve_project_path
from shopcast.exceptions import DataError, ParameterError
from shopcast.forecasting import backtest
from shopcast.forecasting.base import SamplePaths
from shopcast.forecasting.baselines import DriftForecaster, SeasonalNaiveForecaster
from shopcast.forecasting.draws import forecast_over_draws
from shopcast.forecasting.ensemble import ensemble_factory, ensemble_members
from shopcast.forecasting.ets import ETSForecaster, HoltWintersForecaster
from shopcast.forecasting.ets_fast import FastETSForecaster
from shopcast.forecasting.prophet import ProphetForecaster
from shopcast.forecasting.selection import select_model
from shopcast.forecasting.theta import ThetaForecaster
from shopcast.forecasting.theta_fast import FastThetaForecaster
from shopcast.gmv import goals
from shopcast.gmv.anchors import load_anchors
from shopcast.gmv.evidence import month_support
from shopcast.gmv.outside_view import (
    COMBINATION,
    INSIDE_MIN_MONTHS,
    YOUNG_MIN_MONTHS,
    Views,
    combine,
    market_age,
)
from shopcast.gmv.reconstruct import fitted_members, reconstruct
from shopcast.gmv.schema import GOAL_ENSEMBLE, GOAL_MODELS
from shopcast.gmv.series import load_gmv_csv
from shopcast.gmv.vintage import anchors_as_of, parse_as_of

#: The seed article's figure: TikTok e-commerce ad volume up 248.54% (GoodsFox, Jan 2023).
SEED_AD_GROWTH = 2.4854

#: Training months at the backtest's first origin when the history is long enough.
BACKTEST_INITIAL = 18


@dataclass(frozen=True)
class ForecastSettings:
    """How to forecast (the notebook's model parameters).

    Attributes:
        model: one of :data:`shopcast.gmv.schema.GOAL_MODELS`.
        growth: Prophet's trend, ``"linear"`` or ``"logistic"``.
        cap_usd_per_month: market ceiling for logistic growth (USD per month).
        changepoint_prior_scale: Prophet's trend flexibility.
        festival_effects: November/December shopping-festival effects (Prophet).
        ad_scenario: add the advertising regressor scenario (Prophet).
        ad_growth_per_year: assumed future year-over-year growth of ad volume (0.5 = +50%).
        outside_weight: weight of the outside view in the combined forecast, in the family of
            :data:`~shopcast.gmv.outside_view.COMBINATION` (the prior's exponent, or the pool's
            share of paths); default the leave-one-platform-out choice; 0 keeps the inside
            view, still truncated.
    """

    model: str = "prophet"
    growth: str = "linear"
    cap_usd_per_month: float = 5e9
    changepoint_prior_scale: float = 0.05
    festival_effects: bool = True
    ad_scenario: bool = False
    ad_growth_per_year: float = SEED_AD_GROWTH
    outside_weight: float = COMBINATION[1]


resolve_path = resolve_project_path


def assumed_ad_index(
    months: pd.DatetimeIndex, growth_per_year: float = SEED_AD_GROWTH
) -> pd.Series:
    """An ASSUMED monthly ad-volume index: constant growth at the one published rate.

    No monthly series of TikTok Shop ad volume is public; the seed article gives one figure
    (+248.54% as of January 2023). The index is that growth spread evenly over the months
    (value 1 in the first month). It is a scenario input, labelled as assumed in the report.
    """
    steps = np.arange(len(months), dtype=float)
    return pd.Series((1.0 + growth_per_year) ** (steps / 12.0), index=months, name="ad_index")


def forecaster_factories(settings: ForecastSettings, history: pd.Series) -> dict[str, Callable]:
    """Factories of the candidate forecasters, configured from ``settings``."""

    def prophet() -> ProphetForecaster:
        kwargs: dict[str, Any] = {
            "growth": settings.growth,
            "changepoint_prior_scale": settings.changepoint_prior_scale,
            "festivals": settings.festival_effects,
        }
        if settings.growth == "logistic":
            kwargs["cap"] = settings.cap_usd_per_month
        if settings.ad_scenario:
            kwargs["ad_index"] = assumed_ad_index(pd.DatetimeIndex(history.index))
            kwargs["ad_growth"] = settings.ad_growth_per_year
        return ProphetForecaster(**kwargs)

    return {
        "seasonal_naive": SeasonalNaiveForecaster,
        "drift_log": lambda: DriftForecaster(log=True),
        "ets": ETSForecaster,
        "theta_log": lambda: ThetaForecaster(log=True),
        "prophet": prophet,
        "hw_damped_mul": HoltWintersForecaster,
        "ets_fast": FastETSForecaster,
        "theta_fast_log": lambda: FastThetaForecaster(log=True),
    }


@dataclass(frozen=True)
class GoalForecast:
    """Everything the goal report shows. DataFrames are documented where they are made.

    Attributes:
        history_kind: ``"reconstructed"`` (from published anchors) or ``"observed"`` (user data).
        history: median monthly history (USD per month).
        draws: history draws (rows) by month.
        anchors: the anchors table (reconstructed history) or None.
        residuals: each anchor against the reconstruction (or None).
        paths: full sample paths (history draw + forecast) with their history draws and kind.
        last_actual: the last history month.
        model_name: the model that produced the forecast; ``model_reason``: why.
        selection: backtest scores of the candidates when ``model="auto"`` (else empty).
        absolute, multiple: :class:`shopcast.gmv.goals.GoalResult` of each goal.
        required_growth: constant monthly growth needed from the last actual month (absolute goal).
        required: the required path table (or None when the window starts after the next month).
        growth_table: required vs trailing monthly growth.
        gap: month-by-month gap table (P50 forecast vs required).
        time_to_goal: :class:`shopcast.gmv.goals.TimeToGoal` for the annual target.
        backtest_summary: MASE, sMAPE, MAPE and interval coverage per model.
        selection_description: what the model-choice backtest covered, in words ("" unless auto).
        backtest_description: what the backtest against the baselines covered, in words.
        notes: sentences for the caveats (choices made automatically).
        as_of: the data vintage (ISO date; "" = every figure in the file, as known today).
        views: the inside, outside and combined forecasts (:class:`Views`); ``paths`` are its
            combined paths. For a young market (fewer than 12 months) ``views.inside`` is None.
        support: what each month of a reconstructed history rests on (the figures known on
            ``as_of`` whose periods cover it, and whether they pin it down; see
            :func:`shopcast.gmv.evidence.month_support`); None for an observed history.
    """

    history_kind: str
    history: pd.Series
    draws: pd.DataFrame
    anchors: pd.DataFrame | None
    residuals: pd.DataFrame | None
    paths: SamplePaths
    last_actual: pd.Timestamp
    model_name: str
    model_reason: str
    selection: pd.DataFrame
    absolute: goals.GoalResult
    multiple: goals.GoalResult
    required_growth: float | None
    required: pd.DataFrame | None
    growth_table: pd.DataFrame | None
    gap: pd.DataFrame | None
    time_to_goal: goals.TimeToGoal
    backtest_summary: pd.DataFrame
    selection_description: str
    backtest_description: str
    notes: list[str] = field(default_factory=list)
    as_of: str = ""
    views: Views | None = None
    support: pd.DataFrame | None = None


def load_history(
    data_file: str | Path,
    coverage: str = "global",
    segment: str = "",
    n_draws: int = 200,
    seed: int = 0,
    history_end: str = "",
    as_of: str = "",
):
    """History draws from the anchors table (reconstructed) or a user's GMV CSV (observed).

    Args:
        data_file: the anchors table or a user's GMV CSV.
        coverage: region reconstructed from the anchors.
        segment: segment of a user's CSV ('' sums all).
        n_draws: reconstruction draws.
        seed: seeds the draws.
        history_end: last month of the history ('' = the data's last month). Months after it
            are forecast, not reconstructed: past the last figure on the chosen coverage a
            reconstruction only extrapolates its smoothness prior, which a forecaster does
            better (with a trend model and its uncertainty).
        as_of: the data vintage: only figures published on or before it are used
            (:mod:`shopcast.gmv.vintage`), and by default the history ends at the last month
            they cover; "" uses every figure.

    Returns:
        ``(kind, draws, anchors, residuals)``; ``anchors`` are the figures known on ``as_of``.
    """
    path = resolve_path(data_file)
    kind, data = known_data(path, segment, as_of)
    if kind == "reconstructed":
        anchors = data
        rec = reconstruct(
            anchors, coverage=coverage, n_draws=n_draws, seed=seed, end=history_end or None
        )
        return "reconstructed", rec.draws, anchors, rec.residuals
    series = data
    if history_end:
        if pd.Timestamp(history_end) < series.index[0]:
            raise DataError(
                path,
                f"history_end {history_end} is before the first month of the "
                f"data ({series.index[0]:%Y-%m}); set history_end to a month the "
                "data covers, or empty for all of it",
            )
        series = series[series.index <= pd.Timestamp(history_end)]
        if len(series) < YOUNG_MIN_MONTHS:
            raise DataError(
                path,
                f"history_end {history_end} leaves {len(series)} month(s); at least "
                f"{YOUNG_MIN_MONTHS} are needed to forecast; set a later history_end",
            )
    draws = pd.DataFrame([series.to_numpy(dtype=float)], columns=series.index)
    draws.index.name = "draw"
    return "observed", draws, None, None


def known_data(
    data_file: str | Path, segment: str = "", as_of: str = ""
) -> tuple[str, pd.DataFrame | pd.Series]:
    """The data a forecast as of ``as_of`` sees: all that :func:`load_history` builds on.

    Returns:
        ``("reconstructed", anchors known on as_of)`` for the anchors table, or
        ``("observed", the monthly series as known on as_of)`` for a user's GMV CSV.
    """
    path = resolve_path(data_file)
    if is_anchors_table(path):
        return "reconstructed", anchors_as_of(load_anchors(path), as_of, path)[0]
    series = load_gmv_csv(
        path, segment=segment or None, as_of=as_of or None, min_months=YOUNG_MIN_MONTHS
    )
    return "observed", series


def is_anchors_table(path: Path) -> bool:
    """Whether ``path`` is an anchors table (its header has ``anchor_id``), not a user's series.

    A missing or unreadable file is not (the series loader then says why it cannot be read).
    """
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return "anchor_id" in next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError):
        return False


def _months_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def run_goal_forecast(
    data_file: str | Path = "data/gmv_anchors.csv",
    coverage: str = "global",
    segment: str = "",
    goal_target_usd: float = 20e9,
    goal_start: str = "2023-01-01",
    goal_end: str = "2023-12-01",
    goal_multiple: float = 4.0,
    base_start: str = "2022-01-01",
    base_end: str = "2022-12-01",
    horizon_months: int = 36,
    settings: ForecastSettings | None = None,
    history_end: str = "2022-12-01",
    n_draws: int = 200,
    n_histories: int = 40,
    n_samples: int = 2000,
    seed: int = 0,
    as_of: str = "",
) -> GoalForecast:
    """Forecast GMV toward an absolute and a multiple goal.

    Args:
        data_file: anchors table (reconstructed history) or a GMV CSV (date, gmv[, segment]).
        coverage: region reconstructed from the anchors (ignored for a user's CSV).
        segment: segment of a user's CSV ('' sums all segments).
        goal_target_usd: absolute goal: the window total must reach this (USD).
        goal_start: the goal window's first month (ISO dates).
        goal_end: the goal window's last month (ISO dates).
        goal_multiple: multiple goal: the window total must reach this times the base total.
        base_start: first month of the base window of the multiple goal.
        base_end: last month of the base window of the multiple goal.
        horizon_months: months forecast past the last history month.
        history_end: last month of the history ('' = the data's last month); see
            :func:`load_history`.
        settings: the forecaster's settings.
        n_draws: reconstruction draws.
        n_histories: history draws a model is fitted on (their spread enters the forecast).
        n_samples: sample paths in total.
        seed: seeds every random step.
        as_of: the data vintage (ISO date): only figures published by then enter the history
            (see :func:`load_history`); "" uses every figure in the file.
    """
    settings = settings or ForecastSettings()
    cutoff = parse_as_of(as_of)
    if settings.model not in GOAL_MODELS:
        raise ParameterError("model", settings.model, f"one of {', '.join(GOAL_MODELS)}")
    notes: list[str] = []
    kind, draws, anchors, residuals = load_history(
        data_file, coverage, segment, n_draws, seed, history_end, as_of
    )
    support = None
    if residuals is not None:
        support = month_support(residuals, draws, coverage, fitted_members(coverage, anchors))
    history = draws.median(axis=0)
    history.index = pd.DatetimeIndex(history.index, freq="MS")
    last = pd.Timestamp(history.index[-1])
    end = pd.Timestamp(goal_end)
    if _months_between(last, end) > horizon_months:
        raise ParameterError(
            "horizon_months",
            horizon_months,
            f"at least {_months_between(last, end)} so that the forecast reaches "
            f"goal_end {end:%Y-%m} from the last data month {last:%Y-%m}",
        )

    age = market_age(history)
    if len(history) < INSIDE_MIN_MONTHS:
        # A young market: too short for the inside models, forecast from the reference class.
        views = combine(None, draws, horizon_months, age, seed=seed)
        paths = replace(views.combined, history_kind=kind)
        notes.append(
            f"Young market: only {len(history)} months of history. The forecast is the outside "
            "view (how comparable platforms grew from this annual GMV and age), not a model of "
            "this series: it carries no seasonality or festival months, its age is counted from "
            "the first month in the file, and its range is wide by design."
        )
        notes.append("No backtest: a young market's history is too short to score a model on.")
        summary = pd.DataFrame(columns=["mase", "smape", "mape", "coverage_80"])
        return GoalForecast(
            kind, history, draws, anchors, residuals, paths, last, "outside_view",
            f"the history has {len(history)} months, fewer than the {INSIDE_MIN_MONTHS} the "
            "inside models need, so the forecast is the outside view alone",
            pd.DataFrame(),
            goals.absolute_goal(paths, goal_start, goal_end, goal_target_usd),
            goals.multiple_goal(paths, goal_start, goal_end, goal_multiple, base_start, base_end),
            None, None, None, None, goals.time_to_goal(paths, goal_target_usd), summary, "",
            "no backtest: the history is too short", notes,
            "" if cutoff is None else f"{cutoff:%Y-%m-%d}", views, support,
        )  # fmt: skip

    factories = forecaster_factories(settings, history)
    selection, selection_description = pd.DataFrame(), ""
    if settings.model == "auto":
        chosen = select_model(history, factories, seed=seed, members=GOAL_ENSEMBLE)
        name, reason = chosen["chosen"], chosen["reason"]
        if "ensemble" in chosen["scores"].index:
            reason += f"; the ensemble scored: the mixture of {' and '.join(chosen['members'])}"
        selection = chosen["scores"]
        selection_description = chosen["backtest"].description
        factory = _factory_for(name, factories, chosen["members"])
    elif settings.model == "ensemble":
        members = " and ".join(ensemble_members(factories, GOAL_ENSEMBLE))
        name, reason = "ensemble", f"pinned in the parameters (the mixture of {members})"
        factory = _factory_for("ensemble", factories)
    else:
        name, reason = settings.model, "pinned in the parameters"
        factory = factories[name]

    # The outside view as a prior weighs each path's first forecast year: forecast at least a
    # year, combine, then cut back to the horizon asked for.
    span = max(horizon_months, 12)
    inside = forecast_over_draws(
        factory,
        draws,
        span,
        n_samples=n_samples,
        seed=seed,
        n_histories=min(n_histories, len(draws)),
    )
    inside = replace(inside, history_kind=kind)  # so that charts name the history correctly
    views = combine(
        inside, draws, span, age, seed=seed,
        combination=(COMBINATION[0], settings.outside_weight),
    )  # fmt: skip
    if span > horizon_months:
        views = views.until(last + pd.DateOffset(months=horizon_months))
    paths = replace(views.combined, history_kind=kind)
    notes.extend(views.notes)
    absolute = goals.absolute_goal(paths, goal_start, goal_end, goal_target_usd)
    multiple = goals.multiple_goal(paths, goal_start, goal_end, goal_multiple, base_start, base_end)

    required = growth_table = gap = None
    required_growth = None
    start = pd.Timestamp(goal_start)
    if start <= last + pd.offsets.MonthBegin(1) and end > last:
        banked = float(history[(history.index >= start) & (history.index <= last)].sum())
        needed = goal_target_usd - banked
        if needed > 0:
            required_growth, required = goals.required_path(
                last, float(history.iloc[-1]), _months_between(last, end), needed
            )
            growth_table = goals.growth_comparison(history, required_growth)
            gap = goals.gap_table(paths, required)
        else:
            notes.append(
                "The median history already reaches the absolute goal before the "
                "forecast starts, so no required path is drawn."
            )
    else:
        notes.append(
            "The goal window does not run on from the last data month, so the required "
            "path (constant growth from the last actual month) is not drawn."
        )

    ttg = goals.time_to_goal(paths, goal_target_usd)
    models = {n: f for n, f in factories.items() if n in ("seasonal_naive", "drift_log", name)}
    if name not in models:
        models[name] = factory
    bt_horizon = min(6, horizon_months)
    # 18 training months is the backtest's default; a shorter history (a user's CSV needs only
    # 12 months, and history_end may cut the anchors' history) trains on fewer rather than fail.
    bt_initial = max(3, min(BACKTEST_INITIAL, len(history) - bt_horizon))
    if bt_initial < BACKTEST_INITIAL:
        notes.append(
            f"The history has only {len(history)} months, so the backtest's first origin trains "
            f"on {bt_initial} months ({BACKTEST_INITIAL} when the history allows); its scores "
            "are rough."
        )
    evaluation = backtest.rolling_origin(
        history,
        models,
        horizon=bt_horizon,
        initial=bt_initial,
        baselines=False,
        seed=seed,
        skip_failures=True,
    )
    summary = evaluation.summary()
    fitted = factory().fit(history)
    notes.extend(getattr(fitted, "notes_", []) or [])
    return GoalForecast(
        kind,
        history,
        draws,
        anchors,
        residuals,
        paths,
        last,
        name,
        reason,
        selection,
        absolute,
        multiple,
        required_growth,
        required,
        growth_table,
        gap,
        ttg,
        summary,
        selection_description,
        evaluation.description,
        notes,
        "" if cutoff is None else f"{cutoff:%Y-%m-%d}",
        views,
        support,
    )


def _factory_for(
    name: str, factories: dict[str, Callable], members: tuple[str, ...] = GOAL_ENSEMBLE
) -> Callable:
    """A candidate's factory, or the ensemble's (of ``members``, as select_model scored it)."""
    if name == "ensemble":
        return ensemble_factory(factories, members=members)
    return factories[name]
