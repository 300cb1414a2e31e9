"""The data behind a chart: its CSV holds the values drawn, read back from the artists.

Each check parses the chart's CSV back (as a reader's spreadsheet would) and compares it with
what matplotlib drew (line data, band polygons, bar heights) and with an independent computation
from the inputs (order statistics of the sample paths, the sweep's columns).
"""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display in tests

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from shopcast import downloads
from shopcast.charts import data as chart_data_module
from shopcast.charts.data import ChartData, ChartDataError, chart_data, show
from shopcast.charts.goal import fan_chart, window_total_chart
from shopcast.charts.postmortem import calibration_chart
from shopcast.charts.sellers import plot_threshold_survival
from shopcast.charts.tradeoff import SE_MULTIPLIER, tradeoff_chart
from shopcast.downloads import CSV_PREFIX, csv_text
from shopcast.gmv.goals import absolute_goal
from shopcast.publish import KEY_CHART

N_PATHS = 201  # odd: the quantiles 10%, 50%, 90% are order statistics 20, 100 and 180


def read_back(fig: Figure) -> pd.DataFrame:
    """The chart's CSV as a reader gets it, parsed."""
    return pd.read_csv(io.StringIO(csv_text(chart_data(fig), index=False)))


def band(collection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, lower and upper edge of a ``fill_between`` polygon."""
    vertices = collection.get_paths()[0].vertices
    n = (len(vertices) - 3) // 2
    return vertices[1 : n + 1, 0], vertices[1 : n + 1, 1], vertices[n + 2 : 2 * n + 2, 1][::-1]


def labelled(items, label: str):
    return next(item for item in items if item.get_label() == label)


@pytest.fixture(scope="module")
def paths() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    months = pd.date_range("2021-01-01", periods=36, freq="MS")
    growth = 0.06 + 0.1 * rng.standard_normal((N_PATHS, 36))
    return pd.DataFrame(1e8 * np.exp(np.cumsum(growth, axis=1)), columns=months)


@pytest.fixture(scope="module")
def fan(paths):
    anchors = pd.DataFrame(
        {
            "period_start": ["2021-01-01", "2022-07-01"],
            "period_end": ["2021-12-31", "2022-07-31"],
            "value_usd": [1.2e9, 4e8],
            "coverage": ["global", "united_states"],
            "kind": ["estimate", "lower_bound"],
            "measure": ["total", "total"],
        }
    )
    required = pd.DataFrame(
        {"required": np.geomspace(5e8, 3e9, 12)},
        index=pd.date_range("2023-01-01", periods=12, freq="MS"),
    )
    fig = fan_chart(
        paths,
        last_actual="2022-12-01",
        anchors=anchors,
        required=required,
        goal=20e9,
        goal_window=("2023-01-01", "2023-12-01"),
    )
    return fig, anchors, required


def test_fan_chart_csv_is_the_quantiles_drawn(fan, paths):
    fig, _, _ = fan
    ax = fig.axes[0]
    csv = read_back(fig)
    assert list(csv.columns) == ["series", "x", "x_end", "y", "y_low", "y_high"]
    ordered = np.sort(paths.to_numpy(), axis=0)  # independent of np.quantile
    for series, line_label, band_label, months in (
        (
            "reconstructed history",
            "reconstructed history, median",
            "reconstructed history, P10-P90",
            paths.columns[paths.columns <= "2022-12-01"],
        ),
        (
            "forecast",
            "forecast, median",
            "forecast, P10-P90 (80% of paths)",
            paths.columns[paths.columns >= "2022-12-01"],
        ),
    ):
        rows = csv[csv["series"] == series]
        assert list(pd.to_datetime(rows["x"])) == list(months)
        cols = [paths.columns.get_loc(m) for m in months]
        np.testing.assert_array_equal(rows["y"], ordered[100, cols])
        np.testing.assert_array_equal(rows["y_low"], ordered[20, cols])
        np.testing.assert_array_equal(rows["y_high"], ordered[180, cols])
        line = labelled(ax.lines, line_label)  # what matplotlib drew
        np.testing.assert_array_equal(rows["y"], np.asarray(line.get_ydata(), dtype=float))
        x, low, high = band(labelled(ax.collections, band_label))
        np.testing.assert_allclose(x, mdates.date2num(pd.to_datetime(rows["x"])))
        np.testing.assert_array_equal(low, rows["y_low"])
        np.testing.assert_array_equal(high, rows["y_high"])


def test_fan_chart_csv_has_the_anchors_goal_and_required_path(fan):
    fig, anchors, required = fan
    ax = fig.axes[0]
    csv = read_back(fig)
    req = csv[csv["series"] == "required path to reach the goal exactly"]
    np.testing.assert_array_equal(req["y"], required["required"])
    np.testing.assert_array_equal(
        req["y"], labelled(ax.lines, "required path to reach the goal exactly").get_ydata()
    )
    goal = csv[csv["series"] == "goal, average per month"].iloc[0]
    assert (goal["x"], goal["x_end"], goal["y"]) == ("2023-01-01", "2023-12-01", 20e9 / 12)
    anchor_rows = csv[csv["series"].str.startswith("anchor: ")]
    # a year's total per month, and one month's total (a whole month: itself)
    assert list(anchor_rows["y"]) == [anchors["value_usd"][0] / 12, anchors["value_usd"][1]]
    assert list(anchor_rows["x"]) == ["2021-01-01", "2022-07-01"]
    assert list(anchor_rows["x_end"]) == ["2021-12-01", "2022-07-01"]
    marker = labelled(ax.lines, "anchor: united states lower bound (per month)")
    assert marker.get_ydata()[0] == anchor_rows["y"].iloc[1]


def test_window_total_csv_is_the_bars_drawn():
    rng = np.random.default_rng(1)
    values = np.zeros((500, 12))
    values[:, 0] = np.exp(np.log(20e9) + 0.3 * rng.standard_normal(500))
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    result = absolute_goal(pd.DataFrame(values, columns=months), "2023-01", "2023-12", 20e9)
    fig = window_total_chart(result, bins=30)
    csv = read_back(fig)
    bars = csv[csv["series"] == "window total per path (paths per bin)"]
    assert bars["y"].sum() == 500 and len(bars) == 30
    drawn = [p for p in fig.axes[0].patches if p.get_height() > 0 or p.get_width() > 0][:30]
    np.testing.assert_array_equal([p.get_height() for p in drawn], bars["y"])
    np.testing.assert_allclose([p.get_x() for p in drawn], bars["x"])
    np.testing.assert_allclose([p.get_x() + p.get_width() for p in drawn], bars["x_end"])
    assert csv.loc[csv["series"] == "goal", "x"].item() == 20e9
    assert csv.loc[csv["series"] == "window total, P50", "x"].item() == result.p50


@pytest.fixture(scope="module")
def sweep() -> pd.DataFrame:
    thresholds = np.array([0, 1e4, 1e5, 1e6, 1e7])
    staying = np.exp(-np.array([0, 0.5, 1.5, 3.0, 5.0]))
    kept = np.exp(-np.array([0, 0.05, 0.2, 0.7, 1.6]))
    return pd.DataFrame(
        {
            "threshold": thresholds,
            "share_sellers_staying": staying,
            "share_sellers_staying_p10": staying * 0.8,
            "share_sellers_staying_p90": np.minimum(staying * 1.2, 1),
            "share_gmv_kept": kept,
            "share_gmv_kept_p10": kept * 0.9,
            "share_gmv_kept_p90": np.minimum(kept * 1.1, 1),
        }
    )


def test_seller_chart_csv_is_the_lines_and_bands_drawn(sweep):
    fig = plot_threshold_survival(sweep, threshold_of_interest=1e6)
    ax = fig.axes[0]
    csv = read_back(fig)
    shown = sweep[sweep["threshold"] > 0]  # a zero threshold cannot sit on the log axis
    for series, column in (("Sellers staying", "share_sellers_staying"),
                           ("GMV kept", "share_gmv_kept")):  # fmt: skip
        rows = csv[csv["series"] == series]
        np.testing.assert_array_equal(rows["x"], shown["threshold"])
        np.testing.assert_array_equal(rows["y"], shown[column])
        np.testing.assert_array_equal(rows["y_low"], shown[f"{column}_p10"])
        np.testing.assert_array_equal(rows["y_high"], shown[f"{column}_p90"])
        line = labelled(ax.lines, series)
        np.testing.assert_array_equal(line.get_xdata(), rows["x"])
        np.testing.assert_array_equal(line.get_ydata(), rows["y"])
        x, low, high = band(labelled(ax.collections, f"{series}: P10-P90"))
        np.testing.assert_array_equal(x, rows["x"])
        np.testing.assert_array_equal(low, rows["y_low"])
        np.testing.assert_array_equal(high, rows["y_high"])
    assert csv.loc[csv["series"] == "threshold of interest", "x"].item() == 1e6


def test_tradeoff_csv_has_each_threshold_probability_and_bar():
    table = pd.DataFrame(
        {
            "threshold": [0.0, 1e5, 1e6],
            "share_sellers_staying": [1.0, 0.05, 0.003],
            "probability_absolute": [0.46, 0.45, 0.44],
            "probability_absolute_se": [0.02, 0.02, 0.02],
            "probability_multiple": [0.40, 0.39, 0.37],
            "probability_multiple_se": [0.01, 0.01, 0.01],
        }
    )
    fig = tradeoff_chart(table, 1e6, absolute_label="GMV 2023 >= $20B")
    csv = read_back(fig)
    rows = csv[csv["series"] == "GMV 2023 >= $20B"]
    assert list(rows["label"]) == ["no threshold", "$100k", "$1M"]
    np.testing.assert_array_equal(rows["y"], table["probability_absolute"])
    np.testing.assert_allclose(rows["y_high"] - rows["y"], SE_MULTIPLIER * 0.02)
    drawn = fig.axes[0].lines[0]  # the absolute goal's errorbar line
    np.testing.assert_array_equal(drawn.get_ydata(), rows["y"])
    np.testing.assert_array_equal(drawn.get_xdata(), rows["x"])


def test_calibration_csv_has_the_histogram_drawn():
    pits = pd.Series(np.random.default_rng(2).uniform(size=57))
    coverage = pd.DataFrame(
        {"empirical": [0.4, 0.8], "n": [57, 57], "se": [0.06, 0.05]},
        index=pd.Index([0.5, 0.8], name="nominal"),
    )
    fig = calibration_chart(pits, coverage)
    csv = read_back(fig)
    bins = csv[csv["series"] == "outcomes per PIT bin"]
    assert set(bins["panel"]) == {"PIT histogram"} and bins["y"].sum() == 57
    np.testing.assert_array_equal([p.get_height() for p in fig.axes[0].patches], bins["y"])
    emp = csv[csv["series"] == "empirical"]
    assert list(emp["y"]) == [0.4, 0.8] and set(emp["panel"]) == {"Coverage by nominal level"}


def test_chart_data_rows_and_months():
    data = ChartData("demo")
    data.add("line", pd.date_range("2023-01-01", periods=3, freq="MS"), np.array([1.0, 2, 3]))
    data.add("goal", pd.Timestamp("2023-01-01"), 5.0, x_end=pd.Timestamp("2023-12-01"))
    frame = data.frame()
    assert list(frame.columns) == ["series", "x", "x_end", "y"]
    assert list(frame["x"]) == ["2023-01-01", "2023-02-01", "2023-03-01", "2023-01-01"]
    assert frame["y"].tolist() == [1.0, 2.0, 3.0, 5.0]
    with pytest.raises(ChartDataError, match="arrays of different lengths"):
        data.add("bad", [1, 2, 3], [1, 2])


@pytest.fixture
def kernel(monkeypatch):
    """A stand-in IPython kernel: records what show() displays."""
    import IPython
    import IPython.display

    shown: list[tuple[object, dict]] = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    monkeypatch.setattr(downloads, "_names", downloads.Counter())
    monkeypatch.setenv("SHOPCAST_NOTEBOOK", "seller_thresholds")
    monkeypatch.setenv("SHOPCAST_SCENARIO", "base")
    return shown


def test_show_displays_the_chart_then_its_download(kernel, sweep):
    fig = plot_threshold_survival(sweep, 1e6)
    assert show(fig, key=True) is None  # a cell ending with show() shows the chart once
    (first, meta), (link, _) = kernel
    assert first is fig and meta == {"metadata": {KEY_CHART: True}}
    html = link.data
    name, href = re.search(r'<a download="([^"]*)" href="([^"]*)"', html).groups()
    assert name == "seller_thresholds-base-threshold_survival.csv"
    back = pd.read_csv(io.StringIO(unquote(href[len(CSV_PREFIX) :])))
    pd.testing.assert_frame_equal(back, read_back(fig))
    show(fig, data=sweep, name="sweep")
    assert kernel[2][1] == {"metadata": None}  # not the key chart
    assert 'download="seller_thresholds-base-sweep.csv"' in kernel[3][0].data


def test_show_refuses_a_figure_without_data():
    fig = Figure()
    fig.add_subplot().plot([1, 2])
    with pytest.raises(ChartDataError, match=r"show\(fig, data=frame\)"):
        show(fig)
    assert chart_data_module.chart_data(fig) is None


def test_outside_a_kernel_show_does_nothing(sweep, monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert show(plot_threshold_survival(sweep)) is None


@pytest.mark.browser
def test_a_report_downloads_the_chart_csv_in_a_real_browser(kernel, sweep, tmp_path):
    """show() -> the rendered report (CSP, no script) -> Chromium clicks the link -> the file."""
    import base64

    import nbformat
    from test_reports_e2e import _browser, _launch

    from shopcast.workbench.render import render_html

    fig = plot_threshold_survival(sweep, 1e6)
    show(fig, key=True)
    cell = nbformat.v4.new_code_cell("show(chart)")
    for obj, kw in kernel:
        if isinstance(obj, Figure):
            png = base64.b64encode(_png(obj)).decode()
            cell.outputs.append(
                nbformat.v4.new_output(
                    "display_data", data={"image/png": png}, metadata=kw["metadata"] or {}
                )
            )
        else:
            cell.outputs.append(
                nbformat.v4.new_output("display_data", data={"text/html": obj.data})
            )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Sellers"), cell])
    record = {"notebook": "seller_thresholds", "scenario": "base", "status": "succeeded"}
    report = tmp_path / "report.html"
    report.write_text(render_html(nb, record), encoding="utf-8")  # the page check passed
    with _browser() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(accept_downloads=True)
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report.as_uri(), wait_until="load")
            with page.expect_download() as info:
                page.click("a[download]")
            download = info.value
            assert download.suggested_filename == "seller_thresholds-base-threshold_survival.csv"
            saved = tmp_path / "saved.csv"
            download.save_as(saved)
            assert page.url == report.as_uri()  # a download, not a navigation
        finally:
            browser.close()
    back = pd.read_csv(saved)
    pd.testing.assert_frame_equal(back, read_back(fig))
    staying = back[back["series"] == "Sellers staying"]
    np.testing.assert_array_equal(staying["y"], sweep["share_sellers_staying"].iloc[1:])
    assert not [u for u in requests if not u.startswith(("file:", "data:"))]


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=60)
    return out.getvalue()
