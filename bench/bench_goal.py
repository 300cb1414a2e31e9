"""Time the default goal computation: forecast over history draws, goal arithmetic, backtest.

Uses the real reconstruction (``shopcast.gmv.reconstruct``) when it imports and runs, else a
synthetic 32-month exponential-growth series with log-normal draws. Prints the median seconds
of each stage over ``--repeat`` repetitions (default 3). Target: the three timed stages under
15 s together on a 2-core machine. The reconstruction itself is timed once, separately: it is
another module's cost and is cached by the notebooks.

    .venv/bin/python bench/bench_goal.py [--repeat 3] [--synthetic]

With ``--scenario FILE`` it times instead what the goal notebook computes for that scenario
(``run_goal_forecast`` with the notebook's defaults merged with the file, as ``shopcast run``
resolves them: reconstruction, model choice, forecast, outside view, goals), wall and CPU
seconds of this process and its children (Prophet's cmdstan), the first call cold:

    .venv/bin/python bench/bench_goal.py --scenario params/gmv_goal_forecast/base.yaml
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from shopcast.forecasting.backtest import rolling_origin
from shopcast.forecasting.baselines import DriftForecaster
from shopcast.forecasting.draws import forecast_over_draws
from shopcast.forecasting.prophet import ProphetForecaster
from shopcast.gmv.goals import (
    absolute_goal,
    gap_table,
    multiple_goal,
    required_path,
    time_to_goal,
    window_total,
)


def synthetic_draws(n_draws: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """32 months of ~9%/month growth from 70 M, with draw-level level and growth noise."""
    idx = pd.date_range("2021-01-01", periods=32, freq="MS")
    rng = np.random.default_rng(seed)
    t = np.arange(32)
    growth = 0.09 + rng.normal(0, 0.01, (n_draws, 1))
    level = np.log(70e6) + rng.normal(0, 0.1, (n_draws, 1))
    draws = pd.DataFrame(
        np.exp(level + growth * t + rng.normal(0, 0.03, (n_draws, 32))), columns=idx
    )
    return draws, draws.median()


def load_draws(synthetic: bool) -> tuple[pd.DataFrame, pd.Series, str, float]:
    if not synthetic:
        try:
            from shopcast.gmv.anchors import load_anchors
            from shopcast.gmv.reconstruct import reconstruct

            start = time.perf_counter()
            rec = reconstruct(load_anchors())
            return rec.draws, rec.median, "reconstruction", time.perf_counter() - start
        except Exception as exc:  # noqa: BLE001 - any failure falls back to synthetic data
            print(f"reconstruction unavailable ({type(exc).__name__}: {exc}); using synthetic")
    draws, median = synthetic_draws()
    return draws, median, "synthetic", 0.0


def goal_arithmetic(paths: pd.DataFrame, median: pd.Series) -> dict[str, object]:
    last = median.index[-1]
    year_end = pd.Timestamp(year=last.year, month=12, day=1)
    start = pd.Timestamp(year=last.year, month=1, day=1)
    prev = (
        pd.Timestamp(year=last.year - 1, month=1, day=1),
        pd.Timestamp(year=last.year - 1, month=12, day=1),
    )
    goal = absolute_goal(paths, start, year_end, 20e9)
    mult = multiple_goal(paths, start, year_end, 4, *prev)
    banked = float(window_total(paths, start, last).median())
    remaining = (year_end.year - last.year) * 12 + year_end.month - last.month
    g, req = required_path(last, float(median.iloc[-1]), remaining, 20e9 - banked)
    gaps = gap_table(paths, req)
    ttg = time_to_goal(paths, 20e9)
    return {"goal": goal, "multiple": mult, "g": g, "gaps": gaps, "ttg": ttg}


def time_scenario(path: str, repeat: int) -> None:
    """Wall and CPU seconds of the goal notebook's computation for one scenario file."""
    import os
    import resource

    from shopcast.config import NOTEBOOKS_DIR
    from shopcast.gmv.pipeline import ForecastSettings, run_goal_forecast
    from shopcast.workbench.params import load_params_file, validate

    v = validate(NOTEBOOKS_DIR / "gmv_goal_forecast.ipynb", [(path, load_params_file(path))])
    v = v.values
    fields = ("model", "growth", "cap_usd_per_month", "changepoint_prior_scale")
    fields += ("festival_effects", "ad_scenario", "ad_growth_per_year")
    settings = ForecastSettings(**{k: v[k] for k in fields})

    def cpu() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    for i in range(repeat):
        w0, c0 = time.perf_counter(), cpu()
        result = run_goal_forecast(
            v["data_file"], v["coverage"], v["data_segment"], v["goal_target_usd"],
            v["goal_start"], v["goal_end"], v["goal_multiple"], v["base_start"], v["base_end"],
            v["horizon_months"], settings, history_end=v["history_end"], as_of=v["as_of"],
            n_draws=v["n_draws"], n_histories=v["n_histories"], n_samples=v["n_samples"],
            seed=v["seed"],
        )  # fmt: skip
        wall, used = time.perf_counter() - w0, cpu() - c0
        print(
            f"run {i + 1}{' (cold)' if i == 0 else ''}: {wall:.2f} s wall, {used:.2f} s CPU "
            f"(with children), model {result.model_name}, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--synthetic", action="store_true", help="skip the reconstruction")
    parser.add_argument("--scenario", default=None, help="time a goal scenario file instead")
    args = parser.parse_args()
    if args.scenario:
        time_scenario(args.scenario, args.repeat)
        return

    draws, median, source, rec_seconds = load_draws(args.synthetic)
    print(
        f"data: {source}, {draws.shape[0]} draws x {draws.shape[1]} months "
        f"({draws.columns[0]:%Y-%m}..{draws.columns[-1]:%Y-%m})"
    )
    if rec_seconds:
        print(f"reconstruction (not part of the target): {rec_seconds:.2f} s")
    horizon = 16
    from shopcast.gmv.outside_view import combine, market_age, reference_model

    start = time.perf_counter()
    reference_model()
    print(f"outside view fit (once per process, cached): {time.perf_counter() - start:.2f} s")
    times: dict[str, list[float]] = {
        "forecast_over_draws": [],
        "outside_view": [],
        "goals": [],
        "backtest": [],
    }
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        paths = forecast_over_draws(
            ProphetForecaster, draws, horizon=horizon, n_samples=1000, seed=0
        )
        t1a = time.perf_counter()
        paths = combine(paths, draws, horizon, market_age(median), seed=0).combined
        t1 = time.perf_counter()
        result = goal_arithmetic(paths, median)
        t2 = time.perf_counter()
        table = rolling_origin(
            median,
            {"prophet": ProphetForecaster, "drift_log": lambda: DriftForecaster(log=True)},
            horizon=6,
            initial=18,
            n_samples=500,
            seed=0,
        )
        t3 = time.perf_counter()
        stages = (t1a - t0, t1 - t1a, t2 - t1, t3 - t2)
        for key, value in zip(times, stages, strict=True):
            times[key].append(value)

    total = 0.0
    for key, values in times.items():
        med = statistics.median(values)
        total += med
        print(f"{key:>22}: {med:6.2f} s (median of {len(values)})")
    print(f"{'total':>22}: {total:6.2f} s (target < 15 s)")
    goal = result["goal"]
    print(
        f"\nP(total {goal.window[0]:%Y-%m}..{goal.window[1]:%Y-%m} >= 20 B) = "
        f"{goal.probability:.3f} +/- {goal.probability_se:.3f} (clustered by draw); "
        f"P10/P50/P90 = {goal.p10 / 1e9:.1f} / {goal.p50 / 1e9:.1f} / {goal.p90 / 1e9:.1f} B"
    )
    mult = result["multiple"]
    print(f"P(quadruple previous year) = {mult.probability:.3f} +/- {mult.probability_se:.3f}")
    print(f"required monthly growth for the rest of the year: {result['g']:.1%}")
    ttg = result["ttg"]
    print(
        f"trailing-12-month GMV >= 20 B: P10 {ttg.p10}, P50 {ttg.p50}, P90 {ttg.p90}, "
        f"never within {horizon} months {ttg.probability_never:.1%}"
    )
    print("\nbacktest on the median history (horizon 6, initial 18):")
    print(table.summary().round(3).to_string())
    if not args.synthetic:
        pipeline_seconds(args.repeat)


def pipeline_seconds(repeat: int) -> None:
    """The default scenario's whole compute, as the notebook runs it (``run_goal_forecast``)."""
    from shopcast.gmv.pipeline import ForecastSettings, run_goal_forecast

    seconds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run_goal_forecast(settings=ForecastSettings(model="auto"), horizon_months=24)
        seconds.append(time.perf_counter() - t0)
    print(
        f"\ndefault scenario end to end (reconstruction, model choice, {len(result.paths)} paths, "
        f"goals, backtest): {statistics.median(seconds):.2f} s median of {repeat} "
        f"(target < 15 s); model {result.model_name}, "
        f"P(goal) {result.absolute.probability:.3f}"
    )


if __name__ == "__main__":
    main()
