"""The outside view validated leave-one-platform-out on the reference class.

Fits the reference-class model on every platform but one and forecasts the left-out
platform's year-on-year growth, for each platform in turn; compares it with the time-series-only
rule (the platform's last known growth persists) and with their combination; prints and writes
bench/results/outside_view.md. The covariates and the combination rule it selects are the
constants in ``shopcast.gmv.outside_view`` (a test checks that they agree).

    .venv/bin/python bench/outside_view.py
"""

from __future__ import annotations

import time

import pandas as pd

from shopcast.config import BENCH_DIR
from shopcast.forecasting import reference_class as rc
from shopcast.gmv.platforms import growth_pairs


def main() -> None:
    start = time.perf_counter()
    pairs = growth_pairs()
    usable = pairs[pairs["usable"]]
    covariates, cov_crps = rc.choose_covariates(pairs)
    lopo = rc.leave_one_platform_out(pairs, lambda: rc.OutsideViewModel(covariates))
    family, weight, grid = rc.choose_combination(lopo)
    table = rc.validation_table(lopo, family, weight)
    model = rc.OutsideViewModel(covariates).fit(pairs)
    by_platform = usable.groupby("platform").agg(
        pairs=("log_growth", "size"),
        first=("period_end", "min"),
        last=("period_end", "max"),
        scale_usd=("base_usd", "median"),
    )
    wall = time.perf_counter() - start
    lines = [
        "# Outside view: leave-one-platform-out validation",
        "",
        f"Reference class: {len(usable)} usable year-on-year pairs of "
        f"{usable['platform'].nunique()} platforms ({len(pairs) - len(usable)} left out: a "
        f"ratio on a lower bound only bounds the growth). Produced by `bench/outside_view.py` "
        f"in {wall:.0f} s.",
        "",
        by_platform.assign(scale_usd=lambda d: (d["scale_usd"] / 1e9).round(2))
        .rename(columns={"scale_usd": "median annual GMV, B USD"})
        .to_string(),
        "",
        "Covariates (platform-weighted mean LOPO CRPS of the outside view, lower is better):",
        "",
        cov_crps.round(4).to_string(),
        "",
        f"Chosen: `{covariates}`. Fitted on all platforms:",
        "",
        model.table().round(3).to_string(index=False),
        "",
        "Combination with the time-series-only rule (platform-weighted mean CRPS by family and "
        "outside weight; pairs with a previous growth only):",
        "",
        grid.round(4).T.to_string(),
        "",
        f"Chosen: `{family}` with outside weight {weight:g}.",
        "",
        "Scores (CRPS in log growth, platform-weighted; coverage = share of pairs inside the "
        "central 50% / 80% interval):",
        "",
        table.round(3).to_string(),
        "",
        "Each pair's forecast:",
        "",
        lopo.assign(period_end=lambda d: d["period_end"].dt.strftime("%Y-%m"))
        .round(3)
        .to_string(index=False),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = BENCH_DIR / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "outside_view.md").write_text(text)


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    main()
