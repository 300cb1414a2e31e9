"""Parameters of ``notebooks/segment_goals.ipynb``, beside the segment analysis that owns them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shopcast.engine import ENGINES
from shopcast.gmv.segment_data import BAD_SEGMENT_ACTIONS
from shopcast.gmv.segments import SEGMENT_MODELS
from shopcast.schema import DaskAddress, DataFile, ISODate, NotebookParams, iso_date


class SegmentGoalsParams(NotebookParams):
    """Parameters of ``segment_goals``: segmented data, goal window, model and engine."""

    data_file: DataFile
    history_end: str = ISODate
    goal_target_usd: float = Field(gt=0)
    goal_start: str = ISODate
    goal_end: str = ISODate
    horizon_months: int = Field(ge=1, le=60)
    base_months: int = Field(ge=1, le=36)
    model: Literal[SEGMENT_MODELS]
    n_draws: int = Field(ge=1, le=2000)
    n_histories: int = Field(ge=1, le=200)
    n_samples: int = Field(ge=100, le=20000)
    on_bad_segment: Literal[BAD_SEGMENT_ACTIONS]
    engine: Literal[ENGINES]
    dask_address: DaskAddress
    seed: int = Field(ge=0)

    @model_validator(mode="after")
    def _windows(self) -> SegmentGoalsParams:
        start, end = iso_date(self.goal_start, "goal_start"), iso_date(self.goal_end, "goal_end")
        last = iso_date(self.history_end, "history_end").replace(day=1)
        if end < start:
            raise ValueError("goal_end must not be before goal_start")
        months = (end.year - last.year) * 12 + end.month - last.month
        if months > self.horizon_months:
            raise ValueError(
                f"goal_end {end:%Y-%m} lies {months} months after history_end {last:%Y-%m}, "
                f"beyond horizon_months {self.horizon_months}; raise horizon_months to {months}"
            )
        if end <= last:
            raise ValueError(
                f"goal_end {end:%Y-%m} is not after history_end {last:%Y-%m}: nothing to forecast"
            )
        return self
