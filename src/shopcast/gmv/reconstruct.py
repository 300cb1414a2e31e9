"""Monthly GMV reconstruction from mixed-frequency anchors, with sampled draws.

The published figures (:mod:`shopcast.gmv.anchors`) are annual and half-year totals, monthly and
daily
run rates and bounds, for overlapping regions. :func:`reconstruct` turns them into a smooth monthly
GMV path for one coverage, and carries the sources' disagreement as a spread of sample paths.

Model
-----
Latent series. For ``global``, ``southeast_asia`` and ``outside_southeast_asia`` two latent
monthly series are fitted jointly, Southeast Asia (SEA) and outside SEA; global is their sum
(when every anchor is global, a single global series is fitted instead). For ``indonesia`` and
``united_states`` that region's own series is fitted alone.

Each anchor's implied quantity is linear in the monthly values ``x`` (US dollars per month):
    - ``total`` over a period: the sum of the months it covers, a partly covered month counting
      pro rata by days (GMV is taken as uniform within a month).
    - ``daily_rate`` over a period: that total divided by the period's days. On a single day: the
      months' daily averages (GMV / days in month), placed at mid-month and interpolated linearly
      in time (flat beyond the first and last mid-month), so "0.7 M on 1 Jul" and "3.2 M on 31 Jul"
      fall on either side of July's average instead of both on July.
    - ``monthly_rate`` over a period: the average monthly GMV over the (pro rata) months covered;
      on a single day, the GMV of the month containing it.

Links between coverages (a part cannot exceed its whole):
    - an anchor on the fitted series itself, or on a sum of the fitted series (global = SEA +
      outside SEA), constrains that quantity as it says (estimate, lower or upper bound); so the
      2022 SEA 4.4 B and outside-SEA 0.9 B estimates add up, through the same latent series,
      against the global 5 B estimate and the global "less than 5 B" bound;
    - an estimate or lower bound on a part (Indonesia inside SEA, the United States inside outside
      SEA) is a lower bound on the series that contains it;
    - when a part is the fitted coverage, an estimate or upper bound on a coverage containing it
      is an upper bound on it;
    - anything else (an upper bound on a part, a lower bound on a whole, a sibling region, a
      period outside the month grid) cannot be linked: it is listed in ``residuals`` with
      ``used = False`` and the reason, never dropped silently.

Fit. The log monthly values ``theta = log x`` minimise a sum of squared residuals:
    - per estimate: ``(log q - log target) / sigma``;
    - per bound: the same, but only on the wrong side of the bound (a squared hinge);
    - per latent series and month: ``(second difference of theta - eps) / smoothness``, i.e. the
      monthly growth rate changes slowly (a random walk on the growth rate);
    - two very weak priors per series (level sd 10 in log, first slope sd 1) that only keep a
      series with no anchors finite.
``sigma`` is the anchor's ``uncertainty`` (floored at 0.01), widened for a range by the range's
log-width over sqrt(12).

Draws (perturb-and-optimise). Each draw redraws every anchor's figure, uniform in
``[value_low_usd, value_high_usd]`` (just ``value_usd`` without a range) times
``exp(uncertainty * z)``, ``z`` standard normal; a bound moves with its figure (a part's range, e.g.
the US "3-4 M a day", gives its whole a drawn lower bound); the smoothness prior's ``eps`` is
drawn from
``N(0, smoothness)``. The draw is then solved (warm-started from the undisturbed fit). For a
linear-Gaussian problem this gives exact posterior samples; here it is an approximation that
makes disagreeing sources (2022: SEA 4.4 B + outside SEA 0.9 B = 5.3 B vs global 5 B vs "less than
5 B") show up as spread, and months beyond the last anchor widen as an extrapolation should.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from shopcast.exceptions import ModelError, ParameterError
from shopcast.gmv.anchors import CONSTRAINT_COLUMNS, load_anchors
from shopcast.gmv.evidence import month_start, month_support, residual_table
from shopcast.gmv.regions import COVERAGES, ancestors

SPLIT = ("southeast_asia", "outside_southeast_asia")
ANCHOR_COLUMNS = CONSTRAINT_COLUMNS
MIN_SIGMA = 0.01


@dataclass(frozen=True)
class Reconstruction:
    """The result of :func:`reconstruct`.

    Attributes:
        coverage: the coverage reconstructed, e.g. ``"global"``.
        draws: sample paths, one row per draw (index ``draw``), one column per month-start
            Timestamp, US dollars per month.
        median: the per-month median of ``draws`` (a monthly Series, freq ``MS``).
        residuals: one row per anchor (every anchor, used or not), columns:
            anchor_id, coverage, measure, kind, period_start, period_end: as in the anchors;
            used (bool): whether the anchor entered the fit;
            link: ``exact`` (on the fitted coverage or a sum of fitted series),
            ``part_of`` (a part, used as a lower bound on its whole), ``contains`` (a whole,
            used as an upper bound on the fitted part) or ``unlinked``;
            role: ``estimate``, ``lower_bound`` or ``upper_bound`` as used in the fit;
            compared_with: the coverage whose implied quantity is compared with the anchor;
            value_usd, value_low_usd, value_high_usd: the anchor's figure and range;
            sigma: the relative (log) uncertainty the fit gave the anchor;
            implied_usd: the anchor's quantity (total, daily or monthly rate) on the median path
            of ``compared_with``; implied_p10_usd, implied_p90_usd: its 10th and 90th
            percentiles across draws;
            rel_error: ``implied_usd / value_usd - 1``;
            within_tolerance (bool, NA when unused): for an estimate, implied within
            ``[low * exp(-2 sigma), high * exp(2 sigma)]``; for a lower (upper) bound, implied
            above ``low * exp(-2 sigma)`` (below ``high * exp(2 sigma)``);
            note: why an anchor was not used, or how it was linked.
        components: the latent series fitted, e.g.
            ``("southeast_asia", "outside_southeast_asia")``.
        smoothness: the smoothness used (sd of the monthly change of the log growth rate).
        seed: the seed of the draws.
        unconverged: how many draws stopped at the solver's evaluation limit before converging
            (0 normally; they are kept in ``draws``).
        support: what each month rests on, one row per month of the grid (index ``month``):
            ``rests_on``: the figures whose period covers the month and that entered the fit,
            each with how it was used (``anchor_id (estimate)``, ``(lower bound)``,
            ``(upper bound)``; a part's estimate is a lower bound on its whole), "" for none;
            ``n_figures``; ``evidence``, one of :data:`~shopcast.gmv.evidence.EVIDENCE`:
            ``estimate`` (estimates
            cover the month for the whole coverage: an estimate of the coverage itself, or
            of every fitted series that adds up to it, e.g. Southeast Asia and outside it
            for global), ``partial`` (figures cover the month but do not pin it down: bounds,
            or an estimate of only a part),
            ``interpolated`` (no figure covers it; months resting on estimates lie on both
            sides) or ``extrapolated`` (before the first or after the last month resting on
            an estimate, with no figure on the month itself: the smoothness prior carries
            the growth on, with widening spread); ``p90_over_p10``: the spread of the
            month's draws.
    """

    coverage: str
    draws: pd.DataFrame
    median: pd.Series
    residuals: pd.DataFrame
    components: tuple[str, ...]
    smoothness: float
    seed: int
    unconverged: int = 0
    support: pd.DataFrame | None = None

    def quantiles(self, qs: tuple[float, ...] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
        """Per-month quantiles of the draws: index months, one column per quantile."""
        return self.draws.quantile(list(qs)).T.rename_axis("month")

    def period_total(self, start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.Series:
        """Per-draw GMV summed over the whole months from ``start`` to ``end`` (inclusive)."""
        first, last = month_start(start), month_start(end)
        months = [m for m in self.draws.columns if first <= m <= last]
        if not months:
            raise ModelError(
                f"no month of the reconstruction lies in {first:%Y-%m}..{last:%Y-%m};"
                f" it covers {self.draws.columns[0]:%Y-%m}.."
                f"{self.draws.columns[-1]:%Y-%m}"
            )
        return self.draws[months].sum(axis=1).rename("total_usd")


def _members(coverage: str, components: tuple[str, ...]) -> list[int] | None:
    """Indices of the fitted series that add up to ``coverage``, or None."""
    if coverage in components:
        return [components.index(coverage)]
    if coverage == "global" and components == SPLIT:
        return [0, 1]
    return None


def _components(coverage: str, anchors: pd.DataFrame) -> tuple[str, ...]:
    if coverage in ("indonesia", "united_states"):
        return (coverage,)
    if coverage == "global" and (anchors["coverage"] == "global").all():
        return ("global",)
    return SPLIT


def _link(row: pd.Series, components: tuple[str, ...]) -> tuple[str, str, list[int], str, str]:
    """How an anchor constrains the fitted series: (link, role, members, compared_with, note)."""
    cov, kind = row["coverage"], row["kind"]
    members = _members(cov, components)
    if members is not None:
        return "exact", kind, members, cov, ""
    for whole in ancestors(cov):
        whole_members = _members(whole, components)
        if whole_members is not None:
            if kind == "upper_bound":
                return (
                    "unlinked",
                    kind,
                    [],
                    whole,
                    f"an upper bound on {cov} says nothing about {whole}, which contains it",
                )
            return (
                "part_of",
                "lower_bound",
                whole_members,
                whole,
                f"{cov} is part of {whole}: used as a lower bound on {whole}",
            )
    for part in components:
        if cov in ancestors(part) and len(components) == 1:
            if kind == "lower_bound":
                return (
                    "unlinked",
                    kind,
                    [],
                    part,
                    f"a lower bound on {cov} says nothing about {part}, a part of it",
                )
            return (
                "contains",
                "upper_bound",
                [0],
                part,
                f"{part} is part of {cov}: used as an upper bound on {part}",
            )
    return (
        "unlinked",
        kind,
        [],
        "",
        f"{cov} cannot be linked to {' + '.join(components)} (neither part nor whole)",
    )


def _weights(row: pd.Series, grid: pd.DatetimeIndex) -> np.ndarray:
    """Weights ``w`` over the grid's months with implied quantity ``w @ x``."""
    month_start = grid
    days = np.asarray(grid.days_in_month, dtype=float)
    month_end = grid + pd.to_timedelta(days - 1, unit="D")
    start, end = row["period_start"], row["period_end"]
    first = np.maximum(month_start.values, np.datetime64(start, "D"))
    last = np.minimum(month_end.values, np.datetime64(end, "D"))
    overlap = np.clip((last - first) / np.timedelta64(1, "D") + 1, 0, None)
    covered = overlap / days
    measure = row["measure"]
    if measure == "total":
        return covered
    if start == end and measure == "daily_rate":
        mid = (month_start.values - month_start.values[0]) / np.timedelta64(1, "D") + days / 2
        t = (np.datetime64(start, "D") - month_start.values[0]) / np.timedelta64(1, "D") + 0.5
        w = np.zeros(len(grid))
        if t <= mid[0]:
            w[0] = 1.0
        elif t >= mid[-1]:
            w[-1] = 1.0
        else:
            k = int(np.searchsorted(mid, t)) - 1
            frac = (t - mid[k]) / (mid[k + 1] - mid[k])
            w[k], w[k + 1] = 1 - frac, frac
        return w / days
    if measure == "daily_rate":
        return covered / overlap.sum()
    return covered / covered.sum()  # monthly_rate


def implied_weights(row: pd.Series, grid: pd.DatetimeIndex) -> np.ndarray:
    """Weights ``w`` with ``w @ x`` = the figure's quantity on monthly values ``x``.

    The quantity is a total, a daily or a monthly rate (see the module docstring); ``x`` runs
    over ``grid`` (month starts, USD per month).

    Args:
        row: a figure with ``period_start``, ``period_end`` (Timestamps) and ``measure``.
        grid: consecutive month starts covering the figure's period.
    """
    return _weights(row, grid)


@dataclass
class _Problem:
    """The least-squares problem of one reconstruction (targets change per draw)."""

    A: np.ndarray  # (n_anchors, n_params) weights of implied quantities
    role: np.ndarray  # 0 estimate, -1 lower bound, +1 upper bound
    sigma: np.ndarray
    n_comp: int
    n_months: int
    smoothness: float
    ref: float

    def __post_init__(self):
        m, k = self.n_months, self.n_comp
        self.n_d2 = max(m - 2, 0)
        d2 = np.zeros((self.n_d2, m))
        for i in range(self.n_d2):
            d2[i, i : i + 3] = (1.0, -2.0, 1.0)
        # Weak priors: first level (sd 10 in log) and, with two months or more, first slope (sd 1).
        weak = np.zeros((min(m, 2), m))
        weak[0, 0] = 1 / 10
        self.weak_target = [self.ref / 10]
        if m >= 2:
            weak[1, :2] = (-1.0, 1.0)
            self.weak_target.append(0.0)
        block = np.vstack([d2 / self.smoothness, weak])
        self.prior = np.kron(np.eye(k), block)

    def prior_target(self, eps: np.ndarray) -> np.ndarray:
        per = np.concatenate(
            [
                eps.reshape(self.n_comp, self.n_d2) / self.smoothness,
                np.tile([self.weak_target], (self.n_comp, 1)),
            ],
            axis=1,
        )
        return per.ravel()

    def residuals(self, theta, log_target, prior_target):
        q = self.A @ np.exp(theta)
        r = (np.log(q) - log_target) / self.sigma
        r = np.where(self.role < 0, np.minimum(r, 0), np.where(self.role > 0, np.maximum(r, 0), r))
        return np.concatenate([r, self.prior @ theta - prior_target])

    def jacobian(self, theta, log_target, prior_target):  # noqa: ARG002 - same signature as residuals
        x = np.exp(theta)
        q = self.A @ x
        r = (np.log(q) - log_target) / self.sigma
        active = np.where(self.role < 0, r < 0, np.where(self.role > 0, r > 0, True))
        jac = self.A * x / (q * self.sigma)[:, None]
        jac[~active] = 0.0
        return np.vstack([jac, self.prior])

    def solve(self, theta0, log_target, prior_target):
        result = least_squares(
            self.residuals,
            theta0,
            jac=self.jacobian,
            method="lm",
            args=(log_target, prior_target),
            x_scale=1.0,
            ftol=1e-10,
            xtol=1e-10,
            gtol=1e-10,
            max_nfev=500,
        )
        return result.x, result.status > 0


def reconstruct(
    anchors: pd.DataFrame | str | Path | None = None,
    coverage: str = "global",
    n_draws: int = 200,
    seed: int = 0,
    end: str | pd.Timestamp | None = None,
    *,
    smoothness: float = 0.05,
) -> Reconstruction:
    """Reconstruct a smooth monthly GMV path for one coverage from GMV anchors, with draws.

    See the module docstring for the model, the links between coverages and the draws.

    Args:
        anchors: anchors as returned by :func:`shopcast.gmv.anchors.load_anchors`, or a path to an
            anchors CSV; None loads the embedded default.
        coverage: ``global`` (default), ``southeast_asia``, ``outside_southeast_asia``,
            ``indonesia`` or ``united_states``.
        n_draws: number of sample paths.
        seed: seed of ``numpy.random.default_rng``; the same seed gives identical draws.
        end: last month of the grid (any date in it); default the month of the latest
            ``period_end`` among anchors on the coverage or its parts (Aug 2023 by default).
            Months after the last anchor are an extrapolation of the
            growth rate, with spread widening each month. Anchors ending after ``end`` are
            reported unused.
        smoothness: sd of the month-to-month change of the monthly log growth rate; smaller is
            smoother (0.05: the growth rate drifts by about 5 points a month).

    Returns:
        A :class:`Reconstruction` (``draws``, ``median``, ``residuals``, ...). The month grid
        runs from the earliest ``period_start`` among anchors on the coverage or its parts
        (wholes that only cap a part do not extend it) to ``end``.

    Raises:
        ParameterError: an unknown coverage, ``n_draws < 1`` or ``smoothness <= 0``.
        ModelError: no anchor can be linked to the coverage, or ``end`` is before the start.
    """
    if coverage not in COVERAGES:
        raise ParameterError("coverage", coverage, f"one of {', '.join(COVERAGES)}")
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ParameterError("n_draws", n_draws, "an integer >= 1")
    if not smoothness > 0:
        raise ParameterError("smoothness", smoothness, "a number > 0, e.g. 0.05")
    if anchors is None or isinstance(anchors, (str, Path)):
        anchors = load_anchors() if anchors is None else load_anchors(anchors)
    missing = [c for c in ANCHOR_COLUMNS if c not in anchors.columns]
    if missing:
        raise ModelError(
            f"the anchors frame lacks column(s) {', '.join(missing)}; build it with "
            "shopcast.gmv.anchors.load_anchors (or give every column it returns)"
        )
    anchors = anchors.reset_index(drop=True)

    components = _components(coverage, anchors)
    links = [_link(row, components) for _, row in anchors.iterrows()]
    linked = [i for i, link in enumerate(links) if link[0] != "unlinked"]
    # The grid spans the anchors on the fitted series and its parts, not the wholes that
    # only cap it (a 2022 global total does not make a United States series start in 2022).
    spanning = [i for i in linked if links[i][0] in ("exact", "part_of")]
    if not spanning:
        raise ModelError(
            f"no anchor measures coverage {coverage!r} or a part of it; anchors "
            f"cover {', '.join(sorted(set(anchors['coverage'])))}"
        )
    start = month_start(anchors.loc[spanning, "period_start"].min())
    last = (
        month_start(end)
        if end is not None
        else month_start(anchors.loc[spanning, "period_end"].max())
    )
    if last < start:
        raise ModelError(f"end {last:%Y-%m} is before the first anchored month {start:%Y-%m}")
    grid = pd.date_range(start, last, freq="MS")
    n_months, n_comp = len(grid), len(components)

    rows, used_idx, notes = [], [], {}
    for i in linked:
        row = anchors.loc[i]
        if row["period_start"] < grid[0] or row["period_end"] >= last + pd.offsets.MonthBegin(1):
            notes[i] = f"period outside the month grid {start:%Y-%m}..{last:%Y-%m}"
            continue
        w = _weights(row, grid)
        full = np.zeros(n_comp * n_months)
        for k in links[i][2]:
            full[k * n_months : (k + 1) * n_months] = w
        rows.append(full)
        used_idx.append(i)
    if not used_idx:
        raise ModelError(f"no linked anchor lies inside the month grid {start:%Y-%m}..{last:%Y-%m}")

    used = anchors.loc[used_idx]
    role = np.array(
        [{"estimate": 0, "lower_bound": -1, "upper_bound": 1}[links[i][1]] for i in used_idx]
    )
    low, high = used["value_low_usd"].to_numpy(float), used["value_high_usd"].to_numpy(float)
    value, unc = used["value_usd"].to_numpy(float), used["uncertainty"].to_numpy(float)
    unc = np.maximum(unc, MIN_SIGMA)
    is_range = high > low
    width = np.log(np.where(is_range, high, 1.0) / np.where(is_range, low, 1.0))
    sigma = np.sqrt(unc**2 + width**2 / 12)
    A = np.vstack(rows)
    # Level for the weak prior and the start: the typical monthly GMV the anchors imply.
    per_month = A.reshape(len(used_idx), n_comp, n_months).max(axis=1).sum(axis=1)
    ref = float(np.log(np.median(np.maximum(value / per_month, 1.0))))
    problem = _Problem(
        A=A,
        role=role,
        sigma=sigma,
        n_comp=n_comp,
        n_months=n_months,
        smoothness=float(smoothness),
        ref=ref,
    )
    zero_eps = np.zeros(n_comp * problem.n_d2)
    theta0 = np.full(n_comp * n_months, ref - np.log(n_comp))
    central, _ = problem.solve(
        theta0, np.log(np.maximum(value, 1.0)), problem.prior_target(zero_eps)
    )

    rng = np.random.default_rng(seed)
    thetas = np.empty((n_draws, n_comp * n_months))
    unconverged = 0
    for d in range(n_draws):
        z = rng.standard_normal(len(value))
        u = rng.uniform(size=len(value))
        # Floored at 1 USD so that a zero figure keeps a finite log.
        target = np.maximum((low + u * (high - low)) * np.exp(unc * z), 1.0)
        eps = rng.normal(0.0, smoothness, size=zero_eps.shape)
        thetas[d], converged = problem.solve(central, np.log(target), problem.prior_target(eps))
        unconverged += not converged
    x = np.exp(thetas)

    def paths(members: list[int]) -> np.ndarray:
        return sum(x[:, k * n_months : (k + 1) * n_months] for k in members)

    out_members = _members(coverage, components)
    draws = pd.DataFrame(
        paths(out_members), columns=grid, index=pd.RangeIndex(n_draws, name="draw")
    )
    median = draws.median().astype(float).rename(f"gmv_{coverage}_usd")
    median.index = pd.DatetimeIndex(grid, freq="MS", name="month")

    residuals = residual_table(
        anchors, links, notes, used_idx, A, x, sigma, role, components, n_months, paths
    )
    return Reconstruction(
        coverage=coverage,
        draws=draws,
        median=median,
        residuals=residuals,
        components=components,
        smoothness=float(smoothness),
        seed=int(seed),
        unconverged=int(unconverged),
        support=month_support(residuals, draws, coverage, fitted_members(coverage, anchors)),
    )


def fitted_members(coverage: str, anchors: pd.DataFrame) -> tuple[str, ...]:
    """The latent series :func:`reconstruct` fits that add up to ``coverage`` from ``anchors``."""
    components = _components(coverage, anchors)
    return tuple(components[k] for k in _members(coverage, components) or [])
