"""The outside view: next-year growth of comparable platforms as a function of scale and age.

Reference-class forecasting (Kahneman and Lovallo 1993; Flyvbjerg 2006) starts from how
comparable cases turned out, not from the case's own story. Here the cases are e-commerce
platforms' year-on-year GMV growth (:func:`shopcast.gmv.platforms.growth_pairs`), and the
question is: for a platform of this size and age, what is the distribution of
``y = log(GMV next 12 months / GMV last 12 months)``?

Model (:class:`OutsideViewModel`), a linear mixed model with heteroscedastic residuals::

    y_ij = x_ij' beta + u_j + e_ij,    u_j ~ N(0, tau^2),    e_ij ~ N(0, exp(2 z_ij' gamma))

``x`` = intercept, log10 annual GMV (centred at 10, i.e. 10 B USD) and, optionally,
``log(1 + age in years)``; ``z`` = intercept and an indicator that the pair compares quarters or
half-years (a quarter's growth is noisier than a year's). ``u_j`` is the platform's own
persistent over- or under-performance: several pairs of one platform are not independent
evidence, and a new platform's ``u`` is unknown, so its predictive variance includes ``tau^2``.
Why this design: growth falls with scale (the law of large numbers of markets), platforms
differ persistently (the random effect), and the data are few (8 platforms, about 30 pairs), so
the model has at most 6 parameters. ``tau`` and ``gamma`` are estimated by restricted maximum
likelihood (REML: ML would understate ``tau`` with so few platforms), ``beta`` by generalised
least squares given them, and the uncertainty of ``beta`` enters the predictive variance::

    y_new ~ N(x' beta, tau^2 + exp(2 z' gamma) + x' Cov(beta) x)

It is validated leave-one-platform-out (:func:`leave_one_platform_out`): every platform's
pairs are forecast from a model fitted on the other platforms only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from shopcast.exceptions import ModelError, ParameterError

#: log10 USD the scale covariate is centred at (10 B USD a year).
SCALE_CENTRE = 10.0
#: Quantile of the outside view above which a year's growth is treated as implausible.
PLAUSIBLE_QUANTILE = 0.995
COVARIATE_SETS = {
    "scale": ("log_scale",),
    "scale_age": ("log_scale", "log_age"),
}


def design(pairs: pd.DataFrame, covariates: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The mean design ``X`` and the variance design ``Z`` of ``pairs``."""
    columns = [np.ones(len(pairs))]
    for name in covariates:
        if name == "log_scale":
            columns.append(pairs["log_scale"].to_numpy(float) - SCALE_CENTRE)
        elif name == "log_age":
            age = pairs["age_years"].to_numpy(float)
            if not np.all(np.isfinite(age)) or np.any(age < 0):
                raise ModelError("log_age needs a known, non-negative age for every pair")
            columns.append(np.log1p(age))
        else:
            raise ParameterError("covariates", name, "log_scale or log_age")
    x = np.column_stack(columns)
    z = np.column_stack([np.ones(len(pairs)), pairs["subannual"].to_numpy(float)])
    return x, z


@dataclass
class OutsideViewModel:
    """Mixed model of next-year log growth on scale (and age), fitted by REML.

    Args:
        covariates: ``"scale"`` or ``"scale_age"`` (see :data:`COVARIATE_SETS`).

    Attributes:
        beta_: fixed effects (intercept, scale slope per decade[, age slope]).
        cov_beta_: their covariance.
        tau_: standard deviation of the platform effect.
        gamma_: log residual standard deviation (intercept, sub-annual shift).
        platforms_: the platforms the model was fitted on (for the leakage test).
        n_pairs_: number of pairs fitted.
    """

    covariates: str = "scale"

    def fit(self, pairs: pd.DataFrame) -> OutsideViewModel:
        """Fit on the usable rows of ``pairs`` (columns as from ``growth_pairs``)."""
        if self.covariates not in COVARIATE_SETS:
            raise ParameterError("covariates", self.covariates, " or ".join(COVARIATE_SETS))
        data = pairs[pairs["usable"]] if "usable" in pairs else pairs
        if data["platform"].nunique() < 3:
            raise ModelError(
                f"the outside view needs pairs from at least 3 platforms; got "
                f"{data['platform'].nunique()}"
            )
        x, z = design(data, COVARIATE_SETS[self.covariates])
        y = data["log_growth"].to_numpy(float)
        _, group = np.unique(data["platform"].to_numpy(), return_inverse=True)
        n_groups = group.max() + 1

        def gls(theta):
            # V_j = D_j + tau^2 11' per platform; Woodbury gives V_j^-1 and log|V_j| in closed form.
            tau2 = np.exp(2 * theta[0])
            d = np.exp(2 * (z @ theta[1:]))
            s = np.bincount(group, 1 / d, n_groups)
            c = tau2 / (1 + tau2 * s)
            logdet = np.sum(np.log(d)) + np.sum(np.log1p(tau2 * s))

            def quad(a, b):
                """A' V^-1 b summed over platforms (a, b: (n,) or (n, p))."""
                a2 = a if a.ndim == 2 else a[:, None]
                b2 = b if b.ndim == 2 else b[:, None]
                first = (a2 / d[:, None]).T @ b2
                sa = np.vstack(
                    [np.bincount(group, a2[:, k] / d, n_groups) for k in range(a2.shape[1])]
                )
                sb = np.vstack(
                    [np.bincount(group, b2[:, k] / d, n_groups) for k in range(b2.shape[1])]
                )
                return first - (sa * c) @ sb.T

            xtvx = quad(x, x)
            beta = np.linalg.solve(xtvx, quad(x, y)[:, 0])
            r = y - x @ beta
            return beta, xtvx, logdet, float(quad(r, r)[0, 0])

        def reml(theta):
            _, xtvx, logdet, rss = gls(theta)
            return 0.5 * (logdet + rss + np.linalg.slogdet(xtvx)[1])

        start = np.array([np.log(0.3), np.log(max(np.std(y), 0.05)), 0.0])
        options = {"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000}
        best = optimize.minimize(reml, start, method="Nelder-Mead", options=options)
        if not np.isfinite(best.fun):
            raise ModelError("the outside view's REML fit did not converge")
        beta, xtvx, _, _ = gls(best.x)
        self.beta_ = beta
        self.cov_beta_ = np.linalg.inv(xtvx)
        self.tau_ = float(np.exp(best.x[0]))
        self.gamma_ = best.x[1:].copy()
        self.platforms_ = frozenset(data["platform"])
        self.n_pairs_ = len(data)
        return self

    def predict(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Predictive distribution of next-year log growth for a platform not in the fit.

        Args:
            pairs: rows with ``log_scale``, ``subannual`` (and ``age_years`` with ages).

        Returns:
            DataFrame (same index) with ``mean`` and ``sd`` of the normal predictive.
        """
        if not hasattr(self, "beta_"):
            raise ModelError("fit the outside view before predicting")
        x, z = design(pairs, COVARIATE_SETS[self.covariates])
        mean = x @ self.beta_
        var = (
            self.tau_**2
            + np.exp(2 * (z @ self.gamma_))
            + np.einsum("ij,jk,ik->i", x, self.cov_beta_, x)
        )
        return pd.DataFrame({"mean": mean, "sd": np.sqrt(var)}, index=pairs.index)

    def table(self) -> pd.DataFrame:
        """The fitted parameters with standard errors (for the report)."""
        names = ["intercept (log growth at 10 B USD)", "per decade of scale"]
        if self.covariates == "scale_age":
            names.append("per unit of log(1 + age)")
        rows = [
            {"parameter": n, "estimate": b, "std_error": s}
            for n, b, s in zip(names, self.beta_, np.sqrt(np.diag(self.cov_beta_)), strict=True)
        ]
        rows.append({"parameter": "platform effect sd (tau)", "estimate": self.tau_})
        rows.append({"parameter": "residual sd, annual pairs", "estimate": np.exp(self.gamma_[0])})
        rows.append(
            {"parameter": "residual sd, sub-annual pairs", "estimate": np.exp(self.gamma_.sum())}
        )
        return pd.DataFrame(rows)


def crps_normal(y, mean, sd) -> np.ndarray:
    """CRPS of a normal forecast (Gneiting and Raftery 2007, closed form)."""
    z = (np.asarray(y, float) - mean) / sd
    return sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))


def combine_normal(mean_in, sd_in, mean_out, sd_out, lam: float):
    """The outside view as a prior of weight ``lam`` on the inside view (both normal).

    The density is proportional to ``inside(y) * outside(y) ** lam``: precisions add,
    ``1/v = 1/v_in + lam/v_out``, and the mean is their precision-weighted average. ``lam = 0``
    is the inside view alone, ``lam = 1`` Bayes' rule with the outside view as the prior.
    Resampling inside sample paths with weights ``outside(y) ** lam`` gives the same
    distribution, which is how the goal forecast applies it.
    """
    p_in, p_out = 1 / np.square(sd_in), lam / np.square(sd_out)
    var = 1 / (p_in + p_out)
    return var * (p_in * mean_in + p_out * mean_out), np.sqrt(var)


#: Months before the forecast origin within which a platform's previous growth must end to be
#: its time-series forecast. The time-series rule stands in for the inside view, which always
#: knows the market's recent months; a growth that ended years before the origin (Shopee's
#: 2017 quarter for its 2024 year) is not what a model of recent history would carry forward.
RECENT_MONTHS = 12


def _previous_growth(pairs: pd.DataFrame) -> pd.Series:
    """For each pair, the same platform's latest recent growth known at its forecast origin.

    Known at the origin means the earlier pair's period ended on or before the end of this
    pair's base period (the origin); recent means it ended less than :data:`RECENT_MONTHS`
    before the origin. Same-length pairs are preferred. NaN when there is none.
    """
    out = pd.Series(np.nan, index=pairs.index)
    for i, row in pairs.iterrows():
        origin = row["period_end"] - pd.DateOffset(years=1)
        mine = pairs[
            (pairs["platform"] == row["platform"])
            & (pairs["period_end"] <= origin)
            & (pairs["period_end"] > origin - pd.DateOffset(months=RECENT_MONTHS))
        ]
        if mine.empty:
            continue
        same = mine[mine["months"] == row["months"]]
        pick = (same if len(same) else mine).sort_values("period_end").iloc[-1]
        out[i] = pick["log_growth"]
    return out


def persistence_sd(pairs: pd.DataFrame) -> float:
    """RMS error of the time-series-only rule (next growth = last growth) on ``pairs``."""
    prev = _previous_growth(pairs)
    err = (pairs["log_growth"] - prev).dropna()
    if len(err) < 2:
        raise ModelError("the time-series-only rule needs at least 2 pairs with a previous one")
    return float(np.sqrt(np.mean(np.square(err))))


def leave_one_platform_out(
    pairs: pd.DataFrame,
    model_factory: Callable[[], OutsideViewModel] = OutsideViewModel,
    on_fit: Callable[[str, OutsideViewModel], None] | None = None,
) -> pd.DataFrame:
    """Forecast each platform's pairs from models that never saw that platform.

    Args:
        pairs: the reference class (usable rows are used).
        model_factory: builds an unfitted outside-view model.
        on_fit: called with (left-out platform, fitted model) after each fit (tests use it).

    Returns:
        One row per usable pair: ``platform``, ``period_end``, ``months``, ``y`` (observed log
        growth), ``out_mean``, ``out_sd`` (outside view), ``ts_mean`` (the platform's previous
        growth: the time-series-only forecast; NaN without one) and ``ts_sd`` (the RMS error of
        that rule on the other platforms).
    """
    data = pairs[pairs["usable"]].copy()
    prev = _previous_growth(data)
    rows = []
    for platform in data["platform"].unique():
        train = data[data["platform"] != platform]
        test = data[data["platform"] == platform]
        model = model_factory().fit(train)
        if on_fit is not None:
            on_fit(platform, model)
        pred = model.predict(test)
        ts_sd = persistence_sd(train)
        for i in test.index:
            rows.append(
                {
                    "platform": platform,
                    "period_end": test.at[i, "period_end"],
                    "months": test.at[i, "months"],
                    "y": test.at[i, "log_growth"],
                    "out_mean": pred.at[i, "mean"],
                    "out_sd": pred.at[i, "sd"],
                    "ts_mean": prev[i],
                    "ts_sd": ts_sd,
                }
            )
    return pd.DataFrame(rows)


def score(y, mean, sd) -> dict[str, float]:
    """Mean CRPS and coverage of the central 50% and 80% intervals of normal forecasts."""
    y, mean, sd = (np.asarray(a, float) for a in (y, mean, sd))
    z = np.abs(y - mean) / sd
    return {
        "n": len(y),
        "crps": float(np.mean(crps_normal(y, mean, sd))),
        "coverage_50": float(np.mean(z <= stats.norm.ppf(0.75))),
        "coverage_80": float(np.mean(z <= stats.norm.ppf(0.90))),
    }


#: The weights the combination rule is chosen from (both families).
WEIGHT_GRID = tuple(float(w) for w in np.round(np.arange(0.0, 1.01, 0.1), 2))
#: Combination families: ``pool`` = linear pool (a share ``w`` of the forecast from the outside
#: view, ``1 - w`` from the inside view; stacking), ``prior`` = the outside view as a prior of
#: weight ``w`` (:func:`combine_normal`).
FAMILIES = ("pool", "prior")


def _abs_moment(mu, var):
    """E|X| for X ~ N(mu, var)."""
    sd = np.sqrt(var)
    return 2 * sd * stats.norm.pdf(mu / sd) + mu * (2 * stats.norm.cdf(mu / sd) - 1)


def crps_mixture(y, weights, means, sds) -> np.ndarray:
    """CRPS of a mixture of normals (closed form: E|X - y| - E|X - X'| / 2).

    Args:
        y: outcomes, shape (n,).
        weights: component weights summing to 1, shape (k,).
        means: component means, shape (k, n).
        sds: component standard deviations, shape (k, n).
    """
    y = np.asarray(y, float)
    w = np.asarray(weights, float)
    m, s = np.asarray(means, float), np.asarray(sds, float)
    first = sum(w[i] * _abs_moment(y - m[i], s[i] ** 2) for i in range(len(w)))
    second = sum(
        w[i] * w[j] * _abs_moment(m[i] - m[j], s[i] ** 2 + s[j] ** 2)
        for i in range(len(w))
        for j in range(len(w))
    )
    return first - 0.5 * second


def combined_crps(lopo: pd.DataFrame, family: str, weight: float) -> np.ndarray:
    """CRPS of each pair's combined forecast (pairs with a time-series forecast)."""
    both = lopo.dropna(subset=["ts_mean"])
    if family == "prior":
        m, s = combine_normal(
            both["ts_mean"], both["ts_sd"], both["out_mean"], both["out_sd"], weight
        )
        return crps_normal(both["y"], m, s)
    if family == "pool":
        return crps_mixture(
            both["y"],
            [1 - weight, weight],
            [both["ts_mean"], both["out_mean"]],
            [both["ts_sd"], both["out_sd"]],
        )
    raise ParameterError("family", family, " or ".join(FAMILIES))


def platform_mean(values, platforms) -> float:
    """Mean over platforms of each platform's mean.

    Every platform counts once: its pairs are not independent evidence, and LOPO's unit is the
    platform.
    """
    return float(pd.Series(np.asarray(values, float)).groupby(np.asarray(platforms)).mean().mean())


def choose_combination(lopo: pd.DataFrame) -> tuple[str, float, pd.DataFrame]:
    """The combination family and weight with the lowest leave-one-platform-out CRPS.

    Every (family, weight) of :data:`FAMILIES` x :data:`WEIGHT_GRID` is scored on the pairs
    that have a time-series forecast, by the platform-weighted mean CRPS; ties go to the
    smaller weight (less departure from the inside view).

    Returns:
        ``(family, weight, table of CRPS by family and weight)``.
    """
    both = lopo.dropna(subset=["ts_mean"])
    if both.empty:
        raise ModelError("no pair has a previous growth: the combination cannot be validated")
    table = pd.DataFrame(
        {
            family: [
                platform_mean(combined_crps(lopo, family, w), both["platform"]) for w in WEIGHT_GRID
            ]
            for family in FAMILIES
        },
        index=pd.Index(WEIGHT_GRID, name="weight"),
    )
    stacked = table.stack().round(10)
    best = stacked[stacked == stacked.min()].index
    weight, family = min(best, key=lambda k: (k[0], FAMILIES.index(k[1])))
    return str(family), float(weight), table


def validation_table(lopo: pd.DataFrame, family: str, weight: float) -> pd.DataFrame:
    """Scores of the outside view, the time-series-only rule and their combination.

    CRPS is the platform-weighted mean; coverage is the share of pairs inside the interval
    (for the pool, the mixture's central interval, found numerically).
    """
    both = lopo.dropna(subset=["ts_mean"])
    rows = {
        "outside view, all pairs": _scores(lopo, lopo["out_mean"], lopo["out_sd"]),
        "outside view, pairs with a time-series forecast": _scores(
            both, both["out_mean"], both["out_sd"]
        ),
        "time series only (last growth persists)": _scores(both, both["ts_mean"], both["ts_sd"]),
    }
    label = f"combined ({family}, weight {weight:g})"
    if family == "prior":
        m, s = combine_normal(
            both["ts_mean"], both["ts_sd"], both["out_mean"], both["out_sd"], weight
        )
        rows[label] = _scores(both, m, s)
    else:
        lo50, hi50 = _mixture_interval(both, weight, 0.5)
        lo80, hi80 = _mixture_interval(both, weight, 0.8)
        y = both["y"].to_numpy()
        rows[label] = {
            "pairs": len(both),
            "platforms": both["platform"].nunique(),
            "crps": platform_mean(combined_crps(lopo, "pool", weight), both["platform"]),
            "coverage_50": float(np.mean((y >= lo50) & (y <= hi50))),
            "coverage_80": float(np.mean((y >= lo80) & (y <= hi80))),
        }
    return pd.DataFrame(rows).T


def _scores(frame, mean, sd) -> dict[str, float]:
    out = score(frame["y"], mean, sd)
    return {
        "pairs": out["n"],
        "platforms": frame["platform"].nunique(),
        "crps": platform_mean(crps_normal(frame["y"], mean, sd), frame["platform"]),
        "coverage_50": out["coverage_50"],
        "coverage_80": out["coverage_80"],
    }


def _mixture_interval(both: pd.DataFrame, weight: float, level: float):
    """Central interval of each pair's two-normal mixture (bisection on the CDF)."""
    m = np.vstack([both["ts_mean"], both["out_mean"]])
    s = np.vstack([both["ts_sd"], both["out_sd"]])
    w = np.array([1 - weight, weight])[:, None]

    def cdf(x):
        return (w * stats.norm.cdf((x - m) / s)).sum(axis=0)

    out = []
    for q in ((1 - level) / 2, (1 + level) / 2):
        lo, hi = (m - 8 * s).min(axis=0), (m + 8 * s).max(axis=0)
        for _ in range(60):
            mid = (lo + hi) / 2
            below = cdf(mid) < q
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        out.append((lo + hi) / 2)
    return out


def choose_covariates(pairs: pd.DataFrame) -> tuple[str, pd.Series]:
    """The covariate set with the lowest leave-one-platform-out CRPS of the outside view.

    CRPS is the platform-weighted mean (:func:`platform_mean`).
    """
    crps = {}
    for name in COVARIATE_SETS:
        lopo = leave_one_platform_out(pairs, lambda name=name: OutsideViewModel(name))
        crps[name] = platform_mean(
            crps_normal(lopo["y"], lopo["out_mean"], lopo["out_sd"]), lopo["platform"]
        )
    series = pd.Series(crps, name="crps")
    return str(series.idxmin()), series
