"""The virtual environment of the commands: creating it, filling it, asking what it holds.

A new environment is built where the old one was, and the old one comes back
if anything fails, so a failed reinstall leaves a working installation.
"""
import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .layout import Layout
from .pins import REQUIREMENTS, VERSION
from .proc import InstallError, run
from .source import Source, pip_env
from .ui import Console

API = "occo-api"
VERSION_PROBE = ("import importlib.metadata as m\n"
                 "try: print(m.version('occo-api'))\n"
                 "except m.PackageNotFoundError: pass")


def installed_version(layout: Layout) -> str | None:
    """The occo-api version in the environment, or None when there is none that runs."""
    if not layout.python.exists():
        return None
    try:
        out = run([layout.python, "-c", VERSION_PROBE], "reading the installed version")
        return out.strip() or None
    except (InstallError, OSError):
        return None


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[None]:
    """Build a new `path`; if that fails, the previous one is put back."""
    backup = path.with_name(path.name + ".previous")
    shutil.rmtree(backup, ignore_errors=True)
    if path.exists():
        path.rename(backup)
    try:
        yield
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        if backup.exists():
            backup.rename(path)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def create_venv(layout: Layout, python: str, console: Console) -> None:
    layout.home.mkdir(parents=True, exist_ok=True)
    with console.working(f"creating the environment {layout.venv}"):
        run([python, "-m", "venv", layout.venv], "creating the environment")


def pip_install(layout: Layout, source: Source, version: str | None, upgrade: bool,
                console: Console) -> None:
    """Install occo-api: the bundled, hash-checked set unless another version or --upgrade is asked."""
    command = [layout.python, "-m", "pip", "install", "--quiet", *source.pip_args()]
    if upgrade:
        wanted = f"{API}=={version}" if version else API
        run_pip([*command, "--upgrade", wanted], f"upgrading {API} from {source}", console)
    elif version == VERSION:
        with tempfile.TemporaryDirectory() as scratch:
            requirements = Path(scratch) / "requirements.txt"
            requirements.write_text("\n".join(REQUIREMENTS) + "\n")
            run_pip([*command, "--require-hashes", "-r", requirements],
                 f"installing {API} {version} and its pinned requirements from {source}", console)
    else:
        run_pip([*command, f"{API}=={version}"], f"installing {API} {version} from {source}", console)


def run_pip(command: list, label: str, console: Console) -> None:
    with console.working(label):
        run(command, "pip install", env=pip_env())


def pip_check(layout: Layout) -> tuple[bool, str]:
    """pip's own check that every installed requirement is satisfied: (ok, its words)."""
    try:
        words = run([layout.python, "-m", "pip", "check"], "pip check", env=pip_env()).strip()
        return True, f"pip check: {words}"
    except InstallError as error:
        return False, str(error)


def ask_command(layout: Layout, name: str, *args: object) -> tuple[bool, str]:
    """Run one of the installed commands: (ok, what it said)."""
    what = " ".join([name, *map(str, args)])
    try:
        return True, run([layout.command(name), *args], what).strip()
    except (InstallError, OSError) as error:
        return False, str(error)
