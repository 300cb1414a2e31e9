"""The data behind a chart or a table, as a CSV file embedded in the report.

A report is one self-contained HTML file that runs no script, so each download is a plain link,
``<a download="name.csv" href="data:text/csv;charset=utf-8,...">``, whose URL holds the whole
CSV percent-encoded: every byte but ``A-Z a-z 0-9 - _ . ~`` is written ``%XX``, so no quote,
``<`` or ``&`` of a data string can reach the page's markup. The page check
(``workbench/safety.py``) accepts exactly this form of ``data:`` link (:data:`CSV_URL`, on an
``<a>`` with a ``download`` attribute) and nothing else.

Text cells that a spreadsheet would read as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return, and not a number) get a leading ``'``, as OWASP advises against CSV
injection; numbers are written in full precision (Python's shortest round-trip form).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from markupsafe import Markup

from shopcast.config import run_context

if TYPE_CHECKING:
    import pandas as pd

#: The start of every CSV download's URL.
CSV_PREFIX = "data:text/csv;charset=utf-8,"
#: A whole CSV download URL: the prefix, then only unreserved characters and ``%XX`` escapes.
CSV_URL = re.compile(r"data:text/csv;charset=utf-8,(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})*\Z")
#: A download's file name: letters, digits, ``.``, ``_`` and ``-``, ending ``.csv``.
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,150}\.csv\Z")
#: CSV text longer than this (UTF-8 bytes) is not embedded; the page says so instead.
MAX_EMBEDDED_BYTES = 2_000_000
#: What a spreadsheet reads as the start of a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: The class of the paragraph holding a download (hidden when a report is printed to PDF).
CSS_CLASS = "sc-download"

#: File names handed out in this process, so a second chart of one kind gets ``-2``.
_names: Counter[str] = Counter()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _inert(value: Any) -> Any:
    """A text cell a spreadsheet reads as text: ``'`` before a would-be formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def _inert_labels(index: pd.Index) -> pd.Index:
    if index.dtype == object or str(index.dtype) == "str":
        index = index.map(_inert)
    return index.set_names([_inert(name) for name in index.names])


def csv_text(frame: pd.DataFrame, *, index: bool = True) -> str:
    """``frame`` as CSV text: UTF-8, one line a row, would-be formulas in text made inert.

    Args:
        frame: the data.
        index: write the row labels as the first column(s).
    """
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or str(safe[column].dtype) == "str":
            safe[column] = safe[column].map(_inert)
    safe.columns = _inert_labels(safe.columns)
    if index:
        safe.index = _inert_labels(safe.index)
    return safe.to_csv(index=index, lineterminator="\n")


def csv_url(text: str) -> str:
    """The ``data:`` URL of a CSV text: every character but ``A-Za-z0-9-_.~`` percent-encoded."""
    return CSV_PREFIX + quote(text, safe="", encoding="utf-8")


def file_name(name: str) -> str:
    """A download's file name: ``<notebook>-<scenario>-<name>.csv`` inside a run.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become ``-``; a name used
    before in this process gets ``-2``, ``-3`` ...
    """
    context = run_context()
    parts = [context["notebook"], context["scenario"], name]
    stem = "-".join(p for p in parts if p)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:120] or "data"
    _names[stem] += 1
    if _names[stem] > 1:
        stem = f"{stem}-{_names[stem]}"
    return f"{stem}.csv"


def download_link(
    frame: pd.DataFrame, name: str, *, index: bool = True, what: str = "this table"
) -> Markup:
    """A paragraph with a link that downloads ``frame`` as a CSV file (HTML, escaped).

    Args:
        frame: the data behind a chart or a table.
        name: what the file is called (see :func:`file_name`).
        index: write the row labels.
        what: words for the link, e.g. ``"this chart"``.

    Returns:
        The HTML, or a note when the CSV is longer than :data:`MAX_EMBEDDED_BYTES`.
    """
    text = csv_text(frame, index=index)
    size = len(text.encode("utf-8"))
    rows = f"{len(frame):,} row{'s' if len(frame) != 1 else ''}"
    if size > MAX_EMBEDDED_BYTES:
        too_large = '<p class="{}">The data of {} ({}, {:,} kB) are too large to embed.</p>'
        return Markup(too_large).format(CSS_CLASS, what, rows, size // 1000)
    return Markup(
        '<p class="{}"><a download="{}" href="{}">Download the data of {} (CSV, {})</a></p>'
    ).format(CSS_CLASS, file_name(name), csv_url(text), what, rows)
