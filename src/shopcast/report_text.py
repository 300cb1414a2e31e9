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


def postmortem_headline(result: Any, headline: dict[str, tuple], call_as_of: str) -> str:
    """The post-mortem's headline (Markdown): the call, what happened, calibration.

    Args:
        result: a :class:`shopcast.gmv.postmortem.PostMortem`.
        headline: its :func:`shopcast.gmv.postmortem_summary.headline_values`.
        call_as_of: the vintage of the call.
    """
    g = result.goals
    value = {name: item[0] for name, item in headline.items()}
    lines = []
    call = next(
        (v for v in result.vintages if call_as_of and v.as_of == pd.Timestamp(call_as_of)), None
    )
    if call is not None and call.forecast is not None:
        fc = call.forecast
        lines.append(
            f"- **The call.** As of {call.as_of:%d %b %Y} (history to {fc.last_actual:%b %Y}, "
            f"model {fc.model_name}) the workbench put GMV from {g.start[:7]} to {g.end[:7]} at "
            f"a median of **{_md_usd(fc.absolute.p50)}** (P10-P90 {_md_usd(fc.absolute.p10)} to "
            f"{_md_usd(fc.absolute.p90)}) and gave the {_md_usd(g.target_usd)} goal "
            f"**{pct(fc.absolute.probability)}** and {g.multiple:g}x {g.base_start[:4]} "
            f"**{pct(fc.multiple.probability)}**."
        )
    elif call is not None:
        lines.append(f"- **The call** of {call.as_of:%d %b %Y} could not be made: {call.error}")
    settled = result.settled.loc[result.settled["goal"] == "absolute"]
    if settled.empty:
        lines.append(
            "- **What happened to the goal.** No figure published since settles the goal "
            "window's total, so the goal probability cannot be scored."
        )
    else:
        words = "; ".join(
            f"{r.outcome_id} ({r.reliability}): {_md_usd(r.value_usd)}, goal "
            f"{'met' if r.met else 'missed'}"
            for r in settled.itertuples()
        )
        well = settled.loc[settled["reliability"] == "reported"]
        verdict = (
            "at least one of them is a reported figure"
            if len(well)
            else "**none of them is a reported figure** (they are projections or doubtful), so "
            "the goal's outcome is not well sourced"
        )
        lines.append(
            f"- **What happened to the goal.** Figures on the goal window: {words}; {verdict}."
        )
    if call is not None and call.forecast is not None:
        mine = result.scores.loc[
            (result.scores["as_of"] == call.as_of) & (result.scores["reliability"] == "reported")
        ]
        for r in mine.itertuples():
            months = (r.period_end.to_period("M") - r.period_start.to_period("M")).n + 1
            if months < 12:
                continue
            if r.role == "estimate":
                lines.append(
                    f"- {r.coverage.replace('_', ' ')} {r.period_start:%Y}: "
                    f"**{_md_usd(r.value_usd)}** ({r.outcome_id}) fell at the call's "
                    f"{pct(r.pit)} quantile (80% band {_md_usd(r.p10)} to {_md_usd(r.p90)}: "
                    f"{'inside' if r.in_80 else 'outside'})."
                )
            else:
                lines.append(
                    f"- {r.period_start:%Y}: {md_escape(str(r.event))} ({r.outcome_id}, "
                    f"reported): the call gave it **{pct(r.event_probability)}**."
                )
    n = value.get("n_scored_estimates") or 0
    if n:
        lines.append(
            f"- **Calibration across {value['vintages_forecast']} vintages.** Of {n} scores of "
            f"reported estimates, {pct(value['coverage_80'])} fell inside the 80% interval and "
            f"{pct(value['coverage_50'])} inside the 50% interval; the mean PIT is "
            f"{value['mean_pit']:.2f} (0.5 when neither too high nor too low)."
        )
    else:
        lines.append("- **Calibration.** No reported estimate was published after a vintage.")
    if value.get("brier_bound_events") is not None:
        lines.append(
            f'- Reported bounds ("more than" figures, and parts of the coverage), as events: '
            f"mean Brier score {value['brier_bound_events']:.3f} (0 is perfect; 0.25 is a "
            "coin flip's)."
        )
    return "\n".join(lines)


def postmortem_caveats(result: Any) -> str:
    """Plain caveats for the post-mortem (Markdown)."""
    items = [
        "Every outcome is a third-party estimate (consultancies, trackers, press); TikTok does "
        "not publish GMV. Figures are labelled reported, doubtful (paraphrased, unknown "
        "provenance or conflicting with better figures) or projection (an expectation published "
        "before the period ended); the headline uses reported figures only.",
        "The reliability labels and the outcome figures were collected after the outcomes were "
        "known; the forecasting settings and the reconstruction were fixed before (see the "
        "README), and no setting was tuned on these scores.",
        "The same outcome is scored at every vintage that had not yet seen it, so scores across "
        "vintages are strongly dependent; with a handful of distinct outcomes the calibration "
        "plot describes these forecasts rather than testing the method.",
        "A vintage sees a figure from the day it was published. Where only the month or year of "
        "publication is known the figure is refused for a vintage inside that period, or carries "
        "an explicit conservative (latest possible) day with a note in the data.",
        "Each vintage's history ends at the last month its figures cover, regional and in-month "
        "figures included; months after the last figure on the coverage itself are inferred by "
        "the reconstruction's smoothness prior, which widens the forecast.",
    ]
    for v in result.vintages:
        if v.same_data_as is not None and v.forecast is not None:
            items.append(
                f"As of {v.as_of:%Y-%m-%d} the data known were the same as on "
                f"{v.same_data_as:%Y-%m-%d}, so the two vintages share one forecast (computed "
                "once) and score alike."
            )
    failed = [v for v in result.vintages if v.forecast is None]
    for v in failed:
        items.append(f"No forecast as of {v.as_of:%Y-%m-%d}: {v.error}")
    return "\n".join(f"- {md_escape(item)}" for item in items)


def postmortem_archive_note(result: Any, path: Any) -> str:
    """Markdown: where a post-mortem run's archived rows are and how to read them back.

    Args:
        result: a :class:`shopcast.gmv.postmortem.PostMortem`.
        path: the archive file :func:`shopcast.gmv.postmortem.archive_postmortem` wrote.
    """
    return (
        f"This run's forecasts ({result.n_forecast} vintages: quantiles 1% to 99% of every "
        "month, of the goal window and of every calendar year, and both goal probabilities) "
        f"were appended to the forecast archive as {md_code(path)} (one file per run, never "
        "rewritten; its last line holds its row count and SHA-256). Read every archived "
        "forecast back with `shopcast.gmv.archive.read_archive()`, which refuses a corrupt or "
        "cut-short file."
    )


def vintage_sentence(result: Any) -> str:
    """One Markdown line saying what the goal forecast knew: its ``as_of`` and history."""
    if result.as_of:
        when = f"**Data as of {pd.Timestamp(result.as_of):%d %B %Y}**"
    else:
        when = "**Data: every figure in the file** (no as_of vintage)"
    if result.anchors is not None:
        known = f"the {len(result.anchors)} figures published by then"
    else:
        known = "the series as known then"
    return (
        f"- {when}: {known}; the history runs to {result.last_actual:%b %Y}. Figures published "
        "later are outcomes, kept for the post-mortem (forecast_postmortem)."
    )


def _month_runs(months: pd.DatetimeIndex) -> str:
    """``Jan 2023-Jul 2023, Sep 2023`` for a set of months (consecutive ones joined)."""
    runs: list[list[pd.Timestamp]] = []
    for month in sorted(months):
        if runs and month == runs[-1][-1] + pd.offsets.MonthBegin(1):
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(
        f"{r[0]:%b %Y}" if len(r) == 1 else f"{r[0]:%b %Y} to {r[-1]:%b %Y}" for r in runs
    )


def support_sentence(support: pd.DataFrame | None) -> str:
    """What the reconstructed history rests on, month by month, in one Markdown paragraph.

    Args:
        support: :attr:`shopcast.gmv.pipeline.GoalForecast.support` (None: an observed series).
    """
    if support is None or support.empty:
        return ""
    wording = {
        "estimate": "pinned down by estimates",
        "partial": "covered only by bounds or by estimates of a part (a floor or a ceiling, "
        "not a value)",
        "interpolated": "covered by no figure, interpolated between months that are",
        "extrapolated": "covered by no figure and past the last month pinned down: "
        "extrapolated by the reconstruction's smoothness, with widening spread",
    }
    parts = []
    for evidence, text in wording.items():
        months = pd.DatetimeIndex(support.index[support["evidence"] == evidence])
        if len(months):
            parts.append(f"{_month_runs(months)} ({len(months)}) {text}")
    last = support.index[-1]
    return md_escape(
        f"What the {len(support)} months of history rest on: " + "; ".join(parts) + ". "
        f"The spread of the last history month ({last:%b %Y}) is "
        f"{support['p90_over_p10'].iloc[-1]:.1f}x from P10 to P90."
    )


def views_text(views: Any, table: pd.DataFrame) -> str:
    """Which view dominates the goal forecast, and why (Markdown).

    Args:
        views: :class:`shopcast.gmv.outside_view.Views`.
        table: :func:`shopcast.gmv.outside_view.window_table` of the goal window.
    """
    if views.inside is None:
        return md_escape(
            "This is a young market: the forecast is the outside view alone (how comparable "
            "platforms grew from this annual GMV and age), so it dominates entirely. "
            f"Its goal-window range is {usd(table.loc['outside', 'p10'])} to "
            f"{usd(table.loc['outside', 'p90'])} (P10 to P90)."
        )
    inside, outside, combined = (table.loc[k] for k in ("inside", "outside", "combined"))
    narrower = "outside" if outside["p90_over_p10"] < inside["p90_over_p10"] else "inside"
    rule = (
        "the rule that gave the lowest CRPS when each platform of the reference class was "
        "forecast from the others (leave-one-platform-out)"
    )
    if views.family == "prior":
        first = (
            f"The combined forecast takes the outside view as a prior of weight "
            f"{views.weight:g} on the inside view: each inside path is drawn in proportion to "
            "how likely the reference class finds its first forecast year's growth (that "
            f"density to the power {views.weight:g}), {rule}. About "
            f"{views.effective_paths:,.0f} effective inside paths of {len(views.inside):,} "
            "carry it."
        )
        last = (
            f"Both views shape every path: the inside view supplies the paths, the outside "
            f"view how often each is drawn; the {narrower} view is the narrower one of the two."
        )
    else:
        first = (
            f"The combined forecast draws {pct(1 - views.weight)} of its paths from the inside "
            f"view and {pct(views.weight)} from the outside view: {rule}."
        )
        last = (
            f"By weight the inside view dominates the centre of the forecast; the {narrower} "
            "view is the narrower one"
            + (
                ", and it is the truncation and the outside share that pull in the inside "
                "view's explosive upper tail."
                if narrower == "outside"
                else "."
            )
        )
    parts = [
        first,
        f"{pct(views.truncated_share)} of the inside view's paths grew faster in some forecast "
        "year than the reference class makes plausible (above the 99.5% quantile of its "
        "growth for that path's annual GMV and age) and were capped from that year on (the "
        "year's growth set to the bound, later months moved with it; earlier years kept as "
        "the model made them); the outside view's own paths are held to the same bound.",
        f"Goal window, P10 to P90: inside {usd(inside['p10'])} to {usd(inside['p90'])} "
        f"({inside['p90_over_p10']:.1f}x), outside {usd(outside['p10'])} to "
        f"{usd(outside['p90'])} ({outside['p90_over_p10']:.1f}x), combined "
        f"{usd(combined['p10'])} to {usd(combined['p90'])} "
        f"({combined['p90_over_p10']:.1f}x).",
        last,
    ]
    return md_escape(" ".join(parts))
