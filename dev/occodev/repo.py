"""The components of the monorepo, as their pyproject.toml files declare them.

A component is a top-level folder holding `src/occo/`. Its distribution name,
version and dependencies come from its pyproject.toml; a dependency whose name
is another component's distribution is a sibling, any other is third-party.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .errors import DevError

IGNORED_DIRS = {"env", "dev", "docs", "examples", "bench", "tests", "dist", "node_modules"}


@dataclass(frozen=True)
class Component:
    """One component folder and what its pyproject.toml says."""

    folder: str                      # "info-broker"
    path: Path
    dist: str                        # "occo-info-broker"
    version: str
    requires: tuple[Requirement, ...]  # [project].dependencies
    test_requires: tuple[Requirement, ...]  # [dependency-groups].test
    build_requires: tuple[Requirement, ...]  # [build-system].requires
    requires_python: SpecifierSet = field(default_factory=SpecifierSet, compare=False)
    scripts: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return canonicalize_name(self.dist)

    @property
    def package(self) -> str:
        """The import package below the `occo` namespace ("infobroker")."""
        return self.folder.replace("-", "")


@dataclass
class Repo:
    """The monorepo: its root and its components, keyed by folder name."""

    root: Path
    components: dict[str, Component]

    @classmethod
    def load(cls, root: Path) -> Repo:
        components = {}
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            if folder.name.startswith(".") or folder.name in IGNORED_DIRS:
                continue
            if (folder / "src" / "occo").is_dir() or (folder / "pyproject.toml").is_file():
                component = _read_component(folder)
                components[component.folder] = component
        if not components:
            raise DevError(f"no components found under {root} (a component is a folder "
                           "with pyproject.toml and src/occo/)")
        _check_unique_dists(components.values())
        return cls(root, components)

    def by_dist(self) -> dict[str, Component]:
        return {c.key: c for c in self.components.values()}

    def siblings_of(self, component: Component) -> list[Component]:
        """The components `component` declares as direct dependencies."""
        dists = self.by_dist()
        return [dists[canonicalize_name(r.name)] for r in component.requires
                if canonicalize_name(r.name) in dists]

    def third_party(self, requirements: tuple[Requirement, ...]) -> list[Requirement]:
        dists = self.by_dist()
        return [r for r in requirements if canonicalize_name(r.name) not in dists]

    def select(self, names: list[str]) -> list[Component]:
        """Components named on the command line, by folder or distribution name."""
        by_dist = self.by_dist()
        chosen = []
        for name in names:
            component = (self.components.get(name.rstrip("/"))
                         or by_dist.get(canonicalize_name(name)))
            if component is None:
                known = ", ".join(self.components)
                raise DevError(f"unknown component '{name}'; the components are: {known}", 2)
            chosen.append(component)
        return chosen


def _read_component(folder: Path) -> Component:
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        raise DevError(f"component folder '{folder.name}' has no pyproject.toml; add one "
                       "(see util/pyproject.toml) or move the folder out of the repository root")
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as error:
        raise DevError(f"{pyproject}: not valid TOML: {error}") from None
    project = data.get("project") or {}
    for key in ("name", "version"):
        if not isinstance(project.get(key), str):
            raise DevError(f"{pyproject}: [project].{key} must be set to a string")
    if not re.fullmatch(r"\d+\.\d+\.\d+", project["version"]):
        raise DevError(f"{pyproject}: version '{project['version']}' is not a semantic "
                       "version MAJOR.MINOR.PATCH")
    groups = data.get("dependency-groups") or {}
    try:
        requires_python = SpecifierSet(project.get("requires-python", ""))
    except InvalidSpecifier as error:
        raise DevError(f"{pyproject}: [project].requires-python is invalid: {error}") from None
    return Component(
        folder=folder.name,
        path=folder,
        dist=project["name"],
        version=project["version"],
        requires=_requirements(pyproject, "[project].dependencies", project.get("dependencies", [])),
        test_requires=_requirements(pyproject, "[dependency-groups].test", groups.get("test", [])),
        build_requires=_requirements(pyproject, "[build-system].requires",
                                     (data.get("build-system") or {}).get("requires", [])),
        scripts=dict(project.get("scripts") or {}),
        requires_python=requires_python,
    )


def _requirements(pyproject: Path, where: str, lines: list) -> tuple[Requirement, ...]:
    parsed = []
    for line in lines:
        try:
            parsed.append(Requirement(line))
        except (InvalidRequirement, TypeError) as error:
            raise DevError(f"{pyproject}: {where} has an invalid requirement {line!r}: {error}") from None
    return tuple(parsed)


def _check_unique_dists(components) -> None:
    seen: dict[str, str] = {}
    for component in components:
        other = seen.setdefault(component.key, component.folder)
        if other != component.folder:
            raise DevError(f"components '{other}' and '{component.folder}' both declare the "
                           f"distribution name '{component.dist}'")
