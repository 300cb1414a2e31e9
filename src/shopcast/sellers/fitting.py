"""Conveniences for notebooks: fit one or every family, comparison and sources tables."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, NotIdentifiedError, ParameterError
from shopcast.publish import record_input
from shopcast.sellers.families import FAMILY_CLASSES
from shopcast.sellers.loaders import (
    DEFAULT_POPULATIONS,
    load_brackets,
    load_facts,
    load_microdata,
)
from shopcast.sellers.model import SizeModel
from shopcast.sellers.vocabulary import DATA_FORMS, FAMILIES, FAMILY_N_PARAMS

# ---------------------------------------------------------------------------------------------
# Conveniences for notebooks
# ---------------------------------------------------------------------------------------------


def fit_size_model(
    data: str | Path | pd.DataFrame,
    data_form: str = "facts",
    family: str = "lognormal_pareto",
    n_sellers: int | None = None,
    populations: Sequence[str] = DEFAULT_POPULATIONS,
    as_of: str | None = None,
    **kwargs,
) -> SizeModel:
    """Fit one family to data of one form.

    Args:
        data: file path or DataFrame.
        data_form: ``"facts"``, ``"brackets"`` or ``"microdata"``.
        family: see :data:`FAMILIES`.
        n_sellers: number of sellers a share-based bracket table describes (ignored otherwise).
        populations: for facts, the populations whose shape is fitted.
        as_of: for facts, the vintage (facts published later are not used).
        **kwargs: passed to :class:`SizeModel`.

    Returns:
        The fitted model.

    Raises:
        NotIdentifiedError: the data pin down fewer parameters than the family has.
        ModelError: the fit failed for another reason (the message says what to do).
    """
    model = SizeModel(family, **kwargs)
    if data_form == "facts":
        return model.fit_facts(data, populations=populations, as_of=as_of)
    if data_form == "brackets":
        return model.fit_brackets(data, n_sellers=n_sellers)
    if data_form == "microdata":
        return model.fit_microdata(data)
    raise ParameterError("data_form", data_form, f"one of {', '.join(DATA_FORMS)}")


class FamilyFits(Mapping):
    """Every family fitted to the same data, with a status for those that could not be.

    A read-only mapping from family name to fitted :class:`SizeModel` (identified families only);
    asking for a family that was not fitted raises :class:`ModelError` with its reason, never a
    ``KeyError``.

    Attributes:
        status: one row per family tried: ``family``, ``n_params``, ``status`` (``"fitted"``,
            ``"not identified by these data"`` or ``"failed"``), ``reason``.
        requested: the family asked for.
        default: the family used where one model is needed (the requested one when it is fitted,
            else the best fitted one: lowest AIC, or lowest loss for facts).
        note: why the default differs from the request (empty when it does not).
        data_form: the form fitted.
    """

    def __init__(self, models, status, requested, data_form):
        self._models = dict(models)
        self.status = status
        self.requested = requested
        self.data_form = data_form
        if requested in self._models:
            self.default, self.note = requested, ""
        elif self._models:
            key = "aic_" if data_form != "facts" else "loss_"
            self.default = min(self._models, key=lambda f: getattr(self._models[f], key))
            why = (
                status.set_index("family").loc[requested, "reason"]
                if (requested in set(status["family"]))
                else "it was not among the families fitted"
            )
            self.note = (
                f"The {requested} family could not be used ({why}); the report uses "
                f"{self.default}, the best-fitting family the data identify "
                f"({'lowest loss' if data_form == 'facts' else 'lowest AIC'})."
            )
        else:
            reasons = "; ".join(f"{r.family}: {r.reason}" for r in status.itertuples())
            raise ModelError(
                f"no size family could be fitted to these {data_form} ({reasons}); add data "
                "(more facts, finer brackets) or check the file's units (annual US dollars)"
            )

    def __getitem__(self, family: str) -> SizeModel:
        if family in self._models:
            return self._models[family]
        known = set(self.status["family"])
        if family in known:
            row = self.status.set_index("family").loc[family]
            raise ModelError(
                f"family {family!r} was not fitted: {row['status']}: {row['reason']}. Use "
                f"fits.default ({self.default!r}) or another fitted family: "
                f"{', '.join(self._models)}"
            )
        raise ModelError(
            f"family {family!r} was not tried; tried: {', '.join(self.status['family'])}"
        )

    def __iter__(self):
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)


def fit_families(
    data: str | Path | pd.DataFrame,
    data_form: str = "facts",
    families: Sequence[str] = FAMILIES,
    n_sellers: int | None = None,
    populations: Sequence[str] = DEFAULT_POPULATIONS,
    as_of: str | None = None,
    requested: str | None = None,
) -> FamilyFits:
    """Fit several families to the same data; those that cannot be fitted get a status.

    Returns:
        A :class:`FamilyFits` (a mapping of the fitted families plus ``status``, ``default``).
    """
    out, rows = {}, []
    for fam in families:
        row = {"family": fam, "n_params": FAMILY_N_PARAMS[fam], "status": "fitted", "reason": ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out[fam] = fit_size_model(
                    data, data_form, fam, n_sellers=n_sellers, populations=populations,
                    as_of=as_of,
                )  # fmt: skip
            except NotIdentifiedError as err:
                row.update(status="not identified by these data", reason=err.reason)
            except ModelError as err:
                row.update(status="failed", reason=str(err))
        rows.append(row)
    return FamilyFits(out, pd.DataFrame(rows), requested or families[0], data_form)


def fitted_models(
    data: str | Path,
    data_form: str = "facts",
    families: Sequence[str] = FAMILIES,
    n_sellers: int | None = None,
    boot_family: str | None = None,
    n_boot: int = 0,
    seed: int = 0,
    populations: Sequence[str] = DEFAULT_POPULATIONS,
    as_of: str | None = None,
    requested: str | None = None,
) -> FamilyFits:
    """:func:`fit_families` plus the bootstrap of every fitted family, cached on disk.

    ``boot_family`` limits the bootstrap to one family (None: every fitted family, which the
    model-averaged intervals need). The fits and the bootstrap are deterministic for a given data
    file (by content), form, families, seller count, populations, vintage, bootstrap size, seed
    and code, so reports that share them compute them once (:mod:`shopcast.cache`). Warnings
    raised by the fits are stored with the result and raised again on a cache hit, so a report
    shows the same notes. The data file is recorded as an input either way
    (:func:`shopcast.publish.record_input`).
    """
    from shopcast.cache import WARNING_TYPES, cached

    digest = record_input(data)

    def plain(category: type) -> type:
        """The closest built-in warning class (the cache restores only those)."""
        return next((c for c in category.__mro__ if c in WARNING_TYPES), UserWarning)

    def compute() -> tuple[FamilyFits, list[tuple[str, type]]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits = fit_families(
                data, data_form, families=families, n_sellers=n_sellers,
                populations=populations, as_of=as_of, requested=requested,
            )  # fmt: skip
            if n_boot:
                for fam in fits:
                    if boot_family is None or fam == boot_family:
                        fits[fam].bootstrap(n_boot, seed)
        return fits, [(str(w.message), plain(w.category)) for w in caught]

    key = {
        "data_sha256": digest,
        "data_form": data_form,
        "families": list(families),
        "n_sellers": n_sellers,
        "boot_family": boot_family,
        "n_boot": n_boot,
        "seed": seed,
        "populations": list(populations),
        "as_of": as_of,
        "requested": requested,
    }
    # Stored as arrays and JSON, never pickled: only these classes come back from an entry.
    types = (FamilyFits, SizeModel, *FAMILY_CLASSES.values())
    fits, notes = cached("size-models", key, compute, types=types)
    for message, category in notes:
        warnings.warn(message, category, stacklevel=2)
    return fits


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
