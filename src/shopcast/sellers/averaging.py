"""Model averaging over size families: weights, the pooled threshold sweep, each family's answer.

The choice of family moves the count above a high threshold far more than the bootstrap of any one
family does, so the headline interval pools them:

- **weights** (:func:`family_weights`): brackets and microdata have a likelihood, so each fitted
  family gets its Akaike weight ``exp(-dAIC / 2)``, normalised. Published facts have no
  likelihood: the fit minimises a weighted sum of squared residuals on the log (mean) and logit
  (shares) scales, and the weights treat that sum as a Gaussian pseudo-likelihood with the same
  noise the bootstrap assumes (``fact_noise``, 0.1 by default): criterion ``loss / noise**2 +
  2 k``, weights ``exp(-d / 2)``. Families that are not identified get no weight.
- **pooled draws** (:func:`averaged_sweep`): each family's bootstrap draws are resampled in
  proportion to its weight and pooled; P10/P90 are quantiles of the pool, so they cover both the
  family spread and each family's parameter uncertainty. The point value is the weighted mean of
  the families' point values.
- **scale**: with a :class:`~shopcast.sellers.scale.PlatformScale`, every family's distribution
  (point and each draw) is rescaled so its mean equals the platform's GMV per active seller (a
  draw of it, for the draws), and the seller count is the platform's (a draw, for the draws).
  Without one, the fitted distribution is used as is with a fixed ``n_sellers`` (the proxy's
  scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from shopcast.exceptions import DataError, ModelError, ParameterError
from shopcast.sellers.families import rescale
from shopcast.sellers.fitting import FamilyFits
from shopcast.sellers.model import SizeModel
from shopcast.sellers.scale import PlatformScale
from shopcast.sellers.thresholds import SWEEP_COLUMNS, check_thresholds

#: How many pooled draws the averaged intervals use.
N_POOLED = 4000

FAMILY_TABLE_COLUMNS = (
    "family", "n_params", "status", "weight", "sellers_staying", "sellers_staying_p10",
    "sellers_staying_p90", "share_sellers_staying", "share_gmv_kept", "mean_usd",
    "implied_total_usd", "reason",
)  # fmt: skip


def weight_rule(data_form: str) -> str:
    """The weighting rule in words, for a report."""
    if data_form == "facts":
        return (
            "published facts have no likelihood: each identified family is weighted by a "
            "Gaussian pseudo-likelihood of its fit residuals with the noise the bootstrap assumes "
            "(0.1 on the log/logit scale), penalised by 2 per parameter like the AIC: weight "
            "proportional to exp(-(loss / 0.1^2 + 2k) / 2)"
        )
    return "Akaike weights: proportional to exp(-(AIC - min AIC) / 2) over the fitted families"


def family_weights(fits: FamilyFits) -> dict[str, float]:
    """Weight of each fitted family (sums to 1; see the module docstring)."""
    crit = {}
    for fam, m in fits.items():
        if fits.data_form == "facts":
            crit[fam] = m.loss_ / m.fact_noise**2 + 2 * len(m._free)
        else:
            crit[fam] = m.aic_
    if not crit:
        raise ModelError("no fitted family to weigh")
    best = min(crit.values())
    raw = {f: float(np.exp(-(c - best) / 2)) for f, c in crit.items()}
    total = sum(raw.values())
    return {f: w / total for f, w in raw.items()}


def _scaled(model: SizeModel, params, target_mean):
    """Params rescaled so the mean is ``target_mean`` (array for draws)."""
    own = np.ravel(np.asarray(model.mean(params), dtype=float))
    factor = np.asarray(target_mean, dtype=float) / own
    return rescale(model.family, params, factor if factor.size > 1 else float(factor[0]))


def _family_answers(model, t, scale, n_sellers, seed):
    """Point and draws of (sellers above t, share of sellers, GMV share) for one family."""
    p = dict(model.params_)
    n_point = scale.n_sellers if scale is not None else float(n_sellers)
    if scale is not None:
        p = _scaled(model, p, scale.mean_usd)
    point = {
        "share": model.survival(t, p),
        "gmv": model.gmv_share_above(t, p),
        "n": n_point,
        "mean": float(model.mean(p)),
    }
    draws = model.boot_params_
    if draws is None or not len(draws):
        raise ModelError(
            f"{model.family}: no bootstrap draws; call bootstrap() (or fitted_models(n_boot=...))"
        )
    draws = draws.reset_index(drop=True)
    if scale is not None:
        s = scale.draws(len(draws), seed)
        draws = _scaled(model, draws, s["mean_usd"].to_numpy())
        n_draws = s["n_sellers"].to_numpy()[:, None]
    else:
        n_draws = np.full((len(draws), 1), float(n_sellers))
    share = model.survival(t, draws)
    gmv = model.gmv_share_above(t, draws)
    return point, share, gmv, share * n_draws


@dataclass(frozen=True)
class ModelAverage:
    """The families' answers pooled into one (see :func:`averaged_sweep`).

    Attributes:
        sweep: the averaged threshold sweep.
        per_family: each family's answer at each threshold (with the status of the others).
        weights: each fitted family's weight.
        weight_rule: how the weights were set, in words.
        n_pooled: bootstrap draws pooled for the P10-P90.
    """

    sweep: pd.DataFrame
    per_family: pd.DataFrame
    weights: dict[str, float]
    weight_rule: str
    n_pooled: int


def averaged_sweep(
    fits: FamilyFits,
    thresholds,
    scale: PlatformScale | None = None,
    n_sellers: int | None = None,
    seed: int = 0,
) -> ModelAverage:
    """The threshold sweep averaged over families, and every family's own answer.

    Args:
        fits: fitted families with bootstrap draws (:func:`~shopcast.sellers.fitting.fitted_models`
            with ``n_boot``).
        thresholds: dollar amounts, non-negative and increasing.
        scale: the platform's scale (mean per active seller and active sellers, with
            uncertainty); None keeps each fitted distribution's own scale with ``n_sellers``.
        n_sellers: the seller count when ``scale`` is None.
        seed: seed of the scale draws and of the pooling.

    Returns:
        A :class:`ModelAverage`: ``sweep`` has the columns of
        :func:`shopcast.sellers.thresholds.threshold_sweep` (point = weighted mean over families,
        P10/P90 over the pooled draws); ``per_family`` has one row per family tried and
        threshold (columns :data:`FAMILY_TABLE_COLUMNS` plus ``threshold``), with the status and
        reason of families that were not fitted; ``weights``, ``weight_rule`` and ``n_pooled``
        say how the families were pooled.
    """
    t = check_thresholds(thresholds)
    if scale is None and not (n_sellers and n_sellers > 0):
        raise ParameterError("n_sellers", n_sellers, "a positive count when no platform scale")
    weights = family_weights(fits)
    rng = np.random.default_rng(seed)
    points, pools, rows = {}, [], []
    for i, fam in enumerate(fits):
        point, share_b, gmv_b, sellers_b = _family_answers(fits[fam], t, scale, n_sellers, seed + i)
        points[fam] = point
        k = round(weights[fam] * N_POOLED)
        if k:
            pick = rng.integers(0, len(share_b), k)
            pools.append((share_b[pick], gmv_b[pick], sellers_b[pick]))
        s10, s90 = np.nanpercentile(sellers_b, [10, 90], axis=0)
        for j, thr in enumerate(t):
            rows.append(
                {
                    "threshold": thr,
                    "family": fam,
                    "n_params": len(fits[fam]._free),
                    "status": "fitted",
                    "weight": weights[fam],
                    "sellers_staying": point["share"][j] * point["n"],
                    "sellers_staying_p10": s10[j],
                    "sellers_staying_p90": s90[j],
                    "share_sellers_staying": point["share"][j],
                    "share_gmv_kept": point["gmv"][j],
                    "mean_usd": point["mean"],
                    "implied_total_usd": point["mean"] * point["n"],
                    "reason": "",
                }
            )
    for r in fits.status[fits.status["status"] != "fitted"].itertuples():
        for thr in t:
            rows.append(
                {"threshold": thr, "family": r.family, "n_params": r.n_params, "status": r.status}
                | {"weight": 0.0, "reason": r.reason}
            )
    share_p = np.concatenate([p[0] for p in pools])
    gmv_p = np.concatenate([p[1] for p in pools])
    sellers_p = np.concatenate([p[2] for p in pools])
    w = np.array([weights[f] for f in points])
    stack = {
        key: np.array([points[f][key] for f in points]) for key in ("share", "gmv")
    }  # fmt: skip
    n_stack = np.array([points[f]["n"] for f in points])[:, None]
    sweep = pd.DataFrame(
        {
            "threshold": t,
            "sellers_staying": (w[:, None] * stack["share"] * n_stack).sum(axis=0),
            "sellers_staying_p10": np.nanpercentile(sellers_p, 10, axis=0),
            "sellers_staying_p90": np.nanpercentile(sellers_p, 90, axis=0),
            "share_sellers_staying": (w[:, None] * stack["share"]).sum(axis=0),
            "share_sellers_staying_p10": np.nanpercentile(share_p, 10, axis=0),
            "share_sellers_staying_p90": np.nanpercentile(share_p, 90, axis=0),
            "share_gmv_kept": (w[:, None] * stack["gmv"]).sum(axis=0),
            "share_gmv_kept_p10": np.nanpercentile(gmv_p, 10, axis=0),
            "share_gmv_kept_p90": np.nanpercentile(gmv_p, 90, axis=0),
        },
        columns=list(SWEEP_COLUMNS),
    )
    per_family = pd.DataFrame(rows, columns=["threshold", *FAMILY_TABLE_COLUMNS])
    return ModelAverage(sweep, per_family, weights, weight_rule(fits.data_form), len(share_p))


def scaled_model(model: SizeModel, scale: PlatformScale | None) -> SizeModel:
    """A copy of ``model`` rescaled to the platform's mean (for the simulation); as is if None."""
    import copy

    out = copy.copy(model)
    if scale is not None:
        out.params_ = _scaled(model, dict(model.params_), scale.mean_usd)
        out.boot_params_ = None
    return out


@dataclass
class SellerAnswer:
    """Everything a seller report shows (see :func:`seller_answer`).

    Attributes:
        fits: every family's fit and status (:class:`~shopcast.sellers.fitting.FamilyFits`).
        scale: the platform's scale, or None when the scale is the proxy's.
        sweep: the model-averaged threshold sweep.
        per_family: each family's answer at each threshold (with the status of the others).
        model: the default family, rescaled to the platform's mean (for the simulation).
        n_sellers: the seller count the answers are for (the platform's active sellers, or the
            ``n_sellers`` parameter with the proxy's scale).
        check: the implied total GMV next to the platform's figure (None without one).
        notes: sentences for the report (fallback, scale source).
        platform_checks: the platform's own counts above a level (``n_above`` facts published by
            ``as_of``) against the averaged answer: ``fact_id``, ``level_usd``, ``observed``,
            ``predicted``, ``predicted_p10``, ``predicted_p90``, ``in_sample`` (the shape was
            fitted to these facts, so the check is no test), ``inside`` (observed within
            P10-P90). Empty when there is none or the scale is not the platform's.
        weights: each fitted family's weight in the average.
        weight_rule: how the weights were set, in words (for the report).
    """

    fits: FamilyFits
    scale: PlatformScale | None
    sweep: pd.DataFrame
    per_family: pd.DataFrame
    model: SizeModel
    n_sellers: float
    check: dict | None
    notes: list[str]
    platform_checks: pd.DataFrame
    weights: dict[str, float]
    weight_rule: str


def seller_answer(
    data_path,
    data_form: str,
    family: str,
    thresholds,
    n_sellers: int,
    n_boot: int,
    seed: int,
    as_of: str | None = None,
    shape_population: str = "amazon_us",
    platform: str = "tiktok_shop_us",
    scale_from: str = "platform",
) -> SellerAnswer:
    """Fit every family, take the scale from the platform, average: a seller report's numbers.

    The shape is fitted to ``data_path`` (facts of ``shape_population``, or brackets/microdata);
    with ``scale_from="platform"`` the scale comes from ``platform``'s GMV and active sellers in
    the same facts file (for brackets or microdata, from the embedded default facts file),
    published by ``as_of``. The implied total GMV (model mean x sellers) is checked against the
    platform's GMV figure whenever there is one.
    """
    from shopcast.config import DATA_DIR
    from shopcast.sellers.fitting import fitted_models
    from shopcast.sellers.loaders import load_facts
    from shopcast.sellers.scale import implied_total_check, platform_scale, published_by

    if scale_from not in ("platform", "proxy"):
        raise ParameterError("scale_from", scale_from, '"platform" or "proxy"')
    fits = fitted_models(
        data_path, data_form, n_sellers=n_sellers, n_boot=n_boot, seed=seed,
        populations=(shape_population,), as_of=as_of, requested=family,
    )  # fmt: skip
    facts_path = data_path if data_form == "facts" else DATA_DIR / "seller_size_facts.csv"
    try:
        known = platform_scale(
            load_facts(facts_path), platform, as_of=as_of, source=str(facts_path)
        )
    except (DataError, ParameterError):
        if scale_from == "platform":
            raise
        known = None
    scale = known if scale_from == "platform" else None
    average = averaged_sweep(fits, thresholds, scale=scale, n_sellers=n_sellers, seed=seed)
    model = scaled_model(fits[fits.default], scale)
    count = scale.n_sellers if scale is not None else float(n_sellers)
    weights = average.weights
    mean = sum(
        w * float(np.ravel(scaled_model(fits[f], scale).mean())[0]) for f, w in weights.items()
    )
    check = implied_total_check(mean, count, known) if known is not None else None
    notes = [fits.note] if fits.note else []
    checks = pd.DataFrame(
        columns=["fact_id", "level_usd", "observed", "predicted", "predicted_p10", "predicted_p90"]
    )
    if scale is not None:
        facts = load_facts(facts_path)
        mine = facts[
            (facts["population"] == platform)
            & (facts["kind"] == "n_above")
            & published_by(facts, as_of)
        ]
        if len(mine):
            levels = sorted(set(mine["level_usd"].astype(float)))
            at = averaged_sweep(fits, levels, scale=scale, seed=seed).sweep.set_index("threshold")
            checks = pd.DataFrame(
                {
                    "fact_id": mine["fact_id"].to_numpy(),
                    "level_usd": mine["level_usd"].to_numpy(dtype=float),
                    "observed": mine["value"].to_numpy(dtype=float),
                    "predicted": [at.loc[v, "sellers_staying"] for v in mine["level_usd"]],
                    "predicted_p10": [at.loc[v, "sellers_staying_p10"] for v in mine["level_usd"]],
                    "predicted_p90": [at.loc[v, "sellers_staying_p90"] for v in mine["level_usd"]],
                }
            )
    checks["in_sample"] = shape_population == platform and data_form == "facts"
    checks["inside"] = (checks["observed"] >= checks["predicted_p10"]) & (
        checks["observed"] <= checks["predicted_p90"]
    )
    return SellerAnswer(
        fits,
        scale,
        average.sweep,
        average.per_family,
        model,
        count,
        check,
        notes,
        checks,
        average.weights,
        average.weight_rule,
    )
