"""The forecast archive: every goal forecast kept once, unchanged, as quantiles and probabilities.

Like a forecast hub, the archive stores what a forecast said in a form that can be scored when
the outcomes arrive: for every month and every goal or calendar-year window, the quantiles of the
forecast distribution, and the probability of each goal. Rows are keyed by notebook, scenario,
``as_of`` (the data vintage), run id, model and the SHA-256 of the data file.

Layout: ``<reports>/forecast_archive/<notebook>/<scenario>/<run_id>.csv``, one file per run,
created once (:func:`shopcast.fileio.atomic_create`: written to a temporary file and linked into
place, never overwritten), so the archive only grows. Each file ends with a trailer line
``# shopcast-forecast-archive rows=<n> sha256=<digest of everything before it>``; a file whose
trailer is missing or does not match (cut short, edited, a crashed copy) is refused by
:func:`read_archive` with an :class:`ArchiveError` naming it, and is never rewritten or dropped
silently. Temporary files (``.<name>.tmp``) of an interrupted write are not part of the archive.

Columns (long format, one value per row):
    notebook, scenario, run_id (str): who made the forecast.
    as_of (str): the data vintage, ISO date ("" = every figure known when it ran).
    model (str): the forecaster used.
    data_sha256 (str): SHA-256 of the data file.
    coverage (str): the region (or the user series' segment) forecast.
    target (str): ``month`` (GMV of one month), ``window_total`` (GMV summed over a window),
        ``goal_absolute`` / ``goal_multiple`` (a goal's event).
    period_start, period_end (str): first and last month of the target, ``YYYY-MM-DD``.
    output_type (str): ``quantile``, ``mean`` or ``probability``.
    output_type_id (float): the quantile level (0.01 .. 0.99); for ``goal_absolute`` the target
        in USD, for ``goal_multiple`` the multiple; NaN for ``mean``.
    value (float): USD for quantiles and means, a probability for goals.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import secrets
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.config import ARCHIVE_NAME, reports_dir, run_context
from shopcast.exceptions import ArchiveError, ParameterError
from shopcast.fileio import atomic_create
from shopcast.forecasting.base import unwrap
from shopcast.publish import sha256

#: The quantile levels stored for every target.
QUANTILE_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
KEY_COLUMNS = ("notebook", "scenario", "run_id", "as_of", "model", "data_sha256", "coverage")
COLUMNS = (
    *KEY_COLUMNS,
    "target",
    "period_start",
    "period_end",
    "output_type",
    "output_type_id",
    "value",
)
TRAILER = "# shopcast-forecast-archive"
_TRAILER = re.compile(r"^# shopcast-forecast-archive rows=(\d+) sha256=([0-9a-f]{64})\n?$")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def archive_dir(root: str | Path | None = None) -> Path:
    """``<reports>/forecast_archive``.

    The reports folder is ``root`` when given, else the run's as the runner exported it, else
    :func:`shopcast.config.reports_dir`.
    """
    if root is None:
        root = run_context()["reports_dir"] or reports_dir()
    return Path(root) / ARCHIVE_NAME


def _quantile_rows(values: np.ndarray, target: str, start: pd.Timestamp, end: pd.Timestamp):
    qs = np.quantile(values, QUANTILE_LEVELS, axis=0)
    rows = [
        (target, start, end, "quantile", level, q)
        for level, q in zip(QUANTILE_LEVELS, np.atleast_1d(qs), strict=True)
    ]
    rows.append((target, start, end, "mean", np.nan, float(np.mean(values))))
    return rows


def forecast_records(forecast, goal_multiple: float | None = None) -> pd.DataFrame:
    """What a goal forecast said, as archive rows (without the key columns).

    Args:
        forecast: a :class:`shopcast.gmv.pipeline.GoalForecast`.
        goal_multiple: the multiple goal's ``k`` (for ``output_type_id``); None leaves it NaN.

    Returns:
        DataFrame with columns target, period_start, period_end, output_type, output_type_id,
        value: quantiles and the mean of every month of the paths (history and forecast), of
        the goal window and of every calendar year the paths cover, and both goals'
        probabilities.
    """
    paths = unwrap(forecast.paths)[0]
    months = pd.DatetimeIndex(pd.to_datetime(paths.columns))
    values = paths.to_numpy(dtype=float)
    rows = []
    for j, month in enumerate(months):
        rows += _quantile_rows(values[:, j], "month", month, month)
    windows = {forecast.absolute.window}
    for year in sorted(set(months.year)):
        first, last = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 1)
        if first in months and last in months:
            windows.add((first, last))
    for start, end in sorted(windows):
        mask = (months >= start) & (months <= end)
        rows += _quantile_rows(values[:, mask].sum(axis=1), "window_total", start, end)
    start, end = forecast.absolute.window
    rows.append(
        (
            "goal_absolute",
            start,
            end,
            "probability",
            forecast.absolute.target,
            forecast.absolute.probability,
        )
    )
    rows.append(
        (
            "goal_multiple",
            start,
            end,
            "probability",
            np.nan if goal_multiple is None else float(goal_multiple),
            forecast.multiple.probability,
        )
    )
    frame = pd.DataFrame(rows, columns=list(COLUMNS[len(KEY_COLUMNS) :]))
    for column in ("period_start", "period_end"):
        frame[column] = pd.to_datetime(frame[column]).dt.strftime("%Y-%m-%d")
    return frame


def new_run_id() -> str:
    """A run id for a forecast made outside the runner: ``adhoc-<UTC time>-<random>``."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"adhoc-{stamp}-{os.getpid()}-{secrets.token_hex(3)}"


def _serialise(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", float_format="%.10g")
    body = buffer.getvalue().encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    return body + f"{TRAILER} rows={len(frame)} sha256={digest}\n".encode()


def append(
    records: pd.DataFrame,
    *,
    notebook: str,
    scenario: str = "",
    run_id: str = "",
    root: str | Path | None = None,
) -> Path:
    """Add one run's rows to the archive (a new file; an existing run's file is never touched).

    Args:
        records: rows with every column of :data:`COLUMNS` except notebook, scenario and
            run_id (added here).
        notebook: the notebook's name.
        scenario: defaults to what the runner exported (:func:`shopcast.config.run_context`),
            else ``adhoc``.
        run_id: defaults to what the runner exported, else :func:`new_run_id`.
        root: the reports folder (default: :func:`archive_dir`'s).

    Returns:
        The archive file written.

    Raises:
        ArchiveError: the run already has a file in the archive.
        ParameterError: a name that is not a plain file name, or missing columns.
    """
    context = run_context()
    scenario = scenario or context["scenario"] or "adhoc"
    run_id = run_id or context["run_id"] or new_run_id()
    for name, value in (("notebook", notebook), ("scenario", scenario), ("run_id", run_id)):
        if not _SAFE.match(value):
            raise ParameterError(name, value, "letters, digits, '.', '-' and '_' only")
    missing = [
        c
        for c in COLUMNS
        if c not in records.columns and c not in ("notebook", "scenario", "run_id")
    ]
    if missing:
        raise ParameterError("records", f"columns {list(records.columns)}", f"also {missing}")
    frame = records.assign(notebook=notebook, scenario=scenario, run_id=run_id)[list(COLUMNS)]
    folder = archive_dir(root) / notebook / scenario
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.csv"
    try:
        atomic_create(path, _serialise(frame))
    except FileExistsError:
        raise ArchiveError(
            path,
            f"run {run_id} already has rows in the archive; the archive is append-only, so a "
            "run's file is written once: use a new run id",
        ) from None
    return path


def archive_forecast(
    forecast,
    *,
    data_file: str | Path,
    coverage: str,
    notebook: str,
    goal_multiple: float | None = None,
    scenario: str = "",
    run_id: str = "",
    root: str | Path | None = None,
) -> Path:
    """Archive one goal forecast (see :func:`forecast_records` and :func:`append`)."""
    from shopcast.config import resolve_project_path

    records = forecast_records(forecast, goal_multiple).assign(
        as_of=forecast.as_of,
        model=forecast.model_name,
        data_sha256=sha256(resolve_project_path(data_file)),
        coverage=coverage,
    )
    return append(records, notebook=notebook, scenario=scenario, run_id=run_id, root=root)


def read_file(path: str | Path) -> pd.DataFrame:
    """One archive file, after checking its trailer.

    Raises:
        ArchiveError: the file is unreadable, has no valid trailer (cut short), or its row count
            or digest does not match (changed after it was written).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArchiveError(path, f"cannot be read ({exc})") from None
    cut = data.rstrip(b"\n").rfind(b"\n") + 1
    body, trailer = data[:cut], data[cut:].decode("utf-8", errors="replace")
    match = _TRAILER.match(trailer)
    fix = (
        "the archive never rewrites a file: move this one out of the archive folder (keep it "
        "for inspection) and re-run the forecast to archive it again"
    )
    if not match:
        raise ArchiveError(
            path,
            f"has no valid trailer line ('{TRAILER} rows=... sha256=...'): it was cut short "
            f"or is not an archive file; {fix}",
        )
    rows, digest = int(match.group(1)), match.group(2)
    if hashlib.sha256(body).hexdigest() != digest:
        raise ArchiveError(path, f"its content does not match its trailer's SHA-256: {fix}")
    frame = pd.read_csv(
        io.BytesIO(body),
        dtype={c: str for c in COLUMNS[:-2] if c != "value"},
        keep_default_na=False,
        na_values={"output_type_id": [""], "value": [""]},
    )
    if len(frame) != rows or list(frame.columns) != list(COLUMNS):
        raise ArchiveError(
            path,
            f"holds {len(frame)} rows and columns {list(frame.columns)}, "
            f"its trailer says {rows} rows of {list(COLUMNS)}: {fix}",
        )
    return frame


def read_archive(root: str | Path | None = None, notebook: str | None = None) -> pd.DataFrame:
    """Every archived row (optionally of one notebook), each file checked.

    Raises:
        ArchiveError: naming every corrupt file (none is skipped silently).
    """
    folder = archive_dir(root)
    if notebook:
        folder = folder / notebook
    files = sorted(p for p in folder.rglob("*.csv") if not p.name.startswith("."))
    frames, problems = [], []
    for path in files:
        try:
            frames.append(read_file(path))
        except ArchiveError as exc:
            problems.append(str(exc))
    if problems:
        raise ArchiveError(
            folder, f"{len(problems)} corrupt archive file(s): " + " | ".join(problems)
        )
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(frames, ignore_index=True)
