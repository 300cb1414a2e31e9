"""report.pdf: a report printed by headless Chromium, its first page opened as an image."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess

import nbformat
import pytest
from matplotlib.figure import Figure
from PIL import Image

from shopcast.workbench import pdf
from shopcast.workbench.render import render_html

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _tools():
    for tool in ("pdftoppm", "pdftotext", "pdfinfo"):
        if not shutil.which(tool):
            pytest.fail(f"{tool} missing: install poppler-utils (make browser does)")


def _png(n_points: int) -> str:
    fig = Figure(figsize=(7, 4.5))
    fig.add_subplot().plot(range(n_points))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A report with a header card, six charts and a long table: several pages."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A printed report")]
    for i in range(6):
        nb.cells.append(nbformat.v4.new_markdown_cell(f"## Chart {i + 1}"))
        cell = nbformat.v4.new_code_cell("chart")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(i + 3)})]
        nb.cells.append(cell)
    record = {
        "notebook": "printed",
        "scenario": "base",
        "status": "succeeded",
        "title": "A printed report",
        "headline": {"total": {"value": 1234.5, "label": "Total", "fmt": ",.1f"}},
        "parameters": {"n": 3},
    }
    path = tmp_path_factory.mktemp("pdf") / "report.html"
    path.write_text(render_html(nb, record), encoding="utf-8")
    return path


def test_printable_adds_print_rules_and_opens_details():
    page = "<html><head><title>t</title></head><body><details><summary>P</summary></details>"
    out = pdf.printable(page)
    assert out.index("@page") < out.index("</head>")
    assert "<details open>" in out and "<details>" not in out


def test_report_pdf_opens_with_the_header_on_page_one(report):
    _tools()
    written = pdf.write_pdf(report)
    assert written == report.with_name("report.pdf")
    assert written.read_bytes().startswith(b"%PDF-")
    info = subprocess.run(["pdfinfo", str(written)], capture_output=True, text=True).stdout
    pages = int(next(ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")))
    assert pages >= 2
    assert "A4" in info
    first = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(written), "-"],
        capture_output=True,
        text=True,
    ).stdout
    assert "A printed report" in first and "1,234.5" in first  # the header card
    assert f"page 1 of {pages}" in first  # page numbers in the margin
    last = subprocess.run(
        ["pdftotext", "-f", str(pages), "-l", str(pages), str(written), "-"],
        capture_output=True,
        text=True,
    ).stdout
    assert f"page {pages} of {pages}" in last
    # the first page as an image: A4 proportions, and not blank
    prefix = report.with_name("page")
    subprocess.run(
        ["pdftoppm", "-f", "1", "-l", "1", "-r", "40", "-png", str(written), str(prefix)],
        check=True,
    )
    image = Image.open(next(report.parent.glob("page*.png"))).convert("L")
    assert abs(image.height / image.width - 297 / 210) < 0.02
    assert image.getextrema()[0] < 100  # dark pixels: text and the card were drawn


def test_no_chart_is_cut_across_pages(report):
    """pdfimages lists an image once per page it is drawn on: six charts, six entries."""
    _tools()
    written = pdf.write_pdf(report)
    listing = subprocess.run(
        ["pdfimages", "-list", str(written)], capture_output=True, text=True
    ).stdout
    if not listing:
        pytest.fail("pdfimages (poppler-utils) printed nothing")
    rows = [ln.split() for ln in listing.splitlines()[2:] if ln.strip()]
    charts = [r for r in rows if r[2] == "image" and int(r[3]) == 700]
    assert len(charts) == 6, listing  # a chart cut by a page break would appear twice


def test_missing_chromium_is_a_clear_error(report, monkeypatch):
    monkeypatch.setenv("SHOPCAST_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pdf.PdfError, match="no Chromium at /nonexistent/chromium"):
        pdf.write_pdf(report)
