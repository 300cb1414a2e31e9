"""Charts of the threshold trade-off; every function returns a matplotlib ``Figure``.

- :func:`tradeoff_chart`: sellers staying against the probability of each GMV goal.
- :func:`threshold_paths_chart`: monthly GMV with and without a threshold.

Built with ``matplotlib.figure.Figure`` (no pyplot), so a notebook shows the figure once, when it
is passed to ``display``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from shopcast.charts.data import ChartData
from shopcast.charts.goal import draw_goal_line, goal_window_months
from shopcast.charts.theme import (
    ABSOLUTE_COLOR,
    FORECAST_COLOR,
    HISTORY_COLOR,
    INTEREST_COLOR,
    MULTIPLE_COLOR,
    new_figure,
    themed,
)
from shopcast.forecasting.base import SamplePaths, unwrap
from shopcast.formatting import usd_short
from shopcast.gmv.goals import path_quantiles

#: Error bars span this many Monte-Carlo standard errors either side (about 95%).
SE_MULTIPLIER = 1.96
#: The multiple goal's points are drawn this factor to the side, so the two series' bars do not
#: hide each other (the x axis is logarithmic, so it is the same small shift everywhere).
DODGE = 0.93


def _plain(text: str) -> str:
    """Text with dollar signs escaped, so matplotlib does not read ``$...$`` as maths."""
    return text.replace("\\$", "$").replace("$", "\\$")


def _share_label(x: float, _pos: object = None) -> str:
    if x >= 0.01:
        return f"{x:.0%}"
    return f"{x:.1%}" if x >= 0.001 else f"{x:.2%}"


def threshold_label(threshold: float) -> str:
    """``"no threshold"`` for 0, else a short dollar label such as ``$1M``."""
    return "no threshold" if threshold <= 0 else usd_short(threshold)


@themed
def tradeoff_chart(
    table: pd.DataFrame,
    threshold_of_interest: float | None = None,
    absolute_label: str = "absolute goal",
    multiple_label: str = "multiple goal",
) -> Figure:
    """Probability of each goal against the share of sellers staying, one point per threshold.

    The x axis is the share of today's sellers who stay (log scale: the thresholds remove most
    sellers); the y axis the probability of the goal. Points are labelled with their threshold;
    vertical bars are ±1.96 Monte-Carlo standard errors (sampling noise of the paths only).

    Args:
        table: output of :func:`shopcast.sellers.tradeoff.threshold_tradeoff`.
        threshold_of_interest: highlighted and named in the title.
        absolute_label: legend text of the absolute goal (e.g. ``"GMV 2023 >= $20B"``).
        multiple_label: legend text of the multiple goal (e.g. ``"4x 2022"``).

    Returns:
        The Figure, carrying its data: per threshold and goal, the share staying (``x``, not
        shifted), the probability and its bar's ends (see :mod:`shopcast.charts.data`).
    """
    t = table.sort_values("threshold")
    x = t["share_sellers_staying"].to_numpy(dtype=float)
    fig = new_figure(10, 5.5)
    ax = fig.add_subplot()
    data = ChartData("tradeoff_chart")
    for prob, colour, label, marker, ls, dodge in (
        ("probability_absolute", ABSOLUTE_COLOR, absolute_label, "o", "-", 1.0),
        ("probability_multiple", MULTIPLE_COLOR, multiple_label, "s", "--", DODGE),
    ):
        half = SE_MULTIPLIER * t[f"{prob}_se"].to_numpy(dtype=float)
        data.add(
            label,
            x,
            t[prob],
            y_low=t[prob].to_numpy(dtype=float) - half,
            y_high=t[prob].to_numpy(dtype=float) + half,
            label=[threshold_label(v) for v in t["threshold"]],
        )
        ax.errorbar(
            x * dodge,
            t[prob],
            yerr=SE_MULTIPLIER * t[f"{prob}_se"].to_numpy(dtype=float),
            color=colour,
            ecolor=colour,
            elinewidth=1,
            alpha=0.9,
            marker=marker,
            markersize=6,
            lw=1.5,
            ls=ls,
            capsize=3,
            label=_plain(label),
        )
    for xi, yi, thr in zip(x, t["probability_absolute"], t["threshold"], strict=True):
        ax.annotate(
            _plain(threshold_label(thr)),
            xy=(xi, yi),
            xytext=(0, 9),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            color="#333333",
        )
    title = "Each threshold: sellers staying against the probability of the GMV goal"
    if threshold_of_interest is not None:
        hit = t[np.isclose(t["threshold"], float(threshold_of_interest))]
        if len(hit):
            row = hit.iloc[0]
            for prob in ("probability_absolute", "probability_multiple"):
                ax.plot(
                    row["share_sellers_staying"],
                    row[prob],
                    marker="o",
                    markersize=14,
                    markerfacecolor="none",
                    markeredgecolor=INTEREST_COLOR,
                    markeredgewidth=2,
                    ls="none",
                )
            none = t[t["threshold"] <= 0]
            base = f"{none.iloc[0]['probability_absolute']:.0%} with none" if len(none) else ""
            title = (
                f"A {threshold_label(row['threshold'])} threshold keeps "
                f"{row['share_sellers_staying']:.1%} of sellers; P(absolute goal) "
                f"{row['probability_absolute']:.0%}" + (f" ({base})" if base else "")
            )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_share_label))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.invert_xaxis()
    ax.set_xlabel("Share of sellers staying (log scale; higher thresholds to the right)")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    tops = [
        t[p].to_numpy(dtype=float) + SE_MULTIPLIER * t[f"{p}_se"].to_numpy(dtype=float)
        for p in ("probability_absolute", "probability_multiple")
    ]
    ax.set_ylim(0, min(1.02, max(0.1, float(np.nanmax(tops)) + 0.05)))
    ax.set_ylabel("Probability of reaching the goal")
    ax.set_title(_plain(title))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", frameon=False)
    fig.text(
        0.0,
        -0.01,
        "Bars: ±1.96 Monte-Carlo standard errors of each probability (path sampling only); the "
        "change between thresholds is far more precise (same paths).\nMultiple-goal points are "
        "shifted slightly right so the bars stay visible. Sellers staying: Amazon-shaped size "
        "distribution (proxy).\nGMV kept: simulated under assumed dynamics.",
        fontsize=8,
        color="grey",
        va="top",
    )
    return data.attach(fig)


@themed
def threshold_paths_chart(
    paths: SamplePaths,
    adjusted: SamplePaths,
    threshold: float,
    threshold_start: object | None = None,
    goal: float | None = None,
    goal_window: tuple[object, object] | None = None,
    end: object | None = None,
    ymax: float | None = None,
) -> Figure:
    """Monthly GMV with and without a threshold: forecast medians and P10-P90 lines.

    Args:
        paths: full sample paths with no threshold (``last_actual`` marks the history).
        adjusted: the same paths under the threshold (from :func:`paths_under_threshold`).
        threshold: the threshold's dollar amount, for the legend.
        threshold_start: the month the threshold takes effect, marked on the chart.
        goal: a goal total for ``goal_window``, drawn as the average monthly GMV it takes.
        goal_window: ``(start, end)`` months of the goal.
        end: last month drawn; default six months after the goal window (else every month).
        ymax: top of the GMV axis (USD); default 1.6 times the highest median drawn or the goal's
            monthly average, so the medians stay readable. A P90 above it is cut off, with a note.

    Returns:
        The Figure.
    """
    if end is None and goal_window is not None:
        end = pd.Timestamp(goal_window[1]) + pd.DateOffset(months=6)
    last = unwrap(paths)[1].last_actual
    q0, q1 = path_quantiles(paths), path_quantiles(adjusted)
    if end is not None:
        q0, q1 = q0[q0.index <= pd.Timestamp(end)], q1[q1.index <= pd.Timestamp(end)]
    cut = pd.Timestamp(last) if last is not None else q0.index[0]
    hist, f0, f1 = q0[q0.index <= cut], q0[q0.index >= cut], q1[q1.index >= cut]
    fig = new_figure(12, 5.5)
    ax = fig.add_subplot()
    data = ChartData("threshold_paths_chart")
    data.add("history", hist.index, hist["p50"], y_low=hist["p10"], y_high=hist["p90"])
    ax.fill_between(hist.index, hist["p10"], hist["p90"], color=HISTORY_COLOR, alpha=0.15)
    ax.plot(hist.index, hist["p50"], color=HISTORY_COLOR, lw=2, label="history, median (P10-P90)")
    name = _plain(threshold_label(threshold))
    for q, colour, ls, label in (
        (f0, FORECAST_COLOR, ":", "no threshold"),
        (f1, INTEREST_COLOR, "--", f"{name} threshold"),
    ):
        data.add(label.replace("\\$", "$"), q.index, q["p50"], y_low=q["p10"], y_high=q["p90"])
        ax.plot(q.index, q["p50"], color=colour, lw=2.2, label=f"{label}: median")
        ax.plot(q.index, q["p10"], color=colour, lw=1, ls=ls)
        ax.plot(q.index, q["p90"], color=colour, lw=1, ls=ls, label=f"{label}: P10 and P90")
    start = threshold_start
    if start is not None:
        data.add("threshold takes effect", pd.Timestamp(start))
        ax.axvline(pd.Timestamp(start), color=INTEREST_COLOR, lw=1, ls=":")
        ax.annotate(
            f"threshold from {pd.Timestamp(start):%b %Y}",
            xy=(pd.Timestamp(start), 0.55),
            xytext=(3, 0),
            textcoords="offset points",
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color=INTEREST_COLOR,
            rotation=90,
            ha="left",
            va="center",
        )
    candidates = [float(f0["p50"].max()), float(hist["p90"].max())]
    if goal is not None and goal_window is not None:
        g0, g1, n = goal_window_months(goal_window)
        data.add("goal, average per month", g0, goal / n, x_end=g1)
        candidates.append(
            draw_goal_line(
                ax,
                goal,
                goal_window,
                color="black",
                ls="-.",
                lw=1.2,
                label=_plain(f"goal: {usd_short(goal)} in {g0:%b %Y}-{g1:%b %Y}, average a month"),
            )
        )
    top = ymax if ymax is not None else 1.6 * max(candidates)
    ax.set_ylim(0, top)
    if float(f0["p90"].max()) > top:
        ax.text(
            0.99,
            0.98,
            "P90 lines continue above the chart",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="grey",
        )
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _plain(usd_short(v))))
    ax.set_ylabel("GMV per month")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title(_plain(f"Monthly GMV with and without a {threshold_label(threshold)} threshold"))
    return data.attach(fig)
