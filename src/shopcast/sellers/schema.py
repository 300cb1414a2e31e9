"""Parameters of the seller notebooks (``seller_thresholds``, ``threshold_vs_goal``)."""

from __future__ import annotations

import csv
import functools
import itertools
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from shopcast.config import resolve_project_path
from shopcast.gmv.regions import COVERAGES
from shopcast.gmv.schema import GoalFields, history_end_month
from shopcast.schema import DataFile, ISODate, NotebookParams, iso_date
from shopcast.sellers.vocabulary import DATA_FORMS, FAMILIES, SCALE_SOURCES

#: The most thresholds swept, and review months listed.
MAX_THRESHOLDS = 100
#: The cohort simulation's memory cap: 8 GiB, or half the machine's memory if that is less.
MAX_SIMULATION_BYTES = 8 * 2**30

#: Header columns that identify each data form (to say which form a file looks like).
_FORM_COLUMNS = {
    "facts": {"fact_id", "kind", "value"},
    "brackets": {"lower_usd", "upper_usd"},
    "microdata": {"annual_gmv_usd"},
}


def simulation_memory_limit() -> int:
    """Bytes the cohort simulation may use.

    :data:`MAX_SIMULATION_BYTES`, or half the machine's physical memory if that is less.
    """
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return MAX_SIMULATION_BYTES
    return min(MAX_SIMULATION_BYTES, physical // 2)


class SellerFields(NotebookParams):
    """The seller size model, threshold sweep and simulation parameters."""

    data_form: Literal[DATA_FORMS]
    family: Literal[FAMILIES]
    shape_population: str = Field(min_length=1)
    platform: str = Field(min_length=1)
    scale_from: Literal[SCALE_SOURCES]
    thresholds: list[float] = Field(min_length=1, max_length=MAX_THRESHOLDS)
    threshold_of_interest: float = Field(ge=0)
    n_sellers: int = Field(ge=100, le=5_000_000)
    months: int = Field(ge=1, le=120)
    seller_drift: float = Field(ge=-1, le=1)
    volatility: float = Field(ge=0, le=2)
    entry_rate: float = Field(ge=0, le=1)
    reallocation_rate: float = Field(ge=0, le=1)
    review_months: list[int] = Field(max_length=120)
    n_boot: int = Field(ge=10, le=5000)
    seed: int = Field(ge=0)

    @model_validator(mode="after")
    def _increasing(self) -> SellerFields:
        t = self.thresholds
        if any(b <= a for a, b in itertools.pairwise(t)) or t[0] < 0:
            raise ValueError("thresholds must be non-negative and strictly increasing")
        if any(m < 1 or m > self.months for m in self.review_months):
            raise ValueError(f"review_months must lie between 1 and months={self.months}")
        from shopcast.sellers.thresholds import simulation_bytes

        need, limit = (
            simulation_bytes(self.n_sellers, self.months, self.entry_rate),
            (simulation_memory_limit()),
        )
        if need > limit:
            raise ValueError(
                f"n_sellers {self.n_sellers:,} over months {self.months} at entry_rate "
                f"{self.entry_rate:g} needs about {need / 2**30:.1f} GiB for the cohort "
                f"simulation; the limit is {limit / 2**30:.1f} GiB: lower n_sellers or months"
            )
        return self


def check_seller_file(data_file: str, data_form: str, field: str) -> None:
    """Validate a seller data file with the loader of its ``data_form``, before any kernel.

    Raises:
        ValueError: the file looks like another form (naming ``data_form`` and ``field``).
        DataError: what the loader says is wrong, naming file, line, column and value.
    """
    path = resolve_project_path(data_file)
    stat = path.stat()
    _checked_seller(str(path), data_form, field, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _checked_seller(
    path: str,
    data_form: str,
    field: str,
    size: int,  # noqa: ARG001 - part of the cache key: a changed file is checked again
    mtime_ns: int,  # noqa: ARG001
) -> None:
    from shopcast.fileio import check_text_file
    from shopcast.sellers.loaders import load_brackets, load_facts, load_microdata

    text = check_text_file(path)
    header = {c.strip() for c in next(csv.reader([text.split("\n", 1)[0]]), [])}
    looks = [f for f, cols in _FORM_COLUMNS.items() if cols <= header]
    if looks and data_form not in looks:
        raise ValueError(
            f"data_form is {data_form!r} but {field} {Path(path).name} looks like a {looks[0]} "
            f"file (columns {', '.join(sorted(header))}): set data_form {looks[0]}, or give a "
            f"{data_form} file"
        )
    loader = {"facts": load_facts, "brackets": load_brackets, "microdata": load_microdata}
    loader[data_form](Path(path))


class SellerThresholdsParams(SellerFields):
    """Parameters of ``notebooks/seller_thresholds.ipynb``."""

    data_file: DataFile
    as_of: ISODate

    @model_validator(mode="after")
    def _data(self) -> SellerThresholdsParams:
        check_seller_file(self.data_file, self.data_form, "data_file")
        return self


class ThresholdVsGoalParams(GoalFields, SellerFields):
    """Parameters of ``notebooks/threshold_vs_goal.ipynb``: the goal's and the sellers' together."""

    seller_data_file: DataFile
    seller_as_of: ISODate
    region: Literal[COVERAGES]
    threshold_start: ISODate

    @model_validator(mode="after")
    def _start_in_forecast(self) -> ThresholdVsGoalParams:
        start = iso_date(self.threshold_start, "threshold_start")
        last = history_end_month(self.data_file, self.data_segment, self.history_end, self.as_of)
        if last is not None and start <= last:
            raise ValueError(
                f"threshold_start {start} must be a forecast month, after the last month of "
                f"history {last:%Y-%m} (history_end, or the last month the figures published by "
                "as_of cover)"
            )
        check_seller_file(self.seller_data_file, self.data_form, "seller_data_file")
        return self
