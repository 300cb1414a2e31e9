"""TikTok Shop GMV by country: published figures -> reconstructed monthly history draws.

``data/gmv_by_country.csv`` holds one row per published country figure with its source (see
``data/README.md``). Countries publish a few annual, half-year or monthly figures, so a monthly
history is *reconstructed*, by a simple documented interpolation with draws (not the anchors'
least-squares reconstruction, which needs a coverage vocabulary other engineers are changing):

1. Each estimate becomes a mean monthly level: a ``total`` divided by the months its period
   spans (days / 30.4375), a ``monthly_rate`` as is, a ``daily_rate`` times 30.4375, placed at
   the middle of its period.
2. Draw ``d`` multiplies every figure by ``exp(N(0, uncertainty))`` (its relative one-sigma
   uncertainty), independently.
3. Log monthly GMV is interpolated linearly between those points (constant growth between two
   figures) and continued before the first and after the last at the growth between the nearest
   two (flat for a country with one figure). The curve passes through each figure's
   mean monthly level at its middle; a period's total is matched approximately, not exactly, and
   the reconstruction has no month-of-year pattern.

Only estimates ending by ``history_end`` are used (what was known then). Bounds ("more than")
are kept in the file but not used. A country with no usable estimate, or fewer than 12 months
between its first figure and ``history_end``, is a bad segment, reported by name.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.config import DATA_DIR
from shopcast.exceptions import DataError
from shopcast.gmv.anchors import read_lines
from shopcast.gmv.segment_data import SEPARATOR, BadSegment, SegmentData, check_action
from shopcast.gmv.series import MIN_MONTHS
from shopcast.publish import record_input

COUNTRY_CSV = DATA_DIR / "gmv_by_country.csv"
COLUMNS = (
    "figure_id",
    "region",
    "country",
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
MEASURES = ("total", "monthly_rate", "daily_rate")
KINDS = ("estimate", "lower_bound", "upper_bound")
#: The hierarchy of the country file, top first.
LEVELS = ("region", "country")
DAYS_PER_MONTH = 365.25 / 12


def read_country_figures(path: str | Path = COUNTRY_CSV) -> pd.DataFrame:
    """The figures table, validated (dates, measures, kinds, values, uncertainties).

    Raises:
        DataError: naming the file, line and column of the first bad value.
    """
    path = Path(path)
    frame = read_lines(path)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(path, f"missing columns {', '.join(missing)}", row=1)
    for column, allowed in (("measure", MEASURES), ("kind", KINDS)):
        bad = frame.loc[~frame[column].isin(allowed)]
        if len(bad):
            raise DataError(
                path,
                f"{column} {bad[column].iloc[0]!r} is not one of {', '.join(allowed)}",
                row=int(bad["line"].iloc[0]),
                column=column,
            )
    for column in ("period_start", "period_end"):
        parsed = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
        bad = frame.loc[parsed.isna()]
        if len(bad):
            raise DataError(
                path,
                f"{column} {bad[column].iloc[0]!r} is not an ISO date YYYY-MM-DD",
                row=int(bad["line"].iloc[0]),
                column=column,
            )
        frame[column] = parsed
    for column in ("value_usd", "uncertainty"):
        parsed = pd.to_numeric(frame[column], errors="coerce")
        bad = frame.loc[parsed.isna() | (parsed < 0)]
        if len(bad):
            raise DataError(
                path,
                f"{column} {bad[column].iloc[0]!r} is not a number >= 0",
                row=int(bad["line"].iloc[0]),
                column=column,
            )
        frame[column] = parsed.astype(float)
    bad = frame.loc[frame["period_end"] < frame["period_start"]]
    if len(bad):
        raise DataError(path, "period_end is before period_start", row=int(bad["line"].iloc[0]))
    record_input(path)
    return frame


def _month_position(stamp: pd.Timestamp) -> float:
    """Months since year 0 as a real number (the 1st of a month is its start)."""
    return stamp.year * 12 + stamp.month - 1 + (stamp.day - 1) / stamp.days_in_month


def _monthly_level(row: pd.Series) -> float:
    days = (row["period_end"] - row["period_start"]).days + 1
    if row["measure"] == "total":
        return row["value_usd"] / (days / DAYS_PER_MONTH)
    if row["measure"] == "daily_rate":
        return row["value_usd"] * DAYS_PER_MONTH
    return row["value_usd"]


def _interpolate(at: np.ndarray, mid: np.ndarray, log_level: np.ndarray) -> np.ndarray:
    """Linear in log between the points, beyond them at the growth of the nearest two."""
    out = np.interp(at, mid, log_level)
    if len(mid) >= 2:
        first = (log_level[1] - log_level[0]) / (mid[1] - mid[0])
        last = (log_level[-1] - log_level[-2]) / (mid[-1] - mid[-2])
        out = np.where(at < mid[0], log_level[0] + first * (at - mid[0]), out)
        out = np.where(at > mid[-1], log_level[-1] + last * (at - mid[-1]), out)
    return out


def load_country_segments(
    path: str | Path = COUNTRY_CSV,
    history_end: str = "2025-12-01",
    n_draws: int = 200,
    seed: int = 0,
    on_bad_segment: str = "skip",
) -> SegmentData:
    """Reconstructed monthly history draws per country (see the module docstring).

    Args:
        path: the country figures file.
        history_end: the last history month; figures whose period ends later are not used.
        n_draws: history draws per country.
        seed: seeds the draws.
        on_bad_segment: ``"skip"`` or ``"fail"`` for a country that cannot be reconstructed.

    Returns:
        A :class:`SegmentData` (levels ``region``, ``country``; ``history_kind``
        ``"reconstructed"``).
    """
    check_action(on_bad_segment)
    frame = read_country_figures(path)
    end = pd.Timestamp(history_end).to_period("M").to_timestamp()
    cutoff = end + pd.offsets.MonthEnd(0)
    rng = np.random.default_rng(seed)
    draws, bad = {}, []
    for key, part in frame.groupby(list(LEVELS), sort=True):
        key = tuple(str(k) for k in key)
        used = part[(part["kind"] == "estimate") & (part["period_end"] <= cutoff)]
        if used.empty:
            bad.append(
                BadSegment(
                    SEPARATOR.join(key),
                    f"no estimate ending by {end:%Y-%m} (only bounds or later figures); add a "
                    "published estimate to reconstruct it from",
                    tuple(int(n) for n in part["line"]),
                )
            )
            continue
        start = used["period_start"].min().to_period("M").to_timestamp()
        months = pd.date_range(start, end, freq="MS")
        if len(months) < MIN_MONTHS:
            bad.append(
                BadSegment(
                    SEPARATOR.join(key),
                    f"only {len(months)} months from its first figure to {end:%Y-%m}; at least "
                    f"{MIN_MONTHS} are needed",
                    tuple(int(n) for n in used["line"]),
                )
            )
            continue
        mid = np.array(
            [
                _month_position(s + (e - s) / 2) + 0.5 / 30
                for s, e in zip(used["period_start"], used["period_end"], strict=True)
            ]
        )
        order = np.argsort(mid, kind="stable")
        mid = mid[order]
        log_level = np.log([_monthly_level(r) for _, r in used.iterrows()])[order]
        sigma = used["uncertainty"].to_numpy()[order]
        at = np.array([_month_position(m) + 0.5 for m in months])
        noise = rng.standard_normal((n_draws, len(mid))) * sigma
        values = np.exp([_interpolate(at, mid, log_level + eps) for eps in noise])
        d = pd.DataFrame(values, columns=months)
        d.index.name = "draw"
        draws[key] = d
    bad.sort(key=lambda b: b.segment)
    if bad and on_bad_segment == "fail":
        raise DataError(path, "; ".join(b.describe() for b in bad))
    if not draws:
        raise DataError(
            path, "no country can be reconstructed: " + "; ".join(b.describe() for b in bad)
        )
    return SegmentData(str(path), LEVELS, tuple(sorted(draws)), draws, tuple(bad), "reconstructed")
