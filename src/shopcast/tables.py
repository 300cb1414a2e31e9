"""Tables for reports: a pandas Styler whose every string reads as text.

pandas' Styler writes cell values, index and column labels and the caption into HTML as they are
(``styler.format.escape`` covers only some of them), so a publisher field holding ``<img src=x
onerror=...>`` would run in a report. :func:`styled` is the one way notebooks turn a DataFrame
into a formatted table: every cell, both axes' labels and the caption are HTML-escaped, and the
number formats are given as for :meth:`pandas.io.formats.style.Styler.format`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

Format = str | Callable[[Any], str]


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
        The Styler, to ``display()``.
    """
    style = frame.style.format(precision=precision, na_rep=na_rep, escape="html")
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
