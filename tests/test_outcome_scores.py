"""Tests of shopcast.gmv.outcome_scores: a vintage scored against closed forms, goal
probabilities scored, scores pooled over vintages."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from shopcast.gmv.goals import absolute_goal, multiple_goal
from shopcast.gmv.outcome_scores import (
    calibration_summary,
    pooled_scores,
    score_goals,
    score_vintage,
)
from shopcast.gmv.outcomes import goal_outcomes
from shopcast.gmv.vintage_runs import GoalSpec, VintageForecast

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


def test_pooled_scores_by_reliability():
    scores = pd.DataFrame(
        {
            "reliability": ["reported", "reported", "reported", "doubtful", "reported"],
            "role": ["estimate", "estimate", "estimate", "estimate", "lower_bound"],
            "in_50": [True, False, True, False, None],
            "in_80": [True, True, True, False, None],
            "pit": [0.3, 0.95, 0.6, 0.99, None],
            "crps_relative": [0.1, 0.4, 0.1, 0.9, None],
            "wis_relative": [0.2, 0.5, 0.2, 1.0, None],
            "brier": [None, None, None, None, 0.04],
        }
    )
    reported = pooled_scores(scores, ("reported",))
    assert reported["n_estimates"] == 3 and reported["n_events"] == 1
    assert reported["in_50"] == pytest.approx(2 / 3) and reported["in_80"] == 1.0
    assert reported["mean_pit"] == pytest.approx((0.3 + 0.95 + 0.6) / 3)
    assert reported["crps_relative"] == pytest.approx(0.2)
    assert reported["brier_events"] == pytest.approx(0.04)
    table = calibration_summary(scores)
    assert list(table.index) == ["reported", "all"]
    assert table.loc["all", "n_estimates"] == 4
    assert table.loc["all", "in_80"] == pytest.approx(0.75)
    # no projection at all: nothing pooled, NaN means (never an error)
    empty = pooled_scores(scores, ("projection",))
    assert (
        empty["n_estimates"] == 0 and np.isnan(empty["in_80"]) and np.isnan(empty["brier_events"])
    )
