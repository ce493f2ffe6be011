"""`occo-dev doctor`: the Occopus environments on this machine and how each was installed.

An environment's occo-* distributions are `editable` (a checkout, installed by
reset-env) or `wheel` (from an index or a wheelhouse), read from their PEP 610
direct_url.json as `occopus-* --version` reads it. Each mode has its upgrade
path; an environment mixing both is an error, since its commands refuse to
run (docs/adr/0003-install-modes.md).
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.utils import canonicalize_name

from .graph import BuildGraph
from .repo import Repo
from .venvs import env_is_current, env_path

INSTALLER = "python3 install-occopus.py"


@dataclass(frozen=True)
class Environment:
    """One virtual environment and its occo-* distributions by install mode."""

    path: Path
    editable: dict[str, Path]   # distribution -> the folder it is installed from
    wheel: tuple[str, ...]
    api_version: str | None

    @classmethod
    def read(cls, venv: Path) -> Environment:
        editable: dict[str, Path] = {}
        wheel: list[str] = []
        api_version = None
        paths = [str(p) for p in sorted(venv.glob("lib/python3*/site-packages"))]
        for dist in metadata.distributions(path=paths):
            name = canonicalize_name(dist.metadata["Name"] or "")
            if not name.startswith("occo-") or name in editable or name in wheel:
                continue
            if name == "occo-api":
                api_version = dist.version
            direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
            if direct_url.get("dir_info", {}).get("editable"):
                editable[name] = Path(unquote(urlparse(direct_url["url"]).path))
            else:
                wheel.append(name)
        return cls(venv, editable, tuple(sorted(wheel)), api_version)

    @property
    def empty(self) -> bool:
        return not self.editable and not self.wheel

    @property
    def mode(self) -> str:
        if self.editable and self.wheel:
            return "mixed"
        return "editable" if self.editable else "wheel"

    def summary(self) -> str:
        if self.mode == "mixed":
            return (f"MIXED: editable {', '.join(sorted(self.editable))} and wheel "
                    f"{', '.join(self.wheel)}; its commands refuse to run")
        count = len(self.editable) + len(self.wheel)
        api = f", occo-api {self.api_version}" if self.api_version else ""
        if self.mode == "editable":
            checkout = next(iter(self.editable.values())).parent
            return f"editable, {count} occo-* distribution(s){api}, from the checkout {checkout}"
        return f"wheel, {count} occo-* distribution(s){api}"


@dataclass(frozen=True)
class Place:
    """Where an environment is, and what keeps it in its mode."""

    label: str
    venv: Path
    upgrade: str
    repair: str        # recreates it in its mode, for when it is mixed


def places(repo: Repo) -> list[Place]:
    """The component environments, env/occopus, and the installer's two places."""
    found = [Place(f"env/{folder}", env_path(repo, folder),
                   f"git pull && ./occo-dev reset-env {folder}", f"./occo-dev reset-env {folder}")
             for folder in sorted(repo.components)]
    found.append(Place("env/occopus", env_path(repo, "occopus"), "./occo-dev install",
                       "./occo-dev install"))
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    found.append(Place(str(data / "occopus" / "current"), data / "occopus" / "current",
                       f"{INSTALLER} --upgrade", f"{INSTALLER} --force"))
    found.append(Place("/opt/occopus/current", Path("/opt/occopus/current"),
                       f"{INSTALLER} --upgrade --server", f"{INSTALLER} --force --server"))
    return found


def _running() -> str:
    command = shutil.which("occopus-build")
    if command is None:
        return "running: no occopus-build on PATH"
    venv = Path(os.path.realpath(command)).parent.parent
    environment = Environment.read(venv)
    if environment.empty:
        return f"running: {command}, outside any environment with occo-* distributions"
    return f"running: {command} from {venv}: {environment.summary()}"


def report(repo: Repo, graph: BuildGraph) -> tuple[list[str], int]:
    """The lines to print, and how many environments mix the two modes."""
    lines = [_running()]
    mixed = 0
    for place in places(repo):
        environment = Environment.read(place.venv)
        if environment.empty:
            continue
        if environment.mode == "mixed":
            mixed += 1
            lines.append(f"{place.label}: {environment.summary()}; repair: {place.repair}")
            continue
        component = repo.components.get(place.label.removeprefix("env/"))
        stale = component is not None and not env_is_current(repo, graph, component)
        note = f" (stale: run {place.repair})" if stale else ""
        lines.append(f"{place.label}: {environment.summary()}{note}; upgrade: {place.upgrade}")
    if len(lines) == 1:
        lines.append("no Occopus environment here; ./occo-dev reset-env COMP makes one")
    return lines, mixed
