"""The goal pipeline end to end, checked against independent recomputations and exact cases.

Sizes are kept small (20 reconstruction draws, 5 fitted histories, 300 paths) so that the module
runs in a few seconds; the checks are about the plumbing, not about the forecasts' accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ParameterError
from shopcast.forecasting.ensemble import ensemble_factory
from shopcast.gmv.pipeline import (
    SEED_AD_GROWTH,
    ForecastSettings,
    assumed_ad_index,
    forecaster_factories,
    load_history,
    run_goal_forecast,
)
from shopcast.gmv.schema import GOAL_CANDIDATES, GOAL_ENSEMBLE, GOAL_MODELS

SMALL = {"n_draws": 20, "n_histories": 5, "n_samples": 300}
CSV_MONTHS = pd.date_range("2021-01-01", periods=30, freq="MS")  # 2021-01 .. 2023-06
CSV_VALUES = np.round(1e6 * 1.05 ** np.arange(30))  # whole dollars: exact in the CSV


def months_in(index, start, end):
    index = pd.DatetimeIndex(index)
    return (index >= pd.Timestamp(start)) & (index <= pd.Timestamp(end))


@pytest.fixture(scope="module")
def result():
    """The default scenario (anchors, Prophet, history to Dec 2022), small sizes, seed 0."""
    return run_goal_forecast(seed=0, **SMALL)


@pytest.fixture
def gmv_csv(tmp_path):
    """A user's monthly GMV file: 30 months of 5% monthly growth from $1M."""
    path = tmp_path / "my_gmv.csv"
    frame = pd.DataFrame(
        {"date": CSV_MONTHS.strftime("%Y-%m-%d"), "gmv": CSV_VALUES.astype(np.int64)}
    )
    frame.to_csv(path, index=False)
    return path


def run_csv(path, **kwargs):
    args = {"history_end": "", "settings": ForecastSettings(model="drift_log"), **SMALL}
    return run_goal_forecast(path, **(args | kwargs))


# --------------------------------------------------------------------------------------------
# reproducibility


def headline(r):
    return (
        r.absolute.probability,
        r.absolute.p10,
        r.absolute.p50,
        r.absolute.p90,
        r.multiple.probability,
        r.multiple.target,
        r.required_growth,
        r.time_to_goal.probability_never,
    )


def test_same_seed_gives_identical_numbers_and_paths(result):
    again = run_goal_forecast(seed=0, **SMALL)
    assert headline(again) == headline(result)
    pd.testing.assert_frame_equal(again.paths.frame, result.paths.frame)
    assert again.paths.draw_of_row == result.paths.draw_of_row
    pd.testing.assert_frame_equal(again.draws, result.draws)


def test_different_seed_gives_different_paths(result):
    other = run_goal_forecast(seed=1, **SMALL)
    assert other.paths.frame.shape == result.paths.frame.shape
    assert not np.allclose(other.paths.frame.to_numpy(), result.paths.frame.to_numpy())
    assert other.absolute.p50 != result.absolute.p50


# --------------------------------------------------------------------------------------------
# goal probabilities against an independent recomputation from the paths


def test_absolute_probability_recomputed_from_paths(result):
    window = months_in(result.paths.frame.columns, "2023-01-01", "2023-12-01")
    assert window.sum() == 12
    totals = result.paths.frame.to_numpy()[:, window].sum(axis=1)
    assert result.absolute.probability == pytest.approx(np.mean(totals >= 20e9), abs=1e-12)
    assert result.absolute.p50 == pytest.approx(np.median(totals), rel=1e-12)
    assert result.absolute.n_samples == len(result.paths) == SMALL["n_samples"]


def test_multiple_probability_recomputed_from_paths(result):
    values = result.paths.frame.to_numpy()
    goal = values[:, months_in(result.paths.frame.columns, "2023-01-01", "2023-12-01")].sum(axis=1)
    base = values[:, months_in(result.paths.frame.columns, "2022-01-01", "2022-12-01")].sum(axis=1)
    assert result.multiple.probability == pytest.approx(np.mean(goal >= 4.0 * base), abs=1e-12)
    assert result.multiple.target == pytest.approx(np.median(4.0 * base), rel=1e-12)


def test_default_result_shape(result):
    assert result.history_kind == "reconstructed"
    assert result.last_actual == pd.Timestamp("2022-12-01")
    assert result.draws.shape == (SMALL["n_draws"], 24)  # Jan 2021 .. Dec 2022
    # full paths: the history months, then 36 forecast months
    assert result.paths.frame.shape[1] == 24 + 36
    assert pd.Timestamp(result.paths.frame.columns[-1]) == pd.Timestamp("2025-12-01")
    assert result.model_name == "prophet"
    assert result.selection.empty  # only filled for model="auto"
    assert {"seasonal_naive", "drift_log", "prophet"} <= set(result.backtest_summary.index)


# --------------------------------------------------------------------------------------------
# the required path


def test_required_path_sums_to_target_when_nothing_is_banked(result):
    # the window (2023) starts right after the history (Dec 2022): nothing banked
    req = result.required
    assert req is not None
    assert req.index[0] == pd.Timestamp("2023-01-01")
    assert req.index[-1] == pd.Timestamp("2023-12-01")
    assert req["required"].sum() == pytest.approx(20e9, rel=1e-9)
    g = result.required_growth
    last_value = float(result.history.iloc[-1])
    expected = last_value * (1 + g) ** np.arange(1, 13)
    np.testing.assert_allclose(req["required"].to_numpy(), expected, rtol=1e-12)
    assert result.gap is not None and list(result.gap.index) == list(req.index)


def test_required_path_sums_to_target_minus_banked(gmv_csv):
    # history runs to Jun 2023: the first six months of the 2023 window are already banked
    target = 1e8
    r = run_csv(gmv_csv, goal_target_usd=target)
    banked = CSV_VALUES[months_in(CSV_MONTHS, "2023-01-01", "2023-06-01")].sum()
    assert banked > 0
    assert r.required.index[0] == pd.Timestamp("2023-07-01")
    assert r.required.index[-1] == pd.Timestamp("2023-12-01")
    assert r.required["required"].sum() == pytest.approx(target - banked, rel=1e-9)
    assert r.required["cumulative_required"].iloc[-1] == pytest.approx(target - banked, rel=1e-9)


def test_no_required_path_when_window_starts_later():
    r = run_goal_forecast(
        history_end="2022-06-01", settings=ForecastSettings(model="drift_log"), seed=0, **SMALL
    )
    assert r.required is None and r.required_growth is None and r.gap is None
    assert any("does not run on from the last data month" in note for note in r.notes)


# --------------------------------------------------------------------------------------------
# a user's own CSV: the observed path


def test_observed_history_from_users_csv(gmv_csv):
    r = run_csv(gmv_csv, goal_target_usd=1.0)
    assert r.history_kind == "observed"
    assert r.paths.history_kind == "observed"  # charts name the history from it
    assert r.anchors is None and r.residuals is None
    assert r.draws.shape == (1, 30)
    np.testing.assert_array_equal(r.draws.iloc[0].to_numpy(), CSV_VALUES)
    assert r.last_actual == CSV_MONTHS[-1]
    # every path carries the observed history unchanged
    hist = r.paths.frame.loc[:, months_in(r.paths.frame.columns, CSV_MONTHS[0], CSV_MONTHS[-1])]
    np.testing.assert_array_equal(hist.to_numpy(), np.tile(CSV_VALUES, (len(r.paths), 1)))


def test_goals_far_below_and_far_above_the_history(gmv_csv):
    # the 2023 window's total is ~ $50M; $1 is always reached, $1 trillion never
    assert run_csv(gmv_csv, goal_target_usd=1.0).absolute.probability == 1.0
    assert run_csv(gmv_csv, goal_target_usd=1e12).absolute.probability == 0.0


def test_window_inside_observed_history_is_known_exactly(gmv_csv):
    r = run_csv(gmv_csv, goal_start="2022-01-01", goal_end="2022-12-01", goal_target_usd=1.0)
    exact = CSV_VALUES[months_in(CSV_MONTHS, "2022-01-01", "2022-12-01")].sum()
    assert r.absolute.p10 == r.absolute.p50 == r.absolute.p90 == pytest.approx(exact, rel=1e-12)


def test_history_end_truncates_observed_history(gmv_csv):
    r = run_csv(gmv_csv, history_end="2022-12-01")
    assert r.last_actual == pd.Timestamp("2022-12-01")
    assert r.draws.shape == (1, 24)
    np.testing.assert_array_equal(r.draws.iloc[0].to_numpy(), CSV_VALUES[:24])
    # the window's Jan-Jun 2023 is forecast now, not the CSV's values
    assert pd.Timestamp(r.paths.frame.columns[24]) == pd.Timestamp("2023-01-01")


def test_history_end_truncates_reconstructed_history():
    r = run_goal_forecast(
        history_end="2022-06-01", settings=ForecastSettings(model="drift_log"), seed=0, **SMALL
    )
    assert r.last_actual == pd.Timestamp("2022-06-01")
    assert pd.Timestamp(r.draws.columns[-1]) == pd.Timestamp("2022-06-01")
    assert pd.Timestamp(r.paths.frame.columns[-1]) == pd.Timestamp("2022-06-01") + pd.DateOffset(
        months=36
    )


@pytest.mark.parametrize("model", ["drift_log", "prophet"])
def test_short_observed_history_still_runs_with_a_shorter_backtest(gmv_csv, model):
    # the CSV loader accepts 12 months; the backtest's default 18 training months + 6 ahead
    # would need 24, so the pipeline trains the backtest on fewer months and says so
    r = run_csv(gmv_csv, history_end="2021-12-01", settings=ForecastSettings(model=model))
    assert len(r.history) == 12
    assert model in r.backtest_summary.index
    assert any("backtest's first origin trains on 6 months" in note for note in r.notes)


def test_load_history_resolves_relative_paths_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # notebooks run from notebooks/, not the project root
    kind, draws, anchors, residuals = load_history("data/gmv_anchors.csv", n_draws=7, seed=3)
    assert kind == "reconstructed"
    assert draws.shape[0] == 7
    assert {"anchor_id", "value_usd"} <= set(anchors.columns)
    assert residuals is not None


def test_load_history_of_users_csv(gmv_csv):
    kind, draws, anchors, residuals = load_history(gmv_csv, history_end="2021-12-01")
    assert (kind, anchors, residuals) == ("observed", None, None)
    np.testing.assert_array_equal(draws.to_numpy(), [CSV_VALUES[:12]])


# --------------------------------------------------------------------------------------------
# parameter errors


def test_horizon_too_short_for_the_goal_window():
    # history ends Dec 2022, the window ends Dec 2023: 12 months are needed
    with pytest.raises(ParameterError, match=r'"horizon_months" = 11 .*at least 12') as info:
        run_goal_forecast(horizon_months=11, **SMALL)
    assert info.value.field == "horizon_months"


def test_unknown_model_is_refused():
    with pytest.raises(
        ParameterError, match=r'"model" = \'arima\'.*drift_log, ets, theta_log, prophet'
    ) as info:
        run_goal_forecast(settings=ForecastSettings(model="arima"), **SMALL)
    assert info.value.field == "model"


# --------------------------------------------------------------------------------------------
# model choice and factories


def test_auto_reports_chosen_model_and_selection_table():
    r = run_goal_forecast(settings=ForecastSettings(model="auto"), seed=0, **SMALL)
    assert r.model_name in set(GOAL_MODELS) - {"auto"}
    assert not r.selection.empty
    assert r.model_name == r.selection["mase"].idxmin()  # the best backtest score is chosen
    assert r.model_name in r.model_reason
    assert r.model_name in r.backtest_summary.index
    assert "ensemble" in r.selection.index  # scored, without a member the history is too short for
    assert "the ensemble scored: the mixture of ets_fast and theta_fast_log" in r.model_reason


def test_forecaster_factories_follow_settings(result):
    history = result.history
    plain = forecaster_factories(ForecastSettings(), history)
    assert tuple(plain) == GOAL_CANDIDATES  # the vocabulary the parameter schema offers
    first, second = plain["prophet"](), plain["prophet"]()
    assert first is not second  # a fresh, unfitted model each call
    ensemble = ensemble_factory(plain, members=GOAL_ENSEMBLE)()  # what model: ensemble runs
    assert list(ensemble.members) == ["ets_fast", "theta_fast_log", "hw_damped_mul"]
    assert ensemble.method == "mixture"
    assert first.ad_index is None and first.cap is None and first.growth == "linear"

    settings = ForecastSettings(
        growth="logistic",
        cap_usd_per_month=7e9,
        changepoint_prior_scale=0.2,
        festival_effects=False,
        ad_scenario=True,
        ad_growth_per_year=0.5,
    )
    model = forecaster_factories(settings, history)["prophet"]()
    assert (model.growth, model.cap, model.changepoint_prior_scale) == ("logistic", 7e9, 0.2)
    assert model.festivals is False
    assert model.ad_growth == 0.5
    assert model.ad_index.index.equals(pd.DatetimeIndex(history.index))


def test_assumed_ad_index_grows_by_one_plus_g_every_12_months():
    months = pd.date_range("2021-01-01", periods=37, freq="MS")
    for g in (SEED_AD_GROWTH, 0.5, 0.0):
        index = assumed_ad_index(months, g)
        assert index.iloc[0] == 1.0
        assert index.index.equals(months)
        ratios = index.iloc[12:].to_numpy() / index.iloc[:-12].to_numpy()
        np.testing.assert_allclose(ratios, 1.0 + g, rtol=1e-12)
        # constant growth within the year too: each month is (1 + g) ** (1/12) times the last
        np.testing.assert_allclose(
            index.iloc[1:].to_numpy() / index.iloc[:-1].to_numpy(), (1 + g) ** (1 / 12), rtol=1e-12
        )
