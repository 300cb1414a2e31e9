"""The base of every notebook's parameter schema, and the field types schemas share.

Light on purpose (pydantic only): the workbench imports schemas before any kernel starts.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shopcast.config import PROJ_ROOT, resolve_project_path


class NotebookParams(BaseModel):
    """Base of every notebook's parameter schema: strict types, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def iso_date(value: str, name: str) -> dt.date:
    """``value`` as a date, or a ValueError that names the field and shows the form."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO date like 2023-01-01, got {value!r}") from None


#: An ISO date field, ``YYYY-MM-DD``.
ISODate = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date, YYYY-MM-DD")


def _existing_file(value: str) -> str:
    path = resolve_project_path(value)
    if not path.is_file():
        raise ValueError(
            f"an existing file (absolute, or relative to {PROJ_ROOT}); {path} does not exist"
        )
    return value


#: A data file: absolute, or relative to the project root; it must exist.
DataFile = Annotated[str, Field(min_length=1), AfterValidator(_existing_file)]
