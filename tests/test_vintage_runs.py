"""Tests of shopcast.gmv.vintage_runs: vintages that know the same data are forecast once with
the numbers a fresh run gives, and the vintages run on Dask give the serial numbers exactly."""

from __future__ import annotations

import dataclasses
import math
import shutil

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import DataError, ParameterError
from shopcast.gmv.pipeline import ForecastSettings
from shopcast.gmv.vintage_runs import (
    GoalSpec,
    VintageSpec,
    forecast_vintage,
    known_data_digest,
    run_vintages,
)

GOALS = GoalSpec(20e9, "2023-01-01", "2023-12-01", 4.0, "2022-01-01", "2022-12-01")
ANCHORS = "data/gmv_anchors.csv"
#: 2022-09-30 and 2022-12-31 know the same three figures (the next was published in 2023);
#: 2023-08-31 knows more; 2021-01-31 knows none (no forecast, an error kept).
DATES = [pd.Timestamp(d) for d in ("2021-01-31", "2022-09-30", "2022-12-31", "2023-08-31")]


def _spec(model: str = "drift_log", data_file: str = ANCHORS) -> VintageSpec:
    return VintageSpec(
        data_file=data_file,
        coverage="global",
        segment="",
        goals=GOALS,
        horizon_months=36,
        settings=ForecastSettings(model=model),
        n_draws=8,
        n_histories=2,
        n_samples=200,
        seed=3,
    )


def assert_same(a, b, where="forecast"):
    """``a`` and ``b`` hold the same values to the last digit, field by field."""
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}[{k!r}]")
    elif a is pd.NaT or (isinstance(a, float) and math.isnan(a)):
        assert b is pd.NaT or (isinstance(b, float) and math.isnan(b)), f"{where}: {b!r}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.fixture(scope="module")
def serial():
    return run_vintages(DATES, _spec())


def test_vintages_that_know_the_same_data_are_forecast_once(serial):
    spec = _spec()
    digests = [known_data_digest(spec, d) for d in DATES]
    assert digests[0] is None  # no figure known: the vintage runs on its own and says why
    assert digests[1] == digests[2] != digests[3]
    none, sep, dec, aug = serial
    assert none.forecast is None and "no figure was published by as_of 2021-01-31" in none.error
    assert sep.same_data_as is None and aug.same_data_as is None
    assert dec.same_data_as == sep.as_of and dec.seconds == 0.0
    assert dec.forecast.as_of == "2022-12-31" and sep.forecast.as_of == "2022-09-30"
    # the shared forecast is the one a run of that vintage alone gives, digit for digit
    (alone,) = run_vintages([DATES[2]], spec)
    assert alone.same_data_as is None
    assert_same(dec.forecast, alone.forecast)
    # a copy, not the same object: changing one vintage's frames leaves the other's alone
    assert dec.forecast.paths.frame is not sep.forecast.paths.frame


def test_vintages_on_a_local_cluster_match_serial_exactly(serial):
    dask = run_vintages(DATES, _spec(), engine="dask", n_workers=2)
    for a, b in zip(serial, dask, strict=True):
        assert a.as_of == b.as_of and a.error == b.error and a.same_data_as == b.same_data_as
        assert_same(a.forecast, b.forecast, f"vintage {a.as_of:%Y-%m-%d}")


@pytest.mark.slow
def test_default_model_choice_on_a_local_cluster_matches_serial_exactly():
    """The post-mortem's default, ``auto``, with its draws and seed: at these two vintages it
    keeps the ensemble (statsforecast members) at one and picks Prophet (fitted through cmdstan)
    at the other, as in the default run, so both kinds of fit run on the workers."""
    dates = [pd.Timestamp("2023-08-31"), pd.Timestamp("2024-06-30")]
    spec = dataclasses.replace(_spec("auto"), n_draws=100, n_histories=4, seed=0)
    serial = run_vintages(dates, spec)
    dask = run_vintages(dates, spec, engine="dask", n_workers=2)
    assert [vf.forecast.model_name for vf in serial] == ["ensemble", "prophet"]
    for a, b in zip(serial, dask, strict=True):
        assert_same(a.forecast, b.forecast, f"vintage {a.as_of:%Y-%m-%d}")


def test_a_worker_that_sees_other_data_stops(tmp_path):
    copy = tmp_path / "anchors.csv"
    shutil.copy(ANCHORS, copy)
    with pytest.raises(DataError, match="differs from the one the post-mortem was started with"):
        forecast_vintage(DATES[3], _spec(data_file=str(copy)), data_sha256="0" * 64)


def test_unknown_engine_is_refused():
    with pytest.raises(ParameterError, match=r"engine.*serial, dask"):
        run_vintages(DATES[:1], _spec(), engine="threads")
