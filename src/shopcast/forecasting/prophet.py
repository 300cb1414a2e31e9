"""Prophet set up for monthly GMV: month dummies, festival months, an optional ad regressor."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, ParameterError
from shopcast.forecasting.base import (
    MIN_MONTHS_FOR_SEASONALITY,
    check_monthly,
    check_sampling,
    future_months,
    numpy_global_seed,
    paths_frame,
    require_fitted,
    silence_stan,
    to_model_scale,
)

logger = logging.getLogger(__name__)


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
        """Log ad index for ``months`` (training or future), extended at ``ad_growth``."""
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
        z = to_model_scale(y, self.log, "y")
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
        require_fitted(self, "model_")
        check_sampling(horizon, n_samples)
        months = future_months(self.y_.index[-1], horizon)
        design = self._design(months)
        self.model_.uncertainty_samples = int(n_samples)
        with numpy_global_seed(seed):
            draws = self.model_.predictive_samples(design)["yhat"]
        values = np.asarray(draws, dtype=float).T[:n_samples]
        values = np.exp(values) if self.log else np.clip(values, 0.0, None)
        return paths_frame(values, months)

    def fitted(self) -> pd.DataFrame:
        """In-sample fit: columns ``yhat`` (median prediction) and ``trend``, USD per month."""
        require_fitted(self, "model_")
        pred = self.model_.predict(self._design(self.y_.index))
        yhat, trend = pred["yhat"].to_numpy(), pred["trend"].to_numpy()
        if self.log:
            yhat, trend = np.exp(yhat), np.exp(trend)
        return pd.DataFrame({"yhat": yhat, "trend": trend}, index=self.y_.index)
