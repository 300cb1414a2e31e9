"""Scoring a vintage's forecast against the outcomes published after it.

- an outcome on the forecast's own coverage is compared with the forecast of the same quantity
  (a period total, a monthly or daily rate: the same linear weights the reconstruction uses,
  :func:`shopcast.gmv.reconstruct.implied_weights`, applied to each sample path);
- an estimate gets a PIT (its quantile in the forecast), 50% and 80% interval hits, the CRPS of
  the sample and the weighted interval score of the archived quantiles;
- a lower or upper bound (and an estimate or lower bound on a part of the coverage, e.g. Southeast
  Asia inside global, which bounds the whole from below) is an event: "the quantity is above
  the bound" happened, and the forecast gave it a probability: Brier and log scores;
- the goals are events too: an outcome on the goal window says whether the goal was met, and the
  goal probability is scored (Brier, log).

The scoring rules themselves are :mod:`shopcast.forecasting.scoring`.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from shopcast.forecasting import scoring
from shopcast.forecasting.base import unwrap
from shopcast.gmv.archive import QUANTILE_LEVELS
from shopcast.gmv.outcomes import role
from shopcast.gmv.reconstruct import implied_weights
from shopcast.gmv.vintage_runs import VintageForecast

SCORE_COLUMNS = (
    "as_of",
    "outcome_id",
    "coverage",
    "period_start",
    "period_end",
    "measure",
    "kind",
    "role",
    "value_usd",
    "reliability",
    "publisher",
    "published",
    "lead_months",
    "p10",
    "p50",
    "p90",
    "pit",
    "in_50",
    "in_80",
    "crps",
    "crps_relative",
    "wis_relative",
    "event",
    "event_probability",
    "brier",
    "log_score",
)
#: The columns of :func:`score_goals`.
GOAL_SCORE_COLUMNS = (
    "as_of",
    "goal",
    "probability",
    "outcome_id",
    "reliability",
    "met",
    "brier",
    "log_score",
)
#: The reliability labels of the outcomes, best first; "all" pools them.
RELIABILITIES = ("reported", "doubtful", "projection")


def _implied_samples(paths: pd.DataFrame, row: pd.Series) -> np.ndarray | None:
    """Per-sample value of the outcome's quantity on the paths, or None if outside them."""
    paths = unwrap(paths)[0]
    grid = pd.DatetimeIndex(pd.to_datetime(paths.columns), freq="MS")
    if row["period_start"] < grid[0] or row["period_end"] > grid[-1] + pd.offsets.MonthEnd(0):
        return None
    return paths.to_numpy(dtype=float) @ implied_weights(row, grid)


def _is_outcome(vf: VintageForecast, published_last: pd.Timestamp, period_start) -> bool:
    """Whether a figure is an outcome of ``vf``.

    It is when published after the vintage; for an observed series, when a month after its
    history.
    """
    fc = vf.forecast
    if fc.history_kind == "observed":
        return period_start > fc.last_actual
    return published_last > vf.as_of


def score_vintage(vf: VintageForecast, outcomes: pd.DataFrame, coverage: str) -> pd.DataFrame:
    """Score one vintage's forecast against every outcome published after it.

    Returns:
        DataFrame with columns :data:`SCORE_COLUMNS`, one row per outcome inside the paths:
        ``role`` is ``estimate`` (PIT, interval hits, CRPS in USD and relative to the outcome,
        WIS of the archived quantiles relative to the outcome) or ``lower_bound`` /
        ``upper_bound`` (``event`` describes it; ``event_probability`` is the forecast's
        probability of it; Brier and log scores); ``lead_months`` counts months from the
        vintage's last history month to the outcome period's last month.
    """
    fc = vf.forecast
    rows = []
    if fc is None:
        return pd.DataFrame(columns=list(SCORE_COLUMNS))
    n = len(fc.paths)
    for _, row in outcomes.iterrows():
        if not _is_outcome(vf, row["published_last"], row["period_start"]):
            continue
        samples = _implied_samples(fc.paths, row)
        if samples is None:
            continue
        kind = role(row, coverage)
        value = float(row["value_usd"])
        end_month = row["period_end"].to_period("M").to_timestamp()
        lead = (end_month.year - fc.last_actual.year) * 12 + end_month.month - fc.last_actual.month
        record = {c: row.get(c) for c in SCORE_COLUMNS if c in row.index}
        p10, p50, p90 = np.quantile(samples, [0.1, 0.5, 0.9])
        record.update(
            as_of=vf.as_of, role=kind, lead_months=lead, p10=p10, p50=p50, p90=p90, value_usd=value
        )
        if kind == "estimate":
            quantiles = dict(
                zip(QUANTILE_LEVELS, np.quantile(samples, QUANTILE_LEVELS), strict=True)
            )
            record.update(
                pit=scoring.pit(samples, value),
                in_50=scoring.interval_hit(samples, value, 0.5),
                in_80=scoring.interval_hit(samples, value, 0.8),
                crps=scoring.crps_samples(samples, value),
                wis_relative=scoring.weighted_interval_score(quantiles, value) / value,
            )
            record["crps_relative"] = record["crps"] / value
        else:
            above = kind == "lower_bound"
            part = row["coverage"] != coverage
            what = f"{row['coverage'].replace('_', ' ')} figure" if part else "figure"
            record.update(
                event=f"{'above' if above else 'below'} {value / 1e9:,.3g} B ({what})",
                event_probability=float(np.mean(samples >= value if above else samples <= value)),
            )
            record["brier"] = scoring.brier_score(record["event_probability"], True)
            record["log_score"] = scoring.log_score(record["event_probability"], True, n)
        rows.append(record)
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def score_goals(vintages: list[VintageForecast], settled: pd.DataFrame) -> pd.DataFrame:
    """Brier and log score of each vintage's goal probabilities, per settling figure.

    Only figures published after the vintage count (a goal settled by a figure the forecast
    already saw is not a forecast of it).

    Returns:
        DataFrame with columns :data:`GOAL_SCORE_COLUMNS`.
    """
    rows = []
    for vf in vintages:
        if vf.forecast is None:
            continue
        probs = {
            "absolute": vf.forecast.absolute.probability,
            "multiple": vf.forecast.multiple.probability,
        }
        n = vf.forecast.absolute.n_samples
        for _, s in settled.iterrows():
            if s["published_last"] <= vf.as_of and vf.forecast.history_kind != "observed":
                continue
            p = probs[s["goal"]]
            rows.append(
                {
                    "as_of": vf.as_of,
                    "goal": s["goal"],
                    "probability": p,
                    "outcome_id": s["outcome_id"],
                    "reliability": s["reliability"],
                    "met": s["met"],
                    "brier": scoring.brier_score(p, s["met"]),
                    "log_score": scoring.log_score(p, s["met"], n),
                }
            )
    return pd.DataFrame(rows, columns=list(GOAL_SCORE_COLUMNS))


def pooled_scores(scores: pd.DataFrame, reliability: Iterable[str]) -> dict[str, float]:
    """The scores of :func:`score_vintage` pooled over vintages, for outcomes of ``reliability``.

    Returns:
        n_estimates, in_50, in_80 (shares inside the intervals), mean_pit, crps_relative and
        wis_relative (means, as a share of the outcome) over the estimates; n_events and
        brier_events (mean Brier score) over the bound events. A mean over nothing is NaN.
    """
    s = scores.loc[scores["reliability"].isin(tuple(reliability))]
    est = s.loc[s["role"] == "estimate"]
    ev = s.loc[s["role"] != "estimate"]

    def mean(frame: pd.DataFrame, column: str) -> float:
        return float(frame[column].astype(float).mean()) if len(frame) else float("nan")

    return {
        "n_estimates": len(est),
        "in_50": mean(est, "in_50"),
        "in_80": mean(est, "in_80"),
        "mean_pit": mean(est, "pit"),
        "crps_relative": mean(est, "crps_relative"),
        "wis_relative": mean(est, "wis_relative"),
        "n_events": len(ev),
        "brier_events": mean(ev, "brier"),
    }


def calibration_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """:func:`pooled_scores` over the reported outcomes and over all of them.

    Returns:
        DataFrame indexed by ``reliability`` (``reported``, ``all``) with the columns of
        :func:`pooled_scores`.
    """
    rows = {
        "reported": pooled_scores(scores, ("reported",)),
        "all": pooled_scores(scores, RELIABILITIES),
    }
    return pd.DataFrame(rows).T.rename_axis("reliability")
