"""Virtual environments: env/<comp> for developing a component, env/occopus for the commands."""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import proc
from .errors import DevError
from .graph import BuildGraph, component_closure
from .lock import BUILD_INPUT, Lock
from .repo import Component, Repo

STAMP = ".occo-dev-env.sha256"
JOBS = 2        # environments made at once: pip is busy on one core, then waits on the disk


PYTHON_CANDIDATES = ("python3.14", "python3.13", "python3.12", "python3.11", "python3")


@functools.cache
def _python_version(python: str) -> str | None:
    try:
        return subprocess.run([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def components_python(repo: Repo) -> str:
    """An interpreter that every component's requires-python accepts.

    occo-dev itself may run on an older Python than the components need, so
    their environments look for one: $OCCO_PYTHON, occo-dev's own, then the
    newest python3.X on PATH.
    """
    wanted = [c.requires_python for c in repo.components.values()]
    candidates = [os.environ.get("OCCO_PYTHON"), sys.executable,
                  *(shutil.which(name) for name in PYTHON_CANDIDATES)]
    for python in filter(None, candidates):
        version = _python_version(python)
        if version and all(version in spec for spec in wanted):
            return python
    needed = " and ".join(sorted({str(s) for s in wanted if str(s)})) or "any version"
    raise DevError(f"no Python interpreter satisfies the components' requires-python ({needed}); "
                   "install one, or point OCCO_PYTHON at it")


def env_path(repo: Repo, name: str) -> Path:
    return repo.root / "env" / name


def env_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _env_digest(repo: Repo, graph: BuildGraph, component: Component) -> str:
    """What a component env is made from: its requirements and every editable's pyproject."""
    digest = hashlib.sha256(str(_python_version(components_python(repo))).encode())
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
    proc.run([components_python(repo), "-m", "venv", "--clear", venv], what=f"creating {venv}")
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
    # build environment per sibling. Byte-compiled here, once: where PYTHONDONTWRITEBYTECODE
    # is set (as on CI's machines), every command a test starts would compile its imports again.
    proc.run([python, "-m", "pip", "install", "--quiet", "--no-build-isolation",
              "-r", "requirements_test.txt"], cwd=component.path,
             what=f"installing {component.folder}/requirements_test.txt")
    (venv / STAMP).write_text(_env_digest(repo, graph, component) + "\n")
    return venv


def reset_envs(repo: Repo, graph: BuildGraph, lock: Lock, components: list[Component],
               jobs: int = JOBS) -> Iterator[tuple[Component, Path]]:
    """reset_env for each component, `jobs` at once; each (component, venv) as it is ready."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(reset_env, repo, graph, lock, component): component
                   for component in components}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BaseException:       # the first failure (or Ctrl-C) ends the run: start no more
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def install_commands(repo: Repo, index_url: str | None, wheelhouse: Path | None) -> Path:
    """Create env/occopus and install occo-api into it from one index or one wheelhouse only."""
    if wheelhouse is not None and not (wheelhouse.is_dir() and any(wheelhouse.glob("*.whl"))):
        raise DevError(f"wheelhouse {wheelhouse} has no wheels; run ./occo-dev package api first")
    venv = env_path(repo, "occopus")
    proc.run([components_python(repo), "-m", "venv", "--clear", venv], what=f"creating {venv}")
    source = (["--no-index", "--find-links", str(wheelhouse)] if wheelhouse is not None
              else ["--index-url", index_url.rstrip("/").removesuffix("/simple") + "/simple/"])
    proc.run([env_python(venv), "-m", "pip", "install", "--quiet", *source, "occo-api"],
             env=proc.isolated_pip_env(), what="installing occo-api")
    return venv

