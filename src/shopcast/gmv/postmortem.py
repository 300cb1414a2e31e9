"""The post-mortem: the goal forecast re-run as of past dates, scored against what happened.

For each vintage (``as_of``) the goal forecast is re-run with one scenario's settings, seeing
only the figures published by then (:mod:`shopcast.gmv.vintage_runs`). Every figure published
later is an outcome of that forecast (:mod:`shopcast.gmv.outcomes`), scored by
:mod:`shopcast.gmv.outcome_scores`; :mod:`shopcast.gmv.postmortem_text` puts the result into
words and headline values. For a user's own series (observed history) the outcomes are the
months after each vintage's history, from the file as known today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shopcast.config import resolve_project_path
from shopcast.exceptions import ParameterError
from shopcast.forecasting import scoring
from shopcast.gmv.archive import append, forecast_records
from shopcast.gmv.goals import as_month, window_total
from shopcast.gmv.outcome_scores import calibration_summary, score_goals, score_vintage
from shopcast.gmv.outcomes import goal_outcomes, on_window, outcome_table
from shopcast.gmv.pipeline import ForecastSettings
from shopcast.gmv.vintage import parse_as_of
from shopcast.gmv.vintage_runs import GoalSpec, VintageForecast, VintageSpec, run_vintages
from shopcast.publish import sha256


@dataclass
class PostMortem:
    """Everything the post-mortem report shows.

    Attributes:
        vintages: the re-run forecasts (:class:`VintageForecast`), oldest first.
        outcomes: :func:`outcome_table`.
        scores: :func:`score_vintage` of every vintage, concatenated.
        settled: :func:`goal_outcomes`.
        goal_scores: :func:`score_goals`.
        goals: the goals scored; coverage: the coverage forecast.
    """

    vintages: list[VintageForecast]
    outcomes: pd.DataFrame
    scores: pd.DataFrame
    settled: pd.DataFrame
    goal_scores: pd.DataFrame
    goals: GoalSpec
    coverage: str
    notes: list[str] = field(default_factory=list)

    def forecast(self, as_of: str | pd.Timestamp) -> VintageForecast:
        """The vintage run as of ``as_of``."""
        day = parse_as_of(as_of)
        for vf in self.vintages:
            if vf.as_of == day:
                return vf
        raise ParameterError("as_of", as_of, "one of the post-mortem's vintages")

    @property
    def n_forecast(self) -> int:
        """How many vintages have a forecast."""
        return sum(vf.forecast is not None for vf in self.vintages)

    def archive_records(self) -> pd.DataFrame:
        """Every vintage's forecast as archive rows (with as_of, model and coverage)."""
        frames = [
            forecast_records(vf.forecast, self.goals.multiple).assign(
                as_of=f"{vf.as_of:%Y-%m-%d}", model=vf.forecast.model_name, coverage=self.coverage
            )
            for vf in self.vintages
            if vf.forecast is not None
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def calibration(self, reliability: tuple[str, ...] = ("reported",)) -> pd.DataFrame:
        """Coverage of central intervals by nominal level, over the listed reliabilities.

        Only estimate outcomes count (:func:`shopcast.forecasting.scoring.coverage_table`).
        """
        est = self.scores.loc[
            (self.scores["role"] == "estimate") & self.scores["reliability"].isin(reliability)
        ]
        return scoring.coverage_table(est["pit"].astype(float))

    def summary(self) -> pd.DataFrame:
        """Scores pooled over vintages, reported outcomes and all (:func:`calibration_summary`)."""
        return calibration_summary(self.scores)


def run_postmortem(
    vintages: list[pd.Timestamp],
    *,
    data_file: str | Path,
    coverage: str,
    segment: str = "",
    goals: GoalSpec,
    horizon_months: int,
    settings: ForecastSettings,
    n_draws: int,
    n_histories: int,
    n_samples: int,
    seed: int,
    known_by: str = "",
    engine: str = "serial",
    address: str | None = None,
    n_workers: int | None = None,
    client: Any = None,
) -> PostMortem:
    """Re-run the goal forecast at each vintage and score it against the outcomes.

    Args:
        vintages: the ``as_of`` dates (see :func:`vintage_dates`).
        data_file: the anchors table or a user's GMV CSV.
        coverage: the region forecast and scored.
        segment: segment of a user's CSV ('' sums all).
        goals: the goals scored.
        horizon_months: months forecast past each vintage's last history month.
        settings: the forecaster's settings.
        n_draws: reconstruction draws per vintage.
        n_histories: history draws a model is fitted on per vintage.
        n_samples: sample paths per vintage.
        seed: seeds every random step.
        known_by: the outcomes are the figures known on this date ("" = every figure in the file).
        engine: where the vintages run, ``"serial"`` or ``"dask"`` (see :func:`run_vintages`;
            the numbers are the same).
        address: a Dask scheduler address ("" or None: ``$SHOPCAST_DASK_ADDRESS`` or a
            LocalCluster).
        n_workers: workers of the LocalCluster (default one per core).
        client: an existing ``distributed.Client``.
    """
    spec = VintageSpec(
        data_file,
        coverage,
        segment,
        goals,
        horizon_months,
        settings,
        n_draws,
        n_histories,
        n_samples,
        seed,
    )
    runs = run_vintages(
        vintages, spec, engine=engine, address=address or None, n_workers=n_workers, client=client
    )
    outcomes = outcome_table(data_file, coverage, segment, known_by)
    scores = pd.concat([score_vintage(vf, outcomes, coverage) for vf in runs], ignore_index=True)
    settled = goal_outcomes(outcomes, coverage, goals)
    return PostMortem(
        vintages=runs,
        outcomes=outcomes,
        scores=scores,
        settled=settled,
        goal_scores=score_goals(runs, settled),
        goals=goals,
        coverage=coverage,
    )


def window_forecasts(pm: PostMortem, start: str, end: str) -> pd.DataFrame:
    """Each vintage's forecast of the total over months ``start``..``end``.

    Returns:
        DataFrame with columns as_of, p10, p50, p90 (USD), one row per vintage whose paths
        cover the window.
    """
    rows = []
    for vf in pm.vintages:
        if vf.forecast is None:
            continue
        try:
            totals = window_total(vf.forecast.paths, start, end).to_numpy()
        except ParameterError:
            continue
        p10, p50, p90 = np.quantile(totals, [0.1, 0.5, 0.9])
        rows.append({"as_of": vf.as_of, "p10": p10, "p50": p50, "p90": p90})
    return pd.DataFrame(rows, columns=["as_of", "p10", "p50", "p90"])


def window_outcomes(pm: PostMortem, start: str, end: str) -> pd.DataFrame:
    """The outcomes that are totals over exactly the months ``start``..``end``.

    Only those published after the first vintage (the others judge no forecast).
    """
    o = on_window(pm.outcomes, start, end)
    return o.loc[o["published_last"] > min(vf.as_of for vf in pm.vintages)]


def scored_windows(pm: PostMortem) -> list[tuple[str, str, str]]:
    """The windows worth a chart, as ``(start, end, label)``.

    The goal window, then each later calendar year that has an outcome.
    """
    g = pm.goals
    out = [(g.start, g.end, f"Goal window {g.start[:7]} to {g.end[:7]}")]
    first = as_month(g.end, "goal end").year + 1
    years = sorted({d.year for d in pm.outcomes["period_start"] if d.year >= first})
    for year in years:
        start, end = f"{year}-01-01", f"{year}-12-01"
        if len(window_outcomes(pm, start, end)) and len(window_forecasts(pm, start, end)):
            out.append((start, end, f"Calendar {year}"))
    return out


def archive_postmortem(
    pm: PostMortem, data_file: str | Path, notebook: str = "forecast_postmortem"
) -> Path:
    """Append every vintage's forecast to the forecast archive (one file for this run)."""
    records = pm.archive_records().assign(data_sha256=sha256(resolve_project_path(data_file)))
    return append(records, notebook=notebook)
