"""The on-disk cache: hits return the stored result, anything that matters changes the key."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from shopcast import cache, config
from shopcast.sellers.fitting import fitted_models
from shopcast.sellers.thresholds import threshold_sweep

FACTS = Path(__file__).resolve().parents[1] / "data" / "seller_size_facts.csv"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPCAST_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.delenv("SHOPCAST_CACHE", raising=False)


def test_hit_skips_the_computation_and_keys_separate():
    calls = []
    compute = lambda: calls.append(1) or len(calls)  # noqa: E731 - a counter
    assert cache.cached("t", {"a": 1}, compute) == 1
    assert cache.cached("t", {"a": 1}, compute) == 1  # stored, not recomputed
    assert cache.cached("t", {"a": 2}, compute) == 2  # another key
    assert len(calls) == 2


def test_disabled_cache_always_computes(monkeypatch):
    monkeypatch.setenv("SHOPCAST_CACHE", "0")
    calls = []
    for _ in range(2):
        cache.cached("t", {"a": 1}, lambda: calls.append(1))
    assert len(calls) == 2


def test_code_change_invalidates(monkeypatch):
    calls = []
    cache.cached("t", {"a": 1}, lambda: calls.append(1))
    monkeypatch.setattr(config, "code_digest", lambda: "other code")
    cache.cached("t", {"a": 1}, lambda: calls.append(1))
    assert len(calls) == 2


def test_cached_size_models_give_the_same_sweep_as_a_fresh_fit():
    kwargs = dict(
        n_sellers=500_000, boot_family="lognormal", families=("lognormal",), n_boot=20, seed=3
    )
    fresh = fitted_models(FACTS, "facts", **kwargs)["lognormal"]
    files = list(cache.cache_dir().glob("size-models-*.pkl"))
    assert len(files) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hit = fitted_models(FACTS, "facts", **kwargs)["lognormal"]
    assert hit is not fresh
    thresholds = [0, 1e5, 1e6]
    a = threshold_sweep(fresh, thresholds, n_sellers=500_000, n_boot=20, seed=3)
    b = threshold_sweep(hit, thresholds, n_sellers=500_000, n_boot=20, seed=3)
    assert a.equals(b)
