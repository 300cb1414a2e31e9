"""Tests of shopcast.gmv.postmortem: scoring a vintage, settling goals, calibration on a series
whose generating model is known."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from shopcast.gmv.goals import absolute_goal, multiple_goal
from shopcast.gmv.pipeline import ForecastSettings
from shopcast.gmv.postmortem import (
    GoalSpec,
    VintageForecast,
    goal_outcomes,
    outcome_table,
    run_postmortem,
    score_goals,
    score_vintage,
    vintage_dates,
)

N = 4000
Z = norm.ppf((np.arange(N) + 0.5) / N)
MONTHS = pd.date_range("2023-01-01", "2024-12-01", freq="MS")
GOALS = GoalSpec(20e9, "2023-01-01", "2023-12-01", 4.0, "2022-01-01", "2022-12-01")


def _normal_vintage(as_of="2023-06-30", mu=1e9, sigma=1e8) -> VintageForecast:
    """Paths whose every month is N(mu, sigma^2) (the same quantile grid each month)."""
    paths = pd.DataFrame(np.tile(mu + sigma * Z[:, None], (1, len(MONTHS))), columns=MONTHS)
    fc = SimpleNamespace(
        paths=paths,
        last_actual=pd.Timestamp("2023-06-01"),
        history_kind="reconstructed",
        absolute=absolute_goal(paths, "2023-01", "2023-12", 12.5e9),
        multiple=multiple_goal(paths, "2023-01", "2023-12", 1.0, "2024-01", "2024-12"),
    )
    return VintageForecast(pd.Timestamp(as_of), fc)


def _outcome(
    oid,
    start,
    end,
    measure,
    kind,
    value,
    published="2024-01-05",
    coverage="global",
    reliability="reported",
):
    return {
        "outcome_id": oid,
        "coverage": coverage,
        "period_start": pd.Timestamp(start),
        "period_end": pd.Timestamp(end),
        "measure": measure,
        "kind": kind,
        "value_usd": value,
        "value_low_usd": value,
        "value_high_usd": value,
        "publisher": "test",
        "published": published,
        "published_last": pd.Timestamp(published),
        "reliability": reliability,
        "source_note": "test",
    }


def test_score_vintage_against_closed_forms():
    mu, sigma = 1e9, 1e8
    y = mu + 1.2816 * sigma  # the 90th percentile: outside the 80% band's interior, inside 80%?
    outcomes = pd.DataFrame(
        [
            _outcome("oct", "2023-10-01", "2023-10-31", "total", "estimate", mu + 0.5 * sigma),
            _outcome("nov_rate", "2023-11-01", "2023-11-30", "monthly_rate", "estimate", y),
            _outcome("dec_low", "2023-12-01", "2023-12-31", "total", "lower_bound", mu - sigma),
            _outcome("known", "2023-09-01", "2023-09-30", "total", "estimate", mu, "2023-06-01"),
            _outcome(
                "part",
                "2024-01-01",
                "2024-01-31",
                "total",
                "estimate",
                mu + sigma,
                coverage="southeast_asia",
            ),
        ]
    )
    scores = score_vintage(_normal_vintage(), outcomes, "global").set_index("outcome_id")
    assert "known" not in scores.index  # published before as_of: not an outcome
    assert scores.at["oct", "pit"] == pytest.approx(norm.cdf(0.5), abs=1e-3)
    assert scores.at["oct", "in_50"] and scores.at["oct", "in_80"]
    assert scores.at["nov_rate", "pit"] == pytest.approx(0.9, abs=1e-3)
    assert not scores.at["nov_rate", "in_50"]
    expected_crps = sigma * (0.5 * (2 * norm.cdf(0.5) - 1) + 2 * norm.pdf(0.5) - 1 / np.sqrt(np.pi))
    assert scores.at["oct", "crps"] == pytest.approx(expected_crps, rel=2e-3)
    assert scores.at["dec_low", "role"] == "lower_bound"
    assert scores.at["dec_low", "event_probability"] == pytest.approx(norm.sf(-1), abs=1e-3)
    assert scores.at["dec_low", "brier"] == pytest.approx(norm.cdf(-1) ** 2, abs=1e-3)
    # a part (Southeast Asia) of the global coverage bounds it from below
    assert scores.at["part", "role"] == "lower_bound"
    assert scores.at["part", "event_probability"] == pytest.approx(norm.sf(1), abs=1e-3)
    assert scores.at["oct", "lead_months"] == 4


def test_goals_settled_and_scored():
    outcomes = pd.DataFrame(
        [
            _outcome("est", "2023-01-01", "2023-12-31", "total", "estimate", 13e9),
            _outcome("low", "2023-01-01", "2023-12-31", "total", "lower_bound", 11e9),
            _outcome(
                "sea",
                "2023-01-01",
                "2023-12-31",
                "total",
                "estimate",
                12.6e9,
                coverage="southeast_asia",
            ),
            _outcome("base", "2022-01-01", "2022-12-31", "total", "estimate", 3e9, "2023-03-01"),
        ]
    )
    goals = GoalSpec(12.5e9, "2023-01-01", "2023-12-01", 4.0, "2022-01-01", "2022-12-01")
    settled = goal_outcomes(outcomes, "global", goals).set_index(["goal", "outcome_id"])
    assert settled.at[("absolute", "est"), "met"]
    assert ("absolute", "low") not in settled.index  # 11 B "more than" does not settle 12.5 B
    assert settled.at[("absolute", "sea"), "met"]  # a part above the target settles it
    assert settled.at[("multiple", "est"), "threshold_usd"] == 12e9
    vf = _normal_vintage()
    scored = score_goals([vf], settled.reset_index())
    p = vf.forecast.absolute.probability
    # every month is the same draw of N(1 B, 0.1 B^2): the 2023 total is N(12 B, (1.2 B)^2)
    assert p == pytest.approx(norm.sf(0.5e9 / 1.2e9), abs=1e-3)
    row = scored.set_index(["goal", "outcome_id"]).loc[("absolute", "est")]
    assert row["brier"] == pytest.approx((1 - p) ** 2)
    assert row["log_score"] == pytest.approx(-np.log(p))


def test_shipped_outcomes_of_a_global_forecast():
    outcomes = outcome_table("data/gmv_anchors.csv", "global")
    assert {"global_2024_total_mw_tabcut", "sea_2023_total_mw", "us_2024_total_mw_tabcut"} <= set(
        outcomes["outcome_id"]
    )
    # an upper bound on a part says nothing about the whole
    assert not ((outcomes["coverage"] != "global") & (outcomes["kind"] == "upper_bound")).any()
    settled = goal_outcomes(outcomes, "global", GOALS)
    # the global 2023 total: only a projection and a doubtful compiled figure (no reported one)
    absolute = settled.loc[settled["goal"] == "absolute"]
    assert set(absolute["reliability"]) == {"projection", "doubtful"}


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
