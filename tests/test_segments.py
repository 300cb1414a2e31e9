"""Segment forecasts: loading and bad segments, joint sampling, exact coherence, goals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import DataError, ParameterError
from shopcast.gmv import joint
from shopcast.gmv.monte_carlo import probability_se
from shopcast.gmv.segment_data import SEPARATOR, load_segment_csv
from shopcast.gmv.segment_goals import coherence, segment_goals
from shopcast.gmv.segments import forecast_segments
from shopcast.gmv.synthetic import synthetic_hierarchy


@pytest.fixture
def hierarchy_csv(tmp_path):
    """2 regions x 3 countries, 48 months, shocks correlated at 0.6."""
    path = tmp_path / "segments.csv"
    synthetic_hierarchy((2, 3), n_months=48, rho=0.6, seed=3).to_csv(path, index=False)
    return path


def _bad_file(tmp_path):
    frame = synthetic_hierarchy((1, 3), n_months=24, seed=1)
    # l2_0: a negative value; l2_1: a duplicated date; plus a 5-month segment
    frame.loc[3, "gmv"] = -10.0
    dup = frame[frame["level_2"] == "l2_1"].iloc[[2]]
    short = frame[frame["level_2"] == "l2_2"].iloc[:5].assign(level_2="l2_short")
    frame = pd.concat([frame, dup, short], ignore_index=True)
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    return path


def test_loader_reads_levels_and_sorted_bottom_segments(hierarchy_csv):
    data = load_segment_csv(hierarchy_csv)
    assert data.levels == ("level_1", "level_2")
    assert data.keys == tuple(sorted(data.keys)) and len(data.keys) == 6
    assert data.bad == ()
    raw = pd.read_csv(hierarchy_csv)
    one = raw[(raw["level_1"] == "l1_1") & (raw["level_2"] == "l2_2")]["gmv"].to_numpy()
    np.testing.assert_allclose(data.draws[("l1_1", "l2_2")].to_numpy()[0], one)


def test_bad_segments_are_named_and_skipped(tmp_path):
    data = load_segment_csv(_bad_file(tmp_path))
    bad = {b.segment: b for b in data.bad}
    assert set(bad) == {"l1_0 / l2_0", "l1_0 / l2_1", "l1_0 / l2_short"}
    assert "negative" in bad["l1_0 / l2_0"].problem and bad["l1_0 / l2_0"].lines == (5,)
    assert "more than once" in bad["l1_0 / l2_1"].problem
    assert "only 5 complete months" in bad["l1_0 / l2_short"].problem
    assert data.keys == (("l1_0", "l2_2"),)


def test_bad_segments_fail_when_asked(tmp_path):
    with pytest.raises(DataError, match=r"3 bad segment\(s\): l1_0 / l2_0: gmv .* negative"):
        load_segment_csv(_bad_file(tmp_path), on_bad_segment="fail")
    with pytest.raises(ParameterError, match="on_bad_segment"):
        load_segment_csv(_bad_file(tmp_path), on_bad_segment="ignore")


def test_segment_ending_early_is_bad(tmp_path):
    frame = synthetic_hierarchy((1, 2), n_months=30, seed=2)
    frame = frame.drop(frame.index[(frame["level_2"] == "l2_1")][-2:])
    path = tmp_path / "early.csv"
    frame.to_csv(path, index=False)
    data = load_segment_csv(path)
    assert [b.segment for b in data.bad] == ["l1_0 / l2_1"]
    assert "end in" in data.bad[0].problem


def test_every_level_sums_exactly(hierarchy_csv):
    forecast = forecast_segments(
        load_segment_csv(hierarchy_csv), 12, model="drift_log", n_samples=500, engine="serial"
    )
    check = coherence(forecast)
    assert check["exact"].all() and (check["max_abs_difference"] == 0).all()
    assert set(check["node"]) == {"total", "l1_0", "l1_1", "total = sum of bottom segments"}
    # independent recomputation with pandas: regions from bottom segments, total from regions
    regions = {
        r: sum(forecast.nodes[k] for k in forecast.bottom if k[0] == r) for r in ("l1_0", "l1_1")
    }
    for region, values in regions.items():
        assert np.array_equal(values, forecast.nodes[(region,)])
    assert np.array_equal(regions["l1_0"] + regions["l1_1"], forecast.nodes[()])
    assert np.array_equal(forecast.nodes[()], np.round(forecast.nodes[()]))


def test_joint_sampling_keeps_a_known_correlation(tmp_path):
    rho = 0.6
    path = tmp_path / "corr.csv"
    synthetic_hierarchy((1, 4), n_months=120, rho=rho, seasonal_amplitude=0.0, seed=7).to_csv(
        path, index=False
    )
    forecast = forecast_segments(
        load_segment_csv(path), 12, model="drift_log", n_samples=4000, engine="serial"
    )
    future = forecast.months > forecast.last_actual
    logs = np.log([forecast.nodes[k][:, future].sum(axis=1) for k in forecast.bottom])
    corr = np.corrcoef(logs)[np.triu_indices(4, 1)]
    # 120 residual months estimate rho with a standard error of about 0.06
    assert abs(corr.mean() - rho) < 0.1, corr
    # the same segments shuffled independently: correlation near 0, total spread narrower
    rng = np.random.default_rng(0)
    shuffled = np.array([rng.permutation(x) for x in logs])
    assert abs(np.corrcoef(shuffled)[np.triu_indices(4, 1)].mean()) < 0.05
    sums = [forecast.nodes[k][:, future].sum(axis=1) for k in forecast.bottom]
    joint_sd = np.std(np.sum(sums, axis=0))
    independent_sd = np.std(np.sum([rng.permutation(s) for s in sums], axis=0))
    ratio = joint_sd / independent_sd
    # closed form for equal variances: sqrt((1 + 3 rho) / 1) with 4 segments and equal weights
    # is about 1.7; unequal sizes lower it, so only check it is clearly above 1
    assert ratio > 1.3, ratio


def test_reorder_rows_matches_ranks():
    summary = np.array([5.0, 1.0, 3.0])
    keys = np.array([0.2, 0.9, -1.0])
    order = joint.reorder_rows(summary, keys)
    # smallest key (row 2) gets the smallest path (1.0), largest key (row 1) the largest (5.0)
    assert list(summary[order]) == [3.0, 5.0, 1.0]


def test_segment_seed_depends_on_name_not_position():
    assert joint.segment_seed(0, "a / b") == joint.segment_seed(0, "a / b")
    assert joint.segment_seed(0, "a / b") != joint.segment_seed(0, "a / c")
    assert joint.segment_seed(0, "a / b") != joint.segment_seed(1, "a / b")


def test_marginals_do_not_depend_on_the_other_segments(tmp_path, hierarchy_csv):
    full = forecast_segments(
        load_segment_csv(hierarchy_csv), 6, model="drift_log", n_samples=300, engine="serial"
    )
    raw = pd.read_csv(hierarchy_csv)
    path = tmp_path / "fewer.csv"
    raw[raw["level_1"] == "l1_0"].to_csv(path, index=False)
    fewer = forecast_segments(
        load_segment_csv(path), 6, model="drift_log", n_samples=300, engine="serial"
    )
    key = ("l1_0", "l2_1")
    np.testing.assert_array_equal(
        np.sort(full.nodes[key], axis=0), np.sort(fewer.nodes[key], axis=0)
    )


def test_segment_goals_add_up(hierarchy_csv):
    forecast = forecast_segments(
        load_segment_csv(hierarchy_csv), 12, model="drift_log", n_samples=1000, engine="serial"
    )
    future = forecast.months[forecast.months > forecast.last_actual]
    median = float(np.median(forecast.nodes[()][:, -12:].sum(axis=1)))
    result = segment_goals(forecast, 1.05 * median, future[0], future[-1])
    table = result.table
    bottom = table[table["bottom"]]
    assert len(bottom) == 6
    assert bottom["share"].sum() == pytest.approx(1.0, abs=1e-12)
    assert bottom["target"].sum() == pytest.approx(1.05 * median, rel=1e-12)
    total = result.total
    assert bottom["gap_mean"].sum() == pytest.approx(total.target - total.mean_total, rel=1e-9)
    missed = total.totals < total.targets
    expected = float((total.targets - total.totals)[missed].mean())
    assert bottom["gap_when_missed"].sum() == pytest.approx(expected, rel=1e-9)
    assert bottom["contribution"].sum() == pytest.approx(1.0, abs=1e-9)
    # sorted by contribution to the gap, largest first
    assert list(bottom["gap_when_missed"]) == sorted(bottom["gap_when_missed"], reverse=True)
    # positively correlated segments: independent sampling would make the total surer
    assert 0.0 < total.probability < 1.0
    regions = table[table["level"] == 1]
    assert regions["gap_mean"].sum() == pytest.approx(bottom["gap_mean"].sum(), rel=1e-9)


def test_unfittable_segment_is_reported_or_fails(tmp_path):
    frame = synthetic_hierarchy((1, 2), n_months=24, seed=4)
    frame.loc[frame["level_2"] == "l2_1", "gmv"] = 0.0  # log models cannot fit zeros
    path = tmp_path / "zeros.csv"
    frame.to_csv(path, index=False)
    data = load_segment_csv(path)
    forecast = forecast_segments(data, 6, model="drift_log", n_samples=200, engine="serial")
    assert forecast.bottom == (("l1_0", "l2_0"),)
    assert [b.segment for b in forecast.bad] == ["l1_0 / l2_1"]
    assert "cannot be forecast" in forecast.bad[0].problem
    with pytest.raises(DataError, match="l1_0 / l2_1: cannot be forecast"):
        forecast_segments(
            data, 6, model="drift_log", n_samples=200, engine="serial", on_bad_segment="fail"
        )


def test_schema_refuses_a_goal_beyond_the_horizon_and_a_bad_address():
    from pydantic import ValidationError

    from shopcast.gmv.segments_schema import SegmentGoalsParams
    from shopcast.notebooks import schema_class

    assert schema_class("segment_goals") is SegmentGoalsParams
    base = dict(
        data_file="data/gmv_by_country.csv",
        history_end="2025-12-01",
        goal_target_usd=100e9,
        goal_start="2026-01-01",
        goal_end="2026-12-01",
        horizon_months=12,
        base_months=12,
        model="drift_log",
        n_draws=200,
        n_histories=20,
        n_samples=2000,
        on_bad_segment="skip",
        engine="dask",
        dask_address="",
        seed=0,
    )
    assert SegmentGoalsParams(**base).engine == "dask"
    with pytest.raises(ValidationError, match="raise horizon_months to 12"):
        SegmentGoalsParams(**{**base, "horizon_months": 6})
    with pytest.raises(ValidationError, match="tcp://HOST:PORT"):
        SegmentGoalsParams(**{**base, "dask_address": "10.0.0.5:8786"})
    with pytest.raises(ValidationError, match="on_bad_segment"):
        SegmentGoalsParams(**{**base, "on_bad_segment": "ignore"})


def _innovations_with_pandas(history: pd.Series) -> pd.Series:
    """The log-growth residuals written with a pandas groupby (an independent computation)."""
    logs = np.log(history.where(history > 0))
    growth = logs.diff().iloc[1:]
    if growth.notna().sum() < 3:
        return pd.Series(np.nan, index=growth.index)
    if growth.notna().sum() >= 24:
        resid = growth - growth.groupby(growth.index.month).transform("mean")
    else:
        resid = growth - growth.mean()
    return resid / resid.std(ddof=1)


@pytest.mark.parametrize("n_months, zero_at", [(48, None), (48, 20), (15, None), (30, 3)])
def test_innovations_match_a_pandas_groupby(n_months, zero_at):
    frame = synthetic_hierarchy((1,), n_months=n_months, seed=8)
    history = pd.Series(frame["gmv"].to_numpy(), index=pd.to_datetime(frame["date"]))
    if zero_at is not None:
        history.iloc[zero_at] = 0.0  # two growths undefined
    ours = joint.innovations(history)
    expected = _innovations_with_pandas(history)
    assert ours.index.equals(expected.index)
    np.testing.assert_allclose(ours.to_numpy(), expected.to_numpy(), rtol=1e-12, equal_nan=True)
    grid = joint.residual_grid({"a": ours, "b": expected.iloc[:5]})
    assert grid.equals(
        pd.DatetimeIndex(ours.dropna().index).union(expected.iloc[:5].dropna().index)
    )


def test_every_node_goal_is_the_absolute_goal_of_its_paths(hierarchy_csv):
    from shopcast.gmv.goals import absolute_goal

    forecast = forecast_segments(
        load_segment_csv(hierarchy_csv), 12, model="drift_log", n_samples=600, engine="serial"
    )
    future = forecast.months[forecast.months > forecast.last_actual]
    target = float(np.median(forecast.nodes[()][:, -12:].sum(axis=1)))
    table = segment_goals(forecast, target, future[0], future[-1]).table
    assert len(table) == len(forecast.nodes) - 1
    for row in table.itertuples():
        direct = absolute_goal(forecast.paths(row.key), future[0], future[-1], row.target)
        for name in ("probability", "probability_se", "p10", "p50", "p90", "mean_total"):
            assert getattr(row, name) == getattr(direct, name), (row.node, name)
        assert row.expected_shortfall == direct.expected_shortfall


def test_fast_ensemble_segments_keep_each_models_marginal(hierarchy_csv):
    from shopcast.forecasting.draws import forecast_over_draws
    from shopcast.gmv.segments import segment_factory

    data = load_segment_csv(hierarchy_csv)
    forecast = forecast_segments(data, 6, model="ensemble_fast", n_samples=300, engine="serial")
    again = forecast_segments(data, 6, model="ensemble_fast", n_samples=300, engine="serial")
    assert all(np.array_equal(forecast.nodes[k], again.nodes[k]) for k in forecast.nodes)
    assert coherence(forecast)["exact"].all()
    key = data.keys[2]
    alone = forecast_over_draws(
        segment_factory("ensemble_fast"),
        data.draws[key],
        6,
        n_samples=300,
        seed=joint.segment_seed(0, SEPARATOR.join(key)),
        n_histories=1,
    ).frame
    kept = alone.columns >= forecast.months[0]
    np.testing.assert_array_equal(
        np.sort(np.round(alone.to_numpy()[:, kept]), axis=0), np.sort(forecast.nodes[key], axis=0)
    )


def test_clean_segments_read_in_one_pass_equal_the_segment_by_segment_reading(tmp_path):
    from shopcast.gmv.anchors import read_lines
    from shopcast.gmv.segment_data import _segment_series

    frame = synthetic_hierarchy((3, 4), n_months=30, seed=5)
    weeks = pd.date_range("2019-01-07", "2021-06-28", freq="7D")  # June 2021 complete
    weekly = pd.DataFrame(
        {
            "date": [d.date().isoformat() for d in weeks],
            "gmv": 1000.0,
            "level_1": "l1_weekly",
            "level_2": "l2_0",
        }
    )
    mid_month = frame["level_2"] == "l2_3"  # monthly rows dated the 15th
    frame.loc[mid_month, "date"] = frame.loc[mid_month, "date"].str[:8] + "15"
    frame = pd.concat([frame, weekly], ignore_index=True).sample(frac=1.0, random_state=1)
    frame.loc[frame.index[7], "gmv"] = -1.0  # makes one segment bad
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    data = load_segment_csv(path)
    lines = read_lines(path)
    expected, problems = {}, {}
    for key, part in lines.groupby(["level_1", "level_2"], sort=True):
        try:
            expected[key] = _segment_series(path, part, "")
        except DataError as exc:
            problems[SEPARATOR.join(key)] = exc.problem
    assert problems and [b.segment for b in data.bad] == sorted(problems)
    assert set(data.keys) == set(expected)
    for key, series in expected.items():
        got = data.draws[key]
        assert pd.DatetimeIndex(got.columns).equals(series.index), key
        np.testing.assert_array_equal(got.to_numpy()[0], series.to_numpy())


def test_an_aggregate_goal_counts_the_history_draws_its_rows_share():
    from shopcast.gmv.countries import load_country_segments

    data = load_country_segments(n_draws=40, seed=0)
    forecast = forecast_segments(
        data, 12, model="drift_log", n_samples=400, n_histories=8, engine="serial"
    )
    bottom = [k for k in forecast.bottom if forecast.draw_of_row.get(k) is not None]
    assert len(bottom) >= 2
    total = forecast.clusters(())
    assert len(total) == 400
    for row in (0, 57, 399):  # a total's row is labelled by every segment's draw in that row
        assert total[row] == tuple(forecast.draw_of_row[k][row] for k in bottom)
    assert forecast.clusters(bottom[0]) == forecast.draw_of_row[bottom[0]]

    future = forecast.months[forecast.months > forecast.last_actual]
    totals = forecast.nodes[()][:, -12:].sum(axis=1)
    target = float(np.median(totals))
    goals = segment_goals(forecast, target, future[0], future[-1])
    hit = (totals >= target).astype(float)
    binomial = np.sqrt(hit.mean() * (1 - hit.mean()) / len(hit))
    # the joint draws re-pair the segments' rows, so the total's rows share draws segment by
    # segment (multi-way clusters), not all at once
    assert goals.total.probability_se == probability_se(hit, total)
    assert goals.total.probability_se > 1.5 * binomial
    one = forecast.nodes[bottom[0]][:, -12:].sum(axis=1)
    row = goals.table.set_index("node").loc[SEPARATOR.join(bottom[0])]
    one_hit = (one >= row["target"]).astype(float)
    assert row["probability_se"] == probability_se(one_hit, forecast.draw_of_row[bottom[0]])
