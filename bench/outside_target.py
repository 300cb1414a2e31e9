"""Issue 13's target, measured: the 2023 window at the August-2023 vintage, base settings.

Runs :func:`shopcast.gmv.pipeline.run_goal_forecast` in-process with the goal report's base
scenario (``params/gmv_goal_forecast/base.yaml`` and the notebook's defaults), cold (a fresh
process pays the reference-class fit and Prophet's first compile), and prints and writes
``bench/results/outside_target.md``:

- the 2023 window total's P10 / P50 / P90 and P90/P10 under the inside, outside and combined
  views (target: combined P90/P10 <= 4), and the combination's effective paths;
- every outcome row of ``data/gmv_anchors.csv`` about the 2023 window (global, or a part of it:
  a part's figure is a floor on the global total) against the combined 80% interval;
- the goal computation's time: wall clock, and CPU of this process plus its children (Prophet
  fits in a cmdstan subprocess) (target: under 15 s).

Nothing here is tuned: the settings are the report's defaults, chosen before the outcomes.

    .venv/bin/python bench/outside_target.py
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np
import pandas as pd
import yaml

from shopcast.config import BENCH_DIR, PROJ_ROOT
from shopcast.gmv.anchors import load_anchors
from shopcast.gmv.outside_view import window_table
from shopcast.gmv.pipeline import ForecastSettings, run_goal_forecast
from shopcast.gmv.regions import ancestors
from shopcast.gmv.vintage import anchors_as_of

PARAMS = PROJ_ROOT / "params" / "gmv_goal_forecast" / "base.yaml"
#: The notebook's defaults for what base.yaml leaves out (its parameters cell).
NOTEBOOK_DEFAULTS = {"horizon_months": 24, "n_draws": 200, "n_histories": 40, "n_samples": 2000}


def cpu_seconds() -> float:
    """CPU of this process and of its finished children (cmdstan runs in subprocesses)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    params = {**NOTEBOOK_DEFAULTS, **yaml.safe_load(PARAMS.read_text())}
    settings = ForecastSettings(model=params["model"], growth=params["growth"])
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    result = run_goal_forecast(
        coverage=params["coverage"],
        goal_target_usd=params["goal_target_usd"],
        goal_start=params["goal_start"],
        goal_end=params["goal_end"],
        goal_multiple=params["goal_multiple"],
        base_start=params["base_start"],
        base_end=params["base_end"],
        horizon_months=params["horizon_months"],
        settings=settings,
        history_end=params["history_end"],
        as_of=params["as_of"],
        n_draws=params["n_draws"],
        n_histories=params["n_histories"],
        n_samples=params["n_samples"],
        seed=0,
    )
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    start, end = params["goal_start"], params["goal_end"]
    table = window_table(result.views, start, end, params["goal_target_usd"])
    combined = table.loc["combined"]
    frame = result.paths.frame
    months = pd.DatetimeIndex(frame.columns)
    totals = frame.loc[:, (months >= start) & (months <= end)].sum(axis=1).to_numpy()

    _, later = anchors_as_of(load_anchors(), params["as_of"])
    first, last = pd.Timestamp(start), pd.Timestamp(end) + pd.offsets.MonthEnd(0)
    inside_window = (later["period_start"] >= first) & (later["period_end"] <= last)
    coverage = params["coverage"]
    parts = later["coverage"].map(lambda c: c == coverage or coverage in ancestors(c))
    rows = []
    for _, row in later[inside_window & parts].iterrows():
        value = float(row["value_usd"])
        period = (months >= row["period_start"]) & (months <= row["period_end"])
        period_total = frame.loc[:, period].sum(axis=1).to_numpy()
        if row["coverage"] == coverage and row["kind"] == "estimate" and row["measure"] == "total":
            p10, p90 = np.quantile(period_total, (0.1, 0.9))
            where = "inside" if p10 <= value <= p90 else ("above" if value > p90 else "below")
            verdict = f"{where} the 80% interval {p10 / 1e9:.1f}-{p90 / 1e9:.1f} B"
        elif row["measure"] == "total" and row["kind"] in ("estimate", "lower_bound"):
            share = np.mean(period_total >= value)
            verdict = f"a floor on {coverage}: P(total >= it) = {share:.0%}"
        else:
            continue
        rows.append(
            {
                "anchor_id": row["anchor_id"],
                "coverage": row["coverage"],
                "period": f"{row['period_start']:%Y-%m}..{row['period_end']:%Y-%m}",
                "kind": row["kind"],
                "value_B": value / 1e9,
                "reliability": row["reliability"] or "reported",
                "published": row["published"],
                "against the combined forecast": verdict,
            }
        )
    outcomes = pd.DataFrame(rows)
    lines = [
        "# Issue 13's target at the August-2023 vintage (base settings)",
        "",
        f"`run_goal_forecast` with `{PARAMS.relative_to(PROJ_ROOT)}` and the notebook's "
        f"defaults ({', '.join(f'{k} {v}' for k, v in NOTEBOOK_DEFAULTS.items())}), seed 0, "
        f"as_of {params['as_of']}; model chosen: {result.model_name}; history to "
        f"{result.last_actual:%b %Y}. Produced by `bench/outside_target.py`.",
        "",
        f"Goal-window ({start[:7]} to {end[:7]}) total, US dollars (billions):",
        "",
        (table[["p10", "p50", "p90"]] / 1e9)
        .round(2)
        .join(table[["p90_over_p10", "probability"]])
        .round(3)
        .to_string(),
        "",
        f"Combination: {result.views.family}, weight {result.views.weight:g}; inside paths "
        f"capped (or replaced) as implausible: {result.views.truncated_share:.1%}; "
        "effective inside paths behind the combined forecast: "
        f"{result.views.effective_paths:,.0f} of {len(totals):,}.",
        "",
        f"**Combined P90/P10 = {combined['p90_over_p10']:.2f}** (target <= 4: "
        f"{'met' if combined['p90_over_p10'] <= 4 else 'NOT met'}).",
        "",
        "Outcome rows inside the goal window (published after as_of; a part's figure is a floor "
        "on the whole), against the combined forecast over the same months:",
        "",
        outcomes.round(2).to_string(index=False) if len(outcomes) else "(none)",
        "",
        f"Goal computation, cold, in one process: {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"(this process and its cmdstan children). Target under 15 s: "
        f"{'met' if cpu < 15 else 'NOT met'} in CPU, {'met' if wall < 15 else 'NOT met'} in "
        f"wall time; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} "
        "cores (shared).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = BENCH_DIR / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "outside_target.md").write_text(text)


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
