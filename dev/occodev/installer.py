"""`occo-dev bundle-installer`: dist/install-occopus.py, pinned to this checkout's occo-api.

The installer installs, by default, exactly what `package api` built: occo-api
and its siblings by the sha256 of their reproducible wheels, the third-party
closure by the lock's hashes. So it is generated after packaging api, which
is incremental and quick when the wheelhouse is current.
"""
from __future__ import annotations

from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .bundle import join
from .errors import DevError
from .fsutil import sha256_file
from .graph import BuildGraph, component_closure
from .lock import Lock, runtime_inputs
from .package import own_wheel_name, wheelhouse
from .repo import Component, Repo

API = "api"
SOURCE = Path("dev") / "occopus_installer"
OUTPUT = Path("dist") / "install-occopus.py"
# The installer itself runs on what occo-dev runs on; the environment it
# makes gets the Python the components ask for (PYTHON_MIN).
INSTALLER_PYTHON = (3, 10)


def oldest_python(components: list[Component]) -> tuple[int, int]:
    """The highest `>=` bound among the components' requires-python."""
    bounds = []
    for component in components:
        spec: SpecifierSet = component.requires_python
        for clause in spec:
            if clause.operator != ">=":
                raise DevError(f"{component.folder}/pyproject.toml: the installer understands "
                               f"only '>=' in requires-python, not '{clause}'")
            bounds.append(Version(clause.version).release[:2])
    if not bounds:
        raise DevError(f"{components[-1].folder}/pyproject.toml sets no requires-python; the "
                       "installer needs it to choose an interpreter")
    return max(bounds)


def requirements(repo: Repo, graph: BuildGraph, lock: Lock) -> tuple[str, ...]:
    """occo-api and its runtime closure as `name==version --hash=...` lines."""
    api = repo.components[API]
    siblings = [*component_closure(repo, graph, api), api]
    house = wheelhouse(api)
    lines = []
    for component in siblings:
        wheel = house / own_wheel_name(component)
        if not wheel.is_file():
            raise DevError(f"{wheel} is missing; run ./occo-dev package api")
        lines.append(f"{component.dist}=={component.version} --hash=sha256:{sha256_file(wheel)}")
    for pin in lock.closure(runtime_inputs(repo, graph, api)):
        lines.append(" ".join([pin.line, *(f"--hash={h}" for h in pin.hashes)]))
    return tuple(lines)


def bundle(repo: Repo, graph: BuildGraph, lock: Lock) -> Path:
    api = repo.components[API]
    pins = {"VERSION": api.version,
            "PYTHON_MIN": oldest_python([*component_closure(repo, graph, api), api]),
            "REQUIREMENTS": requirements(repo, graph, lock)}
    text = join(repo.root / SOURCE, pins, entry="main", minimum=INSTALLER_PYTHON,
                script=OUTPUT.name)
    target = repo.root / OUTPUT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(0o755)
    return target
