"""Property-based parameter fuzzer over every notebook's schema (issue 11, "Build").

Each generated case goes through the command line (``shopcast run NOTEBOOK --params base.yaml
-p KEY=VALUE ...``) with execution stubbed out, so it exercises argparse, ``-p`` parsing, the
scenario file, the schema and the data-file checks that run before any kernel. Every case must
either validate (exit 0) or be refused with exit 2 and a one-line message of at most
:data:`MESSAGE_LIMIT` characters: never a traceback, never another exit code.
"""

from __future__ import annotations

import contextlib
import io
import string
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopcast.config import NOTEBOOKS_DIR, PARAMS_DIR
from shopcast.exceptions import MAX_MESSAGE_CHARS
from shopcast.notebooks import SCHEMAS
from shopcast.workbench import cli
from shopcast.workbench.exitcodes import ExitCode
from shopcast.workbench.params import notebook_parameters
from shopcast.workbench.runner import RunResult

FIXTURES = Path(__file__).parent / "notebooks"
#: Every notebook with a registered schema, and one whose schema is inferred.
NOTEBOOKS = [NOTEBOOKS_DIR / f"{name}.ipynb" for name in sorted(SCHEMAS)] + [
    FIXTURES / "simple.ipynb"
]
CASES_PER_NOTEBOOK = 260  # 4 notebooks: 1,040 cases
MESSAGE_LIMIT = MAX_MESSAGE_CHARS + len("shopcast: error: ")
TALLY = {"cases": 0, "accepted": 0, "refused": 0, "tracebacks": 0}

_scalars = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=string.digits + "-:._eE+o0x", max_size=12),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z", fullmatch=True),
    st.sampled_from(
        [
            "nan",
            ".nan",
            ".inf",
            "-.inf",
            "1e308",
            "010",
            "1:30",
            "yes",
            "~",
            "#",
            "&a [*a]",
            "!!python/object:os.system",
            "[[[[1]]]]",
            "{a: 1}",
            "'q'",
            '"1.5"',
            "2023-02-30",
            "x" * 5000,
            "\x00",
            "a\nb",
            "\u202e",
        ]
    ),
)


def _yaml_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return {"nan": ".nan", "inf": ".inf", "-inf": "-.inf"}.get(str(value), repr(value))
    return str(value)


@st.composite
def overrides(draw, names: list[str]) -> list[str]:
    keys = draw(st.lists(st.sampled_from([*names, "nn", "seeed", "__class__", ""]), max_size=5))
    out = []
    for key in keys:
        if draw(st.booleans()):
            items = draw(st.lists(_scalars, max_size=6))
            value = "[" + ", ".join(_yaml_text(v) for v in items) + "]"
        else:
            value = _yaml_text(draw(_scalars))
        out.append(f"{key}={value}")
    return out


def _stub_execute(_plan, **_):
    return RunResult(exit_code=ExitCode.OK, run_dir=Path("/nonexistent"), record={"error": None})


def _check_case(notebook: Path, params: list[str]) -> None:
    base = PARAMS_DIR / notebook.stem / "base.yaml"
    argv = ["run", str(notebook), *(["--params", str(base)] if base.is_file() else [])]
    for p in params:
        argv += ["-p", p]
    err, out = io.StringIO(), io.StringIO()
    with (
        mock.patch.object(cli, "execute", _stub_execute),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(out),
    ):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse usage errors exit 2 themselves
            code = exc.code
    message = err.getvalue()
    TALLY["cases"] += 1
    TALLY["tracebacks"] += "Traceback" in message
    assert "Traceback" not in message, message[:2000]
    assert code in (ExitCode.OK, ExitCode.BAD_INPUT), (code, message[:2000])
    if code == ExitCode.OK:
        TALLY["accepted"] += 1
        return
    TALLY["refused"] += 1
    lines = [line for line in message.splitlines() if line.strip()]
    if lines and lines[0].startswith("usage:"):  # argparse: usage, then one error line
        lines = lines[-1:]
    assert len(lines) == 1, message[:2000]
    assert len(lines[0]) <= MESSAGE_LIMIT, len(lines[0])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_generated_parameter_case_validates_or_is_refused_in_one_line(notebook):
    names = sorted(notebook_parameters(notebook))

    @settings(
        max_examples=CASES_PER_NOTEBOOK,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(params=overrides(names))
    def case(params):
        _check_case(notebook, params)

    before = TALLY["cases"]
    case()
    assert TALLY["cases"] - before >= CASES_PER_NOTEBOOK * 0.9


def test_fuzzer_tally_has_no_tracebacks():
    """Runs last in this file: the figures the README's promise table quotes."""
    if TALLY["cases"] == 0:
        pytest.skip("run with the fuzzer cases")
    print(f"\nparameter fuzzer: {TALLY}")
    assert TALLY["tracebacks"] == 0
    assert TALLY["accepted"] + TALLY["refused"] == TALLY["cases"]
