"""The report header, failure banner and fallback page, rendered from fixture run records."""

from __future__ import annotations

import re

import pytest

from shopcast.formatting import p10_p90, usd
from shopcast.workbench import render
from shopcast.workbench.safety import CSP, check_self_contained

HOSTILE = "<img src=x onerror=alert(1)> \"quoted\" & 'single'"


@pytest.fixture
def succeeded() -> dict:
    """A run record shaped like run.json: a good run with a banded headline value."""
    return {
        "notebook": "gmv_goal_forecast",
        "scenario": "base",
        "run_id": "20260101T000000.000000Z",
        "title": "The path to the goal",
        "status": "succeeded",
        "started": "2026-01-01T00:00:00+00:00",
        "duration_s": 12.345,
        "parameters": {"data_file": "data/gmv_anchors.csv", "n_samples": 2000, "log": True},
        "data_sha256": {"data/gmv_anchors.csv": "ab" * 32},
        "code_version": {"commit": "abc1234", "dirty": True},
        "python": "3.11.7",
        "packages": {"pandas": "3.1.1", "numpy": "2.4.6"},
        "headline": {
            "probability": {"value": 0.4123, "label": "P(goal)", "fmt": ".0%"},
            "window_total": {"value": 1.95e10, "label": "Window total", "fmt": "usd"},
            "window_total_p10": {"value": 5.0e9, "label": None, "fmt": "usd"},
            "window_total_p90": {"value": 7.35e10, "label": None, "fmt": "usd"},
            "model": {"value": "prophet", "label": "Forecast model", "fmt": None},
        },
    }


@pytest.fixture
def failed(succeeded) -> dict:
    return succeeded | {
        "status": "failed",
        "headline": {},
        "error": {
            "kind": "cell error",
            "ename": "DataError",
            "evalue": f"data/x.csv, line 3: bad {HOSTILE}",
            "source": "load(<x>)\nfit()",
            "cell_index": 4,
            "traceback": ["\x1b[31mDataError\x1b[0m", "  line <2>"],
        },
    }


@pytest.fixture
def hostile(succeeded) -> dict:
    """Every string of the record carries markup, as a planted or crafted run.json would."""
    return succeeded | {
        "title": HOSTILE,
        "scenario": HOSTILE,
        "notebook": HOSTILE,
        "run_id": HOSTILE,
        "parameters": {HOSTILE: HOSTILE},
        "data_sha256": {HOSTILE: HOSTILE},
        "packages": {HOSTILE: HOSTILE},
        "python": HOSTILE,
        "code_version": {"commit": HOSTILE},
        "headline": {HOSTILE: {"value": HOSTILE, "label": HOSTILE}},
        "status": "failed",
        "error": {"kind": HOSTILE, "ename": HOSTILE, "evalue": HOSTILE, "traceback": [HOSTILE]},
    }


def test_header_of_a_good_run(succeeded):
    html = render.header_html(succeeded)
    assert html.startswith('<header class="sc-card" id="shopcast-header">')
    assert "<h1>The path to the goal</h1>" in html
    assert '<span class="sc-status sc-ok">succeeded</span>' in html
    card = re.search(
        r'data-headline="window_total"><div class="v">([^<]*)</div>'
        r'<div class="r">([^<]*)</div><div class="l">([^<]*)</div>',
        html,
    )
    assert card.groups() == (usd(1.95e10), p10_p90(5.0e9, 7.35e10, usd), "Window total")
    assert card.group(2) == "P10-P90 $5.0B to $73.5B"
    assert 'data-headline="window_total_p10"' not in html  # shown inside its value's card
    assert '<div class="v">41%</div>' in html and '<div class="v">prophet</div>' in html
    assert "<th>n_samples</th><td><code>2000</code></td>" in html
    assert "<code>sha256 " + "ab" * 32 + "</code>" in html
    assert "abc1234 (uncommitted changes)" in html and "12.3 s" in html
    assert "pandas 3.1.1, numpy 2.4.6" in html
    assert "shopcast-error" not in html


def test_header_and_banner_of_a_failed_run(failed):
    html = render.header_html(failed)
    assert '<span class="sc-status sc-failed">FAILED</span>' in html
    assert '<section class="sc-banner" id="shopcast-error">' in html
    assert "<h2>This run failed: cell error</h2>" in html
    assert "<p>Failing cell (cell 5):</p><pre>load(&lt;x&gt;)\nfit()</pre>" in html
    assert "<pre>DataError\n  line &lt;2&gt;</pre>" in html  # ANSI colours stripped
    assert "sc-heads" not in html  # no headline values, no empty card row
    assert render.failure_banner({"status": "succeeded"}) == ""


def test_every_string_of_a_hostile_record_is_text(hostile):
    page = render.fallback_html(hostile)
    check_self_contained(page)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert f'content="{CSP}"' in page.replace("&#39;", "'")
    footer = render.footer_html(hostile)
    assert "<img" not in footer and footer.count("&lt;img") == 3


def test_the_fallback_page_loads_nothing(failed):
    page = render.fallback_html(failed)
    check_self_contained(page)
    assert page.startswith("<!DOCTYPE html>") and "<title>The path to the goal</title>" in page
