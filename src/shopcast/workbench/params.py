"""Scenario parameters: reading, typed schemas per notebook, validation before any kernel starts.

Parameters flow one way: ``params/<notebook>/<scenario>.yaml`` (flat YAML that plain
``papermill -f`` also accepts) and ``-p KEY=VALUE`` overrides are merged over the notebook's own
defaults (read with papermill's inspection), checked against the notebook's schema, and only then
handed to papermill. papermill itself only warns on an unknown parameter; shopcast refuses it.

A notebook with a registered schema (:data:`SCHEMAS`) is checked field by field, with ranges and
cross-field rules. Any other notebook gets a schema inferred from the types of its defaults.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml
from papermill.inspection import inspect_notebook
from pydantic import (
    ValidationError,
    create_model,
)

from shopcast.exceptions import ParameterError, closest
from shopcast.notebooks import schema_class
from shopcast.schema import NotebookParams

NOTEBOOK_DEFAULT = "the notebook's parameters cell"
COMMAND_LINE = "-p on the command line"


# ----------------------------------------------------------------------------- reading


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Read one flat YAML scenario file (safe loading only).

    Raises:
        ParameterError: the file is missing, is not YAML, is not a flat mapping, or holds an
            unquoted date (papermill would pass it as code, not as a string).
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError("--params", str(path), "an existing YAML file", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(
            "(file)",
            f"not UTF-8 at byte {exc.start}",
            "a UTF-8 text file (save it as UTF-8)",
            file=str(path),
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ParameterError(
            "(file)",
            f"invalid YAML{where}",
            "a flat YAML mapping of parameter: value",
            file=str(path),
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(
            "(file)", type(data).__name__, "a flat YAML mapping of parameter: value", file=str(path)
        )
    for key, value in data.items():
        _check_plain(str(key), value, str(path))
    return {str(k): v for k, v in data.items()}


def _check_plain(key: str, value: Any, origin: str) -> None:
    if isinstance(value, (dt.date, dt.datetime)):
        raise ParameterError(
            key,
            value.isoformat(),
            f'a quoted ISO date string, e.g. {key}: "{value.isoformat()}" (unquoted, papermill '
            "would pass it to the notebook as code, not as a date)",
            file=origin,
        )
    if isinstance(value, dict):
        raise ParameterError(
            key, value, "a plain value or a list (scenario files are flat)", file=origin
        )
    if isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list, dt.date)):
                raise ParameterError(
                    key, value, "a list of plain values (numbers or strings)", file=origin
                )


def parse_cli_param(text: str) -> tuple[str, Any]:
    """Parse one ``-p KEY=VALUE``; the value is read as YAML, a bare date becomes an ISO string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ParameterError("-p", text, "KEY=VALUE, e.g. -p seed=7", file=COMMAND_LINE)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat()
    if isinstance(value, str):  # YAML 1.1 reads 1e8 as text; on the command line it is a number
        with contextlib.suppress(ValueError):
            value = float(value) if any(c in value.lower() for c in ".e") else int(value)
    _check_plain(key.strip(), value, COMMAND_LINE)
    return key.strip(), value


# ----------------------------------------------------------------------------- notebook side


@dataclass(frozen=True)
class NotebookParameter:
    """One parameter of a notebook's ``parameters`` cell."""

    name: str
    type_name: str
    default: Any
    help: str


def notebook_parameters(notebook: str | Path) -> dict[str, NotebookParameter]:
    """The parameters declared in a notebook's ``parameters`` cell, with literal defaults.

    Raises:
        ParameterError: the notebook has no ``parameters`` cell, or a default is not a literal.
    """
    notebook = Path(notebook)
    if not notebook.is_file():
        raise ParameterError("NOTEBOOK", str(notebook), "an existing .ipynb file")
    try:
        found = inspect_notebook(str(notebook))
    except ValueError as exc:  # papermill: no kernelspec, unknown language
        raise ParameterError(
            "(kernelspec)",
            str(exc),
            "a notebook whose kernel is 'Python (shopcast)' (JupyterLab: Kernel > Change Kernel)",
            file=str(notebook),
        ) from None
    _check_all_parsed(notebook, found)
    if not found:
        raise ParameterError(
            "(parameters cell)",
            "missing",
            "a code cell tagged 'parameters' (JupyterLab: Property Inspector > Cell Tags)",
            file=str(notebook),
        )
    out = {}
    for name, info in found.items():
        try:
            default = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            raise ParameterError(
                name,
                info["default"],
                "a literal default (number, string, bool, list) in the parameters cell",
                file=str(notebook),
            ) from None
        out[name] = NotebookParameter(name, info["inferred_type_name"], default, info["help"])
    return out


def _check_all_parsed(notebook: Path, found: dict[str, Any]) -> None:
    """Refuse a parameter that Python sees but papermill cannot parse (it would be dropped)."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError as exc:
                raise ParameterError(
                    "(parameters cell)", exc.text, f"valid Python ({exc.msg})", file=str(notebook)
                ) from None
            lines = cell.source.splitlines()
            for node in tree.body:
                names = [
                    t.id
                    for t in getattr(node, "targets", [getattr(node, "target", None)])
                    if isinstance(t, ast.Name)
                ]
                for name in names:
                    if name not in found:
                        raise ParameterError(
                            name,
                            lines[node.lineno - 1],
                            "a line papermill can parse: keep '=' and quote characters out of "
                            "the # comment",
                            file=str(notebook),
                        )


# ----------------------------------------------------------------------------- schemas


_PY_TYPES = {bool: bool, int: int, float: float, str: str, list: list}


def _inferred_schema(stem: str, params: dict[str, NotebookParameter]) -> type[NotebookParams]:
    fields: dict[str, Any] = {}
    for name, p in params.items():
        kind = type(p.default)
        if kind is float:
            fields[name] = (float, ...)
        elif kind in _PY_TYPES:
            fields[name] = (kind, ...)
        else:
            fields[name] = (Any, ...)
    return create_model(f"{stem}_params", __base__=NotebookParams, **fields)


def schema_for(notebook: str | Path) -> type[NotebookParams] | None:
    """The registered schema of a notebook, or None (an inferred one is used then)."""
    return schema_class(Path(notebook).stem)


# ----------------------------------------------------------------------------- validation


@dataclass
class ResolvedParams:
    """Validated parameters of one run.

    Attributes:
        values: every parameter's effective value (defaults merged with the overrides).
        overrides: only the values set by files or ``-p`` (what papermill injects).
        origins: where each effective value came from.
    """

    values: dict[str, Any]
    overrides: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)


def _describe_allowed(err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] == "literal_error" and "expected" in ctx:
        return f"one of {ctx['expected']}"
    text = err["msg"].replace("Input should be", "a value that is").replace("Value error, ", "")
    value = err.get("input")
    if err["type"] in ("float_type", "int_type") and isinstance(value, str):
        try:
            float(value)
            text += f" (YAML reads {value} as text: write it as {float(value):.1f})"
        except ValueError:
            pass
    return text


def validate(notebook: str | Path, layers: list[tuple[str, dict[str, Any]]]) -> ResolvedParams:
    """Merge parameter layers over the notebook's defaults and check them.

    Args:
        notebook: the notebook's path.
        layers: ``(origin, mapping)`` pairs applied in order, later ones winning; the origin
            (a file name or :data:`COMMAND_LINE`) is named in any error.

    Returns:
        The resolved parameters.

    Raises:
        ParameterError: an unknown key (with the known keys and the closest match), a wrong type,
            an out-of-range value or a broken cross-field rule, naming the origin of the value.
    """
    declared = notebook_parameters(notebook)
    values = {name: p.default for name, p in declared.items()}
    origins = dict.fromkeys(declared, NOTEBOOK_DEFAULT)
    overrides: dict[str, Any] = {}
    for origin, mapping in layers:
        for key, value in mapping.items():
            if key not in declared:
                near = closest(key, declared)
                hint = f' Did you mean "{near}"?' if near else ""
                raise ParameterError(
                    key,
                    value,
                    f"a parameter of {Path(notebook).name}; known: {', '.join(sorted(declared))}."
                    + hint,
                    file=origin,
                )
            values[key], origins[key], overrides[key] = value, origin, value
    schema = schema_for(notebook) or _inferred_schema(Path(notebook).stem, declared)
    try:
        schema.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "(combination)"
        if key == "(combination)":
            message = _describe_allowed(err)
            culprits = [k for k in values if re.search(rf"\b{re.escape(k)}\b", message)]
            origin = ", ".join(sorted({origins[k] for k in culprits})) or None
            shown = {k: values[k] for k in culprits}
            raise ParameterError(key, shown, message, file=origin) from None
        if err["type"] == "missing":
            raise ParameterError(
                key,
                "(not declared)",
                f"declared in the parameters cell of "
                f"{Path(notebook).name}: the schema {schema.__name__} requires "
                "it",
                file=str(notebook),
            ) from None
        value = values.get(key, err.get("input"))
        raise ParameterError(key, value, _describe_allowed(err), file=origins.get(key)) from None
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(key, value, "a finite number", file=origins[key])
    return ResolvedParams(values=values, overrides=overrides, origins=origins)
