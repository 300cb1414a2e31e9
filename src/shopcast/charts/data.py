"""The data behind a chart: recorded as the chart is drawn, shown beneath it as a CSV download.

Every chart function records what it draws in a :class:`ChartData` (the same values it hands to
matplotlib) and attaches the table to the Figure it returns; :func:`show` displays the Figure
and, beneath it, a link that downloads that table (:mod:`shopcast.downloads`). Notebooks call
``show(chart(...))`` where they would call ``display(chart(...))``.

Every chart's table has the same columns, one row per point, bar, line or period drawn:

========== ==================================================================================
``panel``  the panel (sub-chart) title, for charts of several panels
``series`` what the row belongs to, in the legend's words
``x``      the position on the chart's horizontal (or category) axis: a month (ISO date), a
           dollar amount, a share, or a category's name
``x_end``  the end of a bar or of a line across a period (e.g. a figure covering a year)
``y``      the value drawn (dollars, shares, counts, as the axis reads); for a vertical line
           only ``x`` is set, for a horizontal one only ``y``
``y_low``  the low end of a band or an error bar (e.g. P10)
``y_high`` the high end (e.g. P90)
``label``  the point's name: text written at it on the chart, or the figure's id
========== ==================================================================================

Optional columns no row uses are left out. Values are those drawn, before any axis limit cuts a
band off the chart.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from shopcast.downloads import download_link
from shopcast.exceptions import ShopcastError
from shopcast.publish import KEY_CHART

#: Columns of every chart's table, in order (``series``, ``x`` and ``y`` always present).
COLUMNS = ("panel", "series", "x", "x_end", "y", "y_low", "y_high", "label")
_ALWAYS = ("series", "x", "y")
#: The Figure attributes holding its table and the chart's name.
DATA_ATTR, NAME_ATTR = "shopcast_chart_data", "shopcast_chart_name"


class ChartDataError(ShopcastError):
    """A chart was shown without the data behind it."""


def _is_array(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index))


def _plain(value: Any) -> Any:
    """A month as an ISO date (``2023-01-01``), a moment as ISO time, anything else unchanged."""
    if isinstance(value, (pd.Timestamp, dt.datetime, np.datetime64)):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            return None
        return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value


class ChartData:
    """What one chart draws, collected while it is drawn (see the module's column table)."""

    def __init__(self, chart: str) -> None:
        """Start an empty table.

        Args:
            chart: the chart's name (its function's), the stem of the file name.
        """
        self.chart = chart
        self._parts: list[pd.DataFrame] = []

    def add(
        self,
        series: str,
        x: Any = None,
        y: Any = None,
        *,
        x_end: Any = None,
        y_low: Any = None,
        y_high: Any = None,
        label: Any = None,
        panel: str | None = None,
    ) -> None:
        """Record rows drawn: each argument one value for every row or one value per row.

        Arrays (lists, numpy arrays, Series, Index) give one value per row and must be of one
        length; any other value is repeated on every row (see the module's column table).

        Args:
            series: the legend's words for these rows.
            x: positions on the horizontal (or category) axis.
            y: values drawn.
            x_end: ends of bars or periods.
            y_low: low ends of bands or error bars.
            y_high: high ends of bands or error bars.
            label: the points' names.
            panel: the panel's title, for charts of several panels.
        """
        given = {"x": x, "x_end": x_end, "y": y, "y_low": y_low, "y_high": y_high, "label": label}
        lengths = {len(v) for v in given.values() if _is_array(v)}
        if len(lengths) > 1:
            raise ChartDataError(
                f"chart {self.chart!r}, series {series!r}: arrays of different lengths "
                f"{sorted(lengths)}; give one value per row drawn"
            )
        n = lengths.pop() if lengths else 1
        part: dict[str, list[Any]] = {"series": [series] * n}
        if panel is not None:
            part["panel"] = [panel] * n
        for key, value in given.items():
            if value is None:
                continue
            values = pd.Series(value).tolist() if _is_array(value) else [value] * n
            part[key] = [_plain(v) for v in values]
        self._parts.append(pd.DataFrame(part))

    def frame(self) -> pd.DataFrame:
        """The table: one row per value drawn, the columns of :data:`COLUMNS` in use."""
        if not self._parts:
            return pd.DataFrame(columns=list(_ALWAYS))
        table = pd.concat(self._parts, ignore_index=True)
        used = [c for c in COLUMNS if c in _ALWAYS or c in table.columns]
        return table.reindex(columns=used)

    def attach(self, fig: Figure) -> Figure:
        """Attach the table to ``fig`` (read back by :func:`chart_data`); returns ``fig``."""
        setattr(fig, DATA_ATTR, self.frame())
        setattr(fig, NAME_ATTR, self.chart)
        return fig


def chart_data(fig: Figure) -> pd.DataFrame | None:
    """The table a chart function attached to its Figure (None for a Figure drawn elsewhere)."""
    return getattr(fig, DATA_ATTR, None)


def show(
    fig: Figure,
    data: pd.DataFrame | None = None,
    *,
    name: str | None = None,
    key: bool = False,
) -> None:
    """Show a chart with a download of the data behind it (CSV) beneath it.

    In a Jupyter kernel this displays the Figure, then the link; elsewhere (a plain Python
    session) it does nothing. It returns nothing, so a cell ending with it shows the chart once.

    Args:
        fig: the chart.
        data: the table behind it; by default the one its chart function attached.
        name: the CSV file's name (without ``.csv``); by default the chart function's name.
        key: this is the report's key chart, the one the gallery shows as a thumbnail (one per
            notebook; without one the gallery takes the report's first chart).

    Raises:
        ChartDataError: when the Figure carries no data and none is given.
    """
    frame = data if data is not None else chart_data(fig)
    if frame is None:
        raise ChartDataError(
            "this Figure carries no data behind it (it was not drawn by a shopcast.charts "
            "function): pass the table it draws, show(fig, data=frame)"
        )
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # plain Python without IPython
        return
    if get_ipython() is None:
        return
    display(fig, metadata={KEY_CHART: True} if key else None)
    link = download_link(
        frame,
        name or getattr(fig, NAME_ATTR, "chart"),
        index=not isinstance(frame.index, pd.RangeIndex),
        what="this chart",
    )
    display(HTML(str(link)))
