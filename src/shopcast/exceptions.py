"""The one exception family of shopcast.

Every error a user can cause derives from :class:`ShopcastError`, and its message says what was
wrong and how to fix it: the file, the field, the value seen and what is allowed.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable


class ShopcastError(Exception):
    """Base class for every error shopcast raises on purpose."""


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, or None when nothing is close."""
    match = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.5)
    return match[0] if match else None


#: The longest excerpt of a value an error message shows (a hostile value can be megabytes).
MAX_SHOWN_CHARS = 200
#: The longest message any :class:`ParameterError` or :class:`DataError` carries.
MAX_MESSAGE_CHARS = 2000


class _BoundedRepr(reprlib.Repr):
    """reprlib with numpy scalars shown as plain numbers; never expands a deep value."""

    def repr1(self, x: object, level: int) -> str:
        return super().repr1(_plain(x), level)


_REPR = _BoundedRepr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxtuple, _REPR.maxdict = 3, 12, 12, 12
_REPR.maxset, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 12, 10**9, 10**9, 10**9


def excerpt(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """A bounded ``repr`` of ``value`` for a message.

    numpy scalars print as plain numbers (``-20.0``, not ``np.float64(-20.0)``); containers show
    their first items and three levels at most (an alias-amplified YAML value is never expanded);
    a long text is cut in the middle, saying how many characters were left out.
    """
    try:
        text = _REPR.repr(value)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__} too deep to show>"
    if len(text) <= limit:
        return text
    keep = max(limit - 40, 20)
    return f"{text[: keep // 2]}...<{len(text) - keep} characters left out>...{text[-keep // 2 :]}"


def _plain(value: object) -> object:
    """A numpy scalar as the Python number it holds; anything else unchanged."""
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        try:
            return value.item()  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            return value
    return value


def bounded(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` cut to ``limit`` characters, saying how much was left out."""
    if len(message) <= limit:
        return message
    return f"{message[: limit - 60]}... <{len(message) - limit + 60} characters left out>"


class ParameterError(ShopcastError):
    """A scenario parameter is unknown, of the wrong type or out of range.

    Attributes:
        file: the parameters file (or ``-p`` on the command line) the value came from.
        field: the parameter's name.
        value: the value seen.
        allowed: what would have been accepted, in words.
    """

    def __init__(self, field: str, value: object, allowed: str, file: str | None = None):
        self.file, self.field, self.value, self.allowed = file, field, value, allowed
        where = f"{file}: " if file else ""
        super().__init__(
            bounded(
                f'{where}parameter "{excerpt(field, 80)[1:-1]}" = {excerpt(value)} is not '
                f"allowed: {allowed}"
            )
        )


class DataError(ShopcastError):
    """A data file is malformed.

    Attributes:
        file: the data file.
        row: the 1-based line number in the file (header is line 1), when one row is at fault.
        column: the column at fault, if any.
        problem: what is wrong and what is allowed.
    """

    def __init__(
        self, file: object, problem: str, row: int | None = None, column: str | None = None
    ):
        self.file, self.problem, self.row, self.column = str(file), problem, row, column
        where = str(file)
        if row is not None:
            where += f", line {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(bounded(f"{where}: {problem}"))


class ModelError(ShopcastError):
    """A model cannot be fitted or used with the data and settings given."""


class PublishError(ShopcastError, TypeError):
    """A headline value is not JSON-serialisable (raised inside the notebook)."""


class RenderError(ShopcastError):
    """A notebook's report (or the gallery) cannot be rendered as a safe, self-contained page."""


class RunInterrupted(ShopcastError):
    """The run was interrupted by the user or the scheduler (SIGINT / SIGTERM)."""


class BatchLocked(ShopcastError):
    """Another batch is running on the same reports folder."""


class UnsafePathError(ShopcastError):
    """A file or folder under the reports folder cannot be written safely.

    A symbolic link where a file or folder must be, or a folder leading outside the reports
    folder.
    """

    def __init__(self, path: object, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(bounded(f"{path}: {problem}"))


class ReportsUnwritableError(ShopcastError):
    """The reports folder could not be written (read-only, full disk, no permission)."""


class ArchiveError(DataError):
    """A forecast archive file is corrupt or partial, or a run's rows already exist."""


class NotIdentifiedError(ModelError):
    """The data pin down fewer parameters than a model has (reported as a status, not a crash).

    Attributes:
        family: the model (size family) that is not identified.
        reason: why, in words (how many independent facts the data give, how many parameters).
    """

    def __init__(self, family: str, reason: str):
        self.family, self.reason = family, reason
        super().__init__(f"{family}: not identified by these data: {reason}")


class PdfError(ShopcastError):
    """Chromium could not print a report to PDF."""


class NotifyError(ShopcastError):
    """The notification settings are incomplete or unreadable."""
