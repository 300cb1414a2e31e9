"""`make report`'s batch on the real notebooks, then every page checked in headless Chromium.

The browser checks need Debian's chromium (``.ci/run`` installs it). They never skip silently:
without a browser they fail, unless ``SHOPCAST_NO_BROWSER=1`` says on purpose to leave them out.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from shopcast.config import DATA_DIR, NOTEBOOKS_DIR, PARAMS_DIR, PROJ_ROOT
from shopcast.publish import format_value
from shopcast.workbench import batch, runner
from shopcast.workbench.exitcodes import ExitCode

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("SHOPCAST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = PROJ_ROOT / "reports" / "screenshots"


@pytest.fixture(scope="module")
def default_reports(tmp_path_factory):
    """Every default scenario rendered once into a temporary reports folder, with PDFs."""
    root = tmp_path_factory.mktemp("reports")
    os.environ["SHOPCAST_REPORTS_DIR"] = str(root)
    try:
        code = batch.run_batch(workers=2, root=root, pdf=True)
    finally:
        os.environ.pop("SHOPCAST_REPORTS_DIR", None)
    return root, code


def _good_records(root: Path) -> list[tuple[Path, dict]]:
    out = []
    for link in root.glob("*/*/latest"):
        record = json.loads((link / "run.json").read_text())
        out.append((link.resolve(), record))
    return out


def test_every_default_scenario_renders(default_reports):
    root, code = default_reports
    assert code == ExitCode.OK
    expected = {(p.parent.name, p.stem) for p in PARAMS_DIR.glob("*/*.yaml")}
    rendered = {(r["notebook"], r["scenario"]) for _, r in _good_records(root)}
    assert rendered == expected
    assert (root / "index.html").is_file()


def _browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("SHOPCAST_NO_BROWSER") == "1":
            pytest.skip("SHOPCAST_NO_BROWSER=1: browser checks left out on purpose")
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install it (apt-get install chromium) or set "
            "SHOPCAST_CHROMIUM; set SHOPCAST_NO_BROWSER=1 to leave these checks out"
        )
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def _open(page, url: str) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url, wait_until="load")
    return errors, requests


def _launch(pw):
    return pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )


@pytest.mark.browser
def test_pages_in_a_real_browser(default_reports):
    root, _ = default_reports
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with _browser() as pw:
        browser = _launch(pw)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors, requests = _open(page, (root / "index.html").as_uri())
            assert not errors
            assert all(u.startswith(("file:", "data:")) for u in requests), requests
            page.screenshot(path=str(SCREENSHOTS / "index.png"), full_page=True)
            gallery_html = page.content()
            for run_dir, record in _good_records(root):
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                errors, requests = _open(page, (run_dir / "report.html").as_uri())
                name = f"{record['notebook']}--{record['scenario']}"
                assert not errors, (name, errors)
                assert all(u.startswith(("file:", "data:")) for u in requests), (name, requests)
                widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
                assert widths and min(widths) > 0, (name, widths)
                for key, item in record["headline"].items():
                    if key.endswith(("_p10", "_p90")):
                        continue
                    shown = page.inner_text(f'#shopcast-header [data-headline="{key}"] .v')
                    assert shown == format_value(item["value"], item.get("fmt")), (name, key)
                    assert format_value(item["value"], item.get("fmt")) in gallery_html
                page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
                page.close()
        finally:
            browser.close()


#: The payloads of the audits (issues 11 and 17), each of which ran, fetched or navigated in a
#: report before every string from data was escaped and the page check parsed the HTML.
PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(2)">source</a>',
    "[source](javascript:alert(3))",
    '<img srcset="https://example.invalid/p.png">',
    '<meta http-equiv="refresh" content="1;url=https://example.invalid/away">',
    '<input type="image" src="https://example.invalid/i.png">',
    "<svg onload=alert(4)>",
    '<iframe srcdoc="<script>alert(5)</script>"></iframe>',
    "<script>alert(6)</script>",
    "$<img src=x onerror=alert(7)>$",
]
#: A file name that is markup too: it reaches the header, the provenance and the prose.
HOSTILE_NAME = "data <b onmouseover=alert(8)>x"  # no slash: a file name


def _hostile_copy(source: Path, target: Path, fields: tuple[str, ...]) -> None:
    """``source`` with the text ``fields`` of every row replaced by the payloads, in turn."""
    with open(source, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    k = 0
    for row in rows:
        for field in fields:
            row[field] = f"{PAYLOADS[k % len(PAYLOADS)]} (row {row[next(iter(row))]})"
            k += 1
    with open(target, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert k >= len(PAYLOADS), "every payload must be placed at least once"


@pytest.fixture(scope="module")
def hostile_reports(tmp_path_factory):
    """A seller facts file and a GMV anchors file whose text fields carry the payloads, run
    through the seller and goal notebooks (small settings: the numbers do not matter here)."""
    root = tmp_path_factory.mktemp("hostile")
    data = tmp_path_factory.mktemp("hostile-data")
    facts, anchors = data / f"{HOSTILE_NAME} facts.csv", data / f"{HOSTILE_NAME} anchors.csv"
    _hostile_copy(DATA_DIR / "seller_size_facts.csv", facts, ("publisher", "period", "source_note"))
    _hostile_copy(DATA_DIR / "gmv_anchors.csv", anchors, ("publisher", "source_note"))
    runs = [
        runner.run(
            NOTEBOOKS_DIR / "seller_thresholds.ipynb",
            cli_params=[
                f"data_file={facts}",
                "scale_from=proxy",  # the hostile copy renames populations: no platform scale
                "n_boot=10",
                "n_sellers=10000",
                "months=3",
                "review_months=[1]",
            ],
            scenario="hostile",
            root=root,
            progress=False,
        ),
        runner.run(
            NOTEBOOKS_DIR / "gmv_goal_forecast.ipynb",
            cli_params=[
                f"data_file={anchors}",
                "model=drift_log",
                "n_draws=20",
                "n_histories=4",
                "n_samples=200",
            ],
            scenario="hostile",
            root=root,
            progress=False,
        ),
    ]
    return root, runs


@pytest.mark.browser
def test_payloads_from_data_stay_text_in_a_real_browser(hostile_reports):
    root, runs = hostile_reports
    assert [r.exit_code for r in runs] == [ExitCode.OK, ExitCode.OK]
    pages = [r.run_dir / "report.html" for r in runs] + [root / "index.html"]
    measured = {"pages": 0, "dialogs": 0, "external_requests": 0, "navigations": 0}
    with _browser() as pw:
        browser = _launch(pw)
        try:
            for path in pages:
                page = browser.new_page(viewport={"width": 1200, "height": 900})
                dialogs: list[str] = []
                page.on("dialog", lambda d, seen=dialogs: (seen.append(d.message), d.dismiss()))
                errors, requests = _open(page, path.as_uri())
                for box in page.query_selector_all("h1, p, td, li, code")[:300]:
                    if box.is_visible():
                        box.hover(timeout=1000)  # a live onmouseover would fire now
                time.sleep(2.5)  # a meta refresh of 1 s would have fired by now
                external = [u for u in requests if not u.startswith(("file:", "data:"))]
                measured["pages"] += 1
                measured["dialogs"] += len(dialogs)
                measured["external_requests"] += len(external)
                measured["navigations"] += page.url != path.as_uri()
                assert not errors, (path, errors)  # a CSP refusal would be logged here
                if path.name == "report.html":  # the gallery shows no data strings
                    text = page.inner_text("body")
                    missing = [p for p in PAYLOADS if p not in text]
                    assert not missing, (path, missing)
                    assert HOSTILE_NAME in page.text_content("body"), path  # in folded details
                page.close()
        finally:
            browser.close()
    assert measured == {"pages": 3, "dialogs": 0, "external_requests": 0, "navigations": 0}
    print(f"payloads tried: {len(PAYLOADS)} in 2 data files and a file name; {measured}")


def test_fresh_kernels_write_nothing_to_stderr(default_reports):
    """Each run starts a fresh kernel: no warning box (e.g. tqdm's IProgress) in any cell."""
    root, _ = default_reports
    import nbformat

    from shopcast.config import EXECUTED_NAME

    for run_dir, record in _good_records(root):
        nb = nbformat.read(run_dir / EXECUTED_NAME, as_version=4)
        stderr = [
            (i, out.get("text", ""))
            for i, cell in enumerate(nb.cells)
            for out in cell.get("outputs", [])
            if out.get("output_type") == "stream" and out.get("name") == "stderr"
        ]
        assert not stderr, (record["notebook"], record["scenario"], stderr)


@pytest.mark.browser
def test_every_report_has_a_pdf_whose_first_page_opens(default_reports):
    """`batch --pdf` (each child runs `shopcast run --pdf`): page one as an image, the header."""
    import subprocess

    from PIL import Image

    root, _ = default_reports
    for tool in ("pdftoppm", "pdftotext"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} missing: install poppler-utils (make browser does)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for run_dir, record in _good_records(root):
        name = f"{record['notebook']}--{record['scenario']}"
        pdf = run_dir / "report.pdf"
        assert pdf.read_bytes().startswith(b"%PDF-"), name
        prefix = SCREENSHOTS / f"{name}--pdf"
        subprocess.run(
            ["pdftoppm", "-f", "1", "-l", "1", "-r", "60", "-png", "-singlefile", str(pdf), prefix],
            check=True,
        )
        image = Image.open(f"{prefix}.png").convert("L")
        assert image.getextrema()[0] < 100, name  # not a blank page
        first = subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True
        ).stdout
        # the header card is on page one (a long title may wrap: compare words, not lines)
        assert " ".join(record["title"].split(":")[0].split()) in " ".join(first.split()), name
        assert "page 1 of" in first, name


def test_every_chart_and_table_carries_its_data_and_every_report_a_thumbnail(default_reports):
    """Each report type: one CSV download per chart and per table; a thumbnail for the gallery."""
    import io
    import re
    from urllib.parse import unquote

    import pandas as pd

    from shopcast.config import THUMBNAIL_NAME
    from shopcast.downloads import CSV_PREFIX, CSV_URL
    from shopcast.workbench.thumbnails import MAX_SIZE, png_size

    root, _ = default_reports
    notebooks, sizes = set(), {}
    for run_dir, record in _good_records(root):
        name = f"{record['notebook']}--{record['scenario']}"
        page = (run_dir / "report.html").read_text(encoding="utf-8")
        charts = page.count('<div class="jp-RenderedImage')
        tables = len(re.findall(r'<table id="T_', page))  # the tables styled() writes
        assert charts >= 1 and tables >= 1, name
        assert page.count("Download the data of this chart") == charts, name
        assert page.count("Download the data of this table") == tables, name
        for href in re.findall(r'<a download="[^"]+\.csv" href="([^"]*)"', page):
            assert CSV_URL.match(href), name
            frame = pd.read_csv(io.StringIO(unquote(href[len(CSV_PREFIX) :])))
            assert len(frame) >= 1 and len(frame.columns) >= 1, name
        thumb = (run_dir / THUMBNAIL_NAME).read_bytes()
        width, height = png_size(thumb)
        assert width <= MAX_SIZE[0] and height <= MAX_SIZE[1], name
        sizes[name] = len(thumb)
        notebooks.add(record["notebook"])
    assert notebooks == {p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb")}
    assert max(sizes.values()) < 12_000, sizes
    gallery = (root / "index.html").read_text(encoding="utf-8")
    assert gallery.count('class="sc-thumb"') == len(sizes)
    print(f"thumbnails: {min(sizes.values()):,}-{max(sizes.values()):,} bytes; {sizes}")
