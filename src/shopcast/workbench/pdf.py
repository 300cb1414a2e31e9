"""``report.pdf`` beside ``report.html``: the report printed by headless Chromium.

The same Chromium the browser checks use (Debian's ``/usr/bin/chromium``, or ``SHOPCAST_CHROMIUM``)
prints the self-contained report with ``--print-to-pdf``; no Python package is needed at run time.
Print rules are added to a temporary copy of the page, so the HTML report itself is unchanged:
A4 pages numbered "page N of M" in the bottom margin (CSS margin boxes, Chromium 131 and later),
the header card on page one, charts and table rows never cut across a page break, code and
collapsed sections (parameters, provenance) opened so that what a reader would expand is printed.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from shopcast.exceptions import PdfError
from shopcast.fileio import atomic_write

log = logging.getLogger("shopcast")

PDF_NAME = "report.pdf"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
PDF_TIMEOUT_S = 180

PRINT_CSS = """
@page{size:A4;margin:14mm 12mm 16mm 12mm;
 @bottom-right{content:"page " counter(page) " of " counter(pages);
  font:9px system-ui,sans-serif;color:#57606a}
}
@media print{
 html,body{background:#fff!important}
 body{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 #shopcast-header{break-before:avoid;break-after:auto;margin-top:0}
 img,svg,figure,.sc-head,.sc-chart{break-inside:avoid;max-width:100%!important;
  height:auto!important}
 .jp-OutputArea-output:has(img){break-inside:avoid}
 tr,td,th{break-inside:avoid}
 .jp-OutputArea-output,.jp-RenderedHTMLCommon{overflow:visible!important}
 .jp-RenderedHTMLCommon table{font-size:8.5px!important}
 h1,h2,h3,h4{break-after:avoid}
 details>summary{list-style:none}
 .sc-download,.sc-noprint{display:none!important}
}
"""


def chromium_path() -> str:
    """The Chromium to print with: ``SHOPCAST_CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    return os.environ.get("SHOPCAST_CHROMIUM", DEFAULT_CHROMIUM)


def printable(page: str) -> str:
    """The report's HTML with the print rules added and every ``<details>`` opened."""
    page = page.replace("<details>", "<details open>")
    style = f"<style>{PRINT_CSS}</style>"
    head_end = page.lower().find("</head>")
    if head_end < 0:
        return style + page
    return page[:head_end] + style + page[head_end:]


def write_pdf(
    html_path: Path, pdf_path: Path | None = None, timeout_s: float = PDF_TIMEOUT_S
) -> Path:
    """Print a report to PDF with headless Chromium; the PDF is written atomically.

    Args:
        html_path: the report (``report.html``).
        pdf_path: where to write (default: ``report.pdf`` beside the report).
        timeout_s: give up after this many seconds.

    Returns:
        The PDF's path.

    Raises:
        PdfError: no Chromium, Chromium failed or timed out, or it wrote no PDF.
    """
    html_path = Path(html_path)
    pdf_path = Path(pdf_path) if pdf_path else html_path.with_name(PDF_NAME)
    chromium = chromium_path()
    if not (shutil.which(chromium) or Path(chromium).is_file()):
        raise PdfError(
            f"no Chromium at {chromium} to print {html_path} to PDF: install it "
            "(apt-get install chromium) or set SHOPCAST_CHROMIUM to a Chromium executable"
        )
    with tempfile.TemporaryDirectory(prefix="shopcast-pdf-") as tmp:
        tmp_dir = Path(tmp)
        source = tmp_dir / "report.html"
        source.write_text(printable(html_path.read_text(encoding="utf-8")), encoding="utf-8")
        out = tmp_dir / "report.pdf"
        cmd = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_dir / 'profile'}",
            f"--print-to-pdf={out}",
            source.as_uri(),
        ]
        if os.getuid() == 0:  # Chromium refuses to start its sandbox as root
            cmd.insert(1, "--no-sandbox")
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not print {html_path} within {timeout_s:.0f} s") from None
        if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            tail = (done.stderr or "").strip().splitlines()[-3:]
            raise PdfError(
                f"Chromium could not print {html_path} to PDF (exit {done.returncode}): "
                f"{' | '.join(tail) or 'no PDF written'}"
            )
        data = out.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise PdfError(f"Chromium wrote something that is not a PDF for {html_path}")
    atomic_write(pdf_path, data)
    log.info("PDF written: %s (%d bytes)", pdf_path, len(data))
    return pdf_path
