"""Words for reports: headline sentences and caveats built from computed results.

Every number in these sentences comes from the result objects passed in; nothing is typed in.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from shopcast.publish import format_value


def _missing(x: Any) -> bool:
    """None, NaN of any float type (numpy's float32 too), ``pd.NA`` or ``NaT``."""
    try:
        return x is None or bool(pd.isna(x))
    except (TypeError, ValueError):  # an array: not a missing scalar
        return False


def usd(x: Any) -> str:
    """A short dollar label: ``$950``, ``$12.3k``, ``$4.5M``, ``$20.0B`` (``n/a`` for NaN)."""
    if _missing(x):
        return "n/a"
    return format_value(float(x), "usd")


def pct(x: Any, digits: int = 0) -> str:
    """A share as a percentage (``n/a`` for None or NaN)."""
    if _missing(x):
        return "n/a"
    return f"{float(x):.{digits}%}"


def _md_escape(text: str) -> str:
    """Escape every ``$`` not already escaped (a bare ``$`` would start maths in JupyterLab)."""
    return re.sub(r"(?<!\\)\$", r"\\$", text)


def _md_usd(x: Any) -> str:
    """A dollar label safe inside Markdown."""
    return _md_escape(usd(x))


def goal_headline(
    result: Any, target: float, multiple: float, base_start: str, base_end: str
) -> str:
    """The headline paragraph of the goal report (Markdown)."""
    a, m = result.absolute, result.multiple
    start, end = a.window
    window = f"{start:%b %Y} to {end:%b %Y}"
    lines = [
        f"- **{pct(a.probability)}** chance that GMV from {window} reaches "
        f"**{_md_usd(target)}** (Monte-Carlo error ±{pct(a.probability_se)}). The window's total "
        f"is {_md_usd(a.p50)} at the median, P10-P90 {_md_usd(a.p10)} to {_md_usd(a.p90)}.",
        f"- **{pct(m.probability)}** chance of reaching **{multiple:g}x** the "
        f"{pd.Timestamp(base_start):%b %Y}-{pd.Timestamp(base_end):%b %Y} total (a median "
        f"target of {_md_usd(m.target)}).",
    ]
    if result.required_growth is not None and result.growth_table is not None:
        trailing = float(result.growth_table["trailing_growth"].iloc[0])
        lines.append(
            f"- To land exactly on {_md_usd(target)}, GMV must grow "
            f"**{pct(result.required_growth, 1)} a month** from {result.last_actual:%b %Y}; "
            f"it grew {pct(trailing, 1)} a month over the last three months of the history."
        )
    lines.append(
        f"- History: **{result.history_kind}** to {result.last_actual:%b %Y}; forecast: "
        f"**{result.model_name}**, {len(result.paths):,} sample paths."
    )
    if result.history_kind == "reconstructed":
        lines.append(
            "- The history is **reconstructed** from published totals, rates and bounds, not "
            "observed month by month; its uncertainty is part of every number above."
        )
    return "\n".join(lines)


def goal_caveats(result: Any) -> str:
    """Plain caveats for the goal report (Markdown)."""
    items = [
        "Probabilities are shares of simulated paths under the model's assumptions; they measure "
        "the uncertainty the model knows about (history, trend, noise), not every way the model "
        "could be wrong. The Monte-Carlo error shown is sampling noise only.",
        "Interval bounds are not added up: window totals and their quantiles come from summing "
        "each sample path (summing monthly P90s would overstate the P90 of the total).",
    ]
    if result.history_kind == "reconstructed":
        last_anchor = pd.to_datetime(result.anchors["period_end"]).max()
        items += [
            "The monthly history is reconstructed: published annual and half-year totals, daily "
            "run rates and bounds are turned into a smooth monthly path (growth changing "
            "gradually). Months without a figure of their own are inferred from their "
            "neighbours, so the backtest on this smooth series flatters every model.",
            f"The last published figure ends {last_anchor:%b %Y}. Global 2023 months are "
            "constrained only weakly (by United States run rates as lower bounds); the 2023 "
            "part of the history largely continues the 2022 growth, which is why the window's "
            "total is so uncertain.",
            "Sources that disagree (2022: 4.4B Southeast Asia plus 0.9B elsewhere, 'less than "
            "5B', 5B global) are all kept; the history draws carry the disagreement.",
        ]
    items += [f"{note}" for note in result.notes]
    return "\n".join(f"- {_md_escape(item)}" for item in items)


def time_to_goal_sentence(ttg: Any, horizon_months: int) -> str:
    """When the trailing 12 months reach the goal: median, P10, P90 and P(never), in words."""

    def month(value: Any, fmt: str, missing: str) -> str:
        return missing if _missing(value) else f"{value:{fmt}}"

    return (
        f"Median month: **{month(ttg.p50, '%B %Y', 'not within the horizon')}**; "
        f"P10 {month(ttg.p10, '%b %Y', '-')}, "
        f"P90 {month(ttg.p90, '%b %Y', 'not within the horizon')}; "
        f"probability of never within the {horizon_months}-month horizon: "
        f"**{ttg.probability_never:.0%}**."
    )


def views_text(views: Any, table: pd.DataFrame) -> str:
    """Which view dominates the goal forecast, and why (Markdown).

    Args:
        views: :class:`shopcast.gmv.outside_view.Views`.
        table: :func:`shopcast.gmv.outside_view.window_table` of the goal window.
    """
    if views.inside is None:
        return _md_escape(
            "This is a young market: the forecast is the outside view alone (how comparable "
            "platforms grew from this annual GMV and age), so it dominates entirely. "
            f"Its goal-window range is {usd(table.loc['outside', 'p10'])} to "
            f"{usd(table.loc['outside', 'p90'])} (P10 to P90)."
        )
    inside, outside, combined = (table.loc[k] for k in ("inside", "outside", "combined"))
    narrower = "outside" if outside["p90_over_p10"] < inside["p90_over_p10"] else "inside"
    parts = [
        f"The combined forecast draws {pct(1 - views.weight)} of its paths from the inside "
        f"view and {pct(views.weight)} from the outside view: the split that gave the lowest "
        "CRPS when each platform of the reference class was forecast from the others "
        "(leave-one-platform-out).",
        f"{pct(views.truncated_share)} of the inside view's paths grew faster in some forecast "
        "year than the reference class makes plausible (above the 99.5% quantile of its "
        "growth for that path's annual GMV and age) and were replaced by plausible inside "
        "paths drawn at random; the outside view's own paths are held to the same bound.",
        f"Goal window, P10 to P90: inside {usd(inside['p10'])} to {usd(inside['p90'])} "
        f"({inside['p90_over_p10']:.1f}x), outside {usd(outside['p10'])} to "
        f"{usd(outside['p90'])} ({outside['p90_over_p10']:.1f}x), combined "
        f"{usd(combined['p10'])} to {usd(combined['p90'])} "
        f"({combined['p90_over_p10']:.1f}x).",
        f"By weight the inside view dominates the centre of the forecast; the {narrower} view "
        "is the narrower one"
        + (
            ", and it is the truncation and the outside share that pull in the inside view's "
            "explosive upper tail."
            if narrower == "outside"
            else "."
        ),
    ]
    return _md_escape(" ".join(parts))
