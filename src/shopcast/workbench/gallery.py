"""``reports/index.html``: the gallery of every notebook x scenario, one self-contained page.

For each scenario it shows the last good run (a thumbnail of its key chart, headline values,
their change since the previous good run, a link), and, when the newest attempt failed, a red
banner linking the failure report so that nobody mistakes the last good numbers for fresh ones.
Each scenario's history is listed, and a comparison table puts the scenarios of one notebook side
by side. The page has no script and no external resource, so it reads from disk without a
server; it is rewritten atomically.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shopcast.config import CHECKED_NAME, LATEST_NAME, RECORD_NAME
from shopcast.fileio import atomic_write
from shopcast.publish import format_value
from shopcast.workbench.render import CSS, PAGES, headline_band, is_band
from shopcast.workbench.runs import reap_abandoned
from shopcast.workbench.safety import CSP, check_self_contained
from shopcast.workbench.thumbnails import read_thumbnail

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
.sc-row{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
.sc-row>table{flex:1 1 420px;margin-top:0}
section.sc-card details{overflow-x:auto}
.sc-thumb img{display:block;border:1px solid #d0d7de;border-radius:4px;background:#fff}
.sc-nothumb{width:160px;padding:8px;border:1px dashed #d0d7de;border-radius:4px;
 color:#57606a;font-size:.8em}
"""


def load_runs(root: Path) -> list[dict[str, Any]]:
    """Every run record under ``root``, oldest first, with its folder relative to ``root``."""
    runs = []
    for path in root.glob(f"*/*/*/{RECORD_NAME}"):
        if path.parent.is_symlink():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict):
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


def _link(run_dir: str) -> str:
    """A relative link to a run's report, percent-encoded and starting with ``./``.

    No folder name (``javascript:x``, ``//host``) can turn it into a script or another site.
    """
    return f"./{quote(run_dir)}/report.html"


def _duration(record: dict[str, Any]) -> str:
    try:
        return f"{float(record.get('duration_s', 0)):.1f} s"
    except (TypeError, ValueError):
        return "? s"


def headline_change(now: dict[str, Any], before: dict[str, Any] | None) -> dict[str, str]:
    """The change of one headline value since the previous good run.

    Returns:
        ``css`` (``"sc-up"``/``"sc-down"`` for a numeric change, else ``""``), ``text`` (the
        change, or a note: "first good run", "unchanged", "was X"; ``""`` for nothing to say)
        and ``was`` (the previous value, for a numeric change).
    """

    def note(text: str) -> dict[str, str]:
        return {"css": "", "text": text, "was": ""}

    if before is None:
        return note("first good run")
    a, b = before.get("value"), now.get("value")
    if isinstance(a, bool) or isinstance(b, bool):
        return note("" if a == b else f"was {_shown(before)}")
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        diff = b - a
        if diff == 0:
            return note("unchanged")
        fmt = now.get("fmt") or ""
        if fmt.endswith("%"):
            text = f"{diff * 100:+.1f} pts"
        else:
            text = ("+" if diff > 0 else "-") + format_value(abs(diff), fmt or None)
        return {"css": "sc-up" if diff > 0 else "sc-down", "text": text, "was": _shown(before)}
    return note(f"was {_shown(before)}" if a != b else "unchanged")


def _headlines(good: dict[str, Any], previous: dict[str, Any] | None) -> list[dict[str, Any]]:
    before = (previous or {}).get("headline", {})
    heads = good.get("headline", {})
    return [
        {
            "name": name,
            "label": item.get("label") or name,
            "shown": _shown(item),
            "band": headline_band(name, heads),
            "change": headline_change(item, before.get(name) if previous else None),
        }
        for name, item in heads.items()
        if not is_band(name, heads)
    ]


def _scenario(
    root: Path, notebook: str, scenario: str, runs: list[dict[str, Any]]
) -> dict[str, Any]:
    latest = _latest_target(root, notebook, scenario)
    good_runs = [r for r in runs if r.get("status") == "succeeded"]
    good = next((r for r in good_runs if r.get("run_id") == latest), None)
    newest = runs[-1]
    view: dict[str, Any] = {
        "name": scenario,
        "state": run_state(newest),
        "newest_started": newest.get("started", ""),
        "newest_link": _link(newest["_dir"]),
        "failure_kind": (newest.get("error") or {}).get("kind", run_state(newest)),
        "good": None,
        "history": [
            {
                "started": r.get("started", ""),
                "status": run_state(r),
                "css": "sc-ok" if run_state(r) == "succeeded" else "sc-failed",
                "latest": r.get("run_id") == latest,
                "duration": _duration(r),
                "link": _link(r["_dir"]),
            }
            for r in reversed(runs)
        ],
    }
    if good is not None:
        older = [r for r in good_runs if r.get("run_id", "") < good.get("run_id", "")]
        checked = _checked(root, notebook, scenario)
        fresh = (
            f"unchanged since {good.get('started', '')} (checked {checked.get('checked', '')})"
            if checked and checked.get("run_id") == good.get("run_id")
            else f"run {good.get('started', '')}"
        )
        view["good"] = {
            "dir": good["_dir"],
            "link": _link(good["_dir"]),
            "fresh": fresh,
            "duration": _duration(good),
            "headlines": _headlines(good, older[-1] if older else None),
            "thumbnail": read_thumbnail(root / good["_dir"]),
        }
    return view


def _comparison(scenarios: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """Rows = headline values, columns = scenarios (last good runs); None for fewer than two."""
    if len(scenarios) < 2:
        return None
    names: list[str] = []
    labels: dict[str, str] = {}
    for good in scenarios.values():
        for name, item in good.get("headline", {}).items():
            if name not in names and not is_band(name, good.get("headline", {})):
                names.append(name)
                labels[name] = item.get("label") or name
    return {
        "scenarios": list(scenarios),
        "rows": [
            {
                "label": labels[n],
                "cells": [_shown(g.get("headline", {}).get(n)) for g in scenarios.values()],
            }
            for n in names
        ],
    }


def gallery_view(root: Path) -> dict[str, Any]:
    """What the gallery shows for the runs under ``root`` (the template's input)."""
    runs = load_runs(root)
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        r["notebook"], r["scenario"] = str(r.get("notebook", "?")), str(r.get("scenario", "?"))
        grouped[r["notebook"]][r["scenario"]].append(r)
    notebooks = []
    n_failed = 0
    for notebook in sorted(grouped):
        scen_runs = grouped[notebook]
        title = next(
            (
                r.get("title")
                for r in reversed(runs)
                if r.get("notebook") == notebook and r.get("title")
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
        notebooks.append(
            {
                "name": notebook,
                "title": title,
                "compare": _comparison(good_by_scenario),
                "scenarios": [
                    _scenario(root, notebook, s, scen_runs[s]) for s in sorted(scen_runs)
                ],
            }
        )
    return {
        "csp": CSP,
        "css": CSS + GALLERY_CSS,
        "summary": (
            f"{len(grouped)} notebooks, {sum(len(s) for s in grouped.values())} scenarios, "
            f"{len(runs)} runs kept"
        ),
        "n_failed": n_failed,
        "notebooks": notebooks,
    }


def render_index(root: Path) -> str:
    """The gallery page for the runs under ``root``.

    It is checked like a report: no script, no fetch, links only to its reports.
    """
    page = PAGES.get_template("gallery.html.j2").render(g=gallery_view(root))
    check_self_contained(page, relative_links=True)
    return page


def write_index(root: Path) -> Path:
    """Rewrite ``root/index.html`` atomically; returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    reap_abandoned(root)  # a run whose process is gone is shown as abandoned, not running
    target = root / "index.html"
    atomic_write(target, render_index(root))
    return target
