"""Tests of shopcast.gmv.postmortem: calibration on a series whose generating model is known."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from shopcast.gmv.pipeline import ForecastSettings
from shopcast.gmv.postmortem import run_postmortem
from shopcast.gmv.vintage_runs import GoalSpec, vintage_dates


def _random_walk_csv(path, n=120, mu=0.03, sigma=0.08, seed=3):
    rng = np.random.default_rng(seed)
    log = np.log(1e8) + np.cumsum(mu + sigma * rng.standard_normal(n))
    months = pd.date_range("2015-01-01", periods=n, freq="MS")
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "gmv"])
        writer.writerows(
            (f"{m:%Y-%m-%d}", f"{np.exp(v):.2f}") for m, v in zip(months, log, strict=True)
        )
    return path


@pytest.mark.slow
def test_synthetic_series_gives_calibrated_pits_over_many_vintages(tmp_path):
    """A log random walk with drift, forecast by the log-drift model (its own family).

    Over 25 vintages x 12 monthly outcomes (300 PITs, strongly dependent within a vintage), the
    50% and 80% intervals must hold their share within 0.1 and the mean PIT lie within
    0.5 +/- 0.08: a stated, loose tolerance for dependent PITs from one series.
    """
    path = _random_walk_csv(tmp_path / "rw.csv")
    vintages = vintage_dates("2017-12-31", "2023-12-31", 3)
    assert len(vintages) == 25
    pm = run_postmortem(
        vintages,
        data_file=path,
        coverage="global",
        goals=GoalSpec(1e9, "2015-01-01", "2015-12-01", 1.0, "2015-01-01", "2015-12-01"),
        horizon_months=12,
        # the machinery's calibration on the series' own model: no outside-view paths pooled in
        # (with the default 30% they over-cover this random walk's 50% interval: 0.63)
        settings=ForecastSettings(model="drift_log", outside_weight=0.0),
        n_draws=1,
        n_histories=1,
        n_samples=1000,
        seed=0,
    )
    assert all(vf.forecast is not None for vf in pm.vintages), [vf.error for vf in pm.vintages]
    est = pm.scores.loc[pm.scores["role"] == "estimate"]
    assert len(est) == 25 * 12
    assert (est["lead_months"].between(1, 12)).all()
    assert abs(est["in_80"].mean() - 0.8) <= 0.1, est["in_80"].mean()
    assert abs(est["in_50"].mean() - 0.5) <= 0.1, est["in_50"].mean()
    assert abs(est["pit"].mean() - 0.5) <= 0.08
    table = pm.calibration()
    assert np.all(np.abs(table["empirical"] - table.index) <= 0.12)
