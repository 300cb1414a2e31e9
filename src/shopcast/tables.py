"""Tables for reports: a pandas Styler whose every string reads as text.

pandas' Styler writes cell values, index and column labels and the caption into HTML as they are
(``styler.format.escape`` covers only some of them), so a publisher field holding ``<img src=x
onerror=...>`` would run in a report. :func:`styled` is the one way notebooks turn a DataFrame
into a formatted table: every cell, both axes' labels and the caption are HTML-escaped, and the
number formats are given as for :meth:`pandas.io.formats.style.Styler.format`.

Every table shown in a notebook or a report also carries its data: beneath the table, a link that
downloads the frame as CSV (:mod:`shopcast.downloads`), the values unformatted and in full.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from shopcast.downloads import download_link

Format = str | Callable[[Any], str]


class DataStyler(Styler):
    """A Styler shown with a download of its data (CSV) beneath the table.

    The CSV holds the frame as given to :func:`styled` (not the formatted text), without the
    columns and rows hidden from the table; the row labels are left out when the table hides
    them or when they are only the default positions 0, 1, 2, ...
    """

    download_name = "table"

    def data_frame(self) -> tuple[pd.DataFrame, bool]:
        """The frame the CSV holds, and whether its row labels are written."""
        rows = [i for i in range(len(self.index)) if i not in set(self.hidden_rows)]
        columns = [j for j in range(len(self.columns)) if j not in set(self.hidden_columns)]
        frame = self.data.iloc[rows, columns]
        default = isinstance(frame.index, pd.RangeIndex) and frame.index.name is None
        return frame, not (all(self.hide_index_) or default)

    def _repr_html_(self) -> str | None:
        table = super()._repr_html_()
        if table is None:
            return None
        frame, index = self.data_frame()
        return table + str(download_link(frame, self.download_name, index=index))


def styled(
    frame: pd.DataFrame,
    formats: Format | Mapping[str, Format] | None = None,
    *,
    caption: str | None = None,
    hide_index: bool = False,
    precision: int | None = None,
    na_rep: str | None = None,
    index_format: Format | None = None,
) -> Styler:
    """A Styler of ``frame`` with every string escaped.

    Args:
        frame: the table.
        formats: one format for every cell, or one per column (a format string such as
            ``"{:.1%}"`` or a callable such as :func:`shopcast.formatting.usd`); other columns
            keep pandas' default.
        caption: the table's caption (plain text).
        hide_index: leave the row labels out.
        precision: decimals of floats without a format of their own.
        na_rep: how a missing value reads.
        index_format: a format of the row labels (``"{:%b %Y}"`` for months).

    Returns:
        The Styler, to ``display()``; it shows a download of ``frame`` (CSV) beneath the table,
        named after the caption.
    """
    style = DataStyler(frame)
    style.download_name = _slug(caption) if caption else "table"
    style = style.format(precision=precision, na_rep=na_rep, escape="html")
    if formats is not None:
        subset = list(formats) if isinstance(formats, Mapping) else None
        style = style.format(
            formats, subset=subset, precision=precision, na_rep=na_rep, escape="html"
        )
    style = style.format_index(index_format, axis=0, escape="html")
    style = style.format_index(axis=1, escape="html")
    if caption is not None:
        style = style.set_caption(html.escape(caption))
    if hide_index:
        style = style.hide(axis="index")
    return style


def _slug(text: str) -> str:
    """A short file-name part from a caption: its first words, lower case, joined by ``-``."""
    words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
    return "-".join(words[:6]) or "table"
