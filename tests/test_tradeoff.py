"""Tests of shopcast.sellers.tradeoff: a threshold's GMV factor applied to sample paths and the
goals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from shopcast.charts.tradeoff import tradeoff_chart
from shopcast.exceptions import ParameterError
from shopcast.forecasting.base import SamplePaths
from shopcast.gmv import goals
from shopcast.sellers.tradeoff import (
    TRADEOFF_COLUMNS,
    paths_under_threshold,
    region_share_draws,
    shares_for_paths,
    threshold_tradeoff,
)

MONTHS = pd.date_range("2022-01-01", "2024-12-01", freq="MS")
LAST = pd.Timestamp("2022-12-01")
GOAL = ("2023-01-01", "2023-12-01")
BASE = ("2022-01-01", "2022-12-01")


def deterministic_paths(levels=(1.0, 2.0, 3.0)) -> SamplePaths:
    """Row ``i`` is ``levels[i]`` every month; history ends Dec 2022."""
    frame = pd.DataFrame(
        np.repeat(np.asarray(levels, dtype=float)[:, None], len(MONTHS), axis=1), columns=MONTHS
    )
    return SamplePaths(frame, last_actual=LAST)


@pytest.fixture
def random_paths() -> SamplePaths:
    """400 noisy growing paths from 40 history draws (10 rows each), with forecast metadata."""
    rng = np.random.default_rng(0)
    n_draws, per = 40, 10
    level = np.repeat(rng.lognormal(np.log(1e9), 0.3, n_draws), per)[:, None]
    growth = np.exp(0.05 * np.arange(len(MONTHS)) + rng.normal(0, 0.1, (n_draws * per, 1)))
    frame = pd.DataFrame(level * growth, columns=MONTHS)
    return SamplePaths(
        frame, last_actual=LAST, draw_of_row=tuple(np.repeat(np.arange(n_draws), per).tolist())
    )


def make_sweep(thresholds) -> pd.DataFrame:
    """A minimal sweep table: share staying falls with the threshold."""
    t = np.asarray(thresholds, dtype=float)
    share = 1.0 / (1.0 + t / 1e4)
    return pd.DataFrame(
        {
            "threshold": t,
            "sellers_staying": share * 1000,
            "sellers_staying_p10": share * 900,
            "sellers_staying_p90": share * 1100,
            "share_sellers_staying": share,
            "share_sellers_staying_p10": share * 0.9,
            "share_sellers_staying_p90": share * 1.1,
            "share_gmv_kept": 1.0 - t / (t.max() * 2 or 1),
        }
    )


def constant_factors(values: dict[float, float], months: int = 6) -> pd.DataFrame:
    """A factor table like gmv_kept_factor's: index month 1..months, one column per threshold."""
    frame = pd.DataFrame(
        {t: np.full(months, f) for t, f in values.items()},
        index=pd.RangeIndex(1, months + 1, name="month"),
    )
    frame.columns.name = "threshold"
    return frame


# ------------------------------------------------------------------ paths_under_threshold


def test_constant_factor_scales_forecast_part_of_window_exactly():
    paths = deterministic_paths()
    f = 0.8
    out = paths_under_threshold(paths, f)
    # window Jul 2022..Jun 2023: 6 history months (untouched) + 6 forecast months (times f)
    total = goals.window_total(out, "2022-07-01", "2023-06-01")
    expected = np.array([1.0, 2.0, 3.0]) * (6 + 6 * f)
    np.testing.assert_allclose(total.to_numpy(), expected, rtol=1e-12)


def test_history_months_untouched_and_start_month_respected():
    paths = deterministic_paths()
    out = paths_under_threshold(paths, 0.5, start_month="2023-09-01")
    history = MONTHS <= LAST
    np.testing.assert_array_equal(
        out.frame.loc[:, history].to_numpy(), paths.frame.loc[:, history].to_numpy()
    )
    months, start = pd.DatetimeIndex(paths.frame.columns), pd.Timestamp("2023-09-01")
    before = (months > LAST) & (months < start)
    np.testing.assert_array_equal(
        out.frame.loc[:, before].to_numpy(), paths.frame.loc[:, before].to_numpy()
    )
    after = months >= start
    np.testing.assert_allclose(
        out.frame.loc[:, after].to_numpy(), 0.5 * paths.frame.loc[:, after].to_numpy()
    )


def test_months_past_the_factor_keep_its_last_value():
    paths = deterministic_paths((1.0,))
    factor = pd.Series([0.9, 0.8, 0.7], index=pd.RangeIndex(1, 4, name="month"))
    out = paths_under_threshold(paths, factor, start_month="2023-03-01")
    row = out.frame.iloc[0]
    assert row[pd.Timestamp("2023-02-01")] == 1.0
    assert row[pd.Timestamp("2023-03-01")] == pytest.approx(0.9)
    assert row[pd.Timestamp("2023-04-01")] == pytest.approx(0.8)
    assert row[pd.Timestamp("2023-05-01")] == pytest.approx(0.7)
    assert row[pd.Timestamp("2024-12-01")] == pytest.approx(0.7)


def test_metadata_preserved_and_input_not_modified(random_paths):
    before = random_paths.frame.copy()
    out = paths_under_threshold(random_paths, 0.9)
    assert out.last_actual == random_paths.last_actual
    assert out.draw_of_row == random_paths.draw_of_row  # clustered errors stay clustered
    assert out.draw_rows == list(range(40))
    with pytest.raises(dataclasses.FrozenInstanceError):
        out.draw_of_row = None  # metadata cannot be lost or changed in place
    pd.testing.assert_frame_equal(random_paths.frame, before)


def test_factor_one_gives_same_probability_and_clustered_se(random_paths):
    target = float(goals.window_total(random_paths, *GOAL).median())
    raw = goals.absolute_goal(random_paths, *GOAL, target)
    same = goals.absolute_goal(paths_under_threshold(random_paths, 1.0), *GOAL, target)
    assert same.probability == raw.probability
    assert same.probability_se == pytest.approx(raw.probability_se, rel=1e-12)
    # the clustered error is the one kept: it differs from the independent-samples formula
    p, n = raw.probability, len(random_paths)
    assert raw.probability_se > 1.5 * np.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------ threshold_tradeoff


def test_tradeoff_factor_one_equals_goals_on_raw_paths(random_paths):
    target = float(goals.window_total(random_paths, *GOAL).median())
    factors = constant_factors({0.0: 1.0, 1e6: 1.0})
    table = threshold_tradeoff(
        random_paths, factors, make_sweep([0, 1e6]), *GOAL, target, 4.0, *BASE
    )
    raw = goals.absolute_goal(random_paths, *GOAL, target)
    mult = goals.multiple_goal(random_paths, *GOAL, 4.0, *BASE)
    assert list(table.columns) == list(TRADEOFF_COLUMNS)
    for _, row in table.iterrows():
        assert row["probability_absolute"] == raw.probability
        assert row["probability_absolute_se"] == pytest.approx(raw.probability_se)
        assert row["probability_multiple"] == mult.probability
        assert row["window_total_p50"] == pytest.approx(raw.p50)
        assert row["gmv_factor_in_window"] == 1.0


def test_tradeoff_probability_non_increasing_as_factor_shrinks(random_paths):
    target = float(goals.window_total(random_paths, *GOAL).quantile(0.3))
    thresholds = [0.0, 1e4, 1e5, 1e6, 1e7]
    factors = constant_factors(dict(zip(thresholds, [1.0, 0.97, 0.9, 0.8, 0.6], strict=True)))
    table = threshold_tradeoff(
        random_paths, factors, make_sweep(thresholds), *GOAL, target, 2.0, *BASE
    )
    for col in ("probability_absolute", "probability_multiple", "window_total_p50"):
        assert (np.diff(table[col].to_numpy()) <= 0).all(), col
    assert table["probability_absolute"].iloc[-1] < table["probability_absolute"].iloc[0]
    np.testing.assert_allclose(table["gmv_factor_in_window"], [1.0, 0.97, 0.9, 0.8, 0.6])


def test_tradeoff_window_factor_counts_only_months_from_start():
    paths = deterministic_paths()
    factors = constant_factors({0.0: 1.0, 1e6: 0.5})
    table = threshold_tradeoff(
        paths, factors, make_sweep([0, 1e6]), *GOAL, 10.0, 2.0, *BASE, start_month="2023-09-01"
    )
    row = table.set_index("threshold").loc[1e6]
    # 8 months at 1, 4 months at 0.5 in calendar 2023
    assert row["gmv_factor_in_window"] == pytest.approx((8 + 4 * 0.5) / 12)
    assert row["window_total_p50"] == pytest.approx(2.0 * (8 + 4 * 0.5))
    assert row["sellers_staying"] == pytest.approx(1000 / 101)


def test_change_is_paired_against_no_threshold(random_paths):
    target = float(goals.window_total(random_paths, *GOAL).median())
    thresholds = [0.0, 1e5, 1e6]
    factors = constant_factors(dict(zip(thresholds, [1.0, 0.95, 0.85], strict=True)))
    table = threshold_tradeoff(
        random_paths, factors, make_sweep(thresholds), *GOAL, target, 2.0, *BASE
    )
    assert table["change_absolute"].iloc[0] == 0.0
    assert table["change_absolute_se"].iloc[0] == 0.0
    np.testing.assert_allclose(
        table["change_absolute"],
        table["probability_absolute"] - table["probability_absolute"].iloc[0],
        atol=1e-12,
    )
    # the same paths scored twice: the change is more precise than either probability
    assert (table["change_absolute_se"].iloc[1:] < table["probability_absolute_se"].iloc[1:]).all()


def test_change_se_closed_form_without_clusters():
    # levels 1, 2, 3 over calendar 2023 give totals 12, 24, 36; a target of 20 is hit by two
    # paths; at factor 0.8 (totals 9.6, 19.2, 28.8) only by one: the differences are 0, -1, 0
    paths = deterministic_paths()
    factors = constant_factors({0.0: 1.0, 1e6: 0.8})
    table = threshold_tradeoff(paths, factors, make_sweep([0, 1e6]), *GOAL, 20.0, 2.0, *BASE)
    row = table.iloc[1]
    assert row["change_absolute"] == pytest.approx(-1 / 3)
    # standard error of the mean of (0, -1, 0): sd (ddof 1) sqrt(1/3), over sqrt(3)
    assert row["change_absolute_se"] == pytest.approx(1 / 3)


def test_tradeoff_chart_returns_figure(random_paths):
    target = float(goals.window_total(random_paths, *GOAL).median())
    thresholds = [0.0, 1e5, 1e6]
    factors = constant_factors(dict(zip(thresholds, [1.0, 0.9, 0.8], strict=True)))
    table = threshold_tradeoff(
        random_paths, factors, make_sweep(thresholds), *GOAL, target, 2.0, *BASE
    )
    fig = tradeoff_chart(table, 1e6, absolute_label="GMV 2023 >= $20B")
    assert isinstance(fig, Figure)
    assert "\\$1M" in fig.axes[0].get_title()


# ------------------------------------------------------------------ errors


def test_start_month_before_forecast_is_refused():
    with pytest.raises(ParameterError, match=r"start_month.*2022-11-01.*forecast month, 2023-01"):
        paths_under_threshold(deterministic_paths(), 0.9, start_month="2022-11-01")


def test_start_month_after_paths_is_refused():
    with pytest.raises(ParameterError, match=r"start_month.*to 2024-12-01"):
        paths_under_threshold(deterministic_paths(), 0.9, start_month="2025-03-01")


def test_paths_without_last_actual_are_refused():
    paths = SamplePaths(deterministic_paths().frame)
    with pytest.raises(ParameterError, match=r"last_actual.*forecast_over_draws"):
        paths_under_threshold(paths, 0.9)


def test_bad_factors_are_refused():
    paths = deterministic_paths()
    with pytest.raises(ParameterError, match=r"finite factors >= 0"):
        paths_under_threshold(paths, -0.1)
    with pytest.raises(ParameterError, match=r"month numbers 1, 2"):
        paths_under_threshold(paths, pd.Series([0.9, 0.8], index=[0, 1]))
    with pytest.raises(ParameterError, match=r"a Series indexed by month number"):
        paths_under_threshold(paths, "0.9")


def test_factor_columns_must_match_sweep():
    paths = deterministic_paths()
    factors = constant_factors({0.0: 1.0, 1e6: 0.8})
    with pytest.raises(ParameterError, match=r"factors.columns.*sweep's thresholds \(0, 2e\+06\)"):
        threshold_tradeoff(paths, factors, make_sweep([0, 2e6]), *GOAL, 10.0, 2.0, *BASE)


def test_goal_window_outside_paths_is_refused():
    paths = deterministic_paths()
    factors = constant_factors({0.0: 1.0})
    with pytest.raises(ParameterError, match=r"months covered by the paths"):
        threshold_tradeoff(
            paths, factors, make_sweep([0]), "2025-01-01", "2025-12-01", 10.0, 2.0, *BASE
        )


# ------------------------------------------------------------------ region


def test_threshold_scales_only_the_named_region():
    paths = deterministic_paths()
    factor = 0.6
    start = "2023-03-01"
    whole = paths_under_threshold(paths, factor, start)
    shares = np.array([0.0, 0.25, 1.0])
    part = paths_under_threshold(paths, factor, start, region_share=shares)
    after = [m for m in MONTHS if m >= pd.Timestamp(start)]
    before = [m for m in MONTHS if m < pd.Timestamp(start)]
    part_f, paths_f, whole_f = part.frame, paths.frame, whole.frame
    pd.testing.assert_frame_equal(part_f[before], paths_f[before])
    # region part scaled by the factor, the rest unchanged: path * (s * f + (1 - s))
    expected = paths_f[after].to_numpy() * (shares * factor + (1 - shares))[:, None]
    np.testing.assert_allclose(part_f[after].to_numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(part_f.iloc[2].to_numpy(), whole_f.iloc[2].to_numpy())
    np.testing.assert_allclose(part_f.iloc[0].to_numpy(), paths_f.iloc[0].to_numpy())


def test_tradeoff_with_a_region_share_loses_less(random_paths):
    factors = constant_factors({0.0: 1.0, 1e6: 0.5})
    sweep = make_sweep([0.0, 1e6])
    args = (random_paths, factors, sweep, *GOAL, 2e10, 4.0, *BASE)
    full = threshold_tradeoff(*args).set_index("threshold")
    part = threshold_tradeoff(*args, region_share=0.2).set_index("threshold")
    assert part.loc[1e6, "gmv_factor_in_window"] == pytest.approx(1 - 0.2 * 0.5)
    assert full.loc[1e6, "gmv_factor_in_window"] == pytest.approx(0.5)
    assert part.loc[1e6, "window_total_p50"] > full.loc[1e6, "window_total_p50"]
    assert part.loc[0.0, "probability_absolute"] == full.loc[0.0, "probability_absolute"]


@pytest.mark.parametrize("bad", [-0.1, 1.5, np.nan, np.array([0.5, 0.5])])
def test_bad_region_shares_are_refused(bad):
    with pytest.raises(ParameterError, match="region_share"):
        paths_under_threshold(deterministic_paths(), 0.5, region_share=bad)


def test_region_share_from_the_anchors():
    same = region_share_draws("united_states", "united_states", "2023-09-01", n_draws=5)
    assert (same == 1).all()
    with pytest.raises(ParameterError, match="part of it"):
        region_share_draws("southeast_asia", "united_states", "2023-09-01", n_draws=5)
    shares = region_share_draws("united_states", "global", "2023-08-01", n_draws=30, seed=1)
    assert shares.shape == (30,)
    assert ((shares > 0) & (shares <= 1)).all()
    assert len(np.unique(shares)) > 1  # the reconstructions' uncertainty carries through
    per_path = shares_for_paths(shares, deterministic_paths(), seed=0)
    assert per_path.shape == (3,) and set(per_path) <= set(shares)
