"""Country figures -> reconstructed monthly history draws; the segment goal report on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import DataError
from shopcast.gmv.countries import COUNTRY_CSV, load_country_segments, read_country_figures
from shopcast.gmv.segment_goals import run_segment_goals


def test_every_figure_has_a_source():
    figures = read_country_figures()
    assert figures["figure_id"].is_unique
    assert (figures["publisher"].str.strip() != "").all()
    assert (figures["source_note"].str.strip() != "").all()


def test_uk_with_only_a_bound_is_left_out_by_name():
    data = load_country_segments(n_draws=20)
    assert [b.segment for b in data.bad] == ["outside_southeast_asia / united_kingdom"]
    assert "no estimate" in data.bad[0].problem
    assert ("southeast_asia", "vietnam") in data.keys
    with pytest.raises(DataError, match="united_kingdom: no estimate"):
        load_country_segments(n_draws=20, on_bad_segment="fail")


def test_annual_figures_are_roughly_matched():
    data = load_country_segments(n_draws=200, seed=1)
    figures = read_country_figures()
    annual = figures[
        (figures["kind"] == "estimate")
        & (figures["measure"] == "total")
        & (figures["period_start"].dt.month == 1)
        & (figures["period_end"].dt.month == 12)
        & (figures["period_start"].dt.year == figures["period_end"].dt.year)
    ]
    for _, row in annual.iterrows():
        draws = data.draws[(row["region"], row["country"])]
        year = pd.DatetimeIndex(draws.columns).year == row["period_start"].year
        median = float(draws.loc[:, year].sum(axis=1).median())
        # the interpolation matches mean monthly levels at mid-period, totals only roughly
        assert median == pytest.approx(row["value_usd"], rel=0.25), row["figure_id"]


def test_history_end_drops_later_figures():
    data = load_country_segments(history_end="2024-12-01", n_draws=10)
    assert data.last_month == pd.Timestamp("2024-12-01")
    # Thailand has one figure by then: a flat history
    thai = data.draws[("southeast_asia", "thailand")].to_numpy()
    assert np.allclose(thai, thai[:, :1])


def test_country_report_is_coherent_serially():
    report = run_segment_goals(n_draws=40, n_histories=5, n_samples=400, engine="serial")
    assert report.coherence["exact"].all()
    assert len(report.forecast.bottom) == 6
    assert report.data.history_kind == "reconstructed"
    assert 0.0 <= report.goals.total.probability <= 1.0
    assert str(COUNTRY_CSV).endswith("data/gmv_by_country.csv")
