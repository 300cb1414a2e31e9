"""Benchmark: cohort simulation at 1,000,000 sellers x 24 months x 10 thresholds.

Prints the median wall time of 3 repetitions and the peak memory (maximum resident set size of a
fresh subprocess that runs one simulation). Targets: under 30 s and under 4 GB.

Usage: ``.venv/bin/python bench/bench_sellers.py``
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time

N_SELLERS, MONTHS, REPS = 1_000_000, 24, 3


def _run_once() -> float:
    from shopcast.sellers.model import SizeModel
    from shopcast.sellers.thresholds import DEFAULT_THRESHOLDS, simulate_cohorts

    model = SizeModel("lognormal_pareto")
    model.params_ = {"mu": 7.124, "sigma": 4.539, "tail_from": 2.699e6, "alpha": 1.652}
    t0 = time.perf_counter()
    simulate_cohorts(model, N_SELLERS, MONTHS, DEFAULT_THRESHOLDS, seed=0)
    return time.perf_counter() - t0


def main() -> None:
    """Time the simulation and measure its peak memory in a subprocess."""
    if "--once" in sys.argv:
        _run_once()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
        return
    times = [_run_once() for _ in range(REPS)]
    out = subprocess.run(
        [sys.executable, __file__, "--once"], capture_output=True, text=True, check=True
    )
    peak_gb = int(out.stdout.split()[-1]) / 1024**2
    print(f"simulate_cohorts: {N_SELLERS:,} sellers x {MONTHS} months x 10 thresholds")
    print(
        f"  median of {REPS}: {statistics.median(times):.2f} s (runs: "
        + ", ".join(f"{t:.2f}" for t in times)
        + ")"
    )
    print(f"  peak memory (max RSS, one run in a fresh process): {peak_gb:.2f} GB")


if __name__ == "__main__":
    main()
