"""The gallery page, rendered from fixture run records on disk (no kernel)."""

from __future__ import annotations

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
