"""Tables for the reports, formatted here so that notebooks stay thin (no formatting chains).

Each function takes computed results and returns a pandas ``Styler`` built by
:func:`shopcast.tables.styled` (every string escaped), ready to ``display``; every number comes
from the results passed in.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from shopcast.formatting import usd
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
    return result.gap.style.format_index("{:%b %Y}").format(
        dict.fromkeys(money, _usd) | {"prob_above_required": "{:.0%}"}
    )
