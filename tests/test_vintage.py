"""Tests of shopcast.gmv.vintage and the as_of vintages of the loaders and the pipeline.

The leakage tests fail if a figure published after ``as_of`` can move a fitted history.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import DataError
from shopcast.gmv.anchors import ANCHORS_CSV, load_anchors
from shopcast.gmv.pipeline import load_history
from shopcast.gmv.series import load_gmv_csv
from shopcast.gmv.vintage import anchors_as_of, publication_span, split_by_vintage
from shopcast.gmv.vintage_runs import vintage_dates

DEFAULT_VINTAGES = vintage_dates("2022-09-30", "2024-06-30", 3, ("2023-08-31",))


def test_default_vintages_are_quarter_ends_and_the_call():
    assert len(DEFAULT_VINTAGES) == 9
    assert DEFAULT_VINTAGES[0] == pd.Timestamp("2022-09-30")
    assert pd.Timestamp("2023-08-31") in DEFAULT_VINTAGES
    assert DEFAULT_VINTAGES[-1] == pd.Timestamp("2024-06-30")


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2023-08-24", "2023-08-24", "2023-08-24"),
        ("2023-08", "2023-08-01", "2023-08-31"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2025", "2025-01-01", "2025-12-31"),
    ],
)
def test_publication_span(text, first, last):
    assert publication_span(text) == (pd.Timestamp(first), pd.Timestamp(last))


def _frame(*published):
    return pd.DataFrame(
        {"published": list(published), "line": range(2, 2 + len(published)), "anchor_id": "x"}
    )


def test_split_known_and_later():
    known, later = split_by_vintage(_frame("2023-08-24", "2023-09-01", "2022"), "2023-08-31", "f")
    assert known["published"].tolist() == ["2023-08-24", "2022"]
    assert later["published"].tolist() == ["2023-09-01"]
    everything, none = split_by_vintage(_frame("2023-08-24", "2030"), "", "f")
    assert len(everything) == 2 and none.empty


def test_ambiguous_publication_date_is_refused_with_the_fix():
    with pytest.raises(
        DataError, match=r"line 3.*may be before or after as_of 2023-08-31.*2023-12-31"
    ):
        split_by_vintage(_frame("2023-01-05", "2023"), "2023-08-31", "f.csv")
    # the same partial date is fine for a vintage outside its span
    known, later = split_by_vintage(_frame("2023"), "2024-03-31", "f.csv")
    assert len(known) == 1 and later.empty


def test_shipped_anchors_have_no_ambiguous_date_at_the_default_vintages():
    anchors = load_anchors()
    for as_of in DEFAULT_VINTAGES:
        known, later = anchors_as_of(anchors, as_of, ANCHORS_CSV)
        assert (known["published_last"] <= as_of).all()
        assert (later["published_last"] > as_of).all()
        assert len(known) + len(later) == len(anchors)


def test_the_seed_articles_vintage_knows_the_expected_figures():
    known, _ = anchors_as_of(load_anchors(), "2023-08-31")
    ids = set(known["anchor_id"])
    assert "us_2023_08_daily" in ids and "sea_2022_total" in ids
    # Tabcut's July figures: no displayed date, conservatively 26 Sep 2023
    assert "us_2023_07_01_daily" not in ids
    # Indonesia 2022 (SCMP, 12 Oct 2023) and every outcome come later
    assert "indonesia_2022_lower" not in ids and "global_2024_total_mw_tabcut" not in ids
    assert len(ids) == 9


def _inflate_later(src: Path, dst: Path, as_of: pd.Timestamp, factor: float = 7.0) -> int:
    """Copy the anchors with every figure published after as_of multiplied by factor."""
    with open(src, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    changed = 0
    for row in rows:
        if publication_span(row["published"])[0] > as_of:
            for column in ("value_usd", "value_low_usd", "value_high_usd"):
                if row[column]:
                    row[column] = repr(float(row[column]) * factor)
            changed += 1
    with open(dst, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return changed


@pytest.mark.parametrize("as_of", DEFAULT_VINTAGES, ids=lambda d: f"{d:%Y-%m-%d}")
def test_no_figure_published_after_as_of_enters_the_fit(tmp_path, as_of):
    """Leakage: inflating every later figure sevenfold must not move the vintage's history."""
    altered = tmp_path / "anchors.csv"
    assert _inflate_later(ANCHORS_CSV, altered, as_of) > 0
    day = f"{as_of:%Y-%m-%d}"
    _, draws, anchors, _ = load_history(ANCHORS_CSV, n_draws=4, seed=1, as_of=day)
    _, same, _, _ = load_history(altered, n_draws=4, seed=1, as_of=day)
    pd.testing.assert_frame_equal(draws, same)
    assert (anchors["published_last"] <= as_of).all()
    # the history ends at the last month the known figures cover (parts of the coverage too)
    assert draws.columns[-1] == anchors["period_end"].max().to_period("M").to_timestamp()


def test_the_leakage_check_can_fail(tmp_path):
    """Without the vintage filter the altered later figures do move the history."""
    as_of = pd.Timestamp("2023-12-31")
    altered = tmp_path / "anchors.csv"
    _inflate_later(ANCHORS_CSV, altered, pd.Timestamp("2023-08-31"))
    _, draws, _, _ = load_history(ANCHORS_CSV, n_draws=4, seed=1, history_end=f"{as_of:%Y-%m-%d}")
    _, moved, _, _ = load_history(altered, n_draws=4, seed=1, history_end=f"{as_of:%Y-%m-%d}")
    assert not np.allclose(draws.to_numpy(), moved.to_numpy())


def test_history_end_stays_an_override():
    _, draws, _, _ = load_history(
        ANCHORS_CSV, n_draws=3, as_of="2023-08-31", history_end="2022-12-01"
    )
    assert draws.columns[-1] == pd.Timestamp("2022-12-01")
    _, draws, _, _ = load_history(ANCHORS_CSV, n_draws=3, as_of="2022-09-30")
    assert draws.columns[-1] == pd.Timestamp("2022-06-01")


def _write(path: Path, rows: list[tuple], header=("date", "gmv", "published")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _monthly_rows(n=18, start="2022-01-01"):
    months = pd.date_range(start, periods=n, freq="MS")
    return [
        (
            f"{m:%Y-%m-%d}",
            100.0 * (i + 1),
            f"{m + pd.offsets.MonthEnd(0) + pd.Timedelta(days=5):%Y-%m-%d}",
        )
        for i, m in enumerate(months)
    ]


def test_user_csv_published_column_cuts_and_keeps_the_latest_revision(tmp_path):
    rows = _monthly_rows()
    # a revision of Jan 2023 published in Feb 2023, and another after the vintage
    rows.append(("2023-01-01", 999.0, "2023-02-20"))
    rows.append(("2023-01-01", 5555.0, "2023-09-15"))
    path = _write(tmp_path / "gmv.csv", rows)
    vintage = load_gmv_csv(path, as_of="2023-03-31")
    assert vintage.index[-1] == pd.Timestamp("2023-02-01")  # March published 5 April
    assert vintage["2023-01-01"] == 999.0
    today = load_gmv_csv(path)
    assert today["2023-01-01"] == 5555.0 and today.index[-1] == pd.Timestamp("2023-06-01")


def test_user_csv_rows_published_later_cannot_leak(tmp_path):
    rows = _monthly_rows()
    base = load_gmv_csv(_write(tmp_path / "a.csv", rows), as_of="2023-01-31")
    inflated = [(d, g * 50 if p > "2023-01-31" else g, p) for d, g, p in rows]
    same = load_gmv_csv(_write(tmp_path / "b.csv", inflated), as_of="2023-01-31")
    assert base.index[-1] == pd.Timestamp("2022-12-01")
    pd.testing.assert_series_equal(base, same)


def test_user_csv_without_published_keeps_months_ended_by_as_of(tmp_path):
    rows = [(d, g) for d, g, _ in _monthly_rows(n=20)]
    path = _write(tmp_path / "gmv.csv", rows, header=("date", "gmv"))
    series = load_gmv_csv(path, as_of="2023-03-30")
    assert series.index[-1] == pd.Timestamp("2023-02-01")
    with pytest.raises(DataError, match="had ended by as_of 2022-06-30"):
        load_gmv_csv(path, as_of="2022-06-30")


def test_user_csv_same_date_same_publication_is_refused(tmp_path):
    rows = [*_monthly_rows(), ("2022-03-01", 1.0, "2022-04-05")]
    with pytest.raises(DataError, match="a revision needs a later published date"):
        load_gmv_csv(_write(tmp_path / "gmv.csv", rows))


def _with_nowcast(src: Path, dst: Path, published: str) -> Path:
    """The anchors plus one global June-2023 monthly rate of 1.5 B published on ``published``."""
    with open(src, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    row = dict.fromkeys(rows[0], "")
    row.update(
        anchor_id="nowcast_2023_06",
        coverage="global",
        period_start="2023-06-01",
        period_end="2023-06-30",
        measure="monthly_rate",
        kind="estimate",
        value_usd="1500000000",
        uncertainty="0.1",
        publisher="test",
        published=published,
        source_note="synthetic nowcast figure (test only)",
    )
    with open(dst, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, row])
    return dst


def test_a_partial_period_figure_known_on_as_of_constrains_its_month(tmp_path):
    """The nowcast: a June-2023 figure published by 31 Aug 2023 pins June down; one published
    after 31 Aug does not move the history at all."""
    from shopcast.gmv.reconstruct import reconstruct

    day = "2023-08-31"
    base, _ = anchors_as_of(load_anchors(ANCHORS_CSV), day)
    baseline = reconstruct(base, n_draws=40, seed=2)
    june = pd.Timestamp("2023-06-01")
    assert baseline.support.loc[june, "evidence"] == "extrapolated"
    assert baseline.support.loc[june, "rests_on"] == ""

    early = _with_nowcast(ANCHORS_CSV, tmp_path / "early.csv", "2023-07-15")
    known, _ = anchors_as_of(load_anchors(early), day)
    nowcast = reconstruct(known, n_draws=40, seed=2)
    support = nowcast.support.loc[june]
    assert support["evidence"] == "estimate"
    assert "nowcast_2023_06 (estimate)" in support["rests_on"]
    median = float(nowcast.draws[june].median())
    assert 1.5e9 * np.exp(-0.2) < median < 1.5e9 * np.exp(0.2)  # within 2 sigma of the figure
    assert support["p90_over_p10"] < baseline.support.loc[june, "p90_over_p10"] / 3
    assert nowcast.draws.columns[-1] == pd.Timestamp("2023-08-01")

    late = _with_nowcast(ANCHORS_CSV, tmp_path / "late.csv", "2023-09-15")
    known, later = anchors_as_of(load_anchors(late), day)
    assert "nowcast_2023_06" in set(later["anchor_id"])
    unmoved = reconstruct(known, n_draws=40, seed=2)
    pd.testing.assert_frame_equal(unmoved.draws, baseline.draws)
    assert "nowcast_2023_06" not in " ".join(unmoved.support["rests_on"])


def test_the_goal_forecast_says_what_each_history_month_rests_on():
    from shopcast.gmv.pipeline import ForecastSettings, run_goal_forecast
    from shopcast.report_text import support_sentence

    result = run_goal_forecast(
        as_of="2023-08-31",
        history_end="",
        horizon_months=24,
        settings=ForecastSettings(model="drift_log"),
        n_draws=20,
        n_histories=5,
        n_samples=300,
        seed=0,
    )
    support = result.support
    assert list(support.index) == list(result.history.index)
    aug = support.loc[pd.Timestamp("2023-08-01")]
    assert aug["rests_on"] == "us_2023_08_daily (lower bound)" and aug["evidence"] == "partial"
    months_2023 = support.loc["2023-01-01":"2023-07-01"]
    assert (months_2023["evidence"] == "extrapolated").all() and (
        months_2023["n_figures"] == 0
    ).all()
    assert (support.loc["2022-01-01":"2022-12-01", "evidence"] == "estimate").all()
    # every figure named is one the vintage knew
    named = {
        part.split(" (")[0] for text in support["rests_on"] for part in text.split("; ") if part
    }
    assert named <= set(result.anchors["anchor_id"])
    sentence = support_sentence(support)
    assert "Jan 2023 to Jul 2023 (7)" in sentence and "Jan 2022 to Dec 2022 (12)" in sentence
