"""A release's environment: creating it, filling it, asking what it holds and whether it works.

A release is built in a folder of its own beside the current one, so a failed
install or update leaves the installation as it was.
"""
import json
from pathlib import Path

from .layout import Layout
from .pins import REQUIREMENTS, VERSION
from .proc import InstallError, run
from .source import Source, pip_env
from .ui import Console

API = "occo-api"
# every occopus-* console script's function, loaded in one interpreter: ten commands' worth
# of imports for the price of one start
COMMANDS_PROBE = ("import importlib.metadata as m, sys\n"
                  "bad = []\n"
                  "for ep in m.entry_points(group='console_scripts'):\n"
                  "    if ep.name.startswith('occopus-'):\n"
                  "        try: ep.load()\n"
                  "        except Exception as error:\n"
                  "            bad.append(f'{ep.name}: {type(error).__name__}: {error}')\n"
                  "sys.exit('\\n'.join(bad) or None)")
VERSION_PROBE = ("import importlib.metadata as m\n"
                 "try: print(m.version('occo-api'))\n"
                 "except m.PackageNotFoundError: pass")


def release_version(venv: Path) -> str | None:
    """The occo-api version in an environment, or None when there is none that runs."""
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    try:
        out = run([python, "-c", VERSION_PROBE], "reading the installed version")
        return out.strip() or None
    except (InstallError, OSError):
        return None


def installed_version(layout: Layout) -> str | None:
    """The current release's version (or a pre-release installation's), or None."""
    return release_version(layout.venv) or release_version(layout.legacy_venv)


def create_venv(venv: Path, python: str, console: Console) -> None:
    with console.working(f"creating the environment {venv}"):
        run([python, "-m", "venv", venv], "creating the environment")


def pip_install(venv: Path, source: Source, version: str | None, console: Console) -> None:
    """Install occo-api `version` (the newest when None): the bundled version with every
    requirement hash-checked, any other by the pins in the wheels' own metadata."""
    command = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", *source.pip_args()]
    if version == VERSION:
        requirements = venv / "requirements.txt"
        requirements.write_text("\n".join(REQUIREMENTS) + "\n")
        try:
            run_pip([*command, "--require-hashes", "-r", requirements],
                    f"installing {API} {version} and its pinned requirements from {source}",
                    console)
        finally:
            requirements.unlink()
    else:
        wanted = f"{API}=={version}" if version else API
        run_pip([*command, wanted], f"installing {API} {version or '(newest)'} from {source}",
                console)


def newest_version(venv: Path, source: Source, console: Console) -> str:
    """The newest occo-api release the source holds, as pip would choose it."""
    report = run_pip([venv / "bin" / "python", "-m", "pip", "install", "--dry-run", "--quiet",
                      "--no-deps", "--ignore-installed", "--report", "-", *source.pip_args(), API],
                     f"asking {source} for its newest {API}", console)
    try:
        return next(item["metadata"]["version"] for item in json.loads(report)["install"]
                    if item["metadata"]["name"].lower() == API)
    except (ValueError, KeyError, StopIteration):
        raise InstallError(f"pip named no {API} release in {source}") from None


def run_pip(command: list, label: str, console: Console) -> str:
    with console.working(label):
        return run(command, "pip install", env=pip_env())


def pip_check(venv: Path) -> tuple[bool, str]:
    """pip's own check that every installed requirement is satisfied: (ok, its words)."""
    try:
        words = run([venv / "bin" / "python", "-m", "pip", "check"], "pip check",
                    env=pip_env()).strip()
        return True, f"pip check: {words}"
    except InstallError as error:
        return False, str(error)


def load_commands(venv: Path) -> tuple[bool, str]:
    """Whether every command's code imports: (ok, what failed)."""
    try:
        run([venv / "bin" / "python", "-I", "-c", COMMANDS_PROBE],
            "loading the occopus-* commands")
        return True, "every occopus-* command loads"
    except (InstallError, OSError) as error:
        return False, str(error)


def ask_command(venv: Path, name: str, *args: object) -> tuple[bool, str]:
    """Run one of the environment's commands: (ok, what it said)."""
    what = " ".join([name, *map(str, args)])
    try:
        return True, run([venv / "bin" / name, *args], what).strip()
    except (InstallError, OSError) as error:
        return False, str(error)
