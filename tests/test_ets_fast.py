"""The statsforecast-fitted ETS: the same search as statsmodels', paths from the state space."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ModelError
from shopcast.forecasting.ets import ETSForecaster
from shopcast.forecasting.ets_fast import FastETSForecaster, simulate_ets

SEASON = np.array([0.8, 0.85, 0.9, 1.0, 1.05, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.1])


def _library_recursion(fit: dict, errors: np.ndarray) -> np.ndarray:
    """One path at a time through statsforecast's own C++ one-step forecast and state update.

    This is statsforecast's ``etssimulate`` loop, with the slope set to 0 when there is no
    trend (``etssimulate`` itself reads an unset slope then: UnboundLocalError in 2.0.1).
    """
    from statsforecast.ets import _ets, switch

    error, trend, season = (switch(c) for c in fit["components"][:3])
    alpha, beta, gamma, phi = (float(p) for p in fit["par"][:4])
    beta, gamma = np.nan_to_num(beta), np.nan_to_num(gamma)
    phi = phi if fit["components"][3] == "D" else 1.0
    x, m = fit["states"][-1], int(fit["m"])
    out = np.empty_like(errors)
    for row, e in enumerate(errors):
        s, olds, f = np.zeros(24), np.zeros(24), np.zeros(10)
        level = x[0]
        slope = x[1] if trend != _ets.Component.Nothing else 0.0
        if season != _ets.Component.Nothing:
            first = 2 if trend != _ets.Component.Nothing else 1
            s[:m] = x[first : first + m]
        for i in range(len(e)):
            old_level, old_slope = level, slope
            olds[:m] = s[:m]
            _ets.forecast(f, old_level, old_slope, olds, m, trend, season, phi, 1)
            y = f[0] + e[i] if error == _ets.Component.Additive else f[0] * (1 + e[i])
            out[row, i] = y
            level, slope = _ets.update(
                s, level, slope, old_level, old_slope, olds, m, trend, season, alpha, beta,
                gamma, phi, y,
            )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def seasonal_series() -> pd.Series:
    rng = np.random.default_rng(3)
    idx = pd.date_range("2015-01-01", periods=72, freq="MS")
    trend = 100.0 * np.exp(0.01 * np.arange(72))
    return pd.Series(trend * SEASON[idx.month - 1] * np.exp(rng.normal(0, 0.03, 72)), index=idx)


@pytest.mark.parametrize(
    "code, damped",
    [
        ("ANN", False),
        ("AAN", True),
        ("ANA", False),
        ("AAA", True),
        ("MNN", False),
        ("MAN", True),
        ("MNA", False),
        ("MNM", False),
        ("MAM", True),
        ("MAM", False),
    ],
)
def test_simulation_is_statsforecasts_own_state_update(seasonal_series, code, damped):
    from statsforecast.ets import ets_f

    fit = ets_f(seasonal_series.to_numpy(), 12, model=code, damped=damped)
    scale = 0.03 if code[0] == "M" else float(np.sqrt(fit["sigma2"]))
    errors = np.random.default_rng(0).normal(0.0, scale, size=(4, 18))
    ours = simulate_ets(fit["states"][-1], fit["components"], fit["par"], int(fit["m"]), errors)
    np.testing.assert_allclose(ours, _library_recursion(fit, errors), rtol=1e-12)


def test_without_errors_the_path_is_the_textbook_damped_forecast(seasonal_series):
    from statsforecast.ets import ets_f

    fit = ets_f(seasonal_series.to_numpy(), 12, model="AAA", damped=True)
    level, slope = fit["states"][-1][:2]
    seasons = fit["states"][-1][2:14]  # newest first
    phi = fit["par"][3]
    path = simulate_ets(fit["states"][-1], fit["components"], fit["par"], 12, np.zeros((1, 15)))
    h = np.arange(1, 16)
    damping = np.array([sum(phi**j for j in range(1, k + 1)) for k in h])
    # Hyndman et al. (2008) table 2.1: l + (phi + ... + phi^h) b + s[n + h - m(k + 1)]
    expected = level + damping * slope + seasons[::-1][(h - 1) % 12]
    np.testing.assert_allclose(path[0], expected, rtol=1e-12)


def test_gaussian_paths_have_the_closed_form_variance():
    # ETS(A,N,N): Var(y[n+h]) = sigma^2 (1 + (h - 1) alpha^2) (Hyndman et al. 2008, table 6.1)
    rng = np.random.default_rng(1)
    y = pd.Series(
        1000 + np.cumsum(rng.normal(0, 10, 80)) + rng.normal(0, 10, 80),
        index=pd.date_range("2018-01-01", periods=80, freq="MS"),
    )
    model = FastETSForecaster(configs=[("add", None, False, None)]).fit(y)
    paths = model.sample_paths(12, 40_000, seed=2).to_numpy()
    alpha = model.model_["par"][0]
    expected = model.sigma_**2 * (1 + np.arange(12) * alpha**2)
    np.testing.assert_allclose(paths.var(axis=0), expected, rtol=0.04)
    np.testing.assert_allclose(paths.mean(axis=0), model.model_["states"][-1][0], rtol=0.01)


def test_searches_the_same_configurations_as_the_statsmodels_ets(seasonal_series, make_series):
    model = FastETSForecaster().fit(seasonal_series)
    table = model.aicc_[["error", "trend", "damped", "seasonal"]].to_numpy()
    tried = {tuple(None if pd.isna(v) else v for v in row) for row in table}
    candidates = set(ETSForecaster().candidate_configs(seasonal_series))
    # every candidate but additive error with a multiplicative season, which neither tries
    assert tried == candidates and len(tried) == 10
    assert model.config_[3] is not None  # a seasonal series gets a seasonal model
    assert list(model.aicc_["aicc"]) == sorted(model.aicc_["aicc"])
    short = FastETSForecaster().fit(make_series(n=20, noise=0.05))
    assert set(short.aicc_["seasonal"].map(str)) == {"None"}


def test_paths_are_seeded_and_bootstrap_draws_the_residuals(seasonal_series):
    model = FastETSForecaster().fit(seasonal_series)
    first = model.sample_paths(6, 200, seed=5)
    assert first.equals(model.sample_paths(6, 200, seed=5))
    assert not first.equals(model.sample_paths(6, 200, seed=6))
    assert list(first.columns) == list(pd.date_range("2021-01-01", periods=6, freq="MS"))
    boot = FastETSForecaster(configs=[("add", None, False, None)], errors="bootstrap")
    boot.fit(seasonal_series)
    level = boot.model_["states"][-1][0]
    one_step = boot.sample_paths(1, 300, seed=0).to_numpy()[:, 0] - level
    residuals = np.asarray(boot.model_["residuals"])
    assert np.isin(np.round(one_step, 9), np.round(residuals, 9)).all()


def test_too_short_series_is_refused(make_series):
    with pytest.raises(ModelError, match="at least 4 months"):
        FastETSForecaster().fit(make_series(n=3))


def test_on_logs_only_additive_models_are_tried_and_paths_are_exponentiated(seasonal_series):
    from statsforecast.ets import ets_f

    model = FastETSForecaster(log=True).fit(seasonal_series)
    table = model.aicc_
    # on logs a multiplicative error or season is an additive one: 4 configurations, not 10
    assert set(table["error"]) == {"add"} and len(table) == 4
    assert set(table["seasonal"].fillna("none")) == {"none", "add"}
    assert model.config_[3] == "add"  # the seasonal series keeps its season on logs
    # with zero errors the path is exp of statsforecast's own forecast of the log series
    _error, trend, damped, season = model.config_
    code = "A" + ("A" if trend else "N") + ("A" if season else "N")
    fit = ets_f(np.log(seasonal_series.to_numpy()), 12, model=code, damped=damped)
    expected = np.exp(
        simulate_ets(fit["states"][-1], fit["components"], fit["par"], 12, np.zeros((1, 6)))
    )
    model.sigma_ = 0.0
    np.testing.assert_allclose(model.sample_paths(6, 1, seed=0).to_numpy(), expected, rtol=1e-9)


def test_on_logs_a_non_positive_series_is_refused(seasonal_series):
    bad = seasonal_series.copy()
    bad.iloc[10] = 0.0
    with pytest.raises(ModelError, match="positive"):
        FastETSForecaster(log=True).fit(bad)
