"""The base of every notebook's parameter schema, and the field types schemas share.

Light on purpose (pydantic only): the workbench imports schemas before any kernel starts.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shopcast.config import PROJ_ROOT, resolve_project_path

#: The longest text any string parameter may hold (names, segments, paths): a 10 MB value would
#: otherwise be copied into run.json, the report and the gallery.
MAX_STRING_CHARS = 1000


class NotebookParams(BaseModel):
    """Base of every notebook's parameter schema.

    Strict types, unknown keys refused, numbers finite (no nan or inf, in lists too), strings
    at most :data:`MAX_STRING_CHARS` long.
    """

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        allow_inf_nan=False,
        str_max_length=MAX_STRING_CHARS,
    )


def iso_date(value: str, name: str) -> dt.date:
    """``value`` as a date, or a ValueError that names the field and shows the form."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO date like 2023-01-01, got {value!r}") from None


def _real_date(value: str) -> str:
    """A YYYY-MM-DD string naming a day that exists (2023-02-30 and 2023-13-01 do not)."""
    if value:
        try:
            dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"a real calendar date, YYYY-MM-DD ({exc})") from None
    return value


#: An ISO date field, ``YYYY-MM-DD``, naming a day that exists.
ISODate = Annotated[
    str,
    Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date, YYYY-MM-DD"),
    AfterValidator(_real_date),
]
#: An ISO date, or empty (e.g. "the last month of the data").
OptionalISODate = Annotated[
    str,
    Field(pattern=r"^(\d{4}-\d{2}-\d{2})?$", description="ISO date, YYYY-MM-DD, or empty"),
    AfterValidator(_real_date),
]


def _existing_file(value: str) -> str:
    path = resolve_project_path(value)
    try:
        if path.is_file():
            return value
        if path.is_dir():
            problem = f"{path} is a folder"
        elif path.exists():
            problem = f"{path} is not a regular file (a FIFO, socket or device)"
        else:
            problem = f"{path} does not exist"
    except OSError as exc:  # a name longer than the file system allows, a loop of links
        problem = f"{exc.strerror or exc}"
    raise ValueError(f"an existing file (absolute, or relative to {PROJ_ROOT}); {problem}")


#: A data file: absolute, or relative to the project root; it must be an existing regular file.
DataFile = Annotated[str, Field(min_length=1), AfterValidator(_existing_file)]


def _dask_address(value: str) -> str:
    if value and not value.startswith(("tcp://", "tls://")):
        raise ValueError(
            f"dask_address {value!r} must look like tcp://HOST:PORT (or empty for "
            "$SHOPCAST_DASK_ADDRESS or a local cluster)"
        )
    return value


#: A Dask scheduler address (``tcp://HOST:PORT`` or ``tls://...``), or empty.
DaskAddress = Annotated[str, AfterValidator(_dask_address)]
