"""The on-disk cache: hits return the stored result, anything that matters changes the key."""

from __future__ import annotations

import io
import json
import os
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopcast import cache, config
from shopcast.sellers.fitting import fitted_models
from shopcast.sellers.model import SizeModel
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
    files = list(cache.cache_dir().glob("size-models-*.npz"))
    assert len(files) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hit = fitted_models(FACTS, "facts", **kwargs)["lognormal"]
    assert hit is not fresh
    thresholds = [0, 1e5, 1e6]
    a = threshold_sweep(fresh, thresholds, n_sellers=500_000, n_boot=20, seed=3)
    b = threshold_sweep(hit, thresholds, n_sellers=500_000, n_boot=20, seed=3)
    assert a.equals(b)


class Boom:
    """Unpickling this runs ``touch MARKER`` (what a planted cache entry would do)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_planted_pickle_never_runs_and_the_value_is_recomputed(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(Boom(marker))
    assert not marker.exists()
    key = {"a": 1}
    path = cache.entry_path("t", key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)  # at the very path the entry would have
    legacy = path.with_suffix(".pkl")  # and where the pickle cache kept it
    legacy.write_bytes(payload)
    calls = []
    assert cache.cached("t", key, lambda: calls.append(1) or 42) == 42
    assert calls == [1] and not marker.exists()
    assert cache.cached("t", key, lambda: calls.append(1) or 42) == 42  # the good entry now
    assert calls == [1] and not marker.exists()
    assert path.read_bytes()[:2] == b"PK"  # replaced by an npz archive


def test_a_planted_npz_with_an_object_array_never_unpickles(tmp_path):
    marker = tmp_path / "pwned"
    arr = np.empty(1, dtype=object)
    arr[0] = Boom(marker)
    buffer = io.BytesIO()
    np.savez(buffer, a0=arr, __tree__=np.frombuffer(b'{"$": "array", "key": "a0"}', np.uint8))
    key = {"b": 2}
    path = cache.entry_path("t", key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    assert cache.cached("t", key, lambda: "fresh") == "fresh"
    assert not marker.exists()


def test_an_entry_naming_another_class_is_refused():
    tree = json.dumps({"$": "object", "class": "os.system", "state": {"$": "dict", "items": []}})
    buffer = io.BytesIO()
    np.savez(buffer, __tree__=np.frombuffer(tree.encode(), np.uint8))
    with pytest.raises(cache.CacheFormatError, match="not among the cached types"):
        cache.loads(buffer.getvalue(), types=(SizeModel,))
    with pytest.raises(cache.CacheFormatError, match="not a valid cache entry"):
        cache.loads(b"PK\x03\x04 not a zip")


def test_values_round_trip_exactly():
    frame = pd.DataFrame(
        {
            "s": pd.array(["a", None, "<b>"], dtype="str"),
            "f": [1.5, np.nan, -0.0],
            "b": [True, False, True],
            "t": pd.to_datetime(["2023-01-01", "2023-02-01", "2023-03-01"]),
        },
        index=pd.Index([10, 20, 30], name="k"),
    )
    value = {
        "frame": frame,
        "series": pd.Series([1.0, 2.0], index=pd.RangeIndex(2), name="x"),
        "nested": [1, (2.5, "three"), {4.0: None}],
        "special": [float("nan"), float("inf")],
        "array": np.arange(6).reshape(2, 3),
        "scalar": np.float64(0.1),
        "words": np.array(["mean", "share_above"]),
        "warning": RuntimeWarning,
    }
    back = cache.loads(cache.dumps(value))
    pd.testing.assert_frame_equal(back["frame"], frame)
    pd.testing.assert_series_equal(back["series"], value["series"])
    assert back["nested"] == [1, (2.5, "three"), {4.0: None}]
    assert np.isnan(back["special"][0]) and back["special"][1] == float("inf")
    assert np.array_equal(back["array"], value["array"]) and back["scalar"] == np.float64(0.1)
    assert back["words"].tolist() == ["mean", "share_above"] and back["warning"] is RuntimeWarning


def test_a_value_that_is_not_data_is_computed_every_time():
    calls = []
    for _ in range(2):
        assert cache.cached("t", {"c": 3}, lambda: calls.append(1) or (lambda: 1)) is not None
    assert len(calls) == 2
    assert not list(cache.cache_dir().glob("t-*"))
