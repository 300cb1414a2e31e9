"""Rolling-origin evaluation of forecasters on a monthly series.

At each origin (cutoff month) every model is fitted on the months up to and including the
cutoff, and only those: the training slice is cut from the series before the model sees
anything. Its sample paths for the next ``horizon`` months are compared with what happened.
Only origins with a full horizon of actuals behind them are used, so every origin contributes
every step and averages over steps are like for like.

The reconstructed GMV series is short (about 32 months), hence the defaults: ``horizon=6``,
``initial=18`` (minimum training months), ``step=1``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, ParameterError
from shopcast.forecasting.base import SEASON, check_monthly
from shopcast.forecasting.baselines import DriftForecaster, SeasonalNaiveForecaster

#: Columns of the table returned by :func:`rolling_origin`.
TABLE_COLUMNS = [
    "model",
    "origin",
    "step",
    "month",
    "actual",
    "p10",
    "p50",
    "p90",
    "mean",
    "error",
    "abs_error",
    "ape",
    "sape",
    "scale",
    "scaled_error",
    "covered",
]


def mase_scale(
    train: pd.Series, season_length: int = SEASON, method: str = "auto"
) -> tuple[float, str]:
    """The denominator of MASE: the in-sample MAE of a naive forecast on the training data.

    Args:
        train: the training series.
        season_length: months per season.
        method: ``"seasonal"`` (MAE of ``y[t] - y[t-m]``), ``"naive"`` (MAE of ``y[t] - y[t-1]``)
            or ``"auto"``: seasonal when the training data hold at least two seasons, else naive
            (one season of differences is too few to be a stable scale).

    Returns:
        ``(scale, method_used)``.
    """
    y = train.to_numpy(dtype=float)
    if method == "auto":
        method = "seasonal" if len(y) >= 2 * season_length else "naive"
    if method not in ("seasonal", "naive"):
        raise ParameterError("method", method, '"auto", "seasonal" or "naive"')
    lag = season_length if method == "seasonal" else 1
    if len(y) <= lag:
        raise ModelError(f"a {method} MASE scale needs more than {lag} months; got {len(y)}")
    return float(np.mean(np.abs(y[lag:] - y[:-lag]))), method


def default_baselines(initial: int, season_length: int = SEASON) -> dict[str, Callable[[], Any]]:
    """Seasonal naive (when the shortest training window allows it) and drift."""
    out: dict[str, Callable[[], Any]] = {}
    if initial > season_length:
        out["seasonal_naive"] = lambda: SeasonalNaiveForecaster(season_length)
    out["drift"] = DriftForecaster
    return out


def _score(
    name: str,
    origin: pd.Timestamp,
    months: pd.DatetimeIndex,
    actual: np.ndarray,
    paths: np.ndarray,
    scale: float,
) -> pd.DataFrame:
    p10, p50, p90 = np.quantile(paths, (0.1, 0.5, 0.9), axis=0)
    err = actual - p50
    denom = np.abs(actual) + np.abs(p50)
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.abs(err) / np.abs(actual)
        sape = np.where(denom > 0, 2 * np.abs(err) / denom, 0.0)
    return pd.DataFrame(
        {
            "model": name,
            "origin": origin,
            "step": np.arange(1, len(actual) + 1),
            "month": months,
            "actual": actual,
            "p10": p10,
            "p50": p50,
            "p90": p90,
            "mean": paths.mean(axis=0),
            "error": err,
            "abs_error": np.abs(err),
            "ape": ape,
            "sape": sape,
            "scale": scale,
            "scaled_error": np.abs(err) / scale if scale > 0 else np.nan,
            "covered": (actual >= p10) & (actual <= p90),
        }
    )


@dataclass(frozen=True)
class Backtest:
    """A rolling-origin evaluation: the long table and what it covers.

    Attributes:
        table: one row per model x origin x step (columns: :data:`TABLE_COLUMNS`).
        skipped: model name -> why it was left out (it failed at some origin).
        scale_method: the MASE scale used (``"seasonal"`` or ``"naive"``).
        horizon: months ahead evaluated at each origin.
    """

    table: pd.DataFrame
    skipped: dict[str, str]
    scale_method: str
    horizon: int

    def summary(self, by: tuple[str, ...] = ("model",)) -> pd.DataFrame:
        """Accuracy per model (see :func:`summarize`)."""
        return summarize(self.table, by)

    @property
    def description(self) -> str:
        """What the evaluation covers, in words for a caption (see :func:`describe`)."""
        return describe(self)

    def without(self, model: str, why: str) -> Backtest:
        """The same evaluation with ``model``'s rows left out and the reason recorded."""
        table = self.table[self.table["model"] != model].reset_index(drop=True)
        return replace(self, table=table, skipped={**self.skipped, model: why})


def rolling_origin(
    y: pd.Series,
    forecaster_factories: dict[str, Callable[[], Any]],
    horizon: int = 6,
    n_origins: int | None = None,
    initial: int = 18,
    step: int = 1,
    n_samples: int = 200,
    seed: int = 0,
    baselines: bool = True,
    season_length: int = SEASON,
    scale_method: str = "auto",
    combinations: dict[str, Callable[[dict[str, pd.DataFrame]], pd.DataFrame]] | None = None,
    skip_failures: bool = False,
) -> Backtest:
    """Rolling-origin (time-series cross-validation) forecasts and errors.

    Args:
        y: monthly series (USD per month).
        forecaster_factories: model name -> callable with no arguments returning an unfitted
            forecaster (a fresh model for every origin).
        horizon: months ahead evaluated at each origin.
        n_origins: keep only the last ``n_origins`` origins (``None``: all that fit).
        initial: minimum training months (the first origin is month ``initial``).
        step: months between origins.
        n_samples: sample paths per forecast (quantiles are taken over them).
        seed: seed for the models' sampling (the same for every origin and model).
        baselines: add ``seasonal_naive`` and ``drift`` (see :func:`default_baselines`) unless
            names are already taken.
        season_length: months per season (for MASE and the seasonal naive).
        scale_method: MASE scale, see :func:`mase_scale`. ``"auto"`` decides once from the
            shortest training window (``initial``), so every origin uses the same kind of scale;
            the choice is in the result's ``scale_method``.
        combinations: extra rows computed, at each origin, from the models' sample paths
            (name -> function of the dict model name -> paths), e.g. an ensemble that needs no
            refitting: ``{"ensemble": lambda mp: combine_paths(list(mp.values()))}``. A
            function returning None adds no row at that origin.
        skip_failures: leave out a model that raises ``ModelError`` at any origin (from every
            origin, so the others are compared on the same forecasts) and name it in the
            result's ``skipped``; by default the error is raised.

    Returns:
        A :class:`Backtest` whose ``table`` is long, one row per model x origin x step, columns:
        ``model``; ``origin`` (the cutoff: last training month); ``step`` (1..horizon);
        ``month`` (the forecast month); ``actual``; ``p10``, ``p50``, ``p90``, ``mean`` (of the
        sample paths); ``error`` (``actual - p50``); ``abs_error``; ``ape`` (``|error|/|actual|``);
        ``sape`` (``2|error|/(|actual|+|p50|)``); ``scale`` (MASE denominator from that origin's
        training data); ``scaled_error`` (``abs_error/scale``); ``covered`` (``p10 <= actual <=
        p90``).

    Raises:
        ModelError: when the series is too short for ``initial + horizon`` months.
        ParameterError: for bad ``horizon``, ``initial``, ``step``, ``n_origins`` or names.
    """
    y = check_monthly(y)
    for name, value, low in (("horizon", horizon, 1), ("initial", initial, 3), ("step", step, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ParameterError(name, value, f"a whole number >= {low}")
    if n_origins is not None and (not isinstance(n_origins, (int, np.integer)) or n_origins < 1):
        raise ParameterError("n_origins", n_origins, "None or a whole number >= 1")
    n = len(y)
    if n < initial + horizon:
        raise ModelError(
            f"rolling-origin evaluation with initial={initial} training months and "
            f"horizon={horizon} needs at least {initial + horizon} months; the series has {n}. "
            f"Lower horizon or initial (e.g. initial={max(3, n - horizon)}) or add history."
        )
    factories = dict(forecaster_factories)
    if not factories and not baselines:
        raise ParameterError("forecaster_factories", {}, "at least one model")
    if baselines:
        for name, factory in default_baselines(initial, season_length).items():
            factories.setdefault(name, factory)
    if scale_method == "auto":
        scale_method = "seasonal" if initial >= 2 * season_length else "naive"

    # cutoff positions (0-based index of the last training month) with a full horizon after them
    cutoffs = list(range(initial - 1, n - horizon, step))
    if n_origins is not None:
        cutoffs = cutoffs[-n_origins:]

    values = y.to_numpy()
    rows = []
    skipped: dict[str, str] = {}
    for cut in cutoffs:
        train = y.iloc[: cut + 1].copy()  # a copy: nothing after the cutoff can be reached
        actual = values[cut + 1 : cut + 1 + horizon]
        months = y.index[cut + 1 : cut + 1 + horizon]
        scale, _ = mase_scale(train, season_length, scale_method)
        member_paths: dict[str, pd.DataFrame] = {}
        for name, factory in factories.items():
            if name in skipped:
                continue
            model = factory()
            try:
                model.fit(train)
            except ModelError as exc:
                message = f"model {name!r} at origin {train.index[-1]:%Y-%m}: {exc}"
                if not skip_failures:
                    raise ModelError(message) from exc
                skipped[name] = message
                continue
            member_paths[name] = model.sample_paths(horizon, n_samples, seed)
        for name, combine in (combinations or {}).items():
            combined = combine(dict(member_paths)) if member_paths else None
            if combined is not None:  # a combination may decline (e.g. a member is missing)
                member_paths[name] = combined
        for name, paths in member_paths.items():
            rows.append(_score(name, train.index[-1], months, actual, paths.to_numpy(float), scale))
    if not rows:
        raise ModelError("no model could be fitted at any origin: " + "; ".join(skipped.values()))
    table = pd.concat(rows, ignore_index=True)[TABLE_COLUMNS]
    # a model that failed at some origin is dropped everywhere, so all models share origins
    table = table[~table["model"].isin(list(skipped))].reset_index(drop=True)
    return Backtest(table, skipped, scale_method, horizon)


def describe(backtest: Backtest) -> str:
    """What a :func:`rolling_origin` evaluation covers, in words for a caption.

    E.g. ``"3 origins (2021-06 to 2021-12), 6 months ahead; not scored: seasonal_naive (seasonal
    naive needs at least 13 months ...)"``.
    """
    table = backtest.table
    if table.empty:
        return "no forecasts scored"
    origins = pd.DatetimeIndex(table["origin"].unique())
    span = (
        f"{origins.min():%Y-%m}"
        if len(origins) == 1
        else (f"{origins.min():%Y-%m} to {origins.max():%Y-%m}")
    )
    plural = "origin" if len(origins) == 1 else "origins"
    text = f"{len(origins)} {plural} ({span}), {backtest.horizon} "
    text += "months ahead"
    skipped = backtest.skipped
    if skipped:
        # messages read "model 'name' at origin YYYY-MM: why"; keep the name and the why
        reasons = [f"{name} ({message.split(': ', 1)[-1]})" for name, message in skipped.items()]
        text += "; not scored: " + "; ".join(reasons)
    return text


def summarize(table: pd.DataFrame, by: tuple[str, ...] = ("model",)) -> pd.DataFrame:
    """Accuracy summary of a :func:`rolling_origin` table.

    Args:
        table: the long table (:attr:`Backtest.table`).
        by: grouping columns, e.g. ``("model",)`` or ``("model", "step")``.

    Returns:
        DataFrame indexed by ``by``, sorted by MASE, with columns ``mape`` and ``smape``
        (percent), ``mase`` (mean scaled error), ``coverage_80`` (share of actuals inside the
        P10-P90 interval; 0.8 if calibrated), ``n_forecasts``.
    """
    grouped = table.groupby(list(by), sort=False)
    out = pd.DataFrame(
        {
            "mape": grouped["ape"].mean() * 100.0,
            "smape": grouped["sape"].mean() * 100.0,
            "mase": grouped["scaled_error"].mean(),
            "coverage_80": grouped["covered"].mean(),
            "n_forecasts": grouped.size(),
        }
    )
    return out.sort_values("mase") if by == ("model",) else out
