"""Self-contained HTML reports, rendered in-process with nbconvert.

A report has no code inputs, no injected-parameters cell, no prompts, images embedded as data
URIs and no external URL (no CDN script, stylesheet or font): the ``shopcast`` template drops the
lab template's require.js, MathJax, mermaid and widget scripts. A header card shows title,
scenario, status, headline values, parameters and provenance. A failed run gets an error banner
with the failing cell's source, the error and its traceback, above what did run.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jinja2
import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import strip_ansi

from shopcast.config import TEMPLATES_DIR
from shopcast.exceptions import RenderError
from shopcast.formatting import p10_p90
from shopcast.publish import HEADLINE_MIME, INPUT_MIME, format_value
from shopcast.workbench.safety import CSP, check_self_contained

__all__ = ["RenderError", "check_self_contained", "render_html"]

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
.sc-download{margin:2px 0 12px 0;font:12px system-ui,sans-serif}
@media print{.sc-download{display:none}}
"""


#: Report header, failure banner, footer, fallback page and gallery: Jinja2 with autoescape, so
#: every string from a run record (parameters, file names, labels, errors) reaches a page as text.
PAGES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR / "pages")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=False,
)


def _shown(item: dict[str, Any]) -> str:
    return format_value(item.get("value"), item.get("fmt"))


def headline_band(name: str, heads: dict[str, dict[str, Any]]) -> str:
    """``"P10-P90 $5.0B to $73.5B"`` for ``name`` published with ``name_p10`` and ``name_p90``.

    Returns '' when either is missing.
    """
    low, high = heads.get(f"{name}_p10"), heads.get(f"{name}_p90")
    if not (low and high):
        return ""
    return p10_p90(low, high, _shown)


def is_band(name: str, heads: dict[str, Any]) -> bool:
    """True for ``x_p10`` / ``x_p90`` when ``x`` is published too (shown with ``x``)."""
    base = name.removesuffix("_p10").removesuffix("_p90")
    return base != name and base in heads


def _cards(headline: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "shown": _shown(item),
            "band": headline_band(name, headline),
            "label": item.get("label") or name,
        }
        for name, item in headline.items()
        if not is_band(name, headline)
    ]


def headline_cards(headline: dict[str, dict[str, Any]]) -> str:
    """Headline values as cards.

    A value ``x`` published with siblings ``x_p10`` and ``x_p90`` is shown as one card with its
    P10-P90 range underneath.
    """
    macro = PAGES.get_template("headlines.html.j2").module.headline_cards
    return str(macro(_cards(headline)))


def _banner(record: dict[str, Any]) -> dict[str, Any] | None:
    error = record.get("error")
    if not error:
        return None
    return {
        "kind": error.get("kind", "error"),
        "ename": error.get("ename", ""),
        "evalue": error.get("evalue", ""),
        "source": error.get("source") or "",
        "cell": (error.get("cell_index") or 0) + 1,
        "traceback": strip_ansi("\n".join(error.get("traceback") or [])),
    }


def header_html(record: dict[str, Any]) -> str:
    """The header card of a report from its run record (then the banner of a failed run)."""
    code = record.get("code_version", {})
    packages = ", ".join(f"{k} {v}" for k, v in record.get("packages", {}).items())
    view = {
        "title": record.get("title", record["notebook"]),
        "scenario": record["scenario"],
        "notebook": record["notebook"],
        "ok": record["status"] == "succeeded",
        "status": record["status"],
        "cards": _cards(record.get("headline", {})),
        "parameters": [(k, repr(v), True) for k, v in record.get("parameters", {}).items()],
        "provenance": [
            (
                "code version",
                f"{code.get('commit', 'unknown')}"
                f"{' (uncommitted changes)' if code.get('dirty') else ''}",
            ),
            ("run", f"{record.get('started', '')} UTC, {record.get('duration_s', 0):.1f} s"),
            ("python", record.get("python", "")),
            ("packages", packages),
        ],
        "data_files": [
            (path, f"sha256 {digest}", True)
            for path, digest in record.get("data_sha256", {}).items()
        ],
    }
    return PAGES.get_template("header.html.j2").render(h=view, b=_banner(record))


def failure_banner(record: dict[str, Any]) -> str:
    """The error banner of a failed run ('' for a good one)."""
    return PAGES.get_template("banner.html.j2").render(b=_banner(record))


def footer_html(record: dict[str, Any]) -> str:
    """The report's footer line: notebook, scenario, run."""
    return PAGES.get_template("footer.html.j2").render(
        notebook=record["notebook"], scenario=record["scenario"], run_id=record.get("run_id", "")
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
    resources = {
        "shopcast": {
            "css": CSS,
            "csp": CSP,
            "header_html": header_html(record),
            "footer_html": footer_html(record),
        },
        "metadata": {"name": record.get("title", record["notebook"])},
    }
    body, _ = exporter.from_notebook_node(_for_readers(nb), resources=resources)
    page = _strip_style_comments(body)
    check_self_contained(page)
    return page


def fallback_html(record: dict[str, Any]) -> str:
    """A minimal page for a run whose report could not be rendered (header and error only)."""
    return PAGES.get_template("fallback.html.j2").render(
        title=record.get("title", record["notebook"]),
        csp=CSP,
        css=CSS,
        header=header_html(record),  # rendered by a template: already escaped
    )


def _strip_style_comments(page: str) -> str:
    """Drop CSS comments (the lab theme's carry credit URLs): no external URL stays in a page."""
    return re.sub(
        r"(<style[^>]*>)(.*?)(</style>)",
        lambda m: m.group(1) + re.sub(r"/\*.*?\*/", "", m.group(2), flags=re.S) + m.group(3),
        page,
        flags=re.S,
    )
