"""Report sentences: number labels on known values, and headline/caveats built from real results."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from shopcast.gmv.pipeline import ForecastSettings, run_goal_forecast
from shopcast.report_text import DOLLAR, goal_caveats, goal_headline, md_escape, pct, usd

SMALL = {"n_draws": 20, "n_histories": 5, "n_samples": 300}
# A "$" not in its own element: JupyterLab would pair it with the next one as maths.
BARE_DOLLAR = re.compile(r"(?<!<span>\\)\$")


@pytest.fixture(scope="module")
def result():
    """The default scenario (reconstructed history, Prophet), small sizes."""
    return run_goal_forecast(seed=0, **SMALL)


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """A user's CSV (observed history): 30 months of 5% monthly growth from $1M, drift model."""
    path = tmp_path_factory.mktemp("gmv") / "gmv.csv"
    months = pd.date_range("2021-01-01", periods=30, freq="MS")
    values = np.round(1e6 * 1.05 ** np.arange(30)).astype(np.int64)
    pd.DataFrame({"date": months.strftime("%Y-%m-%d"), "gmv": values}).to_csv(path, index=False)
    return run_goal_forecast(
        path,
        goal_target_usd=1e8,
        history_end="",
        settings=ForecastSettings(model="drift_log"),
        **SMALL,
    )


def billions(x):
    """An independent Markdown-escaped label for an amount of billions."""
    return f"<span>\\$</span>{x / 1e9:,.1f}B"


# --------------------------------------------------------------------------------------------
# labels


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (2e10, "$20.0B"),
        (1500, "$1.5k"),
        (950, "$950"),
        (4.5e6, "$4.5M"),
        (12_345, "$12.3k"),
        (0, "$0"),
        (3e12, "$3.0T"),
        (np.float64(2.78e10), "$27.8B"),
        (np.int64(2000), "$2.0k"),
    ],
)
def test_usd_known_values(value, label):
    assert usd(value) == label


@pytest.mark.parametrize(
    "missing", [None, float("nan"), np.float64("nan"), np.float32("nan"), pd.NA]
)
def test_usd_and_pct_of_missing_values(missing):
    assert usd(missing) == "n/a"
    assert pct(missing) == "n/a"


@pytest.mark.parametrize(
    ("value", "digits", "label"),
    [(0.1234, 0, "12%"), (0.1234, 1, "12.3%"), (1, 0, "100%"), (0.005, 1, "0.5%"), (0, 0, "0%")],
)
def test_pct_known_values(value, digits, label):
    assert pct(value, digits) == label


# --------------------------------------------------------------------------------------------
# headline


def test_goal_headline_carries_the_results_numbers(result):
    text = goal_headline(result, 20e9, 4.0, "2022-01-01", "2022-12-01")
    a, m = result.absolute, result.multiple
    assert f"**{a.probability:.0%}** chance that GMV from Jan 2023 to Dec 2023" in text
    assert f"**{DOLLAR}20.0B**" in text
    for amount in (a.p10, a.p50, a.p90, m.target):
        assert billions(amount) in text
    assert f"**{m.probability:.0%}** chance of reaching **4x** the Jan 2022-Dec 2022 total" in text
    assert f"**{result.required_growth:.1%} a month** from Dec 2022" in text
    trailing = float(result.growth_table.loc[3, "trailing_growth"])
    assert f"it grew {trailing:.1%} a month" in text
    assert "**reconstructed** to Dec 2022" in text
    assert "**prophet**, 300 sample paths" in text


def test_goal_headline_has_no_bare_dollar(result, observed):
    for r, target in ((result, 20e9), (observed, 1e8)):
        text = goal_headline(r, target, 4.0, "2022-01-01", "2022-12-01")
        assert DOLLAR in text
        assert BARE_DOLLAR.search(text) is None, text


def test_goal_headline_of_observed_history(observed):
    text = goal_headline(observed, 1e8, 4.0, "2022-01-01", "2022-12-01")
    assert "**observed** to Jun 2023" in text
    assert f"**{DOLLAR}100.0M**" in text
    assert "reconstructed" not in text


# --------------------------------------------------------------------------------------------
# caveats


def test_goal_caveats_of_reconstructed_history(result):
    text = goal_caveats(result)
    last_anchor = pd.to_datetime(result.anchors["period_end"]).max()
    assert f"The last published figure ends {last_anchor:%b %Y}" in text
    assert all(line.startswith("- ") for line in text.splitlines())
    assert BARE_DOLLAR.search(text) is None


def test_goal_caveats_of_observed_history(observed):
    text = goal_caveats(observed)
    assert "reconstructed" not in text
    # the two general caveats, then one line per note of the result
    assert len(text.splitlines()) == 2 + len(observed.notes)
    assert text.splitlines()[1].startswith("- Interval bounds are not added up")
    with_note = goal_caveats(dataclasses.replace(observed, notes=["A note."]))
    assert with_note.splitlines()[-1] == "- A note."


def test_goal_caveats_escape_every_dollar_of_the_notes_once(result):
    notes = ["A cap of $5B a month was used.", "Already escaped: \\$3.0B."]
    text = goal_caveats(dataclasses.replace(result, notes=notes))
    assert f"A cap of {DOLLAR}5B a month was used." in text
    assert f"Already escaped: {DOLLAR}3.0B." in text  # not double-escaped into "\\\\$"
    assert "\\\\$" not in text
    assert BARE_DOLLAR.search(text) is None


def test_goal_summary_table_shows_the_results_numbers(result):
    from shopcast.charts.tables import goal_summary_table
    from shopcast.formatting import usd as usd_label

    html = goal_summary_table(result).to_html()
    assert f"{result.absolute.probability:.0%}" in html
    assert usd_label(result.absolute.p90) in html
    assert usd_label(result.multiple.target) in html
    assert "n_samples" not in html


def test_gap_table_formats_money_and_months(result):
    from shopcast.charts.tables import gap_table, growth_table
    from shopcast.formatting import usd as usd_label

    if result.gap is None:
        pytest.skip("no required path in this configuration")
    html = gap_table(result).to_html()
    first = result.gap.index[0]
    assert f"{first:%b %Y}" in html
    assert usd_label(result.gap["required"].iloc[0]) in html
    assert f"{result.growth_table.iloc[0, 0]:+.1%}" in growth_table(result).to_html()


def test_time_to_goal_sentence_reads_the_distribution():
    from types import SimpleNamespace

    from shopcast.report_text import time_to_goal_sentence

    ttg = SimpleNamespace(
        p10=pd.Timestamp("2023-10-01"), p50=pd.Timestamp("2024-01-01"), p90=pd.NaT,
        probability_never=0.27,
    )  # fmt: skip
    text = time_to_goal_sentence(ttg, 24)
    assert "**January 2024**" in text and "P10 Oct 2023" in text
    assert "P90 not within the horizon" in text and "24-month horizon: **27%**" in text


# --------------------------------------------------------------------------------------------
# md_escape: one helper for JupyterLab and nbconvert (tests/test_lab.py checks JupyterLab itself)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("$5.0B to $73.5B", f"{DOLLAR}5.0B to {DOLLAR}73.5B"),
        ("already \\$3", f"already {DOLLAR}3"),
        ("no dollar", "no dollar"),
        ("code `a$b` and $1", f"code `a$b` and {DOLLAR}1"),
        ("``x`$`` then $2", f"``x`$`` then {DOLLAR}2"),
    ],
)
def test_md_escape(text, escaped):
    assert md_escape(text) == escaped
    assert md_escape(escaped) == escaped  # a second pass changes nothing


def _nbconvert_text(markdown: str) -> str:
    """The visible text of a Markdown display output in nbconvert's HTML (the report's path)."""
    import html as html_lib

    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": markdown, "text/plain": ""})
    ]
    nb.cells = [cell]
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    found = re.search(r'data-mime-type="text/markdown"[^>]*>(.*?)</div>', body, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_md_escape_shows_literal_dollars_in_nbconvert(result):
    text = goal_headline(result, 20e9, 4.0, "2022-01-01", "2022-12-01")
    shown = _nbconvert_text(text)
    a = result.absolute
    for amount in (a.p50, a.p10, a.p90, 20e9):
        assert usd(amount) in shown  # "$19.7B", not "\$19.7B" nor a formula
    assert "\\$" not in shown and "<span>" not in shown
    # the same text unescaped would lose nothing in nbconvert: the difference is JupyterLab's
    assert _nbconvert_text(md_escape("between $5.0B and `$x`")) == "between $5.0B and $x"


def test_postmortem_caveats_and_archive_note_say_what_the_vintages_share(tmp_path):
    from types import SimpleNamespace

    from shopcast.gmv.vintage_runs import VintageForecast
    from shopcast.report_text import postmortem_archive_note, postmortem_caveats

    sep, dec = pd.Timestamp("2022-09-30"), pd.Timestamp("2022-12-31")
    result = SimpleNamespace(
        vintages=[
            VintageForecast(sep, object()),
            VintageForecast(dec, object(), same_data_as=sep),
            VintageForecast(pd.Timestamp("2021-01-31"), None, "no figure was published"),
        ],
        n_forecast=2,
    )
    text = postmortem_caveats(result)
    assert "As of 2022-12-31 the data known were the same as on 2022-09-30" in text
    assert "2022-09-30 the data" not in text  # the vintage computed on its own says nothing
    assert "No forecast as of 2021-01-31: no figure was published" in text
    note = postmortem_archive_note(result, tmp_path / "a`b.csv")
    assert "(2 vintages" in note and "`` " in note  # the file name in a longer code fence
