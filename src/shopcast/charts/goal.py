"""Charts for the path to a GMV goal; every function returns a matplotlib ``Figure``.

Figures are built with ``matplotlib.figure.Figure`` rather than ``pyplot``, so nothing is left
open in pyplot's registry and a notebook shows each figure once (when it is the cell's value
or passed to ``display``). Money is shown in billions of US dollars.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter

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
from shopcast.forecasting.base import SamplePaths, unwrap
from shopcast.gmv.goals import GoalResult, TimeToGoal, path_quantiles

BILLION = 1e9
AVG_DAYS_PER_MONTH = 365.25 / 12
KIND_MARKERS = {"estimate": "o", "lower_bound": "^", "upper_bound": "v"}
KIND_WORDS = {"estimate": "estimate", "lower_bound": "lower bound", "upper_bound": "upper bound"}
#: P90 / P10 of the window totals above which their histogram switches to a log axis.
LOG_SPREAD = 10.0


def _billions(ax, axis: str = "y", decimals: int = 1) -> None:
    fmt = FuncFormatter(lambda v, _: f"\\${v / BILLION:,.{decimals}f}B")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def anchor_monthly_equivalents(anchors: pd.DataFrame) -> pd.DataFrame:
    """Anchors expressed as an average GMV per month over their period, for drawing.

    Understood measures (column ``measure``; a frame without it is read as ``total``):
    ``total`` (divided by the number of whole months, or by days x 30.44 for partial months),
    ``daily_rate`` (times the days of the month, or 30.44 over a multi-month period) and
    ``monthly_rate`` (as is). Other measures are left out.

    Returns:
        DataFrame with columns ``start``, ``end`` (month starts spanned), ``monthly_usd``,
        ``coverage``, ``kind``, ``label``.
    """
    rows = []
    for _, row in anchors.iterrows():
        start, end = pd.Timestamp(row["period_start"]), pd.Timestamp(row["period_end"])
        measure = row.get("measure", "total")
        value = float(row["value_usd"])
        days = (end - start).days + 1
        first, last = start.to_period("M").to_timestamp(), end.to_period("M").to_timestamp()
        whole = start == first and end == last + pd.offsets.MonthEnd(0)
        n_months = (last.year - first.year) * 12 + last.month - first.month + 1
        if measure == "total":
            monthly = value / n_months if whole else value / days * AVG_DAYS_PER_MONTH
        elif measure == "daily_rate":
            monthly = value * (first.days_in_month if n_months == 1 else AVG_DAYS_PER_MONTH)
        elif measure == "monthly_rate":
            monthly = value
        else:
            continue
        kind = row.get("kind", "estimate")
        coverage = str(row.get("coverage", "")).replace("_", " ")
        rows.append(
            {
                "start": first,
                "end": last,
                "monthly_usd": monthly,
                "coverage": coverage,
                "kind": kind,
                "label": f"{coverage} {KIND_WORDS.get(kind, kind)}".strip(),
            }
        )
    return pd.DataFrame(rows, columns=["start", "end", "monthly_usd", "coverage", "kind", "label"])


def goal_window_months(
    goal_window: tuple[object, object],
) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """First and last month of a goal window and its number of months."""
    g0 = pd.Timestamp(goal_window[0]).to_period("M").to_timestamp()
    g1 = pd.Timestamp(goal_window[1]).to_period("M").to_timestamp()
    return g0, g1, (g1.year - g0.year) * 12 + g1.month - g0.month + 1


def draw_goal_line(ax, goal: float, goal_window: tuple[object, object], **style) -> float:
    """Draw the goal as its average per month across the window; returns that average."""
    g0, g1, n = goal_window_months(goal_window)
    ax.hlines(goal / n, g0, g1, **style)
    return goal / n


@themed
def fan_chart(
    paths: SamplePaths | pd.DataFrame,
    last_actual: object | None = None,
    anchors: pd.DataFrame | None = None,
    required: pd.DataFrame | None = None,
    goal: float | None = None,
    goal_window: tuple[object, object] | None = None,
    title: str | None = None,
    log_y: bool = False,
    ymax: float | None = None,
) -> Figure:
    """Monthly GMV: reconstructed history, forecast fan, anchors and the path to the goal.

    Args:
        paths: sample paths (full :class:`SamplePaths` from ``forecast_over_draws`` or a
            forecast alone); their ``history_kind`` (``"reconstructed"``, ``"observed"``)
            names the history in the legend.
        last_actual: last history month; default ``paths.last_actual`` when present,
            else (or when no month precedes it) every month is drawn as forecast.
        anchors: optional anchors (columns ``period_start``, ``period_end``, ``value_usd``,
            ``coverage``, ``kind`` and, if present, ``measure``), drawn as their average per
            month over their period: a marker for a single month, a bar across a longer period;
            a triangle up for a lower bound, down for an upper bound. Regional anchors cover
            only part of the market and sit below a global path by design.
        required: the table of :func:`shopcast.gmv.goals.required_path`, drawn as the required path.
        goal: a goal total (USD) for ``goal_window``; drawn as the average monthly GMV it takes.
        goal_window: ``(start, end)`` months of the goal.
        title: the chart title; the default says what is shown.
        log_y: logarithmic GMV axis (constant growth is a straight line).
        ymax: top of the GMV axis in USD. By default (linear axis) it is 1.15 times the highest
            of: the P50, the required path, the goal's monthly average and the anchors, and the
            P90 up to the end of the goal window; a wider fan is cut off at the top and the
            chart says so in a note.

    Returns:
        The Figure, carrying its data (months with P10/P50/P90 of history and forecast, the
        anchors, the goal and the required path; see :mod:`shopcast.charts.data`).
    """
    frame, meta = unwrap(paths)
    q = path_quantiles(frame)
    data = ChartData("fan_chart")
    if last_actual is None:
        last_actual = meta.last_actual
    kind = meta.history_kind  # "observed" for a user's own series
    fig = new_figure(12, 5.5)
    ax = fig.add_subplot()
    # a slice of the forecast months alone: no history to draw then
    if last_actual is not None and q.index.min() < pd.Timestamp(last_actual):
        cut = pd.Timestamp(last_actual)
        hist, fut = q.loc[q.index <= cut], q.loc[q.index >= cut]
        data.add(f"{kind} history", hist.index, hist["p50"], y_low=hist["p10"], y_high=hist["p90"])
        ax.fill_between(
            hist.index,
            hist["p10"],
            hist["p90"],
            color=HISTORY_COLOR,
            alpha=0.2,
            label=f"{kind} history, P10-P90",
        )
        ax.plot(
            hist.index,
            hist["p50"],
            color=HISTORY_COLOR,
            lw=2,
            label=f"{kind} history, median",
        )
        ax.axvline(cut, color="grey", lw=0.8, ls=":")
        ax.annotate(
            f"last {kind} month",
            xy=(cut, 0.98),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color="grey",
            ha="right",
            va="top",
            rotation=90,
        )
    else:
        fut = q
    data.add("forecast", fut.index, fut["p50"], y_low=fut["p10"], y_high=fut["p90"])
    ax.fill_between(
        fut.index,
        fut["p10"],
        fut["p90"],
        color=FORECAST_COLOR,
        alpha=0.25,
        label="forecast, P10-P90 (80% of paths)",
    )
    ax.plot(fut.index, fut["p50"], color=FORECAST_COLOR, lw=2, label="forecast, median")
    if anchors is not None and len(anchors):
        eq = anchor_monthly_equivalents(anchors)
        colors = dict(
            zip(
                sorted(eq["coverage"].unique()),
                ["#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"],
                strict=False,
            )
        )
        seen = set()
        for _, a in eq.iterrows():
            color = colors.get(a["coverage"], "black")
            label = None if a["label"] in seen else f"anchor: {a['label']} (per month)"
            seen.add(a["label"])
            marker = KIND_MARKERS.get(a["kind"], "s")
            mid = a["start"] + (a["end"] - a["start"]) / 2
            data.add(
                f"anchor: {a['label']} (per month)", a["start"], a["monthly_usd"], x_end=a["end"]
            )
            if a["end"] > a["start"]:
                ax.hlines(a["monthly_usd"], a["start"], a["end"], color=color, lw=2.5, alpha=0.8)
            ax.plot(
                [mid], [a["monthly_usd"]], marker=marker, color=color, ls="none", ms=7, label=label
            )
    if goal is not None and goal_window is not None:
        g0, g1, n = goal_window_months(goal_window)
        data.add("goal, average per month", g0, goal / n, x_end=g1)
        draw_goal_line(
            ax,
            goal,
            goal_window,
            color=GOAL_COLOR,
            ls="--",
            lw=1.5,
            label=f"goal \\${goal / BILLION:,.0f}B in {g0:%b %Y}-{g1:%b %Y}: "
            f"\\${goal / n / BILLION:,.2f}B/month on average",
        )
    if required is not None and len(required):
        data.add("required path to reach the goal exactly", required.index, required["required"])
        ax.plot(
            required.index,
            required["required"],
            color=REQUIRED_COLOR,
            lw=2,
            ls="-.",
            marker=".",
            label="required path to reach the goal exactly",
        )
    _billions(ax, decimals=1)
    ax.set_ylabel("GMV per month")
    ax.set_xlabel("month")
    if log_y:
        ax.set_yscale("log")
        # decades labelled $100M, $1B, $10B ... (fixed decimals of billions read $100,000.00B)
        ax.yaxis.set_major_formatter(FuncFormatter(usd_tick))
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        if ymax is None:
            end = pd.Timestamp(goal_window[1]) if goal_window is not None else q.index[-1]
            candidates = [q["p50"].max(), q.loc[q.index <= end, "p90"].max()]
            if required is not None and len(required):
                candidates.append(float(required["required"].max()))
            if goal is not None and goal_window is not None:
                candidates.append(goal / n)
            if anchors is not None and len(anchors):
                candidates.append(float(anchor_monthly_equivalents(anchors)["monthly_usd"].max()))
            ymax = 1.15 * max(candidates)
        if q["p90"].max() > ymax:
            ax.text(
                0.99,
                0.99,
                "forecast band continues above the chart",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=8,
                color="grey",
            )
        ax.set_ylim(0, ymax)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title(
        title or f"Monthly GMV: {kind} history, forecast range and the path the goal needs"
    )
    return data.attach(fig)


@themed
def window_total_chart(
    result: GoalResult, title: str | None = None, bins: int = 50, log_x: bool | None = None
) -> Figure:
    """Distribution of the goal window's total across sample paths, with the goal marked.

    Args:
        result: a :class:`shopcast.gmv.goals.GoalResult`.
        title: chart title; the default states the probability.
        bins: histogram bins.
        log_x: logarithmic total axis with log-spaced bins. By default it is used when the totals
            span an order of magnitude (P90 / P10 above :data:`LOG_SPREAD`), where a linear axis
            squeezes most paths into one bar beside a long tail; totals at or below zero cannot
            be drawn on it and are counted in a note.
    """
    fig = new_figure(9, 4.5)
    ax = fig.add_subplot()
    data = ChartData("window_total_chart")
    totals = result.totals.to_numpy(dtype=float)
    positive = totals[totals > 0]
    if log_x is None:
        log_x = result.p10 > 0 and result.p90 / result.p10 > LOG_SPREAD
    # a log axis needs at least two distinct positive totals
    log_x = bool(log_x) and len(np.unique(positive)) > 1
    style = {
        "color": FORECAST_COLOR,
        "alpha": 0.7,
        "ax": ax,
        "label": "window total per path",
        "edgecolor": "white",
        "linewidth": 0.3,
    }
    shown = positive if log_x else totals
    if log_x:
        edges = np.geomspace(positive.min(), positive.max(), bins + 1)
    else:
        edges = np.histogram_bin_edges(totals, bins)
    counts, _ = np.histogram(shown, edges)
    data.add("window total per path (paths per bin)", edges[:-1], counts, x_end=edges[1:])
    if log_x:
        sns.histplot(x=positive, bins=edges, **style)
        ax.set_xscale("log")
        dropped = len(totals) - len(positive)
        if dropped:
            ax.text(
                0.01,
                0.99,
                f"{dropped} path(s) at or below \\$0 not shown",
                transform=ax.transAxes,
                ha="left",
                va="top",
                fontsize=8,
                color="grey",
            )
    else:
        sns.histplot(x=totals, bins=edges, **style)
    targets = result.targets.to_numpy()
    if np.ptp(targets) > 0:
        lo, hi = np.quantile(targets, (0.1, 0.9))
        data.add("goal, P10-P90 across paths", lo, x_end=hi)
        ax.axvspan(lo, hi, color=GOAL_COLOR, alpha=0.15, label="goal, P10-P90 across paths")
    data.add("goal", result.target)
    ax.axvline(
        result.target,
        color=GOAL_COLOR,
        lw=2,
        ls="--",
        label=f"goal \\${result.target / BILLION:,.1f}B",
    )
    for value, name in ((result.p10, "P10"), (result.p50, "P50"), (result.p90, "P90")):
        data.add(f"window total, {name}", value)
        ax.axvline(value, color="grey", lw=0.8, ls=":")
        ax.annotate(
            f"{name} \\${value / BILLION:,.1f}B",
            xy=(value, 0.98),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="top",
            ha="right",
            fontsize=8,
            color="grey",
        )
    xlabel = f"total GMV {result.window[0]:%b %Y}-{result.window[1]:%b %Y}"
    if log_x:
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(usd_tick))
        ax.xaxis.set_minor_formatter(NullFormatter())
        xlabel += " (log scale)"
    else:
        _billions(ax, axis="x", decimals=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("number of sample paths")
    ax.legend(fontsize=8, frameon=False, loc="upper right")
    ax.grid(alpha=0.3)
    ax.set_title(
        title
        or (
            f"Total GMV {result.window[0]:%b %Y}-{result.window[1]:%b %Y}: "
            f"{result.probability:.0%} of paths reach the goal (± {result.probability_se:.1%})"
        )
    )
    return data.attach(fig)


@themed
def time_to_goal_chart(result: TimeToGoal, title: str | None = None) -> Figure:
    """Probability that the trailing-12-month GMV has reached the annual target, by month."""
    fig = new_figure(9, 4.5)
    ax = fig.add_subplot()
    bm = result.by_month
    data = ChartData("time_to_goal_chart")
    data.add("share of paths that have reached it", bm.index, bm["prob_reached"])
    ax.step(
        bm.index,
        bm["prob_reached"],
        where="post",
        color=FORECAST_COLOR,
        lw=2,
        label="share of paths that have reached it",
    )
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    if pd.notna(result.p50):
        data.add("median month", result.p50)
        ax.axvline(
            result.p50, color=GOAL_COLOR, lw=1, ls="--", label=f"median month: {result.p50:%b %Y}"
        )
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("probability reached by this month")
    ax.set_xlabel("month")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax.set_title(
        title
        or (
            f"When trailing-12-month GMV first reaches \\${result.annual_target / BILLION:,.0f}B: "
            f"{result.probability_never:.0%} of paths not within the horizon"
        )
    )
    return data.attach(fig)
