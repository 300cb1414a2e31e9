"""Goal arithmetic on sample paths: how likely a GMV goal is, and what it would take.

Pure functions on sample-path DataFrames (one row per sample, one column per month-start
Timestamp, USD per month), typically the full paths of
:func:`forecast_over_draws` (reconstructed history followed by forecast), so a
window that spans history and forecast is summed along consistent paths. Nothing here fits a
model.

- :func:`window_total`: the total of a window of months, per sample.
- :func:`absolute_goal`, :func:`multiple_goal`: probability of reaching a goal, with quantiles,
  shortfall and Monte-Carlo error (:class:`GoalResult`).
- :func:`required_path`, :func:`trailing_growth`, :func:`growth_comparison`: the constant
  monthly growth that would just reach the goal, against the growth seen lately.
- :func:`gap_table`: forecast against the required path, month by month.
- :func:`time_to_goal`: when the trailing-12-month total first reaches an annual target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from shopcast.exceptions import ParameterError
from shopcast.forecasting.base import SamplePaths, unwrap
from shopcast.gmv.monte_carlo import probability_se

QUANTILES = (0.1, 0.5, 0.9)


# --------------------------------------------------------------------------------------------
# helpers


def as_month(value: object, name: str) -> pd.Timestamp:
    """The month start of ``value`` (``"2023-01"``, a date or a Timestamp), or a ParameterError."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ParameterError(name, value, "a month such as '2023-01' or a Timestamp") from exc
    return stamp.to_period("M").to_timestamp()


def month_columns(paths: SamplePaths | pd.DataFrame) -> pd.DatetimeIndex:
    """The paths' months as a DatetimeIndex, or a ParameterError for anything else."""
    paths = unwrap(paths)[0] if isinstance(paths, SamplePaths) else paths
    if not isinstance(paths, pd.DataFrame) or paths.empty:
        raise ParameterError(
            "paths",
            type(paths).__name__,
            "a non-empty DataFrame (rows = samples, columns = months)",
        )
    try:
        return pd.DatetimeIndex(pd.to_datetime(paths.columns))
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            "paths.columns", list(paths.columns[:3]), "month-start Timestamps"
        ) from exc


def _window_mask(
    paths: pd.DataFrame, start: object, end: object, name: str = "window"
) -> np.ndarray:
    months = month_columns(paths)
    lo, hi = as_month(start, f"{name} start"), as_month(end, f"{name} end")
    if hi < lo:
        raise ParameterError(f"{name} end", f"{hi:%Y-%m}", f"a month on or after {lo:%Y-%m}")
    wanted = pd.date_range(lo, hi, freq="MS")
    missing = wanted.difference(months)
    if len(missing):
        raise ParameterError(
            name,
            f"{lo:%Y-%m}..{hi:%Y-%m}",
            f"months covered by the paths ({months.min():%Y-%m}..{months.max():%Y-%m}); "
            f"{len(missing)} month(s) missing, first {missing[0]:%Y-%m}",
        )
    return np.asarray(months.isin(wanted))


def path_quantiles(
    paths: SamplePaths | pd.DataFrame, quantiles: tuple[float, ...] = QUANTILES
) -> pd.DataFrame:
    """Per-month quantiles of sample paths.

    Returns:
        DataFrame indexed by month with columns ``p10``, ``p50``, ``p90`` (for the default
        quantiles; ``p<100*q>`` in general) and ``mean``, USD per month.
    """
    paths = unwrap(paths)[0]
    months = month_columns(paths)
    values = paths.to_numpy(dtype=float)
    out = pd.DataFrame(
        {f"p{round(100 * q)}": np.quantile(values, q, axis=0) for q in quantiles}, index=months
    )
    out["mean"] = values.mean(axis=0)
    out.index.name = "month"
    return out


# --------------------------------------------------------------------------------------------
# goal probabilities


def window_total(paths: SamplePaths | pd.DataFrame, start: object, end: object) -> pd.Series:
    """Total of the months ``start``..``end`` (inclusive), per sample.

    Args:
        paths: sample paths (rows = samples, columns = month starts), USD per month.
        start: first month of the window (``"2023-01"``, a date or a Timestamp).
        end: last month of the window, inclusive.

    Returns:
        Series named ``window_total`` indexed like ``paths``' rows, in USD.

    Raises:
        ParameterError: when a month of the window is not among the paths' columns.
    """
    paths = unwrap(paths)[0]
    mask = _window_mask(paths, start, end)
    return pd.Series(
        paths.to_numpy(dtype=float)[:, mask].sum(axis=1), index=paths.index, name="window_total"
    )


@dataclass(frozen=True)
class GoalResult:
    """How a goal fares across the sample paths.

    Attributes:
        probability: share of samples whose window total reaches the target (``>=``).
        probability_se: its Monte-Carlo standard error; it measures sampling noise only, not
            model error. ``sqrt(p(1-p)/n)`` for independent samples; for
            :class:`~shopcast.forecasting.base.SamplePaths` with ``draw_of_row`` (from
            ``forecast_over_draws``: rows that share a history draw are not independent) it is
            the cluster-robust standard error over history draws, usually several times larger;
            for a sum of segments, multi-way (:func:`shopcast.gmv.monte_carlo.probability_se`).
        p10, p50, p90: quantiles of the window total (USD).
        mean_total: mean window total (USD).
        target: the target in USD (for a multiple goal, the median of the per-sample targets).
        expected_shortfall: mean of ``max(target - total, 0)`` over all samples (USD).
        conditional_shortfall: mean shortfall over the samples that miss (USD; NaN if none miss).
        n_samples: number of samples.
        window: ``(start, end)`` month starts of the window.
        totals: per-sample window totals (Series ``window_total``).
        targets: per-sample targets (Series ``target``; constant for an absolute goal).
        description: the goal in words.
    """

    probability: float
    probability_se: float
    p10: float
    p50: float
    p90: float
    mean_total: float
    target: float
    expected_shortfall: float
    conditional_shortfall: float
    n_samples: int
    window: tuple[pd.Timestamp, pd.Timestamp]
    totals: pd.Series = field(repr=False)
    targets: pd.Series = field(repr=False)
    description: str = ""

    def summary(self) -> pd.Series:
        """The scalar fields as a Series (for tables and ``publish``)."""
        keys = (
            "probability",
            "probability_se",
            "p10",
            "p50",
            "p90",
            "mean_total",
            "target",
            "expected_shortfall",
            "conditional_shortfall",
            "n_samples",
        )
        return pd.Series({k: getattr(self, k) for k in keys}, name=self.description or "goal")


def _goal_result(
    totals: pd.Series,
    targets: pd.Series,
    window: tuple[pd.Timestamp, ...],
    description: str,
    clusters: object = None,
) -> GoalResult:
    t = totals.to_numpy(dtype=float)
    g = targets.to_numpy(dtype=float)
    n = len(t)
    hit = t >= g
    p = float(hit.mean())
    shortfall = np.maximum(g - t, 0.0)
    missed = shortfall[~hit]
    q10, q50, q90 = np.quantile(t, QUANTILES)
    return GoalResult(
        probability=p,
        probability_se=probability_se(hit, clusters),
        p10=float(q10),
        p50=float(q50),
        p90=float(q90),
        mean_total=float(t.mean()),
        target=float(np.median(g)),
        expected_shortfall=float(shortfall.mean()),
        conditional_shortfall=float(missed.mean()) if len(missed) else float("nan"),
        n_samples=n,
        window=(window[0], window[1]),
        totals=totals,
        targets=targets,
        description=description,
    )


def absolute_goal(
    paths: SamplePaths | pd.DataFrame, start: object, end: object, target: float
) -> GoalResult:
    """Probability that the window total reaches a fixed target.

    Args:
        paths: sample paths, USD per month.
        start: first month of the window.
        end: last month of the window (inclusive).
        target: the goal in USD for the whole window (e.g. ``20e9`` for calendar 2023).

    Returns:
        A :class:`GoalResult`.
    """
    paths, meta = unwrap(paths)
    if not isinstance(target, (int, float, np.number)) or not np.isfinite(target):
        raise ParameterError("target", target, "a finite amount in USD")
    totals = window_total(paths, start, end)
    lo, hi = as_month(start, "start"), as_month(end, "end")
    return absolute_goal_on_totals(totals, target, (lo, hi), meta.draw_of_row)


def absolute_goal_on_totals(
    totals: pd.Series,
    target: float,
    window: tuple[pd.Timestamp, pd.Timestamp],
    clusters: object = None,
) -> GoalResult:
    """:func:`absolute_goal` from window totals already summed.

    For many sets of paths judged over one window (every node of a segment hierarchy): the
    window is checked once, and each node's totals are a row sum of its array.

    Args:
        totals: per-sample window totals (USD), named ``window_total``.
        target: the goal in USD for the whole window.
        window: ``(start, end)`` month starts of the window.
        clusters: per-sample history-draw labels (``draw_of_row``) or None.

    Returns:
        A :class:`GoalResult`.
    """
    if not isinstance(target, (int, float, np.number)) or not np.isfinite(target):
        raise ParameterError("target", target, "a finite amount in USD")
    lo, hi = window
    targets = pd.Series(float(target), index=totals.index, name="target")
    return _goal_result(
        totals,
        targets,
        (lo, hi),
        f"total {lo:%Y-%m}..{hi:%Y-%m} >= {target / 1e9:,.2f} B USD",
        clusters,
    )


def multiple_goal(
    paths: SamplePaths | pd.DataFrame,
    start: object,
    end: object,
    k: float,
    base_start: object,
    base_end: object,
) -> GoalResult:
    """Probability that the window total reaches ``k`` times a base window's total.

    The target is computed per sample (``k`` times that sample's base total), so when the base
    window is part of the reconstructed history its uncertainty counts, consistently with the
    window total ("quadruple 2022" is judged against each path's own 2022).

    Args:
        paths: sample paths, USD per month.
        start: first month of the goal window.
        end: last month of the goal window (inclusive).
        k: the multiple (e.g. 4 for "quadruple").
        base_start: first month of the base window.
        base_end: last month of the base window (inclusive).

    Returns:
        A :class:`GoalResult` whose ``targets`` vary by sample and whose ``target`` is their median.
    """
    paths, meta = unwrap(paths)
    if not isinstance(k, (int, float, np.number)) or not k > 0:
        raise ParameterError("k", k, "a multiple > 0 (e.g. 4 for quadruple)")
    totals = window_total(paths, start, end)
    base = window_total(paths, base_start, base_end)
    targets = (float(k) * base).rename("target")
    lo, hi = as_month(start, "start"), as_month(end, "end")
    blo, bhi = as_month(base_start, "base_start"), as_month(base_end, "base_end")
    return _goal_result(
        totals,
        targets,
        (lo, hi),
        f"total {lo:%Y-%m}..{hi:%Y-%m} >= {k:g} x total {blo:%Y-%m}..{bhi:%Y-%m}",
        meta.draw_of_row,
    )


# --------------------------------------------------------------------------------------------
# the path that would just reach the goal


def _geometric_sum(last_value: float, g: float, n: int) -> float:
    """``sum_{i=1..n} last * (1+g)^i`` (closed form; the limit n*last at g = 0)."""
    if g == 0.0:
        return last_value * n
    # expm1/log1p keep (r^n - 1)/g accurate near g = 0, where brentq ends up for flat paths
    return last_value * (1.0 + g) * math.expm1(n * math.log1p(g)) / g


def required_path(
    last_actual_month: object, last_actual_value: float, remaining_months: int, amount_needed: float
) -> tuple[float, pd.DataFrame]:
    """The constant monthly growth from the last actual month that just reaches the goal.

    Month ``i`` after the last actual month (``i = 1..n``) is ``last * (1+g)^i``, and ``g`` is
    solved (``scipy.optimize.brentq``) so that the ``n`` months sum exactly to
    ``amount_needed``: ``last * (1+g) * ((1+g)^n - 1) / g = amount_needed``. For example
    ``last = 100``, ``n = 3`` and ``amount_needed = 364.1`` give ``g = 10%`` (110 + 121 + 133.1).

    Args:
        last_actual_month: the last month with data (e.g. ``"2023-07"``).
        last_actual_value: GMV of that month (USD).
        remaining_months: months left in the goal window after it.
        amount_needed: the goal minus what the window has already banked (USD).

    Returns:
        ``(g, table)``: the monthly growth rate and a DataFrame indexed by month with columns
        ``required`` (USD per month on the required path) and ``cumulative_required`` (running
        total, ending at ``amount_needed``).

    Raises:
        ParameterError: for a non-positive last value or month count, or a non-positive amount
            (the goal is then already reached).
    """
    last = as_month(last_actual_month, "last_actual_month")
    if not isinstance(remaining_months, (int, np.integer)) or remaining_months < 1:
        raise ParameterError("remaining_months", remaining_months, "a whole number >= 1")
    if not last_actual_value > 0:
        raise ParameterError("last_actual_value", last_actual_value, "GMV > 0")
    if not amount_needed > 0:
        raise ParameterError(
            "amount_needed",
            amount_needed,
            "an amount > 0 (at 0 or below the goal is already reached)",
        )
    n = int(remaining_months)

    def excess(g: float) -> float:
        return _geometric_sum(last_actual_value, g, n) - amount_needed

    lo, hi = -1.0 + 1e-12, 1.0
    while excess(hi) < 0:  # the sum grows without bound in g, so this ends
        hi *= 2.0
    g = float(brentq(excess, lo, hi, xtol=1e-14, rtol=1e-12, maxiter=500))
    months = pd.date_range(last + pd.offsets.MonthBegin(1), periods=n, freq="MS")
    required = last_actual_value * (1.0 + g) ** np.arange(1, n + 1)
    table = pd.DataFrame(
        {"required": required, "cumulative_required": np.cumsum(required)}, index=months
    )
    table.index.name = "month"
    return g, table


def trailing_growth(history: pd.Series, months: int = 3) -> float:
    """Compound monthly growth over the last ``months`` months.

    ``(y[T] / y[T - months]) ** (1 / months) - 1``.

    Args:
        history: a monthly series (e.g. the median reconstructed history).
        months: length of the trailing window.
    """
    if not isinstance(months, (int, np.integer)) or months < 1:
        raise ParameterError("months", months, "a whole number >= 1")
    if len(history) < months + 1:
        raise ParameterError(
            "months", months, f"at most {len(history) - 1} for a history of {len(history)} months"
        )
    end, begin = float(history.iloc[-1]), float(history.iloc[-1 - months])
    if not (end > 0 and begin > 0):
        raise ParameterError("history", f"{begin}..{end}", "positive values at both ends")
    return (end / begin) ** (1.0 / months) - 1.0


def growth_comparison(
    history: pd.Series, required_growth: float, windows: tuple[int, ...] = (3, 6, 12)
) -> pd.DataFrame:
    """Required monthly growth next to the trailing growth of the history.

    Returns:
        DataFrame indexed by ``window_months`` with columns ``trailing_growth`` (compound monthly
        growth over that trailing window), ``required_growth`` (the same for every row) and
        ``required_minus_trailing`` (percentage points a month the business must add). Windows
        longer than the history are left out.
    """
    rows = [
        {"window_months": w, "trailing_growth": trailing_growth(history, w)}
        for w in windows
        if w < len(history)
    ]
    out = pd.DataFrame(rows).set_index("window_months")
    out["required_growth"] = float(required_growth)
    out["required_minus_trailing"] = out["required_growth"] - out["trailing_growth"]
    return out


def gap_table(paths: SamplePaths | pd.DataFrame, required: pd.DataFrame) -> pd.DataFrame:
    """Forecast against the required path, month by month.

    Args:
        paths: sample paths covering every month of ``required``.
        required: the table from :func:`required_path` (column ``required``, month index).

    Returns:
        DataFrame indexed by month with columns ``p10``, ``p50``, ``p90`` (forecast quantiles,
        USD per month), ``required`` (USD per month on the required path), ``gap``
        (``p50 - required``; negative = behind), ``cumulative_gap`` (running sum of ``gap``) and
        ``prob_above_required`` (share of samples at or above the required value that month).
    """
    paths = unwrap(paths)[0]
    if "required" not in getattr(required, "columns", []):
        raise ParameterError(
            "required",
            type(required).__name__,
            "the table returned by required_path (with a 'required' column)",
        )
    months = pd.DatetimeIndex(required.index)
    mask = _window_mask(paths, months.min(), months.max(), "required months")
    cols = month_columns(paths)[mask]
    sub = pd.DataFrame(paths.to_numpy(dtype=float)[:, mask], columns=cols)[months]
    q = path_quantiles(sub)
    out = q[["p10", "p50", "p90"]].copy()
    out["required"] = required["required"].to_numpy(dtype=float)
    out["gap"] = out["p50"] - out["required"]
    out["cumulative_gap"] = out["gap"].cumsum()
    out["prob_above_required"] = (sub.to_numpy() >= out["required"].to_numpy()).mean(axis=0)
    out.index.name = "month"
    return out


# --------------------------------------------------------------------------------------------
# time to goal


@dataclass(frozen=True)
class TimeToGoal:
    """When the trailing-12-month total first reaches an annual target.

    Attributes:
        first_month: per sample, the first month whose trailing-12-month total (that month and
            the 11 before it) is at or above the target; ``NaT`` when never within the paths.
        by_month: DataFrame indexed by month (from the first month with 12 months behind it)
            with columns ``prob_first`` (share of samples first reaching the target that month)
            and ``prob_reached`` (share reached by then, the CDF), and ``t12_p10``, ``t12_p50``,
            ``t12_p90`` (quantiles of the trailing-12-month total, USD).
        p10, p50, p90: months by which 10%, 50%, 90% of samples have reached the target;
            ``NaT`` when fewer samples reach it within the paths.
        probability_never: share of samples that do not reach it within the paths.
        annual_target: the target (USD per 12 months).
    """

    first_month: pd.Series = field(repr=False)
    by_month: pd.DataFrame = field(repr=False)
    p10: pd.Timestamp
    p50: pd.Timestamp
    p90: pd.Timestamp
    probability_never: float
    annual_target: float


def time_to_goal(
    paths: SamplePaths | pd.DataFrame, annual_target: float, window: int = 12
) -> TimeToGoal:
    """First month at which the trailing-``window``-month total reaches ``annual_target``.

    Args:
        paths: sample paths with consecutive month columns (history + forecast is best, so the
            first trailing totals use the reconstructed history).
        annual_target: target for the trailing total (USD), e.g. ``20e9``.
        window: months in the trailing total (12 for an annual run-rate).

    Returns:
        A :class:`TimeToGoal`.
    """
    paths = unwrap(paths)[0]
    months = month_columns(paths)
    if not months.equals(pd.date_range(months[0], periods=len(months), freq="MS")):
        raise ParameterError("paths.columns", "gaps or unsorted months", "consecutive month starts")
    if len(months) < window:
        raise ParameterError(
            "paths",
            f"{len(months)} months",
            f"at least {window} months for a trailing {window}-month total",
        )
    if not annual_target > 0:
        raise ParameterError("annual_target", annual_target, "a target > 0 in USD")
    values = paths.to_numpy(dtype=float)
    csum = np.cumsum(values, axis=1)
    trailing = csum[:, window - 1 :] - np.hstack([np.zeros((len(values), 1)), csum[:, :-window]])
    t_months = months[window - 1 :]
    reached = trailing >= annual_target
    any_hit = reached.any(axis=1)
    first_pos = np.where(any_hit, reached.argmax(axis=1), -1)
    first = pd.Series(
        [t_months[i] if i >= 0 else pd.NaT for i in first_pos],
        index=paths.index,
        name="first_month",
        dtype="datetime64[ns]",
    )
    n = len(values)
    prob_first = np.bincount(first_pos[first_pos >= 0], minlength=len(t_months)) / n
    cdf = np.cumsum(prob_first)
    q = np.quantile(trailing, QUANTILES, axis=0)
    by_month = pd.DataFrame(
        {
            "prob_first": prob_first,
            "prob_reached": cdf,
            "t12_p10": q[0],
            "t12_p50": q[1],
            "t12_p90": q[2],
        },
        index=pd.DatetimeIndex(t_months, name="month"),
    )

    def month_quantile(level: float) -> pd.Timestamp:
        # smallest month whose CDF reaches the level (inverse CDF of a discrete distribution)
        ok = np.nonzero(cdf >= level - 1e-12)[0]
        return t_months[ok[0]] if len(ok) else pd.NaT

    return TimeToGoal(
        first_month=first,
        by_month=by_month,
        p10=month_quantile(0.1),
        p50=month_quantile(0.5),
        p90=month_quantile(0.9),
        probability_never=float(1.0 - any_hit.mean()),
        annual_target=float(annual_target),
    )
