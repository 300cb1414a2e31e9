"""CSV downloads: exact values, percent-encoded URLs, inert text, names and the page check."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from shopcast import downloads
from shopcast.downloads import CSV_PREFIX, CSV_URL, csv_text, csv_url, download_link, file_name
from shopcast.workbench.safety import check_self_contained

HOSTILE = "<img src=x onerror=alert(1)> \"quoted\" & 'single' </a><script>alert(2)</script>"


@pytest.fixture(autouse=True)
def fresh_names(monkeypatch):
    """Each test hands out file names from scratch, outside any run."""
    monkeypatch.setattr(downloads, "_names", downloads.Counter())
    for name in ("SHOPCAST_NOTEBOOK", "SHOPCAST_SCENARIO"):
        monkeypatch.delenv(name, raising=False)


def page(body: str) -> str:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>"


def href_of(link: str) -> str:
    return re.search(r'href="([^"]*)"', link).group(1)


def test_numbers_come_back_exactly():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "month": pd.date_range("2023-01-01", periods=5, freq="MS"),
            "value": rng.lognormal(20, 2, 5),
            "share": [0.1, 1 / 3, 2 / 3, 1e-12, 0.0],
        }
    )
    back = pd.read_csv(io.StringIO(csv_text(frame, index=False)), parse_dates=["month"])
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    assert csv_text(frame, index=False).splitlines()[1].startswith("2023-01-01,")


def test_the_url_holds_only_unreserved_characters_and_escapes():
    frame = pd.DataFrame({"publisher": [HOSTILE, "Bogotá, 100%"], "v": [1.5, -2.0]})
    text = csv_text(frame, index=False)
    url = csv_url(text)
    assert url.startswith(CSV_PREFIX)
    assert CSV_URL.match(url)
    body = url[len(CSV_PREFIX) :]
    assert not set(body) - set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%"
    )
    assert unquote(body, encoding="utf-8") == text  # decoding gives the CSV back, byte for byte
    assert HOSTILE.replace('"', '""') in text  # the payload is a quoted CSV field, as text


def test_would_be_formulas_become_text_and_numbers_stay():
    frame = pd.DataFrame(
        {
            "note": ['=HYPERLINK("http://x")', "+1+2", "@SUM(A1)", "-2+3", "-1.5", "plain"],
            "value": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    back = pd.read_csv(io.StringIO(csv_text(frame, index=False)), dtype={"note": str})
    assert list(back["note"]) == ["'=HYPERLINK(\"http://x\")", "'+1+2", "'@SUM(A1)", "'-2+3",
                                  "-1.5", "plain"]  # fmt: skip
    assert list(back["value"]) == [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # numbers are never touched
    labels = pd.DataFrame({"=cmd": [1]}, index=pd.Index(["@x"], name="+n"))
    text = csv_text(labels)
    assert text.splitlines() == ["'+n,'=cmd", "'@x,1"]


def test_file_names_are_plain_unique_and_carry_the_run(monkeypatch):
    assert file_name("fan_chart") == "fan_chart.csv"
    assert file_name("fan_chart") == "fan_chart-2.csv"
    assert file_name('../../etc/"x" <b>.html') == "etc-x-b-.html.csv"  # saved as .csv
    monkeypatch.setenv("SHOPCAST_NOTEBOOK", "gmv_goal_forecast")
    monkeypatch.setenv("SHOPCAST_SCENARIO", "ad driven")
    assert file_name("table") == "gmv_goal_forecast-ad-driven-table.csv"
    for name in ("fan_chart", "../x", "<script>", "", "é"):
        assert downloads.FILE_NAME.match(file_name(name))


def test_the_link_passes_the_page_check_and_carries_the_data():
    frame = pd.DataFrame({"publisher": [HOSTILE], "value_usd": [2e10]})
    link = str(download_link(frame, "anchors", index=False, what="this table"))
    assert link.startswith('<p class="sc-download"><a download="anchors.csv" href="data:text/csv')
    assert "Download the data of this table (CSV, 1 row)" in link
    assert "<img" not in link and "<script" not in link
    check_self_contained(page(link))
    text = unquote(href_of(link)[len(CSV_PREFIX) :])
    assert pd.read_csv(io.StringIO(text)).iloc[0].tolist() == [HOSTILE, 2e10]


def test_a_frame_too_large_to_embed_is_named_not_embedded(monkeypatch):
    monkeypatch.setattr(downloads, "MAX_EMBEDDED_BYTES", 100)
    frame = pd.DataFrame({"x": np.arange(100)})
    link = str(download_link(frame, "big", what="this chart"))
    assert "href" not in link
    assert "The data of this chart (100 rows, 0 kB) are too large to embed." in link
    check_self_contained(page(link))
