"""The Theta method as a state-space model fitted by statsforecast: the Theta member at scale.

Fiorucci et al. (2016) wrote the Theta method as a state-space model and added three variants:
the standard Theta model (STM, ``theta = 2``, the classical method: SES with drift), the
optimised one (OTM, ``theta`` fitted), and their dynamic forms (DSTM, DOTM), whose trend line is
re-estimated as each month arrives. statsforecast fits them in C++; :class:`FastThetaForecaster`
keeps the one with the lowest in-sample MSE (as statsforecast's ``AutoTheta`` does) and
simulates sample paths from it.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, ParameterError
from shopcast.forecasting.base import (
    SEASON,
    check_monthly,
    check_sampling,
    from_model_scale,
    future_months,
    gaussian_or_bootstrap,
    paths_frame,
    require_fitted,
    to_model_scale,
)

logger = logging.getLogger(__name__)

#: The state-space Theta models (Fiorucci et al. 2016); the first two keep the trend line fixed.
THETA_MODELS = ("STM", "OTM", "DSTM", "DOTM")
#: Below this seasonal index a multiplicative decomposition is replaced by an additive one (a
#: month near zero would blow up the seasonally adjusted series), as statsforecast does.
MIN_SEASONAL_INDEX = 0.01
#: The first few one-step errors of a Theta model are dominated by its start-up; statsforecast
#: leaves out 3 when it estimates the innovation scale, and so do we.
BURN_IN = 3


def is_seasonal(z: np.ndarray, season_length: int) -> bool:
    """The Theta method's seasonality test: lag-``m`` autocorrelation beyond its 90% band.

    The same test as statsmodels' ``ThetaModel`` and statsforecast's ``auto_theta``:
    ``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)``, on series with two whole seasons.
    """
    from scipy.stats import norm
    from statsmodels.tsa.stattools import acf

    if season_length < 4 or len(z) < 2 * season_length:
        return False
    r = acf(z, nlags=season_length, fft=False)[1:]
    bound = np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / len(z))
    return bool(np.abs(r[-1]) / bound > norm.ppf(0.95))


def simulate_theta(
    last_state: np.ndarray,
    n: int,
    alpha: float,
    theta: float,
    dynamic: bool,
    errors: np.ndarray,
) -> np.ndarray:
    """Simulate a state-space Theta model forward (Fiorucci et al. 2016, eqs. 4-5), all paths.

    ``mu[t] = l[t-1] + (1 - 1/theta) * ((1 - alpha)^(t-1) A[t-1] + (1 - (1 - alpha)^t) / alpha
    * B[t-1])``, ``y[t] = mu[t] + e[t]``, ``l[t] = alpha y[t] + (1 - alpha) l[t-1]``; the dynamic
    models also update the mean, slope and intercept of the trend line with each new ``y``
    (``Ybar[t]``, ``B[t] = ((t - 2) B[t-1] + 6 (y[t] - Ybar[t-1]) / t) / (t + 1)``,
    ``A[t] = Ybar[t] - (t + 1) B[t] / 2``). With zero errors this is statsforecast's point
    forecast exactly (a test checks it).

    Args:
        last_state: statsforecast's last state row ``(level, mean, A, B, mu)``.
        n: the number of months fitted.
        alpha: the fitted smoothing weight.
        theta: the fitted theta (2 for the standard models).
        dynamic: DSTM or DOTM.
        errors: ``(n_paths, horizon)`` innovations.

    Returns:
        ``(n_paths, horizon)`` simulated values (on the adjusted, model scale).
    """
    n_paths, horizon = errors.shape
    level = np.full(n_paths, float(last_state[0]))
    mean = np.full(n_paths, float(last_state[1]))
    intercept = np.full(n_paths, float(last_state[2]))
    slope = np.full(n_paths, float(last_state[3]))
    weight = 1.0 - 1.0 / theta
    out = np.empty((n_paths, horizon))
    for h in range(horizon):
        i = n + h  # 0-based index of the month; t = i + 1 in the paper's notation
        t = i + 1
        mu = level + weight * (
            intercept * (1 - alpha) ** i + slope * (1 - (1 - alpha) ** (i + 1)) / alpha
        )
        y = mu + errors[:, h]
        out[:, h] = y
        level = alpha * y + (1 - alpha) * level
        if dynamic:
            slope = ((t - 2) * slope + 6 * (y - mean) / t) / (t + 1)
            mean = ((t - 1) * mean + y) / t
            intercept = mean - slope * (t + 1) / 2
    return out


class FastThetaForecaster:
    """State-space Theta models fitted by statsforecast, with simulated sample paths.

    The series (or its log, with ``log=True``) is seasonally adjusted by a classical
    decomposition when the Theta seasonality test finds a season (:func:`is_seasonal`;
    multiplicative for a positive series on levels, additive on logs or otherwise, additive too
    when a multiplicative index falls below :data:`MIN_SEASONAL_INDEX`), the Theta models of
    ``models`` are fitted to the adjusted series with statsforecast's ``thetamodel`` (C++), and
    the one with the lowest in-sample MSE is kept. Sample paths are simulated from it
    (:func:`simulate_theta`) with Gaussian innovations of the one-step errors' standard
    deviation (``errors="gaussian"``) or those errors resampled (``"bootstrap"``), then
    reseasonalised with the last season of indices.

    Args:
        season_length: months per season.
        log: model log values (the trend becomes a growth rate); paths are exponentiated back.
        models: the Theta models to choose among (a subset of :data:`THETA_MODELS`).
        errors: ``"gaussian"`` or ``"bootstrap"``.

    Attributes:
        y_: training series.
        model_: statsforecast's fitted model (a dict: ``modeltype``, ``par``, ``states``...).
        residuals_: one-step errors on the adjusted model scale, burn-in dropped.
        sigma_: their standard deviation.
        season_: the seasonal indices of the next ``season_length`` months (1 or 0 each when
            not seasonal), on the model scale.
        multiplicative_: whether the season multiplies.
    """

    def __init__(
        self,
        season_length: int = SEASON,
        log: bool = False,
        models: tuple[str, ...] = THETA_MODELS,
        errors: str = "gaussian",
    ):
        self.season_length = season_length
        self.log = log
        self.models = models
        self.errors = errors

    def fit(self, y: pd.Series) -> FastThetaForecaster:
        """Fit the Theta models and keep the lowest in-sample MSE.

        Raises:
            ModelError: with fewer than 6 months, a constant series, or when no model fits.
        """
        from statsforecast.theta import thetamodel
        from statsmodels.tsa.seasonal import seasonal_decompose

        gaussian_or_bootstrap(self.errors)
        unknown = [m for m in self.models if m not in THETA_MODELS]
        if unknown or not self.models:
            raise ParameterError("models", self.models, f"a subset of {', '.join(THETA_MODELS)}")
        y = check_monthly(y)
        if len(y) < 2 * BURN_IN:
            raise ModelError(f"Theta needs at least {2 * BURN_IN} months of history; got {len(y)}")
        z = to_model_scale(y, self.log, "y").to_numpy(dtype=float)
        if np.ptp(z) == 0:
            raise ModelError(
                "Theta cannot be fitted to a constant series (its trend line is degenerate); "
                "use seasonal_naive or drift"
            )
        m = self.season_length
        multiplicative = not self.log and bool((z > 0).all())
        season = np.ones(len(z)) if multiplicative else np.zeros(len(z))  # neutral
        seasonal = is_seasonal(z, m)
        if seasonal:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                kind = "multiplicative" if multiplicative else "additive"
                season = seasonal_decompose(z, model=kind, period=m).seasonal
                if multiplicative and (season < MIN_SEASONAL_INDEX).any():
                    multiplicative = False
                    season = seasonal_decompose(z, model="additive", period=m).seasonal
        adjusted = z / season if multiplicative else z - season
        best = None
        for kind in self.models:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit = thetamodel(adjusted, 1, kind, np.nan, np.nan, np.nan, 3)
            # statsforecast's optimiser signals failure with bare exceptions; skip the model
            except Exception:  # noqa: BLE001
                continue
            mse = float(fit["mse"])
            if np.isfinite(mse) and (best is None or mse < best[0]):
                best = (mse, fit)
        if best is None:
            raise ModelError(f"no Theta model could be fitted to {len(y)} months")
        fit = best[1]
        residuals = np.asarray(fit["residuals"], float)[BURN_IN:]
        residuals = residuals[np.isfinite(residuals)]
        if len(residuals) < 2:
            raise ModelError(f"Theta needs at least {BURN_IN + 2} one-step errors; got too few")
        self.y_, self.model_ = y, fit
        self.residuals_ = residuals
        self.sigma_ = float(np.std(residuals, ddof=1))
        self.multiplicative_ = multiplicative
        self.season_ = np.asarray(season[len(z) - m :] if len(z) >= m else season, float)
        self.seasonal_ = seasonal
        return self

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months, USD per month)."""
        require_fitted(self)
        check_sampling(horizon, n_samples)
        rng = np.random.default_rng(seed)
        if self.errors == "gaussian":
            shocks = rng.normal(0.0, self.sigma_, size=(n_samples, horizon))
        else:
            shocks = rng.choice(self.residuals_, size=(n_samples, horizon))
        fit = self.model_
        values = simulate_theta(
            np.asarray(fit["states"], float)[-1],
            int(fit["n"]),
            float(fit["par"]["alpha"]),
            float(fit["par"]["theta"]),
            fit["modeltype"] in ("DSTM", "DOTM"),
            shocks,
        )
        if self.seasonal_:
            # month n + h has the index of month n + h - m, i.e. position h % m of the last season
            ahead = self.season_[np.arange(horizon) % len(self.season_)]
            values = values * ahead if self.multiplicative_ else values + ahead
        return paths_frame(
            from_model_scale(values, self.log), future_months(self.y_.index[-1], horizon)
        )
