"""Tests of shopcast.gmv.archive: round trip, append-only, corrupt and cut-short files refused."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from shopcast.exceptions import ArchiveError
from shopcast.gmv import archive
from shopcast.gmv.goals import absolute_goal, multiple_goal


def _forecast(seed: int = 0) -> SimpleNamespace:
    months = pd.date_range("2022-01-01", "2023-12-01", freq="MS")
    rng = np.random.default_rng(seed)
    values = np.exp(np.log(1e9) + 0.05 * np.arange(len(months)) + rng.normal(0, 0.2, (500, 1)))
    paths = pd.DataFrame(values, columns=months)
    return SimpleNamespace(
        paths=paths,
        absolute=absolute_goal(paths, "2023-01", "2023-12", 20e9),
        multiple=multiple_goal(paths, "2023-01", "2023-12", 4.0, "2022-01", "2022-12"),
        as_of="2023-08-31",
        model_name="drift_log",
    )


def _records(fc) -> pd.DataFrame:
    return archive.forecast_records(fc, 4.0).assign(
        as_of=fc.as_of, model=fc.model_name, data_sha256="ab" * 32, coverage="global"
    )


def test_records_hold_every_quantile_of_every_month_window_and_goal():
    fc = _forecast()
    rec = archive.forecast_records(fc, 4.0)
    months = rec.loc[rec["target"] == "month"]
    assert months["period_start"].nunique() == 24
    q = months.loc[months["output_type"] == "quantile"]
    assert sorted(q["output_type_id"].unique()) == list(archive.QUANTILE_LEVELS)
    # quantiles increase with the level, month by month
    assert q.groupby("period_start")["value"].apply(lambda v: v.is_monotonic_increasing).all()
    windows = rec.loc[rec["target"] == "window_total", ["period_start", "period_end"]]
    assert set(map(tuple, windows.drop_duplicates().to_numpy())) == {
        ("2022-01-01", "2022-12-01"),
        ("2023-01-01", "2023-12-01"),
    }
    median_2023 = rec.loc[
        (rec["target"] == "window_total")
        & (rec["period_start"] == "2023-01-01")
        & (rec["output_type_id"] == 0.5),
        "value",
    ].item()
    assert median_2023 == pytest.approx(np.median(fc.absolute.totals))
    goal = rec.loc[rec["target"] == "goal_absolute"].iloc[0]
    assert goal["value"] == fc.absolute.probability and goal["output_type_id"] == 20e9


def test_round_trip(tmp_path):
    fc = _forecast()
    path = archive.append(
        _records(fc), notebook="gmv_goal_forecast", scenario="base", run_id="r1", root=tmp_path
    )
    assert path == tmp_path / "forecast_archive" / "gmv_goal_forecast" / "base" / "r1.csv"
    back = archive.read_archive(tmp_path)
    expected = _records(fc)
    assert len(back) == len(expected)
    assert (back["run_id"] == "r1").all() and (back["as_of"] == "2023-08-31").all()
    np.testing.assert_allclose(back["value"], expected["value"], rtol=1e-9)
    pd.testing.assert_series_equal(back["target"], expected["target"], check_names=False)
    archive.append(
        _records(fc), notebook="gmv_goal_forecast", scenario="base", run_id="r2", root=tmp_path
    )
    assert set(archive.read_archive(tmp_path)["run_id"]) == {"r1", "r2"}


def test_append_only_a_run_is_written_once(tmp_path):
    fc = _forecast()
    path = archive.append(_records(fc), notebook="nb", scenario="s", run_id="r", root=tmp_path)
    before = path.read_bytes()
    with pytest.raises(ArchiveError, match="append-only"):
        archive.append(
            _records(_forecast(1)), notebook="nb", scenario="s", run_id="r", root=tmp_path
        )
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp"))


def test_truncated_file_is_refused_never_read_short(tmp_path):
    path = archive.append(
        _records(_forecast()), notebook="nb", scenario="s", run_id="r", root=tmp_path
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match="cut short"):
        archive.read_file(path)
    with pytest.raises(ArchiveError, match=r"1 corrupt archive file.*r\.csv"):
        archive.read_archive(tmp_path)


def test_edited_file_is_refused(tmp_path):
    path = archive.append(
        _records(_forecast()), notebook="nb", scenario="s", run_id="r", root=tmp_path
    )
    text = path.read_text().replace("drift_log", "prophet", 1)
    path.write_text(text)
    with pytest.raises(ArchiveError, match="does not match"):
        archive.read_file(path)


def test_run_identity_comes_from_the_runner_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPCAST_SCENARIO", "ad_driven")
    monkeypatch.setenv("SHOPCAST_RUN_ID", "20240101T000000.000000Z")
    monkeypatch.setenv("SHOPCAST_RUN_REPORTS_DIR", str(tmp_path))
    path = archive.append(_records(_forecast()), notebook="gmv_goal_forecast")
    assert path == (
        tmp_path
        / "forecast_archive"
        / "gmv_goal_forecast"
        / "ad_driven"
        / "20240101T000000.000000Z.csv"
    )


def test_outside_the_runner_a_fresh_adhoc_run_id(tmp_path, monkeypatch):
    for name in ("SHOPCAST_SCENARIO", "SHOPCAST_RUN_ID", "SHOPCAST_RUN_REPORTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    a = archive.append(_records(_forecast()), notebook="nb", root=tmp_path)
    b = archive.append(_records(_forecast()), notebook="nb", root=tmp_path)
    assert a != b and a.parent.name == "adhoc" and a.name.startswith("adhoc-")


def test_the_runner_gives_the_kernel_the_run_identity(tmp_path):
    from shopcast.config import RUN_ENV, one_blas_thread_env, run_environment
    from shopcast.workbench.kernel import project_kernel_manager, remove_sockets

    env = run_environment("gmv_goal_forecast", "base", "20240101T000000.000000Z", tmp_path)
    km, plain = project_kernel_manager(env=env), project_kernel_manager()
    try:
        spec = km.kernel_spec_manager.get_kernel_spec("shopcast")
        assert spec.env[RUN_ENV["scenario"]] == "base"
        assert spec.env[RUN_ENV["run_id"]] == "20240101T000000.000000Z"
        assert spec.env[RUN_ENV["reports_dir"]] == str(tmp_path.resolve())
        assert plain.kernel_spec_manager.get_kernel_spec("x").env == one_blas_thread_env()
    finally:
        remove_sockets(km)
        remove_sockets(plain)
