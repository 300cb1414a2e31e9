"""The statsforecast-fitted Theta models: statsforecast's forecast, paths with the SES spread."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ModelError, ParameterError
from shopcast.forecasting.theta_fast import THETA_MODELS, FastThetaForecaster

SEASON = np.array([0.8, 0.85, 0.9, 1.0, 1.05, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.1])


def _series(seasonal: bool, n: int = 60, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2016-01-01", periods=n, freq="MS")
    values = 500.0 + 4.0 * np.arange(n) + np.cumsum(rng.normal(0, 8, n))
    if seasonal:
        values = values * SEASON[idx.month - 1]
    return pd.Series(values, index=idx)


def _noise_free(model: FastThetaForecaster, horizon: int) -> np.ndarray:
    """The model's path with every innovation 0 (on a copy: the model is left as it was)."""
    quiet = copy.copy(model)
    quiet.sigma_, quiet.errors = 0.0, "gaussian"
    return quiet.sample_paths(horizon, 1, seed=0).to_numpy()[0]


@pytest.mark.parametrize("seasonal", [False, True])
@pytest.mark.parametrize("kind", THETA_MODELS)
def test_without_errors_the_path_is_statsforecasts_forecast(seasonal, kind):
    from statsforecast.theta import auto_theta, forecast_theta

    y = _series(seasonal)
    model = FastThetaForecaster(models=(kind,)).fit(y)
    assert model.seasonal_ is seasonal
    expected = forecast_theta(auto_theta(y.to_numpy(), 12, model=kind), 18)["mean"]
    np.testing.assert_allclose(_noise_free(model, 18), expected, rtol=1e-9)


def test_static_models_have_the_ses_variance():
    # STM with a fixed trend line: the level is SES, so Var(y[n+h]) = sigma^2 (1 + (h-1) alpha^2)
    model = FastThetaForecaster(models=("STM",)).fit(_series(False, n=90, seed=4))
    paths = model.sample_paths(12, 40_000, seed=1).to_numpy()
    alpha = model.model_["par"]["alpha"]
    expected = model.sigma_**2 * (1 + np.arange(12) * alpha**2)
    np.testing.assert_allclose(paths.var(axis=0), expected, rtol=0.04)


def test_choice_is_the_lowest_in_sample_mse():
    y = _series(False, seed=2)
    chosen = FastThetaForecaster().fit(y)
    mses = {k: FastThetaForecaster(models=(k,)).fit(y).model_["mse"] for k in THETA_MODELS}
    assert chosen.model_["modeltype"] == min(mses, key=mses.get)


def test_log_scale_paths_are_positive_and_seeded():
    y = _series(True, seed=3)
    model = FastThetaForecaster(log=True).fit(y)
    paths = model.sample_paths(12, 300, seed=7)
    assert (paths.to_numpy() > 0).all()
    assert paths.equals(model.sample_paths(12, 300, seed=7))
    assert not paths.equals(model.sample_paths(12, 300, seed=8))
    assert not model.multiplicative_  # a season on logs is additive
    boot = FastThetaForecaster(errors="bootstrap").fit(_series(False, seed=3))
    one_step = boot.sample_paths(1, 200, seed=0).to_numpy()[:, 0] - _noise_free(boot, 1)[0]
    assert np.isin(np.round(one_step, 9), np.round(boot.residuals_, 9)).all()


def test_constant_short_or_unknown_models_are_refused(make_series):
    flat = pd.Series(5.0, index=pd.date_range("2020-01-01", periods=24, freq="MS"))
    with pytest.raises(ModelError, match="constant series"):
        FastThetaForecaster().fit(flat)
    with pytest.raises(ModelError, match="at least 6 months"):
        FastThetaForecaster().fit(make_series(n=5))
    with pytest.raises(ParameterError, match="models"):
        FastThetaForecaster(models=("XTM",)).fit(make_series(n=30))
