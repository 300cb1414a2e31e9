"""Tests of shopcast.gmv.series: a user's GMV file at daily, weekly and monthly grain."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopcast.exceptions import DataError
from shopcast.gmv.series import load_gmv_csv, read_gmv_csv
from shopcast.publish import inputs as recorded_inputs

DATA = Path(__file__).parent / "data"


def _months(first: str, last: str) -> pd.DatetimeIndex:
    return pd.date_range(first, last, freq="MS")


def test_daily_sums_complete_months_and_drops_partial_ones():
    # gmv on each day is its day of the month, so a month of n days totals n (n + 1) / 2.
    read = read_gmv_csv(DATA / "gmv_daily.csv")
    monthly = read.monthly
    assert monthly.index.equals(_months("2022-02-01", "2023-01-01"))
    assert monthly.index.freqstr == "MS"
    assert monthly["2022-02-01"] == 28 * 29 / 2 == 406
    assert monthly["2022-03-01"] == 496
    assert monthly["2022-04-01"] == 465
    assert monthly["2023-01-01"] == 496
    # The file starts on 15 Jan 2022 and ends on 5 Feb 2023: both months are partial.
    assert read.dropped_partial_months == ("2022-01", "2023-02")
    assert read.grain == "daily"
    assert read.path == str((DATA / "gmv_daily.csv").resolve()) and read.segment is None
    assert load_gmv_csv(DATA / "gmv_daily.csv").equals(monthly)
    assert monthly.dtype == float
    assert str((DATA / "gmv_daily.csv").resolve()) in recorded_inputs


def test_weekly_splits_weeks_across_months_by_days():
    # Week w (first day 2022-01-03 + 7 (w - 1)) has gmv 7 w, i.e. w a day.
    read = read_gmv_csv(DATA / "gmv_weekly.csv")
    monthly = read.monthly
    assert read.grain == "weekly"
    assert monthly.index.equals(_months("2022-02-01", "2023-01-01"))
    # February 2022: 6 days of week 5 (from 31 Jan), weeks 6-8 whole, 1 day of week 9 (28 Feb).
    assert monthly["2022-02-01"] == pytest.approx(6 * 5 + 7 * (6 + 7 + 8) + 1 * 9)  # 186
    # March 2022: 6 days of week 9, weeks 10-12 whole, 4 days of week 13 (28-31 Mar).
    assert monthly["2022-03-01"] == pytest.approx(6 * 9 + 7 * (10 + 11 + 12) + 4 * 13)  # 337
    assert read.dropped_partial_months == ("2022-01", "2023-02")


def test_monthly_passes_through():
    read = read_gmv_csv(DATA / "gmv_monthly.csv")
    monthly = read.monthly
    assert read.grain == "monthly"
    assert monthly.index.equals(_months("2021-01-01", "2022-12-01"))
    assert monthly.tolist() == [1000.0 * k for k in range(1, 25)]
    assert read.dropped_partial_months == ()


def test_segments_select_or_add_up_over_common_months():
    path = DATA / "gmv_monthly_segments.csv"
    us = load_gmv_csv(path, segment="us")
    assert us.tolist() == [1000.0 * k for k in range(1, 25)]
    assert us.name == "us"
    uk = load_gmv_csv(path, segment="uk")
    assert uk.index[0] == pd.Timestamp("2021-03-01")
    read = read_gmv_csv(path)
    total = read.monthly
    # uk starts in March 2021, so only March 2021 .. Dec 2022 is common to both segments.
    assert total.index.equals(_months("2021-03-01", "2022-12-01"))
    assert total.tolist() == [1010.0 * k for k in range(3, 25)]
    assert read.dropped_partial_months == ("2021-01", "2021-02")
    with pytest.raises(DataError, match=r"segment 'fr' is not in the file; segments: uk, us"):
        load_gmv_csv(path, segment="fr")
    with pytest.raises(DataError, match=r"no 'segment' column"):
        load_gmv_csv(DATA / "gmv_monthly.csv", segment="us")


@pytest.mark.parametrize(
    ("fixture", "pattern"),
    [
        ("gmv_bad_date.csv", r"line 6, column 'date'.*'05/01/2021' is not an ISO date.*\(line 6\)"),
        ("gmv_negative.csv", r"line 8, column 'gmv'.*'-5' is negative"),
        ("gmv_not_numeric.csv", r"line 4, column 'gmv'.*'1,234' is not a number.*separators"),
        (
            "gmv_duplicate_date.csv",
            r"line 9, column 'date'.*2021-08-01 appears more than once"
            r".*\(lines 9, 10\)",
        ),
        (
            "gmv_gap.csv",
            r"line 7, column 'date'.*step of 2 months between 2021-05-01 \(line 6\)"
            r" and 2021-07-01 \(line 7\)",
        ),
        ("gmv_too_short.csv", r"only 11 complete months.*at least 12"),
    ],
)
def test_bad_inputs_name_their_rows(fixture, pattern):
    with pytest.raises(DataError, match=pattern):
        load_gmv_csv(DATA / fixture)


def test_daily_gap_and_missing_column(tmp_path):
    lines = (DATA / "gmv_daily.csv").read_text().splitlines()
    del lines[20:23]  # 2022-02-03 .. 2022-02-05 (lines 21-23) missing
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError,
        match=r"line 21, column 'date'.*one row every 1 day;.*step of "
        r"4 days between 2022-02-02 \(line 20\) and 2022-02-06 \(line 21\)",
    ):
        load_gmv_csv(path)
    path.write_text("day,gmv\n2022-01-01,1\n")
    with pytest.raises(DataError, match=r"line 1, column 'date'.*missing column 'date'"):
        load_gmv_csv(path)


def test_too_short_after_dropping_partial_months(tmp_path):
    lines = (DATA / "gmv_daily.csv").read_text().splitlines()
    path = tmp_path / "short.csv"
    path.write_text("\n".join(lines[:-20]) + "\n")  # ends mid-January 2023
    with pytest.raises(DataError, match=r"only 11 complete months.*dropped: 2022-01, 2023-01"):
        load_gmv_csv(path)
    assert len(load_gmv_csv(path, min_months=11)) == 11
