"""Seller size data in three forms (facts, brackets, microdata): loading and validation."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.exceptions import DataError, closest
from shopcast.fileio import check_text_file
from shopcast.formatting import usd_short
from shopcast.publish import record_input

#: Kinds of published fact understood by :meth:`SizeModel.fit_facts`.
FACT_KINDS = ("n_sellers", "mean", "share_above", "gmv_share_above", "top_n_gmv_share")
#: Kinds that describe a platform's scale, not its size distribution's shape (see
#: :mod:`shopcast.sellers.scale`): annual GMV of the population over ``period``, sellers with
#: annual sales at or above ``level_usd`` (a count), registered merchants (a count).
SCALE_KINDS = ("gmv_total", "n_above", "n_registered")
FACT_COLUMNS = ("fact_id", "population", "kind", "level_usd", "top_n", "value")
#: Populations fitted by default: the US points only. The worldwide Marketplace Pulse points
#: describe a different population whose size is not published: kept for reference, not fitted.
DEFAULT_POPULATIONS = ("amazon_us",)
MICRODATA_COLUMN = "annual_gmv_usd"
SHARE_SUM_TOL = 0.01
#: The largest annual GMV of one seller, or dollar level, accepted: ten trillion dollars a year,
#: more than any marketplace's whole GMV (larger values overflow the size fits).
MAX_ANNUAL_USD = 1e13
#: The most sellers a ``n_sellers`` fact may state.
MAX_SELLER_COUNT = 1e10
#: The most rows each form may have: a bracket table is a published table of a few dozen rows;
#: microdata is one row per seller (the fits hold it in memory).
MAX_ROWS = {"brackets": 1_000, "microdata": 5_000_000}
#: Most brackets a table may have: a size table has tens of brackets; beyond this it is
#: microdata in disguise, and every fit would evaluate each bracket thousands of times.
MAX_BRACKETS = 10_000


# ---------------------------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------------------------


def source_label(data: str | Path | pd.DataFrame, what: str) -> str:
    """How messages and fitted models name the data: the file, or ``<facts DataFrame>``."""
    return f"<{what} DataFrame>" if isinstance(data, pd.DataFrame) else str(Path(data))


def _read(data: str | Path | pd.DataFrame, what: str) -> tuple[pd.DataFrame, str]:
    """A DataFrame and a label for messages; files are recorded as report inputs."""
    if isinstance(data, pd.DataFrame):
        return data.reset_index(drop=True).copy(), source_label(data, what)
    path = Path(data)
    text = check_text_file(path)
    limit = MAX_ROWS.get(what)
    if limit is not None:
        lines = text.count("\n") + (not text.endswith("\n"))
        if lines - 1 > limit:
            raise DataError(
                path,
                f"has {lines - 1:,} data lines; a {what} file may have at most {limit:,} rows "
                + (
                    "(a bracket table groups sellers into a few dozen size brackets)"
                    if what == "brackets"
                    else "(split or aggregate it)"
                ),
                row=limit + 2,
            )
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(path, f"cannot be read as CSV ({err})") from None
    record_input(path)
    return frame, source_label(path, what)


def _at_most(file: str, frame: pd.DataFrame, col: str, values: np.ndarray, limit: float) -> None:
    """Refuse the first value above ``limit`` (NaN, an empty optional cell, passes)."""
    over = np.flatnonzero(values > limit)
    if over.size:
        i = int(over[0])
        raise DataError(
            file,
            f"value {frame[col].iloc[i]!r} is above {limit:g}, the largest accepted here; "
            "check the units (US dollars a year, not cents) and the digits",
            row=i + 2,
            column=col,
        )


def _require_columns(frame: pd.DataFrame, file: str, required: Iterable[str]) -> None:
    for col in required:
        if col not in frame.columns:
            hint = closest(col, [str(c) for c in frame.columns])
            extra = f" (did you mean {hint!r}?)" if hint else ""
            raise DataError(
                file,
                f"missing column {col!r}{extra}; columns present: {list(map(str, frame.columns))}",
                column=col,
            )


def _numeric(
    frame: pd.DataFrame, file: str, col: str, allow_empty: bool = False, allow_inf: bool = False
) -> np.ndarray:
    raw = frame[col]
    values = np.array(pd.to_numeric(raw, errors="coerce"), dtype=float)
    bad = np.isnan(values) & (raw.notna().to_numpy() | (not allow_empty))
    if not allow_inf:
        bad |= np.isinf(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            file, f"value {raw.iloc[i]!r} is not a finite number", row=i + 2, column=col
        )
    return values


def load_microdata(data: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Load and validate seller microdata (one row per seller).

    Args:
        data: a CSV path or a DataFrame with a column ``annual_gmv_usd`` (annual GMV in US dollars,
            strictly positive); other columns are kept and ignored.

    Returns:
        The table, with ``annual_gmv_usd`` as float.

    Raises:
        DataError: missing column, non-numeric, zero or negative value (with its line number).
    """
    frame, file = _read(data, "microdata")
    _require_columns(frame, file, [MICRODATA_COLUMN])
    x = _numeric(frame, file, MICRODATA_COLUMN)
    if x.size < 10:
        raise DataError(file, f"only {x.size} sellers; a size fit needs at least 10 rows")
    bad = np.flatnonzero(x <= 0)
    if bad.size:
        i = int(bad[0])
        raise DataError(
            file,
            f"annual GMV {x[i]!r} is not positive; sizes are fitted on a log scale, so remove "
            f"sellers with no sales ({bad.size} such rows)",
            row=i + 2,
            column=MICRODATA_COLUMN,
        )
    _at_most(file, frame, MICRODATA_COLUMN, x, MAX_ANNUAL_USD)
    frame[MICRODATA_COLUMN] = x
    return frame


def load_brackets(data: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Load and validate a bracket table of annual GMV.

    Args:
        data: a CSV path or DataFrame with ``lower_usd``, ``upper_usd`` (empty for the open top
            bracket) and ``count`` (sellers) or ``share`` (of sellers, summing to 1 within 0.01).
            If both are present, ``count`` is used.

    Returns:
        Columns ``lower_usd``, ``upper_usd`` (inf when open), ``count`` or ``share`` as floats.

    Raises:
        DataError: missing columns; brackets unsorted, overlapping, empty or open before the last
            row; negative counts or shares; shares not summing to 1.
    """
    frame, file = _read(data, "brackets")
    if len(frame) > MAX_BRACKETS:
        raise DataError(
            file,
            f"{len(frame):,} brackets; at most {MAX_BRACKETS:,} are accepted: merge brackets into "
            "wider ones, or pass one row per seller as microdata (data_form microdata)",
        )
    _require_columns(frame, file, ["lower_usd", "upper_usd"])
    weight_col = (
        "count" if "count" in frame.columns else "share" if "share" in frame.columns else None
    )
    if weight_col is None:
        raise DataError(
            file,
            f"needs a 'count' column (sellers per bracket) or a 'share' column (of sellers); "
            f"columns present: {list(map(str, frame.columns))}",
            column="count",
        )
    if len(frame) < 2:
        raise DataError(file, "a bracket table needs at least 2 brackets")
    lo = _numeric(frame, file, "lower_usd")
    hi = _numeric(frame, file, "upper_usd", allow_empty=True, allow_inf=True)
    w = _numeric(frame, file, weight_col)
    _at_most(file, frame, "lower_usd", lo, MAX_ANNUAL_USD)
    _at_most(file, frame, "upper_usd", np.where(np.isposinf(hi), np.nan, hi), MAX_ANNUAL_USD)
    if weight_col == "count":
        _at_most(file, frame, "count", w, MAX_SELLER_COUNT)
    for i in range(len(frame)):
        line = i + 2
        if lo[i] < 0:
            raise DataError(
                file, f"lower bound {lo[i]:g} is negative", row=line, column="lower_usd"
            )
        if np.isnan(hi[i]) or np.isposinf(hi[i]):
            if i != len(frame) - 1:
                raise DataError(
                    file,
                    "only the last bracket may be open (empty upper_usd)",
                    row=line,
                    column="upper_usd",
                )
            hi[i] = np.inf
        elif hi[i] <= lo[i]:
            raise DataError(
                file,
                f"upper bound {hi[i]:g} is not above lower bound {lo[i]:g}",
                row=line,
                column="upper_usd",
            )
        if w[i] < 0:
            raise DataError(file, f"{weight_col} {w[i]:g} is negative", row=line, column=weight_col)
        if i:
            if lo[i] < lo[i - 1]:
                raise DataError(
                    file,
                    f"brackets are not sorted: lower bound {lo[i]:g} comes after {lo[i - 1]:g}; "
                    "sort the rows by lower_usd",
                    row=line,
                    column="lower_usd",
                )
            if lo[i] < hi[i - 1]:
                raise DataError(
                    file,
                    f"bracket overlaps the previous one: starts at {lo[i]:g} before the previous "
                    f"ends at {hi[i - 1]:g}",
                    row=line,
                    column="lower_usd",
                )
    if weight_col == "share" and abs(w.sum() - 1) > SHARE_SUM_TOL:
        raise DataError(
            file,
            f"shares sum to {w.sum():.4f}, not 1 (tolerance {SHARE_SUM_TOL}); give shares of "
            "sellers as fractions, or use a 'count' column",
            column="share",
        )
    if w.sum() <= 0:
        raise DataError(file, f"all {weight_col} values are zero", column=weight_col)
    out = pd.DataFrame({"lower_usd": lo, "upper_usd": hi, weight_col: w})
    return out


def load_facts(data: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Load and validate published seller-size facts (one row per fact).

    Args:
        data: a CSV path or DataFrame with columns ``fact_id, population, kind, level_usd, top_n,
            value`` (and optional ``weight``, ``publisher``, ``published``, ``period``,
            ``source_note``, ...). Kinds: ``n_sellers`` (value = number of sellers), ``mean``
            (annual GMV per seller), ``share_above`` (share of sellers with annual GMV above
            ``level_usd``), ``gmv_share_above`` (share of GMV from those sellers),
            ``top_n_gmv_share`` (share of GMV from the ``top_n`` largest sellers).

    Returns:
        The facts, with numeric columns as floats and ``weight`` (default 1).

    Raises:
        DataError: missing columns, unknown kinds, duplicate ids, values out of range.
    """
    frame, file = _read(data, "facts")
    _require_columns(frame, file, FACT_COLUMNS)
    value = _numeric(frame, file, "value")
    level = _numeric(frame, file, "level_usd", allow_empty=True)
    top_n = _numeric(frame, file, "top_n", allow_empty=True)
    weight = _numeric(frame, file, "weight") if "weight" in frame.columns else np.ones(len(frame))
    _at_most(file, frame, "level_usd", level, MAX_ANNUAL_USD)
    kinds = frame["kind"].astype(str).to_numpy()
    _at_most(file, frame, "value", np.where(kinds == "mean", value, np.nan), MAX_ANNUAL_USD)
    _at_most(file, frame, "value", np.where(kinds == "n_sellers", value, np.nan), MAX_SELLER_COUNT)
    _at_most(file, frame, "top_n", top_n, MAX_SELLER_COUNT)
    ids = frame["fact_id"].astype(str)
    duplicated = ids.duplicated().to_numpy()
    for i in range(len(frame)):
        line = i + 2
        kind = str(frame["kind"].iloc[i])
        if kind not in FACT_KINDS + SCALE_KINDS:
            hint = closest(kind, FACT_KINDS + SCALE_KINDS)
            raise DataError(
                file,
                f"unknown kind {kind!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + f"; allowed: {', '.join(FACT_KINDS + SCALE_KINDS)}",
                row=line,
                column="kind",
            )
        if duplicated[i]:
            raise DataError(file, f"duplicate fact_id {ids.iloc[i]!r}", row=line, column="fact_id")
        v = value[i]
        if kind in ("share_above", "gmv_share_above", "top_n_gmv_share") and not 0 < v < 1:
            raise DataError(
                file,
                f"a {kind} value must be a fraction strictly between 0 and 1, got {v:g}",
                row=line,
                column="value",
            )
        if kind in ("mean", "n_sellers", *SCALE_KINDS) and v <= 0:
            raise DataError(
                file, f"a {kind} value must be positive, got {v:g}", row=line, column="value"
            )
        if kind in ("share_above", "gmv_share_above", "n_above") and not level[i] > 0:
            raise DataError(
                file,
                f"a {kind} fact needs a positive level_usd, got {level[i]:g}",
                row=line,
                column="level_usd",
            )
        if kind == "top_n_gmv_share" and not top_n[i] >= 1:
            raise DataError(
                file,
                f"a top_n_gmv_share fact needs top_n >= 1, got {top_n[i]:g}",
                row=line,
                column="top_n",
            )
        if weight[i] < 0:
            raise DataError(file, f"weight {weight[i]:g} is negative", row=line, column="weight")
    frame["value"], frame["level_usd"], frame["top_n"], frame["weight"] = (
        value,
        level,
        top_n,
        weight,
    )
    frame["fact_id"] = ids
    frame["population"] = frame["population"].astype(str)
    frame["kind"] = frame["kind"].astype(str)
    return frame


def fact_label(
    kind: str, level: float = np.nan, top_n: float = np.nan, value: float = np.nan
) -> str:
    """Words for one fact, e.g. ``"Sellers above $100k (13%)"``."""
    if kind == "mean":
        return f"Mean annual sales per seller ({usd_short(value)})"
    if kind == "n_sellers":
        return f"Number of sellers ({value:,.0f})"
    if kind == "share_above":
        return f"Share of sellers above {usd_short(level)} ({value:.1%})"
    if kind == "gmv_share_above":
        return f"GMV share of sellers above {usd_short(level)} ({value:.0%})"
    if kind == "gmv_total":
        return f"Annual GMV ({usd_short(value)})"
    if kind == "n_above":
        return f"Sellers at or above {usd_short(level)} ({value:,.0f})"
    if kind == "n_registered":
        return f"Registered merchants ({value:,.0f})"
    return f"GMV share of top {top_n:,.0f} sellers ({value:.0%})"
