"""Run many scenarios at once: parallel, locked, incremental, with retention and a log per batch.

Each scenario runs in its own ``shopcast run`` process (a crash cannot take the batch down, and
no two runs share a working directory or a kernel), ``--workers`` at a time. Kernels talk over
IPC sockets, so parallel runs do not race for ports (papermill #511). A batch continues past a
failure and exits with :attr:`ExitCode.BATCH_FAILED` when any scenario failed. A second batch
started while one holds the lock exits at once with :attr:`ExitCode.LOCKED`.

A scenario whose notebook, parameters, data files and code are unchanged since its last
successful run is skipped unless ``force``; the gallery says "unchanged since ...".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shopcast.config import (
    CHECKED_NAME,
    LATEST_NAME,
    NOTEBOOKS_DIR,
    PARAMS_DIR,
    RECORD_NAME,
    reports_dir,
)
from shopcast.exceptions import BatchLocked, RunInterrupted, ShopcastError, UnsafePathError
from shopcast.fileio import atomic_write, check_inside, open_nofollow
from shopcast.publish import format_value
from shopcast.workbench import gallery
from shopcast.workbench.exitcodes import ExitCode
from shopcast.workbench.lock import BatchLock
from shopcast.workbench.run_record import write_problem
from shopcast.workbench.run_state import last_success, prune, prune_logs, unchanged
from shopcast.workbench.runner import (
    DEFAULT_TIMEOUT_S,
    check_timeout,
    plan_run,
)

log = logging.getLogger("shopcast")

DEFAULT_KEEP = 20
KEEP_LOGS = 100


@dataclass
class Outcome:
    """One scenario's result in a batch."""

    notebook: str
    scenario: str
    status: str
    duration_s: float = 0.0
    headline: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    exit_code: int = 0
    report: str = ""


# ----------------------------------------------------------------------------- discovery


def discover(params: list[str | Path] | None = None) -> list[tuple[Path, Path | None]]:
    """``(notebook, params file)`` pairs: those named, else every scenario of every notebook.

    A notebook with no ``params/<notebook>/`` folder runs once with its defaults.
    """
    if params:
        pairs = []
        for p in params:
            path = Path(p).resolve()
            pairs.append((NOTEBOOKS_DIR / f"{path.parent.name}.ipynb", path))
        return pairs
    groups = []
    for notebook in sorted(NOTEBOOKS_DIR.glob("*.ipynb")):
        files = sorted((PARAMS_DIR / notebook.stem).glob("*.yaml"), key=_base_first)
        groups.append([(notebook, f) for f in files] or [(notebook, None)])
    # Round-robin across notebooks: one scenario of each first, so a notebook's first run fills
    # the cache its other scenarios reuse (shopcast.cache) before they start, and a notebook that
    # fails is seen early.
    depth = max((len(g) for g in groups), default=0)
    return [g[i] for i in range(depth) for g in groups if i < len(g)]


def _base_first(path: Path) -> tuple[int, str]:
    return (path.stem != "base", path.stem)


# ----------------------------------------------------------------------------- running


#: Children running now (so an interrupted batch can stop them).
_children: set[subprocess.Popen] = set()
#: Extra seconds a child gets beyond its own whole-run timeout before the batch kills it.
BACKSTOP_S = 300


def _run_one(
    notebook: Path,
    params_file: Path | None,
    timeout_s: float,
    root: Path,
    logfile,
    pdf: bool = False,
) -> Outcome:
    result = _execute(
        str(notebook), str(params_file) if params_file else None, timeout_s, root, pdf
    )
    return _outcome(notebook, params_file, *result, logfile)


def _execute(
    notebook: str, params_file: str | None, timeout_s: float, root: str | Path, pdf: bool
) -> tuple[int, str, str, float]:
    """Run one scenario's ``shopcast run`` process, here or as a Dask task on a worker.

    Only strings and numbers go in and out, so a worker needs nothing but the same paths (the
    project and the reports folder) and the same environment.

    Returns:
        ``(exit code, stdout, stderr, seconds)``.
    """
    cmd = [
        sys.executable,
        "-m",
        "shopcast.workbench.cli",
        "-q",
        "run",
        str(notebook),
        "--timeout",
        str(timeout_s),
    ]
    if params_file:
        cmd += ["--params", str(params_file)]
    if pdf:
        cmd.append("--pdf")
    env = {**os.environ, "SHOPCAST_REPORTS_DIR": str(root)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    _children.add(proc)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s + BACKSTOP_S)
    except subprocess.TimeoutExpired:
        # The child's own watchdog covers the notebook; this covers a hang anywhere else.
        _kill_group(proc)
        stdout, stderr = proc.communicate()
        stderr += f"\nshopcast batch: killed after {timeout_s + BACKSTOP_S:.0f} s (backstop)"
    finally:
        _children.discard(proc)
    return proc.returncode, stdout, stderr, time.perf_counter() - t0


def _outcome(
    notebook: Path,
    params_file: Path | None,
    returncode: int,
    stdout: str,
    stderr: str,
    duration: float,
    logfile,
) -> Outcome:
    """The scenario's outcome from its process's exit and run record; its output to the log."""
    scenario = params_file.stem if params_file else "default"
    logfile.write(
        f"\n=== {notebook.stem}/{scenario}: exit {returncode} in {duration:.1f} s\n{stdout}{stderr}"
    )
    logfile.flush()
    report = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    record: dict[str, Any] = {}
    if report:
        try:
            record = json.loads((Path(report).parent / RECORD_NAME).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            record = {}
    if returncode == ExitCode.BAD_INPUT:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "bad input"
        return Outcome(
            notebook.stem,
            scenario,
            "invalid",
            duration,
            detail=detail,
            exit_code=returncode,
            report=report,
        )
    ok = returncode == 0 and record.get("status") == "succeeded"
    detail = (record.get("error") or {}).get("kind", "") or ("" if ok else f"exit {returncode}")
    return Outcome(
        notebook.stem,
        scenario,
        "succeeded" if ok else "failed",
        record.get("duration_s", duration),
        record.get("headline", {}),
        detail,
        returncode,
        report,
    )


def _run_on_dask(client, todo, timeout_s, root, logfile, pdf, finish) -> bool:
    """Start every scenario's process from a task on the Dask cluster; True when interrupted.

    A task whose worker dies is rescheduled by the scheduler (the scenario starts again); one
    that still fails is a failed scenario (exit :attr:`ExitCode.KERNEL_DIED`), never a failed
    batch. On an interrupt the queued tasks are cancelled and every worker stops the scenario
    processes it started.
    """
    from distributed import as_completed as completed

    futures = {
        client.submit(
            _execute, str(nb), str(pf) if pf else None, timeout_s, str(root), pdf, pure=False
        ): (nb, pf)
        for nb, pf in todo
    }
    try:
        for done, future in enumerate(completed(list(futures)), start=1):
            notebook, params_file = futures[future]
            try:
                result = future.result()
            # whatever a lost worker or the cluster raised, it is this scenario's failure
            except Exception as exc:  # noqa: BLE001
                result = (
                    int(ExitCode.KERNEL_DIED),
                    "",
                    f"shopcast batch: the scenario's Dask task failed: {type(exc).__name__}: {exc}",
                    0.0,
                )
            finish(_outcome(notebook, params_file, *result, logfile), done)
    except (KeyboardInterrupt, RunInterrupted):
        for future in futures:
            future.cancel()
        with contextlib.suppress(Exception):
            client.run(_stop_children)
        return True
    return False


def _stop_children() -> int:
    """SIGTERM the scenario processes this process started (run on every Dask worker)."""
    running = list(_children)
    for proc in running:
        _kill_group(proc, signal.SIGTERM)
    return len(running)


def _kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run_batch(
    params: list[str | Path] | None = None,
    workers: int | None = None,
    force: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    root: Path | None = None,
    keep: int = DEFAULT_KEEP,
    pdf: bool = False,
    notify: bool = False,
    on_failure: str | None = None,
    dask: str | None = None,
) -> ExitCode:
    """Run scenarios in parallel; print progress and a summary table; return the exit code.

    Args:
        params: scenario files (default: every ``params/<notebook>/*.yaml``).
        workers: parallel runs (default: CPUs).
        force: run even scenarios unchanged since their last good run.
        timeout_s: whole-run timeout per scenario.
        root: the reports folder.
        keep: runs kept per scenario.
        pdf: also write ``report.pdf`` (unchanged scenarios get one if theirs is missing).
        notify: e-mail one message about the batch (:mod:`shopcast.workbench.notify`).
        on_failure: a shell command given the batch summary as JSON when a scenario failed.
        dask: a Dask scheduler address (``tcp://host:8786``): each scenario's ``shopcast run``
            process is started by a task on a worker of that cluster (the workers need the same
            project and reports folder at the same paths); ``workers`` is then the cluster's.
            The lock, retention, log, gallery and exit codes stay here.
    """
    root = Path(root) if root else reports_dir()
    timeout_s = check_timeout(timeout_s)
    workers = max(1, workers or os.cpu_count() or 1)
    extras = {"pdf": pdf, "notify": notify, "on_failure": on_failure}
    with contextlib.ExitStack() as stack:
        if dask:
            from shopcast import engine

            if not dask.startswith(("tcp://", "tls://")):
                print(
                    f"shopcast: error: --dask {dask!r} is not a scheduler address; give one "
                    "like tcp://10.0.0.5:8786 (start it with `dask scheduler`)",
                    file=sys.stderr,
                )
                return ExitCode.BAD_INPUT
            try:
                extras["client"] = stack.enter_context(engine.dask_client(dask))
            except engine.EngineError as exc:  # nothing taken, run or written
                print(f"shopcast: error: {exc}", file=sys.stderr)
                return ExitCode.BAD_INPUT
        return _run_batch_locked(root, params, workers, force, timeout_s, keep, extras)


def _run_batch_locked(
    root: Path,
    params: list[str | Path] | None,
    workers: int,
    force: bool,
    timeout_s: float,
    keep: int,
    extras: dict[str, Any],
) -> ExitCode:
    try:
        with BatchLock(root):
            return _run_locked(root, discover(params), workers, force, timeout_s, keep, **extras)
    except BatchLocked as exc:
        print(f"shopcast: {exc}", file=sys.stderr)
        return ExitCode.LOCKED
    except (UnsafePathError, OSError) as exc:
        # A planted symlink, a read-only or full reports folder: one line, nothing run.
        message = exc if isinstance(exc, UnsafePathError) else write_problem(root, exc)
        print(f"shopcast: error: {message}", file=sys.stderr)
        return ExitCode.CANNOT_WRITE


def _run_locked(
    root: Path,
    pairs: list[tuple[Path, Path | None]],
    workers: int,
    force: bool,
    timeout_s: float,
    keep: int,
    pdf: bool = False,
    notify: bool = False,
    on_failure: str | None = None,
    client: Any = None,
) -> ExitCode:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    log_dir = root / "logs"
    if log_dir.is_symlink():
        check_inside(log_dir, root)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"batch-{stamp}.log"
    outcomes: list[Outcome] = []
    todo: list[tuple[Path, Path | None]] = []
    previous: dict[tuple[str, str], dict[str, Any]] = {}  # headline values before this batch
    for notebook, params_file in pairs:
        scenario = params_file.stem if params_file else "default"
        try:
            plan = plan_run(notebook, [params_file] if params_file else [])
        except ShopcastError as exc:
            outcomes.append(
                Outcome(
                    notebook.stem,
                    scenario,
                    "invalid",
                    detail=str(exc),
                    exit_code=int(ExitCode.BAD_INPUT),
                )
            )
            continue
        before = last_success(root, plan) if (root / plan.name / plan.scenario).is_dir() else None
        previous[(plan.name, plan.scenario)] = (before or {}).get("headline", {})
        last = None if force else unchanged(root, plan)
        if last:
            if pdf:
                _ensure_pdf(root / plan.name / plan.scenario / LATEST_NAME)
            outcomes.append(
                Outcome(
                    plan.name,
                    plan.scenario,
                    "unchanged",
                    0.0,
                    last.get("headline", {}),
                    f"since {last.get('started', '?')}",
                )
            )
            atomic_write(
                root / plan.name / plan.scenario / CHECKED_NAME,
                json.dumps(
                    {
                        "checked": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        "unchanged_since": last.get("started"),
                        "run_id": last.get("run_id"),
                    }
                ),
            )
            continue
        todo.append((notebook, params_file))
    total = len(todo)
    where = f"{workers} workers" if client is None else f"Dask at {client.scheduler.address}"
    print(
        f"shopcast batch: {total} to run, {len(outcomes)} skipped or invalid, "
        f"{where}; log {log_path}",
        file=sys.stderr,
    )
    t0 = time.perf_counter()
    interrupted = False

    def finish(out: Outcome, done: int) -> None:
        outcomes.append(out)
        print(
            f"[{done}/{total}] {out.notebook}/{out.scenario}: {out.status} "
            f"({out.duration_s:.1f} s)",
            file=sys.stderr,
        )
        if out.status == "succeeded":
            (root / out.notebook / out.scenario / CHECKED_NAME).unlink(missing_ok=True)

    log_fd = open_nofollow(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    with os.fdopen(log_fd, "w", encoding="utf-8") as logfile:
        if client is not None:
            interrupted = _run_on_dask(client, todo, timeout_s, root, logfile, pdf, finish)
            todo = []  # nothing left for the local pool below
        pool = ThreadPoolExecutor(max_workers=workers)
        futures = [pool.submit(_run_one, nb, pf, timeout_s, root, logfile, pdf) for nb, pf in todo]
        try:
            for done, future in enumerate(as_completed(futures), start=1):
                finish(future.result(), done)
        except (KeyboardInterrupt, RunInterrupted):
            # Stop queued scenarios, ask running ones to stop (each writes its failure
            # report and keeps its last good one), then tidy up as after any batch.
            interrupted = True
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in list(_children):
                _kill_group(proc, signal.SIGTERM)
            print("shopcast batch: interrupted; stopping the running scenarios", file=sys.stderr)
        pool.shutdown(wait=True)
    wall = time.perf_counter() - t0
    for scenario_dir in {root / o.notebook / o.scenario for o in outcomes}:
        if scenario_dir.is_dir():
            prune(scenario_dir, keep)
    prune_logs(log_dir, KEEP_LOGS)
    gallery.write_index(root)
    if interrupted:
        return ExitCode.INTERRUPTED
    print(summary_table(outcomes))
    failed = [o for o in outcomes if o.status not in ("succeeded", "unchanged")]
    print(
        f"{len(outcomes) - len(failed)} ok, {len(failed)} failed, wall {wall:.1f} s; "
        f"gallery {root / 'index.html'}"
    )
    code = ExitCode.BATCH_FAILED if failed else ExitCode.OK
    if notify or on_failure:
        _notify(root, outcomes, previous, code, wall, log_path, notify, on_failure)
    return code


def _ensure_pdf(run_dir: Path) -> None:
    """``report.pdf`` for a run that has none (an unchanged scenario); failures are logged."""
    from shopcast.workbench.pdf import PDF_NAME, PdfError, write_pdf

    report = run_dir / "report.html"
    if report.is_file() and not (run_dir / PDF_NAME).is_file():
        try:
            write_pdf(report)
        except PdfError as exc:
            log.error("no PDF: %s", exc)


def _notify(
    root: Path,
    outcomes: list[Outcome],
    previous: dict[tuple[str, str], dict[str, Any]],
    code: ExitCode,
    wall: float,
    log_path: Path,
    email: bool,
    on_failure: str | None,
) -> None:
    """One notification about the batch; whatever happens, the batch's exit code stands."""
    from shopcast.workbench import notify

    try:
        settings = notify.load_settings() if email else None
    except notify.NotifyError as exc:
        settings = None
        log.error("notification by email failed: %s", exc)
        with open(log_path, "a", encoding="utf-8") as logfile:
            logfile.write(f"\nnotification by email failed: {exc}\n")
        email = False
    threshold = settings.threshold if settings else notify.DEFAULT_THRESHOLD
    summary = notify.batch_summary(
        outcomes,
        previous,
        root=root,
        exit_code=int(code),
        wall_s=wall,
        log_path=log_path,
        threshold=threshold,
    )
    with open(log_path, "a", encoding="utf-8") as logfile:
        notify.notify(
            summary, email=email, on_failure=on_failure, settings=settings, logfile=logfile
        )


def summary_table(outcomes: list[Outcome]) -> str:
    """A plain-text table: notebook, scenario, status, duration, headline values."""
    rows = [("notebook", "scenario", "status", "duration", "headline values")]
    for o in sorted(outcomes, key=lambda o: (o.notebook, o.scenario)):
        heads = "; ".join(
            f"{k}={format_value(v.get('value'), v.get('fmt'))}"
            for k, v in list(o.headline.items())[:4]
        )
        status = o.status + (f" ({o.detail})" if o.detail and o.status != "succeeded" else "")
        rows.append((o.notebook, o.scenario, status, f"{o.duration_s:.1f} s", heads))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
        for r in rows
    )
