"""One scenario end to end: ``shopcast run`` against the plain chain a user would type.

The plain chain is ``papermill NOTEBOOK OUT -f PARAMS -k shopcast`` then
``jupyter nbconvert --to html --no-input OUT``; shopcast validates, runs papermill on its own
kernel and renders HTML in-process (one Python start-up less). The two are run alternately on
the same notebook and scenario; the script prints the median of ``--repeat`` runs each and the
ratio (plain / shopcast: above 1 means shopcast is faster).

    .venv/bin/python bench/bench_runner.py [--repeat 5] [--notebook gmv_goal_forecast]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--notebook", default="gmv_goal_forecast")
    parser.add_argument("--scenario", default="base")
    args = parser.parse_args()
    notebook = ROOT / "notebooks" / f"{args.notebook}.ipynb"
    params = ROOT / "params" / args.notebook / f"{args.scenario}.yaml"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "SHOPCAST_REPORTS_DIR": str(Path(tmp) / "reports")}
        out = Path(tmp) / "plain.ipynb"
        ours = [str(BIN / "shopcast"), "-q", "run", str(notebook), "--params", str(params)]
        plain_run = [
            str(BIN / "papermill"),
            str(notebook),
            str(out),
            "-f",
            str(params),
            "-k",
            "shopcast",
            "--cwd",
            str(notebook.parent),
        ]
        plain_html = [str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(out)]
        shop, plain = [], []
        for i in range(args.repeat):
            shop.append(timed(ours, env))
            t0 = time.perf_counter()
            timed(plain_run, env)
            timed(plain_html, env)
            plain.append(time.perf_counter() - t0)
            print(
                f"run {i + 1}: shopcast {shop[-1]:.2f} s, plain chain {plain[-1]:.2f} s", flush=True
            )
    ms, mp = statistics.median(shop), statistics.median(plain)
    print(f"{args.notebook}/{args.scenario}, median of {args.repeat} alternating runs:")
    print(f"  shopcast run (validate + papermill + in-process HTML): {ms:.2f} s")
    print(f"  papermill CLI + jupyter nbconvert --no-input:           {mp:.2f} s")
    print(f"  ratio plain / shopcast: {mp / ms:.2f}x")


if __name__ == "__main__":
    main()
