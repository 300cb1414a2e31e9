"""The outside-view model: closed forms, recovery of known parameters, leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from shopcast.exceptions import ModelError
from shopcast.forecasting import reference_class as rc


def synthetic_class(n_platforms=40, per=6, beta=(1.0, -0.5, -0.6), tau=0.3, sd=(0.15, 0.3), seed=1):
    """A reference class drawn from the model itself, with known parameters."""
    rng = np.random.default_rng(seed)
    rows = []
    for j in range(n_platforms):
        u = rng.normal(0, tau)
        scale0, age0 = rng.uniform(8.5, 11.0), rng.uniform(1, 10)
        for k in range(per):
            sub = bool(rng.random() < 0.4)
            x = np.array([1.0, scale0 + 0.2 * k - rc.SCALE_CENTRE, np.log1p(age0 + k)])
            y = x @ np.array(beta) + u + rng.normal(0, sd[1] if sub else sd[0])
            rows.append(
                {
                    "platform": f"p{j}",
                    "period_end": pd.Timestamp("2010-12-31") + pd.DateOffset(years=k),
                    "months": 3 if sub else 12,
                    "log_growth": y,
                    "log_scale": scale0 + 0.2 * k,
                    "age_years": age0 + k,
                    "subannual": sub,
                    "usable": True,
                }
            )
    return pd.DataFrame(rows)


def test_crps_normal_matches_its_integral_definition():
    y, m, s = 0.7, 0.2, 0.5
    numeric = integrate.quad(
        lambda x: (stats.norm.cdf(x, m, s) - (x >= y)) ** 2, -10, 10, points=[y]
    )[0]
    assert rc.crps_normal(y, m, s) == pytest.approx(numeric, rel=1e-6)


def test_crps_mixture_reduces_to_the_normal_and_matches_monte_carlo():
    y = np.array([0.1, 1.5])
    means, sds = np.array([[0.0, 0.0], [1.0, 1.0]]), np.array([[0.3, 0.3], [0.6, 0.6]])
    assert rc.crps_mixture(y, [1, 0], means, sds) == pytest.approx(rc.crps_normal(y, 0.0, 0.3))
    rng = np.random.default_rng(0)
    n = 400_000
    pick = rng.random((2, n)) < 0.3
    draw = lambda p: np.where(p, rng.normal(1.0, 0.6, n), rng.normal(0.0, 0.3, n))  # noqa: E731
    a, b = draw(pick[0]), draw(pick[1])
    mc = [np.mean(np.abs(a - yi)) - 0.5 * np.mean(np.abs(a - b)) for yi in y]
    assert rc.crps_mixture(y, [0.7, 0.3], means, sds) == pytest.approx(mc, abs=3e-3)


def test_prior_combination_is_bayes_rule_at_weight_one():
    m, s = rc.combine_normal(1.0, 0.5, 0.0, 1.0, 1.0)
    # posterior precision 1/0.25 + 1 = 5, mean (4 * 1 + 1 * 0) / 5
    assert m == pytest.approx(0.8) and s == pytest.approx(np.sqrt(0.2))
    m0, s0 = rc.combine_normal(1.0, 0.5, 0.0, 1.0, 0.0)
    assert (m0, s0) == pytest.approx((1.0, 0.5))


def test_recovers_known_parameters_from_a_synthetic_reference_class():
    data = synthetic_class()
    model = rc.OutsideViewModel("scale_age").fit(data)
    se = np.sqrt(np.diag(model.cov_beta_))
    assert np.all(np.abs(model.beta_ - np.array([1.0, -0.5, -0.6])) < 3 * se)
    assert model.tau_ == pytest.approx(0.3, abs=0.1)
    assert np.exp(model.gamma_[0]) == pytest.approx(0.15, abs=0.04)
    assert np.exp(model.gamma_.sum()) == pytest.approx(0.3, abs=0.08)


def test_predictive_intervals_of_the_synthetic_class_are_calibrated():
    lopo = rc.leave_one_platform_out(
        synthetic_class(n_platforms=30, seed=3), lambda: rc.OutsideViewModel("scale_age")
    )
    scores = rc.score(lopo["y"], lopo["out_mean"], lopo["out_sd"])
    assert 0.72 <= scores["coverage_80"] <= 0.88
    assert 0.42 <= scores["coverage_50"] <= 0.58


def test_lopo_never_sees_the_left_out_platform():
    data = synthetic_class(n_platforms=8, seed=5)
    seen = {}
    lopo = rc.leave_one_platform_out(
        data,
        lambda: rc.OutsideViewModel("scale_age"),
        on_fit=lambda p, m: seen.setdefault(p, m.platforms_),
    )
    assert set(seen) == set(data["platform"])
    for left_out, trained_on in seen.items():
        assert left_out not in trained_on and len(trained_on) == 7
    # changing the left-out platform's outcomes changes none of its forecasts
    changed = data.copy()
    changed.loc[changed["platform"] == "p0", "log_growth"] += 5.0
    again = rc.leave_one_platform_out(changed, lambda: rc.OutsideViewModel("scale_age"))
    mine = lopo["platform"] == "p0"
    np.testing.assert_allclose(again.loc[mine, "out_mean"], lopo.loc[mine, "out_mean"])
    np.testing.assert_allclose(again.loc[mine, "out_sd"], lopo.loc[mine, "out_sd"])
    assert not np.allclose(again.loc[~mine, "out_mean"], lopo.loc[~mine, "out_mean"])


def test_time_series_forecast_uses_only_growth_known_at_the_origin():
    data = synthetic_class(n_platforms=3, per=3, seed=2)
    data["months"] = 12
    prev = rc._previous_growth(data)
    first = data.groupby("platform")["period_end"].transform("min") == data["period_end"]
    assert prev[first].isna().all()
    later = data[~first].sort_values(["platform", "period_end"])
    for i, row in later.iterrows():
        earlier = data[
            (data["platform"] == row["platform"])
            & (data["period_end"] == row["period_end"] - pd.DateOffset(years=1))
        ]
        assert prev[i] == pytest.approx(earlier["log_growth"].iloc[0])


def test_time_series_forecast_ignores_a_growth_that_ended_long_before_the_origin():
    # Shopee's case: a 2017 quarter is no time-series forecast of its 2024 year.
    data = synthetic_class(n_platforms=3, per=3, seed=2)
    data["months"] = 12
    mine = data[data["platform"] == "p0"].index
    data.loc[mine[-1], "period_end"] = pd.Timestamp("2016-12-31")  # origin 2015-12
    prev = rc._previous_growth(data)
    assert np.isnan(prev[mine[-1]])  # the latest earlier pair ends in 2011
    # a growth that ends at the origin itself is the freshest there is, and is kept
    assert prev[mine[1]] == pytest.approx(data.loc[mine[0], "log_growth"])
    assert rc.RECENT_MONTHS == 12


def test_combination_choice_is_deterministic_and_on_the_grid():
    lopo = rc.leave_one_platform_out(
        synthetic_class(n_platforms=10, seed=4), lambda: rc.OutsideViewModel("scale_age")
    )
    a = rc.choose_combination(lopo)
    b = rc.choose_combination(lopo)
    assert a[:2] == b[:2] and a[0] in rc.FAMILIES and a[1] in rc.WEIGHT_GRID
    assert a[2].loc[a[1], a[0]] == pytest.approx(a[2].min().min())


def test_too_few_platforms_is_refused():
    with pytest.raises(ModelError, match="at least 3 platforms"):
        rc.OutsideViewModel().fit(synthetic_class(n_platforms=2))
