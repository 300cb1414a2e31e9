"""The post-mortem: the goal forecast re-run as of past dates, scored against what happened.

For each vintage (``as_of``) the goal forecast is re-run with one scenario's settings through
:func:`shopcast.gmv.pipeline.run_goal_forecast`, seeing only the figures published by then
(:mod:`shopcast.gmv.vintage`). Every figure published later is an outcome of that forecast:

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

For a user's own series (observed history) the outcomes are the months after each vintage's
history, from the file as known today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.config import resolve_project_path
from shopcast.exceptions import ParameterError, ShopcastError
from shopcast.forecasting import scoring
from shopcast.forecasting.base import unwrap
from shopcast.gmv.anchors import load_anchors
from shopcast.gmv.archive import QUANTILE_LEVELS, forecast_records
from shopcast.gmv.goals import window_total
from shopcast.gmv.pipeline import ForecastSettings, GoalForecast, _header, run_goal_forecast
from shopcast.gmv.reconstruct import implied_weights
from shopcast.gmv.regions import ancestors
from shopcast.gmv.series import load_gmv_csv
from shopcast.gmv.vintage import parse_as_of, split_by_vintage
from shopcast.publish import format_value

#: The columns of :func:`outcome_table`.
OUTCOME_COLUMNS = (
    "outcome_id",
    "coverage",
    "period_start",
    "period_end",
    "measure",
    "kind",
    "value_usd",
    "value_low_usd",
    "value_high_usd",
    "publisher",
    "published",
    "published_last",
    "reliability",
    "source_note",
)


def vintage_dates(
    first: str, last: str, step_months: int = 3, extra: tuple[str, ...] = ()
) -> list[pd.Timestamp]:
    """Month ends from ``first`` to ``last`` every ``step_months``, plus the ``extra`` dates.

    Quarter ends by default; sorted and unique.

    Raises:
        ParameterError: ``last`` before ``first`` or a step below 1.
    """
    start, end = parse_as_of(first, "first_vintage"), parse_as_of(last, "last_vintage")
    if start is None or end is None or end < start:
        raise ParameterError("last_vintage", last, f"an ISO date on or after first_vintage {first}")
    if not isinstance(step_months, int) or step_months < 1:
        raise ParameterError("vintage_step_months", step_months, "a whole number of months >= 1")
    dates = set(pd.date_range(start, end, freq=f"{step_months}ME"))
    dates.update(parse_as_of(d, "extra vintage") for d in extra if d)
    return sorted(dates)


@dataclass
class VintageForecast:
    """One vintage's re-run goal forecast (or why there is none).

    Attributes:
        as_of: the vintage.
        forecast: the :class:`GoalForecast`, or None when it could not be made.
        error: why not (the error's message), "" otherwise.
        seconds: how long the run took.
    """

    as_of: pd.Timestamp
    forecast: GoalForecast | None
    error: str = ""
    seconds: float = 0.0


@dataclass
class GoalSpec:
    """The goals a post-mortem scores (a scenario's goal settings)."""

    target_usd: float
    start: str
    end: str
    multiple: float
    base_start: str
    base_end: str


def run_vintages(
    vintages: list[pd.Timestamp],
    *,
    data_file: str | Path,
    coverage: str,
    segment: str,
    goals: GoalSpec,
    horizon_months: int,
    settings: ForecastSettings,
    n_draws: int,
    n_histories: int,
    n_samples: int,
    seed: int,
) -> list[VintageForecast]:
    """Re-run the goal forecast as of each vintage.

    A vintage whose data cannot carry a forecast (too few figures, a horizon too short) is kept
    with the reason, not dropped. Arguments as in :func:`run_postmortem`.
    """
    import time

    out = []
    for as_of in vintages:
        t0 = time.perf_counter()
        try:
            forecast = run_goal_forecast(
                data_file,
                coverage,
                segment,
                goals.target_usd,
                goals.start,
                goals.end,
                goals.multiple,
                goals.base_start,
                goals.base_end,
                horizon_months,
                settings,
                history_end="",
                n_draws=n_draws,
                n_histories=n_histories,
                n_samples=n_samples,
                seed=seed,
                as_of=f"{as_of:%Y-%m-%d}",
            )
            out.append(VintageForecast(as_of, forecast, "", time.perf_counter() - t0))
        except ShopcastError as exc:
            out.append(VintageForecast(as_of, None, str(exc), time.perf_counter() - t0))
    return out


def outcome_table(
    data_file: str | Path, coverage: str, segment: str = "", known_by: str = ""
) -> pd.DataFrame:
    """Every figure that can judge a forecast of ``coverage``, as known on ``known_by``.

    Anchors table: the figures on ``coverage`` and on its parts (a part's estimate or lower bound
    is a lower bound on the whole; ``coverage`` column says which). A user's CSV: one row per
    month of the series (latest revisions), ``published_last`` at the month's end.

    Returns:
        DataFrame with columns :data:`OUTCOME_COLUMNS` (``published_last`` a Timestamp).
    """
    path = resolve_project_path(data_file)
    if "anchor_id" not in _header(path):
        series = load_gmv_csv(path, segment=segment or None, as_of=known_by or None)
        months = pd.DatetimeIndex(series.index)
        ends = months + pd.offsets.MonthEnd(0)
        frame = pd.DataFrame(
            {
                "outcome_id": [f"{m:%Y-%m}" for m in months],
                "coverage": coverage,
                "period_start": months,
                "period_end": ends,
                "measure": "total",
                "kind": "estimate",
                "value_usd": series.to_numpy(float),
                "value_low_usd": series.to_numpy(float),
                "value_high_usd": series.to_numpy(float),
                "publisher": "your data file",
                "published": [f"{e:%Y-%m-%d}" for e in ends],
                "published_last": ends,
                "reliability": "reported",
                "source_note": f"{path.name}, month total",
            }
        )
        return frame[list(OUTCOME_COLUMNS)]
    anchors = load_anchors(path)
    known, _ = split_by_vintage(anchors, known_by or None, path)
    part_of = known["coverage"].map(lambda c: coverage in ancestors(c))
    keep = (known["coverage"] == coverage) | (
        part_of & known["kind"].isin(["estimate", "lower_bound"])
    )
    frame = known.loc[keep].rename(columns={"anchor_id": "outcome_id"})
    return frame[list(OUTCOME_COLUMNS)].reset_index(drop=True)


def _implied_samples(paths: pd.DataFrame, row: pd.Series) -> np.ndarray | None:
    """Per-sample value of the outcome's quantity on the paths, or None if outside them."""
    paths = unwrap(paths)[0]
    grid = pd.DatetimeIndex(pd.to_datetime(paths.columns), freq="MS")
    if row["period_start"] < grid[0] or row["period_end"] > grid[-1] + pd.offsets.MonthEnd(0):
        return None
    return paths.to_numpy(dtype=float) @ implied_weights(row, grid)


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


def _is_outcome(vf: VintageForecast, row: pd.Series) -> bool:
    fc = vf.forecast
    if fc.history_kind == "observed":
        return row["period_start"] > fc.last_actual
    return row["published_last"] > vf.as_of


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
        if not _is_outcome(vf, row):
            continue
        samples = _implied_samples(fc.paths, row)
        if samples is None:
            continue
        part = row["coverage"] != coverage
        role = "lower_bound" if part else row["kind"]
        value = float(row["value_usd"])
        end_month = row["period_end"].to_period("M").to_timestamp()
        lead = (end_month.year - fc.last_actual.year) * 12 + end_month.month - fc.last_actual.month
        record = {c: row.get(c) for c in SCORE_COLUMNS if c in row.index}
        p10, p50, p90 = np.quantile(samples, [0.1, 0.5, 0.9])
        record.update(
            as_of=vf.as_of,
            role=role,
            lead_months=lead,
            p10=p10,
            p50=p50,
            p90=p90,
            value_usd=value,
        )
        if role == "estimate":
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
            above = role == "lower_bound"
            what = f"{row['coverage'].replace('_', ' ')} figure" if part else "figure"
            record.update(
                event=f"{'above' if above else 'below'} {value / 1e9:,.3g} B ({what})",
                event_probability=float(np.mean(samples >= value if above else samples <= value)),
            )
            record["brier"] = scoring.brier_score(record["event_probability"], True)
            record["log_score"] = scoring.log_score(record["event_probability"], True, n)
        rows.append(record)
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))


def _month_end(month: str) -> pd.Timestamp:
    return pd.Timestamp(month).to_period("M").to_timestamp() + pd.offsets.MonthEnd(0)


def goal_outcomes(outcomes: pd.DataFrame, coverage: str, goals: GoalSpec) -> pd.DataFrame:
    """Whether each goal was met, according to each figure on the goal window.

    A figure on ``coverage`` whose period is exactly the goal window settles the absolute goal
    when it is an estimate, a lower bound at or above the target or an upper bound below it; a
    figure on a part settles it only when its lower bound reaches the target. The multiple goal is
    judged against the base window's reported estimates (their median), when there are any.

    Returns:
        DataFrame with columns goal (``absolute``/``multiple``), outcome_id, reliability,
        published_last, value_usd, threshold_usd and met (bool).
    """
    start = pd.Timestamp(goals.start).to_period("M").to_timestamp()
    on_window = outcomes.loc[
        (outcomes["period_start"] == start)
        & (outcomes["period_end"] == _month_end(goals.end))
        & (outcomes["measure"] == "total")
    ]
    base_start = pd.Timestamp(goals.base_start).to_period("M").to_timestamp()
    base = outcomes.loc[
        (outcomes["coverage"] == coverage)
        & (outcomes["period_start"] == base_start)
        & (outcomes["period_end"] == _month_end(goals.base_end))
        & (outcomes["measure"] == "total")
        & (outcomes["kind"] == "estimate")
        & (outcomes["reliability"] == "reported")
    ]
    base_value = float(base["value_usd"].median()) if len(base) else float("nan")
    rows = []
    for _, row in on_window.iterrows():
        part = row["coverage"] != coverage
        kind = "lower_bound" if part else row["kind"]
        for goal, threshold in (
            ("absolute", goals.target_usd),
            ("multiple", goals.multiple * base_value),
        ):
            if not np.isfinite(threshold):
                continue
            value = float(row["value_usd"])
            if kind == "estimate":
                met = value >= threshold
            elif kind == "lower_bound" and value >= threshold:
                met = True
            elif kind == "upper_bound" and value < threshold:
                met = False
            else:
                continue
            rows.append(
                {
                    "goal": goal,
                    "outcome_id": row["outcome_id"],
                    "reliability": row["reliability"],
                    "published_last": row["published_last"],
                    "value_usd": value,
                    "threshold_usd": threshold,
                    "met": bool(met),
                }
            )
    columns = [
        "goal",
        "outcome_id",
        "reliability",
        "published_last",
        "value_usd",
        "threshold_usd",
        "met",
    ]
    return pd.DataFrame(rows, columns=columns)


def score_goals(vintages: list[VintageForecast], settled: pd.DataFrame) -> pd.DataFrame:
    """Brier and log score of each vintage's goal probabilities, per settling figure.

    Only figures published after the vintage count (a goal settled by a figure the forecast
    already saw is not a forecast of it).

    Returns:
        DataFrame with columns as_of, goal, probability, outcome_id, reliability, met, brier,
        log_score.
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
    columns = [
        "as_of",
        "goal",
        "probability",
        "outcome_id",
        "reliability",
        "met",
        "brier",
        "log_score",
    ]
    return pd.DataFrame(rows, columns=columns)


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
    """
    runs = run_vintages(
        vintages,
        data_file=data_file,
        coverage=coverage,
        segment=segment,
        goals=goals,
        horizon_months=horizon_months,
        settings=settings,
        n_draws=n_draws,
        n_histories=n_histories,
        n_samples=n_samples,
        seed=seed,
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


def _usd(x: float) -> str:
    return format_value(float(x), "usd")


def _outcome_words(row: pd.Series) -> str:
    place = row["coverage"].replace("_", " ")
    period = f"{row['period_start']:%b %Y}-{row['period_end']:%b %Y}"
    if row["role"] == "estimate":
        band = "inside" if row["in_80"] else "outside"
        return (
            f"{place} {period}: {_usd(row['value_usd'])} ({row['outcome_id']}, "
            f"{row['reliability']}) fell at the forecast's {row['pit']:.0%} quantile, "
            f"{band} its 80% band"
        )
    return (
        f"{place} {period} {row['event']} ({row['outcome_id']}, {row['reliability']}): the "
        f"forecast gave that {row['event_probability']:.0%}"
    )


def vintage_summary(pm: PostMortem, min_months: int = 6) -> pd.DataFrame:
    """Per vintage, in words: what was known, what was forecast and what happened.

    "What happened" lists the outcomes over periods of at least ``min_months`` months (annual
    and half-year figures), reported ones first.
    """
    rows = []
    g = pm.goals
    for vf in pm.vintages:
        if vf.forecast is None:
            rows.append(
                {
                    "as of": f"{vf.as_of:%Y-%m-%d}",
                    "what was known": "not enough to forecast",
                    "what was forecast": f"no forecast: {vf.error}",
                    "what happened": "",
                }
            )
            continue
        fc = vf.forecast
        if fc.anchors is not None:
            latest = fc.anchors.sort_values("published_last").iloc[-1]
            known = (
                f"{len(fc.anchors)} figures; the history runs to {fc.last_actual:%b %Y}; the "
                f"latest published was {latest['anchor_id']} ({latest['published']})"
            )
        else:
            known = f"the series up to {fc.last_actual:%b %Y}"
        forecast = (
            f"{g.start[:7]} to {g.end[:7]}: median {_usd(fc.absolute.p50)} (80%: "
            f"{_usd(fc.absolute.p10)} to {_usd(fc.absolute.p90)}); P(>= {_usd(g.target_usd)}) "
            f"{fc.absolute.probability:.0%}; P(>= {g.multiple:g}x base) "
            f"{fc.multiple.probability:.0%}; model {fc.model_name}"
        )
        mine = pm.scores.loc[pm.scores["as_of"] == vf.as_of].copy()
        ends = pd.to_datetime(mine["period_end"]).dt.to_period("M")
        span = ends - pd.to_datetime(mine["period_start"]).dt.to_period("M")
        mine = mine.loc[span.map(lambda d: d.n + 1) >= min_months]
        mine["order"] = mine["reliability"].map({"reported": 0, "doubtful": 1, "projection": 2})
        mine = mine.sort_values(["order", "period_start", "outcome_id"])
        happened = "; ".join(_outcome_words(r) for _, r in mine.iterrows()) or "no outcome yet"
        rows.append(
            {
                "as of": f"{vf.as_of:%Y-%m-%d}",
                "what was known": known,
                "what was forecast": forecast,
                "what happened": happened,
            }
        )
    return pd.DataFrame(rows)


def calibration_summary(pm: PostMortem) -> pd.DataFrame:
    """Scores pooled over vintages, by the outcomes' reliability.

    Returns:
        DataFrame indexed by ``reliability`` (``reported``, ``all``) with columns n_estimates,
        in_50, in_80 (shares), mean_pit, crps_relative and wis_relative (means, as a share of
        the outcome), n_events and brier_events (mean Brier score of the bound events).
    """
    rows = {}
    for name, keep in (
        ("reported", ("reported",)),
        ("all", ("reported", "doubtful", "projection")),
    ):
        s = pm.scores.loc[pm.scores["reliability"].isin(keep)]
        est = s.loc[s["role"] == "estimate"]
        ev = s.loc[s["role"] != "estimate"]
        rows[name] = {
            "n_estimates": len(est),
            "in_50": est["in_50"].astype(float).mean(),
            "in_80": est["in_80"].astype(float).mean(),
            "mean_pit": est["pit"].astype(float).mean(),
            "crps_relative": est["crps_relative"].astype(float).mean(),
            "wis_relative": est["wis_relative"].astype(float).mean(),
            "n_events": len(ev),
            "brier_events": ev["brier"].astype(float).mean(),
        }
    return pd.DataFrame(rows).T.rename_axis("reliability")


def _month_start(value: object) -> pd.Timestamp:
    return pd.Timestamp(value).to_period("M").to_timestamp()


def window_outcomes(pm: PostMortem, start: str, end: str) -> pd.DataFrame:
    """The outcome figures that are totals over exactly the months ``start``..``end``."""
    o = pm.outcomes
    return o.loc[
        (o["measure"] == "total")
        & (o["period_start"] == _month_start(start))
        & (o["period_end"] == _month_end(end))
        & (o["published_last"] > min(vf.as_of for vf in pm.vintages))
    ]


def scored_windows(pm: PostMortem) -> list[tuple[str, str, str]]:
    """The windows worth a chart, as ``(start, end, label)``.

    The goal window, then each later calendar year that has an outcome.
    """
    g = pm.goals
    out = [(g.start, g.end, f"Goal window {g.start[:7]} to {g.end[:7]}")]
    first = _month_start(g.end).year + 1
    years = sorted({d.year for d in pm.outcomes["period_start"] if d.year >= first})
    for year in years:
        start, end = f"{year}-01-01", f"{year}-12-01"
        if len(window_outcomes(pm, start, end)) and len(window_forecasts(pm, start, end)):
            out.append((start, end, f"Calendar {year}"))
    return out


def headline_values(pm: PostMortem, call_as_of: str) -> dict[str, tuple[object, str, str | None]]:
    """The post-mortem's headline values: ``name -> (value, label, format)``, for ``publish``.

    The call is the vintage ``call_as_of``; the calibration figures pool every vintage over the
    estimates from reported figures.
    """
    vf = pm.forecast(call_as_of) if call_as_of else None
    fc = vf.forecast if vf is not None else None
    g = pm.goals
    day = f"{parse_as_of(call_as_of):%Y-%m-%d}" if call_as_of else "n/a"
    out: dict[str, tuple[object, str, str | None]] = {
        "call_probability_absolute": (
            None if fc is None else fc.absolute.probability,
            f"Call of {day}: P(GMV {g.start[:7]} to {g.end[:7]} >= {_usd(g.target_usd)})",
            ".0%",
        ),
        "call_probability_multiple": (
            None if fc is None else fc.multiple.probability,
            f"Call of {day}: P(>= {g.multiple:g}x {g.base_start[:4]})",
            ".0%",
        ),
        "call_window_p50": (None if fc is None else fc.absolute.p50, "Call: window median", "usd"),
        "call_window_p10": (None if fc is None else fc.absolute.p10, "Call: window P10", "usd"),
        "call_window_p90": (None if fc is None else fc.absolute.p90, "Call: window P90", "usd"),
    }
    reported_settle = pm.settled.loc[
        (pm.settled["goal"] == "absolute") & (pm.settled["reliability"] == "reported")
    ]
    out["goal_settled_by_reported_figure"] = (
        "no" if reported_settle.empty else ", ".join(reported_settle["outcome_id"]),
        "Goal settled by a reported figure",
        None,
    )
    est = pm.scores.loc[
        (pm.scores["role"] == "estimate") & (pm.scores["reliability"] == "reported")
    ]
    ev = pm.scores.loc[(pm.scores["role"] != "estimate") & (pm.scores["reliability"] == "reported")]
    n_runs = sum(v.forecast is not None for v in pm.vintages)
    out.update(
        {
            "vintages_forecast": (n_runs, "Vintages with a forecast", None),
            "n_scored_estimates": (len(est), "Reported estimates scored (all vintages)", None),
            "coverage_80": (
                est["in_80"].astype(float).mean() if len(est) else None,
                "Share inside the 80% interval",
                ".0%",
            ),
            "coverage_50": (
                est["in_50"].astype(float).mean() if len(est) else None,
                "Share inside the 50% interval",
                ".0%",
            ),
            "mean_pit": (
                est["pit"].astype(float).mean() if len(est) else None,
                "Mean PIT (0.5 if unbiased)",
                ".2f",
            ),
            "brier_bound_events": (
                ev["brier"].astype(float).mean() if len(ev) else None,
                "Mean Brier score of the reported bounds",
                ".3f",
            ),
        }
    )
    return out


def archive_postmortem(
    pm: PostMortem, data_file: str | Path, notebook: str = "forecast_postmortem"
) -> Path:
    """Append every vintage's forecast to the forecast archive (one file for this run)."""
    from shopcast.gmv.archive import append
    from shopcast.publish import sha256

    records = pm.archive_records().assign(data_sha256=sha256(resolve_project_path(data_file)))
    return append(records, notebook=notebook)


def archive_note(pm: PostMortem, path: Path) -> str:
    """Markdown: where this run's archived rows are and how to read them back."""
    n = sum(vf.forecast is not None for vf in pm.vintages)
    return (
        f"This run's forecasts ({n} vintages: quantiles 1% to 99% of every month, of the goal "
        "window and of every calendar year, and both goal probabilities) were appended to the "
        f"forecast archive as `{path}` (one file per run, never rewritten; its last line holds "
        "its row count and SHA-256). Read every archived forecast back with "
        "`shopcast.gmv.archive.read_archive()`, which refuses a corrupt or cut-short file."
    )
