"""Tests of shopcast.gmv.anchors: the shipped GMV anchors and each kind of malformed file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shopcast.exceptions import DataError
from shopcast.gmv.anchors import ANCHORS_CSV, COVERAGES, KINDS, MEASURES, load_anchors
from shopcast.publish import inputs as recorded_inputs

DATA = Path(__file__).parent / "data"


def test_shipped_anchors_load_with_every_published_gmv_figure():
    anchors = load_anchors()
    # 12 figures known in 2023 plus 30 outcomes published later (see data/README.md)
    assert len(anchors) == 42
    assert set(anchors["reliability"]) == {"reported", "doubtful", "projection"}
    assert anchors["anchor_id"].is_unique
    assert set(anchors["coverage"]) <= set(COVERAGES)
    assert set(anchors["measure"]) <= set(MEASURES)
    assert set(anchors["kind"]) <= set(KINDS)
    assert (anchors["period_end"] >= anchors["period_start"]).all()
    assert anchors["source_note"].str.len().min() > 20
    by_id = anchors.set_index("anchor_id")
    assert by_id.at["sea_2022_total", "value_usd"] == 4.4e9
    assert (
        by_id.at["outside_sea_2022_total", "uncertainty"]
        > by_id.at["sea_2022_total", "uncertainty"]
    )
    assert by_id.at["global_2022_upper_wsj", "kind"] == "upper_bound"
    assert by_id.at["global_2022_total_information", "value_usd"] == 5e9
    # "3-4 M a day" is a range around a central value.
    assert by_id.loc[
        "us_2023_08_daily", ["value_low_usd", "value_usd", "value_high_usd"]
    ].tolist() == [3.0e6, 3.5e6, 4.0e6]
    # The 2021 global figure was never published: it is derived, and says so.
    derived = by_id.loc["global_2021_lower_derived"]
    assert derived["derived_from"] == "global_h1_2022_lower"
    assert "DERIVED" in derived["source_note"]
    # Without a range, low and high equal the value.
    assert (by_id["value_low_usd"] <= by_id["value_usd"]).all()
    assert (by_id["value_usd"] <= by_id["value_high_usd"]).all()
    assert str(Path(ANCHORS_CSV).resolve()) in recorded_inputs


def test_small_fixture_types():
    anchors = load_anchors(DATA / "gmv_anchors_small.csv")
    assert anchors["period_start"].dtype.kind == "M"
    assert anchors["value_usd"].dtype == float
    assert anchors["line"].tolist() == [2, 3, 4]
    assert anchors.loc[1, "value_low_usd"] == 4.8e9
    assert anchors.loc[0, "published"] == "2023-08-22"
    assert anchors.loc[0, "period_end"] == pd.Timestamp("2021-12-31")


@pytest.mark.parametrize(
    ("fixture", "pattern"),
    [
        ("gmv_anchors_missing_column.csv", r"line 1, column 'uncertainty'.*missing required"),
        ("gmv_anchors_bad_date.csv", r"line 3, column 'period_end'.*'31/12/2022'.*YYYY-MM-DD"),
        (
            "gmv_anchors_end_before_start.csv",
            r"line 4, column 'period_end'.*'2021-12-31' is before period_start",
        ),
        (
            "gmv_anchors_unknown_kind.csv",
            r"line 4, column 'kind'.*'upperbound'.*estimate, lower_bound, upper_bound"
            r".*did you mean 'upper_bound'",
        ),
        ("gmv_anchors_negative_value.csv", r"line 2, column 'value_usd'.*'-1000000000'.*negative"),
        (
            "gmv_anchors_duplicate_id.csv",
            r"line 2, column 'anchor_id'.*'a_2021'.*more than once.*lines 2, 4",
        ),
    ],
)
def test_bad_files_name_line_and_column(fixture, pattern):
    with pytest.raises(DataError, match=pattern) as info:
        load_anchors(DATA / fixture)
    assert fixture in str(info.value)


def _edited(tmp_path, old, new, row=1):
    lines = (DATA / "gmv_anchors_small.csv").read_text().splitlines()
    assert old in lines[row]
    lines[row] = lines[row].replace(old, new, 1)
    path = tmp_path / "anchors.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("row", "old", "new", "pattern"),
    [
        (1, "global", "europe", r"line 2, column 'coverage'.*'europe'.*southeast_asia"),
        (1, "total", "annual", r"line 2, column 'measure'.*'annual'"),
        (2, "4800000000", "5400000000", r"line 3, column 'value_low_usd'.*above value_usd"),
        (2, "4800000000,", ",", r"line 3, column 'value_low_usd'.*both"),
        (1, "1000000000", "1.0e9 USD", r"line 2, column 'value_usd'.*not a number"),
        (1, "0.1,", "1.5,", r"line 2, column 'uncertainty'.*above 1"),
        (1, ",2023-08-22,", ",Aug 2023,", r"line 2, column 'published'.*YYYY-MM"),
        (1, ",,test row", ",nope,test row", r"line 2, column 'derived_from'.*'nope'"),
    ],
)
def test_other_bad_values(tmp_path, row, old, new, pattern):
    with pytest.raises(DataError, match=pattern):
        load_anchors(_edited(tmp_path, old, new, row))


def test_unknown_column_and_missing_file(tmp_path):
    text = (DATA / "gmv_anchors_small.csv").read_text().replace("derived_from", "derived_frm", 1)
    path = tmp_path / "anchors.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=r"line 1, column 'derived_frm'.*mean 'derived_from'"):
        load_anchors(path)
    with pytest.raises(DataError, match="file not found"):
        load_anchors(tmp_path / "nope.csv")


def test_blank_lines_keep_line_numbers(tmp_path):
    lines = (DATA / "gmv_anchors_negative_value.csv").read_text().splitlines()
    path = tmp_path / "anchors.csv"
    path.write_text("\n".join([lines[0], "", *lines[1:]]) + "\n")
    with pytest.raises(DataError, match=r"line 3, column 'value_usd'"):
        load_anchors(path)
