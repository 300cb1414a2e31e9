"""Data vintages: which published figures were known on a date (``as_of``), which came later.

A forecast made on a date can only have used the figures published by then; the figures published
later are its outcomes. Every row of the anchors table carries a ``published`` date, and a user's
GMV CSV may carry one in an optional ``published`` column (see :mod:`shopcast.gmv.series`).

Publication dates may be partial (``YYYY-MM`` or ``YYYY``: no day is invented). A partial date
spans a month or a year; a figure counts as known on ``as_of`` only when its whole span ends on
or before ``as_of``, and as later when its span starts after ``as_of``. When ``as_of`` falls
inside the span the figure may or may not have been known: it is refused with an error that
names the file, the line and the fix (give the day, or write the span's last day as an explicit
conservative date and say so in ``source_note``). Refusing is the safe side of leakage: a figure
that might postdate the forecast never enters its fit, and none is silently dropped either.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from shopcast.exceptions import DataError, ParameterError

#: The seed article's date: the default vintage of the goal report.
DEFAULT_AS_OF = "2023-08-31"


def parse_as_of(
    value: str | dt.date | pd.Timestamp | None, name: str = "as_of"
) -> pd.Timestamp | None:
    """``as_of`` as a day Timestamp, or None for "" / None (every figure, as known today).

    Raises:
        ParameterError: not an ISO date ``YYYY-MM-DD``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            return pd.Timestamp(dt.date.fromisoformat(value.strip()))
        except ValueError:
            raise ParameterError(
                name, value, "an ISO date YYYY-MM-DD (e.g. 2023-08-31), or empty for today"
            ) from None
    return pd.Timestamp(value).normalize()


def publication_span(text: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last day a ``published`` value can mean.

    ``2023-08-24`` -> (24 Aug, 24 Aug); ``2023-08`` -> (1 Aug, 31 Aug); ``2023`` -> (1 Jan,
    31 Dec). The loaders have already checked the form.
    """
    text = str(text).strip()
    if len(text) == 10:
        day = pd.Timestamp(text)
        return day, day
    if len(text) == 7:
        first = pd.Timestamp(f"{text}-01")
        return first, first + pd.offsets.MonthEnd(0)
    first = pd.Timestamp(f"{text}-01-01")
    return first, pd.Timestamp(f"{text}-12-31")


def split_by_vintage(
    frame: pd.DataFrame, as_of: str | pd.Timestamp | None, path: str | Path, label: str = "figure"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into those known on ``as_of`` and those published after it (the outcomes).

    Args:
        frame: rows with a ``published`` column (ISO date, ``YYYY-MM`` or ``YYYY``) and a
            ``line`` column (the row's line in ``path``, for messages).
        as_of: the vintage date; None or "" keeps every row (nothing is an outcome).
        path: the file the rows came from (named in errors).
        label: what a row is, for messages (``figure``, ``row``).

    Returns:
        ``(known, later)``: two frames with the columns of ``frame`` plus ``published_first``
        and ``published_last`` (the span of the publication date).

    Raises:
        DataError: a row's publication date is partial and its span contains ``as_of``.
    """
    cutoff = parse_as_of(as_of)
    spans = [publication_span(p) for p in frame["published"]]
    frame = frame.assign(
        published_first=[s[0] for s in spans], published_last=[s[1] for s in spans]
    )
    if cutoff is None:
        return frame, frame.iloc[0:0]
    ambiguous = frame.loc[(frame["published_first"] <= cutoff) & (frame["published_last"] > cutoff)]
    if len(ambiguous):
        first = ambiguous.iloc[0]
        lines = ", ".join(str(n) for n in ambiguous["line"].head(10))
        ident = f" ({first['anchor_id']})" if "anchor_id" in ambiguous.columns else ""
        raise DataError(
            path,
            f"published = {first['published']!r}{ident} may be before or after as_of "
            f"{cutoff:%Y-%m-%d}, so it is unknown whether the {label} was known on that date "
            f"(line{'s' if len(ambiguous) > 1 else ''} {lines}); write the day it was "
            f"published, or its conservative last possible day "
            f"({first['published_last']:%Y-%m-%d}) with a note saying the day is not known, "
            "or choose an as_of outside that period",
            row=int(first["line"]),
            column="published",
        )
    known = frame["published_last"] <= cutoff
    return frame.loc[known], frame.loc[~known]


def anchors_as_of(
    anchors: pd.DataFrame, as_of: str | pd.Timestamp | None, path: str | Path = "anchors"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The anchors known on ``as_of`` and the later ones (outcomes), from ``load_anchors``.

    A derived row (``derived_from``) is known only when its source is known too.

    Returns:
        ``(known, later)``, each with the anchors' columns plus ``published_first`` and
        ``published_last``; indices reset.

    Raises:
        DataError: an ambiguous publication date (see :func:`split_by_vintage`), or no anchor
            was published by ``as_of``.
    """
    known, later = split_by_vintage(anchors, as_of, path)
    orphans = known["derived_from"].astype(str).ne("") & ~known["derived_from"].isin(
        known["anchor_id"]
    )
    if orphans.any():
        later = pd.concat([later, known.loc[orphans]])
        known = known.loc[~orphans]
    if known.empty:
        first = anchors.assign(_p=[publication_span(p)[1] for p in anchors["published"]])
        earliest = first.sort_values("_p").iloc[0]
        raise DataError(
            path,
            f"no figure was published by as_of {parse_as_of(as_of):%Y-%m-%d}; the earliest is "
            f"{earliest['anchor_id']} (published {earliest['published']}): choose a later as_of",
            column="published",
        )
    return known.reset_index(drop=True), later.reset_index(drop=True)
