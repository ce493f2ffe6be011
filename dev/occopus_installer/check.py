"""--check: what is installed and whether it works, one finding a line.

A finding is (ok, words) with ok True, False (a problem) or None (a note).
"""
from .environment import ask_command, installed_version, pip_check
from .layout import Layout
from .links import bin_on_path, unlinked_commands
from .server import (CONFIG_FILE, USER, interpreter_problem, state_dir_finding, systemd_running,
                     unit_active, user_exists, verify_unit)
from .ui import Console


def findings(layout: Layout, console: Console) -> list[tuple[bool | None, str]]:
    """Everything checked; an empty list when nothing is installed."""
    version = installed_version(layout)
    if version is None:
        return []
    source = (layout.read_state() or {}).get("source", "an unknown source")
    found = [(True, f"occo-api {version} in {layout.venv}, from {source}"), pip_check(layout)]
    names = layout.commands()
    with console.working("asking each command for its version and install mode"):
        answers = [ask_command(layout, name, "--version") for name in names]
    failing = [words for ok, words in answers if not ok]
    if not names:
        found.append((False, "the environment has no occopus-* commands"))
    else:
        found.append((not failing, failing[0] if failing else answers[0][1]))
    unlinked = unlinked_commands(layout)
    again = "; run again with --force" if unlinked else ""
    found.append((not unlinked, f"{len(names) - len(unlinked)} of {len(names)} commands linked "
                                f"in {layout.bin}{again}"))
    if not bin_on_path(layout):
        found.append((None, f"{layout.bin} is not on PATH; add it to run the commands by name"))
    if layout.server:
        found += server_findings(layout)
    return found


def server_findings(layout: Layout) -> list[tuple[bool | None, str]]:
    found = [(user_exists(), f"system user {USER}"), state_dir_finding(), verify_unit()]
    problem = interpreter_problem(layout)
    found.append((problem is None, problem or f"{USER} may run the environment's commands"))
    if CONFIG_FILE.is_file():
        found.append(ask_command(layout, "occopus-validate", CONFIG_FILE))
    else:
        found.append((False, f"{CONFIG_FILE} is missing; run again with --server"))
    if systemd_running():
        found.append(unit_active())
    return found
