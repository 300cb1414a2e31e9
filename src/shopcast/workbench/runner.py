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

import contextlib
import datetime as dt
import json
import logging
import math
import platform
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
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
    RECORD_NAME,
    REPORT_NAME,
    THUMBNAIL_NAME,
    reports_dir,
    run_environment,
)
from shopcast.exceptions import (
    ParameterError,
    ReportsUnwritableError,
    RunInterrupted,
    ShopcastError,
)
from shopcast.fileio import atomic_write
from shopcast.publish import sha256
from shopcast.workbench import gallery, render, thumbnails
from shopcast.workbench.exitcodes import ExitCode
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
from shopcast.workbench.provenance import code_version, display_path, package_versions
from shopcast.workbench.run_record import (
    finish_record,
    is_write_error,
    locate_failing_cell,
    mark_interrupted,
    new_run_dir,
    now,
    point_latest,
    settle_unwritable,
    write_problem,
)
from shopcast.workbench.runs import (
    make_run_tmp,
    reap_abandoned,
    remove_run_tmp,
    this_process,
)

log = logging.getLogger("shopcast")

DEFAULT_TIMEOUT_S = 20 * 60
#: The longest whole-run timeout accepted: 7 days.
MAX_TIMEOUT_S = 7 * 24 * 3600


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
        raise ParameterError("--scenario", name, "letters, digits, '-' and '_' only")
    return RunPlan(notebook=notebook, scenario=name, params=resolved, params_files=files)


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


class _Stop:
    """SIGTERM / SIGINT handler of a run.

    Raises :class:`RunInterrupted` while armed, and always remembers the signal (so a signal
    swallowed by a library, or one that arrives while the finished run is being recorded, is
    still acted on).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.armed = True

    def __call__(self, signum: int, frame: object) -> None:  # noqa: ARG002 - handler signature
        self.signum = signum
        if self.armed:
            raise RunInterrupted(f"stopped by signal {signal.Signals(signum).name}")

    @property
    def reason(self) -> str:
        return f"stopped by signal {signal.Signals(self.signum).name}" if self.signum else ""


@contextlib.contextmanager
def _handle_signals(stop: _Stop):
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def check_timeout(value: object) -> float:
    """A whole-run timeout in seconds: a positive finite number up to :data:`MAX_TIMEOUT_S`.

    Raises:
        ParameterError: for 0, a negative number, nan, inf or anything above the maximum.
    """
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_TIMEOUT_S):
        raise ParameterError(
            "--timeout",
            value,
            f"a positive number of seconds, at most {MAX_TIMEOUT_S:,} (7 days), "
            "e.g. --timeout 1200",
        )
    return seconds


def execute(
    plan: RunPlan,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    root: Path | None = None,
    progress: bool | None = None,
) -> RunResult:
    """Execute a validated run; never raises for a failure inside the notebook.

    Every exit path (success, a failed cell, the timeout, SIGTERM or SIGINT in any phase, a
    full or read-only disk) leaves a run record that is not "running", removes the run's private
    temporary folder and moves ``latest`` only on success.

    Args:
        plan: from :func:`plan_run`.
        timeout_s: whole-run timeout in seconds (see :func:`check_timeout`).
        root: the reports folder (default: :func:`shopcast.config.reports_dir`).
        progress: a progress bar (True) or one log line per cell (False); default: a bar when
            stderr is a terminal.

    Raises:
        ParameterError: a timeout that is not a positive finite number of seconds.
        ReportsUnwritableError: the run folder could not be created (nothing ran).
        UnsafePathError: a symbolic link would take the run folder outside the reports folder.
    """
    timeout_s = check_timeout(timeout_s)
    root = Path(root) if root else reports_dir()
    progress = sys.stderr.isatty() if progress is None else progress
    if root.is_dir():
        reap_abandoned(root)
    stop = _Stop()
    with _handle_signals(stop):
        started = now()
        try:
            run_dir = new_run_dir(root, plan.name, plan.scenario, started)
        except OSError as exc:
            raise ReportsUnwritableError(
                write_problem(root / plan.name / plan.scenario, exc)
            ) from None
        run_tmp = make_run_tmp()
        try:
            return _execute_in(plan, timeout_s, root, progress, stop, run_dir, run_tmp, started)
        except (KeyboardInterrupt, RunInterrupted):
            # Interrupted outside the phases that record it (e.g. while writing the first
            # record): never leave that record saying "running".
            stop.armed = False
            mark_interrupted(run_dir, stop.reason)
            raise
        finally:
            remove_run_tmp(run_tmp)


def _execute_in(
    plan: RunPlan,
    timeout_s: float,
    root: Path,
    progress: bool,
    stop: _Stop,
    run_dir: Path,
    run_tmp: Path,
    started: dt.datetime,
) -> RunResult:
    executed_path = run_dir / EXECUTED_NAME
    record: dict[str, Any] = {
        "notebook": plan.name,
        "scenario": plan.scenario,
        "status": "running",
        "run_id": run_dir.name,
        "started": started.isoformat(timespec="seconds"),
        "parameters": plan.params.values,
        "overrides": plan.params.overrides,
        "params_files": [display_path(str(p)) for p in plan.params_files],
        "notebook_sha256": sha256(plan.notebook),
        "code_version": code_version(),
        "packages": package_versions(),
        "python": f"{platform.python_implementation()} "
        f"{platform.python_version()} ({sys.executable})",
        "kernel": KERNEL_NAME,
        "timeout_s": timeout_s,
        **this_process(),
        "tmp_dir": str(run_tmp),
    }
    try:
        atomic_write(run_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))
    except OSError as exc:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise ReportsUnwritableError(write_problem(run_dir, exc)) from None

    km = None
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        log.error(
            "%s/%s: whole-run timeout of %g s reached; stopping the kernel",
            plan.name,
            plan.scenario,
            timeout_s,
        )
        if km is not None:
            kill_kernel(km)

    def on_cell(index: int, total: int) -> None:
        if "kernel_pid" not in record:  # so a run killed with -9 can have its kernel stopped
            pid = getattr(getattr(km, "provisioner", None), "pid", None)
            record["kernel_pid"] = pid
            with contextlib.suppress(OSError):
                atomic_write(run_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))
        if timed_out.is_set():  # the watchdog fired before the kernel was there to kill
            raise _TimedOut(f"the whole-run timeout of {timeout_s:g} s was reached")
        if not progress:
            log.info("%s/%s: cell %d/%d", plan.name, plan.scenario, index + 1, total)

    timeout_error = {
        "kind": "timeout",
        "ename": "Timeout",
        "evalue": f"the run took longer than the whole-run timeout of {timeout_s:g} s; the "
        "kernel was stopped (raise it with --timeout)",
    }
    watchdog = _Timer(timeout_s, on_timeout)
    watchdog.daemon = True
    error: dict[str, Any] | None = None
    code = ExitCode.OK
    phase = "starting the kernel"
    t0 = time.perf_counter()
    nb = None
    thumbnail: bytes | None = None
    try:
        km = project_kernel_manager(
            run_tmp, run_environment(plan.name, plan.scenario, run_dir.name, root)
        )
        record["socket_dir"] = str(Path(km.ip).parent)
        with contextlib.suppress(OSError):  # the run is recorded already; this helps a reaper
            atomic_write(run_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))
        watchdog.start()
        try:
            phase = "executing"
            papermill.execute_notebook(
                str(plan.notebook),
                str(executed_path),
                parameters=plan.params.overrides,
                engine_name="shopcast",
                kernel_name=KERNEL_NAME,
                progress_bar=progress,
                cwd=str(plan.notebook.parent),
                km=km,
                on_cell=on_cell,
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
        except (KeyboardInterrupt, RunInterrupted):
            raise
        except Exception as exc:  # noqa: BLE001 - a dead kernel, a full disk, the timeout
            if timed_out.is_set():
                code, error = ExitCode.TIMEOUT, dict(timeout_error)
            elif is_write_error(exc):
                code = ExitCode.CANNOT_WRITE
                error = {
                    "kind": "cannot write",
                    "ename": type(exc).__name__,
                    "evalue": write_problem(run_dir, exc),
                }
            else:
                code = ExitCode.KERNEL_DIED
                kind = "kernel died" if isinstance(exc, DeadKernelError) else "kernel error"
                error = {"kind": kind, "ename": type(exc).__name__, "evalue": str(exc)}
        finally:
            watchdog.cancel()
            _stop_kernel(km)
        if timed_out.is_set() and code != ExitCode.TIMEOUT:
            # A reached timeout is a timeout, even if the notebook then finished.
            code, error = ExitCode.TIMEOUT, {**(error or {}), **timeout_error}
        duration = time.perf_counter() - t0

        phase = "reading the executed notebook"
        try:
            nb = nbformat.read(
                executed_path if executed_path.exists() else plan.notebook, as_version=4
            )
        except (KeyboardInterrupt, RunInterrupted):
            raise
        except Exception as exc:  # noqa: BLE001 - a truncated notebook after a kill
            nb = nbformat.read(plan.notebook, as_version=4)
            code = code if code != ExitCode.OK else ExitCode.KERNEL_DIED
            error = error or {
                "kind": "unreadable output",
                "ename": type(exc).__name__,
                "evalue": f"the executed notebook could not be read: {exc}",
            }
        if error and "cell_index" not in error:
            locate_failing_cell(nb, error)
        finish_record(record, nb, plan.name, code, error, duration)

        phase = "rendering"
        thumbnail = thumbnails.thumbnail_for(nb)
        try:
            page = render.render_html(nb, record)
        except (KeyboardInterrupt, RunInterrupted):
            raise
        except Exception as exc:
            log.exception("rendering the report failed")
            code = ExitCode.RENDER_FAILED
            record.update(
                {
                    "status": "failed",
                    "exit_code": int(code),
                    "error": {
                        "kind": "render error",
                        "ename": type(exc).__name__,
                        "evalue": str(exc),
                    },
                }
            )
            page = render.fallback_html(record)
        if stop.signum:  # a library swallowed the interruption: it still happened
            raise RunInterrupted(stop.reason)
    except (KeyboardInterrupt, RunInterrupted) as exc:
        stop.armed = False
        watchdog.cancel()
        if km is not None:
            _stop_kernel(km)
        code = ExitCode.INTERRUPTED
        thumbnail = None
        nb = nb or _readable(executed_path, plan.notebook)
        error = {
            "kind": "interrupted",
            "ename": type(exc).__name__,
            "evalue": (str(exc) or stop.reason or "interrupted by the user or the scheduler")
            + f" while {phase}",
        }
        locate_failing_cell(nb, error)
        finish_record(record, nb, plan.name, code, error, time.perf_counter() - t0)
        page = render.fallback_html(record)

    # Commit: signals are held from here; one that arrives before the record is written still
    # turns the run into an interrupted one (and latest does not move).
    stop.armed = False
    try:
        if thumbnail:
            atomic_write(run_dir / THUMBNAIL_NAME, thumbnail)
        atomic_write(run_dir / REPORT_NAME, page)
        if stop.signum and code != ExitCode.INTERRUPTED:
            code = ExitCode.INTERRUPTED
            error = {"kind": "interrupted", "ename": "RunInterrupted", "evalue": stop.reason}
            finish_record(record, nb, plan.name, code, error, record["duration_s"])
            atomic_write(run_dir / REPORT_NAME, render.fallback_html(record))
        atomic_write(run_dir / RECORD_NAME, json.dumps(record, indent=2, default=str))
        if code == ExitCode.OK:
            point_latest(run_dir.parent, run_dir)
    except OSError as exc:
        code = ExitCode.CANNOT_WRITE
        settle_unwritable(run_dir, record, exc)
    ok = code == ExitCode.OK
    _rebuild_gallery(root)
    log.log(
        logging.INFO if ok else logging.ERROR,
        "%s/%s: %s in %.1f s -> %s",
        plan.name,
        plan.scenario,
        record["status"],
        record.get("duration_s", 0.0),
        run_dir / REPORT_NAME,
    )
    return RunResult(exit_code=code, run_dir=run_dir, record=record)


#: The whole-run watchdog (a name of its own so a test can fire it at a chosen moment).
_Timer = threading.Timer


class _TimedOut(ShopcastError):
    """Raised at a cell start once the whole-run timeout has been reached."""


def _stop_kernel(km) -> None:
    try:
        run_sync(km.shutdown_kernel)(now=True)
    except Exception:  # noqa: BLE001 - the kernel may already be gone, or never started
        kill_kernel(km)
    remove_sockets(km)


def _readable(executed: Path, notebook: Path) -> nbformat.NotebookNode:
    for path in (executed, notebook):
        try:
            return nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - partial or missing: try the next
            continue
    return nbformat.v4.new_notebook()


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
