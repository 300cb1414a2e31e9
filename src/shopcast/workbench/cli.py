"""The ``shopcast`` command: run, validate, inspect, batch.

A user's mistake at the command line gets a one-paragraph message and exit code 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from shopcast import __version__
from shopcast.config import NOTEBOOKS_DIR, PARAMS_DIR
from shopcast.exceptions import (
    ParameterError,
    ReportsUnwritableError,
    RunInterrupted,
    ShopcastError,
    UnsafePathError,
    bounded,
)
from shopcast.workbench.exitcodes import EXIT_MEANINGS, ExitCode
from shopcast.workbench.runner import (
    DEFAULT_TIMEOUT_S,
    check_timeout,
    execute,
    plan_run,
)

EPILOG = "exit codes:\n" + "\n".join(f"  {int(c):>3}  {m}" for c, m in EXIT_MEANINGS.items())


def resolve_notebook(name: str) -> Path:
    """A notebook given as a path, or by name (``gmv_goal_forecast``) from ``notebooks/``."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    candidate = NOTEBOOKS_DIR / f"{path.stem}.ipynb"
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in NOTEBOOKS_DIR.glob("*.ipynb"))
    raise ParameterError("NOTEBOOK", name, f"a notebook path or one of: {', '.join(known)}")


def notebook_for_params(path: Path) -> Path:
    """The notebook a scenario file belongs to: ``params/<notebook>/<scenario>.yaml``."""
    return resolve_notebook(path.resolve().parent.name)


def _cmd_run(args: argparse.Namespace) -> int:
    timeout = check_timeout(args.timeout)
    plan = plan_run(resolve_notebook(args.notebook), args.params, args.p, args.scenario)
    result = execute(plan, timeout_s=timeout, progress=None)
    if args.pdf:
        _write_pdf(result.run_dir / "report.html")
    print(result.run_dir / "report.html")
    error = result.record.get("error")
    if error:  # a scheduler's log must say what went wrong, not only the report
        print(error_lines(error), file=sys.stderr)
    return int(result.exit_code)


def error_lines(error: dict) -> str:
    """A run's error in at most two lines: kind and cell, then ``ename: evalue``."""
    cell = f" in cell {error['cell_index']}" if error.get("cell_index") is not None else ""
    first = f"shopcast: {error.get('kind', 'error')}{cell}"
    evalue = " ".join(str(error.get("evalue", "")).split())
    second = f"  {error.get('ename', 'Error')}: {evalue}"
    return bounded(first, 200) + "\n" + bounded(second, 400)


def _write_pdf(report: Path) -> None:
    """``report.pdf`` beside the report; a PDF that cannot be made is logged, the run stands."""
    from shopcast.workbench.pdf import PdfError, write_pdf

    try:
        write_pdf(report)
    except PdfError as exc:
        logging.getLogger("shopcast").error("no PDF: %s", exc)


def _cmd_validate(args: argparse.Namespace) -> int:
    for file in args.params:
        path = Path(file)
        notebook = resolve_notebook(args.notebook) if args.notebook else notebook_for_params(path)
        plan = plan_run(notebook, [path])
        print(
            f"ok: {path} -> {notebook.name} (scenario {plan.scenario}, "
            f"{len(plan.params.overrides)} parameters set)"
        )
    return int(ExitCode.OK)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from shopcast.workbench.params import notebook_parameters, schema_for

    notebook = resolve_notebook(args.notebook)
    schema = schema_for(notebook)
    print(f"{notebook.name}: parameters ({'schema ' + schema.__name__ if schema else 'inferred'})")
    for p in notebook_parameters(notebook).values():
        print(
            f"  {p.name}: {type(p.default).__name__} = {p.default!r}"
            + (f"  # {p.help}" if p.help else "")
        )
    scenarios = sorted((PARAMS_DIR / notebook.stem).glob("*.yaml"))
    if scenarios:
        print("scenarios: " + ", ".join(s.stem for s in scenarios))
    return int(ExitCode.OK)


def _cmd_batch(args: argparse.Namespace) -> int:
    from shopcast.workbench import batch

    timeout = check_timeout(args.timeout)
    return int(
        batch.run_batch(
            args.params,
            workers=args.workers,
            force=args.force,
            timeout_s=timeout,
            pdf=args.pdf,
            notify=args.notify,
            on_failure=args.on_failure,
            dask=args.dask,
        )
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to document the command in the README)."""
    parser = argparse.ArgumentParser(
        prog="shopcast",
        description="Run parameterised notebooks into self-contained reports.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"shopcast {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run one notebook into reports/",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("notebook", help="a notebook path, or its name in notebooks/")
    run.add_argument(
        "--params",
        action="append",
        default=[],
        metavar="FILE",
        help="flat YAML scenario file (repeatable, later ones win)",
    )
    run.add_argument(
        "-p",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one parameter (value read as YAML)",
    )
    run.add_argument("--scenario", help="scenario name (default: the last params file's stem)")
    run.add_argument(
        "--timeout",
        type=str,  # checked by check_timeout: one message for every bad value
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help=f"whole-run timeout in seconds, positive, at most 7 days "
        f"(default {DEFAULT_TIMEOUT_S})",
    )
    run.add_argument("--pdf", action="store_true", help="also write report.pdf (headless Chromium)")
    run.set_defaults(func=_cmd_run)

    val = sub.add_parser("validate", help="check scenario files without running anything")
    val.add_argument("params", nargs="+", metavar="PARAMS")
    val.add_argument("--notebook", help="the notebook (default: from params/<notebook>/...)")
    val.set_defaults(func=_cmd_validate)

    ins = sub.add_parser("inspect", help="list a notebook's parameters and scenarios")
    ins.add_argument("notebook")
    ins.set_defaults(func=_cmd_inspect)

    bat = sub.add_parser(
        "batch",
        help="run every scenario (or those named) in parallel",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    bat.add_argument(
        "params",
        nargs="*",
        metavar="PARAMS",
        help="scenario files (default: every params/<notebook>/*.yaml)",
    )
    bat.add_argument("--workers", type=int, default=None, help="parallel runs (default: CPUs)")
    bat.add_argument("--force", action="store_true", help="run even unchanged scenarios")
    bat.add_argument(
        "--timeout",
        type=str,  # checked by check_timeout: one message for every bad value
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="whole-run timeout per scenario in seconds",
    )
    bat.add_argument(
        "--pdf", action="store_true", help="also write report.pdf for every scenario's report"
    )
    bat.add_argument(
        "--notify",
        action="store_true",
        help="e-mail one message about the batch (SMTP from SHOPCAST_SMTP_* or "
        "shopcast-notify.yaml; see the README)",
    )
    bat.add_argument(
        "--on-failure",
        metavar="CMD",
        help="when a scenario failed, run CMD (through the shell) with the batch summary as "
        "JSON on its standard input",
    )
    bat.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="start each scenario's run from a task on the Dask cluster at ADDRESS "
        "(tcp://host:8786; the workers need this project and reports folder at the same paths)",
    )
    bat.set_defaults(func=_cmd_batch)
    return parser


def _raise_interrupted(signum, frame):  # noqa: ARG001 - signal handler signature
    raise RunInterrupted(f"stopped by signal {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``shopcast`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        stream=sys.stderr,
    )
    for name in ("papermill", "nbclient"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # jupyter_client warns through traitlets' logger on every clean kernel shutdown
    # ("Could not destroy zmq context"): noise in a scheduler's log.
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        return args.func(args)
    except RunInterrupted as exc:
        print(f"shopcast: interrupted: {exc}", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except (ReportsUnwritableError, UnsafePathError) as exc:
        print(f"shopcast: error: {exc}", file=sys.stderr)
        return int(ExitCode.CANNOT_WRITE)
    except ShopcastError as exc:  # a user's mistake: a message, never a traceback
        print(f"shopcast: error: {exc}", file=sys.stderr)
        return int(ExitCode.BAD_INPUT)
    except KeyboardInterrupt:
        print("shopcast: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
