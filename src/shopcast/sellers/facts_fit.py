"""Fitting a size family to published summary facts (means, shares above a level, top-N shares).

The weighted least-squares fit of :meth:`SizeModel.fit_facts
<shopcast.sellers.model.SizeModel.fit_facts>`, mixed into the model, with the helpers that turn a
facts table into the arrays its loss is evaluated on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, NotIdentifiedError, ParameterError
from shopcast.sellers.families import BIG, from_theta, to_theta
from shopcast.sellers.loaders import (
    DEFAULT_POPULATIONS,
    FACT_KINDS,
    fact_label,
    load_facts,
    source_label,
)
from shopcast.sellers.scale import published_by


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


class FactsFit:
    """The facts fit of a size model (mixed into SizeModel)."""

    def fit_facts(
        self,
        data: str | Path | pd.DataFrame,
        populations: Sequence[str] = DEFAULT_POPULATIONS,
        kinds: Sequence[str] | None = None,
        as_of: str | None = None,
    ) -> Self:
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
        self.source_, self.data_form_ = source_label(data, "facts"), "facts"
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
