"""A run's folder and record on disk: creating the folder, moving ``latest``, settling the record.

Every way a run ends goes through here so that no record is left saying "running" and
``latest`` moves only forward, and only to a good run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

import nbformat

from shopcast.config import EXECUTED_NAME, LATEST_NAME, RECORD_NAME, REPORT_NAME, THUMBNAIL_NAME
from shopcast.fileio import atomic_write, check_inside
from shopcast.workbench import render
from shopcast.workbench.exitcodes import ExitCode
from shopcast.workbench.provenance import published_values

log = logging.getLogger("shopcast")


def now() -> dt.datetime:
    """The current time in UTC (one place, so run folders and records agree)."""
    return dt.datetime.now(dt.UTC)


def point_latest(scenario_dir: Path, run_dir: Path) -> None:
    """Swap the scenario's ``latest`` symlink to ``run_dir`` atomically (rename over the old).

    Only forward: when two runs of a scenario overlap, ``latest`` ends on the newer one (run
    folders are named by their UTC start), whichever finishes last. A ``latest`` that points at
    a run dated in the future, or at nothing, is not "newer": it is repaired. A real folder
    named ``latest`` (not made by shopcast) is moved aside to ``latest.moved-<UTC>``, never
    deleted, and the repair is logged.
    """
    link = scenario_dir / LATEST_NAME
    if link.is_symlink():
        target = os.readlink(link)
        stamp = now().strftime("%Y%m%dT%H%M%S.%fZ")
        if target > run_dir.name and target <= stamp and (scenario_dir / target).is_dir():
            return
        if target > stamp:
            log.warning("%s pointed at %s, dated in the future; repointed", link, target)
    elif link.exists():
        aside = scenario_dir / f"{LATEST_NAME}.moved-{now():%Y%m%dT%H%M%SZ}"
        log.warning(
            "%s was a real %s, not a link; moved to %s",
            link,
            "folder" if link.is_dir() else "file",
            aside.name,
        )
        os.rename(link, aside)
    tmp = scenario_dir / f".{LATEST_NAME}.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)


def new_run_dir(root: Path, notebook: str, scenario: str, started: dt.datetime) -> Path:
    """Create ``<root>/<notebook>/<scenario>/<UTC timestamp>/`` (unique).

    Raises:
        UnsafePathError: a symbolic link takes the notebook or scenario folder outside ``root``.
    """
    scenario_dir = root / notebook / scenario
    for folder in (root / notebook, scenario_dir):
        if folder.is_symlink():
            check_inside(folder, root)
    scenario_dir.mkdir(parents=True, exist_ok=True)
    check_inside(scenario_dir, root)
    stamp = started.strftime("%Y%m%dT%H%M%S.%fZ")
    run_dir = scenario_dir / stamp
    run_dir.mkdir()
    return run_dir


#: errno values that mean "this folder cannot be written", not "the kernel failed".
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def is_write_error(exc: BaseException) -> bool:
    """Whether ``exc`` says the folder cannot be written (full, read-only, not permitted)."""
    return isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS


def write_problem(where: Path, exc: OSError) -> str:
    """One line saying what could not be written, why, and what to do."""
    return (
        f"cannot write {where}: {exc.strerror or exc} (errno {exc.errno}); free space or make "
        "the reports folder writable (SHOPCAST_REPORTS_DIR moves it); no run was left running"
    )


def finish_record(
    record: dict[str, Any],
    nb: nbformat.NotebookNode,
    notebook: str,
    code: ExitCode,
    error: dict[str, Any] | None,
    duration: float,
) -> None:
    """Complete ``record`` with how the run ended, its headline values and its inputs."""
    headline, inputs = published_values(nb)
    status = {ExitCode.OK: "succeeded", ExitCode.INTERRUPTED: "interrupted"}.get(code, "failed")
    record.update(
        {
            "exit_code": int(code),
            "ended": now().isoformat(timespec="seconds"),
            "duration_s": round(duration, 3),
            "headline": headline,
            "data_sha256": inputs,
            "title": render.notebook_title(nb, notebook),
            "error": error,
            "status": status,
        }
    )


def mark_interrupted(run_dir: Path, reason: str) -> None:
    """Turn a record still saying "running" into an interrupted one (or drop an empty folder)."""
    path = run_dir / RECORD_NAME
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        shutil.rmtree(run_dir, ignore_errors=True)  # nothing recorded yet: nothing to keep
        return
    if record.get("status") == "running":
        record.update(
            status="interrupted",
            exit_code=int(ExitCode.INTERRUPTED),
            ended=now().isoformat(timespec="seconds"),
            error={"kind": "interrupted", "ename": "RunInterrupted", "evalue": reason},
        )
        with contextlib.suppress(OSError):
            atomic_write(path, json.dumps(record, indent=2, default=str))


def settle_unwritable(run_dir: Path, record: dict[str, Any], exc: OSError) -> None:
    """After a failed write, record the failure; never leave a "running" record.

    Frees the run's own files if the disk is full; if even that fails, removes the run folder.
    """
    record.update(
        status="failed",
        exit_code=int(ExitCode.CANNOT_WRITE),
        ended=now().isoformat(timespec="seconds"),
        error={
            "kind": "cannot write",
            "ename": type(exc).__name__,
            "evalue": write_problem(run_dir, exc),
        },
    )
    log.error("%s", record["error"]["evalue"])
    for attempt in range(2):
        try:
            atomic_write(run_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))
            return
        except OSError:
            if attempt == 0:
                for name in (EXECUTED_NAME, REPORT_NAME, THUMBNAIL_NAME):
                    with contextlib.suppress(OSError):
                        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    if (run_dir / RECORD_NAME).exists():  # a read-only folder: the record cannot be changed
        with contextlib.suppress(OSError):
            (run_dir / RECORD_NAME).unlink()


def locate_failing_cell(nb: nbformat.NotebookNode, error: dict[str, Any]) -> None:
    """For a killed or dead kernel: the cell that was running (the last one papermill started)."""
    started = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if started:
        error["cell_index"], error["source"] = started[-1], nb.cells[started[-1]].source
