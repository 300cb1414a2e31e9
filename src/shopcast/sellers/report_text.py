"""Words of the seller reports (``seller_thresholds`` and ``threshold_vs_goal``), in Markdown.

Every number comes from the results passed in; every string from a data file or a parameter goes
through :func:`~shopcast.report_text.md_text` or :func:`~shopcast.report_text.md_code`, and dollar
signs through :func:`~shopcast.report_text.md_escape` (see :mod:`shopcast.report_text`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from shopcast.formatting import usd_short
from shopcast.report_text import md_code, md_escape, md_text, pct, usd


def _scale_words(answer: Any, as_of: str) -> str:
    """Where the answer's scale comes from: the platform's GMV over its sellers, or the proxy."""
    scale, population = answer.scale, answer.n_sellers
    if scale is None:
        return f"the fitted distribution itself, with {population:,.0f} sellers (proxy scale)"
    return (
        f"the platform's {scale.period} GMV of {usd(scale.gmv_usd)} over {scale.n_sellers:,.0f} "
        f"active sellers ({usd(scale.mean_usd)} a seller; figures published by {as_of})"
    )


def seller_headline(
    answer: Any,
    row: pd.Series,
    threshold: float,
    data_form: str,
    data_file: str,
    shape_population: str,
    as_of: str,
) -> str:
    """The seller report's headline paragraph: who stays at the threshold, and on what basis.

    Args:
        answer: a :class:`~shopcast.sellers.averaging.SellerAnswer`.
        row: the averaged sweep's row at ``threshold``.
        threshold: the threshold of interest (USD a year).
        data_form: the form of the size data (facts, brackets, microdata).
        data_file: the size data's file, as the parameter gives it.
        shape_population: the population whose facts give the shape.
        as_of: the vintage of the seller figures.
    """
    return md_escape(
        f"With a **{usd_short(threshold)}** threshold on prior annual sales, about "
        f"**{row['sellers_staying']:,.0f}** of {answer.n_sellers:,.0f} sellers stay "
        f"(P10-P90 {row['sellers_staying_p10']:,.0f}-{row['sellers_staying_p90']:,.0f}; "
        f"{row['share_sellers_staying']:.2%}), and they hold **{row['share_gmv_kept']:.0%}** of "
        f"GMV (P10-P90 {row['share_gmv_kept_p10']:.0%}-{row['share_gmv_kept_p90']:.0%}), before "
        f"any reallocation of the leavers' sales. Shape: every identified family fitted to "
        f"{data_form} ({md_code(data_file)}, population {md_text(shape_population)}), averaged; "
        f"scale: {_scale_words(answer, as_of)}. The interval covers the choice of family, each "
        "family's parameter uncertainty and, with the platform's scale, the uncertainty of its "
        "GMV and seller count."
    )


def scale_check_text(check: dict[str, Any]) -> str:
    """The seller model's implied total GMV against the platform's figure, and the verdict."""
    factor = max(check["ratio"], 1 / check["ratio"])
    verdict = (
        f"**They disagree by a factor of {factor:.1f}** (more than the stated tolerance of "
        f"{check['factor']:g}x): the seller model's scale is not the platform's."
        if check["disagrees"]
        else f"They agree within the stated tolerance of {check['factor']:g}x."
    )
    return md_escape(
        f"**Scale check.** The seller model implies a total GMV of "
        f"**{usd(check['implied_total_usd'])}** a year (mean x sellers); the platform's published "
        f"GMV is **{usd(check['platform_gmv_usd'])}**. {verdict}"
    )


def platform_check_lines(checks: pd.DataFrame) -> list[str]:
    """One paragraph per platform size fact: observed against the averaged answer's interval."""
    lines = []
    for c in checks.itertuples():
        verdict = (
            "fitted to it, so this is no test of the shape."
            if c.in_sample
            else "inside the interval."
            if c.inside
            else f"**outside the interval** (a factor of {c.predicted / c.observed:.1f}): the "
            "shape does not match the platform's."
        )
        lines.append(
            md_escape(
                f"**Check against the platform's own size fact** ({md_text(c.fact_id)}): "
                f"{c.observed:,.0f} sellers at or above {usd_short(c.level_usd)} published; the "
                f"model predicts {c.predicted:,.0f} (P10-P90 {c.predicted_p10:,.0f}-"
                f"{c.predicted_p90:,.0f}): {verdict}"
            )
        )
    return lines


def notes_lines(label: str, notes: Iterable[Any]) -> list[str]:
    """Notes (family fallbacks, fit warnings) as italic-labelled Markdown lines."""
    return [f"*{label}:* {md_text(note)}" for note in notes]


def weights_sentence(answer: Any) -> str:
    """How the families were weighted in the average."""
    return f"**Weights:** {md_text(answer.weight_rule)}."


def choice_sentence(fits: Any) -> str:
    """Which of several solutions the default family's fit chose, and why."""
    return f"**Solution chosen ({fits.default}):** {md_text(fits[fits.default].choice_reason_)}."


def tradeoff_bullets(
    table: pd.DataFrame,
    threshold: float,
    threshold_start: str,
    target: float,
    multiple: float,
    window: str,
    base_window: str,
    n_sellers: float,
    first_month_factor: float,
    region: str,
    coverage: str,
    region_shares: Sequence[float],
    goal_months: int,
    months_after_start: int,
) -> str:
    """The trade-off report's headline bullets: the goals with and without the threshold."""
    none = table.set_index("threshold").loc[0.0]
    row = table.set_index("threshold").loc[float(threshold)]
    share_p10, share_p50, share_p90 = pd.Series(region_shares).quantile([0.1, 0.5, 0.9])
    start = pd.Timestamp(threshold_start)
    region_words, coverage_words = region.replace("_", " "), coverage.replace("_", " ")
    return md_escape(f"""
- With **no threshold**, the chance that GMV from {window} reaches **{usd(target)}** is **{pct(none["probability_absolute"])}** (Monte-Carlo error ±{pct(none["probability_absolute_se"])}), and the chance of **{multiple:g}x** the {base_window} total is **{pct(none["probability_multiple"])}**.
- A **{usd_short(threshold)}** threshold from **{start:%B %Y}** keeps about **{row["sellers_staying"]:,.0f}** of {n_sellers:,.0f} sellers (P10-P90 {row["sellers_staying_p10"]:,.0f} to {row["sellers_staying_p90"]:,.0f}; {pct(row["share_sellers_staying"], 1)}). They hold {pct(row["share_gmv_kept"])} of GMV; with part of the leavers' sales moving to them, the simulation keeps **{pct(first_month_factor)}** of their region's GMV in the first month. The threshold applies to **{region_words}** sellers only: that region is about **{pct(share_p50)}** of {coverage_words} GMV when it starts (P10-P90 {pct(share_p10)}-{pct(share_p90)}, from the GMV figures the forecast used), and only that part of each path is scaled.
- With it, the chance of the absolute goal is **{pct(row["probability_absolute"])}** (**{row["change_absolute"] * 100:+.1f} points**, ±{row["change_absolute_se"] * 100:.1f}) and of the multiple goal **{pct(row["probability_multiple"])}** ({row["change_multiple"] * 100:+.1f} points, ±{row["change_multiple_se"] * 100:.1f}). The window's median total moves from {usd(none["window_total_p50"])} to {usd(row["window_total_p50"])}. (The ± of a change is paired: both are scored on the same paths, so it is much smaller than the error of each probability.)
- Only **{months_after_start} of the goal window's {goal_months} months** come after the threshold takes effect, so the window keeps {pct(row["gmv_factor_in_window"])} of its forecast GMV on average: the threshold's cost to this goal is bounded by its timing.
""")  # noqa: E501 - one bullet per line, as the reader sees them


#: The legend under the trade-off table.
TRADEOFF_LEGEND = (
    "*Their GMV share*: the sellers who stay hold this share of GMV today (static, before "
    "any reallocation). *GMV kept in window*: the simulated factor averaged over the goal "
    "window's forecast months (1 before the threshold takes effect). *Change vs none*: the "
    "change in the probability of the absolute goal against no threshold, in percentage "
    "points, ± its paired Monte-Carlo standard error. Window totals in USD."
)


def tradeoff_caveats(
    answer: Any,
    result: Any,
    params: dict[str, Any],
    fit_warnings: Iterable[Any] = (),
) -> str:
    """Caveats of the trade-off report (Markdown list).

    Args:
        answer: the seller answer (:class:`~shopcast.sellers.averaging.SellerAnswer`).
        result: the goal forecast (:class:`~shopcast.gmv.pipeline.GoalForecast`).
        params: the run's parameters ``shape_population``, ``platform``, ``seller_as_of``,
            ``seller_drift``, ``volatility``, ``entry_rate``, ``reallocation_rate``,
            ``review_months``, ``region``, ``coverage`` and ``threshold_start``.
        fit_warnings: warnings caught while the size families were fitted.
    """
    p = params
    scale = answer.scale
    sizes = f"**Seller sizes: shape from {p['shape_population']}, scale from " + (
        f"{p['platform']}'s {scale.period} GMV over its active sellers ({usd(scale.gmv_usd)} "
        f"over {scale.n_sellers:,.0f}), figures published by {p['seller_as_of']}**; the US "
        "seller figures were first published in April 2024, after this goal window, so the "
        "seller side uses a later vintage than the GMV side."
        if scale is not None
        else "the fitted distribution itself (proxy scale)**."
    )
    sizes += (
        " The P10-P90 of sellers staying covers every identified size family (weights: "
        f"{answer.weight_rule}) and their bootstrap."
    )
    region, coverage = p["region"].replace("_", " "), p["coverage"].replace("_", " ")
    reviews = ", ".join(map(str, p["review_months"]))
    caveats = [
        sizes,
        f"**The GMV-kept factor is simulated under assumed dynamics** (drift "
        f"{p['seller_drift']:g}, volatility {p['volatility']:g} a month, entry "
        f"{pct(p['entry_rate'])} a month, {pct(p['reallocation_rate'])} of leavers' GMV moving "
        f"to the sellers who stay, reviews in simulated months {reviews}). These are "
        "scenarios, not estimates; the reallocation rate matters most. The simulated market is "
        "flat in expectation while the forecast grows fast: the factor is a ratio to no "
        "threshold, applied as if a threshold removed the same share of GMV however fast the "
        "platform grows.",
        f"**The factor applies to {region} only**: its share of {coverage} GMV is reconstructed "
        f"for {pd.Timestamp(p['threshold_start']):%b %Y} from the GMV figures the forecast used "
        "(one draw per path) and held constant afterwards, although the region's share moves "
        "over time. The region and the whole are reconstructed separately, so the share's "
        "spread adds both uncertainties: read it as wide.",
        f"**History is {result.history_kind}**"
        + (
            " from published totals, rates and bounds, not observed month by month; its "
            "uncertainty is part of every probability."
            if result.history_kind == "reconstructed"
            else "."
        ),
        "**Monte-Carlo error.** The ± errors are sampling noise of the paths (clustered by "
        "history draw) only, not model error. A probability's own error is large; a change "
        "between thresholds is scored on the same paths and its paired error is much smaller.",
        "**Sellers staying is static** (today's sizes against the threshold); the simulated "
        "count changes later as sellers grow, shrink, enter and are reviewed.",
        *notes_lines("Size family note", answer.notes),
        *notes_lines("Size fit note", (w.message for w in fit_warnings)),
        *(md_text(n) for n in result.notes),
    ]
    return md_escape("\n".join(f"- {c}" for c in caveats))
