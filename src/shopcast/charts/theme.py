"""The charts' one look: a seaborn theme, colours and dollar ticks, with no pyplot global state.

Every chart function is wrapped in :func:`themed`, which applies the theme through
``matplotlib.rc_context`` while the Figure is built: nothing leaks into the caller's matplotlib
settings, and charts look the same in JupyterLab, in the reports and from a plain script.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import matplotlib as mpl
import seaborn as sns
from matplotlib.figure import Figure

from shopcast.formatting import usd

P = ParamSpec("P")
R = TypeVar("R")

#: seaborn's white-grid style and notebook context, a little smaller than its default.
THEME = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook", font_scale=0.85)}
_DEEP = sns.color_palette("deep").as_hex()
#: Roles of colours, from seaborn's "deep" palette, so every chart uses them alike.
HISTORY_COLOR, FORECAST_COLOR, GOAL_COLOR, REQUIRED_COLOR = _DEEP[0], _DEEP[1], _DEEP[3], _DEEP[2]
ABSOLUTE_COLOR, MULTIPLE_COLOR, INTEREST_COLOR = _DEEP[0], _DEEP[1], _DEEP[3]


def themed(chart: Callable[P, R]) -> Callable[P, R]:
    """Build the chart under :data:`THEME` (a context: nothing global changes)."""

    @functools.wraps(chart)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with mpl.rc_context(THEME):
            return chart(*args, **kwargs)

    return wrapper


def new_figure(width: float, height: float) -> Figure:
    """A Figure with constrained layout, not registered with pyplot (so it is never shown twice)."""
    return Figure(figsize=(width, height), layout="constrained")


def usd_tick(value: float, _pos: object = None) -> str:
    """A short dollar tick label (``$500M``, ``$5B``, ``$1T``), escaped for mathtext."""
    if value <= 0:
        return "\\$0"
    return usd(value, "g", tex=True)
