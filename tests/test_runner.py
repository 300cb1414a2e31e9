"""End to end through a real kernel: papermill, nbclient and nbconvert, no mocks of them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from shopcast.workbench import cli, render, runner
from shopcast.workbench.exitcodes import ExitCode

FIXTURES = Path(__file__).parent / "notebooks"
pytestmark = pytest.mark.slow


@pytest.fixture
def reports(tmp_path, monkeypatch):
    root = tmp_path / "reports"
    monkeypatch.setenv("SHOPCAST_REPORTS_DIR", str(root))
    return root


def _latest(root: Path, notebook: str, scenario: str = "default") -> Path | None:
    link = root / notebook / scenario / "latest"
    return link.resolve() if link.is_symlink() else None


def test_good_run_writes_folder_record_report_and_latest(reports):
    result = runner.run(FIXTURES / "simple.ipynb", cli_params=["n=5"], root=reports, progress=False)
    assert result.exit_code == ExitCode.OK
    run_dir = result.run_dir
    assert run_dir.parent == reports / "simple" / "default"
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z", run_dir.name)
    # the fixture notebook draws a chart, so the run also keeps its thumbnail for the gallery
    assert {p.name for p in run_dir.iterdir()} == {
        "executed.ipynb",
        "report.html",
        "run.json",
        "thumbnail.png",
    }
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "succeeded" and record["exit_code"] == 0
    assert record["parameters"]["n"] == 5 and record["overrides"] == {"n": 5}
    # the headline was computed in the kernel: sum(range(5)) * 2.5
    assert record["headline"]["total"]["value"] == pytest.approx(25.0)
    assert record["headline"]["year"]["value"] == 2023
    for key in ("started", "ended", "duration_s", "code_version", "packages", "notebook_sha256"):
        assert key in record
    assert record["packages"]["papermill"]
    assert _latest(reports, "simple") == run_dir
    assert (reports / "index.html").is_file()


def test_report_is_self_contained(reports):
    result = runner.run(FIXTURES / "simple.ipynb", root=reports, progress=False)
    page = (result.run_dir / "report.html").read_text()
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']?https?:", page)
    assert not re.search(r"@import|@font-face[^}]*https?:|url\(\s*[\"']?https?:", page)
    assert "http://" not in page and "https://" not in page
    images = re.findall(r"<img[^>]+src=\"([^\"]+)\"", page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    # no code input, no prompts, no injected-parameters cell
    assert not re.search(r'class="[^"]*(jp-InputArea-editor|jp-CodeMirrorEditor)', page)
    assert not re.search(r'class="[^"]*(jp-InputPrompt|jp-OutputPrompt)', page)
    assert "Parameters" in page and "injected" not in page.lower()
    assert "sum(range(n))" not in page
    # header card with scenario, status, the headline value formatted, and provenance
    assert 'id="shopcast-header"' in page and "succeeded" in page
    assert ">112.5<" in page  # sum(range(10)) * 2.5 formatted with ',.1f'
    assert "sha256" in page or "none recorded" in page


def test_failing_cell_keeps_last_good_report(reports):
    good = runner.run(
        FIXTURES / "broken1.ipynb", cli_params=["divisor=2"], root=reports, progress=False
    )
    assert good.exit_code == ExitCode.OK
    bad = runner.run(FIXTURES / "broken1.ipynb", root=reports, progress=False)
    assert bad.exit_code == ExitCode.CELL_ERROR
    assert _latest(reports, "broken1") == good.run_dir  # latest untouched
    record = json.loads((bad.run_dir / "run.json").read_text())
    assert record["status"] == "failed" and record["exit_code"] == 1
    assert record["error"]["ename"] == "ZeroDivisionError"
    assert "1 / divisor" in record["error"]["source"]
    page = (bad.run_dir / "report.html").read_text()
    assert 'id="shopcast-error"' in page and "ZeroDivisionError" in page
    assert "value = 1 / divisor" in page  # the failing cell's source is shown
    assert (bad.run_dir / "executed.ipynb").is_file()  # the partial notebook
    assert record["headline"]["before"]["value"] == 1.0  # what ran before the error


def test_whole_run_timeout_stops_the_kernel(reports):
    # Behaviour, not speed: whatever phase the 3 s watchdog fires in (kernel start on a busy
    # machine, or the 600 s sleep), the run is a timeout and the sleep is never waited out.
    # tests/test_faults.py fires it inside the sleep cell and checks the failing cell.
    result = runner.run(
        FIXTURES / "sleeper.ipynb",
        cli_params=["seconds=600"],
        root=reports,
        timeout_s=3,
        progress=False,
    )
    assert result.exit_code == ExitCode.TIMEOUT
    assert result.record["error"]["kind"] == "timeout"
    assert result.record["duration_s"] < 600
    assert "timeout" in (result.run_dir / "report.html").read_text().lower()
    assert _latest(reports, "sleeper") is None


def test_kernel_death_is_exit_4(reports):
    result = runner.run(FIXTURES / "suicide.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.KERNEL_DIED
    assert result.record["status"] == "failed"
    assert (result.run_dir / "report.html").is_file()


def test_unpublishable_headline_is_an_error_in_the_notebook(reports):
    result = runner.run(FIXTURES / "unpublishable.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.CELL_ERROR
    assert result.record["error"]["ename"] == "PublishError"
    assert "not JSON-serialisable" in result.record["error"]["evalue"]


def test_kernel_is_the_projects_interpreter(reports, tmp_path, monkeypatch):
    # A decoy kernelspec named like ours, earlier on the Jupyter path, must not be used.
    decoy = tmp_path / "jupyter" / "kernels" / "shopcast"
    decoy.mkdir(parents=True)
    (decoy / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [
                    "/nonexistent/python",
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                ],
                "display_name": "decoy",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    result = runner.run(FIXTURES / "simple.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.OK


@pytest.mark.parametrize(
    "args, message",
    [
        (["-p", "nn=3"], 'Did you mean "n"'),
        (["-p", "n=abc"], "valid integer"),
    ],
)
def test_bad_parameters_refused_before_any_kernel(reports, monkeypatch, capsys, args, message):
    started = []
    monkeypatch.setattr(runner, "project_kernel_manager", lambda: started.append(1))
    code = cli.main(["run", str(FIXTURES / "simple.ipynb"), *args])
    assert code == ExitCode.BAD_INPUT
    assert message in capsys.readouterr().err
    assert not started, "a kernel was started for a bad parameter"
    assert not reports.exists() or not any(reports.iterdir()), "something was written"


def test_cli_run_exit_codes_as_subprocess(reports):
    import subprocess
    import sys

    env = {**os.environ, "SHOPCAST_REPORTS_DIR": str(reports)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shopcast.workbench.cli",
            "-q",
            "run",
            str(FIXTURES / "broken1.ipynb"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1
    assert proc.stdout.strip().endswith("report.html")
    assert "Traceback" not in proc.stderr


def test_report_that_would_load_a_url_fails_and_keeps_latest(reports):
    result = runner.run(FIXTURES / "external_image.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.RENDER_FAILED
    assert result.record["status"] == "failed"
    assert result.record["error"]["kind"] == "render error"
    assert "loads a URL" in result.record["error"]["evalue"]
    page = (result.run_dir / "report.html").read_text()
    render.check_self_contained(page)  # the fallback page itself loads nothing
    assert 'id="shopcast-error"' in page
    assert _latest(reports, "external_image") is None


def test_script_outputs_never_reach_the_report(reports):
    result = runner.run(FIXTURES / "scripted.ipynb", root=reports, progress=False)
    assert result.exit_code == ExitCode.OK
    page = (result.run_dir / "report.html").read_text()
    assert "<script" not in page and "document.title" not in page
    assert "kept" in page


def test_latest_only_moves_forward(tmp_path):
    scenario = tmp_path / "nb" / "s"
    older, newer = scenario / "20260101T000000.000000Z", scenario / "20260102T000000.000000Z"
    for d in (older, newer):
        d.mkdir(parents=True)
    runner.point_latest(scenario, newer)
    runner.point_latest(scenario, older)  # an overlapping older run finishing last
    assert os.readlink(scenario / "latest") == newer.name


def test_kernel_gets_one_blas_thread_unless_the_environment_says_otherwise(monkeypatch):
    from shopcast.config import ONE_BLAS_THREAD
    from shopcast.workbench.kernel import project_kernel_manager, remove_sockets

    for name in ONE_BLAS_THREAD:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    km = project_kernel_manager()
    try:
        env = km.kernel_spec_manager.get_kernel_spec("shopcast").env
    finally:
        remove_sockets(km)
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["MKL_NUM_THREADS"] == "3"
