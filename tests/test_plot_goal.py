"""Goal charts: each returns a Figure that draws what it says, and renders to PNG."""

from __future__ import annotations

import dataclasses

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display in tests

import numpy as np
import pandas as pd
import pytest
from conftest import png_bytes
from matplotlib.figure import Figure

from shopcast.charts.goal import (
    LOG_SPREAD,
    anchor_monthly_equivalents,
    fan_chart,
    time_to_goal_chart,
    window_total_chart,
)
from shopcast.gmv.goals import absolute_goal
from shopcast.gmv.pipeline import run_goal_forecast


@pytest.fixture(scope="module")
def result():
    """The default scenario (anchors, Prophet), small sizes."""
    return run_goal_forecast(n_draws=20, n_histories=5, n_samples=300, seed=0)


def lognormal_goal(sigma: float, n: int = 2000, seed: int = 0):
    """A goal over 12 iid-free months whose window totals are lognormal(log 20B, sigma).

    One month carries the whole total (the other 11 are zero), so the totals' spread is known:
    P90 / P10 = exp(2 * 1.2816 * sigma).
    """
    rng = np.random.default_rng(seed)
    values = np.zeros((n, 12))
    values[:, 0] = np.exp(np.log(20e9) + sigma * rng.standard_normal(n))
    paths = pd.DataFrame(values, columns=pd.date_range("2023-01-01", periods=12, freq="MS"))
    return absolute_goal(paths, "2023-01", "2023-12", 20e9)


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


# --------------------------------------------------------------------------------------------
# fan chart


def test_fan_chart_with_anchors_required_path_and_goal(result):
    fig = fan_chart(
        result.paths,
        last_actual=result.last_actual,
        anchors=result.anchors,
        required=result.required,
        goal=20e9,
        goal_window=("2023-01-01", "2023-12-01"),
    )
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title()
    assert ax.collections  # the history and forecast bands
    assert len(ax.lines) >= 3  # history median, forecast median, required path, anchors
    texts = legend_texts(ax)
    assert any(t.startswith("goal \\$20B in Jan 2023-Dec 2023") for t in texts)
    assert "required path to reach the goal exactly" in texts
    assert any(t.startswith("anchor: ") for t in texts)
    # the required path is drawn through the required values
    required_line = next(
        line for line in ax.lines if line.get_label() == "required path to reach the goal exactly"
    )
    np.testing.assert_allclose(required_line.get_ydata(), result.required["required"])
    # the goal's monthly average: 20B / 12 months
    goal_lines = [c for c in ax.collections if c.get_label().startswith("goal ")]
    assert len(goal_lines) == 1
    (segment,) = goal_lines[0].get_segments()
    assert segment[0][1] == pytest.approx(20e9 / 12)
    assert ax.get_ylim()[0] == 0
    png_bytes(fig)


def test_fan_chart_of_forecast_alone_on_log_axis(result):
    # the slice keeps the full paths' metadata (last_actual), but has no history month to draw
    frame = result.paths.frame
    future = result.paths.with_frame(
        frame.loc[:, pd.DatetimeIndex(frame.columns) > result.last_actual]
    )
    assert future.last_actual is not None
    fig = fan_chart(future, log_y=True, title="forecast only")
    ax = fig.axes[0]
    assert ax.get_title() == "forecast only"
    assert ax.get_yscale() == "log"
    assert ax.yaxis.get_major_formatter()(1e8, 0) == "\\$100M"
    assert ax.yaxis.get_major_formatter()(1e13, 0) == "\\$10T"
    labels = legend_texts(ax)
    assert "forecast, median" in labels
    assert not any("history" in t for t in labels)
    assert not any(t.startswith("goal") for t in labels)
    png_bytes(fig)


def test_fan_chart_names_the_kind_of_history(result):
    labels = legend_texts(fan_chart(result.paths).axes[0])
    assert "reconstructed history, median" in labels
    observed = dataclasses.replace(result.paths, history_kind="observed")
    fig = fan_chart(observed)
    assert "observed history, median" in legend_texts(fig.axes[0])
    assert "observed history" in fig.axes[0].get_title()
    assert not any("reconstructed" in t for t in legend_texts(fig.axes[0]))


def test_fan_chart_notes_a_band_cut_off_at_ymax(result):
    fig = fan_chart(result.paths, last_actual=result.last_actual, ymax=1e6)
    ax = fig.axes[0]
    assert ax.get_ylim() == (0, 1e6)
    assert any("continues above the chart" in t.get_text() for t in ax.texts)


def test_anchor_monthly_equivalents_closed_forms():
    anchors = pd.DataFrame(
        {
            "period_start": ["2022-01-01", "2022-03-01", "2022-11-11"],
            "period_end": ["2022-12-31", "2022-03-31", "2022-11-11"],
            "value_usd": [12e9, 31e6, 100e6],
            "measure": ["total", "daily_rate", "total"],
            "coverage": ["global", "united_states", "global"],
            "kind": ["estimate", "lower_bound", "estimate"],
        }
    )
    eq = anchor_monthly_equivalents(anchors)
    # a year's total over 12 whole months; a daily rate times March's 31 days;
    # a one-day total times the average month (365.25 / 12 days)
    np.testing.assert_allclose(eq["monthly_usd"], [1e9, 31e6 * 31, 100e6 * 365.25 / 12])
    assert list(eq["label"]) == ["global estimate", "united states lower bound", "global estimate"]


# --------------------------------------------------------------------------------------------
# window total histogram


def test_window_total_chart_of_a_real_result(result):
    fig = window_total_chart(result.absolute)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title().startswith("Total GMV Jan 2023-Dec 2023: ")
    heights = [p.get_height() for p in ax.containers[0]]
    assert sum(heights) == len(result.absolute.totals)
    assert "goal \\$20.0B" in legend_texts(ax)
    png_bytes(fig)


def test_window_total_chart_is_linear_for_a_narrow_spread():
    goal = lognormal_goal(sigma=0.5)  # P90 / P10 = exp(2.563 * 0.5) = 3.6
    assert goal.p90 / goal.p10 < LOG_SPREAD
    fig = window_total_chart(goal)
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    edges = [p.get_x() for p in ax.containers[0]]
    widths = np.array([p.get_width() for p in ax.containers[0]])
    np.testing.assert_allclose(widths, widths[0], rtol=1e-9)  # equal linear bins
    assert len(edges) == 50
    assert "(log scale)" not in ax.get_xlabel()


def test_window_total_chart_is_logarithmic_for_a_wide_spread():
    goal = lognormal_goal(sigma=1.0)  # P90 / P10 = exp(2.563) = 13
    assert goal.p90 / goal.p10 > LOG_SPREAD
    fig = window_total_chart(goal, bins=40)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel().endswith("(log scale)")
    bars = list(ax.containers[0])
    assert len(bars) == 40
    assert sum(p.get_height() for p in bars) == len(goal.totals)
    # log-spaced bins: every bar spans the same ratio, from the smallest to the largest total
    left = np.array([p.get_x() for p in bars])
    right = left + np.array([p.get_width() for p in bars])
    np.testing.assert_allclose(np.log(right / left), np.log(right[0] / left[0]), rtol=1e-6)
    assert left[0] == pytest.approx(goal.totals.min())
    assert right[-1] == pytest.approx(goal.totals.max())
    # dollar ticks: $5B, $20B ...
    fmt = ax.xaxis.get_major_formatter()
    assert fmt(5e9, 0) == "\\$5B"
    assert fmt(2e10, 0) == "\\$20B"
    assert fmt(5e8, 0) == "\\$500M"
    assert fmt(1e12, 0) == "\\$1T"
    fig.canvas.draw()
    shown = {t.get_text() for t in ax.get_xticklabels()}
    assert {"\\$10B", "\\$20B", "\\$50B"} <= shown
    png_bytes(fig)


def test_window_total_chart_log_axis_counts_paths_it_cannot_draw():
    goal = lognormal_goal(sigma=1.0)
    totals = goal.totals.copy()
    totals.iloc[:3] = [0.0, -1e9, 0.0]
    fig = window_total_chart(
        absolute_goal(
            pd.DataFrame({pd.Timestamp("2023-01-01"): totals.to_numpy()}),
            "2023-01",
            "2023-01",
            20e9,
        ),
        log_x=True,
    )
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(t.get_text() == "3 path(s) at or below \\$0 not shown" for t in ax.texts)
    assert sum(p.get_height() for p in ax.containers[0]) == len(totals) - 3


def test_window_total_chart_marks_the_multiple_goals_spread(result):
    fig = window_total_chart(result.multiple)
    assert "goal, P10-P90 across paths" in legend_texts(fig.axes[0])
    png_bytes(fig)


# --------------------------------------------------------------------------------------------
# time to goal


def test_time_to_goal_chart(result):
    ttg = result.time_to_goal
    fig = time_to_goal_chart(ttg)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert f"{ttg.probability_never:.0%} of paths not within the horizon" in ax.get_title()
    step = ax.lines[0]
    np.testing.assert_allclose(step.get_ydata(), ttg.by_month["prob_reached"])
    assert ax.get_ylim() == (0, 1.02)
    png_bytes(fig)
