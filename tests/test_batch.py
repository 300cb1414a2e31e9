"""Batches through real kernels: failures, the lock, retention, incremental runs, the gallery."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import scenario_project

from shopcast.workbench import batch, gallery
from shopcast.workbench.exitcodes import ExitCode

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent / "notebooks"


@pytest.fixture
def scenarios(tmp_path, monkeypatch):
    """A small project: notebooks and params/<notebook>/*.yaml in tmp, reports beside them."""
    return scenario_project(
        tmp_path,
        monkeypatch,
        {
            "simple": {"small": "# five values\nn: 5\n", "large": "# twenty values\nn: 20\n"},
            "broken1": {"fails": "# divides by zero\ndivisor: 0\n"},
        },
    )


def _records(root: Path) -> list[dict]:
    return [
        json.loads(p.read_text()) for p in root.glob("*/*/*/run.json") if not p.parent.is_symlink()
    ]


def test_batch_continues_past_a_failure_and_says_so(scenarios, capsys):
    code = batch.run_batch(workers=2, root=scenarios)
    assert code == ExitCode.BATCH_FAILED
    out = capsys.readouterr().out
    assert re.search(r"broken1\s+fails\s+failed", out)
    assert re.search(r"simple\s+large\s+succeeded.*total=475", out)  # sum(range(20)) * 2.5
    assert re.search(r"simple\s+small\s+succeeded.*total=25", out)
    statuses = sorted((r["scenario"], r["status"]) for r in _records(scenarios))
    assert statuses == [("fails", "failed"), ("large", "succeeded"), ("small", "succeeded")]
    page = (scenarios / "index.html").read_text()
    assert "The newest run FAILED" in page and "There is no good run of this scenario yet" in page
    assert list((scenarios / "logs").glob("batch-*.log"))


def test_gallery_numbers_equal_run_json(scenarios):
    batch.run_batch(workers=2, root=scenarios)
    page = (scenarios / "index.html").read_text()
    for record in _records(scenarios):
        if record["status"] != "succeeded":
            continue
        section = page.split(f'data-run="{record["notebook"]}/{record["scenario"]}/')[1]
        for name, item in record["headline"].items():
            shown = gallery.format_value(item["value"], item.get("fmt"))
            cell = re.search(
                rf'data-headline="{name}"><td>[^<]*</td><td class="v">([^<]*)<', section
            )
            assert cell and cell.group(1) == shown


def test_incremental_skip_and_force(scenarios, capsys):
    batch.run_batch([batch.PARAMS_DIR / "simple" / "small.yaml"], workers=1, root=scenarios)
    first = _records(scenarios)
    assert len(first) == 1
    code = batch.run_batch([batch.PARAMS_DIR / "simple" / "small.yaml"], workers=1, root=scenarios)
    assert code == ExitCode.OK
    assert len(_records(scenarios)) == 1, "an unchanged scenario ran again"
    assert "unchanged" in capsys.readouterr().out
    assert "unchanged since" in (scenarios / "index.html").read_text()
    batch.run_batch(
        [batch.PARAMS_DIR / "simple" / "small.yaml"], workers=1, root=scenarios, force=True
    )
    assert len(_records(scenarios)) == 2
    # a changed parameter file runs again without --force
    (batch.PARAMS_DIR / "simple" / "small.yaml").write_text("n: 6\n")
    batch.run_batch([batch.PARAMS_DIR / "simple" / "small.yaml"], workers=1, root=scenarios)
    assert len(_records(scenarios)) == 3


def test_retention_keeps_latest(scenarios):
    small = batch.PARAMS_DIR / "simple" / "small.yaml"
    for _ in range(3):
        batch.run_batch([small], workers=1, root=scenarios, force=True)
    scen = scenarios / "simple" / "small"
    latest = os.readlink(scen / "latest")
    # make the run latest points to the oldest, then keep only one: latest must survive
    runs = sorted(p.name for p in scen.iterdir() if p.is_dir() and not p.is_symlink())
    os.remove(scen / "latest")
    os.symlink(runs[0], scen / "latest")
    removed = batch.prune(scen, keep=1)
    left = sorted(p.name for p in scen.iterdir() if p.is_dir() and not p.is_symlink())
    assert runs[0] in left and runs[-1] in left and len(left) == 2
    assert len(removed) == 1 and latest == runs[-1]


def test_second_batch_is_refused_while_one_holds_the_lock(scenarios):
    env = {**os.environ, "SHOPCAST_REPORTS_DIR": str(scenarios)}
    scenarios.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from shopcast.workbench.batch import BatchLock; "
            "lock = BatchLock(Path(sys.argv[1])).__enter__(); "
            "print('locked', flush=True); time.sleep(60)",
            str(scenarios),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = subprocess.run(
            [sys.executable, "-m", "shopcast.workbench.cli", "batch"],
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == ExitCode.LOCKED
        assert "another batch is running" in proc.stderr and f"pid {holder.pid}" in proc.stderr
        # Refused at once, not after waiting: nothing ran and the holder's lock line is intact.
        assert not list(scenarios.glob("*/*/2*/run.json"))
        assert f"pid {holder.pid}" in (scenarios / ".batch.lock").read_text()
    finally:
        holder.kill()
        holder.wait()
    assert (
        batch.run_batch([batch.PARAMS_DIR / "simple" / "small.yaml"], workers=1, root=scenarios)
        == ExitCode.OK
    )


def test_invalid_scenario_is_reported_and_nothing_runs_for_it(scenarios, capsys):
    (batch.PARAMS_DIR / "simple" / "typo.yaml").write_text("nn: 3\n")
    code = batch.run_batch([batch.PARAMS_DIR / "simple" / "typo.yaml"], workers=1, root=scenarios)
    assert code == ExitCode.BATCH_FAILED
    assert 'Did you mean "n"' in capsys.readouterr().out
    assert not (scenarios / "simple" / "typo").exists()


def test_a_newer_failed_run_is_retried_not_skipped(scenarios):
    small = batch.PARAMS_DIR / "simple" / "small.yaml"
    batch.run_batch([small], workers=1, root=scenarios)
    scen = scenarios / "simple" / "small"
    good = os.readlink(scen / "latest")
    failed = scen / "29990101T000000.000000Z"  # a newer run that failed
    failed.mkdir()
    (failed / "run.json").write_text(
        json.dumps(
            {
                "notebook": "simple",
                "scenario": "small",
                "status": "failed",
                "run_id": failed.name,
                "started": "2999-01-01T00:00:00+00:00",
                "error": {"kind": "timeout"},
            }
        )
    )
    assert batch.run_batch([small], workers=1, root=scenarios) == ExitCode.OK
    assert os.readlink(scen / "latest") != good  # it ran again and succeeded


def test_gallery_shows_a_running_run_as_running_not_failed(scenarios):
    batch.run_batch([batch.PARAMS_DIR / "simple" / "small.yaml"], workers=1, root=scenarios)
    running = scenarios / "simple" / "small" / "29990101T000000.000000Z"
    running.mkdir()
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    (running / "run.json").write_text(
        json.dumps(
            {
                "notebook": "simple",
                "scenario": "small",
                "status": "running",
                "run_id": running.name,
                "started": now,
                "timeout_s": 1200,
            }
        )
    )
    page = (gallery.write_index(scenarios)).read_text()
    assert "A run is in progress" in page and "The newest run FAILED" not in page


def test_batch_on_a_dask_cluster_gives_the_same_outcomes(scenarios, capsys):
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        address = cluster.scheduler_address
        code = batch.run_batch(workers=1, root=scenarios, dask=address)
        captured = capsys.readouterr()
        assert f"Dask at {address}" in captured.err
        assert code == ExitCode.BATCH_FAILED  # the same exit code as a local batch
        assert re.search(r"broken1\s+fails\s+failed", captured.out)
        assert re.search(r"simple\s+large\s+succeeded.*total=475", captured.out)
        assert re.search(r"simple\s+small\s+succeeded.*total=25", captured.out)
        statuses = sorted((r["scenario"], r["status"]) for r in _records(scenarios))
        assert statuses == [("fails", "failed"), ("large", "succeeded"), ("small", "succeeded")]
        log = next((scenarios / "logs").glob("batch-*.log")).read_text()
        assert "=== simple/small: exit 0" in log and "=== broken1/fails: exit 1" in log
        # incremental as locally: the good scenarios are skipped, the failed one runs again
        again = batch.run_batch(root=scenarios, dask=address)
        out = capsys.readouterr().out
        assert again == ExitCode.BATCH_FAILED
        assert re.search(r"simple\s+small\s+unchanged", out)
        assert len(_records(scenarios)) == 4


def test_batch_refuses_a_dask_address_that_is_not_one(scenarios, capsys):
    assert batch.run_batch(root=scenarios, dask="localhost:8786") == ExitCode.BAD_INPUT
    assert "is not a scheduler address" in capsys.readouterr().err
    assert not (scenarios / "logs").exists()  # nothing run or written
