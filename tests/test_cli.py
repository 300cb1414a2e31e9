"""The command line: help, exit codes as documented, validate and inspect without a kernel."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shopcast.workbench import cli
from shopcast.workbench.exitcodes import EXIT_MEANINGS, ExitCode

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_every_exit_code(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for code, meaning in EXIT_MEANINGS.items():
        assert re.search(rf"^\s+{int(code)}\s+{re.escape(meaning)}$", out, re.M), code


def test_readme_exit_code_table_matches_the_code():
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\d+) \| (.+?) \|$", readme, re.M))
    assert {int(k): v for k, v in rows.items()} == {int(c): m for c, m in EXIT_MEANINGS.items()}


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S).group(1)
    assert [line.split()[:2] for line in block.strip().splitlines()] == [
        ["make", "report"],
        ["make", "test"],
    ]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_validate_every_committed_scenario(capsys):
    files = sorted(str(p) for p in (ROOT / "params").glob("*/*.yaml"))
    assert cli.main(["validate", *files]) == ExitCode.OK
    assert capsys.readouterr().out.count("ok: ") == len(files)


def test_validate_refuses_a_bad_file_without_traceback(tmp_path, capsys):
    bad = tmp_path / "gmv_goal_forecast" / "typo.yaml"
    bad.parent.mkdir()
    bad.write_text("goal_targt_usd: 1.0\n")
    code = cli.main(["validate", "--notebook", "gmv_goal_forecast", str(bad)])
    err = capsys.readouterr().err
    assert code == ExitCode.BAD_INPUT
    assert "typo.yaml" in err and 'Did you mean "goal_target_usd"' in err
    assert "Traceback" not in err


def test_unknown_notebook_names_the_known_ones(capsys):
    assert cli.main(["inspect", "no_such_notebook"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "gmv_goal_forecast" in err and "seller_thresholds" in err


def test_inspect_shows_types_defaults_help_and_scenarios(capsys):
    assert cli.main(["inspect", "gmv_goal_forecast"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "goal_target_usd: float = 20000000000.0  # absolute goal" in out
    assert re.search(r"scenarios: .*base", out)
