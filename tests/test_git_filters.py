"""Notebooks reach git without outputs: the nbstripout filter `make setup` installs.

The filter is installed, exactly as `make setup` does it (tools/git-filters.sh), in a scratch git
repository with the project's .gitattributes; a notebook with outputs is then committed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from shopcast.config import NOTEBOOKS_DIR, PROJ_ROOT

NOTEBOOK = NOTEBOOKS_DIR / "seller_thresholds.ipynb"


def git(repo, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def repo(tmp_path):
    if not shutil.which("git"):
        pytest.fail("git is needed to check the notebook filter")
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "test@example.invalid")
    git(tmp_path, "config", "user.name", "test")
    shutil.copy(PROJ_ROOT / ".gitattributes", tmp_path / ".gitattributes")
    subprocess.run(
        [str(PROJ_ROOT / "tools" / "git-filters.sh"), sys.executable], cwd=tmp_path, check=True
    )
    return tmp_path


def _run_in_lab(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What JupyterLab saves after a run: outputs, execution counts, run-time metadata."""
    nb = nbformat.from_dict(nb)
    for n, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = n + 1
        cell.metadata["execution"] = {"iopub.execute_input": "2026-11-29T03:00:00Z"}
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="a printed line\n"),
            nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="}),
        ]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_a_notebook_with_outputs_is_committed_stripped(repo):
    clean = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.write(_run_in_lab(clean), repo / "nb.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "a notebook run in Lab")
    stored = nbformat.reads(git(repo, "show", "HEAD:nb.ipynb"), as_version=4)
    assert all(not c.get("outputs") for c in stored.cells if c.cell_type == "code")
    assert all(c.get("execution_count") is None for c in stored.cells if c.cell_type == "code")
    assert "widgets" not in stored.metadata
    # byte for byte what the project stores: cell ids, tags and kernelspec kept
    assert git(repo, "show", "HEAD:nb.ipynb") == NOTEBOOK.read_text(encoding="utf-8")
    # the working copy keeps its outputs, and git sees nothing to commit
    assert nbformat.read(repo / "nb.ipynb", as_version=4).cells[1].outputs
    assert git(repo, "status", "--porcelain") == ""


def test_a_changed_notebook_diffs_as_code(repo):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.write(nb, repo / "nb.ipynb")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "clean")
    changed = _run_in_lab(nb)
    params = next(c for c in changed.cells if "parameters" in c.metadata.get("tags", []))
    params.source = params.source.replace("seed = 0", "seed = 1")
    nbformat.write(changed, repo / "nb.ipynb")
    diff = [
        line
        for line in git(repo, "diff", "--unified=0").splitlines()
        if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
    ]
    assert len(diff) == 2, diff  # the one changed line, nothing about outputs or counts
    assert "seed = 0" in diff[0] and "seed = 1" in diff[1]
