"""What each run does: install (the default), upgrade, rollback, uninstall, check.

Installing, reinstalling and upgrading all build a new release beside the
current one and check it (its requirements, each command, on a server the
configuration) before it becomes current; on a server the service is then
restarted and must answer, or the previous release comes back.
"""
import os
from pathlib import Path

from .check import findings, release_problems
from .environment import (create_venv, installed_version, newest_version, pip_install,
                          release_version)
from .layout import Layout
from .links import bin_on_path, link_commands, refuse_foreign, unlink_commands, unlinked_commands
from .proc import InstallError
from .pythons import find_python
from .releases import discard, new_release, point, prune, release_of, remove_all
from .request import Request
from .server import (ensure_config, ensure_user, redis_unit, remove_unit, require_root,
                     say_where_the_token_is, start_service, verify_unit, write_unit)
from .source import Source
from .ui import Console


def need_source(source: Source | None) -> Source:
    if source is None:
        raise InstallError("name where to install from: --index-url URL (or OCCOPUS_INDEX_URL), "
                           "or --wheelhouse DIR")
    return source


def install(layout: Layout, request: Request, console: Console) -> int:
    """Install `request.version` unless an installation is there; --force reinstalls the
    installed version (or the one asked for)."""
    with layout.locked():
        layout.adopt_legacy()
        installed = installed_version(layout)
        redis = prepare_server(layout)
        refuse_foreign(layout, request.force)
        explicit = request.version_given and request.version != installed
        if installed and not request.force and not explicit:
            settle(layout, request, redis, console)
            console.done(f"occopus {installed} is already installed in {layout.venv}; --force "
                         "reinstalls it, --upgrade moves to the newest release")
            return 0
        state = layout.read_state() or {}
        source = need_source(request.source or Source.from_state(state))
        if request.force and not request.version_given:
            version = installed or state.get("version") or request.version
        else:
            version = request.version
        release = build(layout, source, version, interpreter(layout, request), console)
        put_in_place(layout, release, new_state(layout, release, source, request), redis,
                     console)
        return installed_report(layout, console)


def upgrade(layout: Layout, request: Request, console: Console) -> int:
    """Move to the newest release the source has, or to --occopus-version."""
    with layout.locked():
        layout.adopt_legacy()
        installed = installed_version(layout)
        source = need_source(request.source or Source.from_state(layout.read_state() or {}))
        redis = prepare_server(layout)
        refuse_foreign(layout, request.force)
        wanted = request.version if request.version_given else None
        if wanted is None and installed is not None:
            wanted = newest_version(layout.venv, source, console)
        if installed is not None and wanted == installed:
            settle(layout, request, redis, console)
            why = "asked for" if request.version_given else f"the newest release in {source}"
            console.done(f"occopus {installed} is {why}; nothing to upgrade")
            return 0
        release = build(layout, source, wanted, interpreter(layout, request), console)
        put_in_place(layout, release, new_state(layout, release, source, request), redis,
                     console)
        if installed:
            console.done(f"upgraded occopus {installed} -> {installed_version(layout)}; "
                         f"--rollback returns to {installed}")
        return installed_report(layout, console)


def rollback(layout: Layout, console: Console) -> int:
    """Make the previous release current again, and the current one previous."""
    with layout.locked():
        redis = prepare_server(layout)
        current, previous = release_of(layout.venv), release_of(layout.previous)
        if current is None or previous is None:
            raise InstallError(f"no earlier release is kept in {layout.home} to roll back to; "
                               "--occopus-version VERSION installs a given one")
        problems = release_problems(layout, previous, console)
        if problems:
            raise InstallError(f"the previous release {previous} does not work, so it was not "
                               f"made current: {problems[0]}")
        state = {**(layout.read_state() or {}), "version": release_version(previous)}
        put_in_place(layout, previous, state, redis, console, discard_on_failure=False)
        console.done(f"rolled back occopus {release_version(current)} -> "
                     f"{release_version(previous)}; --rollback again returns to "
                     f"{release_version(current)}")
        return 0


def new_state(layout: Layout, release: Path, source: Source, request: Request) -> dict:
    """What install.json records: the release's version, its source, and whether a server's
    service runs under the supervisor (asked once, kept by later runs)."""
    supervise = request.supervise or bool((layout.read_state() or {}).get("supervise"))
    return {"version": release_version(release), "source": str(source), **source.as_state(),
            **({"supervise": True} if supervise else {})}


def interpreter(layout: Layout, request: Request) -> str:
    """--python, else the interpreter the installed release runs on, else the newest found."""
    running = next((venv / "bin" / "python" for venv in (layout.venv, layout.legacy_venv)
                    if (venv / "bin" / "python").exists()), None)
    explicit = request.python or (os.path.realpath(running) if running else None)
    return find_python(request.current_python, explicit)


def build(layout: Layout, source: Source, version: str | None, python: str,
          console: Console) -> Path:
    """A new release of `version` (the newest when None), checked; nothing else changes, and
    nothing is left behind if it fails."""
    release = new_release(layout, version or "newest")
    try:
        create_venv(release, python, console)
        pip_install(release, source, version, console)
        problems = release_problems(layout, release, console)
        if problems:
            raise InstallError(f"occo-api {release_version(release)} from {source} does not work, "
                               f"so the installation was left as it was: {problems[0]}")
    except BaseException:
        discard(release)
        raise
    return release


def put_in_place(layout: Layout, release: Path, state: dict, redis: str | None,
                 console: Console, discard_on_failure: bool = True) -> None:
    """Make a checked release current, keeping the one it replaces as previous; on a server
    restart the service, and if it does not answer, put everything back as it was."""
    before, kept = release_of(layout.venv), release_of(layout.previous)
    old_state = layout.read_state()
    point(layout.venv, release)
    if before is not None:
        point(layout.previous, before)
    try:
        link_commands(layout)
        layout.write_state(state)
        if layout.server:
            configure_server(layout, redis, console, restart=True)
    except BaseException as error:
        restore(layout, before, kept, old_state, console)
        if layout.server and before is not None:
            configure_server(layout, redis, console, restart=True)
        if discard_on_failure:
            discard(release)
        if layout.server and before is not None and isinstance(error, InstallError):
            raise InstallError(f"{error}; occo-api {release_version(before)} is current again "
                               "and its service answers") from None
        raise
    prune(layout)


def restore(layout: Layout, before: Path | None, kept: Path | None, old_state: dict | None,
            console: Console) -> None:
    """The links and the state file as they were before a release was put in place; with no
    release before, no installation (and on a server no unit)."""
    if before is None:
        layout.venv.unlink(missing_ok=True)
        unlink_commands(layout)
        if layout.server:
            remove_unit(console)
        layout.forget()
        return
    point(layout.venv, before)
    if kept is not None:
        point(layout.previous, kept)
    else:
        layout.previous.unlink(missing_ok=True)
    link_commands(layout)
    if old_state is not None:
        layout.write_state(old_state)


def installed_report(layout: Layout, console: Console) -> int:
    console.done(f"occopus {installed_version(layout)} is installed: {len(layout.commands())} "
                 f"commands in {layout.bin}")
    if not bin_on_path(layout):
        console.warn(f"{layout.bin} is not on PATH; add it to run the commands by name")
    return 0


def settle(layout: Layout, request: Request, redis: str | None, console: Console) -> None:
    """For a run that installs nothing: links that went missing, and the server's parts."""
    if release_of(layout.venv) is not None and unlinked_commands(layout):
        link_commands(layout)
        console.done(f"linked the commands again in {layout.bin}")
    state = layout.read_state() or {}
    if request.supervise and not state.get("supervise"):
        layout.write_state({**state, "supervise": True})
    if layout.server:
        configure_server(layout, redis, console, restart=request.restart)


def prepare_server(layout: Layout) -> str | None:
    """Before changing anything: root, and the Redis unit the service will require."""
    if not layout.server:
        return None
    require_root()
    return redis_unit()


def configure_server(layout: Layout, redis: str | None, console: Console, restart: bool) -> None:
    ensure_user(console)
    ensure_config(console)
    changed = write_unit(layout, redis, console)
    ok, words = verify_unit()
    if not ok:
        raise InstallError(words)
    supervised = bool((layout.read_state() or {}).get("supervise"))
    start_service(layout, redis, restart or changed, supervised, console)
    say_where_the_token_is(layout, console)


def uninstall(layout: Layout, console: Console) -> int:
    if layout.server:
        require_root()
    with layout.locked():
        if layout.server:
            remove_unit(console)
        names = unlink_commands(layout)
        found = remove_all(layout)
    if not found and not names:
        layout.forget()
        console.say(f"occopus is not installed in {layout.home}; nothing to remove")
        return 0
    layout.forget()
    console.done(f"removed {layout.home} and {len(names)} links from {layout.bin}")
    return 0


def check(layout: Layout, console: Console) -> int:
    found = findings(layout, console)
    if not found:
        console.failed(f"occopus is not installed in {layout.home}")
        return 1
    for ok, words in found:
        (console.done if ok else console.warn if ok is None else console.failed)(words)
    problems = sum(1 for ok, _ in found if ok is False)
    if problems:
        again = "python3 install-occopus.py --force" + (" --server" if layout.server else "")
        console.failed(f"{problems} problem(s) found; `{again}` reinstalls")
        return 1
    console.done("occopus works")
    return 0
