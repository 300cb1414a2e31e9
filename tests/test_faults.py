"""Bad days, end to end through real kernels: timeouts, signals in every phase, kill -9, read-only
and full folders, planted symlinks, odd ``latest`` links (issues 11.2, 11.9-11.11, 17.3-17.6).

Each fault leaves no run claiming to be "running", keeps ``latest`` on the last good run,
removes the run's private temporary folder and leaves no kernel process behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from shopcast.workbench import batch, cli, gallery, run_record, runner
from shopcast.workbench.exitcodes import ExitCode

FIXTURES = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.slow


@pytest.fixture
def reports(tmp_path, monkeypatch):
    root = tmp_path / "reports"
    monkeypatch.setenv("SHOPCAST_REPORTS_DIR", str(root))
    return root


@pytest.fixture
def private_tmp(monkeypatch):
    """An empty TMPDIR for this test (for the runner in this process and any child); short,
    so kernel sockets fit in it."""
    folder = Path(tempfile.mkdtemp(prefix="sct-", dir="/tmp"))
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _records(root: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(root.glob("*/*/2*/run.json"))]


def _latest(root: Path, notebook: str, scenario: str = "default") -> str | None:
    link = root / notebook / scenario / "latest"
    return os.readlink(link) if link.is_symlink() else None


def _processes_with(text: str) -> list[int]:
    """Pids whose environment mentions ``text`` (a run's private TMPDIR)."""
    found = []
    for env in Path("/proc").glob("[0-9]*/environ"):
        with contextlib.suppress(OSError):
            if text.encode() in env.read_bytes():
                found.append(int(env.parent.name))
    return found


def _cli(reports: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "shopcast.workbench.cli", "-q", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "SHOPCAST_REPORTS_DIR": str(reports), **(env or {})},
        timeout=600,
    )


def _good_run(reports: Path) -> str:
    result = runner.run(FIXTURES / "simple.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.OK
    return result.run_dir.name


# ----------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "1e308", "abc"])
def test_timeout_must_be_positive_finite_seconds(reports, capsys, value):
    code = cli.main(["run", str(FIXTURES / "simple.ipynb"), f"--timeout={value}"])
    assert code == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "--timeout" in err and "positive number of seconds" in err
    assert not reports.exists(), "something was written for a refused timeout"


def test_a_timeout_reached_before_the_kernel_starts_is_still_exit_3(reports, private_tmp):
    good = _good_run(reports)
    result = runner.run(FIXTURES / "simple.ipynb", root=reports, timeout_s=0.01, progress=False)
    assert result.exit_code == ExitCode.TIMEOUT
    assert result.record["status"] == "failed" and result.record["error"]["kind"] == "timeout"
    assert _latest(reports, "simple") == good
    assert list(private_tmp.iterdir()) == []


def test_whole_run_timeout_stops_the_kernel_in_the_running_cell(reports, private_tmp, monkeypatch):
    """Behaviour, not wall-clock: the watchdog fires once the sleep cell is running."""

    class FireWhenSleeping:
        def __init__(self, interval, function):  # noqa: ARG002 - Timer's signature
            self.function, self.cancelled, self.daemon = function, threading.Event(), True

        def start(self):
            threading.Thread(target=self._wait, daemon=True).start()

        def cancel(self):
            self.cancelled.set()

        def _wait(self):
            while not self.cancelled.wait(0.1):
                for path in reports.glob("sleeper/default/*/executed.ipynb"):
                    with contextlib.suppress(OSError, ValueError, KeyError, StopIteration):
                        cells = json.loads(path.read_text())["cells"]
                        cell = next(c for c in cells if "time.sleep" in "".join(c["source"]))
                        if cell["metadata"]["papermill"]["status"] == "running":
                            self.function()
                            return

    monkeypatch.setattr(runner, "_Timer", FireWhenSleeping)
    result = runner.run(
        FIXTURES / "sleeper.ipynb", cli_params=["seconds=3600"], root=reports, progress=False
    )
    assert result.exit_code == ExitCode.TIMEOUT
    assert result.record["error"]["kind"] == "timeout"
    assert "time.sleep" in result.record["error"]["source"]
    assert result.record["duration_s"] < 3600  # the kernel was stopped, not waited for
    assert "timeout" in (result.run_dir / "report.html").read_text().lower()
    assert _latest(reports, "sleeper") is None
    assert list(private_tmp.iterdir()) == []
    assert not _processes_with(result.record["tmp_dir"])


# ----------------------------------------------------------------------------- signals


_SIGNAL_SELF = """
import os, signal, sys
from shopcast.workbench import cli, render, runner, kernel
phase, sig = sys.argv[1], getattr(signal, sys.argv[2])
def trip(original):
    def wrapper(*args, **kwargs):
        os.kill(os.getpid(), sig)
        return original(*args, **kwargs)
    return wrapper
if phase == "start":
    runner.project_kernel_manager = trip(runner.project_kernel_manager)
elif phase == "render":
    runner.render.render_html = trip(render.render_html)
sys.exit(cli.main(["-q", "run", sys.argv[3], *sys.argv[4:]]))
"""


@pytest.mark.parametrize(
    "phase, sig, notebook, params",
    [
        ("start", "SIGTERM", "simple", []),
        ("execute", "SIGTERM", "signals_runner", []),
        ("execute", "SIGINT", "signals_runner", ["-p", "sig=SIGINT"]),
        ("render", "SIGTERM", "simple", []),
        ("render", "SIGINT", "simple", []),
    ],
)
def test_a_signal_in_any_phase_is_exit_130_and_interrupted(
    reports, private_tmp, phase, sig, notebook, params
):
    good = _good_run(reports) if notebook == "simple" else None
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _SIGNAL_SELF,
            phase,
            sig,
            str(FIXTURES / f"{notebook}.ipynb"),
            *params,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SHOPCAST_REPORTS_DIR": str(reports), "TMPDIR": str(private_tmp)},
        timeout=600,
    )
    assert proc.returncode == ExitCode.INTERRUPTED, proc.stderr
    assert "Traceback" not in proc.stderr
    newest = _records(reports)[-1]
    assert newest["status"] == "interrupted" and newest["exit_code"] == 130
    assert newest["error"]["kind"] == "interrupted" and sig in newest["error"]["evalue"]
    assert _latest(reports, notebook) == good
    assert list(private_tmp.iterdir()) == [], "the run left files in TMPDIR"
    assert not _processes_with(newest["tmp_dir"]), "a kernel outlived its run"


def test_kill_9_leaves_a_run_the_next_run_marks_abandoned(reports, private_tmp):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shopcast.workbench.cli",
            "-q",
            "run",
            str(FIXTURES / "sleeper.ipynb"),
            "-p",
            "seconds=3600",
        ],
        env={**os.environ, "SHOPCAST_REPORTS_DIR": str(reports), "TMPDIR": str(private_tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    record_path = None
    for _ in range(6000):  # until the kernel runs the sleep cell (its pid is recorded)
        found = list(reports.glob("sleeper/default/*/run.json"))
        if found and "kernel_pid" in json.loads(found[0].read_text() or "{}"):
            record_path = found[0]
            break
        time.sleep(0.1)
    assert record_path is not None
    proc.kill()
    proc.wait()
    record = json.loads(record_path.read_text())
    assert record["status"] == "running"
    assert Path(record["tmp_dir"]).is_dir()  # left behind by the killed process
    gallery.write_index(reports)
    record = json.loads(record_path.read_text())
    assert record["status"] == "abandoned" and "pid" in record["error"]["evalue"]
    assert not Path(record["tmp_dir"]).exists()
    for _ in range(50):
        if not _processes_with(record["tmp_dir"]):
            break
        time.sleep(0.1)
    assert not _processes_with(record["tmp_dir"]), "the orphaned kernel still runs"
    assert list(private_tmp.iterdir()) == []
    assert "abandoned" in (reports / "index.html").read_text()


# ----------------------------------------------------------------------------- temp files


@pytest.mark.parametrize("notebook", ["tempfiles", "broken1"])
def test_each_run_has_a_private_tmpdir_removed_afterwards(reports, private_tmp, notebook):
    before = sorted(private_tmp.iterdir())
    result = runner.run(FIXTURES / f"{notebook}.ipynb", root=reports, progress=False)
    assert sorted(private_tmp.iterdir()) == before == []
    assert Path(result.record["tmp_dir"]).parent == private_tmp
    if notebook == "tempfiles":
        assert result.exit_code == ExitCode.OK
        # the kernel's temporary folder was the run's own (where cmdstanpy's would go)
        assert result.record["headline"]["tmpdir"]["value"] == result.record["tmp_dir"]


# ----------------------------------------------------------------------------- disks


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    return done.returncode == 0


@pytest.fixture
def small_fs(tmp_path):
    where = tmp_path / "small"
    if not _mount_tmpfs(where, "size=4m"):
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.usefixtures("private_tmp")
def test_a_full_disk_gives_exit_8_one_line_and_no_running_run(small_fs):
    reports = small_fs / "reports"
    first = _cli(reports, "run", str(FIXTURES / "simple.ipynb"))
    assert first.returncode == ExitCode.OK, first.stderr
    good = _latest(reports, "simple")
    filler = small_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    with contextlib.suppress(OSError):
        while True:
            os.write(fd, b"\0" * 4096)
    os.close(fd)
    proc = _cli(reports, "run", str(FIXTURES / "simple.ipynb"), "-p", "n=7")
    assert proc.returncode == ExitCode.CANNOT_WRITE, proc.stderr
    assert "Traceback" not in proc.stderr and "No space left" in proc.stderr
    assert [r["status"] for r in _records(reports) if r["status"] == "running"] == []
    assert _latest(reports, "simple") == good


def test_a_full_disk_during_execution_is_exit_8_simulated(reports, private_tmp, monkeypatch):
    import errno

    from papermill import engines

    good = _good_run(reports)
    original, calls = engines.write_ipynb, []

    def full(nb, path):
        calls.append(path)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(nb, path)

    monkeypatch.setattr(engines, "write_ipynb", full)
    result = runner.run(FIXTURES / "simple.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.CANNOT_WRITE
    assert result.record["status"] == "failed"
    assert all(r["status"] != "running" for r in _records(reports))
    assert _latest(reports, "simple") == good
    assert list(private_tmp.iterdir()) == []


def test_full_disk_on_the_final_record_leaves_no_running_run(reports, private_tmp, monkeypatch):
    import errno

    good = _good_run(reports)
    original = runner.atomic_write

    def full(path, data):
        if Path(path).name in ("run.json", "report.html") and "ended" in str(data)[:100000]:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        if Path(path).name == "report.html":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(path, data)

    monkeypatch.setattr(runner, "atomic_write", full)
    monkeypatch.setattr(run_record, "atomic_write", full)  # where the failure is settled
    result = runner.run(FIXTURES / "simple.ipynb", cli_params=["n=3"], root=reports, progress=False)
    assert result.exit_code == ExitCode.CANNOT_WRITE
    assert all(r["status"] != "running" for r in _records(reports))
    assert _latest(reports, "simple") == good
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("which", ["reports", "scenario"])
def test_a_read_only_folder_gives_exit_8_and_one_line(tmp_path, private_tmp, which):
    reports = tmp_path / "reports"
    first = _cli(reports, "run", str(FIXTURES / "simple.ipynb"))
    assert first.returncode == ExitCode.OK
    good = _latest(reports, "simple")
    target = reports if which == "reports" else reports / "simple" / "default"
    if os.geteuid() != 0:
        pytest.skip("root ignores permission bits; needs a read-only bind mount")
    done = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(target), str(target)], capture_output=True
    )
    if done.returncode:
        pytest.skip("cannot bind-mount read-only here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=False)
        proc = _cli(reports, "run", str(FIXTURES / "simple.ipynb"), "-p", "n=4")
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)
    assert proc.returncode == ExitCode.CANNOT_WRITE, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Read-only" in proc.stderr
    assert all(r["status"] != "running" for r in _records(reports))
    assert _latest(reports, "simple") == good
    assert list(private_tmp.iterdir()) == []


# ----------------------------------------------------------------------------- symlinks


def test_a_symlinked_batch_lock_is_refused_and_its_target_untouched(tmp_path, capsys):
    root = tmp_path / "reports"
    root.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (root / ".batch.lock").symlink_to(victim)
    code = batch.run_batch([], root=root)
    assert code == ExitCode.CANNOT_WRITE
    assert victim.read_text() == "precious\n"
    assert "symbolic link" in capsys.readouterr().err


def test_a_symlinked_scenario_folder_outside_reports_is_refused(reports, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (reports / "simple").mkdir(parents=True)
    (reports / "simple" / "default").symlink_to(outside)
    proc = _cli(reports, "run", str(FIXTURES / "simple.ipynb"))
    assert proc.returncode == ExitCode.CANNOT_WRITE
    assert "outside the reports folder" in proc.stderr and "Traceback" not in proc.stderr
    assert list(outside.iterdir()) == []


def test_a_symlinked_logs_folder_outside_reports_is_refused(tmp_path, capsys):
    root, outside = tmp_path / "reports", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "logs").symlink_to(outside)
    assert batch.run_batch([], root=root) == ExitCode.CANNOT_WRITE
    assert list(outside.iterdir()) == []
    assert "outside the reports folder" in capsys.readouterr().err


# ----------------------------------------------------------------------------- latest


def test_a_real_latest_folder_is_moved_aside_and_latest_made_a_link(reports):
    scenario = reports / "simple" / "default"
    (scenario / "latest").mkdir(parents=True)
    (scenario / "latest" / "notes.txt").write_text("mine")
    result = runner.run(FIXTURES / "simple.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.OK and result.record["status"] == "succeeded"
    assert os.readlink(scenario / "latest") == result.run_dir.name
    moved = list(scenario.glob("latest.moved-*"))
    assert len(moved) == 1 and (moved[0] / "notes.txt").read_text() == "mine"
    assert not list(scenario.glob(".latest.*.tmp"))


def test_a_latest_pointing_at_a_future_run_is_repointed(tmp_path):
    scenario = tmp_path / "nb" / "s"
    future, now = scenario / "29990101T000000.000000Z", scenario / "20260101T000000.000000Z"
    for d in (future, now):
        d.mkdir(parents=True)
    os.symlink(future.name, scenario / "latest")
    runner.point_latest(scenario, now)
    assert os.readlink(scenario / "latest") == now.name


def test_a_latest_pointing_at_nothing_is_repointed(tmp_path):
    scenario = tmp_path / "nb" / "s"
    run = scenario / "20260101T000000.000000Z"
    run.mkdir(parents=True)
    os.symlink("20260102T000000.000000Z", scenario / "latest")  # newer, but gone
    runner.point_latest(scenario, run)
    assert os.readlink(scenario / "latest") == run.name


# ----------------------------------------------------------------------------- stderr


def test_a_failed_cell_prints_its_error_on_stderr(reports):
    proc = _cli(reports, "run", str(FIXTURES / "broken1.ipynb"))
    assert proc.returncode == ExitCode.CELL_ERROR
    lines = proc.stderr.strip().splitlines()
    assert any("ZeroDivisionError: division by zero" in line for line in lines)
    assert any("cell error in cell" in line for line in lines)
    assert "Traceback" not in proc.stderr
