"""Shared fixtures: a seeded generator of synthetic monthly series; chart-test helpers."""

from __future__ import annotations

import sys
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def make_monthly_series(
    n: int = 32,
    start: str = "2021-01-01",
    level: float = 50e6,
    growth: float = 0.08,
    noise: float = 0.0,
    seasonal: np.ndarray | None = None,
    seed: int = 0,
) -> pd.Series:
    """A monthly series ``level * exp(growth * t + noise) * seasonal[month]`` in USD per month.

    Args:
        n: months.
        start: first month.
        level: value of the first month (before noise and seasonality).
        growth: log growth per month.
        noise: standard deviation of log-normal noise.
        seasonal: 12 multiplicative month factors (January first), or None.
        seed: seed of the noise.
    """
    idx = pd.date_range(start, periods=n, freq="MS")
    rng = np.random.default_rng(seed)
    log = np.log(level) + growth * np.arange(n) + rng.normal(0.0, noise, n)
    values = np.exp(log)
    if seasonal is not None:
        values = values * np.asarray(seasonal, dtype=float)[idx.month - 1]
    return pd.Series(values, index=idx, name="gmv_usd")


@pytest.fixture
def make_series():
    """The :func:`make_monthly_series` generator."""
    return make_monthly_series


@pytest.fixture
def gmv_series():
    """32 months of noisy exponential growth (about 8% a month), like the reconstructed GMV."""
    return make_monthly_series(noise=0.05, seed=1)


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_bytes(fig) -> bytes:
    """Render a Figure to PNG bytes (failing the test if that does not give a PNG)."""
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(PNG_MAGIC)
    return data


@pytest.fixture(autouse=True)
def close_figures():
    """Close pyplot figures after each test (charts made with pyplot would leak across tests)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def scenario_project(tmp_path, monkeypatch, scenarios: dict[str, dict[str, str]]) -> Path:
    """A small project in ``tmp_path`` for batch runs: the fixture notebooks named in
    ``scenarios`` ({notebook: {scenario: YAML text}}) under notebooks/ and params/, the batch
    pointed at them and the reports folder (returned) beside them."""
    from shopcast.workbench import batch

    fixtures = Path(__file__).parent / "notebooks"
    nb_dir, params_dir, root = tmp_path / "notebooks", tmp_path / "params", tmp_path / "reports"
    nb_dir.mkdir()
    for name, files in scenarios.items():
        (nb_dir / f"{name}.ipynb").write_bytes((fixtures / f"{name}.ipynb").read_bytes())
        (params_dir / name).mkdir(parents=True)
        for scenario, text in files.items():
            (params_dir / name / f"{scenario}.yaml").write_text(text)
    monkeypatch.setattr(batch, "NOTEBOOKS_DIR", nb_dir)
    monkeypatch.setattr(batch, "PARAMS_DIR", params_dir)
    monkeypatch.setenv("SHOPCAST_REPORTS_DIR", str(root))
    return root
