"""Checks that the code respects the declared component boundaries.

- A module (source or test) of one component may import another component's
  package only if its pyproject.toml declares that component as a dependency.
- `occo` stays an implicit namespace package: no component ships
  src/occo/__init__.py; each ships a `py.typed` marker, as typed packages do.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from .repo import Component, Repo


@dataclass(frozen=True)
class Violation:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


def imported_occo_packages(tree: ast.AST) -> list[tuple[str, int]]:
    """(package below `occo`, line) for every import of an occo.* package."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "occo":
                names = [f"occo.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "occo" and len(parts) > 1:
                found.append((parts[1], node.lineno))
    return found


def check_component(repo: Repo, component: Component) -> list[Violation]:
    allowed = {component.package} | {s.package for s in repo.siblings_of(component)}
    known = {c.package: c for c in repo.components.values()}
    violations = []
    namespace_init = component.path / "src" / "occo" / "__init__.py"
    if namespace_init.exists():
        violations.append(Violation(namespace_init.relative_to(repo.root), 1,
                                    "occo must stay an implicit namespace package; delete this file"))
    marker = component.path / "src" / "occo" / component.package / "py.typed"
    if not marker.exists():
        violations.append(Violation(marker.relative_to(repo.root), 0,
                                    "the package has no py.typed marker; create the empty file"))
    for folder in ("src", "tests"):
        for path in sorted((component.path / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for package, line in imported_occo_packages(tree):
                if package in known and package not in allowed:
                    violations.append(Violation(
                        path.relative_to(repo.root), line,
                        f"imports occo.{package}, but {component.dist} does not declare "
                        f"{known[package].dist}; declare it in {component.folder}/pyproject.toml "
                        "if the dependency direction allows it"))
    return violations


def check_repo(repo: Repo) -> list[Violation]:
    return [v for c in repo.components.values() for v in check_component(repo, c)]
