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

        gaussian_or_bootstrap(self.errors)
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

        require_fitted(self)
        check_sampling(horizon, n_samples)
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
        return paths_frame(values, future_months(self.y_.index[-1], horizon))
