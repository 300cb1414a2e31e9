"""Charts for seller sizes and entry thresholds. Every function returns a matplotlib Figure."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from shopcast.charts.data import ChartData
from shopcast.charts.theme import ABSOLUTE_COLOR, INTEREST_COLOR, themed
from shopcast.formatting import usd_short
from shopcast.sellers.model import SizeModel

_SELLERS, _GMV = ABSOLUTE_COLOR, INTEREST_COLOR
_usd_axis = FuncFormatter(lambda x, _pos: usd_short(x))


def _interest_row(sweep: pd.DataFrame, threshold: float | None) -> pd.Series | None:
    if threshold is None:
        return None
    hit = sweep[np.isclose(sweep["threshold"], threshold)]
    return hit.iloc[0] if len(hit) else None


@themed
def plot_threshold_survival(
    sweep: pd.DataFrame, threshold_of_interest: float | None = None
) -> Figure:
    """Share of sellers staying and share of GMV kept against the threshold (log axis, P10-P90).

    Args:
        sweep: output of :func:`threshold_sweep` (a zero threshold is left
            off the log axis).
        threshold_of_interest: marked with a vertical line and named in the title.
    """
    s = sweep[sweep["threshold"] > 0]
    fig = Figure(figsize=(8, 4.8))
    ax = fig.add_subplot()
    data = ChartData("threshold_survival")
    for col, colour, name in (
        ("share_sellers_staying", _SELLERS, "Sellers staying"),
        ("share_gmv_kept", _GMV, "GMV kept"),
    ):
        band = s[f"{col}_p10"].notna().any()
        data.add(
            name,
            s["threshold"],
            s[col],
            y_low=s[f"{col}_p10"] if band else None,
            y_high=s[f"{col}_p90"] if band else None,
        )
        ax.plot(s["threshold"], s[col], marker="o", color=colour, label=name)
        if s[f"{col}_p10"].notna().any():
            ax.fill_between(
                s["threshold"],
                s[f"{col}_p10"],
                s[f"{col}_p90"],
                color=colour,
                alpha=0.2,
                label=f"{name}: P10-P90",
            )
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(_usd_axis)
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Entry threshold on prior annual sales (log scale)")
    ax.set_ylabel("Share of today's sellers / GMV")
    row = _interest_row(sweep, threshold_of_interest)
    if row is not None:
        ax.axvline(row["threshold"], color="grey", linestyle="--", linewidth=1)
        data.add("threshold of interest", row["threshold"])
        title = (
            f"A {usd_short(row['threshold'])} threshold keeps {row['share_sellers_staying']:.1%} "
            f"of sellers but {row['share_gmv_kept']:.0%} of GMV"
        )
    else:
        title = "Raising the threshold removes sellers much faster than GMV"
    ax.set_title(title)
    ax.legend(loc="lower left", frameon=False)
    ax.grid(alpha=0.3)
    fig.text(
        0.01,
        0.01,
        "Size distribution fitted to Amazon figures (proxy for TikTok Shop).",
        fontsize=8,
        color="grey",
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return data.attach(fig)


@themed
def plot_fit_diagnostics(models: SizeModel | Mapping[str, SizeModel]) -> Figure:
    """Fitted against published values, one row per point: the ratio fitted / observed.

    Args:
        models: one fitted model or several (e.g. ``{"lognormal": m1, ...}``) to compare.
    """
    if isinstance(models, SizeModel):
        models = {models.family: models}
    first = next(iter(models.values()))
    table = first.fit_table_
    table = table[table["fitted"].notna()]
    labels = list(table["label"])
    fig = Figure(figsize=(9, 0.45 * len(labels) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(labels))
    offsets = np.linspace(-0.2, 0.2, len(models)) if len(models) > 1 else [0.0]
    data = ChartData("fit_diagnostics")
    for off, (name, m) in zip(offsets, models.items(), strict=True):
        t = m.fit_table_.set_index("point").loc[table["point"]]
        ratio = (t["fitted"] / t["observed"]).to_numpy(dtype=float)
        used = t["used"].to_numpy(dtype=bool)
        marker = np.where(used, "o", "s")
        data.add(name, labels, ratio, label=np.where(used, "", "held out of the fit"))
        for yi, r, mk in zip(y + off, ratio, marker, strict=True):
            ax.scatter(r, yi, marker=mk, color=f"C{list(models).index(name)}", zorder=3)
        ax.scatter([], [], marker="o", color=f"C{list(models).index(name)}", label=name)
    if (~table["used"]).any():
        ax.scatter([], [], marker="s", color="grey", label="held out of the fit")
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ratios = [
        (m.fit_table_.set_index("point").loc[table["point"], "fitted"] / table["observed"].values)
        for m in models.values()
    ]
    lo = min(0.5, float(np.nanmin(np.concatenate(ratios))) * 0.9)
    hi = max(2.0, float(np.nanmax(np.concatenate(ratios))) * 1.1)
    ax.set_xlim(lo, hi)
    ticks = [t for t in (0.25, 0.5, 0.67, 1.0, 1.5, 2.0, 4.0) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda *_: ""))
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlabel("Fitted / published (1x = exact)")
    ax.set_title("Fitted vs published: how far each distribution misses each figure")
    ax.legend(loc="lower right", frameon=False, fontsize=8)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return data.attach(fig)


@themed
def plot_cohort_paths(
    simulation: pd.DataFrame, threshold_of_interest: float | None = None
) -> Figure:
    """Simulated monthly platform GMV and active sellers per threshold.

    Args:
        simulation: output of :func:`shopcast.sellers.thresholds.simulate_cohorts`.
        threshold_of_interest: drawn thicker and named in the title.
    """
    fig = Figure(figsize=(11, 4.5))
    ax_g, ax_s = fig.subplots(1, 2)
    thresholds = sorted(simulation["threshold"].unique())
    cmap = mpl.colormaps["viridis"]
    data = ChartData("cohort_paths")
    for i, thr in enumerate(thresholds):
        d = simulation[simulation["threshold"] == thr]
        bold = threshold_of_interest is not None and np.isclose(thr, threshold_of_interest)
        kw = {
            "color": "black" if bold else cmap(i / max(len(thresholds) - 1, 1)),
            "linewidth": 2.5 if bold else 1.2,
            "label": "no threshold" if thr == 0 else usd_short(thr),
        }
        ax_g.plot(d["month"], d["platform_gmv"], **kw)
        ax_s.plot(d["month"], d["sellers_end"], **kw)
        gmv_panel, sellers_panel = "Platform GMV per month", "Active sellers"
        data.add(kw["label"], d["month"], d["platform_gmv"], panel=gmv_panel)
        data.add(kw["label"], d["month"], d["sellers_end"], panel=sellers_panel)
    for r in sorted(simulation.loc[simulation["review"], "month"].unique()):
        data.add("threshold review", r)
        for ax in (ax_g, ax_s):
            ax.axvline(r, color="grey", linestyle=":", linewidth=1)
    ax_g.yaxis.set_major_formatter(_usd_axis)
    ax_g.set_ylabel("Platform GMV per month")
    ax_s.set_yscale("log")
    ax_s.yaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax_s.set_ylabel("Active sellers (log scale)")
    for ax in (ax_g, ax_s):
        ax.set_xlabel("Month (dotted: threshold reviews)")
        ax.grid(alpha=0.3)
    ax_s.legend(
        title="Threshold", fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5)
    )
    title = "Simulated: thresholds cut sellers by orders of magnitude, GMV far less"
    if threshold_of_interest is not None:
        last = simulation["month"].max()
        end = simulation[simulation["month"] == last].set_index("threshold")["platform_gmv"]
        if threshold_of_interest in end.index and 0.0 in end.index:
            kept = end[threshold_of_interest] / end[0.0]
            title = (
                f"Simulated: at {usd_short(threshold_of_interest)} the platform keeps "
                f"{kept:.0%} of its no-threshold GMV after {last} months"
            )
    fig.suptitle(title)
    fig.tight_layout()
    return data.attach(fig)
