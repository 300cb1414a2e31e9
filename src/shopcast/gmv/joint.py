"""Dependence between segments: a joint bootstrap of one-step residuals, imposed by reordering.

Each segment is forecast on its own (so its marginal distribution is exactly its model's), and
its sample paths are then put in an order that carries the segments' dependence, the way the
Schaake shuffle and the empirical-copula step of Ben Taieb, Taylor & Hyndman (2017, "Coherent
probabilistic forecasts for hierarchical time series") do:

1. Residuals. For every segment, the one-step residuals of a log-growth model with a drift per
   calendar month (``e[t] = log y[t] - log y[t-1] - mean growth of that calendar month``; the
   overall mean growth while the history has fewer than two years), scaled to unit variance.
   Month-of-year drifts keep a shared seasonal swing (every market peaks in November) from
   passing for dependence.
2. Joint bootstrap. For sample ``i``, ``h`` months are drawn from the residual months, the
   *same* months for every segment (:func:`joint_months`); segment ``s``'s key is the sum of
   its residuals in those months (:func:`dependence_keys`). Keys of two segments are as
   correlated as their residuals month by month (for sums of ``h`` jointly drawn pairs the
   correlation is exactly that of one pair).
3. Reordering. Segment ``s``'s paths are ranked by their total over the ranking window and the
   path of rank ``r`` goes to the row whose key has rank ``r`` (:func:`reorder_rows`). Whole
   paths move, so each segment's months stay consistent; row ``i`` of every segment then shares
   one joint draw, and summing rows gives totals whose spread includes the dependence.

A month where a segment has no residual (before it started, or around a zero) gets an
independent standard normal pseudo-residual drawn from that segment's own seed: no data means
no assumed dependence (filling a constant would tie the keys and line segments up in lockstep).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

#: Joint draws of residual months are seeded from the run's seed and this stream number.
JOINT_STREAM = 1


def segment_seed(seed: int, name: str, stream: int = 0) -> int:
    """A seed for one segment from the run's seed and the segment's name (not its position).

    Adding or dropping a segment leaves every other segment's draws unchanged, and the same
    name gets the same draws on any worker and in any order.
    """
    sequence = np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), int(stream)])
    return int(sequence.generate_state(1)[0])


def innovations(history: pd.Series) -> pd.Series:
    """Standardised one-step residuals of the log-growth model (see the module docstring).

    Args:
        history: monthly GMV (consecutive month starts), e.g. the median history.

    Returns:
        Residuals indexed by month ``t`` (the second month onward), NaN where ``y[t]`` or
        ``y[t-1]`` is not positive; all NaN when fewer than 3 growths are defined.
    """
    values = history.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(values > 0, np.log(np.where(values > 0, values, 1.0)), np.nan)
    index = pd.DatetimeIndex(history.index[1:])
    growth = np.diff(logs)
    valid = np.isfinite(growth)
    n_valid = int(valid.sum())
    if n_valid < 3:
        return pd.Series(np.nan, index=index)
    # numpy, not a pandas groupby: this runs once per segment, thousands of times
    if n_valid >= 24:
        month = index.month.to_numpy() - 1
        sums = np.bincount(month[valid], weights=growth[valid], minlength=12)
        counts = np.bincount(month[valid], minlength=12)
        with np.errstate(invalid="ignore", divide="ignore"):
            resid = growth - (sums / counts)[month]
    else:
        resid = growth - growth[valid].mean()
    scale = float(np.nanstd(resid, ddof=1))
    if not np.isfinite(scale) or scale <= 0:
        return pd.Series(np.nan, index=index)
    return pd.Series(resid / scale, index=index)


def residual_grid(residuals: dict[str, pd.Series]) -> pd.DatetimeIndex:
    """Every month in which at least one segment has a residual."""
    present = [
        pd.DatetimeIndex(r.index).to_numpy()[np.isfinite(r.to_numpy(dtype=float))]
        for r in residuals.values()
    ]
    present = [p for p in present if len(p)]
    if not present:
        return pd.DatetimeIndex([])
    # numpy, not one pandas union per segment (thousands of segments)
    return pd.DatetimeIndex(np.unique(np.concatenate(present)))


def joint_months(n_grid: int, n_samples: int, length: int, seed: int) -> np.ndarray:
    """Positions in the residual grid drawn with replacement: one row per sample, shared by all.

    Returns:
        Integer array ``(n_samples, length)``.
    """
    if n_grid < 1:
        raise ValueError("no residual month to draw from")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), JOINT_STREAM]))
    return rng.integers(0, n_grid, size=(int(n_samples), int(length)))


def filled_residuals(residuals: pd.Series, grid: pd.DatetimeIndex, seed: int) -> np.ndarray:
    """The segment's residuals on the grid, missing months filled with its own N(0, 1) draws."""
    values = np.array(residuals.reindex(grid).to_numpy(dtype=float))  # a writable copy
    missing = ~np.isfinite(values)
    if missing.any():
        noise = np.random.default_rng(seed).standard_normal(len(grid))
        values[missing] = noise[missing]
    return values


def dependence_keys(filled: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Per sample, the sum of the segment's residuals in that sample's jointly drawn months."""
    return filled[months].sum(axis=1)


def reorder_rows(summary: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Row order that gives the path of rank ``r`` (by ``summary``) to the key of rank ``r``.

    Returns:
        ``order`` such that ``paths[order]`` is the reordered set: ``paths[order][i]`` is the
        path whose rank among the summaries equals the rank of ``keys[i]``.
    """
    by_summary = np.argsort(summary, kind="stable")
    by_key = np.argsort(keys, kind="stable")
    order = np.empty(len(keys), dtype=np.int64)
    order[by_key] = by_summary
    return order
