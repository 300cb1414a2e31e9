"""Charts of the forecast post-mortem: the hedgehog, a target across vintages, calibration.

Every function returns a ``matplotlib.figure.Figure`` (no pyplot state).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from shopcast.charts.data import ChartData
from shopcast.charts.goal import KIND_MARKERS, anchor_monthly_equivalents
from shopcast.charts.theme import new_figure, themed, usd_tick
from shopcast.gmv.goals import path_quantiles

RELIABILITY_STYLE = {
    "reported": {"color": "black", "linestyle": "-"},
    "doubtful": {"color": "#8c8c8c", "linestyle": "--"},
    "projection": {"color": "#8172b3", "linestyle": ":"},
}


def _colors(n: int) -> list:
    cmap = colormaps["viridis"]
    return [cmap(x) for x in np.linspace(0.05, 0.9, max(n, 1))]


@themed
def hedgehog_chart(
    vintages: list, outcomes: pd.DataFrame | None = None, title: str | None = None
) -> Figure:
    """Each vintage's median forecast and 80% band (P10-P90) against the outcomes, per month.

    Args:
        vintages: :class:`shopcast.gmv.vintage_runs.VintageForecast` objects; those without a
            forecast are skipped. Each is drawn from its last history month on (the spine of
            the hedgehog), its history as a thin line.
        outcomes: figures to draw as their average per month over their period (see
            :func:`shopcast.charts.goal.anchor_monthly_equivalents`), styled by reliability.
        title: the chart title.
    """
    fig = new_figure(10, 5.2)
    ax = fig.add_subplot()
    runs = [v for v in vintages if v.forecast is not None]
    data = ChartData("hedgehog_chart")
    for vf, color in zip(runs, _colors(len(runs)), strict=True):
        fc = vf.forecast
        q = path_quantiles(fc.paths)
        hist = q.index <= fc.last_actual
        ahead = q.index >= fc.last_actual
        name = f"as of {vf.as_of:%Y-%m-%d}"
        data.add(f"{name}, history median", q.index[hist], q["p50"][hist])
        data.add(
            f"{name}, forecast",
            q.index[ahead],
            q["p50"][ahead],
            y_low=q["p10"][ahead],
            y_high=q["p90"][ahead],
        )
        ax.plot(q.index[hist], q["p50"][hist], color=color, linewidth=0.8, alpha=0.6)
        ax.plot(
            q.index[ahead],
            q["p50"][ahead],
            color=color,
            linewidth=1.6,
            label=f"as of {vf.as_of:%Y-%m-%d}",
        )
        ax.fill_between(
            q.index[ahead], q["p10"][ahead], q["p90"][ahead], color=color, alpha=0.08, linewidth=0
        )
    if outcomes is not None and len(outcomes):
        seen = set()
        for i in range(len(outcomes)):
            eq = anchor_monthly_equivalents(outcomes.iloc[[i]])
            if eq.empty:
                continue
            row = eq.iloc[0].copy()
            row["reliability"] = outcomes["reliability"].iloc[i]
            style = RELIABILITY_STYLE.get(row["reliability"], RELIABILITY_STYLE["reported"])
            label = f"outcome ({row['reliability']})"
            label = None if label in seen else label
            seen.add(f"outcome ({row['reliability']})")
            end = row["end"] + pd.offsets.MonthBegin(1) - pd.Timedelta(days=1)
            data.add(
                f"outcome ({row['reliability']}, per month)",
                row["start"],
                row["monthly_usd"],
                x_end=end,
                label=outcomes["outcome_id"].iloc[i] if "outcome_id" in outcomes else None,
            )
            ax.hlines(
                row["monthly_usd"],
                row["start"],
                end,
                colors=style["color"],
                linestyles=style["linestyle"],
                linewidth=2.2,
                label=label,
            )
            ax.plot(
                row["start"] + (end - row["start"]) / 2,
                row["monthly_usd"],
                KIND_MARKERS.get(row["kind"], "o"),
                color=style["color"],
                markersize=5,
            )
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_usd_tick_formatter())
    ax.set_ylabel("GMV per month (log scale)")
    ax.set_title(title or "Each vintage's forecast (median, P10-P90) against what happened")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    fig.autofmt_xdate()
    return data.attach(fig)


def _usd_tick_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(usd_tick)


@themed
def target_by_vintage_chart(forecasts: pd.DataFrame, outcomes: pd.DataFrame, title: str) -> Figure:
    """One target (e.g. the 2023 total) as forecast at each vintage, against its outcomes.

    Args:
        forecasts: one row per vintage, columns ``as_of``, ``p10``, ``p50``, ``p90``.
        outcomes: the target's outcome figures, columns ``value_usd``, ``kind``, ``reliability``,
            ``outcome_id``, ``published_last``.
        title: the chart title.
    """
    fig = new_figure(9, 4.4)
    ax = fig.add_subplot()
    data = ChartData("target_by_vintage")
    if len(forecasts):
        x = pd.to_datetime(forecasts["as_of"])
        data.add(
            "forecast: median and P10-P90",
            x,
            forecasts["p50"],
            y_low=forecasts["p10"],
            y_high=forecasts["p90"],
        )
        ax.errorbar(
            x,
            forecasts["p50"],
            yerr=[forecasts["p50"] - forecasts["p10"], forecasts["p90"] - forecasts["p50"]],
            fmt="o",
            color="#4c72b0",
            capsize=4,
            label="forecast: median and P10-P90",
        )
    for _, row in outcomes.iterrows():
        style = RELIABILITY_STYLE.get(row["reliability"], RELIABILITY_STYLE["reported"])
        word = {"lower_bound": "more than ", "upper_bound": "less than "}.get(row["kind"], "")
        data.add(
            f"outcome {row['outcome_id']} ({word.strip() or 'estimate'}, {row['reliability']}, "
            f"published {row['published_last']:%Y-%m})",
            y=row["value_usd"],
        )
        ax.axhline(
            row["value_usd"],
            color=style["color"],
            linestyle=style["linestyle"],
            linewidth=1.2,
            label=f"{row['outcome_id']}: {word}{row['value_usd'] / 1e9:.3g}B "
            f"({row['reliability']}, published {row['published_last']:%Y-%m})",
        )
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(_usd_tick_formatter())
    ax.set_xlabel("vintage (as_of)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.autofmt_xdate()
    return data.attach(fig)


@themed
def calibration_chart(pits: pd.Series, coverage: pd.DataFrame, title: str | None = None) -> Figure:
    """PIT histogram (left) and coverage of central intervals by nominal level (right).

    Args:
        pits: PIT values of the scored estimates.
        coverage: :func:`shopcast.forecasting.scoring.coverage_table` (columns ``empirical``,
            ``n``, ``se``, index ``nominal``).
        title: the figure title.
    """
    fig = new_figure(10, 4)
    left, right = fig.subplots(1, 2)
    u = np.asarray(pits, dtype=float)
    u = u[np.isfinite(u)]
    data = ChartData("calibration_chart")
    edges = np.linspace(0, 1, 11)
    counts, _ = np.histogram(u, edges)
    pit_panel, coverage_panel = "PIT histogram", "Coverage by nominal level"
    data.add("outcomes per PIT bin", edges[:-1], counts, x_end=edges[1:], panel=pit_panel)
    left.hist(u, bins=edges, color="#4c72b0", edgecolor="white")
    if u.size:
        data.add("calibrated (uniform)", y=u.size / 10, panel=pit_panel)
        left.axhline(
            u.size / 10, color="black", linestyle="--", linewidth=1, label="calibrated (uniform)"
        )
        left.legend(fontsize=8)
    left.set_xlabel("PIT: the outcome's quantile in the forecast")
    left.set_ylabel("outcomes")
    left.set_title(f"PIT histogram ({u.size} scored outcomes)")
    nominal = coverage.index.to_numpy(dtype=float)
    right.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="calibrated")
    se = coverage["se"].to_numpy(dtype=float)
    low, high = np.clip(nominal - 2 * se, 0, 1), np.clip(nominal + 2 * se, 0, 1)
    data.add(
        "calibrated +/- 2 s.e.", nominal, nominal, y_low=low, y_high=high, panel=coverage_panel
    )
    data.add("empirical", nominal, coverage["empirical"], panel=coverage_panel)
    right.fill_between(
        nominal,
        low,
        high,
        color="grey",
        alpha=0.2,
        label="calibrated +/- 2 s.e.",
    )
    right.plot(nominal, coverage["empirical"], "o-", color="#dd8452", label="empirical")
    right.set_xlabel("nominal coverage of the central interval")
    right.set_ylabel("share of outcomes inside")
    right.xaxis.set_major_formatter(PercentFormatter(1.0))
    right.yaxis.set_major_formatter(PercentFormatter(1.0))
    right.set_xlim(0, 1)
    right.set_ylim(0, 1.02)
    right.set_title("Coverage by nominal level")
    right.legend(fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title)
    return data.attach(fig)
