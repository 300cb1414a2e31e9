"""What a reconstruction rests on: each published figure's residual, each month's support.

:func:`residual_table` says, per anchor, how :func:`~shopcast.gmv.reconstruct.reconstruct` linked
and used it and what the fitted draws imply for it; :func:`month_support` says, per month, which
figures cover it and whether they pin it down (the nowcast's "rests on" table in the goal report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Tolerance of ``within_tolerance``, in anchor sigmas.
TOLERANCE_SIGMAS = 2.0
#: What a month of the reconstruction rests on, strongest first (:func:`month_support`).
EVIDENCE = ("estimate", "partial", "interpolated", "extrapolated")
RESIDUAL_COLUMNS = (
    "anchor_id",
    "coverage",
    "measure",
    "kind",
    "period_start",
    "period_end",
    "used",
    "link",
    "role",
    "compared_with",
    "value_usd",
    "value_low_usd",
    "value_high_usd",
    "sigma",
    "implied_usd",
    "implied_p10_usd",
    "implied_p90_usd",
    "rel_error",
    "within_tolerance",
    "note",
)


#: The residual table's columns copied from the anchor itself.
_ANCHOR_FIELDS = (*RESIDUAL_COLUMNS[:6], "value_usd", "value_low_usd", "value_high_usd")


def month_start(value: str | pd.Timestamp) -> pd.Timestamp:
    """The first day of the month containing ``value``."""
    return pd.Timestamp(value).to_period("M").to_timestamp()


def month_support(
    residuals: pd.DataFrame, draws: pd.DataFrame, coverage: str, members: tuple[str, ...] = ()
) -> pd.DataFrame:
    """What each month of a reconstruction rests on (see :attr:`Reconstruction.support`).

    A figure supports the months its period overlaps (a single-day rate: the month containing
    the day), if it entered the fit.

    Args:
        residuals: the reconstruction's residuals table (which figures were used, and how).
        draws: its draws (columns: the month grid).
        coverage: the coverage reconstructed.
        members: the fitted series that add up to it (estimates of all of them pin it down,
            as an estimate of the coverage itself does).
    """
    grid = pd.DatetimeIndex(draws.columns)
    used = residuals[residuals["used"].astype(bool)]
    labels = {"estimate": "estimate", "lower_bound": "lower bound", "upper_bound": "upper bound"}
    rests: list[list[str]] = [[] for _ in grid]
    estimated: list[set[str]] = [set() for _ in grid]
    for _, row in used.iterrows():
        first, last = month_start(row["period_start"]), month_start(row["period_end"])
        for m, month in enumerate(grid):
            if first <= month <= last:
                rests[m].append(f"{row['anchor_id']} ({labels[row['role']]})")
                if row["role"] == "estimate" and row["link"] == "exact":
                    estimated[m].add(row["compared_with"])
    parts = set(members) or {coverage}
    pinned = np.array([coverage in e or parts <= e for e in estimated])
    pinned_at = np.flatnonzero(pinned)
    evidence = []
    for m in range(len(grid)):
        if pinned[m]:
            evidence.append("estimate")
        elif rests[m]:
            evidence.append("partial")
        elif pinned_at.size and pinned_at.min() < m < pinned_at.max():
            evidence.append("interpolated")
        else:
            evidence.append("extrapolated")
    q10, q90 = draws.quantile(0.1).to_numpy(), draws.quantile(0.9).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(q10 > 0, q90 / q10, np.nan)
    return pd.DataFrame(
        {
            "rests_on": ["; ".join(r) for r in rests],
            "n_figures": [len(r) for r in rests],
            "evidence": evidence,
            "p90_over_p10": spread,
        },
        index=pd.DatetimeIndex(grid, freq="MS", name="month"),
    )


def residual_table(anchors, links, notes, used_idx, A, x, sigma, role, components, n_months, paths):  # noqa: ARG001
    """One row per anchor: how it was linked and used, and what the fit implies for it.

    See :attr:`~shopcast.gmv.reconstruct.Reconstruction.residuals` for the columns.
    """
    records = []
    position = {i: j for j, i in enumerate(used_idx)}
    for i, row in anchors.iterrows():
        link, used_role, members, compared, note = links[i]
        record = {c: row[c] for c in _ANCHOR_FIELDS}
        record.update(
            used=i in position,
            link=link,
            role=used_role,
            compared_with=compared,
            note=notes.get(i, note),
            sigma=np.nan,
            implied_usd=np.nan,
            implied_p10_usd=np.nan,
            implied_p90_usd=np.nan,
            rel_error=np.nan,
            within_tolerance=pd.NA,
        )
        if i in position:
            j = position[i]
            w = next(A[j, k * n_months : (k + 1) * n_months] for k in members)
            per_draw = paths(members) @ w
            implied = float(np.median(paths(members), axis=0) @ w)
            s = float(sigma[j])
            lo, hi = row["value_low_usd"], row["value_high_usd"]
            if role[j] == 0:
                ok = (
                    lo * np.exp(-TOLERANCE_SIGMAS * s)
                    <= implied
                    <= hi * np.exp(TOLERANCE_SIGMAS * s)
                )
            elif role[j] < 0:
                ok = implied >= lo * np.exp(-TOLERANCE_SIGMAS * s)
            else:
                ok = implied <= hi * np.exp(TOLERANCE_SIGMAS * s)
            record.update(
                sigma=s,
                implied_usd=implied,
                implied_p10_usd=float(np.quantile(per_draw, 0.1)),
                implied_p90_usd=float(np.quantile(per_draw, 0.9)),
                rel_error=implied / row["value_usd"] - 1,
                within_tolerance=bool(ok),
            )
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(RESIDUAL_COLUMNS))
    frame["within_tolerance"] = frame["within_tolerance"].astype("boolean")
    return frame
