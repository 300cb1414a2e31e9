"""Run one parameterised notebook into a run folder, safely.

A run goes: validate parameters (before any kernel starts) -> create
``reports/<notebook>/<scenario>/<UTC timestamp>/`` -> execute with papermill on the project's own
kernel, under a whole-run timeout -> read the published headline values back -> render
``report.html`` in-process -> write ``run.json`` -> only on success, swap the scenario's
``latest`` pointer atomically -> rebuild ``reports/index.html``.

A failed run keeps the last good report: ``latest`` is untouched, the run folder holds the partial
executed notebook, a failure report and ``run.json`` saying why, and the exit code says what went
wrong (:class:`ExitCode`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from enum import IntEnum
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
import papermill
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from papermill.engines import NBClientEngine, papermill_engines
from papermill.exceptions import PapermillExecutionError

from shopcast.config import (
    EXECUTED_NAME,
    LATEST_NAME,
    PROJ_ROOT,
    RECORD_NAME,
    REPORT_NAME,
    code_digest,
    reports_dir,
    run_environment,
)
from shopcast.exceptions import RunInterrupted
from shopcast.fileio import atomic_write
from shopcast.publish import HEADLINE_MIME, INPUT_MIME, sha256
from shopcast.workbench import gallery, render
from shopcast.workbench.kernel import (
    KERNEL_NAME,
    kill_kernel,
    project_kernel_manager,
    remove_sockets,
)
from shopcast.workbench.params import (
    COMMAND_LINE,
    ResolvedParams,
    load_params_file,
    parse_cli_param,
    validate,
)

log = logging.getLogger("shopcast")

DEFAULT_TIMEOUT_S = 20 * 60

#: Packages whose versions every run records.
TRACKED_PACKAGES = (
    "shopcast",
    "pandas",
    "numpy",
    "scipy",
    "prophet",
    "cmdstanpy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "jupyter_client",
    "pydantic",
    "pyyaml",
)


class ExitCode(IntEnum):
    """Exit codes of the ``shopcast`` command (also listed in ``shopcast --help``)."""

    OK = 0
    CELL_ERROR = 1
    BAD_INPUT = 2
    TIMEOUT = 3
    KERNEL_DIED = 4
    BATCH_FAILED = 5
    LOCKED = 6
    RENDER_FAILED = 7
    INTERRUPTED = 130


EXIT_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.CELL_ERROR: "a notebook cell raised an error (failure report written)",
    ExitCode.BAD_INPUT: "bad parameters, parameter file or usage; nothing was run or written",
    ExitCode.TIMEOUT: "the whole-run timeout was reached; the kernel was stopped",
    ExitCode.KERNEL_DIED: "the kernel died or could not start",
    ExitCode.BATCH_FAILED: "batch: at least one scenario failed",
    ExitCode.LOCKED: "batch: another batch holds the lock; nothing was run",
    ExitCode.RENDER_FAILED: "the notebook ran but its report could not be rendered safely",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); failure report written",
}


# ----------------------------------------------------------------------------- planning


@dataclass
class RunPlan:
    """A validated run, ready to execute. Building one starts no kernel and writes nothing."""

    notebook: Path
    scenario: str
    params: ResolvedParams
    params_files: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The notebook's name (file stem)."""
        return self.notebook.stem


def plan_run(
    notebook: str | Path,
    params_files: list[str | Path] | None = None,
    cli_params: list[str] | None = None,
    scenario: str | None = None,
) -> RunPlan:
    """Validate a run before any kernel starts.

    Args:
        notebook: the notebook to run.
        params_files: flat YAML scenario files, applied in order.
        cli_params: ``KEY=VALUE`` overrides, applied last.
        scenario: the scenario's name; by default the last params file's stem, else ``default``.

    Raises:
        ParameterError: anything wrong with the notebook's parameters or the overrides.
    """
    notebook = Path(notebook).resolve()
    files = [Path(p).resolve() for p in params_files or []]
    layers = [(str(p), load_params_file(p)) for p in files]
    cli = dict(parse_cli_param(text) for text in cli_params or [])
    if cli:
        layers.append((COMMAND_LINE, cli))
    resolved = validate(notebook, layers)
    name = scenario or (files[-1].stem if files else "default")
    if not name.replace("-", "").replace("_", "").isalnum():
        from shopcast.exceptions import ParameterError

        raise ParameterError("--scenario", name, "letters, digits, '-' and '_' only")
    return RunPlan(notebook=notebook, scenario=name, params=resolved, params_files=files)


# ----------------------------------------------------------------------------- provenance


def code_version() -> dict[str, Any]:
    """The git commit of the project and whether tracked files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(PROJ_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown (not a git checkout)", False
    return {"commit": commit, "dirty": dirty, "source_sha256": code_digest()}


def package_versions() -> dict[str, str]:
    """Versions of the packages a report depends on."""
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# ----------------------------------------------------------------------------- files


def point_latest(scenario_dir: Path, run_dir: Path) -> None:
    """Swap the scenario's ``latest`` symlink to ``run_dir`` atomically (rename over the old).

    Only forward: when two runs of a scenario overlap, ``latest`` ends on the newer one (run
    folders are named by their UTC start), whichever finishes last.
    """
    link = scenario_dir / LATEST_NAME
    if link.is_symlink() and os.readlink(link) > run_dir.name:
        return
    tmp = scenario_dir / f".{LATEST_NAME}.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, scenario_dir / LATEST_NAME)


def new_run_dir(root: Path, plan: RunPlan, started: dt.datetime) -> Path:
    """Create ``<root>/<notebook>/<scenario>/<UTC timestamp>/`` (unique)."""
    scenario_dir = root / plan.name / plan.scenario
    scenario_dir.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%S.%fZ")
    run_dir = scenario_dir / stamp
    run_dir.mkdir()
    return run_dir


def published_values(nb: nbformat.NotebookNode) -> tuple[dict[str, Any], dict[str, str]]:
    """Headline values and data-file checksums published in an executed notebook."""
    headline: dict[str, Any] = {}
    inputs: dict[str, str] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if HEADLINE_MIME in data:
                item = dict(data[HEADLINE_MIME])
                headline[item.pop("name")] = item
            if INPUT_MIME in data:
                item = data[INPUT_MIME]
                inputs[_display_path(item["path"])] = item["sha256"]
    return headline, inputs


def _display_path(path: str) -> str:
    try:
        return Path(path).resolve().relative_to(PROJ_ROOT).as_posix()
    except ValueError:
        return path


# ----------------------------------------------------------------------------- execution


class _ShopcastEngine(NBClientEngine):
    """papermill's nbclient engine, reporting each cell as it starts (for plain-text logs)."""

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
        on_cell = kwargs.pop("on_cell", None)
        if on_cell is not None:
            original = nb_man.cell_start

            def cell_start(cell, cell_index=None, **kw):
                on_cell(cell_index, len(nb_man.nb.cells))
                return original(cell, cell_index, **kw)

            nb_man.cell_start = cell_start
        return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)


papermill_engines.register("shopcast", _ShopcastEngine)


@dataclass
class RunResult:
    """What a run did: its exit code, folder and record (the content of ``run.json``)."""

    exit_code: ExitCode
    run_dir: Path
    record: dict[str, Any]


def execute(
    plan: RunPlan,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    root: Path | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Execute a validated run; never raises for a failure inside the notebook.

    Args:
        plan: from :func:`plan_run`.
        timeout_s: whole-run timeout in seconds.
        root: the reports folder (default: :func:`shopcast.config.reports_dir`).
        progress: a progress bar (True) or one log line per cell (False); default: a bar when
            stderr is a terminal.
    """
    root = Path(root) if root else reports_dir()
    progress = sys.stderr.isatty() if progress is None else progress
    started = _now()
    run_dir = new_run_dir(root, plan, started)
    executed_path = run_dir / EXECUTED_NAME
    record: dict[str, Any] = {
        "notebook": plan.name,
        "scenario": plan.scenario,
        "status": "running",
        "run_id": run_dir.name,
        "started": started.isoformat(timespec="seconds"),
        "parameters": plan.params.values,
        "overrides": plan.params.overrides,
        "params_files": [_display_path(str(p)) for p in plan.params_files],
        "notebook_sha256": sha256(plan.notebook),
        "code_version": code_version(),
        "packages": package_versions(),
        "python": f"{platform.python_implementation()} "
        f"{platform.python_version()} ({sys.executable})",
        "kernel": KERNEL_NAME,
        "timeout_s": timeout_s,
    }
    atomic_write(run_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))

    km = project_kernel_manager(run_environment(plan.name, plan.scenario, run_dir.name, root))
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        log.error(
            "%s/%s: whole-run timeout of %.0f s reached; stopping the kernel",
            plan.name,
            plan.scenario,
            timeout_s,
        )
        kill_kernel(km)

    def on_cell(index: int, total: int) -> None:
        log.info("%s/%s: cell %d/%d", plan.name, plan.scenario, index + 1, total)

    watchdog = threading.Timer(timeout_s, on_timeout)
    watchdog.daemon = True
    error: dict[str, Any] | None = None
    code = ExitCode.OK
    t0 = time.perf_counter()
    watchdog.start()
    try:
        papermill.execute_notebook(
            str(plan.notebook),
            str(executed_path),
            parameters=plan.params.overrides,
            engine_name="shopcast",
            kernel_name=KERNEL_NAME,
            progress_bar=progress,
            cwd=str(plan.notebook.parent),
            km=km,
            **({} if progress else {"on_cell": on_cell}),
        )
    except PapermillExecutionError as exc:
        code = ExitCode.TIMEOUT if timed_out.is_set() else ExitCode.CELL_ERROR
        error = {
            "kind": "timeout" if timed_out.is_set() else "cell error",
            "cell_index": exc.cell_index,
            "source": exc.source,
            "ename": exc.ename,
            "evalue": exc.evalue,
            "traceback": exc.traceback,
        }
    except (KeyboardInterrupt, RunInterrupted) as exc:
        kill_kernel(km)
        code = ExitCode.INTERRUPTED
        error = {
            "kind": "interrupted",
            "ename": type(exc).__name__,
            "evalue": str(exc) or "interrupted by the user or the scheduler",
        }
    except Exception as exc:  # noqa: BLE001 - any other failure is a dead or unstartable kernel
        if timed_out.is_set():
            code = ExitCode.TIMEOUT
            error = {
                "kind": "timeout",
                "ename": "Timeout",
                "evalue": f"the run took longer than the whole-run timeout of "
                f"{timeout_s:.0f} s; the kernel was stopped (raise it with "
                "--timeout)",
            }
        else:
            code = ExitCode.KERNEL_DIED
            kind = "kernel died" if isinstance(exc, DeadKernelError) else "kernel error"
            error = {"kind": kind, "ename": type(exc).__name__, "evalue": str(exc)}
    finally:
        watchdog.cancel()
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - the kernel may already be gone
            kill_kernel(km)
        remove_sockets(km)
    duration = time.perf_counter() - t0

    try:
        nb = nbformat.read(executed_path if executed_path.exists() else plan.notebook, as_version=4)
    except Exception as exc:  # noqa: BLE001 - a truncated notebook after a kill
        nb = nbformat.read(plan.notebook, as_version=4)
        code = code if code != ExitCode.OK else ExitCode.KERNEL_DIED
        error = error or {
            "kind": "unreadable output",
            "ename": type(exc).__name__,
            "evalue": f"the executed notebook could not be read: {exc}",
        }
    if error and "cell_index" not in error:
        _locate_failing_cell(nb, error)
    headline, inputs = published_values(nb)
    record.update(
        {
            "exit_code": int(code),
            "ended": _now().isoformat(timespec="seconds"),
            "duration_s": round(duration, 3),
            "headline": headline,
            "data_sha256": inputs,
            "title": render.notebook_title(nb, plan.name),
            "error": error,
            "status": "succeeded" if code == ExitCode.OK else "failed",
        }
    )
    try:
        page = render.render_html(nb, record)
    except Exception as exc:
        log.exception("rendering the report failed")
        code = ExitCode.RENDER_FAILED
        record.update(
            {
                "status": "failed",
                "exit_code": int(code),
                "error": {"kind": "render error", "ename": type(exc).__name__, "evalue": str(exc)},
            }
        )
        page = render.fallback_html(record)
    atomic_write(run_dir / REPORT_NAME, page)
    atomic_write(run_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))
    ok = code == ExitCode.OK
    if ok:
        point_latest(run_dir.parent, run_dir)
    _rebuild_gallery(root)
    log.log(
        logging.INFO if ok else logging.ERROR,
        "%s/%s: %s in %.1f s -> %s",
        plan.name,
        plan.scenario,
        record["status"],
        duration,
        run_dir / REPORT_NAME,
    )
    return RunResult(exit_code=code, run_dir=run_dir, record=record)


def _locate_failing_cell(nb: nbformat.NotebookNode, error: dict[str, Any]) -> None:
    """For a killed or dead kernel: the cell that was running (the last one papermill started)."""
    started = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if started:
        error["cell_index"], error["source"] = started[-1], nb.cells[started[-1]].source


def _rebuild_gallery(root: Path) -> None:
    try:
        gallery.write_index(root)
    except Exception:
        log.exception("rebuilding %s failed", root / "index.html")


def run(
    notebook: str | Path,
    params_files: list[str | Path] | None = None,
    cli_params: list[str] | None = None,
    scenario: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    root: Path | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Validate, then execute (see :func:`plan_run` and :func:`execute`)."""
    plan = plan_run(notebook, params_files, cli_params, scenario)
    return execute(plan, timeout_s=timeout_s, root=root, progress=progress)
