"""Seller size families: lognormal, Pareto and the lognormal-Pareto splice (closed forms)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import special

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
BIG = 1e100


# ---------------------------------------------------------------------------------------------
# Families: vectorised closed forms. ``p`` is a mapping of parameter arrays that broadcast with x.
# ---------------------------------------------------------------------------------------------


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(x, dtype=float))


class Lognormal:
    names = ("mu", "sigma")

    @staticmethod
    def sf(x, p):
        return special.ndtr(-(_log(x) - p["mu"]) / p["sigma"])

    @staticmethod
    def logpdf(x, p):
        lx = _log(x)
        z = (lx - p["mu"]) / p["sigma"]
        return -0.5 * z * z - lx - np.log(p["sigma"]) - LOG_SQRT_2PI

    @staticmethod
    def ppf(q, p):
        return np.exp(p["mu"] + p["sigma"] * special.ndtri(q))

    @staticmethod
    def mean(p):
        return np.exp(p["mu"] + 0.5 * p["sigma"] ** 2)

    @staticmethod
    def partial_expectation(t, p):
        """E[X; X > t]."""
        mu, s = p["mu"], p["sigma"]
        return np.exp(mu + 0.5 * s * s) * special.ndtr((mu + s * s - _log(t)) / s)


class Pareto:
    names = ("x_min", "alpha")

    @staticmethod
    def sf(x, p):
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", over="ignore"):
            return np.minimum(1.0, (p["x_min"] / x) ** p["alpha"])

    @staticmethod
    def logpdf(x, p):
        lx = _log(x)
        xm, a = p["x_min"], p["alpha"]
        out = np.log(a) + a * np.log(xm) - (a + 1) * lx
        return np.where(np.asarray(x) >= xm, out, -np.inf)

    @staticmethod
    def ppf(q, p):
        return p["x_min"] * (1 - np.asarray(q, dtype=float)) ** (-1 / p["alpha"])

    @staticmethod
    def mean(p):
        a = np.asarray(p["alpha"], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 1, a * p["x_min"] / (a - 1), np.inf)

    @staticmethod
    def partial_expectation(t, p):
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
        mu, s, u, a, _, _, _, tail, c = cls._parts(p)
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore", over="ignore"):
            below = 1 - c * special.ndtr((_log(x) - mu) / s)
            above = c * tail * (u / x) ** a
        return np.where(x <= u, below, above)

    @classmethod
    def logpdf(cls, x, p):
        mu, s, u, a, _, log_g_u, _, _, c = cls._parts(p)
        lx = _log(x)
        z = (lx - mu) / s
        below = -0.5 * z * z - lx - np.log(s) - LOG_SQRT_2PI
        above = log_g_u + (a + 1) * (np.log(u) - lx)
        return np.log(c) + np.where(np.asarray(x) <= u, below, above)

    @classmethod
    def ppf(cls, q, p):
        mu, s, u, a, _, _, body, tail, c = cls._parts(p)
        q = np.asarray(q, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            x_body = np.exp(mu + s * special.ndtri(np.minimum(q / c, 1.0)))
            x_tail = u * (c * tail / (1 - q)) ** (1 / a)
        return np.where(q <= c * body, x_body, x_tail)

    @classmethod
    def partial_expectation(cls, t, p):
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


FAMILY_CLASSES = {"lognormal": Lognormal, "pareto": Pareto, "lognormal_pareto": LognormalPareto}


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
}


def theta_bounds(names: Sequence[str]) -> list[tuple[float, float]]:
    return [_THETA_BOUNDS[n] for n in names]


def from_theta(theta, names: Sequence[str], fixed: Mapping[str, float]) -> dict[str, float]:
    out = dict(fixed)
    for n, v in zip(names, theta, strict=True):
        out[n] = float(v) if n == "mu" else float(math.exp(min(v, 700.0)))
    return out
