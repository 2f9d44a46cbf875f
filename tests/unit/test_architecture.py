"""The domain stays pure: it imports no outer layer and no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

import domain

FORBIDDEN = {"adapters", "api", "projections", "flask", "marshmallow", "kafka", "psycopg",
             "sqlite3", "requests", "socket", "os", "subprocess", "pathlib", "time"}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domain_imports_only_the_standard_library_and_eventsourcing() -> None:
    offenders = {
        path.name: sorted(imported_roots(path) & FORBIDDEN)
        for path in Path(domain.__file__).parent.glob("*.py")
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_domain_reads_no_clock() -> None:
    for path in Path(domain.__file__).parent.glob("*.py"):
        assert ".now(" not in path.read_text(), path.name
