"""Rolling-origin evaluation: no leakage, exact errors on exact models, clear errors."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ModelError
from shopcast.forecasting.backtest import mase_scale, rolling_origin, summarize
from shopcast.forecasting.baselines import DriftForecaster


class Recorder:
    """A drift model that records the last month of every series it is fitted on."""

    seen: ClassVar[list[pd.Timestamp]] = []

    def fit(self, y):
        Recorder.seen.append(y.index.max())
        self._inner = DriftForecaster().fit(y)
        return self

    def sample_paths(self, horizon, n_samples=1000, seed=0):
        return self._inner.sample_paths(horizon, n_samples, seed)


def test_models_never_see_data_after_the_cutoff(gmv_series):
    Recorder.seen = []
    backtest = rolling_origin(
        gmv_series, {"recorder": Recorder}, horizon=6, initial=18, baselines=False
    )
    table = backtest.table
    origins = sorted(table["origin"].unique())
    assert Recorder.seen == origins
    first_forecast = table.groupby("origin")["month"].min()
    for origin, month in first_forecast.items():
        assert month == origin + pd.offsets.MonthBegin(1)
        assert max(s for s in Recorder.seen if s <= origin) < month


def test_origins_and_columns(gmv_series):
    backtest = rolling_origin(gmv_series, {}, horizon=6, initial=18)
    table = backtest.table
    # 32 months, 18 to train, 6 ahead: cutoffs at months 18..26 -> 9 origins
    assert table["origin"].nunique() == 9
    assert set(table["model"]) == {"seasonal_naive", "drift"}
    assert backtest.scale_method == "naive" and backtest.horizon == 6
    assert len(table) == 2 * 9 * 6
    summary = summarize(table)
    assert list(summary.columns) == ["mape", "smape", "mase", "coverage_80", "n_forecasts"]
    by_step = summarize(table, by=("model", "step"))
    assert len(by_step) == 2 * 6


def test_exact_model_has_zero_error():
    idx = pd.date_range("2020-01-01", periods=30, freq="MS")
    line = pd.Series(100.0 + 5.0 * np.arange(30), index=idx)
    backtest = rolling_origin(
        line, {"drift": DriftForecaster}, horizon=3, initial=12, baselines=False, n_origins=4
    )
    table = backtest.table
    assert table["origin"].nunique() == 4
    assert table["abs_error"].max() == pytest.approx(0.0, abs=1e-6)
    assert summarize(table).loc["drift", "mase"] == pytest.approx(0.0, abs=1e-8)


def test_too_short_series_says_what_is_needed(make_series):
    y = make_series(n=20)
    with pytest.raises(ModelError, match="needs at least 24 months; the series has 20"):
        rolling_origin(y, {}, horizon=6, initial=18)


def test_mase_scale_kinds(make_series):
    y = make_series(n=30, growth=0.0, noise=0.1)
    _, kind = mase_scale(y)
    assert kind == "seasonal"
    _, kind = mase_scale(y.iloc[:20])
    assert kind == "naive"


def test_summary_says_what_the_backtest_covers_and_what_was_left_out(make_series):
    from shopcast.forecasting.baselines import SeasonalNaiveForecaster

    y = make_series(n=24, noise=0.05)
    backtest = rolling_origin(
        y,
        {"drift": DriftForecaster, "seasonal_naive": SeasonalNaiveForecaster},
        horizon=6,
        initial=12,  # 12 months: one too few for the seasonal naive at the first origin
        step=3,
        baselines=False,
        skip_failures=True,
    )
    table = backtest.table
    summary = summarize(table)
    assert list(summary.index) == ["drift"]
    first, last = y.index[11], y.index[17]
    assert backtest.description == (
        f"3 origins ({first:%Y-%m} to {last:%Y-%m}), 6 months ahead; not scored: "
        "seasonal_naive (seasonal naive needs at least 13 months of history (one season plus "
        "one month to measure its error); got 12)"
    )


def test_describe_an_empty_table():
    from shopcast.forecasting.backtest import TABLE_COLUMNS, Backtest

    empty = Backtest(pd.DataFrame(columns=TABLE_COLUMNS), {}, "naive", 6)
    assert empty.description == "no forecasts scored"
