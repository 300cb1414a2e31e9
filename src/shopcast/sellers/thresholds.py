"""Who stays: entry thresholds on prior annual sales, statically and over time.

- :func:`threshold_sweep`: for each threshold, the sellers at or above it and the share of GMV they
  hold, from a fitted :class:`~shopcast.sellers.model.SizeModel` (closed forms, bootstrap P10/P90).
- :func:`simulate_cohorts`: a month-by-month simulation (sellers' GMV follows a log random walk,
  new sellers enter, sellers below the threshold leave at review months, part of their GMV moves
  to the survivors). All thresholds share the same random draws (common random numbers), so their
  differences are due to the threshold alone.
- :func:`gmv_kept_factor`: the simulation as a per-month multiplicative factor relative to no
  threshold, to apply to a GMV forecast's sample paths.

The simulated dynamics rest on assumed drift, volatility, entry and reallocation rates: they are
scenarios, not estimates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from shopcast.exceptions import ParameterError
from shopcast.sellers.model import SizeModel

DEFAULT_THRESHOLDS = (
    0.0, 1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2e6, 5e6, 1e7,
)  # fmt: skip
SWEEP_COLUMNS = (
    "threshold",
    "sellers_staying", "sellers_staying_p10", "sellers_staying_p90",
    "share_sellers_staying", "share_sellers_staying_p10", "share_sellers_staying_p90",
    "share_gmv_kept", "share_gmv_kept_p10", "share_gmv_kept_p90",
)  # fmt: skip
COHORT_COLUMNS = (
    "threshold", "month", "sellers_start", "entries", "exits", "sellers_end",
    "platform_gmv", "gmv_lost", "gmv_reallocated", "review",
)  # fmt: skip


def check_thresholds(thresholds: Sequence[float]) -> np.ndarray:
    """Thresholds as a float array, or a :class:`ParameterError`.

    Raises:
        ParameterError: empty, not numbers, negative, or not strictly increasing.
    """
    try:
        t = np.asarray(list(thresholds), dtype=float)
    except (TypeError, ValueError) as err:
        raise ParameterError("thresholds", thresholds, "a list of dollar amounts") from err
    if t.ndim != 1 or t.size == 0 or not np.isfinite(t).all():
        raise ParameterError("thresholds", thresholds, "a non-empty list of finite dollar amounts")
    if (t < 0).any():
        raise ParameterError(
            "thresholds", thresholds, "non-negative dollar amounts (0 means no threshold)"
        )
    if (np.diff(t) <= 0).any():
        i = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise ParameterError(
            "thresholds",
            thresholds,
            f"strictly increasing amounts ({t[i + 1]:g} follows {t[i]:g}); sort them and drop "
            "duplicates",
        )
    return t


def _check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ParameterError(name, value, f"an integer >= {minimum}")
    return int(value)


def _check_rate(name: str, value, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ParameterError(name, value, f"a number in [{low}, {high}]")
    if not low <= float(value) <= high:
        raise ParameterError(name, value, f"a number in [{low}, {high}]")
    return float(value)


def threshold_sweep(
    model: SizeModel,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    n_sellers: int = 500_000,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Sellers staying and GMV kept under each entry threshold on annual GMV.

    A seller stays when its annual GMV is above the threshold. Point values come from the fitted
    parameters (closed forms); P10/P90 from a parametric bootstrap of the parameters (seeded),
    so they carry parameter uncertainty only, not uncertainty about ``n_sellers``.

    Args:
        model: a fitted :class:`~shopcast.sellers.model.SizeModel`.
        thresholds: dollar amounts, non-negative and strictly increasing.
        n_sellers: sellers the distribution is scaled to (e.g. TikTok Shop's >500,000 US
            merchants).
        n_boot: bootstrap draws; 0 skips the intervals (P10/P90 are NaN). An existing
            ``model.boot_params_`` from the same ``n_boot`` and ``seed`` is reused.
        seed: bootstrap seed.

    Returns:
        One row per threshold with columns ``threshold``, ``sellers_staying``,
        ``share_sellers_staying``, ``share_gmv_kept``, each (but the threshold) with ``_p10`` and
        ``_p90`` companions.
    """
    t = check_thresholds(thresholds)
    n_sellers = _check_count("n_sellers", n_sellers)
    n_boot = _check_count("n_boot", n_boot, minimum=0)
    share = model.survival(t)
    gmv = model.gmv_share_above(t)
    out = {"threshold": t}
    if n_boot:
        same = (
            model.boot_params_ is not None
            and getattr(model, "boot_seed_", None) == seed
            and len(model.boot_params_) + getattr(model, "boot_failures_", 0) == n_boot
        )
        draws = model.boot_params_ if same else model.bootstrap(n_boot, seed)
        share_b = model.survival(t, draws)
        gmv_b = model.gmv_share_above(t, draws)
        s10, s90 = np.nanpercentile(share_b, [10, 90], axis=0)
        g10, g90 = np.nanpercentile(gmv_b, [10, 90], axis=0)
    else:
        s10 = s90 = g10 = g90 = np.full(t.size, np.nan)
    out |= {
        "sellers_staying": share * n_sellers,
        "sellers_staying_p10": s10 * n_sellers,
        "sellers_staying_p90": s90 * n_sellers,
        "share_sellers_staying": share,
        "share_sellers_staying_p10": s10,
        "share_sellers_staying_p90": s90,
        "share_gmv_kept": gmv,
        "share_gmv_kept_p10": g10,
        "share_gmv_kept_p90": g90,
    }
    return pd.DataFrame(out, columns=list(SWEEP_COLUMNS))


def _market_entries(n_sellers: int, months: int, entry_rate: float) -> np.ndarray:
    """Entrants per month with no threshold (no exits): ``round(entry_rate * count)``."""
    out, count = np.zeros(months + 1, dtype=np.int64), n_sellers
    for m in range(1, months + 1):
        out[m] = round(entry_rate * count)
        count += out[m]
    return out


def simulation_bytes(n_sellers: int, months: int, entry_rate: float) -> int:
    """Peak memory of :func:`simulate_cohorts`, in bytes, without running it.

    One float32 shock per seller slot and month dominates (``months x slots``, slots being the
    sellers at month 0 plus every entrant with no threshold); sampling the sizes holds a few
    float64 copies of the slots on top. Thresholds do not add memory: they reuse the arrays.
    """
    capacity = n_sellers + int(_market_entries(n_sellers, months, entry_rate).sum())
    return capacity * (4 * months + 32)


def simulate_cohorts(
    model: SizeModel,
    n_sellers: int = 500_000,
    months: int = 24,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    drift: float = 0.0,
    volatility: float = 0.15,
    entry_rate: float = 0.02,
    reallocation_rate: float = 0.5,
    review_months: Sequence[int] = (1, 13),
    seed: int = 0,
    entry_base: str = "market",
    screen_entrants: bool = False,
) -> pd.DataFrame:
    """Simulate sellers month by month under each threshold (simulated, assumed dynamics).

    Month 0: ``n_sellers`` sizes drawn from the fitted distribution; monthly GMV = annual / 12.
    Each month ``m`` (1..months):

    1. every active seller's monthly GMV is multiplied by
       ``exp(drift - volatility**2 / 2 + volatility * Z)`` (Gibrat's law: growth independent of
       size; the correction makes ``drift`` the expected monthly growth, so ``drift = 0`` keeps
       aggregate GMV flat in expectation);
    2. new sellers enter with sizes from the fitted distribution: ``round(entry_rate * count)``
       where ``count`` is the number of sellers at the month's start with no threshold
       (``entry_base="market"``: the same applicants arrive whatever the threshold) or under
       this threshold (``entry_base="platform"``: entry proportional to the platform's own size);
       with ``screen_entrants`` applicants below the threshold are refused at entry;
    3. in a review month, sellers whose annualised GMV (12 x this month's GMV) is below the
       threshold leave, and ``reallocation_rate`` of their GMV moves to the survivors in
       proportion to their GMV (a lasting gain: their customers buy from the survivors).

    All thresholds use the same draws (initial sizes, entrant sizes and shocks indexed by seller
    slot): common random numbers make threshold differences free of simulation noise between
    runs. GMV and shocks are held in float32 (plenty for shares; totals are summed in float64).

    Args:
        model: a fitted :class:`~shopcast.sellers.model.SizeModel`.
        n_sellers: sellers at month 0.
        months: months simulated.
        thresholds: dollar amounts of annual GMV, non-negative and strictly increasing.
        drift: mean monthly log growth of a seller's GMV.
        volatility: standard deviation of the monthly log growth.
        entry_rate: entrants per month as a fraction of the sellers at the month's start.
        reallocation_rate: fraction of leavers' GMV that moves to survivors, in [0, 1].
        review_months: months (1..months) in which the threshold is enforced.
        seed: random seed.
        entry_base: ``"market"`` (default) or ``"platform"``, see step 2. With ``"platform"``
            a high threshold also cuts future entry in proportion to the sellers removed, which
            compounds month after month.
        screen_entrants: refuse applicants whose annual size is below the threshold (otherwise
            they enter and face the next review).

    Returns:
        One row per threshold and month with columns ``threshold``, ``month``,
        ``sellers_start``, ``entries``, ``exits``, ``sellers_end`` (= start + entries - exits),
        ``platform_gmv`` (monthly GMV of the sellers active at the month's end, after
        reallocation), ``gmv_lost`` (leavers' monthly GMV), ``gmv_reallocated`` and ``review``
        (the threshold was enforced that month). Dollars are US dollars per month. Every row is
        simulated under the assumed dynamics passed in.
    """
    t = check_thresholds(thresholds)
    n_sellers = _check_count("n_sellers", n_sellers)
    months = _check_count("months", months)
    drift = _check_rate("drift", drift, -1.0, 1.0)
    volatility = _check_rate("volatility", volatility, 0.0, 2.0)
    entry_rate = _check_rate("entry_rate", entry_rate, 0.0, 1.0)
    reallocation_rate = _check_rate("reallocation_rate", reallocation_rate, 0.0, 1.0)
    reviews = list(review_months)
    for r in reviews:
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not 1 <= r <= months:
            raise ParameterError(
                "review_months", review_months, f"month numbers from 1 to {months} (integers)"
            )
    if len(set(reviews)) != len(reviews):
        raise ParameterError("review_months", review_months, "distinct month numbers")
    review = np.zeros(months + 1, dtype=bool)
    review[reviews] = True

    if entry_base not in ("market", "platform"):
        raise ParameterError("entry_base", entry_base, '"market" or "platform"')
    if not isinstance(screen_entrants, bool):
        raise ParameterError("screen_entrants", screen_entrants, "True or False")
    market = _market_entries(n_sellers, months, entry_rate)
    # Slots: every seller ever present; entry is largest with no exits, which bounds all paths.
    capacity = n_sellers + int(market.sum())
    size_seed, shock_seed = np.random.SeedSequence(seed).spawn(2)
    sizes = model.sample(capacity, seed=size_seed, dtype=np.float32)
    sizes /= np.float32(12.0)
    rng = np.random.default_rng(shock_seed)
    # One shock per seller slot and month, shared by every threshold.
    growth = rng.standard_normal((months, capacity), dtype=np.float32)
    growth *= np.float32(volatility)
    growth += np.float32(drift - 0.5 * volatility**2)
    np.exp(growth, out=growth)

    gmv = np.empty(capacity, dtype=np.float32)
    cols = {c: np.empty(t.size * months) for c in COHORT_COLUMNS}
    row = 0
    for thr in t:
        annual_cut = np.float32(thr / 12.0)
        gmv[:n_sellers] = sizes[:n_sellers]
        slots, active = n_sellers, n_sellers
        for m in range(1, months + 1):
            start = active
            view = gmv[:slots]
            view *= growth[m - 1, :slots]  # leavers hold 0 and stay at 0
            applicants = market[m] if entry_base == "market" else round(entry_rate * start)
            new = gmv[slots : slots + applicants]
            new[:] = sizes[slots : slots + applicants]
            if screen_entrants and thr > 0:
                new[new < annual_cut] = 0
                entries = int(np.count_nonzero(new))
            else:
                entries = applicants
            slots += applicants
            view = gmv[:slots]
            exits, lost, moved = 0, 0.0, 0.0
            if review[m] and thr > 0:
                leave = (view > 0) & (view < annual_cut)
                exits = int(np.count_nonzero(leave))
                if exits:
                    lost = float(view[leave].sum(dtype=np.float64))
                    view[leave] = 0
                    kept = float(view.sum(dtype=np.float64))
                    if reallocation_rate > 0 and kept > 0:
                        moved = reallocation_rate * lost
                        view *= np.float32(1 + moved / kept)
            active = start + entries - exits
            for c, v in zip(
                COHORT_COLUMNS,
                (
                    thr,
                    m,
                    start,
                    entries,
                    exits,
                    active,
                    view.sum(dtype=np.float64),
                    lost,
                    moved,
                    review[m],
                ),
                strict=True,
            ):
                cols[c][row] = v
            row += 1
    frame = pd.DataFrame(cols)
    for c in ("month", "sellers_start", "entries", "exits", "sellers_end"):
        frame[c] = frame[c].astype(np.int64)
    frame["review"] = frame["review"].astype(bool)
    return frame


def gmv_kept_factor(simulation: pd.DataFrame, baseline: float = 0.0) -> pd.DataFrame:
    """Per-month multiplicative GMV factor of each threshold relative to the baseline threshold.

    Multiply a GMV forecast's sample path (month ``m`` of the horizon) by column ``threshold``,
    row ``m`` to get the path under that threshold.

    Args:
        simulation: output of :func:`simulate_cohorts`.
        baseline: the threshold the factor is relative to (0 = no threshold).

    Returns:
        DataFrame indexed by ``month`` (1..months), one column per threshold, values
        ``platform_gmv[threshold] / platform_gmv[baseline]``.

    Raises:
        ParameterError: the baseline threshold is not in the simulation.
    """
    wide = simulation.pivot(index="month", columns="threshold", values="platform_gmv")
    if baseline not in wide.columns:
        raise ParameterError(
            "baseline",
            baseline,
            f"a simulated threshold ({', '.join(f'{c:g}' for c in wide.columns)}); include 0 in "
            "the thresholds to compare with no threshold",
        )
    factor = wide.div(wide[baseline], axis=0)
    factor.columns.name = "threshold"
    return factor
