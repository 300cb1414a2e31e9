"""Benchmarks of the seller analysis.

1. Cohort simulation at 1,000,000 sellers x 24 months x 10 thresholds: the median wall time of 3
   repetitions and the peak memory (maximum resident set size of a fresh subprocess that runs one
   simulation). Targets: under 30 s and under 4 GB.
2. The fit of every family to the default facts with 100 bootstrap draws each (what a seller
   report computes before its cache is warm): seconds per family and in total.
3. Facts files of 2,000 and 8,000 rows (the default US facts repeated under new ids, issue 11
   item 8): seconds of one lognormal_pareto fit; linear time means about 4x between them at most.

Usage: ``.venv/bin/python bench/bench_sellers.py [--fits-only | --sim-only]``
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


def _bench_fits() -> None:
    import warnings

    from shopcast.config import DATA_DIR
    from shopcast.sellers.fitting import fit_families

    facts = DATA_DIR / "seller_size_facts.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        fits = fit_families(facts, "facts", as_of="2025-12-31")
        t_fit = time.perf_counter() - t0
        per = {}
        for fam in fits:
            t1 = time.perf_counter()
            fits[fam].bootstrap(100, seed=0)
            per[fam] = time.perf_counter() - t1
    total = time.perf_counter() - t0
    print("all families, default facts, 100 bootstrap draws each")
    print(f"  fits (every family, multi-start): {t_fit:.1f} s")
    for fam, sec in per.items():
        print(f"  bootstrap {fam}: {sec:.1f} s")
    skipped = fits.status[fits.status["status"] != "fitted"]
    for row in skipped.itertuples():
        print(f"  {row.family}: {row.status}")
    print(f"  total: {total:.1f} s")


def _bench_facts_rows() -> None:
    import warnings

    import pandas as pd

    from shopcast.config import DATA_DIR
    from shopcast.sellers.loaders import load_facts
    from shopcast.sellers.model import SizeModel

    base = load_facts(DATA_DIR / "seller_size_facts.csv")
    rows = base[(base["population"] == "amazon_us") & (base["kind"] != "n_sellers")]
    print("facts files of many rows (lognormal_pareto fit)")
    for n in (2000, 8000):
        copies = [rows.assign(fact_id=rows["fact_id"] + f"_{i}") for i in range(n // len(rows))]
        frame = pd.concat([base, *copies], ignore_index=True).iloc[:n]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0, c0 = time.perf_counter(), time.process_time()
            SizeModel("lognormal_pareto").fit_facts(frame)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"  {n:,} rows: {wall:.1f} s wall, {cpu:.1f} s CPU")


def main() -> None:
    """Time the simulation and measure its peak memory in a subprocess; time the fits."""
    if "--once" in sys.argv:
        _run_once()
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux
        return
    if "--sim-only" not in sys.argv:
        _bench_fits()
        _bench_facts_rows()
        if "--fits-only" in sys.argv:
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
