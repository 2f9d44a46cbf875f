"""The layout holds: layers point inward, entry points stay apart, no cycles, small modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "adapters", "projections", "api")
MAX_LINES = 350

# Inner to outer: a module may import its own layer and the layers before it.
LAYERS = ("domain", "adapters", "projections", "api")
# Inside api: shared pieces, then the two entry points (never each other), then the top.
API_ENTRY_POINTS = ("api.http", "api.kafka")
API_TOP = ("api.bootstrap", "api.cli")

DOMAIN_FORBIDDEN = {"adapters", "api", "projections", "flask", "flask_smorest", "marshmallow",
                    "kafka", "psycopg", "sqlite3", "requests", "socket", "os", "subprocess",
                    "pathlib", "time"}
FLASK = {"flask", "flask_smorest", "werkzeug", "gunicorn"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    return {module_name(path): path
            for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


MODULES = project_modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


DEFERRED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)  # bodies run when called


def _imports(nodes: list[ast.AST], top_level_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif not ((isinstance(node, ast.If) and _is_type_checking(node))
                  or (top_level_only and isinstance(node, DEFERRED))):
            yield from _imports(list(ast.iter_child_nodes(node)), top_level_only)


def imported_names(path: Path, top_level_only: bool = False) -> set[str]:
    """Dotted names a module imports (a `from x import y` counts x.y when that is a module)."""
    names: set[str] = set()
    for node in _imports(list(ast.parse(path.read_text()).body), top_level_only):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in MODULES)
    return names


def project_imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The project modules among what a module imports."""
    return {name for name in imported_names(path, top_level_only) if name in MODULES}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer(name: str) -> int:
    return LAYERS.index(name.split(".", 1)[0])


def test_domain_imports_only_the_standard_library_and_eventsourcing() -> None:
    offenders = {
        name: sorted({n.split(".")[0] for n in imported_names(path)} & DOMAIN_FORBIDDEN)
        for name, path in MODULES.items() if within(name, "domain")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_domain_reads_no_clock() -> None:
    for name, path in MODULES.items():
        if within(name, "domain"):
            assert ".now(" not in path.read_text(), name


def test_imports_point_inward() -> None:
    outward = sorted(
        f"{name} -> {target}"
        for name, path in MODULES.items()
        for target in project_imports(path)
        if layer(target) > layer(name)
    )
    assert outward == []


def test_entry_points_stay_apart() -> None:
    crossing = []
    for name, path in MODULES.items():
        for target in project_imports(path):
            if any(within(target, top) for top in API_TOP) and not any(
                    within(name, top) for top in API_TOP):
                crossing.append(f"{name} -> {target}")  # only the top wires things
            for entry in API_ENTRY_POINTS:
                if within(target, entry) and not within(name, entry) and not any(
                        within(name, top) for top in API_TOP):
                    crossing.append(f"{name} -> {target}")
    assert sorted(crossing) == []


def test_only_the_http_package_imports_flask() -> None:
    offenders = sorted(
        name for name, path in MODULES.items()
        if not within(name, "api.http")
        and {n.split(".")[0] for n in imported_names(path)} & FLASK
    )
    assert offenders == []


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path of module names, or [] when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def test_no_import_cycle() -> None:
    graph = {}
    for name, path in MODULES.items():
        targets = project_imports(path, top_level_only=True)
        # importing a.b.c runs a/__init__ and a/b/__init__ first
        for target in list(targets):
            parts = target.split(".")
            targets.update(".".join(parts[:i]) for i in range(1, len(parts))
                           if ".".join(parts[:i]) in MODULES)
        graph[name] = {target for target in targets if target != name}
    assert find_cycle(graph) == []


def test_find_cycle_sees_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_modules_are_small() -> None:
    long = {name: lines for name, path in MODULES.items()
            if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def _imports_alone(name: str) -> tuple[str, str]:
    result = subprocess.run([sys.executable, "-c", f"import {name}"], check=False, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    return name, result.stderr.strip().splitlines()[-1] if result.returncode else ""


@pytest.mark.slow
def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {name: error for name, error in pool.map(_imports_alone, sorted(MODULES))
                    if error}
    assert failures == {}
