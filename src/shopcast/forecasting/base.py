"""What every forecaster shares: the interface, monthly-series checks and sample-path helpers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, ParameterError

logger = logging.getLogger(__name__)


#: Months a year has; the season length of every seasonal model here.
SEASON = 12
#: Below this many months of history, month-of-year effects are not estimated by default.
MIN_MONTHS_FOR_SEASONALITY = 2 * SEASON


@dataclass(frozen=True)
class SamplePaths:
    """Sample paths and what their rows share: the input of the goal arithmetic and the charts.

    Metadata travels here, not in ``DataFrame.attrs`` (which pandas drops silently on many
    operations; losing ``draw_of_row`` would shrink a standard error without a word).

    Attributes:
        frame: rows = samples, columns = month starts, USD per month.
        last_actual: the last history month (columns up to it are history), or None.
        draw_of_row: for every row, the label of the history draw it continues (rows that share
            a draw are not independent: goal probabilities use it for a cluster-robust error),
            or None for independent rows.
        history_kind: ``"reconstructed"`` (from published anchors) or ``"observed"``.
    """

    frame: pd.DataFrame
    last_actual: pd.Timestamp | None = None
    draw_of_row: tuple[Any, ...] | None = None
    history_kind: str = "reconstructed"

    def __post_init__(self) -> None:
        if self.draw_of_row is not None and len(self.draw_of_row) != len(self.frame):
            raise ModelError(
                f"draw_of_row has {len(self.draw_of_row)} labels for {len(self.frame)} paths"
            )

    def __len__(self) -> int:
        """The number of sample paths."""
        return len(self.frame)

    @property
    def draw_rows(self) -> list[Any]:
        """The history draws used, in the order of the rows."""
        return list(dict.fromkeys(self.draw_of_row or ()))

    def with_frame(self, frame: pd.DataFrame) -> SamplePaths:
        """The same metadata over new values (same rows, e.g. scaled by a factor)."""
        return replace(self, frame=frame)


def unwrap(paths: SamplePaths | pd.DataFrame) -> tuple[pd.DataFrame, SamplePaths]:
    """``(frame, paths)`` for either form; a bare DataFrame gets empty metadata."""
    if isinstance(paths, SamplePaths):
        return paths.frame, paths
    return paths, SamplePaths(paths)


class Forecaster(Protocol):
    """What the backtest, the selection and ``forecast_over_draws`` need from a model."""

    def fit(self, y: pd.Series) -> Forecaster:
        """Fit on a monthly series (USD per month); returns the fitted model."""
        ...

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """``n_samples`` future paths of ``horizon`` months (rows samples, columns months)."""
        ...


# --------------------------------------------------------------------------------------------
# helpers


def check_monthly(y: object, name: str = "y") -> pd.Series:
    """Validate a monthly series and return it as floats with a ``freq="MS"`` index.

    Args:
        y: the candidate series.
        name: how to call it in error messages.

    Returns:
        A copy of ``y`` as float64 with a month-start ``DatetimeIndex`` of frequency ``"MS"``.

    Raises:
        ModelError: when ``y`` is not a Series, its index is not consecutive month starts, or it
            holds missing or infinite values.
    """
    if not isinstance(y, pd.Series):
        raise ModelError(f"{name} must be a pandas Series of USD per month, got {type(y).__name__}")
    if not isinstance(y.index, pd.DatetimeIndex):
        raise ModelError(
            f"{name} must have a DatetimeIndex of month starts, got {type(y.index).__name__}; "
            "build it with pd.date_range(start, periods=n, freq='MS')"
        )
    if len(y) == 0:
        raise ModelError(f"{name} is empty; a forecaster needs at least a few months of history")
    fast = _checked_fast(y)
    if fast is not None:
        return fast
    idx = y.index
    if not (idx == idx.to_period("M").to_timestamp()).all():
        bad = idx[idx != idx.to_period("M").to_timestamp()][0]
        raise ModelError(f"{name} index holds {bad.date()}, which is not a month start (day 1)")
    expected = pd.date_range(idx[0], periods=len(idx), freq="MS")
    if not idx.equals(expected):
        missing = expected.difference(idx)
        hint = f" (first missing month {missing[0]:%Y-%m})" if len(missing) else ""
        raise ModelError(f"{name} index must be consecutive, sorted month starts{hint}")
    values = pd.to_numeric(y, errors="coerce").astype("float64")
    if not np.isfinite(values.to_numpy()).all():
        first = values.index[~np.isfinite(values.to_numpy())][0]
        raise ModelError(f"{name} has a missing or infinite value at {first:%Y-%m}")
    out = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(expected, freq="MS"), name=y.name)
    return out


def _checked_fast(y: pd.Series) -> pd.Series | None:
    """:func:`check_monthly`'s result computed with numpy alone, or None to take the long way.

    Forecasting thousands of segments calls the check a few times per series; pandas' own
    month arithmetic (``to_period``, ``date_range``) made it cost more than fitting a drift.
    Only a tz-naive index with float values takes this path; any doubt (and every error
    message) is left to the full check.
    """
    idx = y.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is not None or y.dtype != np.float64:
        return None
    stamps = idx.to_numpy()
    months = stamps.astype("datetime64[M]")
    values = y.to_numpy()
    if not (months.astype(stamps.dtype) == stamps).all() or not np.isfinite(values).all():
        return None
    if len(months) > 1 and not (np.diff(months.astype(np.int64)) == 1).all():
        return None
    if idx.freqstr != "MS":
        idx = pd.DatetimeIndex(idx, freq="MS")  # validated once, here
    return pd.Series(values.copy(), index=idx, name=y.name)


def month_starts(first: pd.Timestamp, periods: int) -> pd.DatetimeIndex:
    """``periods`` consecutive month starts from the month of ``first`` (numpy, no frequency).

    The same months as ``pd.date_range(first, periods=periods, freq="MS")`` for a month start,
    at a fraction of its cost (pandas generates month offsets one by one).
    """
    first = pd.Timestamp(first)
    start = np.datetime64(first.strftime("%Y-%m"), "M")
    return pd.DatetimeIndex((start + np.arange(int(periods))).astype(f"datetime64[{first.unit}]"))


def future_months(last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` month starts after ``last``."""
    return month_starts(pd.Timestamp(last) + pd.offsets.MonthBegin(1), horizon)


def check_sampling(horizon: object, n_samples: object) -> None:
    """Refuse a horizon or a number of samples that is not a whole number >= 1."""
    if not isinstance(horizon, (int, np.integer)) or isinstance(horizon, bool) or horizon < 1:
        raise ParameterError("horizon", horizon, "a whole number of months >= 1")
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) or n_samples < 1:
        raise ParameterError("n_samples", n_samples, "a whole number of sample paths >= 1")


def paths_frame(values: np.ndarray, months: pd.DatetimeIndex) -> pd.DataFrame:
    """Sample paths as a DataFrame: rows ``sample``, columns ``month``."""
    frame = pd.DataFrame(values, columns=months)
    frame.index.name = "sample"
    frame.columns.name = "month"
    return frame


def require_fitted(model: object, attribute: str = "y_") -> None:
    """Refuse to use a model before ``fit`` (it has no ``attribute`` yet)."""
    if not hasattr(model, attribute):
        raise ModelError(f"{type(model).__name__} is not fitted yet; call .fit(y) first")


@contextlib.contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed numpy's global RNG for the duration of the block, then restore its state.

    Prophet draws its predictive samples from ``np.random`` (the legacy global generator), so the
    only way to make them reproducible is to seed that generator; restoring the state afterwards
    keeps the seeding from leaking into the caller's code.
    """
    state = np.random.get_state()
    np.random.seed(int(seed) % (2**32))
    try:
        yield
    finally:
        np.random.set_state(state)


def silence_stan() -> None:
    """Keep cmdstanpy and prophet from printing INFO lines (notebook cells stay clean).

    Also mutes prophet's import-time "Importing plotly failed" error: shopcast draws with
    matplotlib and never uses prophet's plotly plots.
    """
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    try:
        from cmdstanpy.utils import get_logger
    except ImportError:  # pragma: no cover - cmdstanpy comes with prophet
        return
    # get_logger() installs cmdstanpy's handler (once, cached) and sets DEBUG; lower it afterwards.
    get_logger().setLevel(logging.WARNING)
    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    logging.getLogger("prophet").setLevel(logging.WARNING)


def gaussian_or_bootstrap(errors: str) -> str:
    """``errors`` when it names a way to draw innovations, else a ParameterError."""
    if errors not in ("gaussian", "bootstrap"):
        raise ParameterError("errors", errors, '"gaussian" or "bootstrap"')
    return errors


def to_model_scale(y: pd.Series, log: bool, name: str) -> pd.Series:
    """``log(y)`` for a log-scale model (refusing values <= 0), else ``y``."""
    if log:
        if (y <= 0).any():
            first = y.index[(y <= 0).to_numpy()][0]
            raise ModelError(
                f"{name} is {y[first]!r} at {first:%Y-%m}; a log-scale model needs positive "
                "values (pass log=False to model the level instead)"
            )
        return np.log(y)
    return y


def from_model_scale(values: np.ndarray, log: bool) -> np.ndarray:
    """Back from the model's scale to USD (the inverse of :func:`to_model_scale`)."""
    if log:
        return np.exp(values)
    return values
