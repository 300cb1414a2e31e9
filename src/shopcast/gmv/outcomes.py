"""What happened: the figures that judge a forecast, and whether they settle its goals.

Every figure published after a vintage is an outcome of that vintage's forecast. A figure on the
forecast's own coverage is compared with the forecast of the same quantity; a figure on a part
of the coverage (e.g. Southeast Asia inside global) bounds the whole from below. For a user's own
series (observed history) the outcomes are its months.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from shopcast.config import resolve_project_path
from shopcast.gmv.anchors import CONSTRAINT_COLUMNS, load_anchors
from shopcast.gmv.goals import as_month
from shopcast.gmv.pipeline import is_anchors_table
from shopcast.gmv.regions import ancestors
from shopcast.gmv.series import load_gmv_csv
from shopcast.gmv.vintage import split_by_vintage

if TYPE_CHECKING:
    from shopcast.gmv.vintage_runs import GoalSpec

#: The columns of :func:`outcome_table`: what an anchor constrains (its id as ``outcome_id``,
#: without the reconstruction's ``uncertainty``), then where it comes from.
OUTCOME_COLUMNS = (
    "outcome_id",
    *(c for c in CONSTRAINT_COLUMNS if c not in ("anchor_id", "uncertainty")),
    "publisher",
    "published",
    "published_last",
    "reliability",
    "source_note",
)
#: The columns of :func:`goal_outcomes`.
SETTLED_COLUMNS = (
    "goal",
    "outcome_id",
    "reliability",
    "published_last",
    "value_usd",
    "threshold_usd",
    "met",
)


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
    if not is_anchors_table(path):
        series = load_gmv_csv(path, segment=segment or None, as_of=known_by or None)
        months = pd.DatetimeIndex(series.index)
        ends = months + pd.offsets.MonthEnd(0)
        values = series.to_numpy(float)
        frame = pd.DataFrame(
            {
                "outcome_id": [f"{m:%Y-%m}" for m in months],
                "coverage": coverage,
                "period_start": months,
                "period_end": ends,
                "measure": "total",
                "kind": "estimate",
                "value_usd": values,
                "value_low_usd": values,
                "value_high_usd": values,
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


def role(row: pd.Series, coverage: str) -> str:
    """How an outcome judges a forecast of ``coverage``.

    ``estimate``, ``lower_bound`` or ``upper_bound`` as the figure says; a figure on a part of
    the coverage is a lower bound on the whole.
    """
    return "lower_bound" if row["coverage"] != coverage else str(row["kind"])


def month_end(month: object) -> pd.Timestamp:
    """The last day of the month of ``month``."""
    return as_month(month, "month") + pd.offsets.MonthEnd(0)


def on_window(outcomes: pd.DataFrame, start: object, end: object) -> pd.DataFrame:
    """The outcomes that are totals over exactly the months ``start``..``end``."""
    return outcomes.loc[
        (outcomes["measure"] == "total")
        & (outcomes["period_start"] == as_month(start, "start"))
        & (outcomes["period_end"] == month_end(end))
    ]


def goal_outcomes(outcomes: pd.DataFrame, coverage: str, goals: GoalSpec) -> pd.DataFrame:
    """Whether each goal was met, according to each figure on the goal window.

    A figure on ``coverage`` whose period is exactly the goal window settles the absolute goal
    when it is an estimate, a lower bound at or above the target or an upper bound below it; a
    figure on a part settles it only when its lower bound reaches the target. The multiple goal is
    judged against the base window's reported estimates (their median), when there are any.

    Returns:
        DataFrame with columns :data:`SETTLED_COLUMNS`: goal (``absolute``/``multiple``),
        outcome_id, reliability, published_last, value_usd, threshold_usd and met (bool).
    """
    base = on_window(outcomes, goals.base_start, goals.base_end)
    base = base.loc[
        (base["coverage"] == coverage)
        & (base["kind"] == "estimate")
        & (base["reliability"] == "reported")
    ]
    base_value = float(base["value_usd"].median()) if len(base) else float("nan")
    thresholds = {"absolute": goals.target_usd, "multiple": goals.multiple * base_value}
    rows = []
    for _, row in on_window(outcomes, goals.start, goals.end).iterrows():
        kind = role(row, coverage)
        value = float(row["value_usd"])
        for goal, threshold in thresholds.items():
            if not np.isfinite(threshold):
                continue
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
    return pd.DataFrame(rows, columns=list(SETTLED_COLUMNS))
