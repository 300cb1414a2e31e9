"""The audit's hostile parameters and data files, each refused before any kernel (issue 11, 17).

Every case goes through :func:`shopcast.workbench.runner.plan_run`, the validation that
``shopcast run`` and ``shopcast validate`` do before a kernel starts, and must end in a
:class:`ShopcastError` (exit 2 at the command line) whose message names what is wrong, in one
bounded line: never a traceback, never a run.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from shopcast.config import NOTEBOOKS_DIR, PARAMS_DIR, PROJ_ROOT
from shopcast.exceptions import MAX_MESSAGE_CHARS, DataError, ParameterError, ShopcastError
from shopcast.workbench import cli
from shopcast.workbench.exitcodes import ExitCode
from shopcast.workbench.params import load_params_file, parse_cli_param
from shopcast.workbench.runner import plan_run

GOAL = NOTEBOOKS_DIR / "gmv_goal_forecast.ipynb"
SELLERS = NOTEBOOKS_DIR / "seller_thresholds.ipynb"
TRADEOFF = NOTEBOOKS_DIR / "threshold_vs_goal.ipynb"
FACTS = PROJ_ROOT / "data" / "seller_size_facts.csv"
MICRODATA = Path(__file__).parent / "data" / "sellers_microdata_lognormal.csv"
GMV_DAILY = Path(__file__).parent / "data" / "gmv_daily.csv"


def refused(notebook: Path, *params: str, base: bool = True) -> ShopcastError:
    """The error plan_run raises for ``-p`` params (over the base scenario); fails if none."""
    files = [PARAMS_DIR / notebook.stem / "base.yaml"] if base else []
    with pytest.raises(ShopcastError) as info:
        plan_run(notebook, files, list(params))
    message = str(info.value)
    assert "\n" not in message and len(message) <= MAX_MESSAGE_CHARS
    assert "Traceback" not in message
    return info.value


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    "param, field",
    [
        ("goal_start=2023-02-30", "goal_start"),
        ("goal_end=2023-13-01", "goal_end"),
        ('base_start="2022-02-29"', "base_start"),
        ("history_end=2022-04-31", "history_end"),
    ],
)
def test_impossible_dates_name_the_field(param, field):
    err = refused(GOAL, param)
    assert isinstance(err, ParameterError) and err.field == field
    assert "real calendar date" in str(err)


def test_impossible_threshold_start_names_the_field():
    err = refused(TRADEOFF, "threshold_start=2023-02-30")
    assert err.field == "threshold_start"


@pytest.mark.parametrize("value", ["[0, .nan]", "[0, .inf]", "[0, -.inf]"])
def test_thresholds_with_nan_or_inf_are_refused(value):
    err = refused(SELLERS, f"thresholds={value}")
    assert err.field == "thresholds" and "finite" in str(err)


def test_nan_gets_no_write_it_as_nan_hint():
    err = refused(GOAL, "goal_target_usd=nan")
    assert "write it as nan" not in str(err)
    err = refused(GOAL, "changepoint_prior_scale=.nan")
    assert "finite" in str(err) and "less than or equal" not in str(err)


def test_threshold_start_before_the_history_is_refused():
    err = refused(TRADEOFF, "threshold_start=2015-01-01", "history_end=")
    assert "threshold_start" in str(err) and "forecast month" in str(err)


def test_horizon_hint_never_exceeds_the_maximum():
    err = refused(GOAL, "history_end=1990-01-01", "data_file=" + str(GMV_DAILY))
    assert "before the first month" in str(err)
    err = refused(GOAL, "goal_end=2060-12-01", "goal_start=2060-01-01")
    assert "at most 120 months" in str(err) and "at least" not in str(err)


def test_a_path_longer_than_the_file_system_allows_is_refused():
    err = refused(GOAL, "data_file=/tmp/" + "x" * 300 + ".csv")
    assert err.field == "data_file" and "too long" in str(err).lower()


def test_a_folder_or_fifo_as_data_file_is_named_as_such(tmp_path):
    err = refused(GOAL, f"data_file={tmp_path}")
    assert "is a folder" in str(err) and "does not exist" not in str(err)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    err = refused(GOAL, f"data_file={fifo}")
    assert "not a regular file" in str(err)


def test_string_parameters_have_a_maximum_length():
    err = refused(GOAL, "data_segment=" + "s" * 10_000_000)
    assert err.field == "data_segment" and "at most 1000 characters" in str(err)
    assert len(str(err)) < 1000


def test_memory_of_the_simulation_is_bounded_before_the_kernel():
    err = refused(SELLERS, "n_sellers=5000000", "months=120")
    assert "GiB" in str(err) and "lower n_sellers or months" in str(err)


# ----------------------------------------------------------------------------- YAML


def test_deeply_nested_yaml_is_refused_without_recursion(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("seed: " + "[" * 10_000 + "]" * 10_000 + "\n")
    with pytest.raises(ParameterError, match="nested 3 or more levels") as info:
        load_params_file(deep)
    assert len(str(info.value)) < 500
    with pytest.raises(ParameterError, match="nested 2 or more levels"):
        parse_cli_param("seed=" + "[" * 10_000 + "]" * 10_000)


def test_an_alias_bomb_is_refused_with_a_short_message(tmp_path):
    lines = ['a0: ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "\n".join(f"{x.split(':')[0]}: &{x.split(':')[0]}{x.split(':', 1)[1]}" for x in lines)
        + "\n"
    )
    with pytest.raises(ParameterError, match="aliases") as info:
        load_params_file(bomb)
    assert len(str(info.value)) < 500


@pytest.mark.parametrize("raw", ["seed=010", "seed=1:30", "festival_effects=yes", "seed=1_000"])
def test_yaml_11_and_12_ambiguities_are_refused(raw):
    with pytest.raises(ParameterError, match=r"YAML 1\.1 and YAML 1\.2"):
        parse_cli_param(raw)


def test_ambiguous_forms_in_a_scenario_file_are_refused(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("seed: 010\n")
    with pytest.raises(ParameterError, match=r'"seed" = \'010\'.*octal'):
        load_params_file(f)
    f.write_text('seed: 10\ndata_segment: "010"\n')
    assert load_params_file(f) == {"seed": 10, "data_segment": "010"}


@pytest.mark.parametrize(
    "raw, expected",
    [
        ('data_segment="1.5"', "1.5"),
        ("data_segment='7'", "7"),
        ("data_segment=#", "#"),
        ("seed=1e3", 1000.0),
        ("seed=7", 7),
        ("goal_start=2023-02-30", "2023-02-30"),
    ],
)
def test_cli_values_quoted_strings_stay_strings(raw, expected):
    value = parse_cli_param(raw)[1]
    assert value == expected and type(value) is type(expected)


def test_committed_scenarios_still_load_with_plain_pyyaml():
    import yaml

    for path in sorted(PARAMS_DIR.glob("*/*.yaml")):
        assert yaml.safe_load(path.read_text()) == load_params_file(path), path


# ----------------------------------------------------------------------------- data files


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def _microdata_lines(n: int = 40) -> list[str]:
    return MICRODATA.read_text().splitlines()[: n + 1]


def _corpus(tmp_path: Path) -> list[tuple[str, Path, str, str]]:
    """(case, file, data_form, expected text in the error)."""
    facts = FACTS.read_text()
    micro = _microdata_lines()
    return [
        (
            "latin-1",
            _write(
                tmp_path,
                "latin1.csv",
                facts.replace("Amazon", "Amazôn").encode("latin-1", errors="replace"),
            ),
            "facts",
            "is not UTF-8",
        ),
        ("gzip", _write(tmp_path, "gz.csv", gzip.compress(facts.encode())), "facts", "gzip"),
        ("binary", _write(tmp_path, "bin.csv", b"fact_id,kind\n\x00\x01\x02"), "facts", "binary"),
        (
            "huge value",
            _write(tmp_path, "huge.csv", "\n".join([*micro[:5], "99,1e300", *micro[5:]]) + "\n"),
            "microdata",
            "above 1e+13",
        ),
        (
            "zero value",
            _write(tmp_path, "zero.csv", "\n".join([*micro[:5], "99,0", *micro[5:]]) + "\n"),
            "microdata",
            "not positive",
        ),
        (
            "empty value",
            _write(tmp_path, "empty.csv", "\n".join([*micro[:5], "99,", *micro[5:]]) + "\n"),
            "microdata",
            "not a finite number",
        ),
        ("facts as microdata", FACTS, "microdata", "set data_form facts"),
        ("microdata as facts", MICRODATA, "facts", "set data_form microdata"),
        (
            "million brackets",
            _write(
                tmp_path,
                "brackets.csv",
                "lower_usd,upper_usd,count\n"
                + "".join(f"{i},{i + 1},1\n" for i in range(1_000_000)),
            ),
            "brackets",
            "at most 1,000",
        ),
        (
            "huge bracket",
            _write(tmp_path, "hb.csv", "lower_usd,upper_usd,count\n0,10,5\n10,1e200,3\n"),
            "brackets",
            "above 1e+13",
        ),
        ("empty file", _write(tmp_path, "nothing.csv", ""), "facts", "cannot be read as CSV"),
    ]


def test_data_file_corpus_is_refused_before_any_kernel(tmp_path, monkeypatch):
    from shopcast.workbench import runner

    started = []
    monkeypatch.setattr(runner, "project_kernel_manager", lambda: started.append(1))
    for case, path, form, expected in _corpus(tmp_path):
        err = refused(SELLERS, f"data_file={path}", f"data_form={form}", base=False)
        assert expected in str(err), (case, str(err))
        assert str(path.name) in str(err) or "data_form" in str(err), case
        if isinstance(err, DataError) and case not in ("gzip", "empty file", "million brackets"):
            assert err.row is not None, case
    assert not started


def test_gmv_file_corpus_is_refused_before_any_kernel(tmp_path):
    daily = GMV_DAILY.read_text().splitlines()
    zero = [daily[0]] + [",".join([*line.split(",")[:-1], "0"]) for line in daily[1:]]
    huge = [*daily[:3], daily[3].rsplit(",", 1)[0] + ",1e300", *daily[4:]]
    cases = [
        ("all zero", _write(tmp_path, "zero.csv", "\n".join(zero) + "\n"), "every gmv value is 0"),
        ("huge", _write(tmp_path, "huge.csv", "\n".join(huge) + "\n"), "above 1e+15"),
        (
            "latin-1",
            _write(
                tmp_path,
                "l1.csv",
                ("\n".join(daily) + "\n").replace("date", "dâte").encode("latin-1"),
            ),
            "not UTF-8",
        ),
    ]
    for case, path, expected in cases:
        err = refused(
            GOAL,
            f"data_file={path}",
            "history_end=",
            "goal_start=2024-01-01",
            "goal_end=2024-12-01",
        )
        assert isinstance(err, DataError) and expected in str(err), (case, str(err))
        assert err.row is not None or case == "latin-1"
        assert "log=False" not in str(err)


def test_validate_command_refuses_a_bad_data_file_with_exit_2(tmp_path, capsys):
    bad = _write(tmp_path, "gz.csv", gzip.compress(FACTS.read_bytes()))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f'data_file: "{bad}"\n')
    code = cli.main(["validate", "--notebook", "seller_thresholds", str(scenario)])
    err = capsys.readouterr().err
    assert code == ExitCode.BAD_INPUT and "gzip" in err and "Traceback" not in err
