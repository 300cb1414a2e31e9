"""The one exception family of shopcast.

Every error a user can cause derives from :class:`ShopcastError`, and its message says what was
wrong and how to fix it: the file, the field, the value seen and what is allowed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ShopcastError(Exception):
    """Base class for every error shopcast raises on purpose."""


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``name``, or None when nothing is close."""
    match = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.5)
    return match[0] if match else None


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
        super().__init__(f'{where}parameter "{field}" = {value!r} is not allowed: {allowed}')


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
        super().__init__(f"{where}: {problem}")


class ModelError(ShopcastError):
    """A model cannot be fitted or used with the data and settings given."""


class PublishError(ShopcastError, TypeError):
    """A headline value is not JSON-serialisable (raised inside the notebook)."""


class RenderError(ShopcastError):
    """A notebook's report cannot be rendered as a safe, self-contained page."""


class RunInterrupted(ShopcastError):
    """The run was interrupted by the user or the scheduler (SIGINT / SIGTERM)."""


class BatchLocked(ShopcastError):
    """Another batch is running on the same reports folder."""


class NotIdentifiedError(ModelError):
    """The data pin down fewer parameters than a model has (reported as a status, not a crash).

    Attributes:
        family: the model (size family) that is not identified.
        reason: why, in words (how many independent facts the data give, how many parameters).
    """

    def __init__(self, family: str, reason: str):
        self.family, self.reason = family, reason
        super().__init__(f"{family}: not identified by these data: {reason}")
