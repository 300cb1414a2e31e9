"""What an analyst sees in JupyterLab: a real Lab server, opened in headless Chromium.

Lab renders Markdown with its own parser and then runs MathJax over the rendered output, so a
Markdown output is checked here, in Lab itself, not against a description of its rules. The
notebook opened carries saved outputs, so no kernel is needed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
import pytest

from shopcast.config import PROJ_ROOT
from shopcast.publish import headline_bundle
from shopcast.report_text import md_escape

pytestmark = [pytest.mark.slow, pytest.mark.browser]
CHROMIUM = os.environ.get("SHOPCAST_CHROMIUM", "/usr/bin/chromium")
HEADLINE = "The window's total is $19.7B at the median, P10-P90 $5.0B to $73.5B."
TOKEN = "shopcast-test"


def lab_flags() -> list[str]:
    """What `make lab` adds: Jupyter refuses to start as root without --allow-root."""
    return ["--allow-root"] if os.getuid() == 0 else []


def test_make_lab_passes_allow_root_when_root():
    out = subprocess.run(
        ["make", "-n", "lab"], cwd=PROJ_ROOT, capture_output=True, text=True, check=True
    ).stdout
    line = next(ln for ln in out.splitlines() if "jupyter lab" in ln)
    assert ("--allow-root" in line) == (os.getuid() == 0), line


def _notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "shopcast", "display_name": "Python (shopcast)"}
    outputs = {
        "escaped": {"text/markdown": md_escape(HEADLINE), "text/plain": "escaped"},
        "unescaped": {"text/markdown": HEADLINE, "text/plain": "unescaped"},
        "card": headline_bundle(
            {"name": "gmv_factor", "value": 0.87654321, "label": "GMV kept", "fmt": ".0%"}
        ),
    }
    for name, data in outputs.items():
        cell = nbformat.v4.new_code_cell(f"# {name}")
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
        nb.cells.append(cell)
    nbformat.write(nb, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a private folder holding one notebook with saved outputs."""
    root = tmp_path_factory.mktemp("lab")
    _notebook(root / "outputs.ipynb")
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={root / '.workspaces'}",
        *lab_flags(),
    ]
    log = open(root / "lab.log", "w")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(root / 'lab.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        yield f"{url}/lab/tree/outputs.ipynb?token={TOKEN}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_lab_shows_dollars_and_the_published_card(lab):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: install it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(lab)
            page.wait_for_selector(".jp-Cell .jp-RenderedMarkdown", timeout=120_000)
            cells, outputs = page.locator(".jp-Notebook .jp-Cell"), ".jp-OutputArea-output"
            # the control: Lab typesets the unescaped text as maths (so MathJax has run)
            unescaped = cells.nth(1).locator(outputs)
            unescaped.locator("mjx-container").first.wait_for(timeout=60_000)
            escaped = cells.nth(0).locator(outputs)
            assert escaped.locator("mjx-container").count() == 0
            assert escaped.inner_text().strip() == HEADLINE
            card = cells.nth(2).locator(outputs).inner_text()
            assert "88%" in card and "GMV kept" in card
            assert "gmv_factor = 0.87654321" in card
        finally:
            browser.close()
