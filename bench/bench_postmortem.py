"""The default post-mortem end to end: ``shopcast run forecast_postmortem`` on its base scenario.

Nine vintages (the quarter ends from 2022-09-30 to 2024-06-30 and the seed article's 2023-08-31),
each a full goal forecast (model chosen by backtest, 100 reconstruction draws, 20 histories,
1,000 paths), scored, charted, archived and rendered to HTML, through the project's kernel, into
a fresh reports folder with the cache off. Target: under 90 s on the 2-core development machine.

Configurations run alternately (so that each sees the same mix of load on a shared machine):
this checkout with each ``--engine`` given, and with ``--before ROOT`` another checkout's code
(e.g. the main branch) as it stands. ``--blas-threads N`` sets the BLAS/OpenMP thread variables
for every configuration (the kernel otherwise starts with one thread; before that change it had
OpenBLAS's default of one per core). Prints each run's wall time, the CPU time of everything it
started (kernel, Dask workers, cmdstan), and the 1-minute load average before and after; then
the median of each configuration.

    .venv/bin/python bench/bench_postmortem.py [--repeat 3] [--scenario base]
        [--engine dask --engine serial] [--before /path/to/main] [--blas-threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 90.0
BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(root: Path, scenario: str, engine: str | None, env: dict[str, str]) -> tuple:
    """One run of ``root``'s post-mortem: (wall s, CPU s, vintages forecast, load before/after)."""
    shopcast = Path(sys.executable).parent / "shopcast"
    args = [str(shopcast), "-q", "run", str(root / "notebooks" / "forecast_postmortem.ipynb")]
    args += ["--params", str(root / "params" / "forecast_postmortem" / f"{scenario}.yaml")]
    if engine:
        args += ["-p", f"engine={engine}"]
    with tempfile.TemporaryDirectory(prefix="shopcast-bench-pm-") as tmp:
        run_env = {
            **env,
            "SHOPCAST_REPORTS_DIR": tmp,
            "SHOPCAST_CACHE": "0",
            "PYTHONPATH": str(root / "src"),
        }
        load = os.getloadavg()[0]
        cpu0, t0 = _children_cpu(), time.perf_counter()
        done = subprocess.run(
            args, env=run_env, cwd=root, capture_output=True, text=True, check=False
        )
        seconds, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
        if done.returncode != 0:
            print(done.stderr[-3000:])
            sys.exit(f"{root} ({engine}) failed with exit {done.returncode}")
        record = json.loads(
            next(Path(tmp).glob("forecast_postmortem/*/latest/run.json")).read_text()
        )
        vintages = record["headline"]["vintages_forecast"]["value"]
    return seconds, cpu, vintages, load, os.getloadavg()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenario", default="base")
    parser.add_argument(
        "--engine",
        action="append",
        choices=("serial", "dask"),
        help="engine of this checkout's runs (repeatable; default: the scenario's own)",
    )
    parser.add_argument("--before", type=Path, help="another checkout to run alternately")
    parser.add_argument("--blas-threads", type=int, help="BLAS threads of every configuration")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.blas_threads:
        env.update({name: str(args.blas_threads) for name in BLAS_VARS})
    configs = [(f"this checkout, engine {e or 'default'}", ROOT, e) for e in args.engine or [None]]
    if args.before:
        configs.append((f"before ({args.before})", args.before.resolve(), None))
    times: dict[str, list[float]] = {label: [] for label, _, _ in configs}
    for i in range(args.repeat):
        for label, root, engine in configs:
            seconds, cpu, n, load0, load1 = run_once(root, args.scenario, engine, env)
            times[label].append(seconds)
            print(
                f"run {i + 1}, {label}: {seconds:.1f} s wall, {cpu:.1f} s CPU, {n} vintages "
                f"forecast, load {load0:.1f} -> {load1:.1f}",
                flush=True,
            )
    print(f"{os.cpu_count()} cores; BLAS threads: {args.blas_threads or 'each default'}")
    for label, values in times.items():
        median = statistics.median(values)
        verdict = "under" if median < TARGET_S else "OVER"
        print(f"median of {len(values)}, {label}: {median:.1f} s ({verdict} the {TARGET_S:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
