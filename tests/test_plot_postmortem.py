"""Tests of shopcast.charts.postmortem: each chart builds, renders and draws what it says."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from conftest import png_bytes

from shopcast.charts.postmortem import calibration_chart, hedgehog_chart, target_by_vintage_chart
from shopcast.forecasting import scoring
from shopcast.gmv.vintage_runs import VintageForecast


def _vintage(as_of: str, last: str, seed: int) -> VintageForecast:
    months = pd.date_range("2022-01-01", "2024-12-01", freq="MS")
    rng = np.random.default_rng(seed)
    values = np.exp(np.log(3e8) + 0.06 * np.arange(len(months)) + rng.normal(0, 0.2, (200, 1)))
    fc = SimpleNamespace(paths=pd.DataFrame(values, columns=months), last_actual=pd.Timestamp(last))
    return VintageForecast(pd.Timestamp(as_of), fc)


def test_hedgehog_draws_a_spine_per_vintage_and_the_outcomes():
    vintages = [
        _vintage("2022-12-31", "2022-12-01", 0),
        _vintage("2023-06-30", "2023-06-01", 1),
        VintageForecast(pd.Timestamp("2023-09-30"), None, "no data"),
    ]
    outcomes = pd.DataFrame(
        {
            "period_start": pd.to_datetime(["2023-01-01", "2024-07-01"]),
            "period_end": pd.to_datetime(["2023-12-31", "2024-07-31"]),
            "measure": ["total", "monthly_rate"],
            "kind": ["estimate", "lower_bound"],
            "value_usd": [16.3e9, 6e8],
            "coverage": ["global", "global"],
            "reliability": ["reported", "doubtful"],
        }
    )
    fig = hedgehog_chart(vintages, outcomes)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "as of 2022-12-31" in labels and "as of 2023-06-30" in labels
    assert "outcome (reported)" in labels and "outcome (doubtful)" in labels
    assert not any("2023-09-30" in lab for lab in labels)
    # the 2023 total is drawn at its average per month
    segments = [c for c in ax.collections if c.get_label() == "outcome (reported)"]
    assert np.isclose(segments[0].get_segments()[0][0][1], 16.3e9 / 12)
    png_bytes(fig)


def test_target_by_vintage_and_calibration_charts_render():
    forecasts = pd.DataFrame(
        {
            "as_of": pd.to_datetime(["2022-12-31", "2023-06-30"]),
            "p10": [5e9, 8e9],
            "p50": [12e9, 15e9],
            "p90": [30e9, 25e9],
        }
    )
    outcomes = pd.DataFrame(
        {
            "value_usd": [16.3e9],
            "kind": ["lower_bound"],
            "reliability": ["reported"],
            "outcome_id": ["sea_2023_total_mw"],
            "published_last": [pd.Timestamp("2024-07-16")],
        }
    )
    fig = target_by_vintage_chart(forecasts, outcomes, "2023")
    assert any("more than 16.3B" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    png_bytes(fig)
    pits = (np.arange(40) + 0.5) / 40
    fig = calibration_chart(pd.Series(pits), scoring.coverage_table(pits))
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [4] * 10
    png_bytes(fig)
