"""A seeded synthetic segment hierarchy with a known correlation between segments.

For tests and benchmarks (no published figure is involved): every bottom segment is a random
walk with drift on log GMV, with a yearly season, whose monthly shocks are Gaussian with the
same correlation ``rho`` between any two segments (one common factor plus an own shock).
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd


def synthetic_hierarchy(
    shape: tuple[int, ...] = (2, 3),
    n_months: int = 48,
    rho: float = 0.6,
    sigma: float = 0.05,
    growth: float = 0.01,
    seasonal_amplitude: float = 0.1,
    start: str = "2019-01-01",
    seed: int = 0,
) -> pd.DataFrame:
    """Monthly GMV of a synthetic hierarchy, as the long table a segmented CSV holds.

    Args:
        shape: nodes per level, e.g. ``(2, 3)``: 2 regions with 3 countries each.
        n_months: months of history.
        rho: correlation of any two segments' monthly log shocks (0 <= rho < 1).
        sigma: standard deviation of a segment's monthly log shock.
        growth: mean log growth per month.
        seasonal_amplitude: amplitude of the yearly log season (peak in November).
        start: first month.
        seed: seeds the levels and shocks.

    Returns:
        DataFrame with columns ``date`` (ISO strings), ``gmv`` (USD), and ``level_1`` ..
        ``level_k`` (``"l1_0"``, ...), one row per segment and month.
    """
    if not 0 <= rho < 1:
        raise ValueError(f"rho must be in [0, 1), got {rho}")
    rng = np.random.default_rng(seed)
    keys = list(product(*[range(n) for n in shape]))
    months = pd.date_range(start, periods=n_months, freq="MS")
    common = rng.standard_normal(n_months)
    season = seasonal_amplitude * np.cos(2 * np.pi * (months.month.to_numpy() - 11) / 12)
    frames = []
    for key in keys:
        own = rng.standard_normal(n_months)
        shocks = sigma * (np.sqrt(rho) * common + np.sqrt(1 - rho) * own)
        level = np.log(rng.uniform(1e6, 5e7))
        values = np.exp(level + np.cumsum(growth + shocks) + season)
        frame = pd.DataFrame({"date": [m.date().isoformat() for m in months], "gmv": values})
        for i, k in enumerate(key, start=1):
            frame[f"level_{i}"] = f"l{i}_{k}"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
