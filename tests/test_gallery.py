"""The gallery page, rendered from fixture run records on disk (no kernel)."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from pathlib import Path

import pytest

from shopcast.workbench import gallery
from shopcast.workbench.safety import check_self_contained

HOSTILE = "<img src=x onerror=alert(1)>"


def write_run(root: Path, notebook: str, scenario: str, run_id: str, **record) -> Path:
    folder = root / notebook / scenario / run_id
    folder.mkdir(parents=True)
    record = {"notebook": notebook, "scenario": scenario, "run_id": run_id} | record
    record.setdefault("started", f"2026-01-0{run_id[7]}T00:00:00+00:00")
    record.setdefault("duration_s", 3.0)
    (folder / "run.json").write_text(json.dumps(record))
    return folder


def point_latest(folder: Path) -> None:
    link = folder.parent / "latest"
    if link.is_symlink():
        link.unlink()
    os.symlink(folder.name, link)


def heads(total: float, p: float) -> dict:
    return {
        "total": {"value": total, "label": "Window total", "fmt": "usd"},
        "total_p10": {"value": total / 4, "fmt": "usd"},
        "total_p90": {"value": total * 4, "fmt": "usd"},
        "probability": {"value": p, "label": "P(goal)", "fmt": ".0%"},
        "model": {"value": "ets", "label": "Model"},
    }


@pytest.fixture
def root(tmp_path) -> Path:
    """Two scenarios of one notebook: base (two good runs, then a failure) and alt (one good
    run, then one running); a second notebook whose only run failed."""
    r = tmp_path / "reports"
    write_run(r, "goal", "base", "20260101T0", status="succeeded", headline=heads(1e10, 0.30))
    good = write_run(
        r,
        "goal",
        "base",
        "20260102T0",
        status="succeeded",
        headline=heads(1.5e10, 0.41),
        title="The path to the goal",
    )
    point_latest(good)
    write_run(r, "goal", "base", "20260103T0", status="failed", error={"kind": "cell error"})
    alt = write_run(r, "goal", "alt", "20260101T0", status="succeeded", headline=heads(2e9, 0.1))
    point_latest(alt)
    write_run(
        r,
        "goal",
        "alt",
        "29990101T0",
        status="running",
        timeout_s=1200,
        started="2999-01-01T00:00:00+00:00",
    )
    write_run(r, "sellers", "base", "20260101T0", status="failed", error={"kind": "timeout"})
    return r


def section(page: str, notebook: str, scenario: str) -> str:
    start = page.index(f'id="{notebook}--{scenario}"')
    return page[
        start : page.index('<div class="sc-scen"', start + 1)
        if '<div class="sc-scen"' in page[start + 1 :]
        else len(page)
    ]


def test_gallery_states_values_and_changes(root):
    page = gallery.render_index(root)
    check_self_contained(page, relative_links=True)
    assert "2 notebooks, 3 scenarios, 6 runs kept" in page
    assert "<b>2 scenario(s) failed on their newest run.</b>" in page
    base = section(page, "goal", "base")
    assert "<b>The newest run FAILED</b> (cell error)" in base
    assert '<a href="./goal/base/20260103T0/report.html">failure report</a>' in base
    assert "The values below are from the last good run, not from this one." in base
    row = re.search(
        r'data-headline="total"><td>Window total</td><td class="v">([^<]*)</td>'
        r"<td>(.*?)</td></tr>",
        base,
    )
    assert row.group(1) == "$15.0B"
    assert '<span class="sc-muted">P10-P90 $3.8B to $60.0B</span><br>' in row.group(2)
    assert '<span class="sc-up">+$5.0B</span> <span class="sc-muted">(was $10.0B)</span>' in (
        row.group(2)
    )
    assert '<span class="sc-up">+11.0 pts</span>' in base  # 30% -> 41%
    assert 'data-headline="model"><td>Model</td><td class="v">ets</td><td></td>' not in base
    assert '<span class="sc-muted">unchanged</span>' in base  # the model did not change
    assert "(latest good)" in base and "History: 3 runs" in base
    alt = section(page, "goal", "alt")
    assert "<b>A run is in progress</b> since 2999-01-01" in alt
    assert '<span class="sc-muted">first good run</span>' in alt
    sellers = section(page, "sellers", "base")
    assert "(timeout)" in sellers and "There is no good run of this scenario yet." in sellers
    compare = page[page.index("sc-compare") : page.index("</table>", page.index("sc-compare"))]
    assert "<th>alt</th><th>base</th>" in compare
    assert "<tr><td>Window total</td><td>$2.0B</td><td>$15.0B</td></tr>" in compare


def test_hostile_names_and_values_are_text(tmp_path):
    r = tmp_path / "reports"
    good = write_run(
        r,
        "javascript:alert(1)",
        HOSTILE,
        "20260101T0",
        status="succeeded",
        title=HOSTILE,
        headline={HOSTILE: {"value": HOSTILE, "label": HOSTILE}},
    )
    point_latest(good)
    write_run(
        r,
        "javascript:alert(1)",
        HOSTILE,
        "20260102T0",
        status="failed",
        error={"kind": HOSTILE},
        started=HOSTILE,
    )
    page = gallery.render_index(r)
    check_self_contained(page, relative_links=True)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript' not in page
    assert 'href="./javascript%3Aalert%281%29/%3Cimg%20src%3Dx' in page


def test_no_runs_yet(tmp_path):
    page = gallery.render_index(tmp_path)
    assert "No runs yet: <code>make report</code>." in page
    check_self_contained(page, relative_links=True)


def test_a_record_that_is_not_an_object_is_skipped(root):
    bad = root / "goal" / "base" / "20260104T0"
    bad.mkdir()
    (bad / "run.json").write_text("[1, 2]")
    assert "6 runs kept" in gallery.render_index(root)


def test_the_key_chart_thumbnail_sits_beside_the_headlines(root):
    from PIL import Image

    from shopcast.config import THUMBNAIL_NAME
    from shopcast.workbench.thumbnails import make_thumbnail

    picture = io.BytesIO()
    Image.new("RGB", (1200, 550), "steelblue").save(picture, "PNG")
    thumb = make_thumbnail(picture.getvalue())
    (root / "goal" / "base" / "20260102T0" / THUMBNAIL_NAME).write_bytes(thumb)
    page = gallery.render_index(root)
    check_self_contained(page, relative_links=True)
    base = section(page, "goal", "base")
    uri = "data:image/png;base64," + base64.b64encode(thumb).decode()
    assert (
        f'<a class="sc-thumb" href="./goal/base/20260102T0/report.html"><img src="{uri}" '
        'width="320" height="147" alt="Key chart of The path to the goal, scenario base"></a>'
    ) in base
    assert base.index("sc-thumb") < base.index('data-headline="total"')  # beside, before
    assert "no chart picture" in section(page, "goal", "alt")  # a run without one


@pytest.mark.browser
def test_a_gallery_of_50_scenarios_is_small_and_fast(tmp_path):
    """50 scenarios (5 notebooks x 10), two good runs each, thumbnails of real charts."""
    import time

    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    import pandas as pd
    from test_reports_e2e import SCREENSHOTS, _browser, _launch

    from shopcast.charts.goal import fan_chart
    from shopcast.config import THUMBNAIL_NAME
    from shopcast.workbench.thumbnails import make_thumbnail

    thumbs = []
    for seed in range(10):  # ten different charts, as notebooks draw them (110 dpi)
        rng = np.random.default_rng(seed)
        months = pd.date_range("2021-01-01", periods=48, freq="MS")
        growth = 0.02 + 0.01 * seed + 0.1 * rng.standard_normal((200, 48))
        paths = pd.DataFrame(1e8 * np.exp(np.cumsum(growth, axis=1)), columns=months)
        fig = fan_chart(
            paths, last_actual="2022-12-01", goal=2e10, goal_window=("2023-01", "2023-12")
        )
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        thumbs.append(make_thumbnail(buffer.getvalue()))
    r = tmp_path / "reports"
    for n in range(50):
        notebook, scenario = f"notebook_{n // 10}", f"scenario_{n % 10:02d}"
        write_run(
            r, notebook, scenario, "20260101T0", status="succeeded", headline=heads(1e10, 0.3)
        )
        good = write_run(
            r, notebook, scenario, "20260102T0", status="succeeded",
            headline=heads(1e10 + n * 1e8, 0.3 + n / 200), title=f"Report {n // 10}",
        )  # fmt: skip
        (good / THUMBNAIL_NAME).write_bytes(thumbs[n % 10])
        point_latest(good)
    index = gallery.write_index(r)
    size = index.stat().st_size
    page = index.read_text(encoding="utf-8")
    assert page.count('class="sc-thumb"') == 50
    with _browser() as pw:
        browser = _launch(pw)
        try:
            loads = []
            for _ in range(3):
                tab = browser.new_page(viewport={"width": 1280, "height": 900})
                errors = []
                tab.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else 0)
                t0 = time.perf_counter()
                tab.goto(index.as_uri(), wait_until="load")
                wall = time.perf_counter() - t0
                load_ms = tab.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
                decoded = tab.eval_on_selector_all(
                    ".sc-thumb img", "els => els.filter(e => e.complete && e.naturalWidth).length"
                )
                assert not errors and decoded == 50
                loads.append((load_ms / 1000, wall))
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                tab.screenshot(path=str(SCREENSHOTS / "gallery-50.png"))
                tab.close()
        finally:
            browser.close()
    load_s = sorted(a for a, _ in loads)[1]  # the median of 3
    sizes = [len(t) for t in thumbs]
    print(
        f"gallery of 50 scenarios: {size:,} bytes; load event {load_s:.3f} s (median of 3; "
        f"all {[round(a, 3) for a, _ in loads]}, wall {[round(w, 3) for _, w in loads]}); "
        f"thumbnails {min(sizes):,}-{max(sizes):,} bytes"
    )
    assert size < 2_000_000
    assert load_s < 2.0
