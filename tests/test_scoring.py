"""Tests of shopcast.forecasting.scoring against closed forms (normal forecasts, known outcomes)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from shopcast.exceptions import ParameterError
from shopcast.forecasting import scoring

N = 20_000
#: A sample whose empirical distribution is N(0, 1) up to O(1/N): the quantiles at (i + 0.5) / N.
NORMAL = norm.ppf((np.arange(N) + 0.5) / N)


@pytest.mark.parametrize("y", [-2.0, -0.5, 0.0, 0.3, 1.7])
def test_pit_of_a_normal_forecast_is_the_normal_cdf(y):
    assert scoring.pit(NORMAL, y) == pytest.approx(norm.cdf(y), abs=1 / N)


def test_pit_counts_ties_half():
    assert scoring.pit([1.0, 1.0, 1.0, 1.0], 1.0) == 0.5
    assert scoring.pit([0.0, 1.0, 2.0, 3.0], 1.0) == pytest.approx(0.375)


@pytest.mark.parametrize(
    ("quantile", "level", "inside"),
    [
        (0.85, 0.8, True),
        (0.95, 0.8, False),
        (0.05, 0.8, False),
        (0.7, 0.5, True),
        (0.8, 0.5, False),
    ],
)
def test_interval_hits_of_a_normal_forecast(quantile, level, inside):
    assert scoring.interval_hit(NORMAL, norm.ppf(quantile), level) is inside


def test_interval_bounds_are_the_normal_quantiles():
    lo, hi = scoring.interval_bounds(NORMAL, 0.8)
    assert lo == pytest.approx(norm.ppf(0.1), abs=1e-3)
    assert hi == pytest.approx(norm.ppf(0.9), abs=1e-3)


def test_crps_normal_closed_form_at_the_mean():
    # sigma * (2 phi(0) - 1/sqrt(pi)) = sigma * (sqrt(2/pi) - 1/sqrt(pi))
    expected = 2.5 * (math.sqrt(2 / math.pi) - 1 / math.sqrt(math.pi))
    assert scoring.crps_normal(1.0, 2.5, 1.0) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("y", [-3.0, -1.0, 0.0, 0.4, 2.2])
def test_sample_crps_matches_the_normal_closed_form(y):
    mu, sigma = 10.0, 3.0
    assert scoring.crps_samples(mu + sigma * NORMAL, mu + sigma * y) == pytest.approx(
        scoring.crps_normal(mu, sigma, mu + sigma * y), rel=2e-3
    )


def test_sample_crps_of_two_points_is_exact():
    # F = 0.5 on [0, 1): CRPS at y = 0 is the integral of (0.5 - 1)^2 over [0, 1] = 0.25
    assert scoring.crps_samples([0.0, 1.0], 0.0) == pytest.approx(0.25)
    # a point forecast's CRPS is the absolute error
    assert scoring.crps_samples([2.0], 5.0) == pytest.approx(3.0)


def test_interval_score_closed_form():
    assert scoring.interval_score(1.0, 3.0, 2.0, 0.2) == pytest.approx(2.0)
    assert scoring.interval_score(1.0, 3.0, 4.0, 0.2) == pytest.approx(2.0 + 10.0 * 1.0)
    assert scoring.interval_score(1.0, 3.0, 0.5, 0.5) == pytest.approx(2.0 + 4.0 * 0.5)


def test_weighted_interval_score_by_hand_and_near_the_crps():
    q = {0.5: 0.0, 0.1: -1.0, 0.9: 1.0}
    # (|2 - 0| / 2 + 0.2 / 2 * (2 + 10 * 1)) / 1.5
    assert scoring.weighted_interval_score(q, 2.0, alphas=(0.2,)) == pytest.approx(
        (1.0 + 0.1 * 12.0) / 1.5
    )
    # with many evenly spaced intervals the WIS approaches the CRPS (Bracher et al. 2021)
    alphas = tuple(np.round(np.arange(0.02, 1.0, 0.02), 2))
    levels = {0.5, *(a / 2 for a in alphas), *(1 - a / 2 for a in alphas)}
    quantiles = {lev: norm.ppf(lev) for lev in levels}
    for y in (0.0, 1.0, -2.0):
        wis = scoring.weighted_interval_score(quantiles, y, alphas=alphas)
        assert wis == pytest.approx(scoring.crps_normal(0, 1, y), rel=0.02)


def test_weighted_interval_score_needs_its_quantiles():
    with pytest.raises(ParameterError, match="quantiles"):
        scoring.weighted_interval_score({0.5: 1.0}, 1.0, alphas=(0.2,))


def test_brier_and_log_scores():
    assert scoring.brier_score(0.7, True) == pytest.approx(0.09)
    assert scoring.brier_score(0.7, 0) == pytest.approx(0.49)
    assert scoring.log_score(0.7, True) == pytest.approx(-math.log(0.7))
    assert scoring.log_score(0.7, False) == pytest.approx(-math.log(0.3))
    # an event no draw reached: clipped at 1 / (2n), not infinite
    assert scoring.log_score(0.0, True, n_samples=1000) == pytest.approx(-math.log(0.0005))
    assert scoring.log_score(0.0, True) == math.inf
    with pytest.raises(ParameterError, match="probability"):
        scoring.brier_score(1.2, True)


def test_mean_brier_of_a_calibrated_normal_event_forecast():
    # forecast N(0,1) for outcomes drawn from N(0,1): event y > 0.5 has p = 1 - Phi(0.5), and
    # the expected Brier score of a calibrated constant forecast is p (1 - p)
    p = 1 - norm.cdf(0.5)
    outcomes = np.random.default_rng(0).standard_normal(40_000) > 0.5
    mean = np.mean([scoring.brier_score(p, o) for o in outcomes])
    assert mean == pytest.approx(p * (1 - p), abs=0.004)


def test_coverage_table_of_uniform_pits_is_the_diagonal():
    pits = (np.arange(1000) + 0.5) / 1000
    table = scoring.coverage_table(pits)
    assert np.allclose(table["empirical"], table.index, atol=2e-3)
    assert (table["n"] == 1000).all()
    skewed = scoring.coverage_table(np.full(50, 0.99))
    assert (skewed["empirical"] == 0).all()
