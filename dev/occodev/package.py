"""Building each component into a self-contained wheelhouse.

`<comp>/wheelhouse/` ends up holding the component's wheel, its siblings'
wheels, the locked third-party wheels they need, and the build backend's
wheels, so `pip install --no-index --find-links <comp>/wheelhouse` works
offline.

- Reproducible: SOURCE_DATE_EPOCH is the time of the last commit that touched
  the component folder, so two clean builds of one commit give identical bytes,
  and a commit elsewhere does not change this component's wheel.
- Incremental: a stamp records a content hash of the component's sources, its
  siblings' stamps, its share of the lock and the epoch; when it matches and
  the wheelhouse is intact, nothing is rebuilt.
- One topological level at a time, the components of a level in parallel.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from . import proc
from .errors import DevError
from .fsutil import link_or_copy, sha256_file
from .graph import BuildGraph, check_sibling_pins, component_closure
from .lock import BUILD_INPUT, Lock, Pin, runtime_inputs
from .repo import Component, Repo

WHEELHOUSE = "wheelhouse"
STAMP = ".occo-build.json"
STAMP_FORMAT = 1
MIN_ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip file can hold
SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class BuildResult:
    component: str
    built: bool
    seconds: float


def wheelhouse(component: Component) -> Path:
    return component.path / WHEELHOUSE


def own_wheel_name(component: Component) -> str:
    return f"{component.dist.replace('-', '_')}-{component.version}-py3-none-any.whl"


def source_date_epoch(repo: Repo, component: Component) -> int:
    """Commit time of the last commit touching the component; 1980 outside git."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct", "--", component.folder],
                             cwd=repo.root, capture_output=True, text=True, check=True).stdout
        return max(int(out.strip()), MIN_ZIP_EPOCH) if out.strip() else MIN_ZIP_EPOCH
    except (OSError, subprocess.CalledProcessError, ValueError):
        return MIN_ZIP_EPOCH


def source_files(component: Component) -> list[Path]:
    """The files that make up the component's wheel."""
    files = [component.path / "pyproject.toml"]
    readme = component.path / "README.md"
    if readme.is_file():
        files.append(readme)
    for path in sorted((component.path / "src").rglob("*")):
        if path.is_file() and not SKIPPED_PARTS & set(path.parts) and path.suffix != ".pyc":
            files.append(path)
    return files


def content_hash(component: Component, epoch: int, sibling_hashes: list[str],
                 third_party: list[Pin]) -> str:
    digest = hashlib.sha256(f"format {STAMP_FORMAT}\nepoch {epoch}\n".encode())
    for path in source_files(component):
        digest.update(path.relative_to(component.path).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for value in sibling_hashes:
        digest.update(f"sibling {value}\n".encode())
    for pin in third_party:
        digest.update(f"{pin.line} {' '.join(pin.hashes)}\n".encode())
    return digest.hexdigest()


def read_stamp(component: Component) -> dict | None:
    try:
        return json.loads((wheelhouse(component) / STAMP).read_text())
    except (OSError, ValueError):
        return None


def stamp_is_current(component: Component, wanted_hash: str) -> bool:
    """True when the stamp matches and every wheel it lists is there, unchanged."""
    stamp = read_stamp(component)
    if not stamp or stamp.get("hash") != wanted_hash:
        return False
    files = stamp.get("files", {})
    present = {p.name for p in wheelhouse(component).glob("*.whl")}
    if present != set(files):
        return False
    return all(sha256_file(wheelhouse(component) / name) == sha
               for name, sha in files.items())


class ThirdPartyWheels:
    """The locked third-party wheels, fetched once into env/wheels and shared."""

    def __init__(self, repo: Repo, lock: Lock) -> None:
        self.cache = repo.root / "env" / "wheels"
        self.lock = lock

    def _index(self) -> dict[tuple[str, str], Path]:
        found = {}
        for path in self.cache.glob("*.whl"):
            name, version, _, _ = parse_wheel_filename(path.name)
            found[(canonicalize_name(name), str(version))] = path
        return found

    def ensure(self, pins: list[Pin]) -> dict[str, Path]:
        """Make sure a wheel of every pin is in the cache; map pin name to it."""
        self.cache.mkdir(parents=True, exist_ok=True)
        missing = [p for p in pins if (canonicalize_name(p.name), p.version) not in self._index()]
        if missing:
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as reqs:
                reqs.write("".join(pin.hashed_block() for pin in missing))
            try:
                # `pip wheel` takes a wheel as it is and builds one from an sdist;
                # --require-hashes checks every download against the lock.
                proc.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                          "--require-hashes", "-r", reqs.name, "-w", self.cache],
                         what="fetching locked third-party wheels")
            finally:
                os.unlink(reqs.name)
        index = self._index()
        result = {}
        for pin in pins:
            path = index.get((canonicalize_name(pin.name), pin.version))
            if path is None:
                raise DevError(f"no wheel for {pin.line} in {self.cache} after fetching it")
            result[canonicalize_name(pin.name)] = path
        return result


class Packager:
    """Builds wheelhouses for a set of components and their siblings."""

    def __init__(self, repo: Repo, graph: BuildGraph, lock: Lock,
                 report: Callable[[str], None] = print, jobs: int | None = None) -> None:
        self.repo, self.graph, self.lock = repo, graph, lock
        self.report = report
        self.jobs = jobs or os.cpu_count() or 1
        self.hashes: dict[str, str] = {}
        self.wheel_paths: dict[str, Path] = {}
        self.wheels = ThirdPartyWheels(repo, lock)

    def third_party(self, component: Component) -> list[Pin]:
        pins = self.lock.closure(runtime_inputs(self.repo, self.graph, component) + [BUILD_INPUT])
        return sorted(pins, key=lambda p: canonicalize_name(p.name))

    def run(self, components: list[Component], force: bool = False) -> list[BuildResult]:
        check_sibling_pins(self.repo)
        wanted = {c.folder for c in components}
        for component in components:
            wanted.update(self.graph.closure(component.folder))
        pins = {p.line: p for c in wanted for p in self.third_party(self.repo.components[c])}
        self.wheel_paths = self.wheels.ensure(list(pins.values()))
        results = []
        for level in self.graph.levels:
            todo = [self.repo.components[name] for name in level if name in wanted]
            if not todo:
                continue
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(todo))) as pool:
                results += list(pool.map(lambda c: self._package_one(c, force), todo))
        return results

    def _package_one(self, component: Component, force: bool) -> BuildResult:
        started = time.monotonic()
        siblings = component_closure(self.repo, self.graph, component)
        epoch = source_date_epoch(self.repo, component)
        third_party = self.third_party(component)
        wanted_hash = content_hash(component, epoch, [self.hashes[s.folder] for s in siblings],
                                   third_party)
        self.hashes[component.folder] = wanted_hash
        if not force and stamp_is_current(component, wanted_hash):
            self.report(f"{component.folder}: up to date")
            return BuildResult(component.folder, False, time.monotonic() - started)
        target = wheelhouse(component)
        if target.exists():
            shutil.rmtree(target)
        target.mkdir()
        self._build_wheel(component, epoch, target)
        for sibling in siblings:
            link_or_copy(wheelhouse(sibling) / own_wheel_name(sibling),
                         target / own_wheel_name(sibling))
        for pin in third_party:
            path = self.wheel_paths[canonicalize_name(pin.name)]
            link_or_copy(path, target / path.name)
        files = {p.name: sha256_file(p) for p in sorted(target.glob("*.whl"))}
        (target / STAMP).write_text(json.dumps({"hash": wanted_hash, "epoch": epoch,
                                                "files": files}, indent=1, sort_keys=True))
        seconds = time.monotonic() - started
        self.report(f"{component.folder}: built {own_wheel_name(component)} "
                    f"and {len(files) - 1} dependencies in {seconds:.1f}s")
        return BuildResult(component.folder, True, seconds)

    def _build_wheel(self, component: Component, epoch: int, target: Path) -> None:
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
        # The backend runs from env/dev without build isolation: no throwaway
        # environment per build, and no network.
        proc.run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
                  "--skip-dependency-check", "--outdir", target, component.path],
                 env=env, what=f"building the {component.folder} wheel")
        built = target / own_wheel_name(component)
        if not built.is_file():
            raise DevError(f"building {component.folder} gave no {built.name}")
