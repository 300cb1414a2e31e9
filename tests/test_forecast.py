"""Forecasters: exact baselines, seeded Prophet paths, settings that must be refused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ModelError, ParameterError
from shopcast.forecasting.base import check_monthly
from shopcast.forecasting.baselines import DriftForecaster, SeasonalNaiveForecaster
from shopcast.forecasting.draws import forecast_over_draws
from shopcast.forecasting.ensemble import EnsembleForecaster, combine_paths, ensemble_members
from shopcast.forecasting.ets import ETSForecaster
from shopcast.forecasting.prophet import ProphetForecaster
from shopcast.forecasting.selection import AutoForecaster, default_candidates, select_model
from shopcast.forecasting.theta import ThetaForecaster

PATTERN = np.array([5, 3, 4, 6, 7, 8, 9, 8, 6, 5, 9, 12], dtype=float)


def test_seasonal_naive_exact_on_pure_seasonal_series():
    idx = pd.date_range("2020-01-01", periods=36, freq="MS")
    y = pd.Series(np.tile(PATTERN, 3), index=idx)
    paths = SeasonalNaiveForecaster().fit(y).sample_paths(24, n_samples=50, seed=3)
    assert paths.shape == (50, 24)
    assert paths.columns[0] == pd.Timestamp("2023-01-01")
    np.testing.assert_allclose(paths.to_numpy(), np.tile(PATTERN, (50, 2)))


def test_seasonal_naive_spread_grows_by_season():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2020-01-01", periods=48, freq="MS")
    y = pd.Series(np.tile(PATTERN, 4) + rng.normal(0, 1, 48), index=idx)
    model = SeasonalNaiveForecaster().fit(y)
    paths = model.sample_paths(24, n_samples=20_000, seed=1).to_numpy()
    var = paths.var(axis=0)
    assert var[:12].mean() == pytest.approx(model.sigma_**2, rel=0.05)
    assert var[12:].mean() == pytest.approx(2 * model.sigma_**2, rel=0.05)


def test_drift_exact_on_linear_trend():
    idx = pd.date_range("2020-01-01", periods=20, freq="MS")
    y = pd.Series(100.0 + 7.0 * np.arange(20), index=idx)
    paths = DriftForecaster().fit(y).sample_paths(5, n_samples=10, seed=0)
    expected = 100.0 + 7.0 * np.arange(20, 25)
    np.testing.assert_allclose(paths.to_numpy(), np.tile(expected, (10, 1)), atol=1e-6)


def test_drift_on_log_scale_is_constant_growth(make_series):
    y = make_series(n=20, growth=0.05)
    paths = DriftForecaster(log=True).fit(y).sample_paths(3, n_samples=4, seed=0)
    expected = y.iloc[-1] * np.exp(0.05 * np.arange(1, 4))
    np.testing.assert_allclose(paths.to_numpy()[0], expected, rtol=1e-8)


def test_drift_variance_matches_textbook(make_series):
    y = make_series(n=25, growth=0.0, noise=0.0) + np.random.default_rng(0).normal(0, 1e6, 25)
    model = DriftForecaster().fit(y)
    paths = model.sample_paths(6, n_samples=40_000, seed=2).to_numpy()
    h, t = np.arange(1, 7), len(y)
    expected = model.sigma_**2 * h * (1 + h / (t - 1))
    np.testing.assert_allclose(paths.var(axis=0), expected, rtol=0.05)


def test_bootstrap_errors_are_seeded(make_series):
    y = make_series(n=30, noise=0.1)
    a = DriftForecaster(errors="bootstrap").fit(y).sample_paths(4, 100, seed=9)
    b = DriftForecaster(errors="bootstrap").fit(y).sample_paths(4, 100, seed=9)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ParameterError, match="errors"):
        DriftForecaster(errors="student").fit(y)


def test_too_short_for_baselines(make_series):
    with pytest.raises(ModelError, match="at least 13 months"):
        SeasonalNaiveForecaster().fit(make_series(n=12))


def test_check_monthly_refuses_gaps(make_series):
    y = make_series(n=12).drop(pd.Timestamp("2021-05-01"))
    with pytest.raises(ModelError, match="2021-05"):
        check_monthly(y)


def test_prophet_same_seed_same_paths(gmv_series):
    a = ProphetForecaster().fit(gmv_series).sample_paths(12, n_samples=1000, seed=7)
    b = ProphetForecaster().fit(gmv_series).sample_paths(12, n_samples=1000, seed=7)
    c = ProphetForecaster().fit(gmv_series).sample_paths(12, n_samples=1000, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())
    assert a.shape == (1000, 12)
    assert a.columns[0] == gmv_series.index[-1] + pd.offsets.MonthBegin(1)
    assert (a.to_numpy() > 0).all()


def test_prophet_leaves_global_rng_alone(gmv_series):
    model = ProphetForecaster().fit(gmv_series)
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    model.sample_paths(3, 10, seed=1)
    assert np.random.rand() == expected


def test_prophet_follows_exponential_growth(make_series):
    y = make_series(n=32, growth=0.05, noise=0.01, seed=3)
    paths = ProphetForecaster().fit(y).sample_paths(6, 1000, seed=0)
    expected = y.iloc[-1] * np.exp(0.05 * 6)
    assert paths.iloc[:, -1].median() == pytest.approx(expected, rel=0.1)


def test_logistic_cap_must_exceed_last_value(gmv_series):
    last = gmv_series.iloc[-1]
    with pytest.raises(ParameterError, match=r'"cap".*above the last observed month'):
        ProphetForecaster(growth="logistic", cap=0.9 * last).fit(gmv_series)
    with pytest.raises(ParameterError, match="cap"):
        ProphetForecaster(growth="logistic").fit(gmv_series)
    with pytest.raises(ParameterError, match="growth"):
        ProphetForecaster(growth="flat").fit(gmv_series)


def test_logistic_bends_below_cap(gmv_series):
    cap = 2 * gmv_series.iloc[-1]
    paths = (
        ProphetForecaster(growth="logistic", cap=cap).fit(gmv_series).sample_paths(24, 500, seed=0)
    )
    linear = ProphetForecaster().fit(gmv_series).sample_paths(24, 500, seed=0)
    assert paths.iloc[:, -1].median() < cap
    assert paths.iloc[:, -1].median() < linear.iloc[:, -1].median()


def test_month_effects_off_with_short_history(make_series):
    model = ProphetForecaster().fit(make_series(n=20, noise=0.02))
    assert not model.seasonality_used_
    assert "Month-of-year effects are off" in model.notes_[0]
    assert (model.month_effects_ == 0).all()


def test_november_uplift_is_recovered(make_series):
    seasonal = np.ones(12)
    seasonal[10] = 1.35  # November
    y = make_series(n=36, growth=0.04, noise=0.01, seasonal=seasonal, seed=5)
    model = ProphetForecaster().fit(y)
    assert model.seasonality_used_
    november = model.month_effects_[11] + model.festival_effects_["festival_nov"]
    assert november > 0.15
    paths = model.sample_paths(12, 500, seed=0)
    med = paths.median()
    assert med[pd.Timestamp("2024-11-01")] > 1.15 * med[pd.Timestamp("2024-10-01")]


def test_ad_scenario_needs_future_index(gmv_series):
    ad = pd.Series(np.exp(0.07 * np.arange(32)), index=gmv_series.index)
    model = ProphetForecaster(ad_index=ad).fit(gmv_series)
    with pytest.raises(ParameterError, match="ad_growth"):
        model.sample_paths(3, 10)
    fast = ProphetForecaster(ad_index=ad, ad_growth=2.4854).fit(gmv_series)
    assert fast.ad_elasticity_ is not None
    assert fast.sample_paths(3, 10).shape == (10, 3)


def test_forecast_over_draws_returns_full_consistent_paths(make_series):
    base = make_series(n=24, noise=0.0)
    rng = np.random.default_rng(0)
    draws = pd.DataFrame(
        base.to_numpy() * np.exp(rng.normal(0, 0.1, size=(50, 24))), columns=base.index
    )
    pooled = forecast_over_draws(
        lambda: DriftForecaster(log=True), draws, horizon=6, n_samples=103, seed=4, n_histories=10
    )
    out = pooled.frame
    assert out.shape == (103, 30)
    assert out.columns[24] == base.index[-1] + pd.offsets.MonthBegin(1)
    assert pooled.last_actual == base.index[-1]
    used = pooled.draw_rows
    assert len(pooled.draw_of_row) == 103
    assert len(set(used)) == 10
    # rows come in contiguous blocks (11 for the first three draws, 10 after), each carrying
    # its own history draw
    np.testing.assert_allclose(out.iloc[0, :24].to_numpy(), draws.loc[used[0]].to_numpy())
    np.testing.assert_allclose(out.iloc[10, :24].to_numpy(), draws.loc[used[0]].to_numpy())
    np.testing.assert_allclose(out.iloc[11, :24].to_numpy(), draws.loc[used[1]].to_numpy())
    again = forecast_over_draws(
        lambda: DriftForecaster(log=True), draws, horizon=6, n_samples=103, seed=4, n_histories=10
    )
    pd.testing.assert_frame_equal(out, again.frame)


def test_forecast_over_draws_with_prophet(make_series):
    base = make_series(n=32, noise=0.03)
    draws = pd.DataFrame([base.to_numpy() * f for f in (0.9, 1.0, 1.1)], columns=base.index)
    out = forecast_over_draws(
        ProphetForecaster, draws, horizon=5, n_samples=1000, seed=0, n_histories=3
    ).frame
    assert out.shape == (1000, 37)
    assert np.isfinite(out.to_numpy()).all()


# ---- part B: ETS, ensembles, automatic choice


def test_ets_picks_seasonal_config_on_seasonal_series():
    rng = np.random.default_rng(0)
    idx = pd.date_range("2018-01-01", periods=60, freq="MS")
    y = pd.Series(100 + 10 * np.tile(PATTERN, 5) + rng.normal(0, 1, 60), index=idx)
    model = ETSForecaster().fit(y)
    assert model.config_[3] is not None
    assert list(model.aicc_.columns) == ["error", "trend", "damped", "seasonal", "aicc"]
    assert model.aicc_["aicc"].is_monotonic_increasing
    paths = model.sample_paths(12, n_samples=300, seed=1)
    assert paths.shape == (300, 12)
    np.testing.assert_allclose(paths.median().to_numpy(), 100 + 10 * PATTERN, rtol=0.05)
    pd.testing.assert_frame_equal(paths, model.sample_paths(12, n_samples=300, seed=1))


@pytest.mark.parametrize("n, mul_add", [(60, False), (30, False), (40, True)])
def test_ets_search_matches_statsmodels_full_fits_exactly(n, mul_add):
    """The search computes each AICc without building the results (and their Hessian); the
    AICc, the choice and the chosen fit must be those of statsmodels' own ``fit`` to the digit."""
    import warnings

    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    rng = np.random.default_rng(n)
    idx = pd.date_range("2018-01-01", periods=n, freq="MS")
    level = np.exp(np.log(1e8) + 0.04 * np.arange(n) + 0.1 * np.resize(PATTERN, n) / 3)
    y = pd.Series(level * np.exp(rng.normal(0, 0.05, n)), index=idx)
    model = ETSForecaster(mul_season_add_error=mul_add).fit(y)
    full = {}
    for error, trend, damped, seasonal in model.candidate_configs(y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ETSModel(
                y.to_numpy(),
                error=error,
                trend=trend,
                damped_trend=damped,
                seasonal=seasonal,
                seasonal_periods=12 if seasonal else None,
            ).fit(disp=False)
        full[(error, trend, damped, seasonal)] = res
    table = {
        tuple(None if v is None or v != v else v for v in r[:4]): r[4]  # NaN labels: None
        for r in model.aicc_.itertuples(index=False)
    }
    assert table and set(table) <= set(full)
    for config, aicc in table.items():
        assert aicc == float(full[config].aicc), config
    best = min(table, key=table.get)
    assert model.config_ == best
    np.testing.assert_array_equal(model.result_.params, full[best].params)
    assert model.result_.llf == full[best].llf


def test_ets_without_seasons_tries_no_seasonal_config(make_series):
    model = ETSForecaster().fit(make_series(n=20, noise=0.05))
    assert model.aicc_["seasonal"].isna().all()


def test_combine_paths_methods():
    cols = pd.date_range("2024-01-01", periods=2, freq="MS")
    a = pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=cols)
    b = pd.DataFrame([[3.0, 6.0], [5.0, 8.0]], columns=cols)
    c = pd.DataFrame([[2.0, 0.0], [4.0, 0.0]], columns=cols)
    assert combine_paths([a, b, c], "median").to_numpy().tolist() == [[2, 2], [4, 4]]
    assert combine_paths([a, b], "mean").to_numpy().tolist() == [[2, 4], [4, 6]]
    mixed = combine_paths([a, b], "mixture", seed=0).to_numpy()
    for row in range(2):
        assert mixed[row].tolist() in (a.to_numpy()[row].tolist(), b.to_numpy()[row].tolist())
    with pytest.raises(ParameterError, match="method"):
        combine_paths([a], "trimmed")


def test_ensemble_shapes_and_skips(make_series):
    y = make_series(n=12, noise=0.05)  # too short for the seasonal naive
    ens = EnsembleForecaster(
        {"seasonal_naive": SeasonalNaiveForecaster, "drift": DriftForecaster}
    ).fit(y)
    assert list(ens.members_) == ["drift"]
    assert "13 months" in ens.skipped_["seasonal_naive"]
    assert ens.sample_paths(4, 50, seed=0).shape == (50, 4)


def test_auto_picks_seasonal_naive_on_a_seasonal_series():
    rng = np.random.default_rng(3)
    idx = pd.date_range("2018-01-01", periods=60, freq="MS")
    y = pd.Series(100 + 20 * np.tile(PATTERN, 5) + rng.normal(0, 0.5, 60), index=idx)
    auto = AutoForecaster(
        {"drift": DriftForecaster, "seasonal_naive": SeasonalNaiveForecaster},
        horizon=6,
        margin=0.0,  # the best backtest wins outright
    ).fit(y)
    assert auto.chosen_ == "seasonal_naive"
    assert auto.reason_.startswith("seasonal_naive (mase")
    assert "beats the default ensemble" in auto.reason_
    assert set(auto.scores_.index) == {"drift", "seasonal_naive", "ensemble"}
    assert auto.sample_paths(6, 100, seed=0).shape == (100, 6)


def test_auto_with_defaults_leaves_the_ensemble_for_the_right_member():
    # constant 8% monthly growth: drift on the log scale is the right model; ETS's damped trend
    # and Theta's linear drift fall behind, so their ensemble loses by far more than the margin
    rng = np.random.default_rng(3)
    idx = pd.date_range("2018-01-01", periods=48, freq="MS")
    y = pd.Series(100 * 1.08 ** np.arange(48) * np.exp(rng.normal(0, 0.01, 48)), index=idx)
    candidates = {k: f for k, f in default_candidates().items() if k != "prophet"}
    auto = AutoForecaster(candidates, horizon=6).fit(y)
    assert auto.chosen_ == "drift_log"
    assert auto.scores_.loc["drift_log", "mase"] < 0.5 * auto.scores_.loc["ensemble", "mase"]
    assert "beats the default ensemble" in auto.reason_
    assert isinstance(auto.model_, DriftForecaster) and auto.model_.log


def test_auto_picks_drift_on_a_trend():
    rng = np.random.default_rng(4)
    idx = pd.date_range("2018-01-01", periods=48, freq="MS")
    y = pd.Series(100 + 5 * np.arange(48) + rng.normal(0, 0.5, 48), index=idx)
    result = select_model(
        y, {"seasonal_naive": SeasonalNaiveForecaster, "drift": DriftForecaster}, horizon=6
    )
    assert result["chosen"] == "drift"
    assert result["backtest"].table["origin"].nunique() == 3


def test_auto_falls_back_on_short_series(make_series):
    auto = AutoForecaster({"drift": DriftForecaster}, horizon=6).fit(make_series(n=10))
    assert auto.chosen_ == "drift"
    assert "cannot be backtested" in auto.reason_


def test_theta_median_is_statsmodels_forecast_and_variance_is_closed_form():
    rng = np.random.default_rng(5)
    idx = pd.date_range("2015-01-01", periods=72, freq="MS")
    y = pd.Series(200 + np.cumsum(rng.normal(0.5, 2.0, 72)), index=idx)
    model = ThetaForecaster().fit(y)
    assert not model.seasonal_  # no season in a random walk with drift
    paths = model.sample_paths(12, n_samples=40_000, seed=2)
    point = model.result_.forecast(12).to_numpy()  # theta = 2, statsmodels' own formula
    np.testing.assert_allclose(paths.mean().to_numpy(), point, atol=0.15)
    h = np.arange(1, 13)
    closed_form = model.sigma_**2 * (1 + (h - 1) * model.alpha_**2)  # SES h-step variance
    np.testing.assert_allclose(paths.var().to_numpy(), closed_form, rtol=0.04)
    pd.testing.assert_frame_equal(paths.iloc[:100], model.sample_paths(12, 100, seed=2))


def test_theta_recovers_a_multiplicative_season():
    rng = np.random.default_rng(6)
    idx = pd.date_range("2016-01-01", periods=72, freq="MS")
    y = pd.Series(100 * np.tile(PATTERN / PATTERN.mean(), 6) * rng.normal(1, 0.01, 72), idx)
    model = ThetaForecaster().fit(y)
    assert model.seasonal_
    median = model.sample_paths(12, 500, seed=0).median().to_numpy()
    expected = 100 * PATTERN / PATTERN.mean()
    np.testing.assert_allclose(median, expected, rtol=0.06)
    # on the log scale every path is positive and the season is additive in logs
    log_paths = ThetaForecaster(log=True).fit(y).sample_paths(12, 500, seed=0)
    assert (log_paths.to_numpy() > 0).all()
    np.testing.assert_allclose(log_paths.median().to_numpy(), expected, rtol=0.06)


def test_theta_too_short_or_constant(make_series):
    with pytest.raises(ModelError, match="at least 4 months"):
        ThetaForecaster().fit(make_series(n=3))
    flat = pd.Series(5.0, index=pd.date_range("2020-01-01", periods=30, freq="MS"))
    with pytest.raises(ModelError, match="constant series"):
        ThetaForecaster().fit(flat)


def test_theta_spread_comes_from_the_deseasonalised_noise():
    # a strong season with noise of standard deviation 1: the innovations are about that size,
    # not the size of the seasonal swing (statsmodels' own sigma2 gives about 37 here)
    rng = np.random.default_rng(6)
    idx = pd.date_range("2016-01-01", periods=72, freq="MS")
    y = pd.Series(100 * np.tile(PATTERN / PATTERN.mean(), 6) + rng.normal(0, 1, 72), idx)
    model = ThetaForecaster().fit(y)
    assert model.seasonal_
    assert 0.7 < model.sigma_ < 1.5
    spread = model.sample_paths(1, 4000, seed=0).iloc[:, 0].std()
    season_factor = model.result_.forecast_components(1)["seasonal"].iloc[0]
    assert spread == pytest.approx(model.sigma_ * season_factor, rel=0.05)


def test_default_ensemble_is_fast_ets_log_theta_and_holt_winters_else_all():
    candidates = {"seasonal_naive": 0, "hw_damped_mul": 0, "ets": 0, "prophet": 0}
    candidates |= {"theta_fast_log": 0, "ets_fast": 0}
    assert ensemble_members(candidates) == ["ets_fast", "theta_fast_log", "hw_damped_mul"]
    assert ensemble_members({"ets_fast": 0, "hw_damped_mul": 0, "ets": 0}) == [
        "ets_fast",
        "hw_damped_mul",
    ]
    assert ensemble_members({"drift": 0, "ets": 0}) == ["drift", "ets"]
    assert EnsembleForecaster({"a": DriftForecaster}).method == "mixture"


class _Offset:
    """A stub forecaster: the last value plus a fixed offset, no spread."""

    def __init__(self, offset: float):
        self.offset = offset

    def fit(self, y):
        self.y_ = y
        return self

    def sample_paths(self, horizon, n_samples=1000, seed=0):  # noqa: ARG002 (no randomness)
        months = pd.date_range(self.y_.index[-1], periods=horizon + 1, freq="MS")[1:]
        value = float(self.y_.iloc[-1]) + self.offset
        return pd.DataFrame(np.full((n_samples, horizon), value), columns=months)


@pytest.mark.parametrize(
    "margin, chosen",
    # at 0.5 near is exactly half the ensemble: not *below* it, so no switch
    [(0.0, "near"), (0.4, "near"), (0.5, "ensemble"), (0.6, "ensemble"), (0.9, "ensemble")],
)
def test_auto_leaves_the_default_only_by_the_margin(margin, chosen):
    idx = pd.date_range("2019-01-01", periods=40, freq="MS")
    y = pd.Series(np.arange(40.0), index=idx)  # rises by 1 a month
    # errors: near 1, far 3, their mean (the ensemble) 2: near is 50% better than the ensemble
    candidates = {"near": lambda: _Offset(2.0), "far": lambda: _Offset(4.0)}
    result = select_model(
        y, candidates, horizon=1, n_origins=2, step=1, ensemble_method="mean", margin=margin
    )
    scores = result["scores"]["mase"]
    assert scores["near"] == pytest.approx(0.5 * scores["ensemble"])
    assert result["chosen"] == chosen
    if chosen == "ensemble":
        assert result["reason"].startswith("ensemble kept")
        assert "near" in result["reason"]
    with pytest.raises(ParameterError, match="margin"):
        select_model(y, candidates, horizon=1, n_origins=2, step=1, margin=1.0)


class _FailsBelow:
    """A drift model that refuses series shorter than ``n`` months (as a real member might)."""

    def __init__(self, n: int):
        self.n = n

    def fit(self, y):
        if len(y) < self.n:
            raise ModelError(f"needs {self.n} months")
        self._inner = DriftForecaster().fit(y)
        return self

    def sample_paths(self, horizon, n_samples=1000, seed=0):
        return self._inner.sample_paths(horizon, n_samples, seed)


def test_ensemble_is_scored_without_a_member_the_history_is_too_short_for(make_series):
    y = make_series(n=40, noise=0.05)
    candidates = {
        "drift": DriftForecaster,
        "ets": ETSForecaster,
        "theta": lambda: _FailsBelow(30),  # fails at the first origins (24 and 27 months)
    }
    result = select_model(y, candidates, horizon=6, n_origins=3, step=3)
    # the ensemble as it would be fitted on a history this short: drift and ETS
    assert set(result["scores"].index) == {"drift", "ets", "ensemble"}
    assert result["members"] == ("drift", "ets")
    assert set(result["backtest"].skipped) == {"theta"}
    assert "not scored: theta" in result["backtest"].description
    table = result["backtest"].table
    assert table[table["model"] == "ensemble"]["origin"].nunique() == 3
    # one member left: no ensemble to score
    two = {"drift": DriftForecaster, "theta": lambda: _FailsBelow(30)}
    alone = select_model(y, two, horizon=6, n_origins=3, step=3)
    assert set(alone["scores"].index) == {"drift"}
    assert set(alone["backtest"].skipped) == {"theta", "ensemble"}
    assert alone["chosen"] == "drift" and "has the best mase" in alone["reason"]


def test_auto_fits_the_ensemble_as_it_was_scored(make_series):
    y = make_series(n=40, noise=0.05)
    candidates = {
        "drift": DriftForecaster,
        "ets": ETSForecaster,
        "theta": lambda: _FailsBelow(30),
    }
    auto = AutoForecaster(candidates, default="ensemble", margin=0.99).fit(y)
    assert auto.chosen_ == "ensemble"  # kept: nothing beats it by 99%
    assert list(auto.model_.members_) == ["drift", "ets"]  # not theta, which fits all 40


def test_auto_falls_back_to_a_model_that_fits():
    flat = pd.Series(5.0, index=pd.date_range("2020-01-01", periods=30, freq="MS"))
    auto = AutoForecaster({"drift": DriftForecaster, "theta": ThetaForecaster}).fit(flat)
    assert "cannot be backtested" in auto.reason_  # every MASE is 0/0 on a constant series
    assert auto.chosen_ == "ensemble" and list(auto.model_.members_) == ["drift"]
    short = pd.Series(
        np.arange(1.0, 11.0), index=pd.date_range("2020-01-01", periods=10, freq="MS")
    )
    auto = AutoForecaster(
        {"seasonal_naive": SeasonalNaiveForecaster, "drift": DriftForecaster},
        include_ensemble=False,
    ).fit(short)
    assert auto.chosen_ == "drift"  # the seasonal naive needs 13 months: the next one fits


def test_coverage_metric_reason_states_the_distance_from_nominal():
    rng = np.random.default_rng(4)
    idx = pd.date_range("2018-01-01", periods=48, freq="MS")
    y = pd.Series(100 + 5 * np.arange(48) + rng.normal(0, 2, 48), index=idx)
    result = select_model(
        y,
        {"seasonal_naive": SeasonalNaiveForecaster, "drift": DriftForecaster},
        metric="coverage_80",
        default=None,
    )
    assert "from 0.8" in result["reason"]


def test_ets_tries_multiplicative_seasons_with_additive_error_only_when_asked(make_series):
    from shopcast.forecasting.ets import ETSForecaster

    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(12) / 12)
    y = make_series(n=48, growth=0.01, noise=0.02, seasonal=season)
    default = ETSForecaster().candidate_configs(y)
    extended = ETSForecaster(mul_season_add_error=True).candidate_configs(y)
    added = set(extended) - set(default)
    assert added == {("add", None, False, "mul"), ("add", "add", True, "mul")}
    assert len(default) == 10 and len(extended) == 12


def test_damped_multiplicative_holt_winters_follows_a_multiplicative_season(make_series):
    from shopcast.forecasting.ets import HoltWintersForecaster

    season = 1 + 0.4 * np.cos(2 * np.pi * np.arange(12) / 12)  # January peak, July trough
    y = make_series(n=60, growth=0.005, noise=0.01, seasonal=season, seed=3)
    paths = HoltWintersForecaster().fit(y).sample_paths(12, 400, seed=1)
    median = paths.median()
    months = pd.DatetimeIndex(paths.columns).month
    ratio = median[months == 1].iloc[0] / median[months == 7].iloc[0]
    level_trend = np.exp(0.005 * 6)  # six months of trend between July and the next January
    assert ratio == pytest.approx(1.4 / 0.6 * level_trend, rel=0.1)
    again = HoltWintersForecaster().fit(y).sample_paths(12, 400, seed=1)
    pd.testing.assert_frame_equal(paths, again)


def test_holt_winters_refuses_short_or_non_positive_series(make_series):
    from shopcast.exceptions import ModelError
    from shopcast.forecasting.ets import HoltWintersForecaster

    with pytest.raises(ModelError, match="at least 24 months"):
        HoltWintersForecaster().fit(make_series(n=20))
    y = make_series(n=30)
    y.iloc[3] = 0.0
    with pytest.raises(ModelError, match="strictly positive"):
        HoltWintersForecaster().fit(y)
