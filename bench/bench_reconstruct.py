"""Time the GMV reconstruction on the embedded anchors.

Prints the median wall-clock seconds of ``reconstruct`` for each coverage over ``--repeat``
repetitions, with the 2022 global total's P10..P90 as a sanity figure.

    .venv/bin/python bench/bench_reconstruct.py [--draws 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from shopcast.gmv.anchors import load_anchors
from shopcast.gmv.reconstruct import reconstruct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200, help="sample paths per run")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per coverage")
    args = parser.parse_args()
    anchors = load_anchors()
    for coverage in ("global", "southeast_asia", "outside_southeast_asia", "united_states"):
        seconds = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            result = reconstruct(anchors, coverage=coverage, n_draws=args.draws, seed=0)
            seconds.append(time.perf_counter() - start)
        print(
            f"{coverage:24s} {args.draws} draws x {result.draws.shape[1]} months: "
            f"median {statistics.median(seconds):.2f} s (min {min(seconds):.2f} s), "
            f"unconverged {result.unconverged}"
        )
        if coverage == "global":
            p10, p50, p90 = result.period_total("2022-01", "2022-12").quantile([0.1, 0.5, 0.9])
            print(
                f"  2022 global total: P10 {p10 / 1e9:.2f} B, P50 {p50 / 1e9:.2f} B, "
                f"P90 {p90 / 1e9:.2f} B"
            )


if __name__ == "__main__":
    main()
