"""The Theta method (statsmodels ThetaModel) with SES-innovation sample paths."""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError
from shopcast.forecasting.base import (
    SEASON,
    check_monthly,
    check_sampling,
    from_model_scale,
    future_months,
    paths_frame,
    require_fitted,
    to_model_scale,
)

logger = logging.getLogger(__name__)


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
        z = to_model_scale(y, self.log, "y").to_numpy(dtype=float)
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
        require_fitted(self)
        check_sampling(horizon, n_samples)
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
        return paths_frame(
            from_model_scale(values, self.log), future_months(self.y_.index[-1], horizon)
        )
