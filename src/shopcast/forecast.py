"""Forecasters for monthly GMV that yield predictive sample paths.

Every forecaster follows the estimator convention of the package: hyper-parameters in
``__init__``, ``fit(y) -> self`` on a monthly series (floats, month-start index, USD per month),
fitted state in attributes ending in ``_``, and
``sample_paths(horizon, n_samples, seed) -> DataFrame`` returning one row per sample and one
column per future month (month-start Timestamps), in USD per month. The same seed gives
identical numbers.

Models:

- :class:`ProphetForecaster`: Prophet set up for monthly data (month-of-year dummies instead of
  the 365.25-day Fourier term, shopping-festival months, an optional advertising regressor,
  linear or logistic growth, fitted on log GMV by default).
- :class:`SeasonalNaiveForecaster` and :class:`DriftForecaster`: the textbook baselines with
  Gaussian or residual-bootstrap sample paths.
- :class:`ETSForecaster` (exponential smoothing, configuration by AICc) and
  :class:`ThetaForecaster` (the Theta method, SES with drift).
- :class:`EnsembleForecaster`: members' sample paths combined (by default the mixture of ETS and
  Theta); :func:`select_model` and :class:`AutoForecaster` choose by rolling-origin backtest.

:func:`forecast_over_draws` carries the uncertainty of a reconstructed history into the forecast
by fitting one model per history draw and returning full paths (history draw + its future).
"""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, ParameterError

logger = logging.getLogger(__name__)

#: Months a year has; the season length of every seasonal model here.
SEASON = 12
#: Below this many months of history, month-of-year effects are not estimated by default.
MIN_MONTHS_FOR_SEASONALITY = 2 * SEASON


class Forecaster(Protocol):
    """What :func:`forecast_over_draws` and :mod:`shopcast.backtest` need from a model."""

    def fit(self, y: pd.Series) -> Forecaster: ...

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame: ...


# --------------------------------------------------------------------------------------------
# helpers


def check_monthly(y: object, name: str = "y") -> pd.Series:
    """Validate a monthly series and return it as floats with a ``freq="MS"`` index.

    Args:
        y: the candidate series.
        name: how to call it in error messages.

    Returns:
        A copy of ``y`` as float64 with a month-start ``DatetimeIndex`` of frequency ``"MS"``.

    Raises:
        ModelError: when ``y`` is not a Series, its index is not consecutive month starts, or it
            holds missing or infinite values.
    """
    if not isinstance(y, pd.Series):
        raise ModelError(f"{name} must be a pandas Series of USD per month, got {type(y).__name__}")
    if not isinstance(y.index, pd.DatetimeIndex):
        raise ModelError(
            f"{name} must have a DatetimeIndex of month starts, got {type(y.index).__name__}; "
            "build it with pd.date_range(start, periods=n, freq='MS')"
        )
    if len(y) == 0:
        raise ModelError(f"{name} is empty; a forecaster needs at least a few months of history")
    idx = y.index
    if not (idx == idx.to_period("M").to_timestamp()).all():
        bad = idx[idx != idx.to_period("M").to_timestamp()][0]
        raise ModelError(f"{name} index holds {bad.date()}, which is not a month start (day 1)")
    expected = pd.date_range(idx[0], periods=len(idx), freq="MS")
    if not idx.equals(expected):
        missing = expected.difference(idx)
        hint = f" (first missing month {missing[0]:%Y-%m})" if len(missing) else ""
        raise ModelError(f"{name} index must be consecutive, sorted month starts{hint}")
    values = pd.to_numeric(y, errors="coerce").astype("float64")
    if not np.isfinite(values.to_numpy()).all():
        first = values.index[~np.isfinite(values.to_numpy())][0]
        raise ModelError(f"{name} has a missing or infinite value at {first:%Y-%m}")
    out = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(expected, freq="MS"), name=y.name)
    return out


def future_months(last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` month starts after ``last``."""
    return pd.date_range(pd.Timestamp(last) + pd.offsets.MonthBegin(1), periods=horizon, freq="MS")


def _check_sampling(horizon: object, n_samples: object) -> None:
    if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
        raise ParameterError("horizon", horizon, "a whole number of months >= 1")
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 1:
        raise ParameterError("n_samples", n_samples, "a whole number of sample paths >= 1")


def _paths_frame(values: np.ndarray, months: pd.DatetimeIndex) -> pd.DataFrame:
    frame = pd.DataFrame(values, columns=months)
    frame.index.name = "sample"
    frame.columns.name = "month"
    return frame


def _require_fitted(model: object, attribute: str = "y_") -> None:
    if not hasattr(model, attribute):
        raise ModelError(f"{type(model).__name__} is not fitted yet; call .fit(y) first")


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG for the duration of the block, then restore its state.

    Prophet draws its predictive samples from ``np.random`` (the legacy global generator), so the
    only way to make them reproducible is to seed that generator; restoring the state afterwards
    keeps the seeding from leaking into the caller's code.
    """
    state = np.random.get_state()
    np.random.seed(int(seed) % (2**32))
    try:
        yield
    finally:
        np.random.set_state(state)


def silence_stan() -> None:
    """Keep cmdstanpy and prophet from printing INFO lines (notebook cells stay clean).

    Also mutes prophet's import-time "Importing plotly failed" error: shopcast draws with
    matplotlib and never uses prophet's plotly plots.
    """
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    try:
        from cmdstanpy.utils import get_logger
    except ImportError:  # pragma: no cover - cmdstanpy comes with prophet
        return
    # get_logger() installs cmdstanpy's handler (once, cached) and sets DEBUG; lower it afterwards.
    get_logger().setLevel(logging.WARNING)
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    logging.getLogger("prophet").setLevel(logging.WARNING)


def _gaussian_or_bootstrap(errors: str) -> str:
    if errors not in ("gaussian", "bootstrap"):
        raise ParameterError("errors", errors, '"gaussian" or "bootstrap"')
    return errors


def _to_model_scale(y: pd.Series, log: bool, name: str) -> pd.Series:
    if log:
        if (y <= 0).any():
            first = y.index[(y <= 0).to_numpy()][0]
            raise ModelError(
                f"{name} is {y[first]!r} at {first:%Y-%m}; a log-scale model needs positive "
                "values (pass log=False to model the level instead)"
            )
        return np.log(y)
    return y


def _from_model_scale(values: np.ndarray, log: bool) -> np.ndarray:
    if log:
        return np.exp(values)
    return values


# --------------------------------------------------------------------------------------------
# baselines


class SeasonalNaiveForecaster:
    """Seasonal naive: each future month repeats the same month one season earlier.

    Point forecast ``y[T+h] = y[T+h-12k]`` with ``k = ceil(h/12)``. Sample paths treat the series
    as a seasonal random walk, ``y[t] = y[t-12] + e[t]``, and simulate it forward, so the spread
    grows with the number of whole seasons ahead (variance ``sigma² * (floor((h-1)/12) + 1)``,
    Hyndman & Athanasopoulos, *FPP3* 5.5). ``e`` are the in-sample residuals
    ``y[t] - y[t-12]``: drawn Gaussian with their root-mean-square as standard deviation
    (``errors="gaussian"``) or resampled with replacement (``errors="bootstrap"``).

    Args:
        season_length: months per season.
        log: model log values (so errors are percentages); sample paths are exponentiated back.
        errors: ``"gaussian"`` or ``"bootstrap"``.

    Attributes:
        y_: the training series (USD per month).
        residuals_: in-sample seasonal differences (model scale), ``season_length`` fewer than y_.
        sigma_: root-mean-square of ``residuals_``.
    """

    def __init__(self, season_length: int = SEASON, log: bool = False, errors: str = "gaussian"):
        self.season_length = season_length
        self.log = log
        self.errors = errors

    def fit(self, y: pd.Series) -> SeasonalNaiveForecaster:
        """Store the last season and the residual scale.

        Raises:
            ModelError: with fewer than ``season_length + 1`` months (no residual to learn from).
        """
        _gaussian_or_bootstrap(self.errors)
        y = check_monthly(y)
        m = self.season_length
        if len(y) < m + 1:
            raise ModelError(
                f"seasonal naive needs at least {m + 1} months of history (one season plus one "
                f"month to measure its error); got {len(y)}"
            )
        z = _to_model_scale(y, self.log, "y").to_numpy()
        self.y_ = y
        self.residuals_ = z[m:] - z[:-m]
        self.sigma_ = float(np.sqrt(np.mean(self.residuals_**2)))
        self._last_season = z[-m:]
        return self

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months, USD per month)."""
        _require_fitted(self)
        _check_sampling(horizon, n_samples)
        rng = np.random.default_rng(seed)
        m = self.season_length
        if self.errors == "gaussian":
            shocks = rng.normal(0.0, self.sigma_, size=(n_samples, horizon))
        else:
            shocks = rng.choice(self.residuals_, size=(n_samples, horizon), replace=True)
        out = np.empty((n_samples, horizon))
        for h in range(horizon):
            base = self._last_season[h] if h < m else out[:, h - m]
            out[:, h] = base + shocks[:, h]
        return _paths_frame(
            _from_model_scale(out, self.log), future_months(self.y_.index[-1], horizon)
        )


class DriftForecaster:
    """Random walk with drift: the line from the first to the last month, extended.

    Point forecast ``y[T+h] = y[T] + h * c`` with ``c = (y[T] - y[1]) / (T - 1)``. Sample paths
    add a random walk of one-step residuals ``e[t] = y[t] - y[t-1] - c`` and the uncertainty of
    the drift itself (``c + N(0, sigma²/(T-1))`` per path), which gives the textbook variance
    ``sigma² * h * (1 + h/(T-1))`` (*FPP3* 5.5). With ``log=True`` the drift is a constant
    monthly growth rate (the natural baseline for a young, fast-growing marketplace).

    Args:
        log: model log values; sample paths are exponentiated back.
        errors: ``"gaussian"`` (normal one-step errors with standard deviation ``sigma_``) or
            ``"bootstrap"`` (one-step residuals resampled with replacement; the drift
            uncertainty stays Gaussian).

    Attributes:
        y_: the training series.
        drift_: ``c`` in model units per month (a log growth rate when ``log=True``).
        residuals_: one-step residuals around the drift (model scale).
        sigma_: their standard deviation (``T - 2`` degrees of freedom).
    """

    def __init__(self, log: bool = False, errors: str = "gaussian"):
        self.log = log
        self.errors = errors

    def fit(self, y: pd.Series) -> DriftForecaster:
        """Estimate the drift and the residual scale.

        Raises:
            ModelError: with fewer than 3 months (a drift and its error need two differences).
        """
        _gaussian_or_bootstrap(self.errors)
        y = check_monthly(y)
        if len(y) < 3:
            raise ModelError(f"drift needs at least 3 months of history; got {len(y)}")
        z = _to_model_scale(y, self.log, "y").to_numpy()
        diffs = np.diff(z)
        self.y_ = y
        self.drift_ = float((z[-1] - z[0]) / (len(z) - 1))
        self.residuals_ = diffs - self.drift_
        self.sigma_ = float(np.sqrt(np.sum(self.residuals_**2) / max(len(diffs) - 1, 1)))
        self._last = float(z[-1])
        return self

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months, USD per month)."""
        _require_fitted(self)
        _check_sampling(horizon, n_samples)
        rng = np.random.default_rng(seed)
        n_diffs = len(self.y_) - 1
        drift = self.drift_ + rng.normal(0.0, self.sigma_ / math.sqrt(n_diffs), size=(n_samples, 1))
        if self.errors == "gaussian":
            shocks = rng.normal(0.0, self.sigma_, size=(n_samples, horizon))
        else:
            shocks = rng.choice(self.residuals_, size=(n_samples, horizon), replace=True)
        steps = np.arange(1, horizon + 1)[None, :]
        out = self._last + drift * steps + np.cumsum(shocks, axis=1)
        return _paths_frame(
            _from_model_scale(out, self.log), future_months(self.y_.index[-1], horizon)
        )


# --------------------------------------------------------------------------------------------
# Prophet


MONTH_COLUMNS = [f"month_{m:02d}" for m in range(1, 13)]
FESTIVAL_COLUMNS = {"festival_nov": 11, "festival_dec": 12}
AD_COLUMN = "ad_log_index"


class ProphetForecaster:
    """Prophet set up for monthly GMV of a young marketplace.

    **Scale.** By default (``log=True``) the model is fitted on the natural log of GMV (USD per
    month): a young marketplace grows multiplicatively, so a linear trend in log GMV is a constant
    monthly growth rate, month and festival effects are percentages of the level (they grow with
    the business), and the noise is proportional to the level. Prophet's predictive samples of log
    GMV are exponentiated, so every sample path is positive and the quantiles of the paths are the
    exponentiated quantiles of log GMV (the median is preserved; the mean of ``exp`` is not
    ``exp`` of the mean, which is why goal arithmetic works on the paths, never on point
    forecasts). With ``log=False`` the level is modelled and month, festival and advertising
    effects are multiplicative (``seasonality_mode="multiplicative"``); sample paths are clipped
    at 0.

    **Growth.** ``"linear"`` (on log GMV: a piecewise-constant growth rate) or ``"logistic"``
    with ``cap`` = the market ceiling in USD per month. On the log scale Prophet's logistic curve
    runs from ``log(floor)`` to ``log(cap)``; with the default ``floor`` of 1 USD the observed
    data sit high on that curve, where the monthly growth rate falls roughly in proportion to
    the remaining log-distance to the cap (the shape of a Gompertz curve, a common model for
    market adoption). ``cap`` must exceed the last observed month, else growth would have to be
    negative. Trend uncertainty is Prophet's: future changepoints at the historical rate, with
    the historical mean absolute slope change.

    **Month-of-year effects.** Prophet's default yearly seasonality is a Fourier series in a
    365.25-day period; evaluated only on month starts it aliases and drifts from year to year
    (prophet issues #823 and #1110). Instead the model has 12 month-of-year regressors coded
    ``1{month = m} - 1/12`` (they sum to zero over a year, so the effects are deviations from the
    annual mean and do not compete with the trend level), each with a normal prior of standard
    deviation ``seasonality_prior_scale`` on log GMV (0.1 = about ±10%). A month effect is
    identified only after the month has been seen in two different years, so with fewer than
    ``min_months_for_seasonality`` (24) months ``seasonality="auto"`` turns it off and says so
    in ``notes_``; ``seasonality=True`` forces it (then the prior alone restrains it).

    **Shopping festivals.** 11.11 (Singles' Day), Black Friday and Cyber Monday fall in November
    (Cyber Monday occasionally on 1-2 December) and 12.12 in December; on monthly data their
    effect is an extra November and December uplift. ``festivals=True`` adds two binary
    regressors ``festival_nov`` and ``festival_dec`` (1 in that month, else 0) with their own,
    looser prior ``festival_prior_scale`` (0.3 = about ±30%). They work with or without the
    month-of-year effects: when both are on, the November and December effects are the sum of
    the two terms and the looser festival prior lets those two months move more than the others.
    With two or three years of history each festival has been seen only two or three times, so
    its effect is weakly identified and the prior matters.

    **Advertising scenario.** ``ad_index`` is a monthly ad-volume index (any positive unit)
    covering at least the training months. The model uses ``log(ad_index)`` centred on its
    training mean as a regressor whose coefficient is an elasticity: the percentage change of
    GMV for a one-percent change of ad volume, with prior standard deviation
    ``ad_prior_scale``. Future months take the index from ``ad_index`` when it covers them;
    otherwise it is extended from its last value at ``ad_growth`` a year (e.g. ``2.4854`` for
    +248.54% a year, the ad-volume growth GoodsFox reported for January 2023). In a young
    marketplace ad volume and GMV rise together, so the elasticity is confounded with the trend:
    treat the scenario as "what if ads grow like this", not as a causal estimate.

    Args:
        growth: ``"linear"`` or ``"logistic"``.
        cap: market ceiling in USD per month (logistic only; must exceed the last observation).
        floor: lower asymptote in USD per month for logistic growth (default 1 USD).
        log: fit on log GMV (default) or on GMV.
        changepoint_prior_scale: Prophet's Laplace prior scale for trend changes, passed on
            unchanged (in Prophet's scaled units: the series divided by its largest absolute
            value, which for log-USD GMV is about 20, over the training span).
        n_changepoints: potential trend changepoints; ``None`` places about one per quarter in
            the first ``changepoint_range`` of the history (at most 25).
        changepoint_range: share of the history in which changepoints may fall.
        seasonality: ``"auto"``, ``True`` or ``False`` (month-of-year effects).
        seasonality_prior_scale: prior standard deviation of a month effect (log GMV, or share
            of the trend when ``log=False``).
        min_months_for_seasonality: history needed for ``seasonality="auto"`` to turn effects on.
        festivals: add the November and December festival regressors.
        festival_prior_scale: prior standard deviation of a festival effect.
        ad_index: optional monthly ad-volume index (positive floats, month-start index).
        ad_growth: assumed year-over-year growth of the ad index beyond its last value (a
            fraction: 0.5 = +50% a year); ``None`` requires ``ad_index`` to cover the horizon.
        ad_prior_scale: prior standard deviation of the advertising elasticity.

    Attributes:
        y_: the training series (USD per month).
        model_: the fitted ``prophet.Prophet``.
        seasonality_used_: whether month-of-year effects were estimated.
        month_effects_: Series indexed 1..12, the fitted month-of-year effect (log GMV, or share
            of trend); all zero when not estimated.
        festival_effects_: Series ``festival_nov``/``festival_dec`` (empty when off).
        ad_elasticity_: fitted elasticity, or None without ``ad_index``.
        notes_: sentences about choices made automatically (for the report's caveats).
    """

    def __init__(
        self,
        growth: str = "linear",
        cap: float | None = None,
        floor: float = 1.0,
        log: bool = True,
        changepoint_prior_scale: float = 0.05,
        n_changepoints: int | None = None,
        changepoint_range: float = 0.8,
        seasonality: bool | str = "auto",
        seasonality_prior_scale: float = 0.1,
        min_months_for_seasonality: int = MIN_MONTHS_FOR_SEASONALITY,
        festivals: bool = True,
        festival_prior_scale: float = 0.3,
        ad_index: pd.Series | None = None,
        ad_growth: float | None = None,
        ad_prior_scale: float = 0.5,
    ):
        self.growth = growth
        self.cap = cap
        self.floor = floor
        self.log = log
        self.changepoint_prior_scale = changepoint_prior_scale
        self.n_changepoints = n_changepoints
        self.changepoint_range = changepoint_range
        self.seasonality = seasonality
        self.seasonality_prior_scale = seasonality_prior_scale
        self.min_months_for_seasonality = min_months_for_seasonality
        self.festivals = festivals
        self.festival_prior_scale = festival_prior_scale
        self.ad_index = ad_index
        self.ad_growth = ad_growth
        self.ad_prior_scale = ad_prior_scale

    # ---- validation

    def _validate(self, y: pd.Series) -> None:
        if self.growth not in ("linear", "logistic"):
            raise ParameterError("growth", self.growth, '"linear" or "logistic"')
        if self.seasonality not in ("auto", True, False):
            raise ParameterError("seasonality", self.seasonality, '"auto", True or False')
        for field in (
            "changepoint_prior_scale",
            "seasonality_prior_scale",
            "festival_prior_scale",
            "ad_prior_scale",
        ):
            value = getattr(self, field)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ParameterError(field, value, "a number > 0")
        if not 0 < self.changepoint_range <= 1:
            raise ParameterError("changepoint_range", self.changepoint_range, "a share in (0, 1]")
        if self.growth == "logistic":
            last = float(y.iloc[-1])
            if self.cap is None or not np.isfinite(self.cap):
                raise ParameterError(
                    "cap",
                    self.cap,
                    "a market ceiling in USD per month for logistic growth (e.g. 5e9)",
                )
            if not self.cap > last:
                raise ParameterError(
                    "cap",
                    self.cap,
                    f"a ceiling above the last observed month ({y.index[-1]:%Y-%m}: "
                    f"{last:,.0f} USD); raise it or use growth='linear'",
                )
            if not 0 < self.floor < float(y.min()):
                raise ParameterError(
                    "floor",
                    self.floor,
                    f"a value in (0, {float(y.min()):,.0f}), below every observed month",
                )
        elif self.cap is not None:
            raise ParameterError("cap", self.cap, "None unless growth='logistic'")
        if self.ad_growth is not None and not self.ad_growth > -1:
            raise ParameterError("ad_growth", self.ad_growth, "a yearly growth rate > -1")

    def _ad_values(self, months: pd.DatetimeIndex) -> np.ndarray:
        """log ad index for ``months`` (training or future), extended at ``ad_growth``."""
        ad = check_monthly(self.ad_index, "ad_index")
        if (ad <= 0).any():
            raise ParameterError("ad_index", "non-positive values", "an index > 0 every month")
        known = ad.reindex(months)
        missing = known.isna()
        if missing.any():
            first_missing = months[missing.to_numpy()][0]
            if first_missing <= ad.index[-1] or first_missing < ad.index[0]:
                raise ParameterError(
                    "ad_index",
                    f"no value for {first_missing:%Y-%m}",
                    "an index covering every training month without gaps",
                )
            if self.ad_growth is None:
                raise ParameterError(
                    "ad_growth",
                    None,
                    f"a yearly growth rate: ad_index ends {ad.index[-1]:%Y-%m} and the forecast "
                    f"needs {first_missing:%Y-%m}; give ad_growth or extend ad_index",
                )
            monthly = (1.0 + self.ad_growth) ** (1.0 / 12.0)
            steps = np.array(
                [(m.year - ad.index[-1].year) * 12 + m.month - ad.index[-1].month for m in months]
            )
            extended = float(ad.iloc[-1]) * monthly ** steps.astype(float)
            known = known.where(~missing, extended)
        return np.log(known.to_numpy(dtype=float))

    # ---- design

    def _design(self, months: pd.DatetimeIndex) -> pd.DataFrame:
        df = pd.DataFrame({"ds": months})
        month = months.month
        if self.seasonality_used_:
            for m, col in enumerate(MONTH_COLUMNS, start=1):
                df[col] = (month == m).astype(float) - 1.0 / 12.0
        if self.festivals:
            for col, m in FESTIVAL_COLUMNS.items():
                df[col] = (month == m).astype(float)
        if self.ad_index is not None:
            df[AD_COLUMN] = self._ad_values(months) - self._ad_center
        if self.growth == "logistic":
            df["cap"] = math.log(self.cap) if self.log else float(self.cap)
            df["floor"] = math.log(self.floor) if self.log else float(self.floor)
        return df

    def fit(self, y: pd.Series) -> ProphetForecaster:
        """Fit Prophet (MAP) on the monthly series.

        Raises:
            ParameterError: for a bad setting (e.g. a logistic ``cap`` not above the last month).
            ModelError: when the series is unusable (fewer than 6 months, non-positive values on
                the log scale, gaps in the month index).
        """
        y = check_monthly(y)
        if len(y) < 6:
            raise ModelError(f"ProphetForecaster needs at least 6 months of history; got {len(y)}")
        self._validate(y)
        z = _to_model_scale(y, self.log, "y")
        silence_stan()
        from prophet import Prophet

        notes: list[str] = []
        n = len(y)
        if self.seasonality == "auto":
            use_seasonality = n >= self.min_months_for_seasonality
            if not use_seasonality:
                notes.append(
                    f"Month-of-year effects are off: {n} months of history are fewer than "
                    f"{self.min_months_for_seasonality}, so no month has been seen in two "
                    "different years and its effect could not be told apart from growth."
                )
        else:
            use_seasonality = bool(self.seasonality)
            if use_seasonality and n < self.min_months_for_seasonality:
                notes.append(
                    f"Month-of-year effects are on with only {n} months of history; they are "
                    "held back by their prior alone."
                )
        self.seasonality_used_ = use_seasonality
        if self.ad_index is not None:
            self._ad_center = float(np.mean(self._ad_values(y.index)))

        if self.n_changepoints is None:
            n_cp = max(1, min(25, int(self.changepoint_range * n) // 3))
        else:
            n_cp = int(self.n_changepoints)
        mode = "additive" if self.log else "multiplicative"
        model = Prophet(
            growth=self.growth,
            n_changepoints=n_cp,
            changepoint_range=self.changepoint_range,
            changepoint_prior_scale=self.changepoint_prior_scale,
            yearly_seasonality=False,
            weekly_seasonality=False,
            daily_seasonality=False,
            seasonality_mode=mode,
            uncertainty_samples=0,
        )
        design = self._design(y.index)
        design["y"] = z.to_numpy()
        # Prophet scales additive effects by y_scale (the largest |y - floor|); priors given here
        # on the log scale are divided by it so that they mean what the docstring says.
        if self.log:
            base = design.get("floor", 0.0)
            scale = float(np.abs(design["y"] - base).max()) or 1.0
        else:
            scale = 1.0  # multiplicative effects are already shares of the trend
        if self.seasonality_used_:
            for col in MONTH_COLUMNS:
                model.add_regressor(
                    col,
                    prior_scale=self.seasonality_prior_scale / scale,
                    standardize=False,
                    mode=mode,
                )
        if self.festivals:
            for col in FESTIVAL_COLUMNS:
                model.add_regressor(
                    col, prior_scale=self.festival_prior_scale / scale, standardize=False, mode=mode
                )
        if self.ad_index is not None:
            model.add_regressor(
                AD_COLUMN, prior_scale=self.ad_prior_scale / scale, standardize=False, mode=mode
            )
        try:
            model.fit(design)
        except Exception as exc:  # Stan failures come as RuntimeError and friends
            raise ModelError(f"Prophet could not be fitted: {exc}") from exc

        self.model_ = model
        self.y_ = y
        self.notes_ = notes
        coefs = self._coefficients()
        if self.seasonality_used_:
            month_beta = np.array([coefs[c] for c in MONTH_COLUMNS])
            self.month_effects_ = pd.Series(
                month_beta - month_beta.mean(), index=range(1, 13), name="month_effect"
            )
        else:
            self.month_effects_ = pd.Series(0.0, index=range(1, 13), name="month_effect")
        self.festival_effects_ = pd.Series(
            {c: coefs[c] for c in FESTIVAL_COLUMNS if c in coefs},
            name="festival_effect",
            dtype=float,
        )
        self.ad_elasticity_ = coefs.get(AD_COLUMN)
        for note in notes:
            logger.info(note)
        return self

    def _coefficients(self) -> dict[str, float]:
        """Regressor coefficients on the modelled scale (log GMV or share of trend)."""
        model = self.model_
        beta = model.params["beta"].mean(axis=0)
        names = list(model.extra_regressors)
        # Prophet orders its feature matrix: seasonalities (none here), holidays (none), then
        # extra regressors in the order they were added.
        out = {}
        for i, name in enumerate(names):
            props = model.extra_regressors[name]
            factor = model.y_scale if props["mode"] == "additive" else 1.0
            out[name] = float(beta[i] * factor / props["std"])
        return out

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Predictive sample paths from Prophet (trend changes, effects and noise).

        Args:
            horizon: months ahead.
            n_samples: number of paths (Prophet's ``uncertainty_samples``).
            seed: seeds numpy's global generator for the draw (state restored afterwards).

        Returns:
            DataFrame (rows = samples, columns = future month starts), USD per month.
        """
        _require_fitted(self, "model_")
        _check_sampling(horizon, n_samples)
        months = future_months(self.y_.index[-1], horizon)
        design = self._design(months)
        self.model_.uncertainty_samples = int(n_samples)
        with numpy_global_seed(seed):
            draws = self.model_.predictive_samples(design)["yhat"]
        values = np.asarray(draws, dtype=float).T[:n_samples]
        values = np.exp(values) if self.log else np.clip(values, 0.0, None)
        return _paths_frame(values, months)

    def fitted(self) -> pd.DataFrame:
        """In-sample fit: columns ``yhat`` (median prediction) and ``trend``, USD per month."""
        _require_fitted(self, "model_")
        pred = self.model_.predict(self._design(self.y_.index))
        yhat, trend = pred["yhat"].to_numpy(), pred["trend"].to_numpy()
        if self.log:
            yhat, trend = np.exp(yhat), np.exp(trend)
        return pd.DataFrame({"yhat": yhat, "trend": trend}, index=self.y_.index)


# --------------------------------------------------------------------------------------------
# reconstruction uncertainty


def forecast_over_draws(
    forecaster_factory: Callable[[], Any],
    draws: pd.DataFrame,
    horizon: int,
    n_samples: int = 1000,
    seed: int = 0,
    n_draws: int = 100,
) -> pd.DataFrame:
    """Forecast from several reconstructed histories and pool the paths.

    The monthly GMV history is itself uncertain (reconstructed from mixed-frequency anchors), so
    a forecast from its median alone would be too sure of itself. This fits one fresh model per
    history draw on ``n_draws`` rows of ``draws`` (picked without replacement from ``seed``, all
    rows when there are fewer) and draws about ``n_samples / n_draws`` future paths from each
    (the first ``n_samples % n_draws`` draws get one more). Each returned row is the full path:
    the history draw it came from followed by its own future, so a goal window that spans
    history and forecast is summed along one consistent path.

    Args:
        forecaster_factory: a callable with no arguments returning an unfitted forecaster,
            e.g. ``lambda: ProphetForecaster(growth="linear")``.
        draws: history draws, one row per draw, one column per month (month starts, consecutive),
            USD per month (e.g. ``reconstruct(...).draws``).
        horizon: months to forecast beyond the last history month.
        n_samples: total number of paths returned.
        seed: seeds the choice of draws and every model's sampling.
        n_draws: how many history draws to fit a model on (K). When the history is very
            uncertain (as the 2023 part of the reconstruction is), goal probabilities vary
            mostly between draws, so K sets their Monte-Carlo error: on the default
            reconstruction the clustered standard error of P(2023 >= 20 B) is about 0.11 with
            K = 20 and 0.05 with K = 100 (about 8 s with Prophet on 2 cores).

    Returns:
        DataFrame with ``n_samples`` rows (index ``sample``) and one column per month: the history
        months of ``draws`` then ``horizon`` future months. ``attrs["last_actual"]`` is the last
        history month and ``attrs["draw_rows"]`` the labels of the draws used, in the order of
        the rows (each draw's paths are contiguous); ``attrs["draw_of_row"]`` gives, for every
        row, the label of its history draw (goal probabilities use it for a cluster-robust
        Monte-Carlo error).

    Raises:
        ParameterError: for a bad ``n_draws``, ``horizon`` or ``n_samples``.
        ModelError: when ``draws`` is empty or its columns are not consecutive month starts, or a
            model cannot be fitted on a draw.
    """
    _check_sampling(horizon, n_samples)
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ParameterError("n_draws", n_draws, "a whole number of history draws >= 1")
    if not isinstance(draws, pd.DataFrame) or draws.empty:
        raise ModelError("draws must be a non-empty DataFrame (rows = draws, columns = months)")
    months = pd.DatetimeIndex(pd.to_datetime(draws.columns))
    check_monthly(pd.Series(0.0, index=months), "draws columns")
    values = draws.to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    k = min(int(n_draws), len(draws), int(n_samples))
    chosen = rng.choice(len(draws), size=k, replace=False)
    seeds = rng.integers(0, 2**32 - 1, size=k)
    counts = np.full(k, n_samples // k)
    counts[: n_samples % k] += 1
    future = future_months(months[-1], horizon)
    blocks = []
    for row, child_seed, count in zip(chosen, seeds, counts, strict=True):
        history = pd.Series(values[row], index=pd.DatetimeIndex(months, freq="MS"))
        model = forecaster_factory()
        try:
            model.fit(history)
        except ModelError as exc:
            raise ModelError(f"history draw {draws.index[row]!r}: {exc}") from exc
        paths = model.sample_paths(horizon, int(count), int(child_seed))
        block = np.hstack([np.tile(values[row], (int(count), 1)), paths.to_numpy()])
        blocks.append(block)
    out = _paths_frame(np.vstack(blocks), months.append(future))
    out.attrs["last_actual"] = months[-1]
    labels = np.asarray(draws.index)[chosen]
    out.attrs["draw_rows"] = labels.tolist()
    out.attrs["draw_of_row"] = np.repeat(labels, counts).tolist()
    return out


# --------------------------------------------------------------------------------------------
# exponential smoothing, ensembles and automatic choice


class ETSForecaster:
    """Exponential smoothing (ETS state-space model), configuration chosen by AICc.

    Uses ``statsmodels``' ``ETSModel``. With ``configs="auto"`` the candidates are: additive or
    multiplicative error; no trend or a damped additive trend (an undamped trend is left out:
    it extrapolates the last slope forever, it rarely wins at long horizons, and dropping it
    makes the search a third faster; pass ``configs`` to try it); no seasonality, or additive
    or multiplicative seasonality when the series holds at least ``min_seasons`` seasons
    (up to 10 configurations). Multiplicative error or seasonality are tried only on strictly
    positive series, and additive error with multiplicative seasonality is left out
    (numerically unstable, Hyndman et al. 2008). The configuration with the lowest AICc is
    kept; a configuration that fails to fit is skipped.

    Sample paths are simulated from the fitted state-space model (``ETSResults.simulate``,
    anchored at the end of the data), with Gaussian errors of the fitted scale
    (``errors="gaussian"``) or the fitted residuals resampled (``errors="bootstrap"``).

    Args:
        configs: ``"auto"`` or a list of ``(error, trend, damped, seasonal)`` tuples, e.g.
            ``[("add", "add", True, None)]``.
        season_length: months per season.
        min_seasons: whole seasons needed before seasonal configurations are tried.
        errors: ``"gaussian"`` or ``"bootstrap"``.

    Attributes:
        y_: training series.
        config_: the chosen ``(error, trend, damped, seasonal)``.
        aicc_: table of every configuration tried (columns ``error``, ``trend``, ``damped``,
            ``seasonal``, ``aicc``), best first.
        result_: the fitted ``ETSResults``.
    """

    def __init__(
        self,
        configs: str | list[tuple[str, str | None, bool, str | None]] = "auto",
        season_length: int = SEASON,
        min_seasons: int = 2,
        errors: str = "gaussian",
    ):
        self.configs = configs
        self.season_length = season_length
        self.min_seasons = min_seasons
        self.errors = errors

    def candidate_configs(self, y: pd.Series) -> list[tuple[str, str | None, bool, str | None]]:
        """The configurations ``configs="auto"`` tries on ``y``."""
        positive = bool((y > 0).all())
        seasonal = len(y) >= self.min_seasons * self.season_length
        out = []
        for error in ("add", "mul") if positive else ("add",):
            for trend, damped in ((None, False), ("add", True)):
                seasons: list[str | None] = [None]
                if seasonal:
                    seasons.append("add")
                    if positive and error == "mul":
                        seasons.append("mul")
                for season in seasons:
                    out.append((error, trend, damped, season))
        return out

    def fit(self, y: pd.Series) -> ETSForecaster:
        """Fit every configuration and keep the lowest AICc.

        Raises:
            ModelError: with fewer than 4 months, or when no configuration can be fitted.
        """
        import warnings

        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        _gaussian_or_bootstrap(self.errors)
        y = check_monthly(y)
        if len(y) < 4:
            raise ModelError(f"ETS needs at least 4 months of history; got {len(y)}")
        configs = self.candidate_configs(y) if self.configs == "auto" else list(self.configs)
        values = y.to_numpy()
        rows, best = [], None
        for error, trend, damped, seasonal in configs:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model = ETSModel(
                        values,
                        error=error,
                        trend=trend,
                        damped_trend=bool(damped and trend),
                        seasonal=seasonal,
                        seasonal_periods=self.season_length if seasonal else None,
                    )
                    result = model.fit(disp=False)
                aicc = float(result.aicc)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
                continue  # a configuration that cannot be fitted is simply not a candidate
            if not np.isfinite(aicc):
                continue
            rows.append(
                {
                    "error": error,
                    "trend": trend,
                    "damped": bool(damped and trend),
                    "seasonal": seasonal,
                    "aicc": aicc,
                }
            )
            if best is None or aicc < best[0]:
                best = (aicc, (error, trend, bool(damped and trend), seasonal), result)
        if best is None:
            raise ModelError(f"no ETS configuration could be fitted to {len(y)} months")
        self.y_ = y
        self.aicc_ = pd.DataFrame(rows).sort_values("aicc", ignore_index=True)
        self.config_ = best[1]
        self.result_ = best[2]
        return self

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months)."""
        import warnings

        _require_fitted(self)
        _check_sampling(horizon, n_samples)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sims = self.result_.simulate(
                horizon,
                repetitions=int(n_samples),
                anchor="end",
                random_errors="bootstrap" if self.errors == "bootstrap" else None,
                rng=np.random.default_rng(seed),
            )
        values = np.asarray(sims, dtype=float).reshape(horizon, n_samples).T
        return _paths_frame(values, future_months(self.y_.index[-1], horizon))


class ThetaForecaster:
    """The Theta method (Assimakopoulos & Nikolopoulos 2000), with sample paths.

    Uses ``statsmodels``' ``ThetaModel`` (``theta = 2``): the series is deseasonalised by a
    classical decomposition when a seasonality test at the 90% level finds a season
    (multiplicative for a positive series, additive otherwise; additive on the log scale),
    the forecast is simple exponential smoothing (SES) plus half the slope of a linear trend
    fitted to the whole history, and the season is put back. Hyndman & Billah (2003) showed this
    is SES with drift. Theta did best on the M3 monthly series in the original competition, and
    it combines well with ETS (see :class:`EnsembleForecaster`).

    Sample paths add SES innovations to that point forecast: with ``alpha`` the smoothing weight
    and ``sigma²`` the one-step innovation variance (the ARIMA(0,1,1)-with-drift estimate on the
    deseasonalised series, the model Theta is equivalent to; statsmodels' own ``sigma2`` fits it
    to the series before deseasonalising, which inflates it by the seasonal swing), the
    deviation ``h`` months ahead is
    ``e[h] + alpha * (e[1] + ... + e[h-1])``, whose variance is
    ``sigma² * (1 + (h - 1) * alpha²)`` (Hyndman et al. 2008, table 6.1, ETS(A,N,N)); the
    deviation is then reseasonalised like the forecast. Errors are Gaussian.

    Args:
        season_length: months per season.
        log: model log values (the drift becomes a constant growth rate); paths are
            exponentiated back.

    Attributes:
        y_: training series.
        result_: the fitted ``ThetaModelResults``.
        alpha_: SES smoothing weight.
        sigma_: standard deviation of the one-step innovations (deseasonalised model scale).
        seasonal_: whether the series was deseasonalised.
    """

    def __init__(self, season_length: int = SEASON, log: bool = False):
        self.season_length = season_length
        self.log = log

    def fit(self, y: pd.Series) -> ThetaForecaster:
        """Fit the Theta model.

        Raises:
            ModelError: with fewer than 4 months, a constant series, or when statsmodels cannot
                fit the series.
        """
        import warnings

        from statsmodels.tsa.forecasting.theta import ThetaModel
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        y = check_monthly(y)
        if len(y) < 4:
            raise ModelError(f"Theta needs at least 4 months of history; got {len(y)}")
        z = _to_model_scale(y, self.log, "y").to_numpy(dtype=float)
        if np.ptp(z) == 0:
            # statsmodels' trend regression takes a constant series for its intercept column
            # and returns a made-up slope
            raise ModelError(
                "Theta cannot be fitted to a constant series (its trend regression is "
                "degenerate); use seasonal_naive or drift"
            )
        deseasonalize = len(y) >= 2 * self.season_length
        method = "additive" if self.log or not (z > 0).all() else "multiplicative"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = ThetaModel(
                    z, period=self.season_length, deseasonalize=deseasonalize, method=method
                ).fit()
                self.result_ = result
                adjusted = self._deseasonalised(z)
                arima = SARIMAX(adjusted, order=(0, 1, 1), trend="c").fit(disp=False)
                sigma2 = float(np.asarray(arima.params)[-1])
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            raise ModelError(f"Theta could not be fitted: {exc}") from exc
        if not np.isfinite(sigma2) or sigma2 < 0:
            raise ModelError(f"Theta's innovation variance is {sigma2!r}; cannot sample paths")
        self.y_ = y
        self.alpha_ = float(result.params["alpha"])
        self.sigma_ = math.sqrt(sigma2)
        season = result.forecast_components(self.season_length)["seasonal"].to_numpy()
        neutral = 1.0 if self._multiplicative() else 0.0
        self.seasonal_ = bool(not np.allclose(season, neutral))
        return self

    def _multiplicative(self) -> bool:
        # statsmodels may switch a multiplicative decomposition to additive; ask the model
        return str(self.result_.model.method).startswith("mul")

    def _deseasonalised(self, z: np.ndarray) -> np.ndarray:
        """The training values with the fitted season taken out (unchanged when not seasonal).

        The seasonal factors come from the public forecast components: step ``i`` ahead is
        month ``n + i`` of the series, whose factor is that of months ``t`` with the same
        ``t % season_length``.
        """
        n, m = len(z), self.season_length
        ahead = self.result_.forecast_components(m)["seasonal"].to_numpy()
        factors = np.empty(m)
        factors[(n + np.arange(m)) % m] = ahead
        season = factors[np.arange(n) % m]
        return z / season if self._multiplicative() else z - season

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months, USD per month)."""
        _require_fitted(self)
        _check_sampling(horizon, n_samples)
        comp = self.result_.forecast_components(horizon)
        point = 0.5 * comp["trend"].to_numpy() + comp["ses"].to_numpy()  # theta = 2
        rng = np.random.default_rng(seed)
        shocks = rng.normal(0.0, self.sigma_, size=(n_samples, horizon))
        carried = np.cumsum(shocks, axis=1)[:, :-1]
        deviation = shocks.copy()
        deviation[:, 1:] += self.alpha_ * carried
        values = point + deviation
        season = comp["seasonal"].to_numpy()  # 1 (or 0) every month when not seasonal
        values = values * season if self._multiplicative() else values + season
        return _paths_frame(
            _from_model_scale(values, self.log), future_months(self.y_.index[-1], horizon)
        )


COMBINE_METHODS = ("median", "mean", "mixture")

#: The members of the default ensemble. On M3 monthly (``bench/accuracy.py``) the mixture of
#: ETS and Theta beat every single model and every median of members on sMAPE and MASE, with
#: 80% intervals near their nominal coverage; adding Prophet, the seasonal naive or drift made it
#: worse.
ENSEMBLE_MEMBERS = ("ets", "theta")
#: How the default ensemble combines its members (see :func:`combine_paths`).
ENSEMBLE_METHOD = "mixture"
#: ``auto`` leaves the ensemble for another candidate only when that candidate's backtest error
#: is below ``(1 - margin)`` times the ensemble's; see :func:`select_model`.
SWITCH_MARGIN = 0.5


def combine_paths(paths: list[pd.DataFrame], method: str = "median", seed: int = 0) -> pd.DataFrame:
    """Combine several models' sample paths for the same months into one set.

    Args:
        paths: one DataFrame per model, same shape and columns.
        method: ``"median"`` or ``"mean"``: path ``i`` of the result is the median (mean)
            across models of their path ``i`` (samples are paired by row). The centre is the
            combined forecast, which is usually more accurate than any member (the
            "forecast combination puzzle"), but pairing independent draws also averages their
            noise, so the spread is narrower than any member's and intervals tend to be too
            narrow. ``"mixture"``: each row is taken from one model picked at random (equal
            weights), which keeps every member's spread (intervals at least as wide as the
            members', often wider).
        seed: seed of the ``"mixture"`` choice.

    Returns:
        DataFrame like the inputs.
    """
    if method not in COMBINE_METHODS:
        raise ParameterError("method", method, '"median", "mean" or "mixture"')
    if not paths:
        raise ParameterError("paths", [], "at least one set of sample paths")
    first = paths[0]
    for other in paths[1:]:
        if other.shape != first.shape or not other.columns.equals(first.columns):
            raise ModelError("sample paths to combine must have the same shape and months")
    stack = np.stack([p.to_numpy(dtype=float) for p in paths])
    if method == "median":
        values = np.median(stack, axis=0)
    elif method == "mean":
        values = stack.mean(axis=0)
    else:
        pick = np.random.default_rng(seed).integers(0, len(paths), size=stack.shape[1])
        values = stack[pick, np.arange(stack.shape[1])]
    return _paths_frame(values, pd.DatetimeIndex(first.columns))


def _member_seed(seed: int, j: int) -> int:
    # distinct, reproducible seeds per member so paired draws are independent across members
    return int(np.random.SeedSequence([int(seed), j]).generate_state(1)[0])


class EnsembleForecaster:
    """A combination of forecasters whose sample paths are combined (see :func:`combine_paths`).

    Args:
        members: model name -> callable with no arguments returning an unfitted forecaster.
        method: ``"mixture"`` (default: the equal-weight mixture of the members' predictive
            distributions, which keeps their spread), ``"median"`` or ``"mean"`` (path by path,
            narrower).
        skip_failures: leave out a member that cannot be fitted (``ModelError``), as long as
            one remains; otherwise the error is raised.

    Attributes:
        y_: training series.
        members_: name -> fitted member (those that fitted).
        skipped_: name -> reason, for members left out.
    """

    def __init__(
        self,
        members: dict[str, Callable[[], Any]],
        method: str = ENSEMBLE_METHOD,
        skip_failures: bool = True,
    ):
        self.members = members
        self.method = method
        self.skip_failures = skip_failures

    def fit(self, y: pd.Series) -> EnsembleForecaster:
        """Fit every member on ``y``."""
        if self.method not in COMBINE_METHODS:
            raise ParameterError("method", self.method, '"median", "mean" or "mixture"')
        if not self.members:
            raise ParameterError("members", {}, "at least one model")
        y = check_monthly(y)
        fitted, skipped = {}, {}
        for name, factory in self.members.items():
            try:
                fitted[name] = factory().fit(y)
            except ModelError as exc:
                if not self.skip_failures:
                    raise
                skipped[name] = str(exc)
        if not fitted:
            raise ModelError(
                "no ensemble member could be fitted: "
                + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            )
        self.y_, self.members_, self.skipped_ = y, fitted, skipped
        return self

    def member_paths(
        self, horizon: int, n_samples: int = 1000, seed: int = 0
    ) -> dict[str, pd.DataFrame]:
        """Each member's sample paths (member ``j`` seeded from ``seed`` and ``j``)."""
        _require_fitted(self)
        names = list(self.members)
        return {
            name: model.sample_paths(horizon, n_samples, _member_seed(seed, names.index(name)))
            for name, model in self.members_.items()
        }

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Combined sample paths (rows = samples, columns = future months)."""
        paths = self.member_paths(horizon, n_samples, seed)
        return combine_paths(list(paths.values()), self.method, seed)


def ensemble_members(candidates: dict[str, Any]) -> list[str]:
    """The candidates that make up the ensemble: :data:`ENSEMBLE_MEMBERS` when at least two of
    them are candidates, else every candidate."""
    members = [name for name in ENSEMBLE_MEMBERS if name in candidates]
    return members if len(members) >= 2 else list(candidates)


def ensemble_factory(
    candidates: dict[str, Callable[[], Any]], method: str = ENSEMBLE_METHOD
) -> Callable[[], EnsembleForecaster]:
    """Factory of the ensemble of ``candidates`` (members from :func:`ensemble_members`)."""
    members = {name: candidates[name] for name in ensemble_members(candidates)}
    return lambda: EnsembleForecaster(members, method)


def select_model(
    y: pd.Series,
    candidates: dict[str, Callable[[], Any]],
    metric: str = "mase",
    horizon: int = 6,
    n_origins: int = 3,
    step: int = 3,
    initial: int | None = None,
    include_ensemble: bool = True,
    ensemble_method: str = ENSEMBLE_METHOD,
    n_samples: int = 200,
    seed: int = 0,
    default: str | None = "ensemble",
    margin: float = SWITCH_MARGIN,
) -> dict[str, Any]:
    """Choose a model by rolling-origin backtest, leaving the default only for a clear winner.

    Each candidate is evaluated with :func:`shopcast.backtest.rolling_origin` on the last
    ``n_origins`` origins, ``step`` months apart, ``horizon`` months ahead; the ensemble is the
    combination of its members' paths at each origin (no refitting; members from
    :func:`ensemble_members`). Lower is better for ``"mase"``, ``"smape"`` and ``"mape"``; for
    ``"coverage_80"`` the distance from 0.8 counts.

    The rule: the candidate with the best score is chosen only when its score is below
    ``(1 - margin)`` times the ``default``'s; otherwise the default stays. A backtest over a few
    origins is noisy, and picking its winner outright follows the noise: on a 240-series tuning
    sample of M3 monthly (``bench/accuracy.py``, backtests of one origin 18 months ahead) the
    outright winner's MASE was about 14% above that of the ensemble it replaced, and each
    margin tried (0, 0.1, 0.2, 0.3, 0.5) did better than the one before. The ensemble is scored
    only at origins where all its members could be fitted, and not at all when one of them was
    dropped, since it could not be refitted as scored. With ``default=None`` (or no ensemble)
    the best score wins outright. Ties go to the earlier candidate (put the simplest first).

    Args:
        y: the monthly series.
        candidates: name -> factory of an unfitted forecaster.
        metric: ``"mase"`` (default), ``"smape"``, ``"mape"`` or ``"coverage_80"``.
        horizon: months ahead in the backtest.
        n_origins: origins evaluated.
        step: months between origins.
        initial: training months at the first origin; default as many as the series allows.
        include_ensemble: also score ``"ensemble"``.
        ensemble_method: see :func:`combine_paths`.
        n_samples: sample paths per forecast.
        seed: seed of the sampling.
        default: the model kept unless another is clearly better (``"ensemble"`` or a
            candidate's name), or None.
        margin: how much better (a share of the default's score, in [0, 1)) the best must be.

    Returns:
        dict with ``chosen`` (name), ``scores`` (the backtest summary, one row per model),
        ``table`` (the long backtest table) and ``reason`` (a sentence).

    Raises:
        ModelError: when the series is too short for even one origin.
    """
    from shopcast.backtest import rolling_origin, summarize

    metrics = ("mase", "smape", "mape", "coverage_80")
    if metric not in metrics:
        raise ParameterError("metric", metric, ", ".join(f'"{m}"' for m in metrics))
    if not isinstance(margin, numbers.Real) or not 0 <= margin < 1:
        raise ParameterError("margin", margin, "a share in [0, 1)")
    y = check_monthly(y)
    if initial is None:
        initial = len(y) - horizon - step * (n_origins - 1)
        if initial < 6:
            raise ModelError(
                f"model selection with horizon={horizon}, {n_origins} origins {step} months "
                f"apart needs at least {6 + horizon + step * (n_origins - 1)} months; got "
                f"{len(y)}. Lower horizon or n_origins."
            )
    combos = {}
    members = ensemble_members(candidates)
    if include_ensemble and len(candidates) > 1:

        def combine(paths: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
            if any(name not in paths for name in members):
                return None  # not the ensemble that would be fitted: not scored
            return combine_paths([paths[name] for name in members], ensemble_method, seed)

        combos["ensemble"] = combine
    table = rolling_origin(
        y,
        candidates,
        horizon=horizon,
        n_origins=n_origins,
        initial=initial,
        step=step,
        n_samples=n_samples,
        seed=seed,
        baselines=False,
        combinations=combos,
        skip_failures=True,
    )
    skipped = table.attrs.get("skipped", {})
    lost = [name for name in members if name in skipped]
    if combos and lost:
        # a member that failed at some origin is dropped from every origin; so is the ensemble
        # built from it, which could not be refitted as scored
        attrs = dict(table.attrs)
        table = table[table["model"] != "ensemble"].reset_index(drop=True)
        table.attrs.update(attrs)
        table.attrs["skipped"] = {**skipped, "ensemble": f"ensemble: without {lost[0]}"}
    scores = summarize(table)
    key = (scores[metric] - 0.8).abs() if metric == "coverage_80" else scores[metric]
    order = list(candidates) + list(combos)
    key = key.reindex([n for n in order if n in key.index]).dropna()
    if key.empty:
        raise ModelError(
            f"no model has a finite backtest {metric} on this series (a constant series has "
            "no naive error to scale by)"
        )
    best = str(key.idxmin())
    origins = f"{table['origin'].nunique()} origins x {horizon} months"

    def score(name: str) -> str:
        value = scores.loc[name, metric]
        if metric == "coverage_80":
            return f"coverage_80 {value:.3f}, {abs(value - 0.8):.3f} from 0.8"
        return f"{metric} {value:.3f}"

    if default is None or default not in key.index or best == default:
        chosen = best
        reason = f"{chosen} has the best {score(chosen)} over {origins}"
        rest = key.drop(chosen)
        if len(rest):
            reason += f"; next {rest.idxmin()} ({score(str(rest.idxmin()))})"
    elif key[best] < (1 - margin) * key[default]:
        chosen = best
        reason = (
            f"{chosen} ({score(chosen)} over {origins}) beats the default {default} "
            f"({score(default)}) by more than the {margin:.0%} margin"
        )
    else:
        chosen = default
        reason = (
            f"{default} kept ({score(default)} over {origins}): the best, {best} "
            f"({score(best)}), is not better by the {margin:.0%} margin a switch needs"
        )
    return {"chosen": chosen, "scores": scores, "table": table, "reason": reason}


class AutoForecaster:
    """The candidate (or ensemble) that :func:`select_model` picks, refitted on the whole series.

    Args:
        candidates: name -> factory; default :func:`default_candidates`.
        metric, horizon, n_origins, step, include_ensemble, ensemble_method, n_samples,
            default, margin: see :func:`select_model`.
        fallback: the model used when the series cannot be backtested (too short, or no finite
            score); when it cannot be fitted either, ``default``, then the candidates in order,
            the first that fits. The reason says so.

    Attributes:
        chosen_: name of the chosen model.
        model_: the chosen model fitted on the whole series.
        scores_: backtest summary per model (empty when the fallback was used).
        backtest_: the long backtest table (empty when the fallback was used).
        reason_: why this model was chosen.
    """

    def __init__(
        self,
        candidates: dict[str, Callable[[], Any]] | None = None,
        metric: str = "mase",
        horizon: int = 6,
        n_origins: int = 3,
        step: int = 3,
        include_ensemble: bool = True,
        ensemble_method: str = ENSEMBLE_METHOD,
        n_samples: int = 200,
        default: str | None = "ensemble",
        margin: float = SWITCH_MARGIN,
        fallback: str | None = None,
    ):
        self.candidates = candidates
        self.metric = metric
        self.horizon = horizon
        self.n_origins = n_origins
        self.step = step
        self.include_ensemble = include_ensemble
        self.ensemble_method = ensemble_method
        self.n_samples = n_samples
        self.default = default
        self.margin = margin
        self.fallback = fallback

    def fit(self, y: pd.Series) -> AutoForecaster:
        """Backtest the candidates on ``y``, pick one, refit it on all of ``y``."""
        y = check_monthly(y)
        candidates = self.candidates or default_candidates()
        with_ensemble = self.include_ensemble and len(candidates) > 1
        try:
            sel = select_model(
                y,
                candidates,
                metric=self.metric,
                horizon=self.horizon,
                n_origins=self.n_origins,
                step=self.step,
                include_ensemble=self.include_ensemble,
                ensemble_method=self.ensemble_method,
                n_samples=self.n_samples,
                default=self.default,
                margin=self.margin,
            )
            chosen, reason = sel["chosen"], sel["reason"]
            self.scores_, self.backtest_ = sel["scores"], sel["table"]
        except ModelError as exc:
            chosen, model = self._fallback_fit(y, candidates, with_ensemble)
            reason = f"{chosen} by default: the series cannot be backtested ({exc})"
            self.scores_, self.backtest_ = pd.DataFrame(), pd.DataFrame()
        else:
            model = self._factory(chosen, candidates)().fit(y)
        self.y_, self.chosen_, self.model_, self.reason_ = y, chosen, model, reason
        return self

    def _factory(self, name: str, candidates: dict[str, Callable[[], Any]]) -> Callable[[], Any]:
        if name == "ensemble":
            return ensemble_factory(candidates, self.ensemble_method)
        return candidates[name]

    def _fallback_fit(
        self, y: pd.Series, candidates: dict[str, Callable[[], Any]], with_ensemble: bool
    ) -> tuple[str, Any]:
        """The first of ``fallback``, ``default`` and the candidates (in order) that fits."""
        order = [self.fallback, self.default, *candidates]
        usable = [
            name
            for name in dict.fromkeys(order)  # in order, without repeats
            if name in candidates or (name == "ensemble" and with_ensemble)
        ]
        errors = []
        for name in usable:
            try:
                return name, self._factory(name, candidates)().fit(y)
            except ModelError as exc:
                errors.append(f"{name}: {exc}")
        raise ModelError("no candidate could be fitted: " + "; ".join(errors))

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """The chosen model's sample paths."""
        _require_fitted(self)
        return self.model_.sample_paths(horizon, n_samples, seed)


def default_candidates() -> dict[str, Callable[[], Any]]:
    """Seasonal naive, drift on the log scale, ETS (auto), Theta and Prophet (monthly set-up)."""
    return {
        "seasonal_naive": SeasonalNaiveForecaster,
        "drift_log": lambda: DriftForecaster(log=True),
        "ets": ETSForecaster,
        "theta": ThetaForecaster,
        "prophet": ProphetForecaster,
    }
