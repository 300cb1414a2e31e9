"""Exponential smoothing (statsmodels ETSModel), configuration chosen by AICc."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError
from shopcast.forecasting.base import (
    SEASON,
    check_monthly,
    check_sampling,
    future_months,
    gaussian_or_bootstrap,
    paths_frame,
    require_fitted,
)

logger = logging.getLogger(__name__)

#: Smallest multiplicative seasonal index kept for an additive-error fit: below it one month's
#: level is near zero and an additive error can drive simulated paths through zero.
MIN_SEASONAL_INDEX = 0.05
#: The columns of ``ETSForecaster.aicc_``.
AICC_COLUMNS = ("error", "trend", "damped", "seasonal", "aicc")


def candidate_configs(
    y: pd.Series,
    season_length: int,
    min_seasons: int,
    mul_season_add_error: bool = False,
    additive_only: bool = False,
) -> list[tuple[str, str | None, bool, str | None]]:
    """The ``(error, trend, damped, seasonal)`` configurations an automatic ETS search tries.

    Additive or multiplicative error (multiplicative on a strictly positive series only); no
    trend or a damped additive trend; no season, or an additive or multiplicative one when ``y``
    holds ``min_seasons`` whole seasons (multiplicative with additive error only when
    ``mul_season_add_error``); with ``additive_only`` (a log series, on which a multiplicative
    part is an additive one) additive error and season only. Shared by :class:`ETSForecaster`
    and the statsforecast-backed :class:`shopcast.forecasting.ets_fast.FastETSForecaster`, so
    both search the same models.
    """
    positive = not additive_only and bool((y > 0).all())
    seasonal = len(y) >= min_seasons * season_length
    out = []
    for error in ("add", "mul") if positive else ("add",):
        for trend, damped in ((None, False), ("add", True)):
            seasons: list[str | None] = [None]
            if seasonal:
                seasons.append("add")
                if positive and (error == "mul" or mul_season_add_error):
                    seasons.append("mul")
            for season in seasons:
                out.append((error, trend, damped, season))
    return out


class ETSForecaster:
    """Exponential smoothing (ETS state-space model), configuration chosen by AICc.

    Uses ``statsmodels``' ``ETSModel``. With ``configs="auto"`` the candidates are: additive or
    multiplicative error; no trend or a damped additive trend (an undamped trend is left out:
    it extrapolates the last slope forever, it rarely wins at long horizons, and dropping it
    makes the search a third faster; pass ``configs`` to try it); no seasonality, or additive
    or multiplicative seasonality when the series holds at least ``min_seasons`` seasons
    (up to 10 configurations, 12 with ``mul_season_add_error``). Multiplicative error or
    seasonality are tried only on strictly positive series. Additive error with multiplicative
    seasonality (ETS(A,N,M) and ETS(A,Ad,M), the state-space form of the damped multiplicative
    Holt-Winters) can be numerically unstable when a seasonal index approaches zero (Hyndman et
    al. 2008, ch. 15): it is tried only with ``mul_season_add_error`` (off by default until a
    full M3 run shows it costs no accuracy; ``bench/accuracy.py`` scores it as ``ets_mul``), and
    such a fit is dropped when its fitted values are not finite or a seasonal index falls below
    :data:`MIN_SEASONAL_INDEX`. The configuration with the lowest AICc is kept; a configuration
    that fails to fit is skipped.

    Sample paths are simulated from the fitted state-space model (``ETSResults.simulate``,
    anchored at the end of the data), with Gaussian errors of the fitted scale
    (``errors="gaussian"``) or the fitted residuals resampled (``errors="bootstrap"``).

    Args:
        configs: ``"auto"`` or a list of ``(error, trend, damped, seasonal)`` tuples, e.g.
            ``[("add", "add", True, None)]``.
        season_length: months per season.
        min_seasons: whole seasons needed before seasonal configurations are tried.
        errors: ``"gaussian"`` or ``"bootstrap"``.
        mul_season_add_error: also try additive error with multiplicative seasonality.

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
        mul_season_add_error: bool = False,
    ):
        self.configs = configs
        self.season_length = season_length
        self.min_seasons = min_seasons
        self.errors = errors
        self.mul_season_add_error = mul_season_add_error

    def candidate_configs(self, y: pd.Series) -> list[tuple[str, str | None, bool, str | None]]:
        """The configurations ``configs="auto"`` tries on ``y``."""
        return candidate_configs(y, self.season_length, self.min_seasons, self.mul_season_add_error)

    def fit(self, y: pd.Series) -> ETSForecaster:
        """Fit every configuration and keep the lowest AICc.

        Each configuration's parameters are estimated by maximum likelihood and its AICc
        computed from the likelihood (as ``ETSResults.aicc`` does); only the chosen
        configuration's full results are built. statsmodels' ``fit`` builds them for every
        configuration, and with them a complex-step Hessian for the parameters' covariance,
        which the AICc does not use: about 40% of a fit's time. Should the chosen
        configuration's results fail to build, the next best is taken.

        Raises:
            ModelError: with fewer than 4 months, or when no configuration can be fitted.
        """
        import warnings

        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        gaussian_or_bootstrap(self.errors)
        y = check_monthly(y)
        if len(y) < 4:
            raise ModelError(f"ETS needs at least 4 months of history; got {len(y)}")
        configs = self.candidate_configs(y) if self.configs == "auto" else list(self.configs)
        values = y.to_numpy()
        fits = []
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
                    params = model.fit(disp=False, return_params=True)
                    aicc = _aicc(model, params)
                    if error == "add" and seasonal == "mul":
                        stable = _stable_mul_season(*model.smooth(params, return_raw=True))
            except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
                continue  # a configuration that cannot be fitted is simply not a candidate
            if not np.isfinite(aicc):
                continue
            if error == "add" and seasonal == "mul" and not stable:
                continue
            fits.append((aicc, (error, trend, bool(damped and trend), seasonal), model, params))
        # the lowest AICc, the first configuration tried among equals (a stable sort)
        fits.sort(key=lambda fit: fit[0])
        for i, (_, config, model, params) in enumerate(fits):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    result = model.smooth(params)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
                continue
            self.y_ = y
            self.aicc_ = pd.DataFrame(
                [dict(zip(AICC_COLUMNS, (*c, a), strict=True)) for a, c, _, _ in fits[i:]]
            )
            self.config_ = config
            self.result_ = result
            return self
        raise ModelError(f"no ETS configuration could be fitted to {len(y)} months")

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months)."""
        return _simulated_paths(self, horizon, n_samples, rng=np.random.default_rng(seed))


def _simulated_paths(model, horizon: int, n_samples: int, **simulate_kw) -> pd.DataFrame:
    """Paths simulated from a fitted statsmodels state-space result (``model.result_``).

    Errors are the model's own (Gaussian) or its residuals resampled (``errors="bootstrap"``).
    """
    import warnings

    require_fitted(model)
    check_sampling(horizon, n_samples)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sims = model.result_.simulate(
            horizon,
            repetitions=int(n_samples),
            anchor="end",
            random_errors="bootstrap" if model.errors == "bootstrap" else None,
            **simulate_kw,
        )
    values = np.asarray(sims, dtype=float).reshape(horizon, n_samples).T
    return paths_frame(values, future_months(model.y_.index[-1], horizon))


def _aicc(model, params: np.ndarray) -> float:
    """The AICc of an ETS model at ``params``, as ``ETSResults.aicc`` computes it.

    The degrees of freedom are the model's parameters plus one for the concentrated scale (no
    parameter is fixed here).
    """
    from statsmodels.tools.eval_measures import aicc

    return float(aicc(model.loglike(np.asarray(params)), model.nobs, model.k_params + 1))


def _stable_mul_season(fitted: np.ndarray, states: np.ndarray) -> bool:
    """Whether an additive-error, multiplicative-season fit is numerically usable.

    Args:
        fitted: the fitted values (``ETSModel.smooth(..., return_raw=True)[0]``).
        states: the states (``ETSModel.smooth(..., return_raw=True)[1]``).
    """
    fitted = np.asarray(fitted, dtype=float)
    states = np.asarray(states, dtype=float)
    seasonal = states[:, -1] if states.ndim == 2 else states
    return bool(np.isfinite(fitted).all() and np.nanmin(seasonal) > MIN_SEASONAL_INDEX)


class HoltWintersForecaster:
    """Damped multiplicative Holt-Winters: damped additive trend, multiplicative seasonality.

    The classical method (``statsmodels``' ``ExponentialSmoothing``, smoothing parameters by
    least squares), kept beside the AICc-chosen ETS because a fixed damped multiplicative
    configuration is a strong benchmark on seasonal business series (it is what ETS's AICc
    search sometimes passes over on short series). Needs a strictly positive series with at
    least ``min_seasons`` whole seasons. Sample paths come from ``HoltWintersResults.simulate``
    with Gaussian errors of the residual scale (``errors="gaussian"``) or resampled residuals
    (``"bootstrap"``), anchored at the end of the data.

    Args:
        season_length: months per season.
        min_seasons: whole seasons needed.
        errors: ``"gaussian"`` or ``"bootstrap"``.

    Attributes:
        y_: training series.
        result_: the fitted ``HoltWintersResults``.
    """

    def __init__(self, season_length: int = SEASON, min_seasons: int = 2, errors: str = "gaussian"):
        self.season_length = season_length
        self.min_seasons = min_seasons
        self.errors = errors

    def fit(self, y: pd.Series) -> HoltWintersForecaster:
        """Fit the damped multiplicative Holt-Winters method.

        Raises:
            ModelError: for a series that is not strictly positive, shorter than
                ``min_seasons`` seasons, or that the optimiser cannot fit.
        """
        import warnings

        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        gaussian_or_bootstrap(self.errors)
        y = check_monthly(y)
        need = self.min_seasons * self.season_length
        if len(y) < need:
            raise ModelError(
                f"damped multiplicative Holt-Winters needs at least {need} months; got {len(y)}"
            )
        if not bool((y > 0).all()):
            raise ModelError("multiplicative Holt-Winters needs a strictly positive series")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = ExponentialSmoothing(
                    y.to_numpy(dtype=float),
                    trend="add",
                    damped_trend=True,
                    seasonal="mul",
                    seasonal_periods=self.season_length,
                    initialization_method="estimated",
                ).fit()
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError) as exc:
            raise ModelError(
                f"damped multiplicative Holt-Winters could not be fitted: {exc}"
            ) from exc
        if not np.isfinite(np.asarray(result.fittedvalues, dtype=float)).all():
            raise ModelError("damped multiplicative Holt-Winters gave non-finite fitted values")
        self.y_, self.result_ = y, result
        return self

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months)."""
        # statsmodels' Holt-Winters results name the generator random_state, ETS results rng.
        rng = np.random.default_rng(seed)
        return _simulated_paths(self, horizon, n_samples, error="mul", random_state=rng)
