"""What a run records about where its numbers came from: code, packages, headline values, inputs."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat

from shopcast.config import PROJ_ROOT, code_digest
from shopcast.publish import HEADLINE_MIME, INPUT_MIME

#: Packages whose versions every run records.
TRACKED_PACKAGES = (
    "shopcast",
    "pandas",
    "numpy",
    "scipy",
    "prophet",
    "cmdstanpy",
    "statsmodels",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "jupyter_client",
    "pydantic",
    "pyyaml",
)


def code_version() -> dict[str, Any]:
    """The git commit of the project and whether tracked files differ from it."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(PROJ_ROOT), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "unknown (not a git checkout)", False
    return {"commit": commit, "dirty": dirty, "source_sha256": code_digest()}


def package_versions() -> dict[str, str]:
    """Versions of the packages a report depends on."""
    out = {}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def published_values(nb: nbformat.NotebookNode) -> tuple[dict[str, Any], dict[str, str]]:
    """Headline values and data-file checksums published in an executed notebook."""
    headline: dict[str, Any] = {}
    inputs: dict[str, str] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = out.get("data", {})
            if HEADLINE_MIME in data:
                item = dict(data[HEADLINE_MIME])
                headline[item.pop("name")] = item
            if INPUT_MIME in data:
                item = data[INPUT_MIME]
                inputs[display_path(item["path"])] = item["sha256"]
    return headline, inputs


def display_path(path: str) -> str:
    """A path as the report shows it: relative to the project when inside it."""
    try:
        return Path(path).resolve().relative_to(PROJ_ROOT).as_posix()
    except ValueError:
        return path
