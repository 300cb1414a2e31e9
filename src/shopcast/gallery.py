"""``reports/index.html``: every run, one self-contained page, rewritten atomically."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

from shopcast.publish import format_value
from shopcast.render import CSS, headline_cards

RECORD_NAME = "run.json"
LATEST_NAME = "latest"


def load_runs(root: Path) -> list[dict[str, Any]]:
    """Every run record under ``root``, newest first, with its folder relative to ``root``."""
    runs = []
    for path in root.glob(f"*/*/*/{RECORD_NAME}"):
        if path.parent.name == LATEST_NAME:
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        record["_dir"] = path.parent.relative_to(root).as_posix()
        latest = path.parent.parent / LATEST_NAME
        record["_is_latest"] = latest.is_symlink() and os.readlink(latest) == path.parent.name
        runs.append(record)
    runs.sort(key=lambda r: r.get("run_id", ""), reverse=True)
    return runs


def _row(run: dict[str, Any]) -> str:
    status = run.get("status", "?")
    css = "sc-ok" if status == "succeeded" else "sc-failed"
    heads = "; ".join(
        f"{html.escape(v.get('label') or k)}: "
        f"{html.escape(format_value(v.get('value'), v.get('fmt')))}"
        for k, v in run.get("headline", {}).items()
    )
    link = f"{run['_dir']}/report.html"
    mark = " (latest)" if run.get("_is_latest") else ""
    return (
        f'<tr data-run="{html.escape(run["_dir"])}"><td>{html.escape(run["notebook"])}</td>'
        f"<td>{html.escape(run['scenario'])}</td>"
        f'<td><span class="sc-status {css}">{html.escape(status)}</span>{mark}</td>'
        f"<td>{html.escape(run.get('started', ''))}</td>"
        f"<td>{run.get('duration_s', 0):.1f} s</td><td>{heads}</td>"
        f'<td><a href="{html.escape(link)}">report</a></td></tr>'
    )


def render_index(root: Path) -> str:
    """The gallery page for the runs under ``root``."""
    runs = load_runs(root)
    rows = "".join(_row(r) for r in runs)
    latest = [r for r in runs if r.get("_is_latest")]
    cards = "".join(
        f'<section class="sc-card"><h2>{html.escape(r["notebook"])} / '
        f"{html.escape(r['scenario'])}</h2>{headline_cards(r.get('headline', {}))}"
        f'<a href="{html.escape(r["_dir"])}/report.html">open the report</a></section>'
        for r in latest
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>shopcast reports</title>"
        f"<style>{CSS} body{{font-family:system-ui,sans-serif;margin:0 16px}}"
        " table.runs{border-collapse:collapse;margin:auto;max-width:1100px;font-size:.9em}"
        " table.runs td,table.runs th{border:1px solid #d0d7de;padding:3px 8px}</style></head>"
        "<body><header class='sc-card'><h1>shopcast reports</h1>"
        f"<p class='sc-sub'>{len(runs)} runs</p></header>{cards}"
        "<section class='sc-card'><h2>All runs</h2><table class='runs'><tr><th>notebook</th>"
        "<th>scenario</th><th>status</th><th>started (UTC)</th><th>duration</th>"
        f"<th>headline values</th><th>link</th></tr>{rows}</table></section></body></html>"
    )


def write_index(root: Path) -> Path:
    """Rewrite ``root/index.html`` atomically; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / "index.html"
    tmp = root / f".index.html.{os.getpid()}.tmp"
    tmp.write_text(render_index(root), encoding="utf-8")
    os.replace(tmp, target)
    return target
