"""The seller size estimator, SizeModel: fits to facts, brackets or microdata, and bootstrap."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from shopcast.exceptions import ModelError, NotIdentifiedError, ParameterError, closest
from shopcast.formatting import usd_short
from shopcast.sellers.families import (
    BIG,
    FAMILY_CLASSES,
    GB2,
    LognormalPareto,
    from_theta,
    theta_bounds,
    to_theta,
)
from shopcast.sellers.loaders import (
    DEFAULT_POPULATIONS,
    FACT_KINDS,
    MICRODATA_COLUMN,
    fact_label,
    load_brackets,
    load_facts,
    load_microdata,
)
from shopcast.sellers.scale import published_by
from shopcast.sellers.vocabulary import FAMILIES

# Thresholds at which two fitted solutions are compared: solutions whose survival and GMV-share
# curves agree here to within _DISTINCT are the same answer for every question this package asks.
_SIGNATURE_GRID = np.logspace(3, 8, 21)
_DISTINCT = 0.01


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _points(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Facts as plain arrays (the objective is evaluated thousands of times)."""
    kind = frame["kind"].to_numpy().astype(str)
    top_n = frame["top_n"].to_numpy(dtype=float)
    n_pop = frame["n_population"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        q = 1 - top_n / n_pop
    return {
        "kind": kind,
        "is_mean": kind == "mean",
        "is_share": kind == "share_above",
        "is_gmv_share": kind == "gmv_share_above",
        "is_top_n": kind == "top_n_gmv_share",
        "level": frame["level_usd"].to_numpy(dtype=float),
        "q": q,
        "value": frame["value"].to_numpy(dtype=float),
        "weight": frame["weight"].to_numpy(dtype=float),
    }


def _aggregate(pts: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Facts at the same position (kind, level, top-N quantile) merged into one point.

    A weighted sum of squares over repeated positions equals the sum of weights times the
    squared distance to their weighted mean, plus a constant: fitting the merged points costs
    one evaluation per distinct position, so a long facts file is fitted in linear time.

    Returns:
        The distinct points (same keys as ``pts``) and, for each fact, the index of its point.
    """
    kind_code = np.unique(pts["kind"], return_inverse=True)[1].ravel()
    key = np.stack(
        [kind_code, np.nan_to_num(pts["level"], nan=-1.0), np.nan_to_num(pts["q"], nan=-1.0)],
        axis=1,
    )
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return {k: v[first] for k, v in pts.items()}, inverse.ravel()


def _fact_scale(pts: dict[str, np.ndarray], values) -> np.ndarray:
    """Log scale for the mean, logit scale for shares."""
    values = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pts["is_mean"], np.log(np.maximum(values, 1e-300)), _logit(values))


class SizeModel:
    """A fitted distribution of annual seller GMV.

    Args:
        family: one of :data:`~shopcast.sellers.vocabulary.FAMILIES` (``"lognormal"``,
            ``"pareto"``, ``"lognormal_pareto"``, ``"burr12"``, ``"dagum"``, ``"gb2"``). The GB2
            families are fitted with a finite mean (``a * q > 1``): GMV shares and a scale taken
            from the platform's total need one.
        x_min: for ``"pareto"``, a fixed lower bound (microdata below it are dropped and the model
            describes sellers above it); for ``"lognormal_pareto"``, a fixed start of the Pareto
            tail. ``None`` estimates it.
        ambiguity_tol: optima whose loss is within ``max(ambiguity_tol, 1% of the best)`` of the
            best, and whose survival or GMV-share curves differ by more than 0.01 somewhere between
            $1k and $100M, are reported as distinct solutions.
        fact_noise: floor on the noise (log/logit scale) assumed on each published fact in the
            parametric bootstrap of a facts fit; published figures are rounded ("about").

    Attributes (after a fit):
        params_: dict of fitted parameters.
        solutions_: DataFrame, one row per distinct optimum (parameters, ``loss``,
            ``evidence_loss``, ``chosen``).
        choice_reason_: why the chosen solution was chosen (always set).
        fit_table_: DataFrame, one row per published point or bracket: ``point``, ``label``,
            ``observed``, ``fitted``, ``residual`` (fitted - observed), ``scaled_residual`` (log or
            logit scale for facts), ``used`` (in the fit).
        aic_: Akaike information criterion (NaN for a facts fit, which has no likelihood).
        loglik_: maximised log-likelihood (NaN for facts).
        loss_: minimised objective (negative mean log-likelihood, or weighted sum of squares).
        n_obs_: sellers (microdata, brackets) or fitted facts.
        n_sellers_: the population size the data describe (facts: the ``n_sellers`` fact).
        data_form_: ``"microdata"``, ``"brackets"`` or ``"facts"``.
        source_: the file (or DataFrame label) fitted.
        boot_params_: DataFrame of bootstrap parameter draws, after :meth:`bootstrap`.
    """

    def __init__(
        self,
        family: str = "lognormal_pareto",
        x_min: float | None = None,
        ambiguity_tol: float = 1e-3,
        fact_noise: float = 0.1,
    ):
        if family not in FAMILIES:
            hint = closest(family, FAMILIES)
            raise ParameterError(
                "family",
                family,
                f"one of {', '.join(FAMILIES)}" + (f" (did you mean {hint!r}?)" if hint else ""),
            )
        if x_min is not None and not (np.isfinite(x_min) and x_min > 0):
            raise ParameterError("x_min", x_min, "a positive number of dollars, or None")
        if family not in ("pareto", "lognormal_pareto") and x_min is not None:
            raise ParameterError("x_min", x_min, f"None for the {family} family (it has no x_min)")
        if not ambiguity_tol >= 0:
            raise ParameterError("ambiguity_tol", ambiguity_tol, "a non-negative number")
        if not fact_noise > 0:
            raise ParameterError("fact_noise", fact_noise, "a positive number (log/logit scale)")
        self.family, self.x_min = family, x_min
        self.ambiguity_tol, self.fact_noise = ambiguity_tol, fact_noise
        self._fam = FAMILY_CLASSES[family]
        self._fixed: dict[str, float] = {}
        if x_min is not None:
            self._fixed = {"x_min" if family == "pareto" else "tail_from": float(x_min)}
        self._free = tuple(n for n in self._fam.names if n not in self._fixed)
        self.params_: dict[str, float] | None = None
        self.boot_params_: pd.DataFrame | None = None

    def __repr__(self) -> str:
        fitted = (
            ""
            if self.params_ is None
            else ", " + ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        )
        return f"SizeModel(family={self.family!r}{fitted})"

    # -- evaluation ---------------------------------------------------------------------------

    def _p(self, params=None):
        """Parameters as arrays; a DataFrame of draws becomes columns of shape (n, 1)."""
        if params is None:
            if self.params_ is None:
                raise ModelError(
                    "the model is not fitted; call fit_facts, fit_brackets or fit_microdata first"
                )
            return dict(self.params_)
        if isinstance(params, pd.DataFrame):
            return {n: params[n].to_numpy(dtype=float)[:, None] for n in self._fam.names}
        return {n: float(params[n]) for n in self._fam.names}

    def survival(self, x, params=None) -> np.ndarray:
        """Share of sellers with annual GMV above ``x``.

        Args:
            x: dollar levels (array-like).
            params: optional parameters (a dict) or draws (a DataFrame, one row per draw; the
                result then has one row per draw and one column per level).
        """
        x = np.atleast_1d(np.asarray(x, dtype=float))
        return np.clip(self._fam.sf(x, self._p(params)), 0.0, 1.0)

    def mean(self, params=None):
        """Mean annual GMV per seller (inf when the tail is too heavy to have one)."""
        return self._fam.mean(self._p(params))

    def quantile(self, q, params=None) -> np.ndarray:
        """Annual GMV at probability ``q`` (``1 - n / N`` gives the n-th largest of N sellers)."""
        return self._fam.ppf(np.atleast_1d(np.asarray(q, dtype=float)), self._p(params))

    def gmv_share_above(self, x, params=None) -> np.ndarray:
        """Share of GMV from sellers above ``x``: E[X; X > x] / E[X].

        Closed forms: lognormal ``Phi((mu + sigma^2 - ln x) / sigma)``; Pareto
        ``(max(x, x_min) / x_min)^(1 - alpha)`` (alpha > 1); the body-plus-tail family combines
        the two pieces. NaN when the mean is infinite (Pareto tail with alpha <= 1).
        """
        p = self._p(params)
        x = np.atleast_1d(np.asarray(x, dtype=float))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self._fam.partial_expectation(x, p) / self._fam.mean(p)
        return np.where(np.isfinite(out), np.clip(out, 0.0, 1.0), np.nan)

    def top_n_gmv_share(self, top_n, n_sellers: float, params=None) -> np.ndarray:
        """Share of GMV from the ``top_n`` largest of ``n_sellers`` sellers."""
        p = self._p(params)
        q = self._fam.ppf(1 - np.atleast_1d(np.asarray(top_n, dtype=float)) / n_sellers, p)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._fam.partial_expectation(q, p) / self._fam.mean(p)

    def sample(self, n: int, seed: int, params=None, dtype=np.float64) -> np.ndarray:
        """Draw ``n`` annual seller sizes (inverse-CDF sampling, seeded)."""
        if not (isinstance(n, (int, np.integer)) and n >= 0):
            raise ParameterError("n", n, "a non-negative integer number of sellers")
        u = np.random.default_rng(seed).random(int(n))
        return self._fam.ppf(u, self._p(params)).astype(dtype, copy=False)

    # -- fitting helpers ----------------------------------------------------------------------

    def _signature(self, p) -> np.ndarray:
        with np.errstate(all="ignore"):
            sf = self._fam.sf(_SIGNATURE_GRID, p)
            gs = self._fam.partial_expectation(_SIGNATURE_GRID, p) / self._fam.mean(p)
        return np.nan_to_num(np.concatenate([sf, gs]), nan=-1.0, posinf=-1.0)

    def _multistart(self, loss, starts, evidence=None, n_lik: float | None = None) -> None:
        """Minimise ``loss`` from every start, keep distinct near-best optima, choose one.

        ``n_lik``: for likelihood fits (loss = mean negative log-likelihood over ``n_lik``
        sellers), optima within one log-likelihood unit of the best count as near-equal.
        """
        bounds = theta_bounds(self._free)
        low, high = [b[0] for b in bounds], [b[1] for b in bounds]
        # Stage 1: a coarse search from every start; stage 2: polish the promising ones (the
        # ambiguity check below needs every near-best optimum polished, not only the best).
        coarse = []
        for th0 in starts:
            th0 = np.clip(np.asarray(th0, dtype=float), low, high)
            f0 = loss(th0)
            if not np.isfinite(f0) or f0 >= BIG:
                continue
            opts = {"xatol": 1e-4, "fatol": 1e-9, "maxiter": 400 * th0.size}
            res = optimize.minimize(loss, th0, method="Nelder-Mead", options=opts, bounds=bounds)
            if np.isfinite(res.fun) and res.fun < BIG:
                coarse.append((float(res.fun), res.x))
        coarse.sort(key=lambda r: r[0])
        found = []
        if coarse:
            best1 = coarse[0][0]
            margin = max(10 * self.ambiguity_tol, 0.1 * abs(best1), 10.0 / n_lik if n_lik else 0)
            opts = {
                "xatol": 1e-8,
                "fatol": 1e-12,
                "maxiter": 3000 * len(self._free),
                "maxfev": 4000 * len(self._free),
            }
            for f1, th in coarse[:8]:
                if f1 > best1 + margin:
                    break
                res = optimize.minimize(loss, th, method="Nelder-Mead", options=opts, bounds=bounds)
                res = optimize.minimize(
                    loss, res.x, method="Nelder-Mead", options=opts, bounds=bounds
                )
                if np.isfinite(res.fun) and res.fun < BIG:
                    found.append((float(res.fun), res.x))
        if not found:
            raise ModelError(
                f"no {self.family} distribution could be fitted to these data from any starting "
                "point; try another family"
            )
        found.sort(key=lambda r: r[0])
        best = found[0][0]
        tol = 1.0 / n_lik if n_lik else max(self.ambiguity_tol, 0.01 * abs(best))
        kept: list[tuple[float, np.ndarray, np.ndarray]] = []
        for f, th in found:
            if f > best + tol:
                break
            sig = self._signature(from_theta(th, self._free, self._fixed))
            if all(np.max(np.abs(sig - k[2])) > _DISTINCT for k in kept):
                kept.append((f, th, sig))
        rows = []
        for f, th, _ in kept:
            p = from_theta(th, self._free, self._fixed)
            ev = evidence(p) if evidence is not None else np.nan
            rows.append({**p, "loss": f, "evidence_loss": ev})
        sols = pd.DataFrame(rows)
        if len(kept) == 1:
            chosen = 0
            reason = "a single optimum (multi-start found no other solution fitting as well)"
        else:
            listing = "; ".join(
                f"#{i}: "
                + ", ".join(f"{k}={r[k]:.4g}" for k in self._fam.names)
                + f" (loss {r['loss']:.3g})"
                for i, r in enumerate(rows)
            )
            if evidence is not None and np.isfinite(sols["evidence_loss"]).any():
                chosen = int(np.nanargmin(sols["evidence_loss"].to_numpy()))
                reason = (
                    f"{len(kept)} distinct solutions fit the fitted points about equally well "
                    f"[{listing}]; chose #{chosen} because it best matches the points held out of "
                    f"the fit (held-out loss {sols['evidence_loss'].iloc[chosen]:.3g} vs "
                    + ", ".join(
                        f"{v:.3g}" for j, v in enumerate(sols["evidence_loss"]) if j != chosen
                    )
                    + ")"
                )
            else:
                chosen = 0
                reason = (
                    f"{len(kept)} distinct solutions fit about equally well [{listing}] and no "
                    "held-out evidence separates them; chose the lowest loss (#0). The others "
                    "are in solutions_ and are not covered by the bootstrap intervals."
                )
            warnings.warn(f"{self.family} fit is ambiguous: {reason}", stacklevel=3)
        sols["chosen"] = np.arange(len(sols)) == chosen
        self.solutions_ = sols
        self.choice_reason_ = reason
        self.params_ = {n: float(sols[n].iloc[chosen]) for n in self._fam.names}
        self.loss_ = float(sols["loss"].iloc[chosen])
        self._theta = kept[chosen][1]
        self._check_interior()

    def _refit(self, loss) -> dict[str, float] | None:
        """One bootstrap refit, started at the chosen solution (so draws stay in its basin)."""
        # Nelder-Mead, not L-BFGS-B: on a busy machine the latter's per-iteration overhead
        # dominated these tiny problems (measured ~2 ms per iteration vs ~0.2 ms per evaluation).
        opts = {"xatol": 1e-3, "fatol": 1e-7, "maxiter": 800 * self._theta.size}
        res = optimize.minimize(
            loss, self._theta, method="Nelder-Mead", options=opts, bounds=theta_bounds(self._free)
        )
        if not (np.isfinite(res.fun) and res.fun < BIG):
            return None
        return from_theta(res.x, self._free, self._fixed)

    def _aic(self, loglik: float) -> None:
        self.loglik_ = float(loglik)
        self.aic_ = 2 * len(self._free) - 2 * self.loglik_

    def _is_gb2(self) -> bool:
        return issubclass(self._fam, GB2)

    def _finite_mean(self, p) -> bool:
        """GB2 families are fitted with a finite mean (``a * q > 1``); others are not limited."""
        if not self._is_gb2():
            return True
        a, _, _, q = self._fam._full(p)
        return a * q > 1 + 1e-6

    def _gb2_starts(self, mean: float) -> list[np.ndarray]:
        """Starting points for the GB2 families: a grid of shapes, the scale matching ``mean``."""
        grid = {
            "burr12": [{"a": a, "q": q} for a in (0.8, 1.5, 3.0) for q in (1.6, 3.0, 6.0)],
            "dagum": [{"a": a, "p": pp} for a in (1.3, 2.0, 4.0) for pp in (0.2, 0.6, 1.5)],
            "gb2": [
                {"a": a, "p": pp, "q": q}
                for a in (0.8, 1.5, 3.0)
                for pp in (0.3, 1.0, 3.0)
                for q in (1.6, 4.0)
            ],
        }[self.family]
        starts = []
        for shape in grid:
            p = {"scale": 1.0, **shape}
            m1 = float(self._fam.mean(p))
            if np.isfinite(m1) and m1 > 0 and np.isfinite(mean) and mean > 0:
                p["scale"] = mean / m1
                starts.append(to_theta(p, self._free))
        return starts

    def _check_interior(self) -> None:
        """Refuse a best fit on the edge of the plausible parameter range.

        There the data do not pin the parameter down (a limiting case of the family, or values
        far outside what annual seller sales can be): reported as not identified, not as a fit.
        """
        bounds = theta_bounds(self._free)
        edge = [
            f"{n} = {self.params_[n]:.4g}"
            for n, v, (lo, hi) in zip(self._free, self._theta, bounds, strict=True)
            if min(v - lo, hi - v) < 1e-3
        ]
        if edge:
            raise NotIdentifiedError(
                self.family,
                "the best fit runs to the edge of the plausible parameter range ("
                + ", ".join(edge)
                + "): these data do not pin it down. If the data are not annual US dollars "
                "per seller, fix their units; otherwise use a family with fewer parameters",
            )

    # -- microdata ----------------------------------------------------------------------------

    def _micro_params(self, x: np.ndarray, multistart: bool) -> dict[str, float] | None:
        if self.family == "lognormal":
            lx = np.log(x)
            return {"mu": float(lx.mean()), "sigma": float(lx.std())}
        if self.family == "pareto":
            xm = self._fixed.get("x_min", float(x.min()))
            x = x[x >= xm]
            return {"x_min": xm, "alpha": float(x.size / np.log(x / xm).sum())}
        if self._is_gb2():

            def gb2_loss(th):
                p = from_theta(th, self._free, self._fixed)
                if not self._finite_mean(p):
                    return BIG
                with np.errstate(all="ignore"):
                    v = -float(self._fam.logpdf(x, p).mean())
                return v if np.isfinite(v) else BIG

            if not multistart:
                return self._refit(gb2_loss)
            self._multistart(gb2_loss, self._gb2_starts(float(x.mean())), n_lik=x.size)
            return None
        lx = np.sort(np.log(x))
        c1 = np.concatenate([[0.0], np.cumsum(lx)])
        c2 = np.concatenate([[0.0], np.cumsum(lx * lx)])
        n = lx.size

        def loss(th):
            p = from_theta(th, self._free, self._fixed)
            if p["alpha"] > 50 or p["sigma"] > 20:
                return BIG
            v = -LognormalPareto.loglik_sorted(p, lx, c1, c2) / n
            return v if np.isfinite(v) else BIG

        if not multistart:
            return self._refit(loss)
        mu0, s0 = float(lx.mean()), float(lx.std())
        starts = []
        for q in (0.5, 0.8, 0.9, 0.97):
            u = float(np.exp(lx[int(q * (n - 1))]))
            for a in (1.2, 2.0):
                p = {"mu": mu0, "sigma": s0, "tail_from": u, "alpha": a, **self._fixed}
                starts.append(to_theta(p, self._free))
        self._multistart(loss, starts, n_lik=n)
        return None

    def fit_microdata(self, data: str | Path | pd.DataFrame) -> SizeModel:
        """Fit by maximum likelihood to one row per seller.

        Args:
            data: a CSV path or DataFrame with ``annual_gmv_usd`` (see :func:`load_microdata`).

        Returns:
            self, fitted.
        """
        frame = load_microdata(data)
        x = frame[MICRODATA_COLUMN].to_numpy(dtype=float)
        self.source_, self.data_form_ = frame.attrs["file"], "microdata"
        if self.family == "pareto" and "x_min" in self._fixed:
            self.n_below_x_min_ = int((x < self._fixed["x_min"]).sum())
            x = x[x >= self._fixed["x_min"]]
            if x.size < 10:
                raise ModelError(f"only {x.size} sellers at or above x_min = {self.x_min:g}")
        self._x = x
        p = self._micro_params(x, multistart=True)
        if p is not None:
            self.params_ = p
            self._theta = to_theta(p, self._free)
            self.loss_ = float(-self._fam.logpdf(x, p).mean())
            self.solutions_ = pd.DataFrame(
                [{**p, "loss": self.loss_, "evidence_loss": np.nan, "chosen": True}]
            )
            self.choice_reason_ = "closed-form maximum likelihood (a single optimum)"
        self.n_obs_ = self.n_sellers_ = int(x.size)
        self._aic(float(self._fam.logpdf(x, self.params_).sum()))
        levels = np.array([1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2e6, 5e6, 1e7])
        obs_sf = (x[:, None] > levels).mean(axis=0)
        obs_gs = (x[:, None] * (x[:, None] > levels)).sum(axis=0) / x.sum()
        fit_sf = self.survival(levels)
        fit_gs = self.gmv_share_above(levels)
        rows = [
            {
                "point": f"share_above_{usd_short(t)}",
                "label": f"Share of sellers above {usd_short(t)}",
                "observed": o,
                "fitted": f,
            }
            for t, o, f in zip(levels, obs_sf, fit_sf, strict=True)
        ] + [
            {
                "point": f"gmv_share_above_{usd_short(t)}",
                "label": f"GMV share of sellers above {usd_short(t)}",
                "observed": o,
                "fitted": f,
            }
            for t, o, f in zip(levels, obs_gs, fit_gs, strict=True)
        ]
        self.fit_table_ = self._table(rows)
        self.boot_params_ = None
        return self

    @staticmethod
    def _table(rows) -> pd.DataFrame:
        t = pd.DataFrame(rows)
        t["residual"] = t["fitted"] - t["observed"]
        if "scaled_residual" not in t:
            t["scaled_residual"] = t["residual"]
        if "used" not in t:
            t["used"] = True
        return t

    # -- brackets -----------------------------------------------------------------------------

    def fit_brackets(
        self, data: str | Path | pd.DataFrame, n_sellers: int | None = None
    ) -> SizeModel:
        """Fit by interval-censored maximum likelihood to a bracket table.

        Args:
            data: a CSV path or DataFrame (see :func:`load_brackets`).
            n_sellers: number of sellers the shares describe; required when the table has shares
                rather than counts (it scales the likelihood, AIC and bootstrap).

        Returns:
            self, fitted.
        """
        frame = load_brackets(data)
        self.source_, self.data_form_ = frame.attrs["file"], "brackets"
        lo, hi = frame["lower_usd"].to_numpy(), frame["upper_usd"].to_numpy()
        if "count" in frame:
            counts = frame["count"].to_numpy(dtype=float)
        else:
            if n_sellers is None or not n_sellers > 0:
                raise ParameterError(
                    "n_sellers",
                    n_sellers,
                    "a positive number of sellers when the bracket table gives shares, not counts",
                )
            counts = frame["share"].to_numpy(dtype=float) / frame["share"].sum() * n_sellers
        n = float(counts.sum())
        nonempty = np.flatnonzero(counts > 0)
        if (
            self.family == "pareto"
            and "x_min" in self._fixed
            and lo[nonempty[0]] < self._fixed["x_min"]
        ):
            raise ModelError(
                f"sellers lie in the bracket starting at {lo[nonempty[0]]:g}, below x_min = "
                f"{self.x_min:g}; choose x_min at or below the lowest non-empty bracket, or use "
                "the lognormal_pareto family"
            )

        if len(lo) - 1 < len(self._free):
            raise NotIdentifiedError(
                self.family,
                f"{len(lo)} brackets give {len(lo) - 1} independent shares, fewer than the "
                f"family's {len(self._free)} free parameters; use finer brackets or a family "
                f"with at most {len(lo) - 1} parameters",
            )

        def probs(p):
            return self._fam.sf(lo, p) - self._fam.sf(hi, p)

        def make_loss(c):
            def loss(th):
                p = from_theta(th, self._free, self._fixed)
                if not self._finite_mean(p):
                    return BIG
                with np.errstate(all="ignore"):
                    pr = probs(p)
                    v = -(c[c > 0] * np.log(pr[c > 0])).sum() / c.sum()
                return float(v) if np.isfinite(v) else BIG

            return loss

        starts = self._bracket_starts(lo, hi, counts)
        self._multistart(make_loss(counts), starts, n_lik=n)
        self.n_obs_ = self.n_sellers_ = round(n)
        self._aic(-self.loss_ * n)
        self._counts, self._lo, self._hi, self._make_loss, self._probs = (
            counts,
            lo,
            hi,
            make_loss,
            probs,
        )
        fitted = probs(self.params_)
        rows = [
            {
                "point": f"{usd_short(a)}-{usd_short(b) if np.isfinite(b) else 'open'}",
                "label": f"Sellers {usd_short(a)} to {usd_short(b)}"
                if np.isfinite(b)
                else f"Sellers above {usd_short(a)}",
                "observed": c / n,
                "fitted": f,
            }
            for a, b, c, f in zip(lo, hi, counts, fitted, strict=True)
        ]
        self.fit_table_ = self._table(rows)
        self.boot_params_ = None
        return self

    def _bracket_starts(self, lo, hi, counts):
        # A rough location/scale from bracket midpoints (geometric, open top = 2 x lower).
        mids = np.where(np.isfinite(hi), np.sqrt(np.maximum(lo, hi / 10) * hi), 2 * lo)
        mids = np.maximum(mids, 1.0)
        w = counts / counts.sum()
        m = float((w * np.log(mids)).sum())
        s = float(max(np.sqrt((w * (np.log(mids) - m) ** 2).sum()), 0.3))
        starts = []
        if self._is_gb2():
            return self._gb2_starts(math.exp(m + 0.5 * s * s))
        if self.family == "lognormal":
            for ss in (0.5 * s, s, 2 * s):
                starts.append([m, math.log(ss)])
        elif self.family == "pareto":
            first = np.flatnonzero(counts > 0)[0]
            xm0 = lo[first] if lo[first] > 0 else hi[first] / 2
            for a in (0.8, 1.5, 3.0):
                starts.append(
                    to_theta({"x_min": self._fixed.get("x_min", xm0), "alpha": a}, self._free)
                )
        else:
            for q in (0.0, 1.0, 2.0):
                for a in (1.2, 2.0):
                    p = {
                        "mu": m,
                        "sigma": s,
                        "tail_from": math.exp(m + q * s),
                        "alpha": a,
                        **self._fixed,
                    }
                    starts.append(to_theta(p, self._free))
        return starts

    # -- facts --------------------------------------------------------------------------------

    def fit_facts(
        self,
        data: str | Path | pd.DataFrame,
        populations: Sequence[str] = DEFAULT_POPULATIONS,
        kinds: Sequence[str] | None = None,
        as_of: str | None = None,
    ) -> SizeModel:
        """Fit by weighted least squares to published summary facts.

        Each fitted fact contributes ``weight * r**2``, with ``r`` the difference of fitted and
        observed values on a log scale (mean) or logit scale (shares). Top-N GMV shares need the
        population's size N (its ``n_sellers`` fact): share = E[X; X > q] / E[X] with
        q = quantile(1 - n / N).

        Args:
            data: a CSV path or DataFrame (see :func:`load_facts`).
            populations: populations fitted (one shape for all). The default fits only the US
                points; the worldwide points describe another population of unpublished size.
            kinds: kinds of fact fitted; ``None`` fits all. Facts of the fitted populations whose
                kind is left out are held out as evidence: when several solutions fit equally well,
                the one closest to the held-out facts is chosen (and the reason recorded).
            as_of: vintage (ISO date): facts published later (or undated) are not used. None
                uses every fact.

        A population's ``n_above`` count becomes a ``share_above`` fact and its ``gmv_total`` a
        ``mean`` fact when the population has an ``n_sellers`` fact (derived: count / N).

        Returns:
            self, fitted.

        Raises:
            ModelError: nothing to fit, or a top-N fact without its population's ``n_sellers``.
            ParameterError: unknown kinds or populations.
        """
        facts = load_facts(data)
        public = pd.Series(published_by(facts, as_of), index=facts.index)
        self.as_of_ = as_of or None
        self.source_, self.data_form_ = facts.attrs["file"], "facts"
        known_pops = sorted(facts["population"].unique())
        for pop in populations:
            if pop not in known_pops:
                raise ParameterError("populations", pop, f"populations in the data: {known_pops}")
        fit_kinds = (
            tuple(k for k in FACT_KINDS if k != "n_sellers") if kinds is None else tuple(kinds)
        )
        for k in fit_kinds:
            if k not in FACT_KINDS or k == "n_sellers":
                raise ParameterError("kinds", k, f"some of {', '.join(FACT_KINDS[1:])}")
        n_pop: dict[str, float] = {}
        counts = facts[(facts["kind"] == "n_sellers") & public]
        for pop, group in counts.groupby("population"):
            if len(group) > 1:
                raise ModelError(
                    f"{self.source_}: population {pop!r} has {len(group)} n_sellers facts "
                    f"published by {as_of or 'now'} ({', '.join(group['fact_id'])}); keep one, "
                    "or give the other population a name of its own"
                )
            n_pop[str(pop)] = float(group["value"].iloc[0])
        pts = facts.copy()
        pts["n_population"] = pts["population"].map(n_pop).astype(float)
        # A count above a level and a total GMV become a share and a mean of the population.
        derive = pts["n_population"].notna() & pts["kind"].isin(["n_above", "gmv_total"])
        pts.loc[derive, "value"] = pts.loc[derive, "value"] / pts.loc[derive, "n_population"]
        pts.loc[derive, "kind"] = pts.loc[derive, "kind"].map(
            {"n_above": "share_above", "gmv_total": "mean"}
        )
        bad_share = derive & (pts["kind"] == "share_above") & ~(pts["value"] < 1)
        if bad_share.any():
            raise ModelError(
                f"{self.source_}: fact {pts.loc[bad_share, 'fact_id'].iloc[0]!r} counts at least "
                "as many sellers above its level as its population has; check the counts"
            )
        in_pop = (
            pts["population"].isin(list(populations)) & pts["kind"].isin(FACT_KINDS[1:]) & public
        )
        used = in_pop & pts["kind"].isin(fit_kinds) & (pts["weight"] > 0)
        held = in_pop & ~used
        bad = pts[(used | held) & (pts["kind"] == "top_n_gmv_share") & pts["n_population"].isna()]
        if len(bad):
            raise ModelError(
                f"fact {bad['fact_id'].iloc[0]!r} is a top-N share but population "
                f"{bad['population'].iloc[0]!r} has no n_sellers fact; add one"
            )
        too_big = pts[(used | held) & (pts["top_n"] >= pts["n_population"])]
        if len(too_big):
            raise ModelError(f"fact {too_big['fact_id'].iloc[0]!r}: top_n is not below n_sellers")
        U, H = pts[used].reset_index(drop=True), pts[held].reset_index(drop=True)
        u_pts, h_pts = _points(U), _points(H)
        merged, inverse = _aggregate(u_pts)
        n_distinct = len(merged["kind"])
        if n_distinct < len(self._free):
            listing = ", ".join(
                fact_label(k, lv, np.nan, np.nan).split(" (")[0]
                for k, lv in zip(merged["kind"], merged["level"], strict=True)
            )
            raise NotIdentifiedError(
                self.family,
                f"the data give {n_distinct} distinct fact(s) to fit ({listing or 'none'}) for "
                f"the {len(self._free)} free parameters of the family; add facts (a share "
                "above another level, a top-N GMV share) or use a family with at most "
                f"{n_distinct} parameters",
            )
        self._facts_used = u_pts
        weight = u_pts["weight"]
        merged_weight = np.bincount(inverse, weights=weight)
        # The optimiser sees the loss per distinct fact's weight (1 for a file without repeats):
        # its absolute tolerances then mean the same whatever the number of repeated rows.
        norm = max(1.0, float(merged_weight.sum()) / len(merged_weight))

        def loss_fn(observed_t):
            # Repeated positions merged (see _aggregate): one evaluation per distinct fact.
            mean_t = np.bincount(inverse, weights=weight * observed_t) / merged_weight
            const = float((weight * (observed_t - mean_t[inverse]) ** 2).sum())

            def loss(th):
                p = from_theta(th, self._free, self._fixed)
                if p.get("alpha", 2.0) <= 1.0 + 1e-6 and self.family != "lognormal":
                    return BIG
                if not self._finite_mean(p):
                    return BIG
                r = self._fact_scaled(merged, p) - mean_t
                v = (float((merged_weight * r * r).sum()) + const) / norm
                return v if np.isfinite(v) else BIG

            return loss

        obs_t = _fact_scale(u_pts, u_pts["value"])
        self._fact_loss = loss_fn
        evidence = None
        if len(H):
            held_t = _fact_scale(h_pts, h_pts["value"])

            def evidence(p):
                r = self._fact_scaled(h_pts, p) - held_t
                return float((h_pts["weight"] * r * r).sum())

        self._multistart(loss_fn(obs_t), self._fact_starts(U), evidence)
        self.loss_ *= norm
        self.solutions_["loss"] *= norm
        self.n_obs_ = len(U)
        pops = list(populations)
        self.n_sellers_ = n_pop.get(pops[0]) if len(pops) == 1 else None
        self.loglik_ = self.aic_ = np.nan
        k = len(self._free)
        rmse = math.sqrt(self.loss_ / (len(U) - k)) if len(U) > k else 0.0
        self.fact_sd_ = max(self.fact_noise, rmse)
        # The fit table: every fact; fitted values for the fitted and held-out ones.
        rows = []
        fitted_all = np.full(len(pts), np.nan)
        scaled_all = np.full(len(pts), np.nan)
        compared = (used | held).to_numpy()
        if compared.any():
            some = _points(pts[compared])
            values = self._fact_values(some, self.params_)
            fitted_all[compared] = values
            scaled_all[compared] = _fact_scale(some, values) - _fact_scale(some, some["value"])
        for i, (idx, f) in enumerate(pts.iterrows()):
            is_used, is_held = bool(used.loc[idx]), bool(held.loc[idx])
            fitted, scaled = float(fitted_all[i]), float(scaled_all[i])
            if is_used:
                status = "fitted"
            elif is_held:
                status = "held out (evidence only)"
            elif not public.loc[idx]:
                status = f"not used: published after {as_of} (or undated)"
            elif f["kind"] in ("n_sellers", "n_registered", "gmv_total", "n_above"):
                status = "population size or scale"
            else:
                status = "not used: another population"
            rows.append(
                {
                    "point": f["fact_id"],
                    "label": fact_label(f["kind"], f["level_usd"], f["top_n"], f["value"])
                    + (" (derived: count / N)" if derive.loc[idx] else ""),
                    "population": f["population"],
                    "kind": f["kind"],
                    "observed": float(f["value"]),
                    "fitted": fitted,
                    "scaled_residual": scaled,
                    "used": is_used,
                    "status": status,
                }
            )
        self.fit_table_ = self._table(rows)
        self.boot_params_ = None
        return self

    def _fact_values(self, pts, p) -> np.ndarray:
        out = np.full(pts["kind"].size, np.nan)
        with np.errstate(all="ignore"):
            m = self._fam.mean(p)
            out[pts["is_mean"]] = m
            sel = pts["is_share"]
            out[sel] = self._fam.sf(pts["level"][sel], p)
            sel = pts["is_gmv_share"]
            out[sel] = self._fam.partial_expectation(pts["level"][sel], p) / m
            sel = pts["is_top_n"]
            if sel.any():
                q = self._fam.ppf(pts["q"][sel], p)
                out[sel] = self._fam.partial_expectation(q, p) / m
        return out

    def _fact_scaled(self, pts, p):
        return _fact_scale(pts, self._fact_values(pts, p))

    def _fact_starts(self, U):
        means = U.loc[U["kind"] == "mean", "value"]
        m = (
            float(means.iloc[0])
            if len(means)
            else float(np.exp(np.log(U["level_usd"].dropna()).mean()))
            if U["level_usd"].notna().any()
            else 1e5
        )
        lm = math.log(m)
        starts = []
        if self._is_gb2():
            return self._gb2_starts(m)
        if self.family == "lognormal":
            for s in (0.3, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0):
                starts.append([lm - s * s / 2, math.log(s)])
        elif self.family == "pareto":
            for a in (1.05, 1.2, 1.5, 2.0, 3.0):
                xm = self._fixed.get("x_min", m * (a - 1) / a)
                starts.append(to_theta({"x_min": xm, "alpha": a}, self._free))
        else:
            for s in (0.8, 1.5, 2.5):
                for u_mult in (0.5, 3.0, 20.0):
                    for a in (1.1, 1.6):
                        p = {
                            "mu": lm - s * s / 2,
                            "sigma": s,
                            "tail_from": m * u_mult,
                            "alpha": a,
                            **self._fixed,
                        }
                        starts.append(to_theta(p, self._free))
        return starts

    # -- uncertainty --------------------------------------------------------------------------

    def bootstrap(self, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
        """Parametric bootstrap of the parameters (seeded).

        Microdata: redraw as many sellers from the fitted model and refit. Brackets: redraw the
        counts (multinomial on the fitted bracket probabilities) and refit. Facts: add Gaussian
        noise with sd ``fact_sd_`` (the larger of ``fact_noise`` and the residual RMS) on the log/
        logit scale to the fitted values and refit. Each refit starts at the chosen solution, so
        the draws describe that solution's uncertainty (other solutions are in ``solutions_``).

        Args:
            n_boot: number of draws (>= 1).
            seed: random seed.

        Returns:
            DataFrame, one row per successful draw, one column per parameter (also stored as
            ``boot_params_``; failed refits are counted in ``boot_failures_``).
        """
        if not (isinstance(n_boot, (int, np.integer)) and n_boot >= 1):
            raise ParameterError("n_boot", n_boot, "an integer >= 1")
        if self.params_ is None:
            raise ModelError("fit the model before bootstrapping it")
        rng = np.random.default_rng(seed)
        draws, failures = [], 0
        for _ in range(int(n_boot)):
            p = self._one_draw(rng)
            if p is None or not all(np.isfinite(list(p.values()))):
                failures += 1
                continue
            draws.append(p)
        if not draws:
            raise ModelError("every bootstrap refit failed")
        self.boot_params_ = pd.DataFrame(draws, columns=list(self._fam.names))
        self.boot_failures_, self.boot_seed_ = failures, seed
        return self.boot_params_

    def __getstate__(self) -> dict:
        """Picklable state (for :mod:`shopcast.cache`): the loss closures are left behind.

        A model restored from a pickle keeps its fit and any bootstrap draws; a new bootstrap
        of it needs a fresh fit (it raises :class:`ModelError` saying so).
        """
        state = self.__dict__.copy()
        for name in ("_fact_loss", "_make_loss", "_probs"):
            if callable(state.get(name)):
                state[name] = None
        return state

    def _one_draw(self, rng) -> dict[str, float] | None:
        if (
            self.data_form_ in ("facts", "brackets")
            and getattr(self, "_fact_loss" if self.data_form_ == "facts" else "_make_loss", None)
            is None
        ):
            raise ModelError(
                "this model was restored from the cache without its loss function: "
                "fit it again to draw a different bootstrap"
            )
        if self.data_form_ == "microdata":
            x = self._fam.ppf(rng.random(self._x.size), self.params_)
            return self._micro_params(x, multistart=False)
        if self.data_form_ == "brackets":
            pr = np.clip(self._probs(self.params_), 0, None)
            pr = np.append(pr, max(0.0, 1 - pr.sum()))
            counts = rng.multinomial(round(self._counts.sum()), pr / pr.sum())[:-1]
            return self._refit(self._make_loss(counts.astype(float)))
        U = self._facts_used
        fitted_t = self._fact_scaled(U, self.params_)
        noisy = fitted_t + rng.normal(0, self.fact_sd_, size=U["kind"].size)
        return self._refit(self._fact_loss(noisy))
