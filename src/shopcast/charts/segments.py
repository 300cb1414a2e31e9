"""Charts of segment forecasts: small multiples of segment fans, the total's fan, the gap."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from shopcast.charts.data import ChartData
from shopcast.charts.theme import (
    FORECAST_COLOR,
    GOAL_COLOR,
    HISTORY_COLOR,
    REQUIRED_COLOR,
    new_figure,
    themed,
    usd_tick,
)
from shopcast.gmv.goals import path_quantiles
from shopcast.gmv.segment_goals import SegmentGoals
from shopcast.gmv.segments import SegmentForecast


def _fan(
    ax,
    data: ChartData,
    forecast: SegmentForecast,
    node: tuple[str, ...],
    required=None,
    share=1.0,
    panel: str | None = None,
) -> None:
    q = path_quantiles(forecast.paths(node))
    hist = q.index <= forecast.last_actual
    fut = q.index >= forecast.last_actual
    for part, rows in (("history", q[hist]), ("forecast", q[fut])):
        data.add(part, rows.index, rows["p50"], y_low=rows["p10"], y_high=rows["p90"], panel=panel)
    ax.fill_between(q.index[hist], q["p10"][hist], q["p90"][hist], color=HISTORY_COLOR, alpha=0.2)
    ax.plot(q.index[hist], q["p50"][hist], color=HISTORY_COLOR, lw=1.5)
    ax.fill_between(q.index[fut], q["p10"][fut], q["p90"][fut], color=FORECAST_COLOR, alpha=0.25)
    ax.plot(q.index[fut], q["p50"][fut], color=FORECAST_COLOR, lw=1.5)
    if required is not None:
        data.add(
            "share of the required path", required.index, share * required["required"], panel=panel
        )
        ax.plot(required.index, share * required["required"], color=REQUIRED_COLOR, ls="--", lw=1.2)
    ax.axvline(forecast.last_actual, color="0.5", lw=0.8, ls=":")
    ax.yaxis.set_major_formatter(FuncFormatter(usd_tick))
    ax.set_ylim(bottom=0)


@themed
def segment_fans(
    forecast: SegmentForecast, goals: SegmentGoals, columns: int = 3, limit: int = 24
) -> Figure:
    """Small multiples of the bottom segments' fans, in the table's order.

    History is shaded blue, the forecast orange (P10-P90, line P50), and the dashed line is the
    segment's share of the total's required path.
    """
    table = goals.table[goals.table["bottom"]].head(limit)
    nodes = list(table["key"])
    rows = math.ceil(len(nodes) / columns)
    fig = new_figure(3.4 * columns, 2.4 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, sharex=True, squeeze=False)).ravel()
    data = ChartData("segment_fans")
    for ax, node, (_, row) in zip(axes, nodes, table.iterrows(), strict=False):
        _fan(ax, data, forecast, node, goals.required, row["share"], panel=" / ".join(node))
        ax.set_title(f"{node[-1]}: P(goal share) {row['probability']:.0%}", fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    for ax in axes[len(nodes) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Segment forecasts, USD per month (dashed: the segment's share of the required path)"
    )
    return data.attach(fig)


@themed
def total_fan(forecast: SegmentForecast, goals: SegmentGoals) -> Figure:
    """The total's fan, drawn from the summed segment paths, with the required path."""
    fig = new_figure(8, 3.6)
    ax = fig.subplots()
    data = ChartData("total_fan")
    _fan(ax, data, forecast, (), goals.required)
    ax.set_title(
        f"Total of {len(forecast.bottom)} segments (sum of their joint paths): "
        f"P(goal) {goals.total.probability:.0%}"
    )
    ax.set_ylabel("USD per month")
    return data.attach(fig)


@themed
def gap_bars(goals: SegmentGoals, limit: int = 20) -> Figure:
    """Each bottom segment's contribution to the total's gap when the total misses."""
    table = goals.table[goals.table["bottom"]].head(limit)
    column = "gap_when_missed" if table["gap_when_missed"].notna().any() else "gap_mean"
    fig = new_figure(7, 0.35 * len(table) + 1.2)
    ax = fig.subplots()
    values = table[column].to_numpy()
    words = "when the total misses" if column == "gap_when_missed" else "on average"
    data = ChartData("gap_bars")
    data.add(f"segment target minus segment GMV, {words}", table["node"], values)
    colors = [GOAL_COLOR if v > 0 else FORECAST_COLOR for v in values]
    ax.barh(table["node"], values, color=colors)
    ax.invert_yaxis()
    ax.axvline(0, color="0.3", lw=0.8)
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda v, _: ("-" if v < 0 else "") + usd_tick(abs(v)))
    )
    ax.set_title(f"Where the gap is: segment target minus segment GMV, {words}")
    return data.attach(fig)


def coherence_frame(check: pd.DataFrame) -> pd.DataFrame:
    """The coherence check as shown in a report (node, children, largest difference, exact)."""
    return check.rename(
        columns={"n_children": "children", "max_abs_difference": "largest difference (USD)"}
    )
