"""Inside, outside and combined views; young markets; the plausibility bound."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from shopcast.exceptions import DataError, ModelError
from shopcast.forecasting import reference_class as rc
from shopcast.gmv import outside_view as ov
from shopcast.gmv.pipeline import run_goal_forecast
from shopcast.gmv.platforms import growth_pairs

SMALL = {"n_draws": 20, "n_histories": 5, "n_samples": 300}


def draws_of(values, start="2022-01-01", n_draws=3):
    months = pd.date_range(start, periods=len(values), freq="MS")
    rows = [np.asarray(values, float) * f for f in np.linspace(0.95, 1.05, n_draws)]
    return pd.DataFrame(rows, columns=months)


def test_constants_are_the_leave_one_platform_out_choices():
    pairs = growth_pairs()
    covariates, _ = rc.choose_covariates(pairs)
    assert covariates == ov.COVARIATES
    lopo = rc.leave_one_platform_out(pairs, lambda: rc.OutsideViewModel(covariates))
    family, weight, _ = rc.choose_combination(lopo)
    assert (family, weight) == ov.COMBINATION


def test_outside_paths_are_reproducible_and_follow_the_model_mean():
    draws = draws_of(np.full(12, 1e9))  # 12 B a year
    a = ov.outside_paths(draws, 24, age_years=2.0, n_samples=4000, seed=7)
    b = ov.outside_paths(draws, 24, age_years=2.0, n_samples=4000, seed=7)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    growth = ov.yearly_growth(a)
    model = ov.reference_model()
    base = draws.to_numpy()[:, -12:].sum(axis=1)
    expected = model.predict(
        pd.DataFrame({"log_scale": np.log10(base), "age_years": 2.0, "subannual": 0.0})
    )
    # the year-1 mean over draws is the model's mean over the history draws used
    assert growth[1].mean() == pytest.approx(expected["mean"].mean(), abs=0.03)
    assert growth[1].std() == pytest.approx(expected["sd"].mean(), rel=0.08)


def test_no_combined_path_grows_faster_than_the_bound():
    draws = draws_of(np.full(12, 1e9))
    inside = ov.outside_paths(draws, 24, 2.0, 1000, seed=1)
    values = inside.frame.to_numpy().copy()
    values[:100, 12:] *= np.exp(np.linspace(0.5, 12, 24))  # explosive paths, as Prophet makes
    inside = inside.with_frame(pd.DataFrame(values, columns=inside.frame.columns))
    assert ov.implausible_paths(inside, 2.0)[:100].all()
    views = ov.combine(inside, draws, 24, 2.0, seed=3)
    assert not ov.implausible_paths(views.combined, 2.0).any()
    assert views.truncated_share >= 0.1
    again = ov.combine(inside, draws, 24, 2.0, seed=3)
    pd.testing.assert_frame_equal(views.combined.frame, again.combined.frame)


def test_a_later_explosion_is_capped_without_censoring_earlier_years():
    # A path that explodes only in its second forecast year keeps its first year as the model
    # made it; replacing whole paths would drop it and bias the first year down.
    draws = draws_of(np.full(12, 1e9))
    inside = ov.outside_paths(draws, 24, 2.0, 400, seed=1)
    plausible = np.flatnonzero(~ov.implausible_paths(inside, 2.0))
    exploded, calm = plausible[:50], plausible[50:]
    values = inside.frame.to_numpy().copy()
    values[exploded, 24:] *= np.exp(np.linspace(0.1, 8, 12))  # 12 history months, then year 2
    inside = inside.with_frame(pd.DataFrame(values, columns=inside.frame.columns))
    capped, share, rows = ov._truncate(inside, 2.0, ov.reference_model(), np.random.default_rng(0))
    assert share >= 50 / 400 and (rows == np.arange(400)).all()  # capped in place, none replaced
    out = capped.frame.to_numpy()
    np.testing.assert_array_equal(out[exploded, :24], values[exploded, :24])  # year 1 kept
    assert (out[exploded, 24:] < values[exploded, 24:]).all()  # the explosion brought down
    np.testing.assert_array_equal(out[calm], values[calm])  # plausible paths unchanged
    assert not ov.implausible_paths(capped, 2.0).any()


def test_pool_takes_its_share_from_the_outside_view():
    draws = draws_of(np.full(12, 1e9))
    inside = ov.outside_paths(draws, 12, 2.0, 2000, seed=1)
    flat = inside.with_frame(
        pd.DataFrame(np.tile(inside.frame.to_numpy()[:1], (2000, 1)), columns=inside.frame.columns)
    )
    views = ov.combine(flat, draws, 12, 2.0, seed=0, combination=("pool", 0.3))
    from_outside = ~np.isclose(views.combined.frame.iloc[:, -1], flat.frame.iloc[0, -1])
    assert from_outside.mean() == pytest.approx(0.3, abs=0.03)
    assert np.isnan(views.effective_paths)


def inside_with_growth(growth, base_month=1e9, age=2.0):
    """Inside paths: 12 flat history months, then one year whose total is base * exp(growth)."""
    draws = draws_of(np.full(12, base_month), n_draws=1)
    template = ov.outside_paths(draws, 12, age, len(growth), seed=0)
    history = np.full((len(growth), 12), base_month)
    future = np.repeat((base_month * np.exp(np.asarray(growth)))[:, None], 12, axis=1)
    frame = pd.DataFrame(np.hstack([history, future]), columns=template.frame.columns)
    return draws, template.with_frame(frame)


def test_prior_weights_give_the_closed_form_of_combine_normal():
    # Inside first-year growth ~ N(0.9, 0.5); all paths share one scale and age, so the
    # outside view's predictive is one normal and the weighted growth must be the product of
    # normals that combine_normal gives in closed form.
    growth = stats.norm.ppf((np.arange(20000) + 0.5) / 20000, 0.9, 0.5)
    _, inside = inside_with_growth(growth)
    model = ov.reference_model()
    pred = model.predict(
        pd.DataFrame({"log_scale": [np.log10(12e9)], "age_years": [2.0], "subannual": [0.0]})
    )
    for lam in (0.5, 1.0):
        p = ov.prior_weights(inside, 2.0, lam, model)
        mean = float(np.sum(p * growth))
        sd = float(np.sqrt(np.sum(p * (growth - mean) ** 2)))
        want_mean, want_sd = rc.combine_normal(
            0.9, 0.5, pred["mean"].iloc[0], pred["sd"].iloc[0], lam
        )
        assert mean == pytest.approx(want_mean, abs=2e-3)
        assert sd == pytest.approx(want_sd, rel=5e-3)
    assert ov.prior_weights(inside, 2.0, 0.0, model) == pytest.approx(np.full(20000, 1 / 20000))


def test_prior_combination_resamples_inside_paths_only():
    rng = np.random.default_rng(5)
    draws, inside = inside_with_growth(rng.normal(0.8, 0.4, 3000))
    views = ov.combine(inside, draws, 12, 2.0, seed=4, combination=("prior", 0.5))
    # every combined path is an inside path (capped where it broke the bound), never an outside one
    capped, _, _ = ov._truncate(inside, 2.0, ov.reference_model(), np.random.default_rng(0))
    rows = {tuple(np.round(r, 3)) for r in capped.frame.to_numpy()}
    assert all(tuple(np.round(r, 3)) in rows for r in views.combined.frame.to_numpy())
    assert views.family == "prior" and views.weight == 0.5
    assert 100 < views.effective_paths < 3000
    again = ov.combine(inside, draws, 12, 2.0, seed=4, combination=("prior", 0.5))
    pd.testing.assert_frame_equal(views.combined.frame, again.combined.frame)


def test_prior_needs_a_full_forecast_year():
    draws = draws_of(np.full(12, 1e9))
    inside = ov.outside_paths(draws, 6, 2.0, 200, seed=1)
    with pytest.raises(ModelError, match=r"shorter than 12 months.*horizon_months"):
        ov.combine(inside, draws, 6, 2.0, seed=0, combination=("prior", 0.5))
    with pytest.raises(ModelError, match="cannot combine sample paths"):
        ov.combine(inside, draws, 6, 2.0, seed=0, combination=("mixture", 0.5))


def young_csv(tmp_path, months):
    dates = pd.date_range("2023-01-01", periods=months, freq="MS")
    path = tmp_path / f"young_{months}.csv"
    pd.DataFrame(
        {"date": dates.strftime("%Y-%m-%d"), "gmv": np.round(2e7 * 1.1 ** np.arange(months))}
    ).to_csv(path, index=False)
    return path


def test_six_months_of_a_young_market_are_forecast_from_the_outside_view(tmp_path):
    result = run_goal_forecast(
        young_csv(tmp_path, 6),
        goal_target_usd=1e9,
        goal_start="2023-01-01",
        goal_end="2023-12-01",
        base_start="2023-01-01",
        base_end="2023-06-01",
        history_end="",
        horizon_months=24,
        seed=0,
        **SMALL,
    )
    assert result.model_name == "outside_view" and result.views.inside is None
    assert any("Young market" in n for n in result.notes)
    assert result.views.age_years == pytest.approx(0.5)
    months = pd.DatetimeIndex(result.paths.frame.columns)
    assert months[0] == pd.Timestamp("2023-01-01") and len(months) == 6 + 24
    assert 0 < result.absolute.probability < 1


def test_two_months_are_a_clear_error(tmp_path):
    with pytest.raises(
        DataError, match=r"only 2 complete months.*at least 3 are needed.*outside view"
    ):
        run_goal_forecast(
            young_csv(tmp_path, 2), history_end="", goal_start="2023-01-01", seed=0, **SMALL
        )


def test_goal_forecast_reports_all_three_views():
    result = run_goal_forecast(seed=0, **SMALL)
    assert set(result.views.growth.index) == {"inside", "outside", "combined"}
    pd.testing.assert_frame_equal(result.paths.frame, result.views.combined.frame)
    assert not ov.implausible_paths(result.paths, result.views.age_years).any()


def test_window_table_and_the_report_sentence_use_the_paths_totals():
    draws = draws_of(np.full(12, 1e9))
    inside = ov.outside_paths(draws, 12, 2.0, 500, seed=1)
    views = ov.combine(inside, draws, 12, 2.0, seed=2)
    table = ov.window_table(views, "2023-01-01", "2023-12-01", 20e9)
    frame = views.combined.frame
    totals = frame.loc[:, frame.columns >= pd.Timestamp("2023-01-01")].sum(axis=1)
    p10, p90 = np.quantile(totals, (0.1, 0.9))
    assert table.loc["combined", "p90_over_p10"] == pytest.approx(p90 / p10)
    assert table.loc["combined", "probability"] == pytest.approx(np.mean(totals >= 20e9))
    from shopcast.report_text import views_text

    text = views_text(views, table)
    assert "prior of weight 0.5" in text and f"{p90 / p10:.1f}x" in text
    assert f"About {views.effective_paths:,.0f} effective inside paths of 500" in text
    pooled = ov.combine(inside, draws, 12, 2.0, seed=2, combination=("pool", 0.3))
    text = views_text(pooled, ov.window_table(pooled, "2023-01-01", "2023-12-01", 20e9))
    assert "70%" in text and "30%" in text


def test_a_horizon_shorter_than_a_year_is_weighed_on_a_full_year_then_cut():
    from shopcast.gmv.pipeline import ForecastSettings

    result = run_goal_forecast(
        as_of="2023-08-31",
        history_end="",
        horizon_months=6,
        settings=ForecastSettings(model="drift_log"),
        seed=0,
        **SMALL,
    )
    months = pd.DatetimeIndex(result.paths.frame.columns)
    assert months[-1] == pd.Timestamp("2024-02-01")  # Aug 2023 + 6 months
    for paths in (result.views.inside, result.views.outside, result.views.combined):
        assert pd.DatetimeIndex(paths.frame.columns)[-1] == months[-1]
    assert result.views.family == "prior" and result.views.effective_paths > 0
    assert 0 < result.absolute.probability < 1


def test_weight_zero_is_the_truncated_inside_view_in_both_families():
    draws = draws_of(np.full(12, 1e9))
    inside = ov.outside_paths(draws, 24, 2.0, 500, seed=1)
    pool = ov.combine(inside, draws, 24, 2.0, seed=3, combination=("pool", 0.0))
    prior = ov.combine(inside, draws, 24, 2.0, seed=3, combination=("prior", 0.0))
    pd.testing.assert_frame_equal(pool.combined.frame, prior.combined.frame)
    assert not ov.implausible_paths(prior.combined, 2.0).any()
