"""Validation where the truth is public: leave one published Amazon US fact out, predict it.

For each of the six US facts of ``data/seller_size_facts.csv`` (mean, shares above $100k and
$500k, top-1,000 / 6,000 / 10,000 GMV shares), every family is fitted to the other five, each
fitted family is bootstrapped, and the model-averaged prediction of the held-out fact (weights of
:func:`shopcast.sellers.averaging.family_weights`, pooled draws) is compared with the published
value. Then "fit two, predict the third" on Amazon's three size figures (mean, share above $100k,
share above $500k): only the two-parameter families are identified by two facts.

Prints a Markdown table and how often the published value falls inside the P10-P90 interval.
US Census SUSB receipts size classes were not used: the real table could not be found in the
project's search corpus (see README).

Usage: ``.venv/bin/python bench/validate_sellers.py [n_boot]`` (default 30 draws per family)
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

from shopcast.config import DATA_DIR
from shopcast.sellers.averaging import family_weights
from shopcast.sellers.fitting import fit_families
from shopcast.sellers.loaders import load_facts

N_POOL = 4000


def _predict(model, fact, n_pop, params) -> np.ndarray:
    kind = fact["kind"]
    if kind == "mean":
        return np.ravel(model.mean(params))
    if kind == "share_above":
        return np.ravel(model.survival([fact["level_usd"]], params))
    if kind == "top_n_gmv_share":
        return np.ravel(model.top_n_gmv_share([fact["top_n"]], n_pop, params))
    raise ValueError(kind)


def _fold(facts, held_id, n_pop, n_boot, families=None):
    train = facts.copy()
    train.loc[train["fact_id"] == held_id, "weight"] = 0.0  # held out (evidence only)
    kwargs = {} if families is None else {"families": families}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = fit_families(train, "facts", **kwargs)
        for fam in fits:
            fits[fam].bootstrap(n_boot, seed=0)
    fact = facts.set_index("fact_id").loc[held_id]
    weights = family_weights(fits)
    rng = np.random.default_rng(0)
    pool, point = [], 0.0
    for fam, w in weights.items():
        m = fits[fam]
        point += w * float(_predict(m, fact, n_pop, m.params_)[0])
        draws = _predict(m, fact, n_pop, m.boot_params_)
        k = round(w * N_POOL)
        if k:
            pool.append(draws[rng.integers(0, draws.size, k)])
    pool = np.concatenate(pool)
    p10, p90 = np.nanpercentile(pool, [10, 90])
    return {
        "held_out": held_id,
        "published": float(fact["value"]),
        "predicted": point,
        "p10": p10,
        "p90": p90,
        "inside": bool(p10 <= fact["value"] <= p90),
        "families": ", ".join(f"{f} {w:.2f}" for f, w in weights.items() if w >= 0.005),
    }


def main() -> None:
    """Run both validations and print the tables."""
    n_boot = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    facts = load_facts(DATA_DIR / "seller_size_facts.csv")
    facts = facts[facts["population"] == "amazon_us"].reset_index(drop=True)
    n_pop = float(facts.loc[facts["kind"] == "n_sellers", "value"].iloc[0])
    ids = list(facts.loc[facts["kind"] != "n_sellers", "fact_id"])
    t0 = time.perf_counter()
    rows = [_fold(facts, i, n_pop, n_boot) for i in ids]
    three = facts[facts["kind"].isin(["n_sellers", "mean", "share_above"])].reset_index(drop=True)
    rows3 = [
        _fold(three, i, n_pop, n_boot, families=("lognormal", "pareto"))
        for i in three.loc[three["kind"] != "n_sellers", "fact_id"]
    ]
    for title, table in (
        ("Leave one of the six Amazon US facts out (all families)", rows),
        ("Fit two of Amazon's three size figures, predict the third", rows3),
    ):
        frame = pd.DataFrame(table)
        print(f"\n{title}: {int(frame['inside'].sum())} of {len(frame)} inside P10-P90\n")
        print("| " + " | ".join(frame.columns) + " |")
        print("|" + "---|" * len(frame.columns))
        for r in frame.itertuples(index=False):
            cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in r]
            print("| " + " | ".join(cells) + " |")
    print(f"\n{n_boot} bootstrap draws per family; {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
