"""A user's own GMV file: validate it and aggregate it to a monthly series.

The file is a CSV with a header and the columns ``date`` (ISO ``YYYY-MM-DD``), ``gmv`` (US dollars,
plain digits) and optionally ``segment`` (e.g. a market or a category) and ``published`` (when the
row's figure was published; a revision is a new row with a later ``published``). Its grain (daily,
weekly or monthly) is inferred from the spacing of the dates.

Vintages: with ``as_of`` only what was known on that date is kept. With a ``published`` column,
rows published after ``as_of`` are dropped and, of the revisions of one date, the latest
published by ``as_of`` wins. Without it, a month counts as known once it has ended (its last day
on or before ``as_of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.exceptions import DataError
from shopcast.gmv.anchors import _ISO_PARTIAL, MAX_GMV_USD, read_lines
from shopcast.gmv.vintage import parse_as_of, split_by_vintage
from shopcast.publish import record_input

MIN_MONTHS = 12
GRAINS = ("daily", "weekly", "monthly")


def _lines(lines) -> str:
    lines = [str(int(n)) for n in lines]
    more = f" and {len(lines) - 10} more" if len(lines) > 10 else ""
    return ", ".join(lines[:10]) + more


def _raise(path: Path, rows: pd.DataFrame, column: str | None, problem: str) -> None:
    plural = "s" if len(rows) > 1 else ""
    raise DataError(
        path,
        f"{problem} (line{plural} {_lines(rows['line'])})",
        row=int(rows["line"].iloc[0]),
        column=column,
    )


def _infer_grain(path: Path, dates: pd.Series, label: str) -> str:
    gaps = dates.diff().dt.days.dropna()
    if gaps.empty:
        raise DataError(path, f"{label}has a single date; at least {MIN_MONTHS} months are needed")
    typical = float(gaps.median())
    if typical <= 1:
        return "daily"
    if 6 <= typical <= 8:
        return "weekly"
    if 27 <= typical <= 32:
        return "monthly"
    raise DataError(
        path,
        f"{label}cannot infer the grain: dates are typically {typical:g} days "
        "apart; use one row per day, per week (7 days apart) or per month",
    )


def _check_spacing(path: Path, part: pd.DataFrame, grain: str, label: str) -> None:
    """Reject gaps and irregular steps, naming the rows on both sides."""
    if grain == "monthly":
        months = part["date"].dt.year * 12 + part["date"].dt.month
        step, expected, unit = months.diff(), 1, "months"
    else:
        step = part["date"].diff().dt.days
        expected, unit = (1, "days") if grain == "daily" else (7, "days")
    bad = step.notna() & (step != expected)
    if bad.any():
        at = np.flatnonzero(bad.to_numpy())[0]
        before, after = part.iloc[at - 1], part.iloc[at]
        shown = sorted(
            {int(part["line"].iloc[i]) for k in np.flatnonzero(bad.to_numpy()) for i in (k - 1, k)}
        )
        raise DataError(
            path,
            f"{label}{grain} data must have one row every {expected} {unit.rstrip('s')}"
            f"{'s' if expected > 1 else ''}; there is a step of {int(step.iloc[at])} {unit} "
            "between "
            f"{before['date']:%Y-%m-%d} (line {before['line']}) and {after['date']:%Y-%m-%d} "
            f"(line {after['line']}); fill the missing rows (0 if there were no sales) "
            f"(lines {_lines(shown)})",
            row=int(after["line"]),
            column="date",
        )


def _monthly_totals(part: pd.DataFrame, grain: str) -> tuple[pd.Series, list[pd.Timestamp]]:
    """Complete-month totals of one segment, and the partial months dropped."""
    if grain == "monthly":
        months = part["date"].dt.to_period("M").dt.to_timestamp()
        return pd.Series(part["gmv"].to_numpy(), index=pd.DatetimeIndex(months)), []
    span = 1 if grain == "daily" else 7
    # Spread each row uniformly over the days it covers, then add up by calendar month.
    days = np.repeat(part["date"].to_numpy(), span) + np.tile(
        np.arange(span).astype("timedelta64[D]"), len(part)
    )
    daily = pd.Series(np.repeat(part["gmv"].to_numpy() / span, span), index=pd.DatetimeIndex(days))
    months = daily.index.to_period("M")
    totals = daily.groupby(months).sum()
    counted = daily.groupby(months).size()
    complete = counted.to_numpy() == counted.index.days_in_month
    index = totals.index.to_timestamp()
    dropped = list(index[~complete])
    return pd.Series(totals.to_numpy()[complete], index=index[complete]), dropped


def _latest_revisions(path: Path, frame: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """Rows known on ``as_of`` (all when None), one per segment and date: the latest revision."""
    text = frame["published"].str.strip()
    bad = frame.loc[
        ~text.str.match(_ISO_PARTIAL)
        | pd.to_datetime(text, format="ISO8601", errors="coerce").isna()
    ]
    if len(bad):
        _raise(
            path,
            bad,
            "published",
            f"published {text[bad.index[0]]!r} is not an ISO date; write YYYY-MM-DD (or YYYY-MM / "
            "YYYY when the day is not known)",
        )
    known, _ = split_by_vintage(frame.assign(published=text), as_of, path, label="row")
    same = known.loc[known.duplicated(["segment", "date", "published_last"], keep=False)]
    if len(same):
        _raise(
            path,
            same,
            "published",
            f"date {same['date'].iloc[0]:%Y-%m-%d} has two rows published on "
            f"{same['published'].iloc[0]}; a revision needs a later published date",
        )
    latest = known.sort_values("published_last").drop_duplicates(["segment", "date"], keep="last")
    return latest.sort_index().drop(columns=["published_first", "published_last"])


@dataclass(frozen=True)
class UserSeries:
    """A user's GMV file read into calendar-month totals, with what the reading did.

    Attributes:
        monthly: the monthly GMV (see :func:`load_gmv_csv`).
        grain: ``"daily"``, ``"weekly"`` or ``"monthly"``, inferred from the dates.
        segment: the segment kept, or None for the total of all segments.
        path: the file, resolved.
        dropped_partial_months: ISO months left out because the data cover them only partly
            (or, for a total, not in every segment).
    """

    monthly: pd.Series
    grain: str
    segment: str | None
    path: str
    dropped_partial_months: tuple[str, ...]


def load_gmv_csv(
    path: str | Path,
    segment: str | None = None,
    *,
    min_months: int = MIN_MONTHS,
    as_of: str | pd.Timestamp | None = None,
) -> pd.Series:
    """A user's GMV file as calendar-month totals (:func:`read_gmv_csv` without the details)."""
    return read_gmv_csv(path, segment, min_months=min_months, as_of=as_of).monthly


def read_gmv_csv(
    path: str | Path,
    segment: str | None = None,
    *,
    min_months: int = MIN_MONTHS,
    as_of: str | pd.Timestamp | None = None,
) -> UserSeries:
    """Read a user's GMV file and aggregate it to calendar-month totals.

    The file has a header and columns ``date`` (ISO ``YYYY-MM-DD``), ``gmv`` (US dollars, plain
    digits, >= 0) and optionally ``segment``. The grain is inferred from the dates' typical
    spacing:

    - daily: one row per day, ``gmv`` is that day's GMV;
    - weekly: one row per 7 days, ``date`` is the *first* day of the week the row covers; a week
      straddling two months is split between them pro rata by days (uniform within the week);
    - monthly: one row per calendar month (any day of the month may label it), ``gmv`` is the
      month's total.

    Partial months are dropped, not scaled: at daily or weekly grain only calendar months whose
    every day is covered by the data are kept, so a first or last month that is only partly in the
    file is left out (and listed in ``dropped_partial_months``).

    Segments: with ``segment`` given, only that segment's rows are used. With ``segment=None`` and
    a ``segment`` column, each segment is validated on its own and their monthly totals are added
    up over the complete months common to all segments (other months are dropped and listed).

    Args:
        path: the CSV file.
        segment: the segment to keep, or None for the total of all segments.
        min_months: the fewest complete months accepted (a yearly cycle needs 12).
        as_of: keep only what was known on this date (see the module docstring); None keeps
            every row (the latest revision of each date).

    Returns:
        A :class:`UserSeries` whose ``monthly`` is a float Series named ``gmv`` (or the
        segment), indexed by a month-start ``DatetimeIndex`` named ``month`` with freq ``MS``.

    Raises:
        DataError: a missing column, an unparseable date, a non-numeric or negative ``gmv``, a
            duplicate date (within a segment), a gap or irregular step, a mix of grains, an
            unknown segment, or fewer than ``min_months`` complete months. The message names the
            file and the offending lines (header = line 1).
    """
    path = Path(path)
    frame = read_lines(path)
    frame.columns = [c if c == "line" else c.lower() for c in frame.columns]
    for column in ("date", "gmv"):
        if column not in frame.columns:
            raise DataError(
                path,
                f"missing column {column!r}; the header needs date, gmv "
                f"(optional: segment); found {', '.join(frame.columns[1:])}",
                row=1,
                column=column,
            )
    if frame.empty:
        raise DataError(path, "no data rows after the header")
    has_segments = "segment" in frame.columns
    if segment is not None:
        if not has_segments:
            raise DataError(
                path,
                f"segment {segment!r} was asked for but the file has no "
                "'segment' column; pass segment=None",
                row=1,
                column="segment",
            )
        known = sorted(frame["segment"].str.strip().unique())
        if segment not in known:
            raise DataError(
                path,
                f"segment {segment!r} is not in the file; segments: {', '.join(known)}",
                column="segment",
            )
    frame["segment"] = frame["segment"].str.strip() if has_segments else ""

    text = frame["date"].str.strip()
    frame["date"] = pd.to_datetime(
        text.where(text.str.match(r"^\d{4}-\d{2}-\d{2}$")), format="%Y-%m-%d", errors="coerce"
    )
    bad = frame.loc[frame["date"].isna()]
    if len(bad):
        _raise(
            path,
            bad,
            "date",
            f"date {text[bad.index[0]]!r} is not an ISO date; write YYYY-MM-DD, e.g. 2023-01-31",
        )
    raw = frame["gmv"].str.strip()
    frame["gmv"] = pd.to_numeric(raw.where(raw != ""), errors="coerce")
    bad = frame.loc[frame["gmv"].isna() | ~np.isfinite(frame["gmv"].fillna(0.0))]
    if len(bad):
        _raise(
            path,
            bad,
            "gmv",
            f"gmv {raw[bad.index[0]]!r} is not a number; write plain "
            "digits such as 1234.5 (no thousands separators or currency signs, 0 for none)",
        )
    bad = frame.loc[frame["gmv"] > MAX_GMV_USD]
    if len(bad):
        _raise(
            path,
            bad,
            "gmv",
            f"gmv {raw[bad.index[0]]!r} is above {MAX_GMV_USD:g} US dollars, the largest "
            "accepted; check the units (dollars, not cents) and the digits",
        )
    bad = frame.loc[frame["gmv"] < 0]
    if len(bad):
        _raise(
            path,
            bad,
            "gmv",
            f"gmv {raw[bad.index[0]]!r} is negative; GMV is >= 0 (book "
            "refunds against the day of sale or leave them out)",
        )
    if segment is not None:
        frame = frame.loc[frame["segment"] == segment]
    if "published" in frame.columns:
        frame = _latest_revisions(path, frame, as_of)
        if frame.empty:
            raise DataError(
                path,
                f"no row was published by as_of {parse_as_of(as_of):%Y-%m-%d}; choose a later "
                "as_of, or empty for every row",
                column="published",
            )
    if len(frame) and (frame["gmv"] == 0).all():
        _raise(
            path,
            frame,
            "gmv",
            "every gmv value is 0; the forecasters work on the logarithm of GMV, which needs "
            "sales: give a file (or segment) with GMV above 0",
        )
    dup = frame.loc[frame.duplicated(["segment", "date"], keep=False)]
    if len(dup):
        which = f" in segment {dup['segment'].iloc[0]!r}" if has_segments else ""
        _raise(
            path,
            dup,
            "date",
            f"date {dup['date'].iloc[0]:%Y-%m-%d} appears more than "
            f"once{which}; keep one row per date (and segment)",
        )

    grains, series, dropped = set(), [], set()
    for name, part in frame.groupby("segment", sort=True):
        part = part.sort_values("date")
        label = f"segment {name!r}: " if has_segments else ""
        grain = _infer_grain(path, part["date"], label)
        if grain == "monthly":
            same_month = part.loc[part["date"].dt.to_period("M").duplicated(keep=False)]
            if len(same_month):
                _raise(
                    path,
                    same_month,
                    "date",
                    f"{label}monthly data has two rows in "
                    f"{same_month['date'].iloc[0]:%Y-%m}; keep one row per month",
                )
        _check_spacing(path, part, grain, label)
        grains.add(grain)
        totals, partial = _monthly_totals(part, grain)
        series.append(totals)
        dropped.update(partial)
    if len(grains) > 1:
        raise DataError(
            path,
            f"segments mix grains ({', '.join(sorted(grains))}); give every segment the same grain",
            column="date",
        )
    common = series[0].index
    for s in series[1:]:
        common = common.intersection(s.index)
    for s in series:
        dropped.update(s.index.difference(common))
    monthly = sum(s.reindex(common) for s in series).astype(float)
    cutoff = parse_as_of(as_of)
    if cutoff is not None and "published" not in frame.columns:
        ended = monthly.index + pd.offsets.MonthEnd(0) <= cutoff
        monthly = monthly[ended]
        if len(monthly) < min_months:
            raise DataError(
                path,
                f"only {len(monthly)} complete months had ended by as_of {cutoff:%Y-%m-%d}; at "
                f"least {min_months} are needed: choose a later as_of, or empty for all rows",
            )
    if len(monthly) < min_months:
        months = ", ".join(f"{m:%Y-%m}" for m in sorted(dropped))
        dropped_text = f"; partial months dropped: {months}" if dropped else ""
        why = (
            "to fit a yearly pattern"
            if min_months >= 12
            else "to place the market's scale against other platforms (the outside view)"
        )
        raise DataError(
            path,
            f"only {len(monthly)} complete months of data; at least "
            f"{min_months} are needed {why}{dropped_text}; add earlier months to the file",
        )
    monthly.index = pd.DatetimeIndex(monthly.index, freq="MS", name="month")
    monthly.name = segment or "gmv"
    record_input(path)
    return UserSeries(
        monthly=monthly,
        grain=grains.pop(),
        segment=segment,
        path=str(path.resolve()),
        dropped_partial_months=tuple(f"{m:%Y-%m}" for m in sorted(dropped)),
    )
