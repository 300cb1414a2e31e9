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
    unusable = pairs.loc[~pairs["usable"], ["platform", "period_end"]].astype(str)
    # Kuaishou 2023 ("will exceed 900 billion" in 2022) and Alibaba's fiscal 2016 ("surpassed
    # 3 trillion" with ten days left): ratios on a bound, with no stated growth to use instead
    assert sorted(map(tuple, unusable.to_numpy())) == [
        ("Alibaba China retail marketplaces", "2016-03-31"),
        ("Kuaishou e-commerce", "2023-12-31"),
    ]


def test_a_stated_growth_beats_a_ratio_that_rests_on_a_bound(tmp_path):
    # Etsy Q4 2022 is "just over $4 billion" (a lower bound) and "4% lower" than Q4 2021; Q4
    # 2023 is $4.0 billion, "down 0.7%": both pairs use the stated growth, not the ratio.
    pairs = growth_pairs()
    etsy = pairs[pairs["platform"] == "Etsy"].set_index("period_end")
    assert etsy.loc["2022-12-31", "source"] == "published_growth"
    assert etsy.loc["2022-12-31", "log_growth"] == pytest.approx(np.log(0.96))
    assert etsy.loc["2023-12-31", "log_growth"] == pytest.approx(np.log(1 - 0.007))
    assert etsy[["usable"]].all().all()
    # without a stated growth the same bounded ratio is kept, but not fitted
    raw = pd.read_csv(PLATFORM_GMV_CSV, dtype=str, keep_default_na=False)
    raw.loc[raw["platform"] == "Etsy", "yoy_growth"] = ""
    path = tmp_path / "platform_gmv.csv"
    raw.to_csv(path, index=False)
    bare = growth_pairs(load_platform_gmv(path))
    row = bare[(bare["platform"] == "Etsy") & (bare["period_end"] == "2022-12-31")].iloc[0]
    assert row["source"] == "levels" and not row["usable"]
    assert row["log_growth"] == pytest.approx(np.log(4.0e9 / 4.2e9))


def test_the_reference_class_has_ten_platforms_with_usable_pairs():
    pairs = growth_pairs()
    usable = pairs[pairs["usable"]]
    assert usable["platform"].nunique() >= 10
    launches = load_launches()
    assert set(usable["platform"]) <= set(launches.index)  # every fitted pair has an age
    assert usable["age_years"].notna().all() and (usable["age_years"] >= 0).all()


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
