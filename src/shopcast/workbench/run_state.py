"""What a batch remembers between runs: which scenarios are unchanged, and which runs it keeps.

A scenario is skipped when nothing its last good run depended on (notebook, parameters, code,
data files, packages) has changed; after a run, all but the newest runs of the scenario are
pruned, never the one ``latest`` points to.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from shopcast.config import LATEST_NAME, RECORD_NAME, code_digest
from shopcast.publish import sha256
from shopcast.workbench.provenance import package_versions
from shopcast.workbench.runner import RunPlan


def fingerprint(plan: RunPlan, data_sha256: dict[str, str]) -> dict[str, Any]:
    """What a run's result depends on: notebook, parameters, code and the data files it read."""
    from shopcast.config import PROJ_ROOT

    data = {}
    for rel in data_sha256:
        path = Path(rel) if Path(rel).is_absolute() else PROJ_ROOT / rel
        data[rel] = sha256(path) if path.is_file() else "missing"
    return {
        "notebook_sha256": sha256(plan.notebook),
        "parameters": plan.params.values,
        "source_sha256": code_digest(),
        "data_sha256": data,
        "packages": package_versions(),
    }


def last_success(root: Path, plan: RunPlan) -> dict[str, Any] | None:
    """The run record ``latest`` points to, if any."""
    record = root / plan.name / plan.scenario / LATEST_NAME / RECORD_NAME
    try:
        return json.loads(record.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def unchanged(root: Path, plan: RunPlan) -> dict[str, Any] | None:
    """The last successful run's record when nothing it depends on has changed, else None."""
    last = last_success(root, plan)
    if not last or last.get("status") != "succeeded":
        return None
    scenario_dir = root / plan.name / plan.scenario
    runs = sorted(
        p.name
        for p in scenario_dir.iterdir()
        if p.is_dir() and not p.is_symlink() and (p / RECORD_NAME).exists()
    )
    if runs and runs[-1] != last.get("run_id"):
        return None  # a newer run failed: try again rather than leave the failure standing
    before = {
        "notebook_sha256": last.get("notebook_sha256"),
        "parameters": last.get("parameters"),
        "source_sha256": last.get("code_version", {}).get("source_sha256"),
        "data_sha256": last.get("data_sha256", {}),
        "packages": last.get("packages"),
    }
    now = fingerprint(plan, before["data_sha256"])
    return (
        last
        if json.dumps(now, sort_keys=True, default=str)
        == json.dumps(before, sort_keys=True, default=str)
        else None
    )


def prune(scenario_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` runs; never the one ``latest`` points to."""
    latest = scenario_dir / LATEST_NAME
    protected = os.readlink(latest) if latest.is_symlink() else None
    runs = sorted(
        (
            p
            for p in scenario_dir.iterdir()
            if p.is_dir() and not p.is_symlink() and (p / RECORD_NAME).exists()
        ),
        key=lambda p: p.name,
        reverse=True,
    )
    removed = []
    for old in runs[keep:]:
        if old.name != protected:
            shutil.rmtree(old)
            removed.append(old)
    return removed


def prune_logs(log_dir: Path, keep: int) -> None:
    """Keep the newest ``keep`` batch logs."""
    for old in sorted(log_dir.glob("batch-*.log"), reverse=True)[keep:]:
        old.unlink(missing_ok=True)
