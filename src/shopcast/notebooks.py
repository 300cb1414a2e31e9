"""Which schema checks which notebook: the registry the workbench reads by notebook name.

The workbench never imports an analysis module by name; it looks the schema up here and imports
it lazily. Each schema lives beside its analysis. A notebook not listed gets a schema inferred
from its parameters cell.
"""

from __future__ import annotations

import importlib

#: Notebook file stem -> ``"module:class"`` of its parameter schema.
SCHEMAS = {
    "gmv_goal_forecast": "shopcast.gmv.schema:GmvGoalForecastParams",
    "forecast_postmortem": "shopcast.gmv.schema:ForecastPostmortemParams",
    "segment_goals": "shopcast.gmv.segments_schema:SegmentGoalsParams",
    "seller_thresholds": "shopcast.sellers.schema:SellerThresholdsParams",
    "threshold_vs_goal": "shopcast.sellers.schema:ThresholdVsGoalParams",
}


def schema_class(stem: str) -> type | None:
    """The registered schema class of the notebook ``stem``, or None."""
    target = SCHEMAS.get(stem)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
