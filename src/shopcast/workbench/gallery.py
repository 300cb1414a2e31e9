"""``reports/index.html``: the gallery of every notebook x scenario, one self-contained page.

For each scenario it shows the last good run (headline values, their change since the previous
good run, a link), and, when the newest attempt failed, a red banner linking the failure report
so that nobody mistakes the last good numbers for fresh ones. Each scenario's history is listed,
and a comparison table puts the scenarios of one notebook side by side. The page has no script
and no external resource, so it reads from disk without a server; it is rewritten atomically.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from shopcast.config import CHECKED_NAME, LATEST_NAME, RECORD_NAME
from shopcast.fileio import atomic_write
from shopcast.publish import format_value
from shopcast.workbench.render import CSS
from shopcast.workbench.runs import reap_abandoned

GALLERY_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 16px;
 color:#24292f}
table.sc-t{border-collapse:collapse;font-size:.85em;margin:6px 0}
table.sc-t td,table.sc-t th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
 vertical-align:top}
.sc-stale{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 10px;
 margin:6px 0}
.sc-fail{background:#ffebe9;border:1px solid #cf222e;border-radius:6px;padding:6px 10px;
 margin:6px 0}
.sc-up{color:#1a7f37}.sc-down{color:#cf222e}.sc-muted{color:#57606a;font-size:.85em}
.sc-scen{border-top:1px solid #d0d7de;padding-top:8px;margin-top:10px}
.sc-scen h3{margin:4px 0}
"""


def load_runs(root: Path) -> list[dict[str, Any]]:
    """Every run record under ``root``, oldest first, with its folder relative to ``root``."""
    runs = []
    for path in root.glob(f"*/*/*/{RECORD_NAME}"):
        if path.parent.is_symlink():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        record["_dir"] = path.parent.relative_to(root).as_posix()
        runs.append(record)
    runs.sort(key=lambda r: r.get("run_id", ""))
    return runs


def run_state(record: dict[str, Any]) -> str:
    """``succeeded``, ``failed``, ``running``, or ``abandoned`` (running past its timeout)."""
    status = record.get("status", "failed")
    if status != "running":
        return status
    try:
        started = dt.datetime.fromisoformat(record["started"])
        limit = float(record.get("timeout_s", 0)) + 600
    except (KeyError, ValueError, TypeError):
        return "abandoned"
    age = (dt.datetime.now(dt.UTC) - started).total_seconds()
    return "running" if age < limit else "abandoned"


def _latest_target(root: Path, notebook: str, scenario: str) -> str | None:
    link = root / notebook / scenario / LATEST_NAME
    return os.readlink(link) if link.is_symlink() else None


def _checked(root: Path, notebook: str, scenario: str) -> dict[str, Any] | None:
    try:
        return json.loads((root / notebook / scenario / CHECKED_NAME).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _shown(item: dict[str, Any] | None) -> str:
    return format_value(item.get("value"), item.get("fmt")) if item else "n/a"


def _is_band(name: str, heads: dict[str, Any]) -> bool:
    """True for ``x_p10`` / ``x_p90`` when ``x`` is published too (shown with ``x``)."""
    base = name.removesuffix("_p10").removesuffix("_p90")
    return base != name and base in heads


def _band(name: str, heads: dict[str, Any]) -> str:
    low, high = heads.get(f"{name}_p10"), heads.get(f"{name}_p90")
    if not (low and high):
        return ""
    return (
        f'<span class="sc-muted">P10-P90 {html.escape(_shown(low))} to '
        f"{html.escape(_shown(high))}</span><br>"
    )


def headline_change(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    """The change of one headline value since the previous good run, as HTML ('' if none)."""
    if before is None:
        return '<span class="sc-muted">first good run</span>'
    a, b = before.get("value"), now.get("value")
    if isinstance(a, bool) or isinstance(b, bool):
        return "" if a == b else f'<span class="sc-muted">was {html.escape(_shown(before))}</span>'
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        diff = b - a
        if diff == 0:
            return '<span class="sc-muted">unchanged</span>'
        fmt = now.get("fmt") or ""
        if fmt.endswith("%"):
            text = f"{diff * 100:+.1f} pts"
        else:
            text = ("+" if diff > 0 else "-") + format_value(abs(diff), fmt or None)
        css = "sc-up" if diff > 0 else "sc-down"
        return (
            f'<span class="{css}">{html.escape(text)}</span> <span class="sc-muted">'
            f"(was {html.escape(_shown(before))})</span>"
        )
    if a != b:
        return f'<span class="sc-muted">was {html.escape(_shown(before))}</span>'
    return '<span class="sc-muted">unchanged</span>'


def _headline_table(good: dict[str, Any], previous: dict[str, Any] | None) -> str:
    rows = []
    before = (previous or {}).get("headline", {})
    heads = good.get("headline", {})
    for name, item in heads.items():
        if _is_band(name, heads):
            continue
        change = headline_change(item, before.get(name) if previous else None)
        rows.append(
            f'<tr data-headline="{html.escape(name)}"><td>'
            f'{html.escape(item.get("label") or name)}</td><td class="v">'
            f"{html.escape(_shown(item))}</td><td>{_band(name, heads)}{change}</td></tr>"
        )
    if not rows:
        return '<p class="sc-muted">no headline values</p>'
    return (
        '<table class="sc-t"><tr><th>headline</th><th>value</th><th>since previous good '
        f"run</th></tr>{''.join(rows)}</table>"
    )


def _history(runs: list[dict[str, Any]], latest: str | None) -> str:
    rows = []
    for r in reversed(runs):
        status = run_state(r)
        css = "sc-ok" if status == "succeeded" else "sc-failed"
        mark = " (latest good)" if r.get("run_id") == latest else ""
        rows.append(
            f"<tr><td>{html.escape(r.get('started', ''))}</td>"
            f'<td><span class="sc-status {css}">{html.escape(status)}</span>{mark}</td>'
            f"<td>{r.get('duration_s', 0):.1f} s</td>"
            f'<td><a href="{html.escape(r["_dir"])}/report.html">report</a></td></tr>'
        )
    return (
        f"<details><summary>History: {len(runs)} runs</summary><table class='sc-t'>"
        "<tr><th>started (UTC)</th><th>status</th><th>duration</th><th>link</th></tr>"
        f"{''.join(rows)}</table></details>"
    )


def _scenario_section(root: Path, notebook: str, scenario: str, runs: list[dict[str, Any]]) -> str:
    latest = _latest_target(root, notebook, scenario)
    good_runs = [r for r in runs if r.get("status") == "succeeded"]
    good = next((r for r in good_runs if r.get("run_id") == latest), None)
    previous = None
    if good is not None:
        older = [r for r in good_runs if r.get("run_id", "") < good.get("run_id", "")]
        previous = older[-1] if older else None
    newest = runs[-1]
    state = run_state(newest)
    parts = [
        f'<div class="sc-scen" id="{html.escape(notebook)}--{html.escape(scenario)}" '
        f'data-scenario="{html.escape(scenario)}"><h3>{html.escape(scenario)}</h3>'
    ]
    if state == "running":
        parts.append(
            f'<div class="sc-stale" data-status="running"><b>A run is in progress</b> since '
            f"{html.escape(newest.get('started', ''))}; the values below are from the last good "
            "run.</div>"
        )
    elif state != "succeeded":
        kind = (newest.get("error") or {}).get("kind", state)
        parts.append(
            f'<div class="sc-fail" data-status="failed"><b>The newest run FAILED</b> '
            f"({html.escape(kind)}) at {html.escape(newest.get('started', ''))}: "
            f'<a href="{html.escape(newest["_dir"])}/report.html">failure report</a>. '
            + (
                "The values below are from the last good run, not from this one."
                if good
                else "There is no good run of this scenario yet."
            )
            + "</div>"
        )
    if good is not None:
        checked = _checked(root, notebook, scenario)
        fresh = (
            f"unchanged since {html.escape(good.get('started', ''))} "
            f"(checked {html.escape(checked.get('checked', ''))})"
            if checked and checked.get("run_id") == good.get("run_id")
            else f"run {html.escape(good.get('started', ''))}"
        )
        parts.append(
            f'<p data-run="{html.escape(good["_dir"])}"><span class="sc-status sc-ok">last good'
            f"</span> {fresh}, {good.get('duration_s', 0):.1f} s · "
            f'<a href="{html.escape(good["_dir"])}/report.html">open the report</a></p>'
        )
        parts.append(_headline_table(good, previous))
    parts.append(_history(runs, latest))
    parts.append("</div>")
    return "".join(parts)


def _comparison(scenarios: dict[str, dict[str, Any]]) -> str:
    """Rows = headline values, columns = scenarios (last good runs)."""
    if len(scenarios) < 2:
        return ""
    names: list[str] = []
    labels: dict[str, str] = {}
    for good in scenarios.values():
        for name, item in good.get("headline", {}).items():
            if name not in names and not _is_band(name, good.get("headline", {})):
                names.append(name)
                labels[name] = item.get("label") or name
    head = "".join(f"<th>{html.escape(s)}</th>" for s in scenarios)
    body = "".join(
        f"<tr><td>{html.escape(labels[n])}</td>"
        + "".join(
            f"<td>{html.escape(_shown(g.get('headline', {}).get(n)))}</td>"
            for g in scenarios.values()
        )
        + "</tr>"
        for n in names
    )
    return (
        f"<details open><summary>Scenarios side by side (last good runs)</summary>"
        f"<table class='sc-t sc-compare'><tr><th>headline</th>{head}</tr>{body}</table>"
        "</details>"
    )


def render_index(root: Path) -> str:
    """The gallery page for the runs under ``root``."""
    runs = load_runs(root)
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        grouped[r["notebook"]][r["scenario"]].append(r)
    sections = []
    n_failed = 0
    for notebook in sorted(grouped):
        scen_runs = grouped[notebook]
        title = next(
            (
                r.get("title")
                for r in reversed(runs)
                if r["notebook"] == notebook and r.get("title")
            ),
            notebook,
        )
        good_by_scenario = {}
        for scenario in sorted(scen_runs):
            latest = _latest_target(root, notebook, scenario)
            good = next((r for r in scen_runs[scenario] if r.get("run_id") == latest), None)
            if good:
                good_by_scenario[scenario] = good
            n_failed += run_state(scen_runs[scenario][-1]) not in ("succeeded", "running")
        body = "".join(
            _scenario_section(root, notebook, s, scen_runs[s]) for s in sorted(scen_runs)
        )
        sections.append(
            f'<section class="sc-card" data-notebook="{html.escape(notebook)}">'
            f"<h2>{html.escape(title)}</h2><p class='sc-sub'>notebook "
            f"<code>{html.escape(notebook)}</code> · {len(scen_runs)} scenarios</p>"
            f"{_comparison(good_by_scenario)}{body}</section>"
        )
    summary = (
        f"{len(grouped)} notebooks, {sum(len(s) for s in grouped.values())} scenarios, "
        f"{len(runs)} runs kept"
    )
    alert = (
        f'<div class="sc-fail"><b>{n_failed} scenario(s) failed on their newest run.</b> '
        "They are marked in red below.</div>"
        if n_failed
        else ""
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1.0'>"
        f"<title>shopcast reports</title><style>{CSS}{GALLERY_CSS}</style></head><body>"
        "<header class='sc-card'><h1>shopcast reports</h1>"
        f"<p class='sc-sub'>{html.escape(summary)}</p>{alert}</header>"
        + ("".join(sections) or "<p class='sc-card'>No runs yet: <code>make report</code>.</p>")
        + "</body></html>"
    )


def write_index(root: Path) -> Path:
    """Rewrite ``root/index.html`` atomically; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    reap_abandoned(root)  # a run whose process is gone is shown as abandoned, not running
    target = root / "index.html"
    atomic_write(target, render_index(root))
    return target
