"""`make report`'s batch on the real notebooks, then every page checked in headless Chromium.

The browser checks need Debian's chromium (``.ci/run`` installs it). They never skip silently:
without a browser they fail, unless ``SHOPCAST_NO_BROWSER=1`` says on purpose to leave them out.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from shopcast.config import PARAMS_DIR, PROJ_ROOT
from shopcast.publish import format_value
from shopcast.workbench import batch
from shopcast.workbench.runner import ExitCode

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("SHOPCAST_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = PROJ_ROOT / "reports" / "screenshots"


@pytest.fixture(scope="module")
def default_reports(tmp_path_factory):
    """Every default scenario rendered once into a temporary reports folder."""
    root = tmp_path_factory.mktemp("reports")
    os.environ["SHOPCAST_REPORTS_DIR"] = str(root)
    try:
        code = batch.run_batch(workers=2, root=root)
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


@pytest.mark.browser
def test_pages_in_a_real_browser(default_reports):
    root, _ = default_reports
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with _browser() as pw:
        browser = pw.chromium.launch(
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
