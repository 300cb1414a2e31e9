"""styled(): every string escaped, and the table's data downloadable beneath it as CSV."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from shopcast import downloads
from shopcast.downloads import CSV_PREFIX
from shopcast.formatting import usd
from shopcast.tables import styled
from shopcast.workbench.safety import check_self_contained

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(autouse=True)
def fresh_names(monkeypatch):
    monkeypatch.setattr(downloads, "_names", downloads.Counter())
    for name in ("SHOPCAST_NOTEBOOK", "SHOPCAST_SCENARIO"):
        monkeypatch.delenv(name, raising=False)


def downloaded(html: str) -> tuple[str, pd.DataFrame]:
    """The download's file name and its CSV, read back."""
    links = re.findall(r'<a download="([^"]*)" href="([^"]*)"', html)
    assert len(links) == 1, links
    name, href = links[0]
    assert href.startswith(CSV_PREFIX)
    return name, pd.read_csv(io.StringIO(unquote(href[len(CSV_PREFIX) :])))


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "publisher": [HOSTILE, "Momentum Works", "=1+1"],
            "value_usd": rng.lognormal(22, 1, 3),
            "share": [0.125, 1 / 3, 0.9],
        },
        index=pd.Index(["a", "b", "c"], name="anchor_id"),
    )


def test_the_shown_table_carries_its_unformatted_data(frame):
    html = styled(frame, {"value_usd": usd, "share": "{:.0%}"}, caption="Anchors")._repr_html_()
    check_self_contained(f"<!DOCTYPE html><html><body>{html}</body></html>")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert usd(frame["value_usd"].iloc[1]) in html  # the table shows the formatted value
    name, back = downloaded(html)
    assert name == "anchors.csv"  # named after the caption
    assert list(back.columns) == ["anchor_id", "publisher", "value_usd", "share"]
    np.testing.assert_array_equal(back["value_usd"], frame["value_usd"])  # full precision
    np.testing.assert_array_equal(back["share"], frame["share"])
    assert list(back["publisher"]) == [HOSTILE, "Momentum Works", "'=1+1"]
    assert "Download the data of this table (CSV, 3 rows)" in html


def test_hidden_index_columns_and_rows_stay_out_of_the_csv(frame):
    style = styled(frame, hide_index=True).hide(axis="columns", subset=["share"])
    _, back = downloaded(style.hide(axis="index", subset=["b"])._repr_html_())
    assert list(back.columns) == ["publisher", "value_usd"]
    assert len(back) == 2 and back["value_usd"].iloc[1] == frame["value_usd"].iloc[2]


def test_a_default_index_is_not_written_and_months_are_dates():
    months = pd.DataFrame(
        {"p50": [1.0, 2.0]}, index=pd.date_range("2023-01-01", periods=2, freq="MS")
    )
    _, back = downloaded(styled(months, index_format="{:%b %Y}")._repr_html_())
    assert list(back.iloc[:, 0]) == ["2023-01-01", "2023-02-01"]
    _, plain = downloaded(styled(pd.DataFrame({"x": [1, 2]}))._repr_html_())
    assert list(plain.columns) == ["x"]


def test_chained_styler_methods_keep_the_download(frame):
    style = styled(frame, hide_index=True).set_properties(**{"text-align": "left"})
    assert style._repr_html_().count("<a download=") == 1
    assert "<a download=" not in style.to_html()  # only what a notebook shows carries it
