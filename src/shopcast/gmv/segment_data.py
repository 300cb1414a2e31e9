"""A segmented GMV file: one monthly series per bottom segment of a hierarchy, bad ones set aside.

The file is a CSV with the columns ``date`` (ISO ``YYYY-MM-DD``), ``gmv`` (US dollars, >= 0) and
one or more segment columns, read top level first (e.g. ``region,country,category``): every other
column is a segment level, in the order of the header. A bottom segment is one combination of
the levels' values. Its grain (daily, weekly, monthly) is inferred as in
:func:`shopcast.gmv.series.load_gmv_csv` and aggregated to complete calendar months.

A segment whose rows cannot be forecast (too few months, a negative or non-numeric ``gmv``, an
unparseable or duplicated date, a gap, a history ending before the others) is a
:class:`BadSegment`: reported by name with its lines, and left out (``on_bad_segment="skip"``,
the default) or the load fails naming every bad segment (``"fail"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.exceptions import DataError, ParameterError
from shopcast.gmv.anchors import read_lines
from shopcast.gmv.series import MIN_MONTHS, _check_spacing, _infer_grain, _monthly_totals
from shopcast.publish import record_input

#: What to do with a segment that cannot be forecast.
BAD_SEGMENT_ACTIONS = ("skip", "fail")
#: Joins a bottom segment's level values into its name, e.g. ``"asia / indonesia / beauty"``.
SEPARATOR = " / "


@dataclass(frozen=True)
class BadSegment:
    """A segment left out, and why.

    Attributes:
        segment: its name (level values joined by :data:`SEPARATOR`).
        problem: what is wrong and how to fix it.
        lines: the file's lines at fault (header = line 1), possibly empty.
    """

    segment: str
    problem: str
    lines: tuple[int, ...] = ()

    def describe(self) -> str:
        """One sentence for a report or an error message."""
        shown = ", ".join(str(n) for n in self.lines[:10])
        more = f" and {len(self.lines) - 10} more" if len(self.lines) > 10 else ""
        where = f" (lines {shown}{more})" if self.lines else ""
        return f"{self.segment}: {self.problem}{where}"


@dataclass(frozen=True)
class SegmentData:
    """Monthly history draws of every good bottom segment.

    Attributes:
        source: the file the data came from.
        levels: the segment columns, top level first.
        keys: the good bottom segments (tuples of level values), sorted.
        draws: key -> history draws (rows = draws, columns = consecutive month starts, USD per
            month); one row for observed data, several for a reconstruction.
        bad: the segments left out.
        history_kind: ``"observed"`` (a user's file) or ``"reconstructed"`` (published figures).
    """

    source: str
    levels: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    draws: dict[tuple[str, ...], pd.DataFrame]
    bad: tuple[BadSegment, ...] = ()
    history_kind: str = "observed"

    @property
    def last_month(self) -> pd.Timestamp:
        """The last history month (shared by every good segment)."""
        return max(pd.Timestamp(d.columns[-1]) for d in self.draws.values())

    def name(self, key: tuple[str, ...]) -> str:
        """The display name of a bottom segment."""
        return SEPARATOR.join(key)


def check_action(on_bad_segment: str) -> str:
    """``on_bad_segment`` when it is allowed, else a ParameterError."""
    if on_bad_segment not in BAD_SEGMENT_ACTIONS:
        raise ParameterError("on_bad_segment", on_bad_segment, '"skip" or "fail"')
    return on_bad_segment


def _segment_series(path: Path, part: pd.DataFrame, label: str) -> pd.Series:
    """One segment's complete-month totals, or a DataError saying what is wrong."""
    raw = part["gmv"].str.strip()
    values = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = part.loc[values.isna() | ~np.isfinite(values.fillna(0.0))]
    if len(bad):
        raise DataError(
            path,
            f"gmv {raw[bad.index[0]]!r} is not a number; write plain digits (0 for no sales)",
            row=int(bad["line"].iloc[0]),
        )
    bad = part.loc[values < 0]
    if len(bad):
        raise DataError(
            path,
            f"gmv {raw[bad.index[0]]!r} is negative; GMV is >= 0",
            row=int(bad["line"].iloc[0]),
        )
    text = part["date"].str.strip()
    dates = pd.to_datetime(
        text.where(text.str.match(r"^\d{4}-\d{2}-\d{2}$")), format="%Y-%m-%d", errors="coerce"
    )
    bad = part.loc[dates.isna()]
    if len(bad):
        raise DataError(
            path,
            f"date {text[bad.index[0]]!r} is not an ISO date; write YYYY-MM-DD",
            row=int(bad["line"].iloc[0]),
        )
    frame = pd.DataFrame({"date": dates, "gmv": values, "line": part["line"]})
    dup = frame.loc[frame["date"].duplicated(keep=False)]
    if len(dup):
        raise DataError(
            path,
            f"date {dup['date'].iloc[0]:%Y-%m-%d} appears more than once; keep one row per date",
            row=int(dup["line"].iloc[0]),
        )
    frame = frame.sort_values("date")
    grain = _infer_grain(path, frame["date"], label)
    if grain == "monthly":
        same = frame.loc[frame["date"].dt.to_period("M").duplicated(keep=False)]
        if len(same):
            raise DataError(
                path,
                f"two rows in {same['date'].iloc[0]:%Y-%m}; keep one row per month",
                row=int(same["line"].iloc[0]),
            )
    _check_spacing(path, frame, grain, label)
    totals, _ = _monthly_totals(frame, grain)
    if len(totals) < MIN_MONTHS:
        raise DataError(
            path,
            f"only {len(totals)} complete months; at least {MIN_MONTHS} are needed to forecast",
        )
    totals.index = pd.DatetimeIndex(totals.index, freq="MS")
    return totals.astype(float)


def _clean_monthly_segments(
    frame: pd.DataFrame, levels: tuple[str, ...]
) -> tuple[dict[tuple[str, ...], pd.Series], np.ndarray]:
    """The segments that need no explanation, read in one pass over the whole file.

    A segment qualifies when every row's ``gmv`` is a finite number >= 0 and its ``date`` an ISO
    date, its dates step one calendar month at a time (so no gap and no duplicate) and are
    typically 27-32 days apart (the monthly grain :func:`shopcast.gmv.series._infer_grain`
    finds), and it has at least ``MIN_MONTHS`` rows. For such a segment the result is what
    :func:`_segment_series` returns; every other segment goes through :func:`_segment_series`,
    which says what is wrong with it. A thousand segments took 40 s one by one.

    Returns:
        ``(series by key, mask of the rows those segments own)``.
    """
    raw = frame["gmv"].str.strip()
    values = pd.to_numeric(raw.where(raw != ""), errors="coerce").to_numpy(dtype=float)
    text = frame["date"].str.strip()
    dates = pd.to_datetime(
        text.where(text.str.match(r"^\d{4}-\d{2}-\d{2}$")), format="%Y-%m-%d", errors="coerce"
    )
    parsed = dates.notna().to_numpy()
    with np.errstate(invalid="ignore"):
        good_row = np.isfinite(values) & (values >= 0) & parsed
    grouped = frame.groupby(list(levels), sort=True)
    codes = grouped.ngroup().to_numpy()
    keys = [tuple(str(k) for k in (g if isinstance(g, tuple) else (g,))) for g in grouped.groups]
    n_groups = len(keys)
    month_start = dates.dt.to_period("M").dt.to_timestamp()
    days = dates.to_numpy(dtype="datetime64[D]").astype(np.int64)
    months = (dates.dt.year * 12 + dates.dt.month).to_numpy(dtype=float)
    order = np.lexsort((np.where(parsed, days, 0), codes))
    c, d, m = codes[order], days[order], months[order]
    same = c[1:] == c[:-1]
    rows = np.bincount(codes, minlength=n_groups)
    clean = np.bincount(codes, weights=~good_row, minlength=n_groups) == 0
    clean &= rows >= MIN_MONTHS
    step_bad = same & (np.diff(m) != 1)
    clean &= np.bincount(c[1:][step_bad], minlength=n_groups) == 0
    gaps = pd.Series(np.diff(d)[same].astype(float)).groupby(c[1:][same]).median()
    typical = np.full(n_groups, np.nan)
    typical[gaps.index.to_numpy()] = gaps.to_numpy()
    clean &= (typical >= 27) & (typical <= 32)
    stamps = month_start.to_numpy()[order]
    ordered_values = values[order]
    bounds = np.concatenate([[0], np.cumsum(rows)])
    series = {}
    for code in np.flatnonzero(clean):
        lo, hi = bounds[code], bounds[code + 1]
        series[keys[code]] = pd.Series(ordered_values[lo:hi], index=pd.DatetimeIndex(stamps[lo:hi]))
    return series, clean[codes]


def load_segment_csv(
    path: str | Path, on_bad_segment: str = "skip", levels: tuple[str, ...] | None = None
) -> SegmentData:
    """Load a segmented GMV file (see the module docstring).

    Args:
        path: the CSV file.
        on_bad_segment: ``"skip"`` (leave bad segments out, listed in ``bad``) or ``"fail"``.
        levels: the segment columns, top first; default every column but ``date`` and ``gmv``.

    Returns:
        A :class:`SegmentData` of observed history (one draw per segment).

    Raises:
        DataError: a missing column, no segment column, no good segment, or (with ``"fail"``)
            any bad segment; the message names the file, the segments and their lines.
    """
    check_action(on_bad_segment)
    path = Path(path)
    frame = read_lines(path)
    columns = [c for c in frame.columns if c != "line"]
    for column in ("date", "gmv"):
        if column not in columns:
            raise DataError(
                path,
                f"missing column {column!r}; the header needs date, gmv and one or more segment "
                f"columns (e.g. region,country); found {', '.join(columns)}",
                row=1,
                column=column,
            )
    levels = tuple(levels) if levels else tuple(c for c in columns if c not in ("date", "gmv"))
    missing = [c for c in levels if c not in columns]
    if not levels or missing:
        raise DataError(
            path,
            f"segment columns {missing or '(none)'} not found; add one or more segment columns "
            f"(e.g. region,country) beside date and gmv; found {', '.join(columns)}",
            row=1,
        )
    if frame.empty:
        raise DataError(path, "no data rows after the header")
    for level in levels:
        frame[level] = frame[level].str.strip()
        empty = frame.loc[frame[level] == ""]
        if len(empty):
            raise DataError(
                path,
                f"empty {level!r}; every row needs a value in each segment column",
                row=int(empty["line"].iloc[0]),
                column=level,
            )
    series, owned = _clean_monthly_segments(frame, levels)
    bad: list[BadSegment] = []
    for key, part in frame[~owned].groupby(list(levels), sort=True):
        key = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        label = f"segment {SEPARATOR.join(key)!r}: "
        try:
            series[key] = _segment_series(path, part, label)
        except DataError as exc:
            lines = (exc.row,) if exc.row is not None else tuple(int(n) for n in part["line"][:1])
            problem = exc.problem.removeprefix(label)
            bad.append(BadSegment(SEPARATOR.join(key), problem, lines))
    if series:
        last = max(s.index[-1] for s in series.values())
        for key in [k for k, s in series.items() if s.index[-1] < last]:
            s = series.pop(key)
            bad.append(
                BadSegment(
                    SEPARATOR.join(key),
                    f"its data end in {s.index[-1]:%Y-%m}, the other segments' in {last:%Y-%m}; "
                    "give every segment the same last month (0 for no sales)",
                )
            )
    bad.sort(key=lambda b: b.segment)
    if bad and on_bad_segment == "fail":
        raise DataError(
            path,
            f"{len(bad)} bad segment(s): "
            + "; ".join(b.describe() for b in bad)
            + " (set on_bad_segment to skip to forecast the others)",
        )
    if not series:
        raise DataError(path, "no segment can be forecast: " + "; ".join(b.describe() for b in bad))
    record_input(path)
    draws = {}
    for key, s in series.items():
        d = pd.DataFrame([s.to_numpy()], columns=s.index)
        d.index.name = "draw"
        draws[key] = d
    return SegmentData(str(path), levels, tuple(sorted(series)), draws, tuple(bad), "observed")
