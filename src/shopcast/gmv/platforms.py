"""The reference class: other platforms' published GMV, and the year-on-year growth pairs it holds.

``data/platform_gmv.csv`` keeps one published figure per row (GMV, GMS or TPV of an e-commerce
platform over a period, in the currency the source used), ``data/platform_launch.csv`` each
platform's launch date with its source, ``data/fx_assumed.csv`` the round exchange rates that
place a figure on a common dollar scale (assumptions, labelled as such in the file).

:func:`growth_pairs` turns the figures into the observations the outside view is fitted on: the
12-month growth of a platform, ``log(G[period] / G[same period a year earlier])``, with the
platform's scale and age at the start of that year. A pair comes from two published levels of
the same length exactly 12 months apart (same platform, measure and currency), or, when the
earlier level was not published, from a growth rate the source states ("up 58% year-on-year");
its base level is then *derived* (``level / (1 + growth)``, marked in ``source``). A stated
growth rate is also preferred to the ratio of two levels when either level is only a lower
bound (the ratio would only bound the growth). Growth is computed within one currency, so
exchange rates never move it; they only place the scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.config import DATA_DIR
from shopcast.exceptions import DataError
from shopcast.publish import record_input

PLATFORM_GMV_CSV = DATA_DIR / "platform_gmv.csv"
PLATFORM_LAUNCH_CSV = DATA_DIR / "platform_launch.csv"
FX_CSV = DATA_DIR / "fx_assumed.csv"

GMV_COLUMNS = (
    "platform",
    "period_start",
    "period_end",
    "measure",
    "kind",
    "bound",
    "value",
    "currency",
    "yoy_growth",
    "publisher",
    "published",
    "url",
    "quote",
    "note",
)
KINDS = ("reported", "estimate")
BOUNDS = ("", "lower", "approx")
LAUNCH_COLUMNS = ("platform", "launch_date", "what_launched", "publisher", "url", "quote")
#: Measures of goods sold through a platform that the growth pairs use (TPV is Bukalapak's
#: processed-transaction value, GMS eBay's and Etsy's name for GMV). A daily average or a
#: live-commerce-only figure measures something else and makes no pair.
PAIR_MEASURES = ("gmv", "gms", "tpv")


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found; restore it from the repository (git checkout)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            path, f"missing column(s) {', '.join(missing)}; the header must hold {columns}"
        )
    record_input(path)
    return frame


def _month(path: Path, value: str, line: int, column: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(value)
    except (ValueError, TypeError):
        raise DataError(path, f"{value!r} is not an ISO date (YYYY-MM-DD)", line, column) from None


def load_platform_gmv(path: str | Path = PLATFORM_GMV_CSV) -> pd.DataFrame:
    """The platforms' published figures, validated.

    Returns:
        One row per figure: the file's columns, ``period_start``/``period_end`` as Timestamps,
        ``value`` and ``yoy_growth`` as floats (NaN when no growth rate is stated), and
        ``months``, the period's length in whole months.

    Raises:
        DataError: naming the line and column of a malformed value.
    """
    path = Path(path)
    frame = _read(path, GMV_COLUMNS)
    rows = []
    for i, row in frame.iterrows():
        line = int(i) + 2
        start = _month(path, row["period_start"], line, "period_start")
        end = _month(path, row["period_end"], line, "period_end")
        if end < start:
            raise DataError(path, "period_end is before period_start", line, "period_end")
        if row["kind"] not in KINDS:
            raise DataError(
                path, f"kind {row['kind']!r} is not one of {', '.join(KINDS)}", line, "kind"
            )
        if row["bound"] not in BOUNDS:
            raise DataError(
                path, f"bound {row['bound']!r} is not empty, 'lower' or 'approx'", line, "bound"
            )
        try:
            value = float(row["value"])
        except ValueError:
            raise DataError(
                path, f"value {row['value']!r} is not a number", line, "value"
            ) from None
        if not value > 0:
            raise DataError(path, f"value {value} must be > 0", line, "value")
        growth = np.nan
        if row["yoy_growth"]:
            try:
                growth = float(row["yoy_growth"])
            except ValueError:
                raise DataError(
                    path, f"yoy_growth {row['yoy_growth']!r} is not a number", line, "yoy_growth"
                ) from None
            if not growth > -1:
                raise DataError(
                    path, f"yoy_growth {growth} must be > -1 (a fraction: 0.58 = +58%)", line
                )
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        parsed = {"period_start": start, "period_end": end, "value": value, "yoy_growth": growth}
        rows.append({**row, **parsed, "months": months, "line": line})
    return pd.DataFrame(rows)


def load_launches(path: str | Path = PLATFORM_LAUNCH_CSV) -> pd.Series:
    """Each platform's launch as a Timestamp.

    A year-only date is placed at 1 July, a month-only date on the 1st (stated in
    data/README.md).
    """
    path = Path(path)
    frame = _read(path, LAUNCH_COLUMNS)
    out = {}
    for i, row in frame.iterrows():
        text = row["launch_date"].strip()
        if len(text) == 4 and text.isdigit():
            text += "-07-01"
        elif len(text) == 7:
            text += "-01"
        out[row["platform"]] = _month(path, text, int(i) + 2, "launch_date")
    return pd.Series(out, name="launch")


def load_fx(path: str | Path = FX_CSV) -> pd.Series:
    """Assumed US dollars per unit of each currency (round rates, see the file's notes)."""
    path = Path(path)
    frame = _read(path, ("currency", "usd_per_unit", "note"))
    return pd.Series(frame["usd_per_unit"].astype(float).to_numpy(), index=frame["currency"])


def growth_pairs(
    figures: pd.DataFrame | None = None,
    launches: pd.Series | None = None,
    fx: pd.Series | None = None,
) -> pd.DataFrame:
    """Year-on-year growth observations of the reference class.

    Returns:
        One row per pair, columns: ``platform``, ``period_end`` (end of the later period),
        ``months`` (length of each period), ``log_growth`` (natural log of the multiple),
        ``base_usd`` (the earlier period's GMV annualised (x 12 / months) in US dollars at the
        assumed rate), ``log_scale`` (log10 of ``base_usd``), ``age_years`` (launch to the end of
        the earlier period; NaN without a launch date), ``subannual`` (period shorter than a
        year), ``source`` (``levels`` or ``published_growth``), ``kind`` (``estimate`` when
        either figure is), ``usable`` (False for a pair built on a lower bound, which only
        bounds the growth) and ``lines`` (the data lines it rests on).
    """
    figures = load_platform_gmv() if figures is None else figures
    launches = load_launches() if launches is None else launches
    fx = load_fx() if fx is None else fx
    data = figures[figures["measure"].isin(PAIR_MEASURES)]
    pairs = []
    seen = set()
    for _, later in data.sort_values(["platform", "period_end"]).iterrows():
        earlier = data[
            (data["platform"] == later["platform"])
            & (data["measure"] == later["measure"])
            & (data["currency"] == later["currency"])
            & (data["period_start"] == later["period_start"] - pd.DateOffset(years=1))
            & (data["period_end"] == later["period_end"] - pd.DateOffset(years=1))
        ]
        key = (later["platform"], later["period_start"], later["period_end"])
        if key in seen:
            continue  # the same period in another currency: one pair per period
        # A ratio of two levels is exact only when neither level is a bound ("over $4 billion");
        # a growth rate the source states is then the better evidence, and is used instead.
        bounded = len(earlier) and "lower" in {earlier.iloc[0]["bound"], later["bound"]}
        if len(earlier) and not (bounded and np.isfinite(later["yoy_growth"])):
            base = earlier.iloc[0]
            base_value, source = float(base["value"]), "levels"
            lines = f"{base['line']},{later['line']}"
            bounds = {base["bound"], later["bound"]}
            kind = "estimate" if "estimate" in {base["kind"], later["kind"]} else "reported"
        elif np.isfinite(later["yoy_growth"]):
            base_value = float(later["value"]) / (1.0 + later["yoy_growth"])
            source, lines, kind = "published_growth", str(later["line"]), later["kind"]
            bounds = set()  # the growth rate is stated; a bound on the level moves only the scale
        else:
            continue
        seen.add(key)
        rate = fx.get(later["currency"])
        if rate is None:
            raise DataError(
                FX_CSV,
                f"no assumed rate for currency {later['currency']!r} "
                f"(platform {later['platform']}); add a row",
            )
        base_usd = base_value * float(rate) * 12.0 / later["months"]
        base_end = later["period_end"] - pd.DateOffset(years=1)
        launch = launches.get(later["platform"])
        age = (base_end - launch).days / 365.25 if launch is not None else np.nan
        pairs.append(
            {
                "platform": later["platform"],
                "period_end": later["period_end"],
                "months": int(later["months"]),
                "log_growth": float(np.log(later["value"] / base_value)),
                "base_usd": base_usd,
                "log_scale": float(np.log10(base_usd)),
                "age_years": age,
                "subannual": bool(later["months"] < 12),
                "source": source,
                "kind": kind,
                "usable": "lower" not in bounds,
                "lines": lines,
            }
        )
    return pd.DataFrame(pairs)
