"""Where one vintage of the post-mortem spends its time: cProfile of one re-run goal forecast.

The base scenario's settings (model ``auto``, 100 reconstruction draws, 20 histories, 1,000
paths, 36 months), as of ``--as-of`` (default the seed article's 2023-08-31), in this process.
Prints CPU (this process, and its children: cmdstan) and wall time, then the cumulative time of
the stages and model fits, then the top functions. The BLAS thread count is read from the
environment when numpy loads; compare ``OPENBLAS_NUM_THREADS=1`` with ``=2`` by running twice.

    .venv/bin/python bench/profile_vintage.py [--as-of 2023-08-31] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import time

import pandas as pd

#: Functions whose cumulative time is shown by name: (label, file ending, function).
STAGES = (
    ("model choice (select_model)", "forecasting/selection.py", "select_model"),
    ("forecast over history draws", "forecasting/draws.py", "forecast_over_draws"),
    ("backtests (rolling_origin, both)", "forecasting/backtest.py", "rolling_origin"),
    ("Prophet fits", "forecasting/prophet.py", "fit"),
    ("ETS fits", "forecasting/ets.py", "fit"),
    ("Theta fits", "forecasting/theta.py", "fit"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", default="2023-08-31")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    # imported here so that numpy reads the environment's BLAS settings as it loads
    import prophet  # noqa: F401 - imported before timing, as a kernel has it already
    import statsmodels.tsa.api  # noqa: F401

    from shopcast.gmv.pipeline import ForecastSettings
    from shopcast.gmv.vintage_runs import GoalSpec, VintageSpec, forecast_vintage

    goals = GoalSpec(20e9, "2023-01-01", "2023-12-01", 4.0, "2022-01-01", "2022-12-01")
    spec = VintageSpec(
        "data/gmv_anchors.csv", "global", "", goals, 36, ForecastSettings(model="auto"),
        100, 20, 1000, 0,
    )  # fmt: skip
    profile = cProfile.Profile()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    children0 = usage.ru_utime + usage.ru_stime
    cpu0, wall0 = time.process_time(), time.perf_counter()
    profile.enable()
    vintage = forecast_vintage(pd.Timestamp(args.as_of), spec)
    profile.disable()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = usage.ru_utime + usage.ru_stime - children0
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "OpenBLAS default")
    model = vintage.forecast.model_name if vintage.forecast else vintage.error
    print(
        f"vintage {args.as_of}: model {model}; {cpu:.2f} s CPU here, {children:.2f} s in "
        f"children (cmdstan), {wall:.2f} s wall; BLAS threads: {blas}; "
        f"1-minute load {os.getloadavg()[0]:.1f}"
    )
    stats = pstats.Stats(profile)
    for label, ending, name in STAGES:
        calls = total = 0.0
        for (path, _, function), (_, ncalls, _, cumulative, _) in stats.stats.items():
            if function == name and path.endswith(ending):
                calls, total = calls + ncalls, total + cumulative
        print(f"  {label}: {total:.2f} s over {int(calls)} calls")
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
