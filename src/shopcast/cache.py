"""A small on-disk cache for deterministic, expensive results (seller-size fits and bootstraps).

Several reports fit the same seller-size model to the same data with the same seed (every
threshold scenario does); the fit and its bootstrap are a large share of a batch's time. A result
is stored under a key made of everything it depends on: the caller's inputs (data files by
content), and the source code of the shopcast package, so any change of code or data computes
afresh. Writes are atomic (parallel runs may race; the loser's identical result wins). Set
``SHOPCAST_CACHE=0`` to turn the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Callable
from typing import Any, TypeVar

from shopcast import config
from shopcast.config import cache_dir
from shopcast.fileio import atomic_write

T = TypeVar("T")


def _library_versions() -> dict[str, str]:
    """Versions of the libraries a cached result's numbers and pickle depend on."""
    from importlib import metadata

    out = {}
    for name in ("numpy", "pandas", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def enabled() -> bool:
    """False when ``SHOPCAST_CACHE=0``."""
    return os.environ.get("SHOPCAST_CACHE", "1") != "0"


def cached(name: str, key: dict[str, Any], compute: Callable[[], T]) -> T:
    """``compute()``, or its stored result for the same ``key`` and the same code.

    Args:
        name: a readable prefix of the cache file.
        key: JSON-serialisable inputs the result depends on (use file digests, not paths).
        compute: the computation, deterministic for a given key.
    """
    if not enabled():
        return compute()
    text = json.dumps(
        {"key": key, "code": config.code_digest(), "libraries": _library_versions()},
        sort_keys=True,
        default=str,
    )
    path = cache_dir() / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:24]}.pkl"
    if path.is_file():
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except Exception:  # noqa: BLE001 - any unreadable entry (e.g. after an upgrade): recompute
            path.unlink(missing_ok=True)
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, pickle.dumps(result))
    return result
