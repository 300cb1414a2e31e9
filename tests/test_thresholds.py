"""Tests for shopcast.sellers.thresholds: sweep, cohort simulation, GMV factor, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ParameterError
from shopcast.sellers.model import SizeModel
from shopcast.sellers.thresholds import (
    COHORT_COLUMNS,
    SWEEP_COLUMNS,
    gmv_kept_factor,
    simulate_cohorts,
    threshold_sweep,
)

THRESHOLDS = [0, 1e4, 1e5, 1e6]


@pytest.fixture(scope="module")
def model():
    return SizeModel("lognormal").fit_facts("data/seller_size_facts.csv")


def test_sweep_matches_closed_forms_and_orders_intervals(model):
    sweep = threshold_sweep(model, THRESHOLDS, n_sellers=1000, n_boot=30, seed=1)
    assert list(sweep.columns) == list(SWEEP_COLUMNS)
    mu, s = model.params_["mu"], model.params_["sigma"]
    from scipy.stats import norm

    t = np.array(THRESHOLDS[1:])
    assert sweep["share_sellers_staying"].iloc[1:].to_numpy() == pytest.approx(
        norm.sf((np.log(t) - mu) / s)
    )
    assert sweep["share_gmv_kept"].iloc[1:].to_numpy() == pytest.approx(
        norm.cdf((mu + s * s - np.log(t)) / s)
    )
    assert sweep["share_sellers_staying"].iloc[0] == 1.0
    assert sweep["sellers_staying"].iloc[-1] == pytest.approx(
        1000 * sweep["share_sellers_staying"].iloc[-1]
    )
    assert (sweep["share_gmv_kept_p10"] <= sweep["share_gmv_kept_p90"] + 1e-12).all()
    assert sweep["share_sellers_staying"].is_monotonic_decreasing


def test_simulation_conserves_sellers_and_repeats(model):
    kw = dict(n_sellers=5000, months=12, thresholds=THRESHOLDS, review_months=[1, 7], seed=3)
    a = simulate_cohorts(model, **kw)
    b = simulate_cohorts(model, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(COHORT_COLUMNS)
    assert len(a) == 12 * len(THRESHOLDS)
    assert (a["sellers_start"] + a["entries"] - a["exits"] == a["sellers_end"]).all()
    for _, g in a.groupby("threshold"):
        assert (g["sellers_start"].to_numpy()[1:] == g["sellers_end"].to_numpy()[:-1]).all()
    assert (a.loc[a["threshold"] == 0, "exits"] == 0).all()
    assert (a.loc[~a["month"].isin([1, 7]), "exits"] == 0).all()
    assert sorted(a.loc[a["review"], "month"].unique()) == [1, 7]  # the chart's dotted lines
    assert a["gmv_reallocated"].to_numpy() == pytest.approx(0.5 * a["gmv_lost"].to_numpy())
    c = simulate_cohorts(model, **{**kw, "seed": 4})
    assert not a["platform_gmv"].equals(c["platform_gmv"])


def test_gmv_factor_is_relative_to_no_threshold(model):
    sim = simulate_cohorts(model, 3000, 6, THRESHOLDS, review_months=[1], seed=0)
    factor = gmv_kept_factor(sim)
    assert list(factor.index) == list(range(1, 7))
    assert (factor[0.0] == 1.0).all()
    assert ((factor > 0) & (factor <= 1.0 + 1e-9)).all().all()
    with pytest.raises(ParameterError, match="include 0"):
        gmv_kept_factor(sim[sim["threshold"] > 0])


@pytest.mark.parametrize(
    ("thresholds", "match"),
    [([0, 1e6, 1e5], "strictly increasing"), ([-1, 10], "non-negative"), ([0, 0], "strictly")],
)
def test_bad_thresholds_are_refused(model, thresholds, match):
    with pytest.raises(ParameterError, match=match):
        threshold_sweep(model, thresholds, n_boot=0)
    with pytest.raises(ParameterError, match=match):
        simulate_cohorts(model, 100, 3, thresholds)


def test_bad_simulation_arguments_are_refused(model):
    with pytest.raises(ParameterError, match="review_months"):
        simulate_cohorts(model, 100, 3, [0, 1e6], review_months=[4])
    with pytest.raises(ParameterError, match="reallocation_rate"):
        simulate_cohorts(model, 100, 3, [0, 1e6], reallocation_rate=1.5)
