"""The post-mortem summed up: its headline values, and a table of each vintage in words."""

from __future__ import annotations

import pandas as pd

from shopcast.gmv.outcome_scores import pooled_scores
from shopcast.gmv.postmortem import PostMortem
from shopcast.gmv.vintage import parse_as_of
from shopcast.publish import format_value

#: The order "what happened" lists the outcomes in, by reliability.
_RELIABILITY_ORDER = {"reported": 0, "doubtful": 1, "projection": 2}


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

    Returns:
        DataFrame with columns "as of", "what was known", "what was forecast" and "what
        happened", one row per vintage.
    """
    rows = []
    g = pm.goals
    for vf in pm.vintages:
        row = {"as of": f"{vf.as_of:%Y-%m-%d}"}
        if vf.forecast is None:
            row.update(
                {
                    "what was known": "not enough to forecast",
                    "what was forecast": f"no forecast: {vf.error}",
                    "what happened": "",
                }
            )
            rows.append(row)
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
        mine["order"] = mine["reliability"].map(_RELIABILITY_ORDER)
        mine = mine.sort_values(["order", "period_start", "outcome_id"])
        happened = "; ".join(_outcome_words(r) for _, r in mine.iterrows()) or "no outcome yet"
        row.update(
            {"what was known": known, "what was forecast": forecast, "what happened": happened}
        )
        rows.append(row)
    return pd.DataFrame(rows)


def headline_values(pm: PostMortem, call_as_of: str) -> dict[str, tuple[object, str, str | None]]:
    """The post-mortem's headline values: ``name -> (value, label, format)``, for ``publish``.

    The call is the vintage ``call_as_of``; the calibration figures pool every vintage over the
    estimates from reported figures (None where there is none).
    """
    vf = pm.forecast(call_as_of) if call_as_of else None
    fc = vf.forecast if vf is not None else None
    g = pm.goals
    day = f"{parse_as_of(call_as_of):%Y-%m-%d}" if call_as_of else "n/a"
    window = f"{g.start[:7]} to {g.end[:7]}"
    out: dict[str, tuple[object, str, str | None]] = {
        "call_probability_absolute": (
            None if fc is None else fc.absolute.probability,
            f"Call of {day}: P(GMV {window} >= {_usd(g.target_usd)})",
            ".0%",
        ),
        "call_probability_multiple": (
            None if fc is None else fc.multiple.probability,
            f"Call of {day}: P(>= {g.multiple:g}x {g.base_start[:4]})",
            ".0%",
        ),
    }
    for q in ("p50", "p10", "p90"):
        label = "Call: window median" if q == "p50" else f"Call: window {q.upper()}"
        out[f"call_window_{q}"] = (None if fc is None else getattr(fc.absolute, q), label, "usd")
    reported_settle = pm.settled.loc[
        (pm.settled["goal"] == "absolute") & (pm.settled["reliability"] == "reported")
    ]
    out["goal_settled_by_reported_figure"] = (
        "no" if reported_settle.empty else ", ".join(reported_settle["outcome_id"]),
        "Goal settled by a reported figure",
        None,
    )
    pooled = pooled_scores(pm.scores, ("reported",))
    has_estimates, has_events = pooled["n_estimates"] > 0, pooled["n_events"] > 0
    out["vintages_forecast"] = (pm.n_forecast, "Vintages with a forecast", None)
    out["n_scored_estimates"] = (
        pooled["n_estimates"],
        "Reported estimates scored (all vintages)",
        None,
    )
    for name, key, label, fmt, present in (
        ("coverage_80", "in_80", "Share inside the 80% interval", ".0%", has_estimates),
        ("coverage_50", "in_50", "Share inside the 50% interval", ".0%", has_estimates),
        ("mean_pit", "mean_pit", "Mean PIT (0.5 if unbiased)", ".2f", has_estimates),
        ("brier_bound_events", "brier_events", "Mean Brier score of the reported bounds", ".3f",
         has_events),
    ):  # fmt: skip
        out[name] = (pooled[key] if present else None, label, fmt)
    return out
