"""The textbook baselines: seasonal naive and drift, with Gaussian or bootstrap sample paths."""

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
    gaussian_or_bootstrap,
    paths_frame,
    require_fitted,
    to_model_scale,
)

logger = logging.getLogger(__name__)


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
        gaussian_or_bootstrap(self.errors)
        y = check_monthly(y)
        m = self.season_length
        if len(y) < m + 1:
            raise ModelError(
                f"seasonal naive needs at least {m + 1} months of history (one season plus one "
                f"month to measure its error); got {len(y)}"
            )
        z = to_model_scale(y, self.log, "y").to_numpy()
        self.y_ = y
        self.residuals_ = z[m:] - z[:-m]
        self.sigma_ = float(np.sqrt(np.mean(self.residuals_**2)))
        self._last_season = z[-m:]
        return self

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months, USD per month)."""
        require_fitted(self)
        check_sampling(horizon, n_samples)
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
        return paths_frame(
            from_model_scale(out, self.log), future_months(self.y_.index[-1], horizon)
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
        gaussian_or_bootstrap(self.errors)
        y = check_monthly(y)
        if len(y) < 3:
            raise ModelError(f"drift needs at least 3 months of history; got {len(y)}")
        z = to_model_scale(y, self.log, "y").to_numpy()
        diffs = np.diff(z)
        self.y_ = y
        self.drift_ = float((z[-1] - z[0]) / (len(z) - 1))
        self.residuals_ = diffs - self.drift_
        self.sigma_ = float(np.sqrt(np.sum(self.residuals_**2) / max(len(diffs) - 1, 1)))
        self._last = float(z[-1])
        return self

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Simulated future paths (rows = samples, columns = future months, USD per month)."""
        require_fitted(self)
        check_sampling(horizon, n_samples)
        rng = np.random.default_rng(seed)
        n_diffs = len(self.y_) - 1
        drift = self.drift_ + rng.normal(0.0, self.sigma_ / math.sqrt(n_diffs), size=(n_samples, 1))
        if self.errors == "gaussian":
            shocks = rng.normal(0.0, self.sigma_, size=(n_samples, horizon))
        else:
            shocks = rng.choice(self.residuals_, size=(n_samples, horizon), replace=True)
        steps = np.arange(1, horizon + 1)[None, :]
        out = self._last + drift * steps + np.cumsum(shocks, axis=1)
        return paths_frame(
            from_model_scale(out, self.log), future_months(self.y_.index[-1], horizon)
        )
