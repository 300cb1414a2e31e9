"""Reference-class data: loading, validation and the growth pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import DataError
from shopcast.gmv.platforms import (
    PLATFORM_GMV_CSV,
    growth_pairs,
    load_fx,
    load_launches,
    load_platform_gmv,
)


def test_every_row_has_a_source_and_a_quote():
    figures = load_platform_gmv()
    assert len(figures) >= 50
    for column in ("publisher", "published", "url", "quote"):
        assert (figures[column].str.len() > 0).all(), column


def test_levels_pair_is_the_log_ratio_of_the_two_published_rows():
    pairs = growth_pairs()
    raw = pd.read_csv(PLATFORM_GMV_CSV)
    pdd = raw[(raw["platform"] == "Pinduoduo") & raw["period_start"].str.endswith("-01-01")]
    v2018 = float(pdd.loc[pdd["period_start"] == "2018-01-01", "value"].iloc[0])
    v2019 = float(pdd.loc[pdd["period_start"] == "2019-01-01", "value"].iloc[0])
    row = pairs[(pairs["platform"] == "Pinduoduo") & (pairs["period_end"] == "2019-12-31")]
    assert row["source"].iloc[0] == "levels"
    assert row["log_growth"].iloc[0] == pytest.approx(np.log(v2019 / v2018))
    # the release's own growth rate (+113%) agrees with the two levels to its rounding
    assert np.exp(row["log_growth"].iloc[0]) - 1 == pytest.approx(1.13, abs=0.005)


def test_published_growth_pair_derives_its_base_and_annualises_the_scale():
    pairs = growth_pairs()
    row = pairs[(pairs["platform"] == "Jumia") & (pairs["period_end"] == "2019-03-31")].iloc[0]
    assert row["source"] == "published_growth"
    assert row["log_growth"] == pytest.approx(np.log(1.58))
    fx = load_fx()
    assert row["base_usd"] == pytest.approx(240e6 / 1.58 * fx["EUR"] * 4)
    launch = load_launches()["Jumia"]
    assert launch == pd.Timestamp("2012-07-01")  # year-only date placed mid-year
    assert row["age_years"] == pytest.approx((pd.Timestamp("2018-03-31") - launch).days / 365.25)


def test_pairs_on_a_lower_bound_are_kept_but_not_usable():
    pairs = growth_pairs()
    kuaishou_annual = pairs[(pairs["platform"] == "Kuaishou e-commerce") & (pairs["months"] == 12)]
    assert len(kuaishou_annual) == 1 and not kuaishou_annual["usable"].iloc[0]
    assert pairs["usable"].sum() == len(pairs) - 1


def test_one_pair_per_period_even_when_two_currencies_report_it():
    pairs = growth_pairs()
    keys = pairs[["platform", "period_end", "months"]].astype(str).agg("|".join, axis=1)
    assert keys.is_unique


def test_a_bad_kind_names_the_file_line_and_column(tmp_path):
    text = PLATFORM_GMV_CSV.read_text().splitlines()
    header, first = text[0], text[1].replace(",reported,", ",rumoured,", 1)
    bad = tmp_path / "platform_gmv.csv"
    bad.write_text(header + "\n" + first + "\n")
    with pytest.raises(DataError, match=r"line 2, column 'kind'.*rumoured.*reported, estimate"):
        load_platform_gmv(bad)


def test_a_missing_file_says_how_to_restore_it(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_platform_gmv(tmp_path / "nope.csv")
