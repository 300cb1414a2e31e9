"""Tests of shopcast.gmv.outcomes: the shipped outcomes of a global forecast, goals settled."""

from __future__ import annotations

import pandas as pd

from shopcast.gmv.outcomes import goal_outcomes, on_window, outcome_table
from shopcast.gmv.vintage_runs import GoalSpec

GOALS = GoalSpec(20e9, "2023-01-01", "2023-12-01", 4.0, "2022-01-01", "2022-12-01")


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


def test_a_window_is_matched_on_whole_months_and_totals():
    rows = pd.DataFrame(
        {
            "outcome_id": ["year", "rate", "h1", "year_mid_dates"],
            "measure": ["total", "monthly_rate", "total", "total"],
            "period_start": pd.to_datetime(
                ["2023-01-01", "2023-01-01", "2023-01-01", "2023-01-15"]
            ),
            "period_end": pd.to_datetime(["2023-12-31", "2023-12-31", "2023-06-30", "2023-12-31"]),
        }
    )
    # "2023-12-01" names the window's last month; its figure ends on 31 December
    assert list(on_window(rows, "2023-01-01", "2023-12-01")["outcome_id"]) == ["year"]
    assert list(on_window(rows, "2023-01", "2023-06")["outcome_id"]) == ["h1"]


def test_an_upper_bound_settles_a_goal_only_when_below_it():
    def row(oid, kind, value, coverage="global"):
        return {
            "outcome_id": oid,
            "coverage": coverage,
            "period_start": pd.Timestamp("2023-01-01"),
            "period_end": pd.Timestamp("2023-12-31"),
            "measure": "total",
            "kind": kind,
            "value_usd": value,
            "reliability": "reported",
            "published_last": pd.Timestamp("2024-02-01"),
        }

    outcomes = pd.DataFrame(
        [
            row("below", "upper_bound", 19e9),
            row("above", "upper_bound", 21e9),
            row("part_upper", "upper_bound", 19e9, coverage="united_states"),
        ]
    )
    settled = goal_outcomes(outcomes, "global", GOALS)
    # no reported 2022 estimate: the multiple goal has no threshold and is not settled
    assert list(settled["goal"]) == ["absolute"]
    assert list(settled["outcome_id"]) == ["below"] and not settled["met"].iloc[0]
