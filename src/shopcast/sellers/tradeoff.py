"""Threshold against goal: what an entry threshold does to the probability of a GMV goal.

A higher entry threshold removes sellers and, with them, part of the platform's GMV. The cohort
simulation (:func:`simulate_cohorts`) turns each threshold into a per-month
"GMV kept" factor relative to no threshold (:func:`gmv_kept_factor`); here
that factor is applied to the forecast months of GMV sample paths and the goals are scored again
with :mod:`shopcast.gmv.goals`.

- :func:`paths_under_threshold`: sample paths with one threshold's factor applied from the month
  it takes effect.
- :func:`threshold_tradeoff`: one row per threshold: sellers staying (from the sweep) next to the
  probability of the absolute and the multiple goal.

A threshold applies to one region's sellers (the seed's threshold is for US merchants): with a
``region_share`` s (the region's share of the forecast's GMV, one value or one per path), a path's
month becomes ``path * (1 - s * (1 - factor))``: only the region's part is scaled.
:func:`region_share_draws` estimates s from the GMV anchors, with uncertainty. The factor comes
from assumed dynamics, so the results are scenarios, not estimates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shopcast.exceptions import ParameterError
from shopcast.forecasting.base import SamplePaths, unwrap
from shopcast.gmv import goals

TRADEOFF_COLUMNS = (
    "threshold",
    "sellers_staying", "sellers_staying_p10", "sellers_staying_p90",
    "share_sellers_staying", "share_sellers_staying_p10", "share_sellers_staying_p90",
    "share_gmv_kept",
    "gmv_factor_in_window",
    "probability_absolute", "probability_absolute_se",
    "change_absolute", "change_absolute_se",
    "probability_multiple", "probability_multiple_se",
    "change_multiple", "change_multiple_se",
    "window_total_p10", "window_total_p50", "window_total_p90",
)  # fmt: skip


def _last_actual(paths: SamplePaths | pd.DataFrame) -> pd.Timestamp:
    frame, meta = unwrap(paths)
    goals.month_columns(frame)  # the same checks as every goal function
    if meta.last_actual is None:
        raise ParameterError(
            "paths.last_actual",
            None,
            "the last history month, as set by forecast_over_draws (full SamplePaths); the "
            "threshold applies to forecast months only",
        )
    return goals.as_month(meta.last_actual, "paths.last_actual")


def _factor_values(factor: pd.Series | float) -> np.ndarray:
    """The factor by month number 1..M as an array, or a :class:`ParameterError`."""
    if isinstance(factor, (int, float, np.number)) and not isinstance(factor, bool):
        values = np.array([float(factor)])
    elif isinstance(factor, pd.Series):
        if factor.empty:
            raise ParameterError("factor", "empty Series", "a factor for month 1 at least")
        index = np.asarray(factor.index)
        expected = np.arange(1, len(factor) + 1)
        if not (np.issubdtype(index.dtype, np.number) and np.array_equal(index, expected)):
            raise ParameterError(
                "factor.index",
                list(factor.index[:4]),
                "month numbers 1, 2, ..., M in order (a column of thresholds.gmv_kept_factor)",
            )
        values = factor.to_numpy(dtype=float)
    else:
        raise ParameterError(
            "factor",
            type(factor).__name__,
            "a Series indexed by month number 1..M (a column of thresholds.gmv_kept_factor) or "
            "a number",
        )
    if not np.isfinite(values).all() or (values < 0).any():
        raise ParameterError("factor", values[:4].tolist(), "finite factors >= 0")
    return values


def _applied_factor(
    months: pd.DatetimeIndex, last_actual: pd.Timestamp, start: pd.Timestamp, values: np.ndarray
) -> np.ndarray:
    """The factor each column is multiplied by: 1 before ``start``, then month 1, 2, ...

    Months past the factor's length keep its last value.
    """
    offset = (months.year - start.year) * 12 + (months.month - start.month)
    position = np.clip(np.asarray(offset), 0, len(values) - 1)
    applied = values[position]
    return np.where((np.asarray(offset) >= 0) & (months > last_actual), applied, 1.0)


def _check_start(
    start_month: object, last_actual: pd.Timestamp, months: pd.DatetimeIndex
) -> pd.Timestamp:
    first_forecast = last_actual + pd.offsets.MonthBegin(1)
    if start_month is None:
        return first_forecast
    start = goals.as_month(start_month, "start_month")
    if start < first_forecast or start > months.max():
        raise ParameterError(
            "start_month",
            f"{start:%Y-%m-%d}",
            f"a forecast month, {first_forecast:%Y-%m-%d} to {months.max():%Y-%m-%d} (the "
            f"history ends {last_actual:%Y-%m}; a threshold cannot change months already "
            "observed or reconstructed)",
        )
    return start


def region_share_draws(
    region: str,
    coverage: str,
    month: object,
    n_draws: int = 200,
    seed: int = 0,
    anchors: object = None,
) -> np.ndarray:
    """The region's share of the forecast coverage's GMV in one month, per draw, from the anchors.

    Both coverages are reconstructed from the GMV anchors (:func:`shopcast.gmv.reconstruct.
    reconstruct`, the same seed) up to ``month``; the share is the ratio of their draws in that
    month (clipped to [0, 1]), so its spread carries both reconstructions' uncertainty. A region
    equal to the coverage has share 1.

    Args:
        region: the region the threshold applies to (a coverage, e.g. ``"united_states"``).
        coverage: the forecast's coverage (e.g. ``"global"``).
        month: the month of the share (e.g. the month the threshold takes effect).
        n_draws: draws of each reconstruction.
        seed: seed of the reconstructions.
        anchors: anchors table or path (None: the embedded default).

    Returns:
        An array of ``n_draws`` shares.

    Raises:
        ParameterError: the region is not the coverage or part of it.
    """
    from shopcast.gmv.reconstruct import reconstruct
    from shopcast.gmv.regions import PARENT

    if region == coverage:
        return np.ones(n_draws)
    parent, chain = region, []
    while parent in PARENT:
        parent = PARENT[parent]
        chain.append(parent)
    if coverage not in chain:
        raise ParameterError(
            "region",
            region,
            f"the forecast's coverage ({coverage}) or a part of it: a threshold for "
            f"{region} cannot act on {coverage} GMV",
        )
    end = goals.as_month(month, "month")
    part = reconstruct(anchors, region, n_draws=n_draws, seed=seed, end=end)
    whole = reconstruct(anchors, coverage, n_draws=n_draws, seed=seed, end=end)
    share = part.draws[end].to_numpy() / whole.draws[end].to_numpy()
    return np.clip(share, 0.0, 1.0)


def _region_factor(applied: np.ndarray, region_share, n_rows: int) -> np.ndarray:
    """Per path and month: ``1 - s * (1 - factor)`` (s = 1: the factor itself)."""
    s = np.asarray(region_share, dtype=float)
    if s.ndim == 0:
        s = np.full(n_rows, float(s))
    if s.shape != (n_rows,) or not np.isfinite(s).all() or (s < 0).any() or (s > 1).any():
        raise ParameterError(
            "region_share",
            s[:4].tolist(),
            f"one share in [0, 1], or one per sample path ({n_rows})",
        )
    return 1.0 - s[:, None] * (1.0 - applied[None, :])


def paths_under_threshold(
    paths: SamplePaths,
    factor: pd.Series | float,
    start_month: object = None,
    region_share: float | np.ndarray = 1.0,
) -> SamplePaths:
    """Sample paths with a threshold's "GMV kept" factor applied to the forecast months.

    Month ``m`` of the factor (``m = 1..M``) multiplies the ``m``-th month from ``start_month``;
    months past ``M`` keep factor ``M``'s value; months before ``start_month`` and every history
    month are unchanged.

    Args:
        paths: full sample paths (rows = samples, columns = month-start Timestamps, USD per
            month) with ``last_actual`` the last history month, as returned by
            :func:`shopcast.forecasting.draws.forecast_over_draws`.
        factor: one threshold's column of :func:`gmv_kept_factor` (indexed by
            month number 1..M), or a number for a constant factor.
        start_month: the month the threshold takes effect (the simulation's month 1); default
            the first forecast month.
        region_share: the share of each path's GMV in the region the threshold applies to (one
            number, or one per path, e.g. from :func:`region_share_draws`); 1 scales all of it.

    Returns:
        New :class:`SamplePaths` with the same metadata (so ``draw_of_row`` still gives
        clustered standard errors in :mod:`shopcast.gmv.goals`).

    Raises:
        ParameterError: paths without ``last_actual``; a factor that is not indexed
            1..M or has negative or non-finite values; ``start_month`` outside the forecast.
    """
    last = _last_actual(paths)
    frame, meta = unwrap(paths)
    values = _factor_values(factor)
    months = pd.DatetimeIndex(pd.to_datetime(frame.columns))
    start = _check_start(start_month, last, months)
    applied = _applied_factor(months, last, start, values)
    scaled = _region_factor(applied, region_share, len(frame))
    out = pd.DataFrame(
        frame.to_numpy(dtype=float) * scaled, index=frame.index, columns=frame.columns
    )
    return meta.with_frame(out)


def _paired_change(
    result: goals.GoalResult, reference: goals.GoalResult, clusters: object
) -> tuple[float, float]:
    """Change in probability against the reference, and its paired standard error.

    Both results come from the same sample paths, so the change is the mean of the per-path
    difference of the hit indicators; its standard error is cluster-robust over history draws
    (the same sandwich as :attr:`shopcast.gmv.goals.GoalResult.probability_se`), else the plain
    standard error of a mean. It is much smaller than either probability's own error.
    """
    hit = (result.totals >= result.targets).to_numpy(dtype=float)
    ref = (reference.totals >= reference.targets).to_numpy(dtype=float)
    d = hit - ref
    n, change = len(d), float(d.mean())
    if clusters is not None and len(clusters) == n:
        labels = pd.factorize(pd.Series(list(clusters)))[0]
        k = int(labels.max()) + 1
        if k >= 2:
            sums = np.bincount(labels, weights=d - change, minlength=k)
            return change, float(np.sqrt(k / (k - 1) * np.sum(sums**2) / n**2))
    return change, float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def _match_thresholds(factors: pd.DataFrame, sweep: pd.DataFrame) -> None:
    """Refuse factor columns that are not the sweep's thresholds."""
    if not isinstance(factors, pd.DataFrame) or factors.empty:
        raise ParameterError(
            "factors", type(factors).__name__, "the DataFrame of thresholds.gmv_kept_factor"
        )
    if not isinstance(sweep, pd.DataFrame) or "threshold" not in sweep.columns:
        raise ParameterError(
            "sweep", type(sweep).__name__, "the DataFrame of thresholds.threshold_sweep"
        )
    swept = sweep["threshold"].to_numpy(dtype=float)
    cols = np.asarray(factors.columns, dtype=float)
    if len(swept) != len(cols) or not np.allclose(np.sort(swept), np.sort(cols)):
        raise ParameterError(
            "factors.columns",
            [f"{c:g}" for c in cols],
            f"the sweep's thresholds ({', '.join(f'{t:g}' for t in swept)}); simulate and sweep "
            "the same list of thresholds",
        )


def threshold_tradeoff(
    paths: SamplePaths,
    factors: pd.DataFrame,
    sweep: pd.DataFrame,
    goal_start: object,
    goal_end: object,
    target: float,
    multiple: float,
    base_start: object,
    base_end: object,
    start_month: object = None,
    region_share: float | np.ndarray = 1.0,
) -> pd.DataFrame:
    """Sellers staying against the probability of each GMV goal, one row per threshold.

    Each threshold's factor is applied to the paths (:func:`paths_under_threshold`) and the goals
    are scored with :func:`shopcast.gmv.goals.absolute_goal` and
    :func:`shopcast.gmv.goals.multiple_goal`. All thresholds share the same paths, so differences
    between rows come from the factor alone.

    Args:
        paths: full sample paths with ``last_actual`` (see :func:`paths_under_threshold`).
        factors: :func:`gmv_kept_factor` (index month 1..M, one column per
            threshold, relative to no threshold).
        sweep: :func:`shopcast.sellers.thresholds.threshold_sweep` over the same thresholds.
        goal_start: the goal window's first month.
        goal_end: the goal window's last month.
        target: the absolute goal for the window (USD).
        multiple: the multiple goal (the window must reach this times the base window).
        base_start: first month of the base window of the multiple goal.
        base_end: last month of the base window of the multiple goal.
        start_month: the month the threshold takes effect; default the first forecast month.
        region_share: share of each path's GMV in the region the threshold applies to (see
            :func:`paths_under_threshold`); 1 applies it to all of the forecast's GMV.

    Returns:
        One row per threshold, in the sweep's order, with columns:

        - ``threshold``: the entry threshold on prior annual sales (USD; 0 = none);
        - ``sellers_staying``, ``share_sellers_staying`` and their ``_p10``/``_p90``: from the
          sweep (static, parameter uncertainty only);
        - ``share_gmv_kept``: the sweep's static share of GMV held by the sellers who stay;
        - ``gmv_factor_in_window``: mean factor applied over the goal window's forecast months
          (1 for months before ``start_month``; NaN when the window has no forecast month);
        - ``probability_absolute``, ``probability_absolute_se``: probability that the window total
          reaches ``target`` and its Monte-Carlo standard error (cluster-robust over history
          draws when ``paths.draw_of_row`` is set);
        - ``change_absolute``, ``change_absolute_se``: change of that probability against the
          paths with no threshold, and its paired standard error (the same paths are scored
          twice, so it is far smaller than ``probability_absolute_se``);
        - ``probability_multiple``, ``probability_multiple_se``: the same for ``multiple`` times
          the base window's total (judged per path), and ``change_multiple``,
          ``change_multiple_se``;
        - ``window_total_p10``, ``window_total_p50``, ``window_total_p90``: quantiles of the
          window total under the threshold (USD).

    Raises:
        ParameterError: factor columns that are not the sweep's thresholds, ``start_month``
            outside the forecast, or the goals' own parameter errors.
    """
    _match_thresholds(factors, sweep)
    last = _last_actual(paths)
    frame, meta = unwrap(paths)
    months = pd.DatetimeIndex(pd.to_datetime(frame.columns))
    start = _check_start(start_month, last, months)
    lo, hi = goals.as_month(goal_start, "goal_start"), goals.as_month(goal_end, "goal_end")
    in_window = (months >= lo) & (months <= hi) & (months > last)
    cols = np.asarray(factors.columns, dtype=float)
    clusters = meta.draw_of_row
    ref_abs = goals.absolute_goal(paths, goal_start, goal_end, target)
    ref_mult = goals.multiple_goal(paths, goal_start, goal_end, multiple, base_start, base_end)
    rows = []
    for _, srow in sweep.iterrows():
        t = float(srow["threshold"])
        column = factors.columns[int(np.argmin(np.abs(cols - t)))]
        applied = _applied_factor(months, last, start, _factor_values(factors[column]))
        scaled = _region_factor(applied, region_share, len(frame))
        adjusted = paths_under_threshold(paths, factors[column], start, region_share)
        absolute = goals.absolute_goal(adjusted, goal_start, goal_end, target)
        mult = goals.multiple_goal(adjusted, goal_start, goal_end, multiple, base_start, base_end)
        change_abs, change_abs_se = _paired_change(absolute, ref_abs, clusters)
        change_mult, change_mult_se = _paired_change(mult, ref_mult, clusters)
        rows.append(
            {
                "threshold": t,
                **{c: float(srow[c]) if c in srow.index else np.nan for c in TRADEOFF_COLUMNS[1:8]},
                "gmv_factor_in_window": float(scaled[:, in_window].mean())
                if in_window.any()
                else np.nan,
                "probability_absolute": absolute.probability,
                "probability_absolute_se": absolute.probability_se,
                "change_absolute": change_abs,
                "change_absolute_se": change_abs_se,
                "probability_multiple": mult.probability,
                "probability_multiple_se": mult.probability_se,
                "change_multiple": change_mult,
                "change_multiple_se": change_mult_se,
                "window_total_p10": absolute.p10,
                "window_total_p50": absolute.p50,
                "window_total_p90": absolute.p90,
            }
        )
    return pd.DataFrame(rows, columns=list(TRADEOFF_COLUMNS))


def shares_for_paths(shares: np.ndarray, paths: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """One region share per sample path, drawn (seeded, with replacement) from ``shares``."""
    shares = np.asarray(shares, dtype=float)
    if shares.ndim != 1 or shares.size == 0:
        raise ParameterError("shares", shares.shape, "a non-empty 1-d array of shares")
    pick = np.random.default_rng(seed).integers(0, shares.size, len(paths))
    return shares[pick]
