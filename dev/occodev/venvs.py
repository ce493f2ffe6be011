"""Virtual environments: env/<comp> for developing a component, env/occopus for the commands."""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

from . import proc
from .errors import DevError
from .graph import BuildGraph, component_closure
from .lock import BUILD_INPUT, Lock
from .repo import Component, Repo

STAMP = ".occo-dev-env.sha256"


def env_path(repo: Repo, name: str) -> Path:
    return repo.root / "env" / name


def env_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _env_digest(repo: Repo, graph: BuildGraph, component: Component) -> str:
    """What a component env is made from: its requirements and every editable's pyproject."""
    digest = hashlib.sha256(sys.version.encode())
    requirements = component.path / "requirements_test.txt"
    if not requirements.is_file():
        raise DevError(f"{component.folder}/requirements_test.txt is missing; run ./occo-dev lock")
    digest.update(requirements.read_bytes())
    for member in [*component_closure(repo, graph, component), component]:
        digest.update((member.path / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def env_is_current(repo: Repo, graph: BuildGraph, component: Component) -> bool:
    venv = env_path(repo, component.folder)
    stamp = venv / STAMP
    return (env_python(venv).exists() and stamp.is_file()
            and stamp.read_text().strip() == _env_digest(repo, graph, component))


def reset_env(repo: Repo, graph: BuildGraph, lock: Lock, component: Component) -> Path:
    """Recreate env/<comp>: build backend from the lock, then requirements_test.txt."""
    venv = env_path(repo, component.folder)
    proc.run([sys.executable, "-m", "venv", "--clear", venv], what=f"creating {venv}")
    python = env_python(venv)
    backend = "".join(pin.hashed_block() for pin in lock.closure([BUILD_INPUT]))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as reqs:
        reqs.write(backend)
    try:
        proc.run([python, "-m", "pip", "install", "--quiet", "--require-hashes", "-r", reqs.name],
                 what=f"installing the build backend into {venv}")
    finally:
        os.unlink(reqs.name)
    # The editables are built by the backend just installed, without a throwaway
    # build environment per sibling.
    proc.run([python, "-m", "pip", "install", "--quiet", "--no-build-isolation",
              "-r", "requirements_test.txt"], cwd=component.path,
             what=f"installing {component.folder}/requirements_test.txt")
    (venv / STAMP).write_text(_env_digest(repo, graph, component) + "\n")
    return venv


def install_commands(repo: Repo, index_url: str | None, wheelhouse: Path | None) -> Path:
    """Create env/occopus and install occo-api into it from one index or one wheelhouse only."""
    if wheelhouse is not None and not (wheelhouse.is_dir() and any(wheelhouse.glob("*.whl"))):
        raise DevError(f"wheelhouse {wheelhouse} has no wheels; run ./occo-dev package api first")
    venv = env_path(repo, "occopus")
    proc.run([sys.executable, "-m", "venv", "--clear", venv], what=f"creating {venv}")
    source = (["--no-index", "--find-links", str(wheelhouse)] if wheelhouse is not None
              else ["--index-url", index_url.rstrip("/").removesuffix("/simple") + "/simple/"])
    proc.run([env_python(venv), "-m", "pip", "install", "--quiet", *source, "occo-api"],
             env=proc.isolated_pip_env(), what="installing occo-api")
    return venv

