"""Ensembles: members' sample paths combined (by default the ETS-Theta mixture)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from shopcast.exceptions import ModelError, ParameterError
from shopcast.forecasting.base import check_monthly, paths_frame, require_fitted

logger = logging.getLogger(__name__)


COMBINE_METHODS = ("median", "mean", "mixture")

#: The members of the default ensemble: ETS (AICc choice, fitted by statsforecast), the
#: state-space Theta models on logs and the damped multiplicative Holt-Winters. Chosen by the rule
#: in ``bench/results/ensemble_choice_rule.md``, fixed before the run it was applied to: among the
#: mixtures that keep M3 monthly's bar (sMAPE <= 13.7, 80% coverage 75-85%), the lowest MASE on
#: M3's seasonal series (the seasonal data on which Holt-Winters alone had led). On all 1,428
#: series: sMAPE 13.50, MASE 0.829, coverage 82.8%; on the 778 seasonal ones its MASE is 3%
#: below Holt-Winters'. Until issue 13 the default was ETS and Theta on levels (13.69, 0.854,
#: 77.7%; seasonal MASE 0.3% above Holt-Winters'). A member that cannot be fitted (Holt-Winters
#: needs two whole seasons of positive values) is left out and the others carry the mixture.
ENSEMBLE_MEMBERS = ("ets_fast", "theta_fast_log", "hw_damped_mul")
#: How the default ensemble combines its members (see :func:`combine_paths`).
ENSEMBLE_METHOD = "mixture"
#: ``auto`` leaves the ensemble for another candidate only when that candidate's backtest error
#: is below ``(1 - margin)`` times the ensemble's; see :func:`select_model`.
SWITCH_MARGIN = 0.5


def combine_paths(paths: list[pd.DataFrame], method: str = "median", seed: int = 0) -> pd.DataFrame:
    """Combine several models' sample paths for the same months into one set.

    Args:
        paths: one DataFrame per model, same shape and columns.
        method: ``"median"`` or ``"mean"``: path ``i`` of the result is the median (mean)
            across models of their path ``i`` (samples are paired by row). The centre is the
            combined forecast, which is usually more accurate than any member (the
            "forecast combination puzzle"), but pairing independent draws also averages their
            noise, so the spread is narrower than any member's and intervals tend to be too
            narrow. ``"mixture"``: each row is taken from one model picked at random (equal
            weights), which keeps every member's spread (intervals at least as wide as the
            members', often wider).
        seed: seed of the ``"mixture"`` choice.

    Returns:
        DataFrame like the inputs.
    """
    if method not in COMBINE_METHODS:
        raise ParameterError("method", method, '"median", "mean" or "mixture"')
    if not paths:
        raise ParameterError("paths", [], "at least one set of sample paths")
    first = paths[0]
    for other in paths[1:]:
        if other.shape != first.shape or not other.columns.equals(first.columns):
            raise ModelError("sample paths to combine must have the same shape and months")
    stack = np.stack([p.to_numpy(dtype=float) for p in paths])
    if method == "median":
        values = np.median(stack, axis=0)
    elif method == "mean":
        values = stack.mean(axis=0)
    else:
        pick = np.random.default_rng(seed).integers(0, len(paths), size=stack.shape[1])
        values = stack[pick, np.arange(stack.shape[1])]
    return paths_frame(values, pd.DatetimeIndex(first.columns))


def _member_seed(seed: int, j: int) -> int:
    # distinct, reproducible seeds per member so paired draws are independent across members
    return int(np.random.SeedSequence([int(seed), j]).generate_state(1)[0])


class EnsembleForecaster:
    """A combination of forecasters whose sample paths are combined (see :func:`combine_paths`).

    Args:
        members: model name -> callable with no arguments returning an unfitted forecaster.
        method: ``"mixture"`` (default: the equal-weight mixture of the members' predictive
            distributions, which keeps their spread), ``"median"`` or ``"mean"`` (path by path,
            narrower).
        skip_failures: leave out a member that cannot be fitted (``ModelError``), as long as
            one remains; otherwise the error is raised.

    Attributes:
        y_: training series.
        members_: name -> fitted member (those that fitted).
        skipped_: name -> reason, for members left out.
    """

    def __init__(
        self,
        members: dict[str, Callable[[], Any]],
        method: str = ENSEMBLE_METHOD,
        skip_failures: bool = True,
    ):
        self.members = members
        self.method = method
        self.skip_failures = skip_failures

    def fit(self, y: pd.Series) -> EnsembleForecaster:
        """Fit every member on ``y``."""
        if self.method not in COMBINE_METHODS:
            raise ParameterError("method", self.method, '"median", "mean" or "mixture"')
        if not self.members:
            raise ParameterError("members", {}, "at least one model")
        y = check_monthly(y)
        fitted, skipped = {}, {}
        for name, factory in self.members.items():
            try:
                fitted[name] = factory().fit(y)
            except ModelError as exc:
                if not self.skip_failures:
                    raise
                skipped[name] = str(exc)
        if not fitted:
            raise ModelError(
                "no ensemble member could be fitted: "
                + "; ".join(f"{k}: {v}" for k, v in skipped.items())
            )
        self.y_, self.members_, self.skipped_ = y, fitted, skipped
        return self

    def member_paths(
        self, horizon: int, n_samples: int = 1000, seed: int = 0
    ) -> dict[str, pd.DataFrame]:
        """Each member's sample paths (member ``j`` seeded from ``seed`` and ``j``)."""
        require_fitted(self)
        names = list(self.members)
        return {
            name: model.sample_paths(horizon, n_samples, _member_seed(seed, names.index(name)))
            for name, model in self.members_.items()
        }

    def sample_paths(self, horizon: int, n_samples: int = 1000, seed: int = 0) -> pd.DataFrame:
        """Combined sample paths (rows = samples, columns = future months)."""
        paths = self.member_paths(horizon, n_samples, seed)
        return combine_paths(list(paths.values()), self.method, seed)


def ensemble_members(
    candidates: dict[str, Any], members: tuple[str, ...] = ENSEMBLE_MEMBERS
) -> list[str]:
    """The candidates that make up the ensemble.

    ``members`` (by default :data:`ENSEMBLE_MEMBERS`) when at least two of them are candidates,
    else every candidate.
    """
    chosen = [name for name in members if name in candidates]
    return chosen if len(chosen) >= 2 else list(candidates)


def ensemble_factory(
    candidates: dict[str, Callable[[], Any]],
    method: str = ENSEMBLE_METHOD,
    members: tuple[str, ...] = ENSEMBLE_MEMBERS,
) -> Callable[[], EnsembleForecaster]:
    """Factory of the ensemble of ``candidates`` (members from :func:`ensemble_members`)."""
    chosen = {name: candidates[name] for name in ensemble_members(candidates, members)}
    return lambda: EnsembleForecaster(chosen, method)
