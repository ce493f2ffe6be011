"""`occo-dev bump COMP major|minor|patch`: a new version, the pins that follow it, a CHANGELOG line.

Sibling pins are exact, so a new version of a component changes the wheel
metadata of every component that needs it, directly or not. Each of those gets
a patch release with the new pins: the index refuses a changed wheel under a
published name, so an unchanged version could not be uploaded
(docs/adr/0004-polyrepo-and-releases.md).

pyproject.toml files are edited as text, so their layout and comments stay;
each edited text is parsed again and must say what was meant before anything
is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from .errors import DevError
from .fsutil import write_if_changed
from .graph import BuildGraph, build_graph, check_sibling_pins
from .lock import LOCK_FILE, Lock, write_component_requirements
from .repo import Component, Repo

PARTS = ("major", "minor", "patch")
CHANGELOG = "CHANGELOG.md"
UNRELEASED = "## Unreleased"


@dataclass(frozen=True)
class Release:
    component: Component
    new: str
    part: str
    pins: tuple[Release, ...] = ()    # the bumped siblings it pins directly

    @property
    def line(self) -> str:
        """Its CHANGELOG line."""
        name, old = self.component.folder, self.component.version
        if not self.pins:
            return f"- {name} {self.new}: {self.part} release (was {old})."
        pinned = ", ".join(f"{r.component.folder} {r.new}" for r in self.pins)
        return f"- {name} {self.new}: patch release pinning {pinned} (was {old})."


def next_version(version: str, part: str) -> str:
    major, minor, patch = (int(n) for n in version.split("."))
    return {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0",
            "patch": f"{major}.{minor}.{patch + 1}"}[part]


def plan(repo: Repo, graph: BuildGraph, folder: str, part: str) -> list[Release]:
    """The release of `folder`, then a patch release of each dependent, in build order."""
    component = repo.components[folder]
    releases = {folder: Release(component, next_version(component.version, part), part)}
    for name in graph.dependents(folder):
        dependent = repo.components[name]
        pins = tuple(releases[s.folder] for s in repo.siblings_of(dependent) if s.folder in releases)
        releases[name] = Release(dependent, next_version(dependent.version, "patch"), "patch", pins)
    return list(releases.values())


def _with_version(text: str, path: Path, new: str) -> str:
    """`text` with the `version = "..."` line of its [project] table set to `new`."""
    header = re.search(r"(?m)^\[project\]\s*$", text)
    if header:
        end = re.compile(r"(?m)^\[").search(text, header.end())
        stop = end.start() if end else len(text)
        table, count = re.subn(r'(?m)^(version\s*=\s*)"[^"]*"',
                               lambda m: f'{m.group(1)}"{new}"', text[header.end():stop], count=1)
        if count:
            return text[:header.end()] + table + text[stop:]
    raise DevError(f"{path}: no `version = \"...\"` line in [project] to bump; edit it by hand")


def _name_pattern(dist: str) -> str:
    """A regex for a distribution name in any of its spellings (occo-util, occo_util, ...)."""
    return "[-_.]+".join(map(re.escape, re.split(r"[-_.]+", dist)))


def _with_pins(text: str, releases: list[Release]) -> str:
    for release in releases:
        text = re.sub(rf'(?i)(["\']{_name_pattern(release.component.dist)}\s*==\s*)'
                      rf'{re.escape(release.component.version)}(["\'])',
                      lambda m: f"{m.group(1)}{release.new}{m.group(2)}", text)
    return text


def _check_edit(path: Path, text: str, version: str, releases: list[Release]) -> None:
    """The edited text must parse to the meant version and pins."""
    project = tomllib.loads(text).get("project", {})
    wanted = {canonicalize_name(r.component.dist): f"=={r.new}" for r in releases}
    stale = []
    for line in project.get("dependencies", []):
        requirement = Requirement(line)
        expected = wanted.get(canonicalize_name(requirement.name))
        if expected and str(requirement.specifier) != expected:
            stale.append(line)
    if project.get("version") != version or stale:
        raise DevError(f"{path}: rewriting the version or the pins {stale} as text did not work; "
                       "edit the file by hand")


def changelog_text(text: str, releases: list[Release]) -> str:
    """`text` with the releases' lines at the top of its Unreleased section (made if missing)."""
    lines = "".join(release.line + "\n" for release in releases)
    if UNRELEASED in text.splitlines():
        head, _, rest = text.partition(UNRELEASED + "\n")
        return f"{head}{UNRELEASED}\n\n{lines}{rest.lstrip(chr(10))}"
    first = re.search(r"(?m)^## ", text)
    at = first.start() if first else len(text)
    before = text[:at].rstrip("\n") + "\n\n" if text[:at].strip() else "# Changelog\n\n"
    return f"{before}{UNRELEASED}\n\n{lines}\n{text[at:]}".rstrip("\n") + "\n"


def bump(repo: Repo, graph: BuildGraph, folder: str, part: str) -> tuple[list[Release], list[Path]]:
    """Apply the releases; return them and the files written."""
    releases = plan(repo, graph, folder, part)
    by_folder = {r.component.folder: r for r in releases}
    texts = {}
    for component in repo.components.values():
        path = component.path / "pyproject.toml"
        release = by_folder.get(component.folder)
        text = path.read_text()
        if release is not None:
            text = _with_version(text, path, release.new)
        text = _with_pins(text, releases)
        _check_edit(path, text, release.new if release else component.version, releases)
        texts[path] = text
    changelog = repo.root / CHANGELOG
    texts[changelog] = changelog_text(changelog.read_text() if changelog.is_file() else "", releases)
    written = [path for path, text in texts.items() if write_if_changed(path, text)]
    bumped = Repo.load(repo.root)
    check_sibling_pins(bumped)
    if (repo.root / LOCK_FILE).is_file():  # the requirements files name the sibling pins too
        lock = Lock.read(bumped)
        for component in bumped.components.values():
            written += write_component_requirements(bumped, build_graph(bumped), lock, component)
    return releases, written
