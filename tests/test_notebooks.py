"""The committed notebooks are thin, stripped and parameterised as DEVELOPERS.md says.

Static checks only (nothing is executed): outputs stripped, the project's kernelspec, one
``parameters`` cell whose every parameter is commented and used, no function or class
definitions, a scenario under ``params/<notebook>/``, no unescaped ``$`` in the prose, and every
chart shown with ``show()`` (with its data), one of them the key chart.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from shopcast.config import NOTEBOOKS_DIR, PARAMS_DIR
from shopcast.report_text import DOLLAR

NOTEBOOKS = sorted(Path(NOTEBOOKS_DIR).glob("*.ipynb"))
BARE_DOLLAR = re.compile(r"(?<!\\)\$")


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request):
    path = request.param
    return path, nbformat.read(path, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def python_source(source: str) -> str:
    """Cell source without IPython magics and shell lines (``%``, ``!``), which ast rejects."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def parse(cell) -> ast.Module:
    return ast.parse(python_source(cell.source))


def parameters_cell(nb):
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{len(cells)} cells tagged 'parameters'"
    return cells[0]


def declared_parameters(cell) -> dict[str, int]:
    """Name -> line number of every top-level assignment in the parameters cell."""
    names = {}
    for node in parse(cell).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            if isinstance(target, ast.Name):
                names[target.id] = node.lineno
    return names


def test_python_source_strips_magics_only():
    src = "%matplotlib inline\n!ls\nx = 1  # a % in a comment\n  %time y = 2"
    assert python_source(src) == "\n\nx = 1  # a % in a comment\n"
    ast.parse(python_source(src))


def _stored(path: Path, nb):
    """The notebook as git stores it: with the nbstripout filter installed (`make setup`), what
    JupyterLab saves into the working copy is stripped on `git add`, so the index copy counts."""
    import subprocess

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(path.parent), *args], capture_output=True, text=True, check=False
        )

    if not git("config", "--get", "filter.nbstripout.clean").stdout.strip():
        return nb
    staged = git("show", f":./{path.name}")
    return nbformat.reads(staged.stdout, as_version=4) if staged.returncode == 0 else nb


def test_code_cells_are_stripped(notebook):
    path, nb = notebook
    nb = _stored(path, nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name} cell {i} has outputs"
            assert cell.get("execution_count") is None, f"{path.name} cell {i} was executed"


def test_kernelspec_is_the_projects(notebook):
    path, nb = notebook
    assert nb.metadata.get("kernelspec", {}).get("name") == "shopcast", path.name


def test_starts_with_a_markdown_title(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), path.name


def test_one_parameters_cell_of_commented_literals(notebook):
    path, nb = notebook
    cell = parameters_cell(nb)
    assert cell.cell_type == "code"
    declared = declared_parameters(cell)
    assert declared, f"{path.name}: the parameters cell declares nothing"
    lines = cell.source.splitlines()
    for node in parse(cell).body:
        assert isinstance(node, ast.Assign | ast.AnnAssign), (
            f"{path.name}: line {node.lineno} of the parameters cell is not an assignment"
        )
        # literal values only (str, int, float, bool, list): papermill and YAML can set them
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            pytest.fail(f"{path.name}: line {node.lineno} of the parameters cell is not a literal")
        assert isinstance(value, str | int | float | list), (
            f"{path.name}: line {node.lineno} is a {type(value).__name__}, not a str, int, "
            "float, bool or list"
        )
        assert "#" in lines[node.lineno - 1], (
            f"{path.name}: parameter on line {node.lineno} has no '#' comment: "
            f"{lines[node.lineno - 1]!r}"
        )


def test_every_parameter_is_used(notebook):
    path, nb = notebook
    params = parameters_cell(nb)
    used = set()
    for cell in code_cells(nb):
        if cell is params:
            continue
        for node in ast.walk(parse(cell)):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                used.add(node.id)
    unused = sorted(set(declared_parameters(params)) - used)
    assert not unused, f"{path.name}: parameters never used: {unused}"


def test_no_function_or_class_definitions(notebook):
    path, nb = notebook
    for i, cell in enumerate(code_cells(nb)):
        for node in ast.walk(parse(cell)):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef), (
                f"{path.name} cell {i} defines {node.name!r}: move it into src/shopcast"
            )


def test_every_notebook_has_a_scenario(notebook):
    path, _ = notebook
    scenarios = sorted((Path(PARAMS_DIR) / path.stem).glob("*.yaml"))
    assert scenarios, f"no scenario under params/{path.stem}/*.yaml"


def test_markdown_has_no_unescaped_dollar(notebook):
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for para in re.split(r"\n\s*\n", cell.source):
                assert not BARE_DOLLAR.search(para), (
                    f"{path.name} cell {i}: bare '$' starts maths in JupyterLab; write \\$: {para}"
                )
                # Lab's Markdown parser turns \$ into $ and MathJax then pairs two of them
                plain = para.replace(DOLLAR, "")
                assert plain.count("\\$") <= 1, (
                    f"{path.name} cell {i}: two \\$ in one paragraph read as maths in JupyterLab; "
                    f"write {DOLLAR} (what shopcast.report_text.md_escape writes): {para}"
                )


def test_charts_are_shown_with_their_data_and_one_is_the_key(notebook):
    """Every chart goes through show() (the chart, then its CSV); exactly one is the key chart."""
    path, nb = notebook
    charts: set[str] = set()
    shown, keys = 0, 0
    not_charts = ("shopcast.charts.tables", "shopcast.charts.data")
    for cell in code_cells(nb):
        for node in ast.walk(parse(cell)):
            module = getattr(node, "module", None) or ""
            if module.startswith("shopcast.charts.") and module not in not_charts:
                charts |= {alias.asname or alias.name for alias in node.names}
    for i, cell in enumerate(code_cells(nb)):
        for node in ast.walk(parse(cell)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            inner = node.args[0] if node.args else None
            drawn = isinstance(inner, ast.Call) and getattr(inner.func, "id", "") in charts
            assert not (node.func.id == "display" and drawn), (
                f"{path.name} cell {i}: display({inner.func.id}(...)) shows no data; "
                "use show(...) from shopcast.charts.data"
            )
            if node.func.id == "show":
                shown += 1
                keys += any(k.arg == "key" for k in node.keywords)
    assert shown >= 1, f"{path.name}: no chart shown with show()"
    assert keys == 1, f"{path.name}: {keys} key charts; mark exactly one show(fig, key=True)"


@pytest.mark.parametrize("name", ["gmv_goal_forecast", "threshold_vs_goal"])
def test_a_goal_report_states_its_data_vintage_first_in_its_header(name):
    """The header card shows the headline values in the order they are published: a goal
    report forecasting as of a date says which date before any number computed from it."""
    nb = nbformat.read(Path(NOTEBOOKS_DIR) / f"{name}.ipynb", as_version=4)
    assert re.search(r"^as_of = ", parameters_cell(nb).source, re.M)
    source = "\n".join(c.source for c in code_cells(nb))
    published = re.findall(r'\bpublish\(\s*"([a-z0-9_]+)"', source)
    assert published and published[0] == "as_of", published[:3]
