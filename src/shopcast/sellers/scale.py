"""The platform's scale: annual GMV per active seller = the platform's GMV / its active sellers.

A size distribution's shape can come from a proxy (Amazon's published concentration) but its scale
must come from the platform it describes: a proxy's mean times the platform's seller count implies
a total GMV the platform never sold. :func:`platform_scale` reads the platform's GMV and seller
count for one period from a facts file (kinds ``gmv_total``, ``n_sellers`` or ``n_registered``),
keeping only figures published by a vintage date (``as_of``), with their relative uncertainty
(``uncertainty`` column: one log-scale standard deviation, the convention of the GMV anchors).

Active sellers: an ``n_sellers`` fact of the same period is used as the active count. When only a
registered count (``n_registered``) is published, an active-to-registered share must be given as a
range (``active_share=(low, high)``, drawn uniformly); there is no published share to default to.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shopcast.exceptions import DataError, ParameterError

#: Uncertainty (log sd) of a scale figure whose facts row gives none: "about" (see data/README).
DEFAULT_UNCERTAINTY = 0.15
#: The report flags an implied total GMV that differs from the platform's by more than this factor.
DISAGREEMENT_FACTOR = 2.0


def published_date(text: object) -> dt.date | None:
    """The last day a ``published`` entry can mean (None when there is no date).

    ``2024-04-30`` is that day; ``2024-04`` is 30 Apr; ``2025`` or ``about 2021`` is 31 Dec.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    s = str(text).strip()
    m = re.search(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", s)
    if not m:
        return None
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    if day:
        return dt.date(year, int(month), int(day))
    if month:
        nxt = dt.date(year + int(month) // 12, int(month) % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    return dt.date(year, 12, 31)


def published_by(facts: pd.DataFrame, as_of: str | dt.date | None) -> np.ndarray:
    """Which facts were public on ``as_of`` (all when ``as_of`` is None or empty).

    A fact without a publication date counts as not public at any ``as_of``.
    """
    if as_of in (None, ""):
        return np.ones(len(facts), dtype=bool)
    limit = as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of))
    if "published" not in facts.columns:
        return np.zeros(len(facts), dtype=bool)
    dates = [published_date(v) for v in facts["published"]]
    return np.array([d is not None and d <= limit for d in dates], dtype=bool)


@dataclass(frozen=True)
class PlatformScale:
    """GMV and active sellers of one population over one period, with log-scale uncertainty.

    Attributes:
        population: e.g. ``"tiktok_shop_us"``.
        period: the period both figures describe (the facts' ``period``).
        gmv_usd, gmv_sd: annual GMV (geometric mean of the period's figures) and its log sd.
        n_sellers, n_sd: active sellers (point) and log sd (for a registered count times a share
            range, the point uses the range's middle and the draws the range itself).
        active_share: the (low, high) share applied to a registered count, or None.
        as_of: the vintage: only figures published by then were read.
        sources: the facts rows used.
    """

    population: str
    period: str
    gmv_usd: float
    gmv_sd: float
    n_sellers: float
    n_sd: float
    active_share: tuple[float, float] | None
    as_of: str | None
    sources: pd.DataFrame = field(repr=False)

    @property
    def mean_usd(self) -> float:
        """Mean annual GMV per active seller (point)."""
        return self.gmv_usd / self.n_sellers

    def draws(self, n: int, seed: int) -> pd.DataFrame:
        """``n`` joint draws of ``gmv_usd``, ``n_sellers`` and ``mean_usd``.

        Independent log-normal errors around the points; a registered count times a uniform share
        when one is given.
        """
        rng = np.random.default_rng(seed)
        gmv = self.gmv_usd * np.exp(rng.normal(0.0, self.gmv_sd, n))
        if self.active_share is None:
            sellers = self.n_sellers * np.exp(rng.normal(0.0, self.n_sd, n))
        else:
            registered = self.n_sellers / float(np.mean(self.active_share))
            share = rng.uniform(*self.active_share, n)
            sellers = registered * np.exp(rng.normal(0.0, self.n_sd, n)) * share
        return pd.DataFrame({"gmv_usd": gmv, "n_sellers": sellers, "mean_usd": gmv / sellers})


def _uncertainty(rows: pd.DataFrame) -> np.ndarray:
    if "uncertainty" not in rows.columns:
        return np.full(len(rows), DEFAULT_UNCERTAINTY)
    u = pd.to_numeric(rows["uncertainty"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(u) & (u > 0), u, DEFAULT_UNCERTAINTY)


def platform_scale(
    facts: pd.DataFrame,
    population: str,
    as_of: str | None = None,
    active_share: tuple[float, float] | None = None,
    source: str = "<facts>",
) -> PlatformScale:
    """The platform's GMV per active seller from a facts table (see the module docstring).

    Args:
        facts: loaded facts (:func:`shopcast.sellers.loaders.load_facts`).
        population: whose scale, e.g. ``"tiktok_shop_us"``.
        as_of: vintage (ISO date); figures published later are ignored. None uses every figure.
        active_share: (low, high) share of registered merchants that are active, used only when
            the period has no active count; required then.
        source: the facts' file, for messages.

    Returns:
        A :class:`PlatformScale` for the latest period with both a GMV figure and a seller count.

    Raises:
        DataError: no GMV figure, or no seller count, for the population by ``as_of``.
        ParameterError: a registered count only, and ``active_share`` missing or not in (0, 1].
    """
    file = source
    public = published_by(facts, as_of)
    mine = facts[(facts["population"] == population) & public]
    gmv = mine[mine["kind"] == "gmv_total"]
    when = f" published by {as_of}" if as_of else ""
    if gmv.empty:
        raise DataError(
            file,
            f"no gmv_total fact for population {population!r}{when}; add the platform's annual "
            "GMV (kind gmv_total, with period, published and uncertainty), choose a later as_of, "
            "or take the scale from the proxy (scale_from proxy)",
            column="kind",
        )
    periods = [p for p in gmv["period"].astype(str).unique()]
    counts = mine[mine["kind"].isin(["n_sellers", "n_registered"])]
    usable = [p for p in periods if (counts["period"].astype(str) == p).any()] or periods
    period = sorted(usable)[-1]
    g = gmv[gmv["period"].astype(str) == period]
    lg = np.log(g["value"].to_numpy(dtype=float))
    gmv_usd = float(np.exp(lg.mean()))
    gmv_sd = float(max(_uncertainty(g).max(), lg.std(ddof=1) if len(lg) > 1 else 0.0))
    active = counts[(counts["kind"] == "n_sellers") & (counts["period"].astype(str) == period)]
    registered = counts[counts["kind"] == "n_registered"]
    share = None
    if len(active):
        ln = np.log(active["value"].to_numpy(dtype=float))
        n, n_sd, used = float(np.exp(ln.mean())), float(_uncertainty(active).max()), active
    elif len(registered):
        if active_share is None:
            raise ParameterError(
                "active_share",
                None,
                f"a (low, high) range of the share of registered {population} merchants that "
                f"are active: {file} has a registered count but no active count for {period}, "
                "and no active share is published; give the range you assume, or add an "
                "n_sellers fact for the period",
            )
        lo, hi = (float(v) for v in active_share)
        if not 0 < lo <= hi <= 1:
            raise ParameterError("active_share", active_share, "0 < low <= high <= 1")
        used = registered.iloc[[-1]]
        share = (lo, hi)
        n = float(used["value"].iloc[0]) * (lo + hi) / 2
        n_sd = float(_uncertainty(used).max())
    else:
        raise DataError(
            file,
            f"no seller count (kind n_sellers or n_registered) for population {population!r}"
            f"{when}; add one, choose a later as_of, or take the scale from the proxy",
            column="kind",
        )
    return PlatformScale(
        population=population,
        period=period,
        gmv_usd=gmv_usd,
        gmv_sd=gmv_sd,
        n_sellers=n,
        n_sd=n_sd,
        active_share=share,
        as_of=str(as_of) if as_of else None,
        sources=pd.concat([g, used]),
    )


def implied_total_check(mean_usd: float, n_sellers: float, scale: PlatformScale) -> dict:
    """The total GMV a seller model implies (mean x N) next to the platform's figure.

    Returns:
        ``implied_total_usd``, ``platform_gmv_usd``, ``ratio`` (implied / platform),
        ``factor`` (the stated tolerance, :data:`DISAGREEMENT_FACTOR`) and ``disagrees`` (the
        ratio is outside ``[1 / factor, factor]``).
    """
    implied = float(mean_usd) * float(n_sellers)
    ratio = implied / scale.gmv_usd
    return {
        "implied_total_usd": implied,
        "platform_gmv_usd": scale.gmv_usd,
        "ratio": ratio,
        "factor": DISAGREEMENT_FACTOR,
        "disagrees": not (1 / DISAGREEMENT_FACTOR <= ratio <= DISAGREEMENT_FACTOR),
    }
