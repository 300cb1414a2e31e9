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
import functools
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


#: The largest scenario file read (a flat file of parameters is a few kilobytes).
MAX_PARAMS_FILE_BYTES = 1_000_000
#: How deep a scenario file may nest: a mapping of parameters whose values may be flat lists.
MAX_FILE_DEPTH = 2

_YAML_FORM = "a flat YAML mapping of parameter: value"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without implicit timestamps.

    A date stays the text it was written as (the ambiguous YAML 1.1 forms are refused before
    loading, see :func:`_scan_yaml`).
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

#: Plain scalars that YAML 1.1 (PyYAML, hence plain ``papermill -f``) and YAML 1.2 read
#: differently, with what each makes of them.
_AMBIGUOUS = (
    (
        re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$"),
        "a base-60 number in YAML 1.1 (1:30 is 90) and text in YAML 1.2",
    ),
    (
        re.compile(r"^[-+]?0[0-9_]+$"),
        "octal in YAML 1.1 (010 is 8) and decimal in YAML 1.2 (010 is 10)",
    ),
    (
        re.compile(r"^[-+]?0o[0-7_]+$"),
        "octal in YAML 1.2 and text in YAML 1.1",
    ),
    (
        re.compile(r"^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*_[0-9_]*)$"),
        "a number in YAML 1.1 and text or another number in YAML 1.2",
    ),
    (
        re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$"),
        "a boolean in YAML 1.1 and text in YAML 1.2",
    ),
)
_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([Tt ].*)?$")


def _scan_yaml(text: str, origin: str, max_depth: int, key: str | None = None) -> None:
    """Refuse, before anything is built, what a flat scenario value never needs.

    Walks PyYAML's event stream (iterative: a document nested 10,000 levels deep cannot exhaust
    the stack, as loading it would) and refuses aliases (a 400-byte alias bomb expands to
    hundreds of megabytes), nesting deeper than ``max_depth``, and plain scalars whose meaning
    differs between YAML 1.1 and 1.2. Quoted scalars are text in both and always pass.

    Raises:
        ParameterError: naming ``origin``, the key when known, and how to write the value.
    """
    current = key
    # One entry per open collection: [is a mapping, expects a key next].
    stack: list[list[bool]] = []
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ParameterError(
                    current or "(file)",
                    f"*{event.anchor}",
                    "a value written out: YAML aliases and anchors are not allowed in scenario "
                    "parameters",
                    file=origin,
                )
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if stack and stack[-1][0]:
                    stack[-1][1] = not stack[-1][1]
                stack.append([isinstance(event, yaml.MappingStartEvent), True])
                if len(stack) > max_depth:
                    raise ParameterError(
                        current or "(file)",
                        f"a value nested {len(stack)} or more levels deep",
                        (
                            f"{_YAML_FORM}, each value plain or a flat list"
                            if key is None
                            else "a plain value or a flat list, e.g. -p thresholds=[0,10000]"
                        ),
                        file=origin,
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, yaml.ScalarEvent):
                if stack and stack[-1][0] and stack[-1][1]:
                    stack[-1][1] = False
                    if len(stack) == 1 and key is None:
                        current = event.value
                    continue
                if stack and stack[-1][0]:
                    stack[-1][1] = True
                if event.style is None and event.implicit[0]:
                    _check_unambiguous(current or "(file)", event.value, origin, key is None)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not YAML"
        raise ParameterError(
            key or "(file)", f"invalid YAML{where}: {problem}", _YAML_FORM, file=origin
        ) from None


def _check_unambiguous(key: str, value: str, origin: str, in_file: bool) -> None:
    for pattern, meaning in _AMBIGUOUS:
        if pattern.match(value):
            raise ParameterError(
                key,
                value,
                f"a value YAML 1.1 and YAML 1.2 read alike: {value} is {meaning}. Write the "
                f'number in plain decimal digits, true or false, or quote it ("{value}") for text',
                file=origin,
            )
    if in_file and _DATE.match(value):
        raise ParameterError(
            key,
            value,
            f'a quoted ISO date string, e.g. {key}: "{value}" (unquoted, papermill would pass '
            "it to the notebook as code, not as a date)",
            file=origin,
        )


def load_params_file(path: str | Path) -> dict[str, Any]:
    """Read one flat YAML scenario file (safe loading only, YAML 1.1/1.2 ambiguities refused).

    Raises:
        ParameterError: the file is missing, too large, not UTF-8, not YAML, not a flat mapping,
            uses aliases, or holds an unquoted date or a value YAML 1.1 and 1.2 read differently.
    """
    path = Path(path)
    try:
        is_file = path.is_file()
        size = path.stat().st_size if is_file else 0
    except OSError as exc:  # a name too long for the file system, a loop of links
        raise ParameterError(
            "--params", str(path), f"an existing YAML file ({exc.strerror})"
        ) from None
    if not is_file:
        raise ParameterError("--params", str(path), "an existing YAML file", file=str(path))
    if size > MAX_PARAMS_FILE_BYTES:
        raise ParameterError(
            "(file)",
            f"{size:,} bytes",
            f"a scenario file of at most {MAX_PARAMS_FILE_BYTES:,} bytes",
            file=str(path),
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ParameterError(
            "(file)",
            f"not UTF-8 at byte {exc.start}",
            "a UTF-8 text file (save it as UTF-8)",
            file=str(path),
        ) from None
    _scan_yaml(text, str(path), MAX_FILE_DEPTH)
    try:
        data = yaml.load(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError) as exc:
        raise ParameterError(
            "(file)", f"invalid YAML ({exc})", _YAML_FORM, file=str(path)
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError("(file)", type(data).__name__, _YAML_FORM, file=str(path))
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
    """Parse one ``-p KEY=VALUE``; the value is read as YAML.

    A quoted value stays text (``-p 'data_segment="1.5"'``); a bare date stays the ISO string it
    is; ``1e8`` is a number (YAML 1.2, unlike 1.1); a value YAML reads as nothing but a comment
    (``-p data_segment=#``) is taken as the text written. Forms YAML 1.1 and 1.2 read
    differently (``010``, ``1:30``, ``yes``) are refused with how to write them.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ParameterError("-p", text, "KEY=VALUE, e.g. -p seed=7", file=COMMAND_LINE)
    if not raw.strip():
        return key, ""
    _scan_yaml(raw, COMMAND_LINE, 1, key=key)
    try:
        node = yaml.compose(raw, Loader=_Loader)
        value = yaml.load(raw, Loader=_Loader)
    except (yaml.YAMLError, ValueError):
        node, value = None, raw
    if node is None:
        value = raw  # only a comment, e.g. "#": the text itself
    elif isinstance(node, yaml.ScalarNode) and node.style is None and isinstance(value, str):
        # YAML 1.1 reads 1e8 as text; YAML 1.2 (and a reader of the command line) a number
        with contextlib.suppress(ValueError):
            if re.fullmatch(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", value):
                value = float(value) if any(c in value.lower() for c in ".e") else int(value)
    _check_plain(key, value, COMMAND_LINE)
    return key, value


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
    stat = notebook.stat()
    return dict(_notebook_parameters(str(notebook), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=32)
def _notebook_parameters(
    path: str,
    size: int,  # noqa: ARG001 - part of the cache key: an edited notebook is read again
    mtime_ns: int,  # noqa: ARG001
) -> dict[str, NotebookParameter]:
    notebook = Path(path)
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
        with contextlib.suppress(ValueError):
            if math.isfinite(float(value)):
                text += f" (YAML reads {value} as text: write it as {float(value):.1f})"
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
