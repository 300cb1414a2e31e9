"""GMV anchors: published GMV figures, loaded from ``data/gmv_anchors.csv`` and validated.

An anchor is one published figure about GMV: a period total, a run rate or a bound, for one
coverage (a region) and one period. Anchors are what :mod:`shopcast.gmv.reconstruct` fits a monthly
path to. Goals are not anchors; they live in the notebooks' parameters.

Vocabulary (two small, orthogonal columns):

``measure`` says what quantity the figure is about:
    - ``total``: GMV summed over the period (inclusive dates), US dollars.
    - ``daily_rate``: average GMV per day over the period; when ``period_start == period_end``
      it is the run rate on that day.
    - ``monthly_rate``: average GMV per calendar month over the period.

``kind`` says how the figure constrains that quantity:
    - ``estimate``: the quantity is about ``value_usd``; when ``value_low_usd`` and
      ``value_high_usd`` are given it lies in that range ("3-4 M a day"), ``value_usd`` being a
      central value inside it.
    - ``lower_bound``: the quantity is more than ``value_usd`` ("more than 1 B").
    - ``upper_bound``: the quantity is less than ``value_usd`` ("less than 5 B").

``coverage`` is one of ``global``, ``southeast_asia``, ``outside_southeast_asia``, ``indonesia``
(part of ``southeast_asia``) and ``united_states`` (part of ``outside_southeast_asia``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.config import DATA_DIR
from shopcast.exceptions import DataError, closest
from shopcast.fileio import check_text_file
from shopcast.gmv.regions import COVERAGES
from shopcast.publish import record_input

ANCHORS_CSV = DATA_DIR / "gmv_anchors.csv"

MEASURES = ("total", "daily_rate", "monthly_rate")
KINDS = ("estimate", "lower_bound", "upper_bound")
#: How far a figure can be trusted as what happened (optional column; empty = ``reported``):
#: ``reported`` (a named publisher's own figure, quoted), ``doubtful`` (a paraphrase, an unnamed
#: or unknown source, or a figure that conflicts with better ones) and ``projection`` (an
#: expectation published before the period ended, not an outcome).
RELIABILITY = ("reported", "doubtful", "projection")
REQUIRED_COLUMNS = (
    "anchor_id",
    "coverage",
    "period_start",
    "period_end",
    "measure",
    "kind",
    "value_usd",
    "uncertainty",
    "publisher",
    "published",
    "source_note",
)
OPTIONAL_COLUMNS = ("value_low_usd", "value_high_usd", "derived_from", "reliability")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: The columns that say what an anchor constrains (the reconstruction needs exactly these).
CONSTRAINT_COLUMNS = (
    "anchor_id",
    "coverage",
    "period_start",
    "period_end",
    "measure",
    "kind",
    "value_usd",
    "value_low_usd",
    "value_high_usd",
    "uncertainty",
)
OUTPUT_ORDER = (
    *CONSTRAINT_COLUMNS,
    "publisher",
    "published",
    "derived_from",
    "reliability",
    "source_note",
)

#: The largest GMV figure accepted, in US dollars: a quadrillion, ten times world GDP (a larger
#: number is a typo or a unit error, and overflows the reconstruction).
MAX_GMV_USD = 1e15

_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_PARTIAL = r"^\d{4}(-\d{2}(-\d{2})?)?$"


def read_lines(path: str | Path) -> pd.DataFrame:
    """Read a CSV as strings, with each row's 1-based line number in a ``line`` column.

    The header is line 1, so data row ``i`` (0-based) is line ``i + 2``. Blank lines are skipped
    but still counted. A quoted field spanning several lines would shift later line numbers.

    Raises:
        DataError: the file is missing, not a UTF-8 text file (see
            :func:`shopcast.fileio.check_text_file`), empty or not CSV.
    """
    path = Path(path)
    text = check_text_file(path)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except pd.errors.EmptyDataError:
        raise DataError(path, "the file is empty; it needs a header line and data rows") from None
    except pd.errors.ParserError as exc:
        raise DataError(path, f"not a well-formed CSV file ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.insert(0, "line", np.arange(len(frame)) + 2)
    data = frame.drop(columns="line")
    blank = (data.apply(lambda col: col.str.strip()) == "").all(axis=1)
    return frame.loc[~blank].reset_index(drop=True)


def _lines(rows: pd.DataFrame) -> str:
    shown = [str(n) for n in rows["line"].head(10)]
    more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
    return ", ".join(shown) + more


def _fail(path: Path, rows: pd.DataFrame, column: str, problem: str) -> None:
    """Raise a DataError for the first offending row, listing every offending line."""
    first = rows.iloc[0]
    plural = "s" if len(rows) > 1 else ""
    raise DataError(
        path,
        f"{column} = {first[column]!r} {problem} (line{plural} {_lines(rows)})",
        row=int(first["line"]),
        column=column,
    )


def _check_vocabulary(path: Path, frame: pd.DataFrame, column: str, allowed: tuple[str, ...]):
    bad = frame.loc[~frame[column].isin(allowed)]
    if len(bad):
        hint = closest(bad.iloc[0][column], allowed)
        did_you_mean = f"; did you mean {hint!r}?" if hint else ""
        _fail(path, bad, column, f"is not allowed: use one of {', '.join(allowed)}{did_you_mean}")


def _parse_dates(path: Path, frame: pd.DataFrame, column: str) -> pd.Series:
    text = frame[column].str.strip()
    parsed = pd.to_datetime(
        text.where(text.str.match(_ISO_DATE)), format="%Y-%m-%d", errors="coerce"
    )
    bad = frame.loc[parsed.isna()]
    if len(bad):
        _fail(path, bad, column, "is not a date: write an ISO date, YYYY-MM-DD (e.g. 2022-12-31)")
    return parsed


def _parse_numbers(path: Path, frame: pd.DataFrame, column: str, optional: bool) -> pd.Series:
    text = frame[column].str.strip()
    empty = text == ""
    numbers = pd.to_numeric(text.where(~empty), errors="coerce")
    if not optional and empty.any():
        _fail(path, frame.loc[empty], column, "is empty: a number is required")
    bad = frame.loc[(~empty) & (numbers.isna() | ~np.isfinite(numbers.fillna(0.0)))]
    if len(bad):
        _fail(
            path,
            bad,
            column,
            "is not a number: write plain digits, e.g. 4400000000 or 4.4e9 "
            "(no thousands separators or currency signs)",
        )
    negative = frame.loc[numbers < 0]
    if len(negative):
        _fail(path, negative, column, "is negative: GMV figures and uncertainties are >= 0")
    huge = frame.loc[numbers > MAX_GMV_USD]
    if len(huge):
        _fail(path, huge, column, f"is above {MAX_GMV_USD:g} US dollars: check units and digits")
    return numbers.astype(float)


def load_anchors(path: str | Path = ANCHORS_CSV) -> pd.DataFrame:
    """Load and validate a GMV anchors file.

    Columns of the file (and of the returned frame, one row per anchor, in file order):
        anchor_id (str): unique, stable name of the figure, e.g. ``sea_2022_total``.
        coverage (str): ``global``, ``southeast_asia``, ``outside_southeast_asia``,
            ``indonesia`` or ``united_states``.
        period_start, period_end (Timestamp): inclusive ISO dates the figure is about;
            ``period_end >= period_start``. A run rate on one day has both equal.
        measure (str): ``total``, ``daily_rate`` or ``monthly_rate`` (see module docstring).
        kind (str): ``estimate``, ``lower_bound`` or ``upper_bound``.
        value_usd (float): the figure in US dollars (for a range, a central value in it).
        value_low_usd, value_high_usd (float, optional): a published range ("3-4 M a day");
            both or neither, ``value_low_usd <= value_usd <= value_high_usd``. When absent they
            are returned equal to ``value_usd``.
        uncertainty (float): relative one-sigma uncertainty of the figure (0.1 = about 10 %),
            larger for figures read off a chart; for bounds, how soft the bound is.
        publisher (str): who published the figure.
        published (str): when, ISO ``YYYY-MM-DD``, or ``YYYY-MM`` / ``YYYY`` when the day is not
            known (kept as text so that no day is invented).
        derived_from (str, optional): for a figure derived from another statement rather than
            published as a number, the ``anchor_id`` it is derived from; empty otherwise.
        reliability (str, optional): ``reported`` (default when empty), ``doubtful`` or
            ``projection`` (see :data:`RELIABILITY`); reports label outcomes with it.
        source_note (str): what the figure measures and where it came from ("via ...").

    Args:
        path: the CSV file; defaults to the embedded ``data/gmv_anchors.csv``.

    Returns:
        The anchors, with dates as Timestamps and values as floats, plus a ``line`` column (the
        row's line number in the file, for messages).

    Raises:
        DataError: a column is missing or unknown, or a value is malformed; the message names
            the file, line (header = line 1), column, value seen and what is allowed.
    """
    path = Path(path)
    frame = read_lines(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            path,
            f"missing required column {missing[0]!r}; the header needs "
            f"{', '.join(REQUIRED_COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})",
            row=1,
            column=missing[0],
        )
    unknown = [c for c in frame.columns if c not in COLUMNS and c != "line"]
    if unknown:
        hint = closest(unknown[0], COLUMNS)
        did_you_mean = f"did you mean {hint!r}? " if hint else ""
        raise DataError(
            path,
            f"unknown column {unknown[0]!r}; {did_you_mean}allowed columns: {', '.join(COLUMNS)}",
            row=1,
            column=unknown[0],
        )
    if frame.empty:
        raise DataError(path, "no anchor rows after the header")
    for column in OPTIONAL_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    for column in ("anchor_id", "coverage", "measure", "kind", "publisher", "derived_from"):
        frame[column] = frame[column].str.strip()
    frame["reliability"] = frame["reliability"].str.strip().replace("", "reported")

    empty_id = frame.loc[frame["anchor_id"] == ""]
    if len(empty_id):
        _fail(path, empty_id, "anchor_id", "is empty: every anchor needs a unique id")
    dup = frame.loc[frame["anchor_id"].duplicated(keep=False)]
    if len(dup):
        _fail(path, dup, "anchor_id", "is used more than once: anchor ids must be unique")
    _check_vocabulary(path, frame, "coverage", COVERAGES)
    _check_vocabulary(path, frame, "measure", MEASURES)
    _check_vocabulary(path, frame, "kind", KINDS)
    _check_vocabulary(path, frame, "reliability", RELIABILITY)

    start = _parse_dates(path, frame, "period_start")
    end = _parse_dates(path, frame, "period_end")
    backwards = frame.loc[end < start]
    if len(backwards):
        first = backwards.index[0]
        _fail(
            path,
            backwards,
            "period_end",
            f"is before period_start "
            f"{frame.at[first, 'period_start']!r}: period_end must be on or after the start",
        )
    published = frame["published"].str.strip()
    bad = frame.loc[
        ~published.str.match(_ISO_PARTIAL)
        | pd.to_datetime(published, format="ISO8601", errors="coerce").isna()
    ]
    if len(bad):
        _fail(
            path,
            bad,
            "published",
            "is not an ISO date: write YYYY-MM-DD, or YYYY-MM / YYYY when the day is not known",
        )

    value = _parse_numbers(path, frame, "value_usd", optional=False)
    low = _parse_numbers(path, frame, "value_low_usd", optional=True)
    high = _parse_numbers(path, frame, "value_high_usd", optional=True)
    uncertainty = _parse_numbers(path, frame, "uncertainty", optional=False)
    one_sided = frame.loc[low.isna() != high.isna()]
    if len(one_sided):
        col = "value_high_usd" if low.notna()[one_sided.index[0]] else "value_low_usd"
        _fail(
            path,
            one_sided,
            col,
            "is empty while the other end of the range is given: give "
            "both value_low_usd and value_high_usd, or neither",
        )
    for name, bad_mask, problem in (
        ("value_low_usd", low > value, "is above value_usd: need value_low_usd <= value_usd"),
        ("value_high_usd", high < value, "is below value_usd: need value_usd <= value_high_usd"),
        ("value_low_usd", low > high, "is above value_high_usd: need low <= high"),
        ("uncertainty", uncertainty > 1, "is above 1: a relative uncertainty is in 0..1"),
    ):
        if bad_mask.any():
            _fail(path, frame.loc[bad_mask], name, problem)
    ranged = frame.loc[low.notna() & (frame["kind"] != "estimate")]
    if len(ranged):
        _fail(
            path,
            ranged,
            "value_low_usd",
            "is given on a bound: ranges are for kind "
            "'estimate'; leave value_low_usd/value_high_usd empty for bounds",
        )
    ids = set(frame["anchor_id"])
    orphan = frame.loc[
        (frame["derived_from"] != "")
        & (~frame["derived_from"].isin(ids) | (frame["derived_from"] == frame["anchor_id"]))
    ]
    if len(orphan):
        _fail(path, orphan, "derived_from", "does not name another anchor_id of this file")

    record_input(path)
    out = frame.assign(
        period_start=start,
        period_end=end,
        published=published,
        value_usd=value,
        value_low_usd=low.fillna(value),
        value_high_usd=high.fillna(value),
        uncertainty=uncertainty,
    )
    return out[["line", *OUTPUT_ORDER]].reset_index(drop=True)
