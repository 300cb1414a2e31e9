"""The seller size estimator, SizeModel: fits to facts, brackets or microdata, and bootstrap."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, NotIdentifiedError, ParameterError, closest
from shopcast.formatting import usd_short
from shopcast.sellers.facts_fit import FactsFit
from shopcast.sellers.families import (
    BIG,
    FAMILY_CLASSES,
    GB2,
    LognormalPareto,
    from_theta,
    to_theta,
)
from shopcast.sellers.loaders import (
    MICRODATA_COLUMN,
    load_brackets,
    load_microdata,
    source_label,
)
from shopcast.sellers.solution_search import SolutionSearch
from shopcast.sellers.vocabulary import FAMILIES

# Thresholds at which two fitted solutions are compared: solutions whose survival and GMV-share
# curves agree here to within _DISTINCT are the same answer for every question this package asks.
_SIGNATURE_GRID = np.logspace(3, 8, 21)
_DISTINCT = 0.01


# ---------------------------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------------------------


class SizeModel(FactsFit, SolutionSearch):
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
        self.source_, self.data_form_ = source_label(data, "microdata"), "microdata"
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
        self.source_, self.data_form_ = source_label(data, "brackets"), "brackets"
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
