"""--check, and the check a new release passes before it becomes current.

A finding is (ok, words) with ok True, False (a problem) or None (a note).
"""
from pathlib import Path

from .environment import (ask_command, installed_version, load_commands, pip_check,
                          release_version)
from .layout import Layout
from .links import bin_on_path, unlinked_commands
from .releases import release_of
from .server import (CONFIG_FILE, USER, interpreter_problem, service_problem, state_dir_finding,
                     systemd_running, unit_active, user_exists, verify_unit)
from .supervisor import SUPERVISOR_FILE, supervisor_pid
from .ui import Console

Finding = tuple[bool | None, str]
ANSWER_TIMEOUT = 10.0       # seconds --check gives a running service to answer


def findings(layout: Layout, console: Console) -> list[Finding]:
    """Everything checked; an empty list when nothing is installed."""
    version = installed_version(layout)
    if version is None:
        return []
    if release_of(layout.venv) is None:
        return [(False, f"occo-api {version} is installed in {layout.legacy_venv}, the layout of "
                        "installers before releases; --force reinstalls it as a release")]
    source = (layout.read_state() or {}).get("source", "an unknown source")
    found: list[Finding] = [(True, f"occo-api {version} in {layout.venv}, from {source}")]
    found += release_findings(layout, layout.venv, console)
    names = layout.commands()
    unlinked = unlinked_commands(layout)
    again = "; run again with --force" if unlinked else ""
    found.append((not unlinked, f"{len(names) - len(unlinked)} of {len(names)} commands linked "
                                f"in {layout.bin}{again}"))
    if not bin_on_path(layout):
        found.append((None, f"{layout.bin} is not on PATH; add it to run the commands by name"))
    previous = release_of(layout.previous)
    if previous is not None:
        found.append((None, f"occo-api {release_version(previous)} is kept for --rollback"))
    if layout.server:
        found += server_findings(layout)
    return found


def release_findings(layout: Layout, venv: Path, console: Console) -> list[Finding]:
    """What makes one release work: its requirements, each command, and on a server that the
    service user may run it and it accepts the configuration."""
    found = [pip_check(venv)]
    names = sorted(path.name for path in (venv / "bin").glob("occopus-*"))
    if not names:
        found.append((False, "the environment has no occopus-* commands"))
    else:
        with console.working("loading every command, and asking one for its version"):
            loaded = load_commands(venv)
            found.append(loaded if not loaded[0] else ask_command(venv, names[0], "--version"))
    if layout.server:
        problem = interpreter_problem(venv)
        found.append((problem is None, problem or f"{USER} may run the environment's commands"))
        if CONFIG_FILE.is_file():
            found.append(ask_command(venv, "occopus-validate", CONFIG_FILE))
    return found


def release_problems(layout: Layout, venv: Path, console: Console) -> list[str]:
    return [words for ok, words in release_findings(layout, venv, console) if ok is False]


def server_findings(layout: Layout) -> list[Finding]:
    found = [(user_exists(), f"system user {USER}"), state_dir_finding(), verify_unit()]
    if not CONFIG_FILE.is_file():
        found.append((False, f"{CONFIG_FILE} is missing; run again with --server"))
    supervised = (layout.read_state() or {}).get("supervise") and not systemd_running()
    if systemd_running():
        found.append(unit_active())
    elif supervised:
        running = supervisor_pid() is not None
        found.append((running, f"{SUPERVISOR_FILE} runs the REST service" if running else
                      f"{SUPERVISOR_FILE} is not running; run the installer again with --server"))
    if systemd_running() or supervised:
        problem = service_problem(layout, ANSWER_TIMEOUT)
        found.append((problem is None, problem or "the REST service answers"))
    return found
