"""Scoring probabilistic forecasts against outcomes: PIT, interval hits, CRPS, WIS, Brier, log.

A forecast of one quantity is a sample (an array of draws, e.g. a column of sample paths) or a
set of quantiles; an outcome is one number; an event forecast is a probability and its outcome
0 or 1. All scores are negatively oriented (smaller is better) except the PIT and the hits.

- :func:`pit`: the outcome's quantile in the forecast; uniform on (0, 1) for a calibrated one.
- :func:`interval_hit`: whether the central ``level`` interval holds the outcome.
- :func:`crps_samples`: the continuous ranked probability score of a sample (exact for the
  empirical distribution); :func:`crps_normal` its closed form for a normal forecast.
- :func:`interval_score`, :func:`weighted_interval_score`: the quantile-based scores the forecast
  hubs use (Gneiting and Raftery 2007; Bracher et al. 2021).
- :func:`brier_score`, :func:`log_score`: for event probabilities.
- :func:`coverage_table`: empirical coverage of central intervals by nominal level, from PITs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import norm

from shopcast.exceptions import ParameterError

#: Central-interval levels of the calibration table and plot.
NOMINAL_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _sample(samples: object) -> np.ndarray:
    x = np.asarray(samples, dtype=float).ravel()
    if x.size == 0 or not np.isfinite(x).all():
        raise ParameterError("samples", f"{x.size} values", "a non-empty array of finite numbers")
    return x


def _level(level: float) -> float:
    if not 0 < level < 1:
        raise ParameterError("level", level, "a central-interval level strictly between 0 and 1")
    return float(level)


def pit(samples: object, outcome: float) -> float:
    """Probability integral transform: the share of the sample below the outcome.

    Ties count half (the mid-point of the jump of the empirical CDF), so an outcome equal to
    every draw gets 0.5.
    """
    x = _sample(samples)
    return float((np.sum(x < outcome) + 0.5 * np.sum(x == outcome)) / x.size)


def interval_bounds(samples: object, level: float) -> tuple[float, float]:
    """The central ``level`` interval of a sample.

    Its ``(1-level)/2`` and ``(1+level)/2`` quantiles (numpy's default, linear interpolation).
    """
    level = _level(level)
    lo, hi = np.quantile(_sample(samples), [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def interval_hit(samples: object, outcome: float, level: float) -> bool:
    """Whether the central ``level`` interval of the sample holds the outcome (ends included)."""
    lo, hi = interval_bounds(samples, level)
    return bool(lo <= outcome <= hi)


def crps_samples(samples: object, outcome: float) -> float:
    """CRPS of the empirical distribution of a sample: ``E|X - y| - E|X - X'| / 2``.

    Exact for the sample (not an estimate of the underlying distribution's CRPS, which it
    approaches as the sample grows); computed in ``O(n log n)`` from the sorted sample, using
    ``E|X - X'| = 2 / n^2 * sum_i (2i - n - 1) x_(i)``. Same unit as the outcome.
    """
    x = np.sort(_sample(samples))
    n = x.size
    spread = 2.0 * np.sum((2.0 * np.arange(1, n + 1) - n - 1.0) * x) / n**2
    return float(np.mean(np.abs(x - outcome)) - 0.5 * spread)


def crps_normal(mu: float, sigma: float, outcome: float) -> float:
    """Closed-form CRPS of a normal forecast ``N(mu, sigma^2)`` (Gneiting and Raftery 2007)."""
    if not sigma > 0:
        raise ParameterError("sigma", sigma, "a standard deviation > 0")
    z = (outcome - mu) / sigma
    return float(sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi)))


def interval_score(lower: float, upper: float, outcome: float, alpha: float) -> float:
    """Interval score of a central ``1 - alpha`` interval: width plus ``2/alpha`` times the miss."""
    if not 0 < alpha < 1:
        raise ParameterError("alpha", alpha, "a number strictly between 0 and 1 (0.2: 80%)")
    below = max(lower - outcome, 0.0)
    above = max(outcome - upper, 0.0)
    return float((upper - lower) + 2.0 / alpha * (below + above))


def weighted_interval_score(
    quantiles: dict[float, float], outcome: float, alphas: tuple[float, ...] = (0.02, 0.1, 0.2, 0.5)
) -> float:
    """Weighted interval score (Bracher et al. 2021) from a forecast's quantiles.

    ``WIS = (|y - median| / 2 + sum_k alpha_k / 2 * IS_alpha_k) / (K + 1/2)``; with many evenly
    spaced intervals it approaches the CRPS.

    Args:
        quantiles: quantile level -> value; must hold 0.5 and ``alpha/2``, ``1 - alpha/2`` for
            every alpha.
        outcome: the observed value.
        alphas: the intervals' alphas (0.2 is the 80% interval).
    """
    q = {round(float(k), 6): float(v) for k, v in quantiles.items()}
    needed = [0.5] + [round(a / 2, 6) for a in alphas] + [round(1 - a / 2, 6) for a in alphas]
    missing = [k for k in needed if k not in q]
    if missing:
        raise ParameterError("quantiles", sorted(q), f"levels including {sorted(set(needed))}")
    total = 0.5 * abs(outcome - q[0.5])
    for a in alphas:
        total += a / 2 * interval_score(q[round(a / 2, 6)], q[round(1 - a / 2, 6)], outcome, a)
    return float(total / (len(alphas) + 0.5))


def brier_score(probability: float, outcome: bool | int) -> float:
    """``(p - o)^2`` for an event forecast ``p`` and its outcome ``o`` (0 or 1)."""
    if not 0 <= probability <= 1:
        raise ParameterError("probability", probability, "a probability in 0..1")
    return float((probability - float(bool(outcome))) ** 2)


def log_score(probability: float, outcome: bool | int, n_samples: int | None = None) -> float:
    """``-ln`` of the probability given to what happened (0 is perfect; smaller is better).

    A probability estimated from ``n_samples`` draws is kept within ``[1/(2n), 1 - 1/(2n)]`` first,
    so that an event no draw reached scores a finite (large) penalty instead of infinity.
    """
    if not 0 <= probability <= 1:
        raise ParameterError("probability", probability, "a probability in 0..1")
    p = float(probability)
    if n_samples:
        floor = 0.5 / n_samples
        p = min(max(p, floor), 1 - floor)
    given = p if outcome else 1 - p
    return float("inf") if given <= 0 else float(-math.log(given))


def coverage_table(pits: object, levels: tuple[float, ...] = NOMINAL_LEVELS) -> pd.DataFrame:
    """Empirical coverage of central intervals by nominal level, from PIT values.

    A central ``level`` interval holds the outcome when ``|PIT - 0.5| <= level / 2``.

    Returns:
        DataFrame indexed by ``nominal`` with columns ``empirical`` (share covered), ``n`` and
        ``se`` (binomial standard error ``sqrt(l(1-l)/n)`` of a calibrated forecast's coverage).
    """
    u = np.asarray(pits, dtype=float)
    u = u[np.isfinite(u)]
    rows = []
    for level in levels:
        n = u.size
        share = float(np.mean(np.abs(u - 0.5) <= level / 2)) if n else float("nan")
        se = math.sqrt(level * (1 - level) / n) if n else float("nan")
        rows.append({"nominal": level, "empirical": share, "n": n, "se": se})
    return pd.DataFrame(rows).set_index("nominal")
