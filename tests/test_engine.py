"""The Dask engine: LocalCluster and a separate scheduler give the serial result digit for digit;
a worker killed mid-run is retried; a task that keeps failing is reported, never a partial total."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from shopcast import engine
from shopcast.gmv.segment_data import load_segment_csv
from shopcast.gmv.segments import forecast_segments
from shopcast.gmv.synthetic import synthetic_hierarchy

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("engine") / "segments.csv"
    synthetic_hierarchy((2, 4), n_months=36, rho=0.5, seed=11).to_csv(path, index=False)
    return load_segment_csv(path)


def _same(a, b):
    assert a.bottom == b.bottom and a.months.equals(b.months)
    for node in a.nodes:
        np.testing.assert_array_equal(a.nodes[node], b.nodes[node])


@pytest.fixture(scope="module")
def serial(data):
    return forecast_segments(data, 9, model="theta", n_samples=400, engine="serial")


def test_local_cluster_matches_serial_exactly(data, serial):
    dask = forecast_segments(data, 9, model="theta", n_samples=400, engine="dask", n_workers=2)
    assert dask.engine == "LocalCluster (2 workers)"
    _same(serial, dask)


def test_scheduler_address_from_parameter_or_environment(monkeypatch):
    monkeypatch.delenv(engine.ADDRESS_ENV, raising=False)
    assert engine.scheduler_address() is None
    monkeypatch.setenv(engine.ADDRESS_ENV, "tcp://127.0.0.1:1")
    assert engine.scheduler_address() == "tcp://127.0.0.1:1"
    assert engine.scheduler_address("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"


def test_unreachable_scheduler_says_what_to_do():
    with (
        pytest.raises(engine.EngineError, match="cannot reach the Dask scheduler"),
        engine.dask_client("tcp://127.0.0.1:9"),
    ):
        pass


def _wait_for_file(path: Path, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.2)


@pytest.mark.slow
def test_separate_scheduler_with_two_workers_matches_serial(data, serial, tmp_path, monkeypatch):
    dask_cli = Path(sys.executable).with_name("dask")
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [str(dask_cli), "scheduler", "--host", "127.0.0.1", "--port", "0",
                 "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )  # fmt: skip
        _wait_for_file(scheduler_file)
        procs.append(
            subprocess.Popen(
                [str(dask_cli), "worker", "--scheduler-file", str(scheduler_file),
                 "--nworkers", "2", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )  # fmt: skip
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        assert address.startswith("tcp://127.0.0.1:")
        monkeypatch.setenv(engine.ADDRESS_ENV, address)
        remote = forecast_segments(data, 9, model="theta", n_samples=400, engine="dask")
        assert remote.engine == address
        _same(serial, remote)
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.slow
def test_killed_worker_is_retried_and_result_unchanged(data, serial):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        killed: list[int] = []

        def kill_busy_worker() -> None:
            end = time.monotonic() + 60
            while time.monotonic() < end:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_busy_worker)
        killer.start()
        result = forecast_segments(
            data, 9, model="theta", n_samples=400, engine="dask", client=client
        )
        killer.join()
    assert killed, "no worker was busy to be killed"
    _same(serial, result)


def _dies(_chunk):
    os._exit(3)  # the worker process dies with the task, every time


@pytest.mark.slow
def test_task_that_keeps_killing_its_worker_is_reported():
    import dask
    from distributed import Client, LocalCluster

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster,
        Client(cluster) as client,
        pytest.raises(engine.EngineError, match=r"segments a .. b .*no partial result was kept"),
    ):
        engine.run_tasks(_dies, [[1], [2]], client=client, names=["segments a .. b", "other"])
