"""The package's shape: no import cycles, modules of a readable size, no metadata in attrs."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src"
PACKAGE = SRC / "shopcast"

#: The longest module, in lines, unless it is one algorithm (listed below with why).
MAX_LINES = 580

#: Modules allowed to be longer, each one algorithm that reads best in one file.
ONE_ALGORITHM: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Shopcast modules that ``name`` imports anywhere (function-local imports included: a cycle
    hidden in a function is still a cycle), except under ``TYPE_CHECKING`` and its own parents."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    guarded = {
        id(sub)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for sub in ast.walk(node)
    }
    found: set[str] = set()
    for sub in ast.walk(tree):
        if id(sub) in guarded:
            continue
        if isinstance(sub, ast.Import):
            found |= {a.name for a in sub.names}
        elif isinstance(sub, ast.ImportFrom) and sub.module:
            found |= {sub.module} | {f"{sub.module}.{a.name}" for a in sub.names}
    return {m for m in found if m in known and m != name and not name.startswith(m + ".")}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle a depth-first search meets (each as the path that closes it)."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycles():
    modules = _modules()
    graph = {n: _imports(p, n, set(modules)) for n, p in modules.items()}
    cycles = _cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_cycle_check_sees_hidden_imports(tmp_path):
    # The check itself: an import inside a function counts; one for type checkers does not.
    a = tmp_path / "a.py"
    a.write_text("def f():\n    from shopcast.b import x\n")
    assert _imports(a, "shopcast.a", {"shopcast.a", "shopcast.b"}) == {"shopcast.b"}
    guarded = tmp_path / "c.py"
    guarded.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import shopcast.b\n"
    )
    assert _imports(guarded, "shopcast.c", {"shopcast.b"}) == set()
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_modules_stay_readable():
    too_long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and name not in ONE_ALGORITHM
    }
    assert not too_long, f"modules over {MAX_LINES} lines (split them by concern): {too_long}"


def test_metadata_travels_in_dataclasses_not_attrs():
    # pandas drops .attrs silently on many operations; only the cache (which stores whatever a
    # frame carries) may touch them.
    users = [
        path.relative_to(SRC).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "cache.py"
        and ".attrs" in path.read_text(encoding="utf-8").replace("``DataFrame.attrs``", "")
    ]
    assert not users, f"DataFrame.attrs used in {users}"
