"""Seller charts: each returns a Figure that draws what it says, and renders to PNG.

The size models are the fast families (lognormal, Pareto) fitted to the committed facts; the
lognormal-Pareto fit takes seconds and adds nothing to what the charts are checked for.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display in tests

import numpy as np
import pytest
from conftest import png_bytes
from matplotlib.figure import Figure

from shopcast.charts.sellers import (
    plot_cohort_paths,
    plot_fit_diagnostics,
    plot_threshold_survival,
)
from shopcast.config import DATA_DIR
from shopcast.sellers.fitting import fit_size_model
from shopcast.sellers.thresholds import simulate_cohorts, threshold_sweep

THRESHOLDS = [0.0, 1e4, 1e5, 1e6, 1e7]


@pytest.fixture(scope="module")
def models():
    facts = DATA_DIR / "seller_size_facts.csv"
    return {
        family: fit_size_model(facts, "facts", family, n_sellers=500_000)
        for family in ("lognormal", "pareto")
    }


@pytest.fixture(scope="module")
def sweep(models):
    return threshold_sweep(models["lognormal"], THRESHOLDS, n_sellers=500_000, n_boot=20, seed=0)


@pytest.fixture(scope="module")
def simulation(models):
    return simulate_cohorts(
        models["lognormal"],
        n_sellers=5_000,
        months=8,
        thresholds=[0.0, 1e5, 1e6],
        review_months=[1, 5],
        seed=0,
    )


def test_threshold_survival_with_a_threshold_of_interest(sweep):
    fig = plot_threshold_survival(sweep, threshold_of_interest=1e6)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    row = sweep[sweep["threshold"] == 1e6].iloc[0]
    assert ax.get_title() == (
        f"A $1M threshold keeps {row['share_sellers_staying']:.1%} of sellers "
        f"but {row['share_gmv_kept']:.0%} of GMV"
    )
    assert ax.get_xscale() == "log"
    # two curves without the zero threshold (not on a log axis), plus the marker line
    sellers = next(line for line in ax.lines if line.get_label() == "Sellers staying")
    np.testing.assert_allclose(sellers.get_xdata(), THRESHOLDS[1:])
    np.testing.assert_allclose(sellers.get_ydata(), sweep["share_sellers_staying"].iloc[1:])
    assert any(np.allclose(line.get_xdata(), 1e6) for line in ax.lines[2:])
    assert len(ax.collections) == 2  # the two P10-P90 bands
    png_bytes(fig)


def test_threshold_survival_without_a_threshold_of_interest(sweep):
    fig = plot_threshold_survival(sweep)
    ax = fig.axes[0]
    assert ax.get_title() == "Raising the threshold removes sellers much faster than GMV"
    assert len(ax.lines) == 2
    png_bytes(fig)


def test_fit_diagnostics_compares_families(models):
    fig = plot_fit_diagnostics(models)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title().startswith("Fitted vs published")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"lognormal", "pareto"} <= set(legend)
    # one marker per family and fitted point
    table = models["lognormal"].fit_table_
    n_points = int(table["fitted"].notna().sum())
    markers = [c for c in ax.collections if len(c.get_offsets())]
    assert len(markers) == 2 * n_points
    # each marker sits at fitted / observed of its point
    lognormal = table[table["fitted"].notna()]
    ratios = (lognormal["fitted"] / lognormal["observed"]).to_numpy(dtype=float)
    xs = np.array([c.get_offsets()[0][0] for c in markers[:n_points]])
    np.testing.assert_allclose(xs, ratios)
    png_bytes(fig)


def test_fit_diagnostics_of_one_model(models):
    fig = plot_fit_diagnostics(models["pareto"])
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "pareto" in labels
    png_bytes(fig)


def test_cohort_paths_two_panels(simulation):
    fig = plot_cohort_paths(simulation, threshold_of_interest=1e6)
    assert len(fig.axes) == 2
    ax_gmv, ax_sellers = fig.axes
    title = fig._suptitle.get_text()
    assert title.startswith("Simulated: at $1M the platform keeps ")
    assert title.endswith("after 8 months")
    # one line per threshold in each panel, plus a dotted line per review month
    assert len(ax_gmv.get_lines()) == 3 + 2
    assert len(ax_sellers.get_lines()) == 3 + 2
    assert ax_sellers.get_yscale() == "log"
    bold = next(line for line in ax_gmv.get_lines() if line.get_label() == "$1M")
    assert bold.get_linewidth() == 2.5
    last = simulation[simulation["month"] == 8].set_index("threshold")["platform_gmv"]
    kept = last[1e6] / last[0.0]
    assert f"keeps {kept:.0%} of its no-threshold GMV" in title
    png_bytes(fig)


def test_cohort_paths_without_a_threshold_of_interest(simulation):
    fig = plot_cohort_paths(simulation)
    assert fig._suptitle.get_text().startswith("Simulated: thresholds cut sellers")
    png_bytes(fig)
