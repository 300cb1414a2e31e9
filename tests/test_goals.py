"""Goal arithmetic checked against closed forms and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from shopcast.exceptions import ParameterError
from shopcast.forecasting.base import SamplePaths
from shopcast.gmv.goals import (
    absolute_goal,
    gap_table,
    growth_comparison,
    multiple_goal,
    required_path,
    time_to_goal,
    trailing_growth,
    window_total,
)


def frame(values, start="2023-01-01"):
    values = np.atleast_2d(np.asarray(values, dtype=float))
    cols = pd.date_range(start, periods=values.shape[1], freq="MS")
    return pd.DataFrame(values, columns=cols)


def test_window_total_sums_inclusive_months():
    paths = frame([[1, 2, 3, 4], [10, 20, 30, 40]])
    total = window_total(paths, "2023-02", "2023-03")
    assert total.tolist() == [5.0, 50.0]
    assert total.name == "window_total"


def test_window_outside_paths_is_refused():
    paths = frame([[1, 2, 3]])
    with pytest.raises(ParameterError, match="2023-04"):
        window_total(paths, "2023-01", "2023-04")
    with pytest.raises(ParameterError, match="on or after"):
        window_total(paths, "2023-03", "2023-01")


def test_goal_probability_matches_normal_closed_form():
    # iid normal months: the 6-month total is N(6 mu, 6 sd^2), so P(total >= target) is known.
    n, months, mu, sd = 20_000, 6, 100.0, 15.0
    rng = np.random.default_rng(42)
    paths = frame(rng.normal(mu, sd, size=(n, months)))
    target = months * mu + 0.5 * math.sqrt(months) * sd
    result = absolute_goal(paths, "2023-01", "2023-06", target)
    exact = 1 - norm.cdf(0.5)
    assert result.probability_se == pytest.approx(math.sqrt(exact * (1 - exact) / n), rel=0.05)
    assert abs(result.probability - exact) < 4 * result.probability_se
    total_sd = math.sqrt(months) * sd
    assert result.p50 == pytest.approx(months * mu, abs=4 * 1.25 * total_sd / math.sqrt(n))
    assert result.p90 == pytest.approx(months * mu + norm.ppf(0.9) * total_sd, rel=0.01)
    # expected shortfall of a normal: E[max(c - X, 0)] = s * (z Phi(z) + phi(z)), z = (c-m)/s
    z = 0.5
    exact_es = total_sd * (z * norm.cdf(z) + norm.pdf(z))
    assert result.expected_shortfall == pytest.approx(exact_es, rel=0.03)


def test_shortfall_on_three_samples():
    paths = frame([[40, 40], [50, 50], [60, 60]])
    result = absolute_goal(paths, "2023-01", "2023-02", 100)
    assert result.probability == pytest.approx(2 / 3)
    assert result.expected_shortfall == pytest.approx(20 / 3)
    assert result.conditional_shortfall == pytest.approx(20)
    assert (result.p10, result.p50, result.p90) == pytest.approx((84, 100, 116))
    assert result.summary()["target"] == 100


def test_multiple_goal_uses_each_samples_own_base():
    # 2022 (base) then 2023; sample 0 quadruples exactly, sample 1 only doubles, sample 2 x5
    base = np.array([[1.0], [2.0], [1.0]]) * np.ones((3, 12))
    goal = np.array([[4.0], [4.0], [5.0]]) * np.ones((3, 12))
    paths = frame(np.hstack([base, goal]), start="2022-01-01")
    result = multiple_goal(paths, "2023-01", "2023-12", 4, "2022-01", "2022-12")
    assert result.targets.tolist() == [48.0, 96.0, 48.0]
    assert result.probability == pytest.approx(2 / 3)
    assert result.expected_shortfall == pytest.approx(48 / 3)
    assert result.target == 48.0


def test_required_path_hand_computed():
    g, table = required_path("2023-07", 100.0, 3, 364.1)
    assert g == pytest.approx(0.10, abs=1e-10)
    assert table["required"].tolist() == pytest.approx([110.0, 121.0, 133.1])
    assert table["cumulative_required"].iloc[-1] == pytest.approx(364.1)
    assert list(table.index) == list(pd.date_range("2023-08-01", periods=3, freq="MS"))
    g0, _ = required_path("2023-07", 100.0, 3, 300.0)
    assert g0 == pytest.approx(0.0, abs=1e-10)
    # a decline is a valid answer too: 100*(0.5 + 0.25) = 75
    gd, _ = required_path("2023-07", 100.0, 2, 75.0)
    assert gd == pytest.approx(-0.5, abs=1e-10)


def test_required_path_matches_geometric_series():
    last, n, need = 1.2e9, 5, 9.7e9
    g, table = required_path(pd.Timestamp("2023-07-01"), last, n, need)
    r = 1 + g
    assert last * r * (r**n - 1) / g == pytest.approx(need, rel=1e-10)
    assert table["required"].sum() == pytest.approx(need, rel=1e-10)


def test_required_path_refuses_reached_goal():
    with pytest.raises(ParameterError, match="already reached"):
        required_path("2023-07", 100.0, 3, 0.0)


def test_trailing_growth_and_comparison():
    idx = pd.date_range("2022-01-01", periods=13, freq="MS")
    history = pd.Series(100 * 1.05 ** np.arange(13), index=idx)
    assert trailing_growth(history, 3) == pytest.approx(0.05)
    table = growth_comparison(history, 0.08, windows=(3, 6, 24))
    assert list(table.index) == [3, 6]
    assert table["required_minus_trailing"].tolist() == pytest.approx([0.03, 0.03])


def test_gap_table_columns_and_values():
    paths = frame([[90, 100], [100, 110], [110, 120]], start="2023-08-01")
    _, required = required_path("2023-07", 100.0, 2, 210.0)  # 100 * (1+g) + 100 (1+g)^2 = 210
    table = gap_table(paths, required)
    assert list(table.columns) == [
        "p10",
        "p50",
        "p90",
        "required",
        "gap",
        "cumulative_gap",
        "prob_above_required",
    ]
    assert table["p50"].tolist() == [100.0, 110.0]
    assert table["gap"].tolist() == pytest.approx((table["p50"] - table["required"]).tolist())
    assert table["cumulative_gap"].iloc[-1] == pytest.approx(table["gap"].sum())


def test_time_to_goal_on_deterministic_paths():
    months = 24
    paths = frame(
        [
            np.ones(months),  # trailing 12 = 12 from month 12
            np.r_[np.zeros(12), np.ones(12)],  # reaches 12 only at month 24
            np.full(months, 0.5),  # never
        ]
    )
    result = time_to_goal(paths, annual_target=12.0)
    cols = pd.date_range("2023-01-01", periods=months, freq="MS")
    assert result.first_month.iloc[0] == cols[11]
    assert result.first_month.iloc[1] == cols[23]
    assert pd.isna(result.first_month.iloc[2])
    assert result.probability_never == pytest.approx(1 / 3)
    assert result.p10 == cols[11]
    assert result.p50 == cols[23]
    assert pd.isna(result.p90)
    assert result.by_month.index[0] == cols[11]
    assert result.by_month["prob_reached"].iloc[-1] == pytest.approx(2 / 3)
    assert result.by_month["prob_first"].sum() == pytest.approx(2 / 3)


def test_probability_se_is_clustered_by_history_draw():
    # 4 history draws x 250 rows: two draws always hit, two never; rows are not independent
    paths = frame(np.repeat([[2.0], [0.0], [2.0], [0.0]], 250, axis=0))
    iid = absolute_goal(paths, "2023-01", "2023-01", 1.0)
    assert iid.probability_se == pytest.approx(math.sqrt(0.25 / 1000))
    drawn = SamplePaths(paths, draw_of_row=tuple(np.repeat([0, 1, 2, 3], 250).tolist()))
    clustered = absolute_goal(drawn, "2023-01", "2023-01", 1.0)
    # between-draw: hit rates 1, 0, 1, 0 -> sqrt(k/(k-1) * sum((250*(h-p))^2)) / n
    assert clustered.probability_se == pytest.approx(math.sqrt(4 / 3 * 4 * 125**2) / 1000)
    assert clustered.probability_se > 10 * iid.probability_se
