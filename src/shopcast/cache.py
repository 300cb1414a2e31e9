"""A small on-disk cache for deterministic, expensive results (seller-size fits and bootstraps).

Several reports fit the same seller-size model to the same data with the same seed (every
threshold scenario does); the fit and its bootstrap are a large share of a batch's time. A result
is stored under a key made of everything it depends on: the caller's inputs (data files by
content), and the source code of the shopcast package, so any change of code or data computes
afresh. Writes are atomic (parallel runs may race; the loser's identical result wins). Set
``SHOPCAST_CACHE=0`` to turn the cache off.

The cache lives under ``reports/``, which more people may write than may run code as the batch
user, so an entry is data that cannot execute: one ``.npz`` file read with
``allow_pickle=False``, holding numpy arrays and a JSON tree that says how to put them together
(numbers, strings, lists, dicts, arrays, DataFrames, Series). Objects are rebuilt only as classes
the caller names in ``types`` (their ``__getstate__``/``__dict__`` is stored; ``__new__`` and
``__setstate__`` restore it, so no constructor runs), and class references only as those types.
An entry that is malformed, too large, or names anything else is ignored and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from shopcast import config
from shopcast.config import cache_dir
from shopcast.exceptions import ShopcastError
from shopcast.fileio import atomic_write

T = TypeVar("T")

#: Format of an entry; part of the key, so a change of format never reads an old entry.
FORMAT = "npz-json-1"
#: An entry larger than this (uncompressed) is not read: a planted file cannot fill the memory.
MAX_ENTRY_BYTES = 512 * 2**20
TREE = "__tree__"

#: Warning classes a cached computation may have raised (restored by name from this list only).
WARNING_TYPES: tuple[type, ...] = (
    Warning,
    UserWarning,
    RuntimeWarning,
    DeprecationWarning,
    FutureWarning,
    PendingDeprecationWarning,
)


class CacheFormatError(ShopcastError):
    """A value cannot be stored in the cache's data-only format, or an entry cannot be read."""


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Codec:
    """Turns a value into (JSON tree, arrays) and back, knowing only the ``types`` given."""

    def __init__(self, types: Iterable[type]) -> None:
        self.types = {_name(t): t for t in (*WARNING_TYPES, *types)}
        self.arrays: dict[str, np.ndarray] = {}

    # -- writing ----------------------------------------------------------------------------

    def _array(self, values: Any) -> dict[str, str]:
        arr = np.asarray(values)
        if arr.dtype.hasobject:
            raise CacheFormatError(f"an array of Python objects ({arr.dtype}) cannot be cached")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return {"$": "array", "key": key}

    def _column(self, values: pd.Series | pd.Index) -> dict[str, Any]:
        dtype = values.dtype
        if isinstance(dtype, pd.StringDtype):
            return {
                "$": "strings",
                "storage": dtype.storage,
                "nan": dtype.na_value is not pd.NA,
                "values": [None if pd.isna(v) else str(v) for v in values],
            }
        if pd.api.types.is_object_dtype(dtype) and all(isinstance(v, str) for v in values):
            return {"$": "objstrings", "values": [str(v) for v in values]}
        return self._array(values.to_numpy())

    def _index(self, index: pd.Index) -> dict[str, Any]:
        if isinstance(index, pd.RangeIndex):
            return {"$": "range", "start": index.start, "stop": index.stop, "step": index.step}
        if isinstance(index, pd.MultiIndex):
            raise CacheFormatError("a MultiIndex cannot be cached")
        return {"$": "index", "values": self._column(index), "name": self.encode(index.name)}

    def encode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$": "float", "repr": repr(value)}
        if isinstance(value, np.generic):
            return {"$": "scalar", "array": self._array(np.asarray(value).reshape(1))}
        if isinstance(value, np.ndarray):
            return self._array(value)
        if isinstance(value, list):
            return {"$": "list", "items": [self.encode(v) for v in value]}
        if isinstance(value, tuple):
            return {"$": "tuple", "items": [self.encode(v) for v in value]}
        if isinstance(value, dict):
            return {
                "$": "dict",
                "items": [[self.encode(k), self.encode(v)] for k, v in value.items()],
            }
        if isinstance(value, pd.DataFrame):
            if not all(isinstance(c, str) for c in value.columns):
                raise CacheFormatError("a DataFrame with non-string column labels cannot be cached")
            return {
                "$": "frame",
                "columns": list(value.columns),
                "index": self._index(value.index),
                "data": [self._column(value[c]) for c in value.columns],
                "attrs": self.encode(dict(value.attrs)),
            }
        if isinstance(value, pd.Series):
            return {
                "$": "series",
                "name": self.encode(value.name),
                "index": self._index(value.index),
                "data": self._column(value),
            }
        if isinstance(value, type):
            if _name(value) not in self.types:
                raise CacheFormatError(f"class {_name(value)} is not among the cached types")
            return {"$": "type", "name": _name(value)}
        cls = type(value)
        if _name(cls) in self.types and hasattr(value, "__dict__"):
            state = value.__getstate__() if hasattr(value, "__getstate__") else vars(value)
            return {"$": "object", "class": _name(cls), "state": self.encode(dict(state))}
        raise CacheFormatError(f"a {_name(cls)} cannot be cached (not among the cached types)")

    # -- reading ----------------------------------------------------------------------------

    def _get_array(self, node: dict[str, Any]) -> np.ndarray:
        return self.arrays[str(node["key"])]

    def _get_column(self, node: dict[str, Any]) -> Any:
        kind = node["$"]
        if kind == "strings":
            dtype = pd.StringDtype(
                storage=str(node["storage"]), na_value=np.nan if node["nan"] else pd.NA
            )
            return pd.array([None if v is None else str(v) for v in node["values"]], dtype=dtype)
        if kind == "objstrings":
            return np.array([str(v) for v in node["values"]], dtype=object)
        if kind == "array":
            return self._get_array(node)
        raise CacheFormatError(f"unknown column kind {kind!r}")

    def _get_index(self, node: dict[str, Any]) -> pd.Index:
        if node["$"] == "range":
            return pd.RangeIndex(int(node["start"]), int(node["stop"]), int(node["step"]))
        return pd.Index(self._get_column(node["values"]), name=self.decode(node["name"]))

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict):
            raise CacheFormatError(f"unexpected node {type(node).__name__}")
        kind = node.get("$")
        if kind == "float":
            return float(str(node["repr"]))
        if kind == "scalar":
            return self._get_array(node["array"])[0]
        if kind == "array":
            return self._get_array(node)
        if kind in ("list", "tuple"):
            items = [self.decode(v) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        if kind == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["items"]}
        if kind == "frame":
            index = self._get_index(node["index"])
            columns = [str(c) for c in node["columns"]]
            data = {c: self._get_column(d) for c, d in zip(columns, node["data"], strict=True)}
            frame = pd.DataFrame(data, index=index, columns=columns)
            frame.attrs.update(self.decode(node["attrs"]))
            return frame
        if kind == "series":
            return pd.Series(
                self._get_column(node["data"]),
                index=self._get_index(node["index"]),
                name=self.decode(node["name"]),
            )
        if kind == "type":
            return self._type(node["name"])
        if kind == "object":
            cls = self._type(node["class"])
            state = self.decode(node["state"])
            obj = cls.__new__(cls)
            if hasattr(obj, "__setstate__"):
                obj.__setstate__(state)
            else:
                obj.__dict__.update(state)
            return obj
        raise CacheFormatError(f"unknown node kind {kind!r}")

    def _type(self, name: Any) -> type:
        if not isinstance(name, str) or name not in self.types:
            raise CacheFormatError(f"class {name!r} is not among the cached types")
        return self.types[name]


def dumps(value: Any, types: Iterable[type] = ()) -> bytes:
    """``value`` as the bytes of one cache entry (an ``.npz`` archive, no pickle)."""
    codec = _Codec(types)
    tree = json.dumps(codec.encode(value), allow_nan=False).encode()
    buffer = io.BytesIO()
    np.savez(buffer, **codec.arrays, **{TREE: np.frombuffer(tree, dtype=np.uint8)})
    return buffer.getvalue()


def loads(data: bytes, types: Iterable[type] = ()) -> Any:
    """The value of one cache entry; :class:`CacheFormatError` if it is not a valid entry."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_ENTRY_BYTES:
                raise CacheFormatError("the entry is larger than the cache reads")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        tree = json.loads(arrays.pop(TREE).tobytes().decode())
        codec = _Codec(types)
        codec.arrays = arrays
        return codec.decode(tree)
    except CacheFormatError:
        raise
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile, UnicodeError) as exc:
        raise CacheFormatError(f"not a valid cache entry: {type(exc).__name__}: {exc}") from exc


def _library_versions() -> dict[str, str]:
    """Versions of the libraries a cached result's numbers depend on."""
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


def entry_path(name: str, key: dict[str, Any]):
    """Where the entry of ``name`` and ``key`` lives (for the current code and libraries)."""
    text = json.dumps(
        {
            "key": key,
            "code": config.code_digest(),
            "libraries": _library_versions(),
            "format": FORMAT,
        },
        sort_keys=True,
        default=str,
    )
    return cache_dir() / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:24]}.npz"


def cached(
    name: str, key: dict[str, Any], compute: Callable[[], T], types: Iterable[type] = ()
) -> T:
    """``compute()``, or its stored result for the same ``key`` and the same code.

    Args:
        name: a readable prefix of the cache file.
        key: JSON-serialisable inputs the result depends on (use file digests, not paths).
        compute: the computation, deterministic for a given key.
        types: the classes the result may hold instances of (or refer to); nothing else is
            ever rebuilt from an entry.
    """
    if not enabled():
        return compute()
    types = tuple(types)
    path = entry_path(name, key)
    if path.is_file() and not path.is_symlink():
        try:
            return loads(path.read_bytes(), types)
        except (CacheFormatError, OSError):  # unreadable or planted: recompute and replace
            path.unlink(missing_ok=True)
    result = compute()
    try:
        data = dumps(result, types)
    except CacheFormatError:
        return result  # not storable as data: computed every time rather than pickled
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)
    return result
