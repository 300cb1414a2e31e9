"""Segment forecasts: loading and bad segments, joint sampling, exact coherence, goals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import DataError, ParameterError
from shopcast.gmv import joint
from shopcast.gmv.segment_data import load_segment_csv
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
