"""Conveniences for notebooks: fit one or every family, comparison and sources tables."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, ParameterError
from shopcast.publish import record_input
from shopcast.sellers.families import FAMILY_CLASSES
from shopcast.sellers.loaders import load_brackets, load_facts, load_microdata
from shopcast.sellers.model import SizeModel
from shopcast.sellers.vocabulary import DATA_FORMS, FAMILIES

# ---------------------------------------------------------------------------------------------
# Conveniences for notebooks
# ---------------------------------------------------------------------------------------------


def fit_size_model(
    data: str | Path | pd.DataFrame,
    data_form: str = "facts",
    family: str = "lognormal_pareto",
    n_sellers: int | None = None,
    **kwargs,
) -> SizeModel:
    """Fit one family to data of one form.

    Args:
        data: file path or DataFrame.
        data_form: ``"facts"``, ``"brackets"`` or ``"microdata"``.
        family: see :data:`FAMILIES`.
        n_sellers: number of sellers a share-based bracket table describes (ignored otherwise).
        **kwargs: passed to :class:`SizeModel`.

    Returns:
        The fitted model.
    """
    model = SizeModel(family, **kwargs)
    if data_form == "facts":
        return model.fit_facts(data)
    if data_form == "brackets":
        return model.fit_brackets(data, n_sellers=n_sellers)
    if data_form == "microdata":
        return model.fit_microdata(data)
    raise ParameterError("data_form", data_form, f"one of {', '.join(DATA_FORMS)}")


def fit_families(
    data: str | Path | pd.DataFrame,
    data_form: str = "facts",
    families: Sequence[str] = FAMILIES,
    n_sellers: int | None = None,
) -> dict[str, SizeModel]:
    """Fit several families to the same data, for comparison (see :func:`comparison_table`)."""
    out = {}
    for fam in families:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[fam] = fit_size_model(data, data_form, fam, n_sellers=n_sellers)
            except ModelError:
                continue
    return out


def fitted_models(
    data: str | Path,
    data_form: str = "facts",
    families: Sequence[str] = FAMILIES,
    n_sellers: int | None = None,
    boot_family: str | None = None,
    n_boot: int = 0,
    seed: int = 0,
) -> dict[str, SizeModel]:
    """:func:`fit_families` plus the bootstrap of ``boot_family``, cached on disk.

    The fits and the bootstrap are deterministic for a given data file (by content), form,
    families, seller count, bootstrap size, seed and code, so reports that share them (every
    threshold scenario) compute them once (:mod:`shopcast.cache`). Warnings raised by the fits
    are stored with the result and raised again on a cache hit, so a report shows the same notes.
    The data file is recorded as an input either way (:func:`shopcast.publish.record_input`).
    """
    from shopcast.cache import WARNING_TYPES, cached

    digest = record_input(data)

    def plain(category: type) -> type:
        """The closest built-in warning class (the cache restores only those)."""
        return next((c for c in category.__mro__ if c in WARNING_TYPES), UserWarning)

    def compute() -> tuple[dict[str, SizeModel], list[tuple[str, type]]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            models = fit_families(data, data_form, families=families, n_sellers=n_sellers)
            if boot_family is not None and n_boot and boot_family in models:
                models[boot_family].bootstrap(n_boot, seed)
        return models, [(str(w.message), plain(w.category)) for w in caught]

    key = {
        "data_sha256": digest,
        "data_form": data_form,
        "families": list(families),
        "n_sellers": n_sellers,
        "boot_family": boot_family,
        "n_boot": n_boot,
        "seed": seed,
    }
    # Stored as arrays and JSON, never pickled: only SizeModel and its family classes come back.
    types = (SizeModel, *FAMILY_CLASSES.values())
    models, notes = cached("size-models", key, compute, types=types)
    for message, category in notes:
        warnings.warn(message, category, stacklevel=2)
    return models


def comparison_table(models: Mapping[str, SizeModel]) -> pd.DataFrame:
    """One row per fitted model.

    Returns:
        Columns ``family``, ``n_params``, ``aic`` (NaN for facts), ``loss``, ``rms_scaled_residual``
        (over the fitted points), ``max_abs_scaled_residual``, ``n_solutions``, ``params``.
    """
    rows = []
    for name, m in models.items():
        used = m.fit_table_[m.fit_table_["used"]]
        r = used["scaled_residual"].to_numpy(dtype=float)
        rows.append(
            {
                "family": name,
                "n_params": len(m._free),
                "aic": m.aic_,
                "loss": m.loss_,
                "rms_scaled_residual": float(np.sqrt(np.mean(r * r))),
                "max_abs_scaled_residual": float(np.max(np.abs(r))),
                "n_solutions": len(m.solutions_),
                "params": ", ".join(f"{k}={v:.4g}" for k, v in m.params_.items()),
            }
        )
    return pd.DataFrame(rows)


def sources_table(data: str | Path, data_form: str = "facts") -> pd.DataFrame:
    """The data sources behind a fit, for a report.

    For facts: every fact with its value, population, publisher, date and note. For brackets or
    microdata: one row naming the file and its size.
    """
    if data_form == "facts":
        facts = load_facts(data)
        cols = [
            c
            for c in (
                "fact_id",
                "population",
                "kind",
                "level_usd",
                "top_n",
                "value",
                "publisher",
                "published",
                "period",
                "source_note",
            )
            if c in facts
        ]
        return facts[cols]
    frame = load_brackets(data) if data_form == "brackets" else load_microdata(data)
    return pd.DataFrame(
        [
            {
                "file": str(data),
                "form": data_form,
                "rows": len(frame),
                "source_note": "user-supplied data",
            }
        ]
    )
