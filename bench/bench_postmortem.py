"""The default post-mortem end to end: ``shopcast run forecast_postmortem`` on its base scenario.

Nine vintages (the quarter ends from 2022-09-30 to 2024-06-30 and the seed article's 2023-08-31),
each a full goal forecast (model chosen by backtest, 100 reconstruction draws, 20 histories,
1,000 paths), scored, charted, archived and rendered to HTML, through the project's kernel, into
a fresh reports folder with the cache off. Prints each run's seconds and the median of
``--repeat`` runs. Target: under 90 s on the 2-core development machine.

    .venv/bin/python bench/bench_postmortem.py [--repeat 3] [--scenario base]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 90.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scenario", default="base")
    args = parser.parse_args()
    shopcast = Path(sys.executable).parent / "shopcast"
    notebook = ROOT / "notebooks" / "forecast_postmortem.ipynb"
    params = ROOT / "params" / "forecast_postmortem" / f"{args.scenario}.yaml"
    times = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="shopcast-bench-pm-") as tmp:
            env = {**os.environ, "SHOPCAST_REPORTS_DIR": tmp, "SHOPCAST_CACHE": "0"}
            t0 = time.perf_counter()
            done = subprocess.run(
                [str(shopcast), "-q", "run", str(notebook), "--params", str(params)],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - t0
            if done.returncode != 0:
                print(done.stderr[-3000:])
                sys.exit(f"run {i + 1} failed with exit {done.returncode}")
            record = json.loads(
                next(Path(tmp).glob("forecast_postmortem/*/latest/run.json")).read_text()
            )
            vintages = record["headline"]["vintages_forecast"]["value"]
        times.append(seconds)
        print(f"run {i + 1}: {seconds:.1f} s ({vintages} vintages forecast)", flush=True)
    median = statistics.median(times)
    load = os.getloadavg()[0]
    verdict = "under" if median < TARGET_S else "OVER"
    print(
        f"median of {len(times)}: {median:.1f} s ({verdict} the {TARGET_S:.0f} s target; "
        f"1-minute load average at the end {load:.1f} on {os.cpu_count()} cores)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
