"""``make report``'s batch: wall time with the default workers, and 1 worker against 2.

Runs every default scenario with ``--force`` (so nothing is skipped) into a temporary reports
folder, from a cold cache each time (as a fresh clone's ``make report``), alternating 1 and 2
workers, and prints the median wall time of each and the speed-up.
Targets: the default batch under 60 s on this 2-core machine; 2 workers at least 1.6x faster
than 1 on four or more scenarios.

    .venv/bin/python bench/bench_batch.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def batch_seconds(workers: int, reports: Path) -> float:
    """One forced batch from a cold cache (as on a fresh clone)."""
    shutil.rmtree(reports / ".cache", ignore_errors=True)
    env = {**os.environ, "SHOPCAST_REPORTS_DIR": str(reports)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shopcast.workbench.cli",
            "-q",
            "batch",
            "--force",
            "--workers",
            str(workers),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"batch failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = len(list((ROOT / "params").glob("*/*.yaml")))
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            for workers in (2, 1) if i % 2 else (1, 2):
                times[workers].append(batch_seconds(workers, Path(tmp) / "reports"))
                print(f"repeat {i + 1}: {workers} worker(s) {times[workers][-1]:.1f} s", flush=True)
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print(f"{n} scenarios, median of {args.repeat} alternating batches:")
    print(f"  1 worker:  {one:.1f} s")
    print(f"  2 workers: {two:.1f} s (the default on this {os.cpu_count()}-CPU machine)")
    print(f"  speed-up: {one / two:.2f}x")


if __name__ == "__main__":
    main()
