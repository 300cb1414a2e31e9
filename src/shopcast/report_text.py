"""Words for reports: headline sentences and caveats built from computed results.

Every number in these sentences comes from the result objects passed in; nothing is typed in.
Every string that comes from a data file, a parameter or a file name goes into Markdown through
:func:`md_text` or :func:`md_code`, so that it reads as text: no tag, link, maths or heading.
"""

from __future__ import annotations

import re
import string
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


#: What a dollar sign becomes in Markdown: JupyterLab reads text between two ``$`` as maths, and
#: a backslash is not enough there: its Markdown parser turns ``\$`` into ``$`` and MathJax, which
#: then typesets the whole rendered output, pairs those. A ``$`` alone in its own element is never
#: paired (MathJax does not look for maths across element boundaries); nbconvert shows ``$``.
DOLLAR = "<span>\\$</span>"
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_DOLLAR = re.compile(r"(?:<span>)?\\?\$(?:</span>)?")


def md_escape(text: str) -> str:
    """Markdown with every dollar sign shown literally by JupyterLab and by nbconvert alike.

    Every ``$`` (escaped or not) outside code spans becomes :data:`DOLLAR`; text that went
    through this function once is unchanged by a second pass. Code spans are left alone: both
    renderers already show their ``$`` literally.

    Args:
        text: Markdown, e.g. ``"between $5.0B and $73.5B"``.

    Returns:
        The same Markdown, safe to pass to ``IPython.display.Markdown``.
    """
    out, pos = [], 0
    for code in _CODE_SPAN.finditer(text):
        out.append(_DOLLAR.sub(lambda _m: DOLLAR, text[pos : code.start()]))
        out.append(code.group(0))
        pos = code.end()
    out.append(_DOLLAR.sub(lambda _m: DOLLAR, text[pos:]))
    return "".join(out)


_MD_PUNCTUATION = re.compile(f"([{re.escape(string.punctuation.replace('$', ''))}])")


def md_text(value: Any) -> str:
    """Any string as literal Markdown text.

    Every ASCII punctuation character is backslash-escaped (so ``<img ...>`` shows as text,
    ``[x](javascript:...)`` is no link, ``$`` starts no maths) and line breaks are folded into
    spaces (no new block can start). A ``$`` becomes :data:`DOLLAR` (see :func:`md_escape`).
    """
    return _MD_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split())).replace("$", DOLLAR)


def md_code(value: Any) -> str:
    """Any string as a Markdown code span (a file name, say), shown as text.

    The fence is longer than any run of backticks inside, so the span cannot be closed early.
    """
    text = " ".join(str(value).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _md_usd(x: Any) -> str:
    """A dollar label safe inside Markdown."""
    return md_escape(usd(x))


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
    return "\n".join(f"- {md_escape(item)}" for item in items)


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
