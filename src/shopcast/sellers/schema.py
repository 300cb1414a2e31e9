"""Parameters of the seller notebooks (``seller_thresholds``, ``threshold_vs_goal``)."""

from __future__ import annotations

import itertools
from typing import Literal

from pydantic import Field, model_validator

from shopcast.gmv.regions import COVERAGES
from shopcast.gmv.schema import GoalFields
from shopcast.schema import DataFile, ISODate, NotebookParams, iso_date
from shopcast.sellers.vocabulary import DATA_FORMS, FAMILIES, SCALE_SOURCES


class SellerFields(NotebookParams):
    """The seller size model, threshold sweep and simulation parameters."""

    data_form: Literal[DATA_FORMS]
    family: Literal[FAMILIES]
    shape_population: str = Field(min_length=1)
    platform: str = Field(min_length=1)
    scale_from: Literal[SCALE_SOURCES]
    thresholds: list[float] = Field(min_length=1)
    threshold_of_interest: float = Field(ge=0)
    n_sellers: int = Field(ge=100, le=5_000_000)
    months: int = Field(ge=1, le=120)
    seller_drift: float = Field(ge=-1, le=1)
    volatility: float = Field(ge=0, le=2)
    entry_rate: float = Field(ge=0, le=1)
    reallocation_rate: float = Field(ge=0, le=1)
    review_months: list[int]
    n_boot: int = Field(ge=10, le=5000)
    seed: int = Field(ge=0)

    @model_validator(mode="after")
    def _increasing(self) -> SellerFields:
        t = self.thresholds
        if any(b <= a for a, b in itertools.pairwise(t)) or t[0] < 0:
            raise ValueError("thresholds must be non-negative and strictly increasing")
        if any(m < 1 or m > self.months for m in self.review_months):
            raise ValueError(f"review_months must lie between 1 and months={self.months}")
        return self


class SellerThresholdsParams(SellerFields):
    """Parameters of ``notebooks/seller_thresholds.ipynb``."""

    data_file: DataFile
    as_of: str = ISODate


class ThresholdVsGoalParams(GoalFields, SellerFields):
    """Parameters of ``notebooks/threshold_vs_goal.ipynb``: the goal's and the sellers' together."""

    seller_data_file: DataFile
    seller_as_of: str = ISODate
    region: Literal[COVERAGES]
    threshold_start: str = ISODate

    @model_validator(mode="after")
    def _start_in_forecast(self) -> ThresholdVsGoalParams:
        start = iso_date(self.threshold_start, "threshold_start")
        if self.history_end and start <= iso_date(self.history_end, "history_end"):
            raise ValueError(
                f"threshold_start {start} must be a forecast month, after "
                f"history_end {self.history_end}"
            )
        return self
