"""Seller size families in closed form: lognormal, Pareto, lognormal-Pareto splice, GB2 family.

The generalised beta of the second kind (GB2) comes with its Burr XII (Singh-Maddala) and Dagum
special cases.

GB2(a, scale, p, q): ``z = (x / scale)**a``, ``F(x) = I(z / (1 + z); p, q)`` (regularised incomplete
beta). It is ``scale * Y**(1/a)`` with ``Y ~ scipy.stats.betaprime(p, q)``. Burr XII is p = 1
(``scipy.stats.burr12(c=a, d=q, scale=scale)``: ``S(x) = (1 + z)**-q``); Dagum is q = 1
(``scipy.stats.burr(c=a, d=p, scale=scale)``, Burr III: ``F(x) = (1 + 1/z)**-p``; also
``scipy.stats.mielke(k=a*p, s=a)``). The mean is finite when ``a * q > 1``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import special

from shopcast.sellers.vocabulary import FAMILIES

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
BIG = 1e100


# ---------------------------------------------------------------------------------------------
# Families: vectorised closed forms. ``p`` is a mapping of parameter arrays that broadcast with x.
# ---------------------------------------------------------------------------------------------


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(x, dtype=float))


class Lognormal:
    """Lognormal: ``ln X ~ Normal(mu, sigma)``."""

    names = ("mu", "sigma")

    @staticmethod
    def sf(x, p):
        """Survival function: the share of sizes above ``x``."""
        return special.ndtr(-(_log(x) - p["mu"]) / p["sigma"])

    @staticmethod
    def logpdf(x, p):
        """Log density at ``x``."""
        lx = _log(x)
        z = (lx - p["mu"]) / p["sigma"]
        return -0.5 * z * z - lx - np.log(p["sigma"]) - LOG_SQRT_2PI

    @staticmethod
    def ppf(q, p):
        """Quantile function: the size at probability ``q``."""
        return np.exp(p["mu"] + p["sigma"] * special.ndtri(q))

    @staticmethod
    def mean(p):
        """Mean size (inf when the tail is too heavy to have one)."""
        return np.exp(p["mu"] + 0.5 * p["sigma"] ** 2)

    @staticmethod
    def partial_expectation(t, p):
        """E[X; X > t]."""
        mu, s = p["mu"], p["sigma"]
        return np.exp(mu + 0.5 * s * s) * special.ndtr((mu + s * s - _log(t)) / s)


class Pareto:
    """Pareto (type I): ``S(x) = (x_min / x)**alpha`` above ``x_min``."""

    names = ("x_min", "alpha")

    @staticmethod
    def sf(x, p):
        """Survival function: the share of sizes above ``x``."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", over="ignore"):
            return np.minimum(1.0, (p["x_min"] / x) ** p["alpha"])

    @staticmethod
    def logpdf(x, p):
        """Log density at ``x``."""
        lx = _log(x)
        xm, a = p["x_min"], p["alpha"]
        out = np.log(a) + a * np.log(xm) - (a + 1) * lx
        return np.where(np.asarray(x) >= xm, out, -np.inf)

    @staticmethod
    def ppf(q, p):
        """Quantile function: the size at probability ``q``."""
        return p["x_min"] * (1 - np.asarray(q, dtype=float)) ** (-1 / p["alpha"])

    @staticmethod
    def mean(p):
        """Mean size (inf when the tail is too heavy to have one)."""
        a = np.asarray(p["alpha"], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 1, a * p["x_min"] / (a - 1), np.inf)

    @staticmethod
    def partial_expectation(t, p):
        """E[X; X > t] (inf when alpha <= 1)."""
        a, xm = np.asarray(p["alpha"], dtype=float), p["x_min"]
        t = np.maximum(np.asarray(t, dtype=float), xm)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            out = a * xm * (t / xm) ** (1 - a) / (a - 1)
        return np.where(a > 1, out, np.inf)


class LognormalPareto:
    """Lognormal body below ``tail_from`` (u), Pareto tail above it, density continuous at u.

    Density: ``c * lognormal_pdf(x)`` for x <= u and ``c * lognormal_pdf(u) * (u / x)**(alpha + 1)``
    above, with ``c = 1 / (Phi(z_u) + lognormal_pdf(u) * u / alpha)``.
    """

    names = ("mu", "sigma", "tail_from", "alpha")

    @staticmethod
    def _parts(p):
        mu, s, u, a = p["mu"], p["sigma"], p["tail_from"], p["alpha"]
        z_u = (np.log(u) - mu) / s
        log_g_u = -0.5 * z_u * z_u - np.log(u) - np.log(s) - LOG_SQRT_2PI
        body = special.ndtr(z_u)
        tail = np.exp(log_g_u) * u / a
        c = 1.0 / (body + tail)
        return mu, s, u, a, z_u, log_g_u, body, tail, c

    @classmethod
    def sf(cls, x, p):
        """Survival function: the share of sizes above ``x``."""
        mu, s, u, a, _, _, _, tail, c = cls._parts(p)
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", over="ignore"):
            below = 1 - c * special.ndtr((_log(x) - mu) / s)
            above = c * tail * (u / x) ** a
        return np.where(x <= u, below, above)

    @classmethod
    def logpdf(cls, x, p):
        """Log density at ``x``."""
        mu, s, u, a, _, log_g_u, _, _, c = cls._parts(p)
        lx = _log(x)
        z = (lx - mu) / s
        below = -0.5 * z * z - lx - np.log(s) - LOG_SQRT_2PI
        above = log_g_u + (a + 1) * (np.log(u) - lx)
        return np.log(c) + np.where(np.asarray(x) <= u, below, above)

    @classmethod
    def ppf(cls, q, p):
        """Quantile function: the size at probability ``q``."""
        mu, s, u, a, _, _, body, tail, c = cls._parts(p)
        q = np.asarray(q, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x_body = np.exp(mu + s * special.ndtri(np.minimum(q / c, 1.0)))
            x_tail = u * (c * tail / (1 - q)) ** (1 / a)
        return np.where(q <= c * body, x_body, x_tail)

    @classmethod
    def partial_expectation(cls, t, p):
        """E[X; X > t]: the body's lognormal piece below the tail's start plus the Pareto tail."""
        mu, s, u, a, z_u, log_g_u, _, _, c = cls._parts(p)
        t = np.asarray(t, dtype=float)
        z_t = (_log(t) - mu) / s
        body = c * np.exp(mu + 0.5 * s * s) * (special.ndtr(z_u - s) - special.ndtr(z_t - s))
        body = np.where(t < u, body, 0.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            tail = c * np.exp(log_g_u) * u * u * (np.maximum(t, u) / u) ** (1 - a) / (a - 1)
        return body + np.where(a > 1, tail, np.inf)

    @classmethod
    def mean(cls, p):
        """Mean size (inf when the tail is too heavy to have one)."""
        return cls.partial_expectation(0.0, p)

    @classmethod
    def loglik_sorted(cls, p, lx, c1, c2):
        """Log-likelihood from sorted log sizes and their prefix sums (O(log n) per call)."""
        mu, s, u, a, _, log_g_u, _, _, c = cls._parts(p)
        lu = math.log(u)
        k = int(np.searchsorted(lx, lu, side="right"))
        n = lx.size
        s1, s2 = c1[k], c2[k]
        body = (
            -0.5 * (s2 - 2 * mu * s1 + k * mu * mu) / (s * s)
            - s1
            - k * (math.log(s) + LOG_SQRT_2PI)
        )
        tail = (n - k) * log_g_u + (a + 1) * ((n - k) * lu - (c1[n] - s1))
        return n * math.log(c) + body + tail


class GB2:
    """Generalised beta of the second kind (see the module docstring). Vectorised."""

    names = ("a", "scale", "p", "q")

    @classmethod
    def _full(cls, p):
        return p["a"], p["scale"], p.get("p", 1.0), p.get("q", 1.0)

    @classmethod
    def _t(cls, x, p):
        """``a * ln(x / scale)``: z = exp(t)."""
        a, b, _, _ = cls._full(p)
        return a * (_log(x) - np.log(b))

    @classmethod
    def sf(cls, x, p):
        """Survival function: the share of sizes above ``x``."""
        _, _, pp, q = cls._full(p)
        t = cls._t(x, p)
        # S = I(1 / (1 + z); q, p); 1 / (1 + z) = expit(-t) keeps precision in both tails.
        return special.betainc(q, pp, special.expit(-t))

    @classmethod
    def cdf(cls, x, p):
        """Distribution function: the share of sizes at or below ``x``."""
        _, _, pp, q = cls._full(p)
        return special.betainc(pp, q, special.expit(cls._t(x, p)))

    @classmethod
    def logpdf(cls, x, p):
        """Log density at ``x``."""
        a, b, pp, q = cls._full(p)
        lx = _log(x)
        t = a * (lx - np.log(b))
        return np.log(a) + pp * t - lx - special.betaln(pp, q) - (pp + q) * np.logaddexp(0.0, t)

    @classmethod
    def ppf(cls, u, p):
        """Quantile function: the size at probability ``q``."""
        a, b, pp, q = cls._full(p)
        u = np.asarray(u, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            # y = z / (1 + z) from the lower tail, 1 - y from the upper tail (no cancellation).
            y = special.betaincinv(pp, q, u)
            w = special.betaincinv(q, pp, 1.0 - u)
            log_z = np.where(u <= 0.5, np.log(y) - np.log1p(-y), np.log1p(-w) - np.log(w))
            return b * np.exp(log_z / a)

    @classmethod
    def mean(cls, p):
        """Mean size (inf when the tail is too heavy to have one)."""
        a, b, pp, q = cls._full(p)
        a = np.asarray(a, dtype=float)
        with np.errstate(invalid="ignore", over="ignore"):
            out = b * np.exp(special.betaln(pp + 1 / a, q - 1 / a) - special.betaln(pp, q))
        return np.where(a * q > 1, out, np.inf)

    @classmethod
    def partial_expectation(cls, t, p):
        """E[X; X > t] = mean * I(1 / (1 + z_t); q - 1/a, p + 1/a)."""
        a, _, pp, q = cls._full(p)
        a = np.asarray(a, dtype=float)
        with np.errstate(invalid="ignore"):
            tail = special.betainc(q - 1 / a, pp + 1 / a, special.expit(-cls._t(t, p)))
        return np.where(a * q > 1, cls.mean(p) * tail, np.inf)


class Burr12(GB2):
    """Burr XII / Singh-Maddala: GB2 with p = 1 (``scipy.stats.burr12(c=a, d=q, scale)``)."""

    names = ("a", "scale", "q")

    @classmethod
    def _full(cls, p):
        return p["a"], p["scale"], 1.0, p["q"]


class Dagum(GB2):
    """Dagum (Burr III): GB2 with q = 1 (``scipy.stats.burr(c=a, d=p, scale)``)."""

    names = ("a", "scale", "p")

    @classmethod
    def _full(cls, p):
        return p["a"], p["scale"], p["p"], 1.0


FAMILY_CLASSES = {
    "lognormal": Lognormal,
    "pareto": Pareto,
    "lognormal_pareto": LognormalPareto,
    "burr12": Burr12,
    "dagum": Dagum,
    "gb2": GB2,
}
assert tuple(FAMILY_CLASSES) == FAMILIES


def to_theta(p: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    """Unconstrained coordinates: mu as is, every other (positive) parameter on a log scale."""
    return np.array([p[n] if n == "mu" else math.log(p[n]) for n in names])


# Plausible ranges (mu as is, the others on a log scale): they keep optimisers, and bootstrap
# refits in weakly identified directions, away from degenerate corners.
_THETA_BOUNDS = {
    "mu": (-10.0, 30.0),
    "sigma": (math.log(0.02), math.log(6.0)),
    "tail_from": (0.0, math.log(1e10)),
    "x_min": (math.log(1e-2), math.log(1e10)),
    "alpha": (math.log(0.05), math.log(20.0)),
    "a": (math.log(0.05), math.log(20.0)),
    "scale": (math.log(1e-2), math.log(1e12)),
    "p": (math.log(0.01), math.log(50.0)),
    "q": (math.log(0.01), math.log(50.0)),
}


def theta_bounds(names: Sequence[str]) -> list[tuple[float, float]]:
    """Plausible ranges of the unconstrained coordinates (see :func:`to_theta`)."""
    return [_THETA_BOUNDS[n] for n in names]


def from_theta(theta, names: Sequence[str], fixed: Mapping[str, float]) -> dict[str, float]:
    """Parameters from unconstrained coordinates (inverse of :func:`to_theta`), plus ``fixed``."""
    out = dict(fixed)
    for n, v in zip(names, theta, strict=True):
        out[n] = float(v) if n == "mu" else float(math.exp(min(v, 700.0)))
    return out


#: Parameters that carry the scale of each family: multiplying every size by c multiplies these
#: by c (``"log"``: adds ln c). Every family here is a scale family.
_SCALE_PARAMS = {
    "lognormal": {"mu": "log"},
    "pareto": {"x_min": "mul"},
    "lognormal_pareto": {"mu": "log", "tail_from": "mul"},
    "burr12": {"scale": "mul"},
    "dagum": {"scale": "mul"},
    "gb2": {"scale": "mul"},
}


def rescale(family: str, params, factor):
    """Parameters of ``factor * X`` for X of ``family`` with ``params``.

    Args:
        family: a family name.
        params: a dict of parameters or a DataFrame of draws (one row per draw).
        factor: a positive number, or an array with one factor per draw.

    Returns:
        The same type as ``params``, rescaled.
    """
    out = params.copy()
    factor = np.asarray(factor, dtype=float)
    for name, how in _SCALE_PARAMS[family].items():
        value = np.asarray(params[name], dtype=float)
        new = value + np.log(factor) if how == "log" else value * factor
        out[name] = float(new) if np.ndim(new) == 0 else new
    return out
