"""Inside, outside and combined: the reference class applied to a GMV forecast.

The *inside view* is the forecast of today's models from the market's own monthly history.
The *outside view* (:mod:`shopcast.forecasting.reference_class`) says how platforms of the same
annual GMV and age grew over the next year. This module

- simulates outside-view sample paths from a history (:func:`outside_paths`): year by year,
  each year's log growth drawn from the reference-class model at the path's own scale and age,
  with the platform effect and the parameter uncertainty drawn once per path (a platform that
  outgrows its class in one year tends to in the next);
- marks inside paths that grow faster than the reference class makes plausible
  (:func:`implausible_paths`: any forecast year whose growth exceeds the outside view's
  :data:`~shopcast.forecasting.reference_class.PLAUSIBLE_QUANTILE` quantile at that path's
  scale and age) and caps them from that year on (a path that cannot be judged, with a
  non-positive or non-finite year, is replaced by resampling the others);
- combines the two by the rule chosen on the leave-one-platform-out validation
  (:data:`COMBINATION`, :func:`combine`). Two families are validated: a linear pool (each
  combined path drawn from the outside view with probability ``weight``, from the truncated
  inside view otherwise) and the outside view as a prior of weight ``weight`` on the inside
  view (:func:`~shopcast.forecasting.reference_class.combine_normal`: the combined density is
  ``inside(g) * outside(g) ** weight`` in the first forecast year's log growth ``g``). On sample
  paths the prior is applied by importance resampling: each truncated inside path is drawn with
  probability proportional to ``outside(g) ** weight`` at its own scale and age, which gives
  that density exactly as the number of paths grows.

The choices in :data:`COVARIATES` and :data:`COMBINATION` are constants so that a goal forecast
does not refit the validation; ``tests/test_outside_view.py`` recomputes the validation and
fails if they no longer are its choice.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from shopcast.exceptions import DataError, ModelError
from shopcast.forecasting.base import SamplePaths, future_months, paths_frame, unwrap
from shopcast.forecasting.reference_class import (
    PLAUSIBLE_QUANTILE,
    SCALE_CENTRE,
    OutsideViewModel,
    design,
)
from shopcast.gmv.platforms import growth_pairs

#: Covariates of the outside view, chosen by leave-one-platform-out CRPS (scale and age beat
#: scale alone: bench/outside_view.py).
COVARIATES = "scale_age"
#: The combination rule chosen by leave-one-platform-out CRPS: (family, outside weight). The
#: outside view as a prior of weight 0.5 on the inside view (bench/results/outside_view.md).
COMBINATION = ("prior", 0.5)
#: Combination families :func:`combine` applies to sample paths.
PATH_FAMILIES = ("pool", "prior")
#: Below this effective number of inside paths the prior's resampling rests on few paths, and
#: the report says so.
MIN_EFFECTIVE_PATHS = 100
#: Fewest months a young market's forecast accepts; below it no annual scale can be placed.
YOUNG_MIN_MONTHS = 3
#: Months from which the inside models forecast (below it a series is a young market).
INSIDE_MIN_MONTHS = 12


@functools.lru_cache(maxsize=4)
def _fit_cached(covariates: str) -> OutsideViewModel:
    return OutsideViewModel(covariates).fit(growth_pairs())


def reference_model(covariates: str = COVARIATES) -> OutsideViewModel:
    """The outside view fitted on the whole reference class (``data/platform_gmv.csv``)."""
    return _fit_cached(covariates)


def _annual_base(values: np.ndarray) -> np.ndarray:
    """Annual GMV at the origin, per row.

    The last 12 months' total, or for a shorter history the mean month times 12 (an annualised
    young market).
    """
    if values.shape[1] >= 12:
        return values[:, -12:].sum(axis=1)
    return values.mean(axis=1) * 12.0


def _frame(log_scale: np.ndarray, age: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"log_scale": log_scale, "age_years": age, "subannual": np.zeros(len(log_scale))}
    )


def outside_paths(
    draws: pd.DataFrame,
    horizon: int,
    age_years: float,
    n_samples: int = 1000,
    seed: int = 0,
    model: OutsideViewModel | None = None,
) -> SamplePaths:
    """Sample paths from the outside view alone, each appended to a history draw.

    Year ``k`` of a path has the total ``B_{k-1} * exp(g_k)``, where ``B_0`` is the path's
    annual GMV at the origin and ``g_k`` its log growth, drawn from the reference-class model at
    log10 ``B_{k-1}`` and age ``age_years + k - 1``: ``g_k = x' beta + u + e_k`` with
    ``beta ~ N(beta_hat, Cov)`` and ``u ~ N(0, tau^2)`` drawn once per path and ``e_k`` each
    year. Within a year the total is spread over the months geometrically (monthly growth
    ``g_k / 12``): the reference class holds annual and quarterly figures only, so the outside
    view carries no seasonality and no festival months.

    Args:
        draws: history draws (rows) by month; at least :data:`YOUNG_MIN_MONTHS` months.
        horizon: months to forecast.
        age_years: the market's age at the last history month.
        n_samples: paths returned.
        seed: seeds the choice of history draws and every draw.
        model: a fitted outside view (default: :func:`reference_model`).

    Returns:
        :class:`SamplePaths` like :func:`shopcast.forecasting.draws.forecast_over_draws`
        (history then forecast).
    """
    model = model or reference_model()
    months = pd.DatetimeIndex(pd.to_datetime(draws.columns))
    if len(months) < YOUNG_MIN_MONTHS:
        raise ModelError(
            f"the outside view needs at least {YOUNG_MIN_MONTHS} months of history to place the "
            f"market's annual scale; got {len(months)}"
        )
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(draws), size=n_samples)
    history = draws.to_numpy(dtype=float)[rows]
    base = _annual_base(history)
    if np.any(base <= 0):
        raise ModelError("the outside view needs a positive GMV in the last months of history")
    beta = rng.multivariate_normal(model.beta_, model.cov_beta_, size=n_samples)
    u = rng.normal(0.0, model.tau_, size=n_samples)
    resid_sd = float(np.exp(model.gamma_[0]))
    years = -(-horizon // 12)
    future = np.empty((n_samples, years * 12))
    step = np.arange(1, 13)
    for k in range(years):
        x, _ = design(_frame(np.log10(base), np.full(n_samples, age_years + k)), model_cov(model))
        g = np.einsum("ij,ij->i", x, beta) + u + rng.normal(0.0, resid_sd, size=n_samples)
        total = base * np.exp(g)
        shape = np.exp(np.outer(g / 12.0, step))
        future[:, 12 * k : 12 * (k + 1)] = total[:, None] * shape / shape.sum(axis=1)[:, None]
        base = total
    values = np.hstack([history, future[:, :horizon]])
    frame = paths_frame(values, months.append(future_months(months[-1], horizon)))
    return SamplePaths(frame, months[-1], tuple(np.asarray(draws.index)[rows].tolist()))


def model_cov(model: OutsideViewModel) -> tuple[str, ...]:
    """The covariate names of a fitted outside view."""
    from shopcast.forecasting.reference_class import COVARIATE_SETS

    return COVARIATE_SETS[model.covariates]


def yearly_growth(
    paths: SamplePaths | pd.DataFrame, last_actual: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Each path's log growth of every whole forecast year over the 12 months before it.

    Returns:
        DataFrame (rows = paths, columns ``1, 2, ...``); the base of year 1 is the last 12
        history months (annualised mean when the history is shorter).
    """
    frame, meta = unwrap(paths)
    last_actual = last_actual if last_actual is not None else meta.last_actual
    months = pd.DatetimeIndex(frame.columns)
    n_hist = int((months <= last_actual).sum())
    values = frame.to_numpy(dtype=float)
    base = _annual_base(values[:, :n_hist])
    out = {}
    k = 0
    while n_hist + 12 * (k + 1) <= values.shape[1]:
        total = values[:, n_hist + 12 * k : n_hist + 12 * (k + 1)].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[k + 1] = np.log(total / base)
        base = total
        k += 1
    return pd.DataFrame(out, index=frame.index)


def _year_bounds(
    values: np.ndarray, n_hist: int, age_years: float, model, quantile: float, cap: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Walk the forecast years of ``values`` (rows = paths) against the plausibility bound.

    Returns ``(bad, capped)``: rows that cannot be judged (a non-positive or non-finite year or
    base) and, with ``cap``, rows whose growth was brought down to the bound in some year
    (``values`` is changed in place: that year and every later month scaled by the same
    factor); without ``cap``, ``capped`` marks the rows above the bound.
    """
    base = _annual_base(values[:, :n_hist])
    bad = np.zeros(len(values), dtype=bool)
    over = np.zeros(len(values), dtype=bool)
    z = stats.norm.ppf(quantile)
    k = 0
    while n_hist + 12 * (k + 1) <= values.shape[1]:
        year = slice(n_hist + 12 * k, n_hist + 12 * (k + 1))
        total = values[:, year].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.log10(np.where(base > 0, base, np.nan))
            g = np.log(total / base)
        ok = np.isfinite(scale) & np.isfinite(g)
        pred = model.predict(
            _frame(np.where(ok, scale, SCALE_CENTRE), np.full(len(base), age_years + k))
        )
        upper = pred["mean"].to_numpy() + z * pred["sd"].to_numpy()
        above = ok & (g > upper)
        bad |= ~ok
        over |= above
        if cap and above.any():
            # A year above the bound is brought down to it, with every later month moving by
            # the same factor: the path's earlier years are left as the model made them.
            factor = np.exp(upper[above] - g[above] - 1e-9)
            values[above, n_hist + 12 * k :] *= factor[:, None]
            total = values[:, year].sum(axis=1)
        base = total
        k += 1
    return bad, over


def implausible_paths(
    paths: SamplePaths,
    age_years: float,
    model: OutsideViewModel | None = None,
    quantile: float = PLAUSIBLE_QUANTILE,
) -> np.ndarray:
    """Boolean mask of the paths that grow faster than the reference class makes plausible.

    A path is implausible when a forecast year grows faster than the reference class's
    ``quantile`` at that path's scale (the year before) and age, or when a year is non-positive
    or non-finite.
    """
    model = model or reference_model()
    months = pd.DatetimeIndex(paths.frame.columns)
    n_hist = int((months <= paths.last_actual).sum())
    values = paths.frame.to_numpy(dtype=float)
    bad, over = _year_bounds(values, n_hist, age_years, model, quantile, cap=False)
    return bad | over


def _truncate(paths: SamplePaths, age_years: float, model, rng):
    """Bring every path within the plausibility bound.

    A path whose forecast year grows faster than the bound is capped from that year on (the
    year's growth set to the bound, later months moved by the same factor), so that an
    explosion in a later year does not censor the earlier ones; a path that cannot be judged (a
    non-positive or non-finite year) is replaced by a plausible one drawn at random.

    Returns:
        ``(paths or None when none can be kept, share capped or replaced, row taken for each
        row)``.
    """
    months = pd.DatetimeIndex(paths.frame.columns)
    n_hist = int((months <= paths.last_actual).sum())
    values = paths.frame.to_numpy(dtype=float).copy()
    bad, capped = _year_bounds(values, n_hist, age_years, model, PLAUSIBLE_QUANTILE, cap=True)
    good = np.flatnonzero(~bad)
    if good.size == 0:
        return None, 1.0, None
    rows = np.arange(len(paths))
    rows[bad] = rng.choice(good, size=int(bad.sum()))
    frame = pd.DataFrame(values[rows], index=paths.frame.index, columns=paths.frame.columns)
    draws = None
    if paths.draw_of_row is not None:
        draws = tuple(np.asarray(paths.draw_of_row, dtype=object)[rows].tolist())
    return replace(paths, frame=frame, draw_of_row=draws), float((bad | capped).mean()), rows


@dataclass
class Views:
    """Inside, outside and combined forecasts of one goal.

    Attributes:
        inside: the inside view's paths as the models made them.
        outside: outside-view paths.
        combined: the combined paths (what the goal probabilities use).
        age_years: the market's age at the last history month (from its first month of data).
        family, weight: the combination rule.
        truncated_share: share of inside paths capped (or replaced) as implausible.
        growth: the first forecast year under each view (rows): next-12-month GMV as a multiple
            of the last 12 months, its P10, P50 and P90 (columns ``p10``, ``p50``, ``p90``).
        notes: sentences for the report's caveats.
        effective_paths: for the prior family, the effective number of distinct inside paths
            behind the combined forecast (``1 / sum(p_i^2)`` of the resampling probabilities);
            NaN for the pool.
    """

    inside: SamplePaths | None
    outside: SamplePaths
    combined: SamplePaths
    age_years: float
    family: str
    weight: float
    truncated_share: float
    growth: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    effective_paths: float = float("nan")

    def until(self, last_month: pd.Timestamp) -> Views:
        """The same views with every path cut after ``last_month`` (a shorter horizon)."""

        def cut(paths: SamplePaths | None) -> SamplePaths | None:
            if paths is None:
                return None
            keep = pd.DatetimeIndex(paths.frame.columns) <= pd.Timestamp(last_month)
            return paths.with_frame(paths.frame.loc[:, keep])

        return replace(
            self, inside=cut(self.inside), outside=cut(self.outside), combined=cut(self.combined)
        )


def market_age(history: pd.Series) -> float:
    """Years from the first month with positive GMV to the last month of ``history``."""
    positive = history[history > 0]
    if positive.empty:
        raise DataError("history", "no month with positive GMV: the market's age is undefined")
    first, last = positive.index[0], history.index[-1]
    return ((last.year - first.year) * 12 + last.month - first.month + 1) / 12.0


def prior_weights(
    paths: SamplePaths, age_years: float, weight: float, model: OutsideViewModel | None = None
) -> np.ndarray:
    """Resampling probabilities of ``paths`` under the outside view as a prior of ``weight``.

    Each path's probability is proportional to ``outside(g) ** weight``, where ``g`` is its
    first forecast year's log growth and ``outside`` the reference class's predictive density
    at the path's own annual GMV (the last 12 history months) and ``age_years``.

    Returns:
        Probabilities summing to 1 (one per path).

    Raises:
        ModelError: the forecast is shorter than a year (no first-year growth to weigh).
    """
    model = model or reference_model()
    growth = yearly_growth(paths)
    if 1 not in growth:
        raise ModelError(
            "the outside view as a prior weighs each path's first forecast year; the forecast "
            "is shorter than 12 months: set horizon_months to 12 or more"
        )
    months = pd.DatetimeIndex(paths.frame.columns)
    n_hist = int((months <= paths.last_actual).sum())
    base = _annual_base(paths.frame.to_numpy(dtype=float)[:, :n_hist])
    pred = model.predict(_frame(np.log10(base), np.full(len(base), age_years)))
    logw = weight * stats.norm.logpdf(
        growth[1].to_numpy(), pred["mean"].to_numpy(), pred["sd"].to_numpy()
    )
    logw = np.where(np.isfinite(logw), logw, -np.inf)
    if not np.isfinite(logw).any():
        raise ModelError("no inside path has a finite first-year growth to weigh")
    w = np.exp(logw - logw.max())
    return w / w.sum()


def combine(
    inside: SamplePaths | None,
    draws: pd.DataFrame,
    horizon: int,
    age_years: float,
    seed: int = 0,
    combination: tuple[str, float] = COMBINATION,
    model: OutsideViewModel | None = None,
) -> Views:
    """Truncate the inside view's implausible paths and combine it with the outside view.

    Args:
        inside: the inside view's paths (history then forecast), or None for a young market
            (the combined forecast is then the outside view alone).
        draws: the history draws the paths grew from.
        horizon: months forecast.
        age_years: the market's age at the last history month.
        seed: seeds the outside paths, the resampling and the combination (same seed, same
            paths).
        combination: ``(family, weight)``: ``("pool", w)`` draws a share ``w`` of the paths
            from the outside view; ``("prior", w)`` resamples the truncated inside paths with
            probabilities proportional to ``outside(g) ** w`` (:func:`prior_weights`). Weight 0
            is the truncated inside view in both.
        model: a fitted outside view (default: :func:`reference_model`).
    """
    family, weight = combination
    if family not in PATH_FAMILIES:
        raise ModelError(
            f"combination family {family!r} cannot combine sample paths; use one of "
            f"{', '.join(PATH_FAMILIES)}"
        )
    model = model or reference_model()
    seeds = np.random.SeedSequence(seed).generate_state(3)
    n = len(inside) if inside is not None else 2000
    outside = outside_paths(draws, horizon, age_years, n, int(seeds[0]), model)
    rng = np.random.default_rng(int(seeds[1]))
    # The outside view's own draws beyond the bound (about 0.5% a year) are replaced too, so
    # that no combined path grows faster than the bound.
    outside, _, _ = _truncate(outside, age_years, model, rng)
    notes: list[str] = []
    effective = float("nan")
    if inside is None:
        combined, truncated, weight_used = outside, 0.0, 1.0
    else:
        kept, truncated, _ = _truncate(inside, age_years, model, rng)
        weight_used = weight
        if kept is None:
            notes.append(
                "Every inside-view path grew faster than the reference class makes plausible; "
                "the forecast is the outside view alone."
            )
            frame = paths_frame(outside.frame.to_numpy(), pd.DatetimeIndex(inside.frame.columns))
            combined = replace(inside, frame=frame, draw_of_row=outside.draw_of_row)
            weight_used = 1.0
        elif weight_used == 0:
            combined = kept  # weight 0 is the truncated inside view in either family
        elif family == "pool":
            pick = np.random.default_rng(int(seeds[2])).random(n) < weight_used
            values = np.where(pick[:, None], outside.frame.to_numpy(), kept.frame.to_numpy())
            frame = paths_frame(values, pd.DatetimeIndex(inside.frame.columns))
            draw_in = np.asarray(kept.draw_of_row or tuple(range(n)), dtype=object)
            draw_out = np.asarray(outside.draw_of_row, dtype=object)
            draws_of = tuple(np.where(pick, draw_out, draw_in).tolist())
            combined = replace(inside, frame=frame, draw_of_row=draws_of)
        else:
            prob = prior_weights(kept, age_years, weight_used, model)
            effective = float(1.0 / np.sum(np.square(prob)))
            rows = np.random.default_rng(int(seeds[2])).choice(n, size=n, p=prob)
            frame = kept.frame.iloc[rows].set_axis(kept.frame.index, axis=0)
            draws_of = None
            if kept.draw_of_row is not None:
                draws_of = tuple(np.asarray(kept.draw_of_row, dtype=object)[rows].tolist())
            combined = replace(inside, frame=frame, draw_of_row=draws_of)
            if effective < MIN_EFFECTIVE_PATHS:
                notes.append(
                    f"The outside view, as a prior, leaves about {effective:.0f} effective "
                    f"inside paths of {n}: the inside view's first-year growth sits far in "
                    "the reference class's tail, and the combined forecast rests on few of "
                    "its paths."
                )
    last = outside.last_actual
    table = {}
    for name, frame in (("inside", inside), ("outside", outside), ("combined", combined)):
        if frame is None:
            continue
        g = yearly_growth(frame, last)
        if 1 in g:
            q = np.nanquantile(g[1].to_numpy(), (0.1, 0.5, 0.9))
            table[name] = {"p10": np.exp(q[0]), "p50": np.exp(q[1]), "p90": np.exp(q[2])}
    growth = pd.DataFrame(table).T
    return Views(
        inside, outside, combined, age_years, family, weight_used, truncated, growth, notes,
        effective,
    )  # fmt: skip


def window_table(views: Views, start: str, end: str, target: float) -> pd.DataFrame:
    """The goal window's total under each view: P10, P50, P90, P90/P10 and P(total >= target).

    Rows ``inside`` (the models' paths before truncation), ``outside``, ``combined``; a young
    market has no inside row.
    """
    rows = {}
    for name, frame in (("inside", views.inside), ("outside", views.outside),
                        ("combined", views.combined)):  # fmt: skip
        if frame is None:
            continue
        values = frame.frame
        months = pd.DatetimeIndex(values.columns)
        mask = (months >= pd.Timestamp(start)) & (months <= pd.Timestamp(end))
        total = values.loc[:, mask].sum(axis=1).to_numpy()
        p10, p50, p90 = np.quantile(total, (0.1, 0.5, 0.9))
        rows[name] = {
            "p10": p10,
            "p50": p50,
            "p90": p90,
            "p90_over_p10": p90 / p10 if p10 > 0 else np.nan,
            "probability": float(np.mean(total >= target)),
        }
    return pd.DataFrame(rows).T
