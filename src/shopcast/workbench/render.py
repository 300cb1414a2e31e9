"""Self-contained HTML reports, rendered in-process with nbconvert.

A report has no code inputs, no injected-parameters cell, no prompts, images embedded as data
URIs and no external URL (no CDN script, stylesheet or font): the ``shopcast`` template drops the
lab template's require.js, MathJax, mermaid and widget scripts. A header card shows title,
scenario, status, headline values, parameters and provenance. A failed run gets an error banner
with the failing cell's source, the error and its traceback, above what did run.
"""

from __future__ import annotations

import copy
import html
import re
from typing import Any

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import strip_ansi

from shopcast.config import TEMPLATES_DIR
from shopcast.exceptions import RenderError
from shopcast.publish import HEADLINE_MIME, INPUT_MIME, format_value

SCRIPT_MIMES = {
    "application/javascript",
    "text/javascript",
    "application/vnd.jupyter.widget-view+json",
}
HIDDEN_TAGS = {"injected-parameters", "parameters", "remove-cell"}

CSS = """
.sc-card{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;
 margin:16px auto;padding:16px 22px;border:1px solid #d0d7de;border-radius:8px;background:#f6f8fa}
.sc-card h1{margin:0 0 4px 0;font-size:1.6em}.sc-sub{color:#57606a;margin:0 0 10px 0}
.sc-status{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.sc-ok{background:#1a7f37}.sc-failed{background:#cf222e}
.sc-heads{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.sc-head{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;
 min-width:150px}
.sc-head .v{font-size:1.35em;font-weight:700}.sc-head .l{color:#57606a;font-size:.85em}
.sc-card table{border-collapse:collapse;font-size:.85em}
.sc-card td,.sc-card th{border:1px solid #d0d7de;padding:2px 8px;text-align:left;vertical-align:top}
.sc-card details{margin-top:8px}.sc-card code{font-size:.9em;word-break:break-all}
.sc-banner{background:#ffebe9;border:1px solid #cf222e;border-radius:8px;padding:12px 18px;
 max-width:1100px;margin:16px auto;font-family:system-ui,sans-serif}
.sc-banner pre{white-space:pre-wrap;background:#fff;padding:8px;border:1px solid #d0d7de;
 font-size:.85em;overflow-x:auto}
.sc-head .r{color:#24292f;font-size:.85em}
.jp-RenderedHTMLCommon table{font-size:12px;table-layout:auto}
.jp-RenderedHTMLCommon td,.jp-RenderedHTMLCommon th{text-align:left!important;max-width:36em;
 white-space:normal;vertical-align:top}
.sc-foot{max-width:1100px;margin:24px auto;color:#57606a;font:12px system-ui,sans-serif}
"""


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>" if rows else ""


def _shown(item: dict[str, Any]) -> str:
    return format_value(item.get("value"), item.get("fmt"))


def headline_cards(headline: dict[str, dict[str, Any]]) -> str:
    """Headline values as cards (shared with the gallery).

    A value ``x`` published with siblings ``x_p10`` and ``x_p90`` is shown as one card with its
    P10-P90 range underneath.
    """
    cards = []
    for name, item in headline.items():
        base = name.removesuffix("_p10").removesuffix("_p90")
        if base != name and base in headline:
            continue
        shown = _shown(item)
        low, high = headline.get(f"{name}_p10"), headline.get(f"{name}_p90")
        band = ""
        if low and high:
            band = (
                f'<div class="r">P10-P90: {html.escape(_shown(low))} to '
                f"{html.escape(_shown(high))}</div>"
            )
        cards.append(
            f'<div class="sc-head" data-headline="{html.escape(name)}">'
            f'<div class="v">{html.escape(shown)}</div>{band}'
            f'<div class="l">{html.escape(item.get("label") or name)}</div></div>'
        )
    return f'<div class="sc-heads">{"".join(cards)}</div>' if cards else ""


def header_html(record: dict[str, Any]) -> str:
    """The header card of a report, from its run record."""
    ok = record["status"] == "succeeded"
    status = (
        '<span class="sc-status sc-ok">succeeded</span>'
        if ok
        else f'<span class="sc-status sc-failed">{html.escape(record["status"].upper())}</span>'
    )
    params = _table(
        [
            (k, f"<code>{html.escape(repr(v))}</code>")
            for k, v in record.get("parameters", {}).items()
        ]
    )
    data = (
        _table(
            [
                (p, f"<code>sha256 {html.escape(h)}</code>")
                for p, h in record.get("data_sha256", {}).items()
            ]
        )
        or "none recorded"
    )
    packages = ", ".join(
        f"{html.escape(k)} {html.escape(str(v))}" for k, v in record.get("packages", {}).items()
    )
    code = record.get("code_version", {})
    provenance = _table(
        [
            (
                "code version",
                html.escape(
                    f"{code.get('commit', 'unknown')}"
                    f"{' (uncommitted changes)' if code.get('dirty') else ''}"
                ),
            ),
            (
                "run",
                html.escape(
                    f"{record.get('started', '')} UTC, {record.get('duration_s', 0):.1f} s"
                ),
            ),
            ("python", html.escape(record.get("python", ""))),
            ("packages", packages),
            ("data files", data),
        ]
    )
    return (
        '<header class="sc-card" id="shopcast-header">'
        f"<h1>{html.escape(record.get('title', record['notebook']))}</h1>"
        f'<p class="sc-sub">scenario <b>{html.escape(record["scenario"])}</b> · '
        f"{html.escape(record['notebook'])} · {status}</p>"
        f"{headline_cards(record.get('headline', {}))}"
        f"<details><summary>Parameters</summary>{params}</details>"
        f"<details><summary>Provenance: data checksums, code and package versions</summary>"
        f"{provenance}</details></header>" + failure_banner(record)
    )


def failure_banner(record: dict[str, Any]) -> str:
    """The error banner of a failed run ('' for a good one)."""
    error = record.get("error")
    if not error:
        return ""
    source = error.get("source")
    cell = (
        (f"<p>Failing cell (cell {error['cell_index'] + 1}):</p><pre>{html.escape(source)}</pre>")
        if source
        else ""
    )
    trace = strip_ansi("\n".join(error.get("traceback") or []))
    return (
        '<section class="sc-banner" id="shopcast-error">'
        f"<h2>This run failed: {html.escape(error.get('kind', 'error'))}</h2>"
        f"<p><b>{html.escape(error.get('ename', ''))}</b>: "
        f"{html.escape(error.get('evalue', ''))}</p>"
        f"{cell}<details open><summary>Traceback</summary><pre>{html.escape(trace)}</pre>"
        "</details><p>The last good report of this scenario is unchanged; "
        "its link is in the gallery (reports/index.html).</p></section>"
    )


def _for_readers(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without hidden cells, stderr streams and shopcast's own outputs."""
    nb = copy.deepcopy(nb)
    cells = []
    heading = "chart"
    for cell in nb.cells:
        if HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        if cell.cell_type == "markdown":
            heading = next(
                (
                    line.lstrip("#").strip()
                    for line in cell.source.splitlines()
                    if line.startswith("#")
                ),
                heading,
            )
        if cell.cell_type == "code":
            kept = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    continue
                data = out.get("data", {})
                if HEADLINE_MIME in data or INPUT_MIME in data:
                    continue
                for mime in SCRIPT_MIMES & set(data):  # scripts never reach a report
                    del data[mime]
                if out.get("output_type") in ("display_data", "execute_result") and not data:
                    continue
                if "image/png" in data:  # readers with screen readers get the section's title
                    meta = out.setdefault("metadata", {}).setdefault("image/png", {})
                    meta.setdefault("alt", f"Chart: {heading}")
                kept.append(out)
            cell.outputs = kept
        cells.append(cell)
    nb.cells = cells
    return nb


def notebook_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first markdown heading of a notebook, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def render_html(nb: nbformat.NotebookNode, record: dict[str, Any]) -> str:
    """The report of one run as one self-contained HTML page."""
    exporter = HTMLExporter(
        template_name="shopcast",
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    foot = (
        f'<footer class="sc-foot">shopcast report · {html.escape(record["notebook"])} / '
        f"{html.escape(record['scenario'])} · run {html.escape(record.get('run_id', ''))}"
        "</footer>"
    )
    resources = {
        "shopcast": {"css": CSS, "header_html": header_html(record), "footer_html": foot},
        "metadata": {"name": record.get("title", record["notebook"])},
    }
    body, _ = exporter.from_notebook_node(_for_readers(nb), resources=resources)
    page = _strip_style_comments(body)
    check_self_contained(page)
    return page


#: What a self-contained report must not hold: scripts, or anything fetched from a URL.
FORBIDDEN = (
    (r"<script\b", "a script"),
    (
        r"<(?:img|link|iframe|embed|source|video|audio)\b[^>]*\b(?:src|href)\s*=\s*[\"']?"
        r"(?:https?:)?//",
        "an element that loads a URL",
    ),
    (r"@import|url\(\s*[\"']?(?:https?:)?//", "a stylesheet that loads a URL"),
)


def check_self_contained(page: str) -> None:
    """Raise :class:`RenderError` if the page would run a script or fetch anything."""
    for pattern, what in FORBIDDEN:
        found = re.search(pattern, page, flags=re.I)
        if found:
            start = max(found.start() - 60, 0)
            raise RenderError(
                f"the report would contain {what} (near {page[start : found.end() + 60]!r}); "
                "reports must be self-contained: embed images, drop JavaScript outputs and "
                "external links to resources"
            )


def fallback_html(record: dict[str, Any]) -> str:
    """A minimal page for a run whose report could not be rendered (header and error only)."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(record.get('title', record['notebook']))}</title>"
        f"<style>{CSS}</style></head><body>{header_html(record)}</body></html>"
    )


def _strip_style_comments(page: str) -> str:
    """Drop CSS comments (the lab theme's carry credit URLs): no external URL stays in a page."""
    return re.sub(
        r"(<style[^>]*>)(.*?)(</style>)",
        lambda m: m.group(1) + re.sub(r"/\*.*?\*/", "", m.group(2), flags=re.S) + m.group(3),
        page,
        flags=re.S,
    )
