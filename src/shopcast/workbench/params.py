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
import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import nbformat
import yaml
from papermill.inspection import inspect_notebook
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)

from shopcast.exceptions import ParameterError, closest

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


class NotebookParams(BaseModel):
    """Base of every notebook's parameter schema: strict types, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _iso(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} must be an ISO date like 2023-01-01, got {value!r}") from None


ISODate = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="ISO date, YYYY-MM-DD")


def _existing_file(value: str) -> str:
    from shopcast.config import PROJ_ROOT

    path = Path(value) if Path(value).is_absolute() else PROJ_ROOT / value
    if not path.is_file():
        raise ValueError(
            f"an existing file (absolute, or relative to {PROJ_ROOT}); {path} does not exist"
        )
    return value


DataFile = Annotated[str, Field(min_length=1), AfterValidator(_existing_file)]


class _GoalFields(NotebookParams):
    """The GMV forecast and goal parameters (``gmv_goal_forecast``, ``threshold_vs_goal``)."""

    data_file: DataFile
    data_segment: str
    coverage: Literal["global", "southeast_asia", "outside_southeast_asia", "united_states"]
    goal_target_usd: float = Field(gt=0)
    goal_start: str = ISODate
    goal_end: str = ISODate
    goal_multiple: float = Field(gt=0)
    base_start: str = ISODate
    base_end: str = ISODate
    history_end: str = Field(pattern=r"^(\d{4}-\d{2}-\d{2})?$")
    horizon_months: int = Field(ge=1, le=120)
    model: Literal["prophet", "ets", "theta", "seasonal_naive", "drift", "ensemble", "auto"]
    growth: Literal["linear", "logistic"]
    cap_usd_per_month: float = Field(gt=0)
    changepoint_prior_scale: float = Field(gt=0, le=10)
    festival_effects: bool
    ad_scenario: bool
    ad_growth_per_year: float = Field(gt=-1, le=20)
    n_draws: int = Field(ge=1, le=2000)
    n_histories: int = Field(ge=1, le=500)
    n_samples: int = Field(ge=100, le=50000)
    seed: int = Field(ge=0)

    @model_validator(mode="after")
    def _windows(self) -> _GoalFields:
        start, end = _iso(self.goal_start, "goal_start"), _iso(self.goal_end, "goal_end")
        base_start, base_end = _iso(self.base_start, "base_start"), _iso(self.base_end, "base_end")
        if end < start:
            raise ValueError("goal_end must not be before goal_start")
        if base_end < base_start:
            raise ValueError("base_end must not be before base_start")
        if self.n_histories > self.n_draws:
            raise ValueError(
                f"n_histories ({self.n_histories}) must not exceed n_draws ({self.n_draws})"
            )
        last = data_last_month(self.data_file)
        if self.history_end:
            history_end = _iso(self.history_end, "history_end").replace(day=1)
            last = min(last, history_end) if last else history_end
        if self.growth == "logistic":
            level = recent_monthly_level(self.data_file, last)
            if level is not None and self.cap_usd_per_month <= level:
                raise ValueError(
                    f"cap_usd_per_month {self.cap_usd_per_month:,.0f} is below the average monthly "
                    f"GMV of the latest published total for the history ({level:,.0f}); logistic "
                    "growth needs a ceiling above current GMV: raise cap_usd_per_month or use "
                    "growth linear"
                )
        if last is not None:
            months = (end.year - last.year) * 12 + end.month - last.month
            if months > self.horizon_months:
                raise ValueError(
                    f"goal_end {end:%Y-%m} lies outside the forecast: history_end / data end "
                    f"{last:%Y-%m} "
                    f"and horizon_months is {self.horizon_months}; set horizon_months to at "
                    f"least {months} or move goal_end"
                )
        return self


def recent_monthly_level(data_file: str, last: dt.date | None) -> float | None:
    """Average monthly GMV of the latest global ``total`` anchor ending by ``last`` (a floor).

    Only for the anchors table; None for other files (the forecaster checks the cap against the
    history itself once it is built).
    """
    from shopcast.config import PROJ_ROOT

    path = Path(data_file) if Path(data_file).is_absolute() else PROJ_ROOT / data_file
    try:
        import csv

        with open(path, newline="", encoding="utf-8") as handle:
            rows = [
                r
                for r in csv.DictReader(handle)
                if r.get("measure") == "total"
                and r.get("coverage") == "global"
                and r.get("kind") == "estimate"
            ]
        best = None
        for r in rows:
            start = dt.date.fromisoformat(r["period_start"])
            end = dt.date.fromisoformat(r["period_end"])
            if last is not None and end.replace(day=1) > last:
                continue
            months = (end.year - start.year) * 12 + end.month - start.month + 1
            if best is None or end > best[0]:
                best = (end, float(r["value_usd"]) / months)
    except (OSError, ValueError, KeyError):
        return None
    return best[1] if best else None


def data_last_month(data_file: str) -> dt.date | None:
    """The last month a GMV data file covers (read from the CSV alone, without the models).

    The anchors table ends at its latest ``period_end``; a user's CSV at its latest ``date``.
    Returns None when the file cannot be read here (the loader will then say why).
    """
    from shopcast.config import PROJ_ROOT

    path = Path(data_file) if Path(data_file).is_absolute() else PROJ_ROOT / data_file
    try:
        import csv

        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        column = "period_end" if rows and "period_end" in rows[0] else "date"
        dates = [dt.date.fromisoformat(r[column].strip()[:10]) for r in rows if r.get(column)]
    except (OSError, ValueError, KeyError):
        return None
    return max(dates).replace(day=1) if dates else None


class GmvGoalForecastParams(_GoalFields):
    """Parameters of ``notebooks/gmv_goal_forecast.ipynb``."""


class _SellerFields(NotebookParams):
    """The seller size model, threshold sweep and simulation parameters."""

    data_form: Literal["facts", "brackets", "microdata"]
    family: Literal["lognormal", "pareto", "lognormal_pareto"]
    thresholds: list[float] = Field(min_length=1)
    threshold_of_interest: float = Field(ge=0)
    n_sellers: int = Field(ge=100, le=5_000_000)
    months: int = Field(ge=1, le=120)
    drift: float = Field(ge=-1, le=1)
    volatility: float = Field(ge=0, le=2)
    entry_rate: float = Field(ge=0, le=1)
    reallocation_rate: float = Field(ge=0, le=1)
    review_months: list[int]
    n_boot: int = Field(ge=10, le=5000)
    seed: int = Field(ge=0)

    @model_validator(mode="after")
    def _increasing(self) -> _SellerFields:
        t = self.thresholds
        if any(b <= a for a, b in itertools.pairwise(t)) or t[0] < 0:
            raise ValueError("thresholds must be non-negative and strictly increasing")
        if any(m < 1 or m > self.months for m in self.review_months):
            raise ValueError(f"review_months must lie between 1 and months={self.months}")
        return self


class SellerThresholdsParams(_SellerFields):
    """Parameters of ``notebooks/seller_thresholds.ipynb``."""

    data_file: DataFile


class ThresholdVsGoalParams(_GoalFields, _SellerFields):
    """Parameters of ``notebooks/threshold_vs_goal.ipynb``: the goal's and the sellers' together."""

    seller_data_file: DataFile
    threshold_start: str = ISODate

    @model_validator(mode="after")
    def _start_in_forecast(self) -> ThresholdVsGoalParams:
        start = _iso(self.threshold_start, "threshold_start")
        if self.history_end and start <= _iso(self.history_end, "history_end"):
            raise ValueError(
                f"threshold_start {start} must be a forecast month, after "
                f"history_end {self.history_end}"
            )
        return self


#: Registered schemas, by notebook file stem. Other notebooks get an inferred schema.
SCHEMAS: dict[str, type[NotebookParams]] = {
    "gmv_goal_forecast": GmvGoalForecastParams,
    "seller_thresholds": SellerThresholdsParams,
    "threshold_vs_goal": ThresholdVsGoalParams,
}

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
    return SCHEMAS.get(Path(notebook).stem)


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
