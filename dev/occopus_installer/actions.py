"""What each run does: install (the default), upgrade, uninstall, check."""
import shutil

from .check import findings
from .environment import create_venv, installed_version, pip_install, replacing
from .layout import Layout
from .links import (bin_on_path, link_commands, refuse_foreign, unlink_commands,
                    unlinked_commands)
from .proc import InstallError
from .pythons import find_python
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
    """Install `request.version` unless an installation is there; --force reinstalls."""
    installed = installed_version(layout)
    redis = prepare_server(layout)
    explicit = request.version_given and request.version != installed
    refuse_foreign(layout, request.force)
    if installed and not request.force and not explicit:
        if unlinked_commands(layout):
            link_commands(layout)
            console.done(f"linked the commands again in {layout.bin}")
        if layout.server:
            configure_server(layout, redis, console)
        console.done(f"occopus {installed} is already installed in {layout.venv}; --force "
                     "reinstalls it, --upgrade moves to the newest release")
        return 0
    source = need_source(request.source)
    python = find_python(request.current_python, request.python)
    with replacing(layout.venv):
        create_venv(layout, python, console)
        pip_install(layout, source, request.version, False, console)
    return finish(layout, source, console, redis)


def upgrade(layout: Layout, request: Request, console: Console) -> int:
    """Move to the newest release the source has, or to --occopus-version."""
    installed = installed_version(layout)
    state = layout.read_state() or {}
    source = need_source(request.source or Source.from_state(state))
    redis = prepare_server(layout)
    refuse_foreign(layout, request.force)
    wanted = request.version if request.version_given else None
    if installed is None:
        python = find_python(request.current_python, request.python)
        with replacing(layout.venv):
            create_venv(layout, python, console)
            pip_install(layout, source, wanted, True, console)
    else:
        pip_install(layout, source, wanted, True, console)
    now = installed_version(layout)
    if installed and now == installed:
        console.done(f"occopus {now} is the newest release in {source}; nothing to upgrade")
    elif installed:
        console.done(f"upgraded occopus {installed} -> {now}")
    return finish(layout, source, console, redis)


def finish(layout: Layout, source: Source, console: Console, redis: str | None) -> int:
    """Link the commands, record the installation, set up the server parts."""
    names = link_commands(layout)
    version = installed_version(layout)
    layout.write_state({"version": version, "source": str(source), **source.as_state()})
    if layout.server:
        configure_server(layout, redis, console)
    console.done(f"occopus {version} is installed: {len(names)} commands in {layout.bin}")
    if not bin_on_path(layout):
        console.warn(f"{layout.bin} is not on PATH; add it to run the commands by name")
    return 0


def prepare_server(layout: Layout) -> str | None:
    """Before changing anything: root, and the Redis unit the service will require."""
    if not layout.server:
        return None
    require_root()
    return redis_unit()


def configure_server(layout: Layout, redis: str | None, console: Console) -> None:
    ensure_user(console)
    ensure_config(console)
    write_unit(layout, redis, console)
    ok, words = verify_unit()
    if not ok:
        raise InstallError(words)
    start_service(console)
    say_where_the_token_is(layout, console)


def uninstall(layout: Layout, console: Console) -> int:
    if layout.server:
        require_root()
        remove_unit(console)
    names = unlink_commands(layout)
    if not layout.venv.exists() and not names:
        console.say(f"occopus is not installed in {layout.venv}; nothing to remove")
        return 0
    shutil.rmtree(layout.venv, ignore_errors=True)
    layout.forget()
    console.done(f"removed {layout.venv} and {len(names)} links from {layout.bin}")
    return 0


def check(layout: Layout, console: Console) -> int:
    found = findings(layout, console)
    if not found:
        console.failed(f"occopus is not installed in {layout.venv}")
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
