"""Every path shopcast uses, in one place.

Nothing else in the package hard-codes a folder. ``SHOPCAST_REPORTS_DIR`` moves the reports
folder (tests use it to keep their runs apart from real ones).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJ_ROOT / "data"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
PARAMS_DIR = PROJ_ROOT / "params"
BENCH_DIR = PROJ_ROOT / "bench"
#: The files of one run folder, ``reports/<notebook>/<scenario>/<UTC stamp>/``.
EXECUTED_NAME = "executed.ipynb"
REPORT_NAME = "report.html"
RECORD_NAME = "run.json"
#: The gallery's picture of a run: its key chart, scaled down (see workbench/thumbnails.py).
THUMBNAIL_NAME = "thumbnail.png"
#: The scenario's pointer to its last good run, and the batch's record of an unchanged check.
LATEST_NAME = "latest"
CHECKED_NAME = "checked.json"
TEMPLATES_DIR = Path(__file__).resolve().parent / "workbench" / "templates"
#: The forecast archive's folder under the reports folder (see shopcast.gmv.archive).
ARCHIVE_NAME = "forecast_archive"
#: Environment variables through which the runner tells a notebook's kernel who the run is
#: (the analysis layer reads them with run_context(); it never imports the workbench).
RUN_ENV = {
    "notebook": "SHOPCAST_NOTEBOOK",
    "scenario": "SHOPCAST_SCENARIO",
    "run_id": "SHOPCAST_RUN_ID",
    "reports_dir": "SHOPCAST_RUN_REPORTS_DIR",
}


def reports_dir() -> Path:
    """The reports folder: ``$SHOPCAST_REPORTS_DIR`` if set, else ``<project>/reports``."""
    return Path(os.environ.get("SHOPCAST_REPORTS_DIR", PROJ_ROOT / "reports")).resolve()


def run_context() -> dict[str, str]:
    """The current run's identity as the runner exported it.

    Returns:
        notebook, scenario, run_id and reports_dir ("" for any not set, e.g. in a plain Python
        session or under plain papermill).
    """
    return {key: os.environ.get(name, "") for key, name in RUN_ENV.items()}


#: Variables that give a process one BLAS/OpenMP thread. The forecasters multiply small matrices
#: (state-space filters of 30-odd months, Prophet's design), where a second BLAS thread costs more
#: in hand-offs than it saves, and spins on a core another process needs: on this project's
#: 2-core machine one vintage of the post-mortem took 7.4 s of CPU with OpenBLAS's default of one
#: thread per core against 3.0 s with one (README, benchmarks). The kernel and the Dask workers
#: start with these unless the variable is already set; numbers are unchanged (tests compare
#: a Dask worker's forecasts with the kernel's digit for digit).
ONE_BLAS_THREAD = {
    name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
}


def one_blas_thread_env() -> dict[str, str]:
    """:data:`ONE_BLAS_THREAD`, except where this process's environment sets the variable."""
    return {name: os.environ.get(name, value) for name, value in ONE_BLAS_THREAD.items()}


def run_environment(notebook: str, scenario: str, run_id: str, root: Path) -> dict[str, str]:
    """The variables the runner adds to a kernel's environment (see :data:`RUN_ENV`)."""
    values = {"notebook": notebook, "scenario": scenario, "run_id": run_id}
    values["reports_dir"] = str(Path(root).resolve())
    return {RUN_ENV[key]: value for key, value in values.items()}


def cache_dir() -> Path:
    """Where deterministic intermediate results are cached: ``<reports>/.cache``."""
    return reports_dir() / ".cache"


def code_digest() -> str:
    """One SHA-256 over the package's source and templates: what the code was, committed or not."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".j2", ".json"}:
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def resolve_project_path(path: str | Path) -> Path:
    """A path as given when absolute, else relative to the project root.

    Notebooks run from ``notebooks/`` and the command line from anywhere: both mean one file.
    """
    p = Path(path)
    return p if p.is_absolute() else PROJ_ROOT / p
