"""Tests of shopcast.gmv.reconstruct: monthly GMV paths from anchors, with draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ModelError, ParameterError
from shopcast.gmv.anchors import load_anchors
from shopcast.gmv.reconstruct import Reconstruction, reconstruct
from shopcast.gmv.vintage import anchors_as_of

#: The figures known by 31 Oct 2023: the 12 the reconstruction was tuned on, before the outcomes
#: published later were added to the shipped file.
AUTUMN_2023 = "2023-10-31"


def _known_anchors():
    return anchors_as_of(load_anchors(), AUTUMN_2023)[0]


GRID = pd.date_range("2021-01-01", "2022-12-01", freq="MS")
# A known smooth path: 50 M in January 2021, growing 8 % a month.
TRUTH = pd.Series(50e6 * 1.08 ** np.arange(len(GRID)), index=GRID)


def _anchor(anchor_id, start, end, measure, value, kind="estimate", unc=0.02, coverage="global"):
    return {
        "anchor_id": anchor_id,
        "coverage": coverage,
        "period_start": pd.Timestamp(start),
        "period_end": pd.Timestamp(end),
        "measure": measure,
        "kind": kind,
        "value_usd": float(value),
        "value_low_usd": float(value),
        "value_high_usd": float(value),
        "uncertainty": unc,
        "publisher": "test",
        "published": "2023-08",
        "derived_from": "",
        "source_note": "generated from TRUTH",
    }


def _total(start, end):
    return TRUTH[start:end].sum()


def _consistent_anchors() -> pd.DataFrame:
    """Mixed-frequency anchors computed from TRUTH, as published figures would be."""
    return pd.DataFrame(
        [
            _anchor(
                "total_2021", "2021-01-01", "2021-12-31", "total", _total("2021-01", "2021-12")
            ),
            _anchor(
                "total_2022", "2022-01-01", "2022-12-31", "total", _total("2022-01", "2022-12")
            ),
            _anchor(
                "monthly_q2_2021",
                "2021-04-01",
                "2021-06-30",
                "monthly_rate",
                _total("2021-04", "2021-06") / 3,
            ),
            # 16 Jul 2021 is July's midpoint, where the daily rate is July's daily average.
            _anchor(
                "daily_2021_07_16",
                "2021-07-16",
                "2021-07-16",
                "daily_rate",
                TRUTH["2021-07-01"] / 31,
            ),
            _anchor(
                "daily_dec_2022", "2022-12-01", "2022-12-31", "daily_rate", TRUTH["2022-12-01"] / 31
            ),
            _anchor(
                "h1_2022_lower", "2022-01-01", "2022-06-30", "total", 0.8e9, kind="lower_bound"
            ),
            _anchor(
                "h2_2022_upper", "2022-07-01", "2022-12-31", "total", 1.6e9, kind="upper_bound"
            ),
        ]
    )


@pytest.fixture(scope="module")
def shipped() -> Reconstruction:
    return reconstruct(_known_anchors(), n_draws=200, seed=0)


def test_recovers_a_known_exponential_path():
    result = reconstruct(_consistent_anchors(), n_draws=400, seed=0)
    assert result.components == ("global",)
    assert result.median.index.equals(GRID)
    assert result.median.index.freqstr == "MS"
    error = (result.median / TRUTH - 1).abs()
    # The median of 400 draws carries some Monte Carlo noise, largest at the grid's ends.
    assert error.max() < 0.04, error.round(3).to_dict()
    assert result.unconverged == 0
    residuals = result.residuals.set_index("anchor_id")
    assert residuals["used"].all()
    assert residuals["within_tolerance"].all()
    estimates = residuals[residuals["kind"] == "estimate"]
    assert estimates["rel_error"].abs().max() < 0.01
    assert residuals.at["total_2022", "implied_usd"] == pytest.approx(
        result.median["2022"].sum(), rel=1e-9
    )


def test_bounds_bend_the_path_and_are_respected():
    # A smooth path from 0.95 B in 2021 to 5.8 B in 2022 puts most of 2022 in H2; the bounds
    # (H1 at least 2.6 B, H2 at most 3.2 B) force a more even split.
    anchors = pd.DataFrame(
        [
            _anchor(
                "total_2021", "2021-01-01", "2021-12-31", "total", _total("2021-01", "2021-12")
            ),
            _anchor("total_2022", "2022-01-01", "2022-12-31", "total", 5.8e9),
            _anchor("h1_lower", "2022-01-01", "2022-06-30", "total", 2.6e9, "lower_bound", 0.01),
            _anchor("h2_upper", "2022-07-01", "2022-12-31", "total", 3.2e9, "upper_bound", 0.01),
        ]
    )
    result = reconstruct(anchors, n_draws=50, seed=0)
    h1, h2 = result.median["2022-01":"2022-06"].sum(), result.median["2022-07":"2022-12"].sum()
    assert h1 >= 2.6e9 * 0.97
    assert h2 <= 3.2e9 * 1.03
    assert h1 + h2 == pytest.approx(5.8e9, rel=0.05)
    assert result.residuals["within_tolerance"].all()


def test_shipped_anchors_layout(shipped):
    assert shipped.coverage == "global"
    assert shipped.components == ("southeast_asia", "outside_southeast_asia")
    assert shipped.draws.shape == (200, 32)
    assert shipped.draws.index.name == "draw"
    assert shipped.draws.columns[0] == pd.Timestamp("2021-01-01")
    assert shipped.draws.columns[-1] == pd.Timestamp("2023-08-01")
    assert (shipped.draws > 0).all().all()
    assert shipped.median.equals(
        shipped.draws.median().set_axis(shipped.median.index).rename(shipped.median.name)
    )
    assert len(shipped.residuals) == 12
    assert shipped.residuals["used"].all()


def test_shipped_anchors_are_honoured_by_the_median_path(shipped):
    residuals = shipped.residuals.set_index("anchor_id")
    assert residuals["within_tolerance"].all(), residuals[["implied_usd", "rel_error"]]
    # Global period totals on the median path against each global estimate's uncertainty.
    for anchor_id in ("global_2022_total_information",):
        row = residuals.loc[anchor_id]
        total = shipped.median[row["period_start"] : row["period_end"]].sum()
        assert abs(np.log(total / row["value_usd"])) <= row["sigma"]
    upper = residuals.loc["global_2022_upper_wsj"]
    assert shipped.median["2022"].sum() <= upper["value_usd"] * np.exp(2 * upper["sigma"])
    assert shipped.median["2021"].sum() >= 1e9 * np.exp(-2 * 0.2)  # derived 2021 lower bound
    # Parts are compared with their wholes, as lower bounds.
    indonesia = residuals.loc["indonesia_2022_lower"]
    assert (indonesia["link"], indonesia["role"]) == ("part_of", "lower_bound")
    assert indonesia["compared_with"] == "southeast_asia"
    assert indonesia["implied_usd"] >= 2.5e9


def test_sea_and_outside_totals_match_their_anchors():
    for coverage, anchor_id in (
        ("southeast_asia", "sea_2022_total"),
        ("outside_southeast_asia", "outside_sea_2022_total"),
        ("southeast_asia", "sea_2021_total"),
    ):
        result = reconstruct(_known_anchors(), coverage=coverage, n_draws=100, seed=0)
        row = result.residuals.set_index("anchor_id").loc[anchor_id]
        total = result.median[row["period_start"] : row["period_end"]].sum()
        assert abs(np.log(total / row["value_usd"])) <= 2 * row["sigma"], (anchor_id, total)


def test_disagreement_about_2022_shows_as_spread(shipped):
    totals = shipped.period_total("2022-01", "2022-12")
    p10, p90 = totals.quantile([0.1, 0.9])
    # SEA 4.4 B + outside 0.9 B = 5.3 B against 5 B and "less than 5 B": the draws must span it.
    overlap = min(p90, 5.3e9) - max(p10, 4.9e9)
    assert overlap >= 0.5 * 0.4e9, (p10, p90)
    assert p10 < 5.0e9 < p90


def test_same_seed_same_draws_other_seed_other_draws():
    anchors = _known_anchors()
    first = reconstruct(anchors, n_draws=20, seed=7)
    again = reconstruct(anchors, n_draws=20, seed=7)
    other = reconstruct(anchors, n_draws=20, seed=8)
    pd.testing.assert_frame_equal(first.draws, again.draws)
    assert not np.allclose(first.draws.to_numpy(), other.draws.to_numpy())


def test_unlinkable_and_out_of_grid_anchors_are_reported():
    us = reconstruct(_known_anchors(), coverage="united_states", n_draws=20, seed=0)
    assert us.draws.columns.tolist() == [pd.Timestamp("2023-07-01"), pd.Timestamp("2023-08-01")]
    residuals = us.residuals.set_index("anchor_id")
    sea = residuals.loc["sea_2022_total"]
    assert not sea["used"]
    assert sea["link"] == "unlinked"
    assert "cannot be linked" in sea["note"]
    assert "lower bound on global says nothing" in residuals.loc["global_h1_2022_lower", "note"]
    assert residuals.loc["us_2023_08_daily", "used"]
    assert (3e6 * 0.8) <= residuals.loc["us_2023_08_daily", "implied_usd"] <= (4e6 * 1.2)

    early = reconstruct(_known_anchors(), end="2022-12", n_draws=20, seed=0)
    assert early.draws.columns[-1] == pd.Timestamp("2022-12-01")
    unused = early.residuals.loc[~early.residuals["used"]]
    assert set(unused["anchor_id"]) == {
        "us_2023_07_01_daily",
        "us_2023_07_31_daily",
        "us_2023_08_daily",
    }
    assert unused["note"].str.contains("outside the month grid").all()


def test_extrapolation_beyond_the_last_anchor_widens():
    later = reconstruct(_known_anchors(), end="2023-12", n_draws=100, seed=0)
    band = later.quantiles((0.1, 0.9))
    width = np.log(band[0.9] / band[0.1])
    assert width["2023-12-01"] > width["2023-08-01"] > width["2022-06-01"]


def test_bad_arguments():
    with pytest.raises(ParameterError, match=r"coverage.*'asia'.*global, southeast_asia"):
        reconstruct(coverage="asia")
    with pytest.raises(ParameterError, match="n_draws"):
        reconstruct(n_draws=0)
    with pytest.raises(ModelError, match="no anchor measures coverage 'indonesia'"):
        reconstruct(_consistent_anchors(), coverage="indonesia")
    with pytest.raises(ModelError, match=r"lacks column.*value_low_usd"):
        reconstruct(_consistent_anchors().drop(columns="value_low_usd"))


def test_month_support_names_interpolated_months_between_estimates():
    us = reconstruct(load_anchors(), coverage="united_states", n_draws=10, seed=0)
    support = us.support
    assert list(support.index) == list(us.draws.columns)
    sep = support.loc[pd.Timestamp("2023-09-01")]
    assert sep["evidence"] == "interpolated" and sep["rests_on"] == "" and sep["n_figures"] == 0
    aug = support.loc[pd.Timestamp("2023-08-01")]
    assert aug["evidence"] == "estimate" and aug["rests_on"] == "us_2023_08_daily (estimate)"
    spread = us.draws.quantile(0.9) / us.draws.quantile(0.1)
    np.testing.assert_allclose(support["p90_over_p10"].to_numpy(), spread.to_numpy())
