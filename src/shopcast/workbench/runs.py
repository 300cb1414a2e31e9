"""Run records on disk: who is running, and the runs whose process is gone.

A run records the process that runs it (``pid``, its start time and the host) and its private
temporary folder (``tmp_dir``). A run left "running" by a process that no longer exists (killed
with SIGKILL, or the machine stopped) is marked ``abandoned`` by the next run or the gallery, and
its temporary folder (kernel sockets, cmdstanpy and Prophet files) is removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
from pathlib import Path
from typing import Any

from shopcast.config import RECORD_NAME
from shopcast.fileio import atomic_write

log = logging.getLogger("shopcast")

#: Private temporary folders of runs are named so, in the system temporary folder.
RUN_TMP_PREFIX = "shopcast-run-"


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def this_process() -> dict[str, Any]:
    """What identifies the running process in a run record."""
    return {"pid": os.getpid(), "pid_start": process_start(os.getpid()), "host": _host()}


def _host() -> str:
    return socket.gethostname()


def process_gone(record: dict[str, Any]) -> bool:
    """True when the record's process surely no longer exists (same host, pid gone or reused)."""
    pid, host = record.get("pid"), record.get("host")
    if not isinstance(pid, int) or host != _host():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, another user's
    started = record.get("pid_start")
    return started is not None and process_start(pid) != started


def make_run_tmp() -> Path:
    """A fresh private temporary folder for one run (the kernel's TMPDIR)."""
    return Path(tempfile.mkdtemp(prefix=RUN_TMP_PREFIX))


def remove_run_tmp(path: str | Path | None) -> None:
    """Delete a run's private temporary folder; only ever one made by :func:`make_run_tmp`."""
    if not path:
        return
    path = Path(path)
    if path.name.startswith(RUN_TMP_PREFIX) and not path.is_symlink() and path.is_dir():
        shutil.rmtree(path, ignore_errors=True)


def stop_orphan_kernel(record: dict[str, Any]) -> bool:
    """Kill the kernel of an abandoned run, if it still runs.

    The kernel is identified by its pid and by the run's private ``TMPDIR`` in its environment,
    so a reused pid is never killed.
    """
    pid, tmp = record.get("kernel_pid"), record.get("tmp_dir")
    if not isinstance(pid, int) or not tmp:
        return False
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    if f"TMPDIR={tmp}".encode() not in environ:
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    return True


def reap_abandoned(root: Path) -> list[Path]:
    """Mark every "running" run under ``root`` whose process is gone as abandoned.

    Removes each such run's private temporary folder. Never raises: a run that cannot be
    marked (a read-only folder) stays as it was.

    Returns:
        The run folders marked.
    """
    marked = []
    for path in Path(root).glob(f"*/*/*/{RECORD_NAME}"):
        if path.parent.is_symlink():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(record, dict) or record.get("status") != "running":
            continue
        if not process_gone(record):
            continue
        stop_orphan_kernel(record)
        remove_run_tmp(record.get("tmp_dir"))
        sockets = Path(str(record.get("socket_dir") or ""))
        if sockets.name.startswith("shopcast-kernel-") and not sockets.is_symlink():
            shutil.rmtree(sockets, ignore_errors=True)
        record.update(
            status="abandoned",
            ended=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            error={
                "kind": "abandoned",
                "ename": "Abandoned",
                "evalue": f"the process that ran it (pid {record.get('pid')}) is gone, killed "
                "or stopped with the machine; its temporary files were removed. Run the "
                "scenario again.",
            },
        )
        try:
            atomic_write(path, json.dumps(record, indent=2, default=str))
        except OSError as exc:
            log.warning("could not mark %s abandoned: %s", path.parent, exc)
            continue
        log.warning("%s: run abandoned by its process (pid %s); marked", path.parent, record["pid"])
        marked.append(path.parent)
    return marked
