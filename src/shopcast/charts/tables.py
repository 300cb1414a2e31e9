"""Tables for the reports, formatted here so that notebooks stay thin (no formatting chains).

Each function takes computed results and returns a pandas ``Styler`` built by
:func:`shopcast.tables.styled` (every string escaped), ready to ``display``; every number comes
from the results passed in.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from shopcast.charts.tradeoff import threshold_label
from shopcast.formatting import usd, usd_short
from shopcast.tables import styled

#: Columns of a goal summary that are dollar amounts.
_USD_COLUMNS = ("target", "p10", "p50", "p90", "mean_total", "expected_shortfall",
                "conditional_shortfall")  # fmt: skip


def _pct(x: Any) -> str:
    return "n/a" if pd.isna(x) else f"{float(x):.0%}"


def _usd(x: Any) -> str:
    return "n/a" if pd.isna(x) else usd(x)


def goal_summary_table(result: Any) -> Styler:
    """Both goals side by side: probability, its error, window-total quantiles, shortfalls.

    Args:
        result: a :class:`shopcast.gmv.pipeline.GoalForecast`.
    """
    frame = pd.DataFrame(
        {"absolute goal": result.absolute.summary(), "multiple goal": result.multiple.summary()}
    ).T.drop(columns=["n_samples"])
    formats = dict.fromkeys(_USD_COLUMNS, _usd) | {"probability": _pct, "probability_se": _pct}
    return styled(frame, formats)


def growth_table(result: Any) -> Styler:
    """Required against trailing monthly growth (signed percentages)."""
    return styled(
        result.growth_table, "{:+.1%}", caption="Monthly growth: required against trailing"
    )


def gap_table(result: Any) -> Styler:
    """Month by month: the forecast's P10/P50/P90 against the required path, and the gap."""
    money = ["p10", "p50", "p90", "required", "gap", "cumulative_gap"]
    return styled(
        result.gap,
        dict.fromkeys(money, _usd) | {"prob_above_required": "{:.0%}"},
        index_format="{:%b %Y}",
    )


def views_window_table(window: pd.DataFrame, start: str, end: str, target: float) -> Styler:
    """The goal window's total under the inside, outside and combined views.

    Args:
        window: from :func:`shopcast.gmv.outside_view.window_table`.
        start: the goal window's first month (ISO date).
        end: the goal window's last month (ISO date).
        target: the absolute goal (USD).
    """
    formats = dict.fromkeys(("p10", "p50", "p90"), usd) | {
        "p90_over_p10": "{:.1f}x",
        "probability": _pct,
    }
    caption = (
        f"Goal-window total ({start[:7]} to {end[:7]}) under each view; probability = "
        f"P(total >= {usd(target)})"
    )
    return styled(window, formats, caption=caption)


def views_growth_table(views: Any) -> Styler:
    """The first forecast year's growth multiple under each view (P10, P50, P90)."""
    caption = (
        "The first forecast year: next-12-month GMV as a multiple of the last 12 months "
        "(P10, P50, P90)"
    )
    return styled(views.growth, "{:.2f}x", caption=caption)


# ----------------------------------------------------------------------------- sellers

#: Seller counts in the seller tables.
_COUNT_COLUMNS = ("sellers_staying", "sellers_staying_p10", "sellers_staying_p90")


def per_family_table(per_family: pd.DataFrame, threshold: float) -> Styler:
    """Each size family's answer at ``threshold``: weight, sellers staying, GMV share, scale."""
    at = per_family[per_family["threshold"] == float(threshold)].drop(columns="threshold")
    formats = dict.fromkeys(_COUNT_COLUMNS, "{:,.0f}") | {
        "weight": "{:.2f}",
        "share_sellers_staying": "{:.2%}",
        "share_gmv_kept": "{:.0%}",
        "mean_usd": "{:,.0f}",
        "implied_total_usd": usd,
    }
    return styled(at, formats, na_rep="-", hide_index=True)


def fit_table(model: Any) -> Styler:
    """A fitted size model's points: observed, fitted, residual and status of each."""
    table = model.fit_table_
    if "status" in table:
        table = table[["point", "label", "observed", "fitted", "residual", "status"]]
    return styled(table)


def seller_sweep_table(sweep: pd.DataFrame, factor: pd.DataFrame) -> Styler:
    """The averaged threshold sweep, with the simulated GMV factor of the last month."""
    table = sweep.assign(simulated_gmv_factor_last_month=sweep["threshold"].map(factor.iloc[-1]))
    table["threshold"] = table["threshold"].map(usd_short)
    shares = [c for c in table.columns if c.startswith(("share_", "simulated_"))]
    formats = dict.fromkeys(_COUNT_COLUMNS, "{:,.0f}") | dict.fromkeys(shares, "{:.1%}")
    return styled(table, formats, na_rep="-", hide_index=True)


def tradeoff_table(table: pd.DataFrame, target: float, multiple: float) -> Styler:
    """Each threshold's sellers, GMV kept, goal probabilities and window totals.

    Args:
        table: from :func:`shopcast.sellers.tradeoff.threshold_tradeoff`.
        target: the absolute goal (USD), for the column names.
        multiple: the multiple goal, for the column names.
    """
    absolute, multiple_name = f"P(>= {usd(target)})", f"P(>= {multiple:g}x)"
    change = [
        f"{c * 100:+.1f} ± {se * 100:.1f}"
        for c, se in zip(table["change_absolute"], table["change_absolute_se"], strict=True)
    ]
    names = {
        "threshold": "threshold",
        "sellers_staying": "sellers staying",
        "share_sellers_staying": "share of sellers",
        "share_gmv_kept": "their GMV share",
        "gmv_factor_in_window": "GMV kept in window (sim.)",
        "probability_absolute": absolute,
        "probability_absolute_se": "± s.e.",
        "change": "change vs none (points)",
        "probability_multiple": multiple_name,
        "window_total_p10": "window total P10",
        "window_total_p50": "P50",
        "window_total_p90": "P90",
    }
    shown = table.assign(threshold=table["threshold"].map(threshold_label), change=change)
    shown = shown[list(names)].rename(columns=names)
    formats = {
        "sellers staying": "{:,.0f}",
        "share of sellers": "{:.1%}",
        "their GMV share": "{:.0%}",
        "GMV kept in window (sim.)": "{:.1%}",
        absolute: "{:.1%}",
        "± s.e.": "{:.1%}",
        multiple_name: "{:.1%}",
        "window total P10": usd,
        "P50": usd,
        "P90": usd,
    }
    return styled(shown, formats, hide_index=True)
