"""--server: the `occopus` system user, /etc/occopus, and a systemd unit for the REST service.

The service keeps what it writes in /var/lib/occopus (0700, the user's home,
never created by useradd): its token file, named by the config, and anything
it puts under HOME, which the unit sets there. The folder is made here, not
left to the unit's StateDirectory=, so the service also works when it is run
by hand or by another supervisor; the unit keeps the same owner and mode.
ProtectHome=true hides every home folder from the service, so the
environment's Python must live outside them and be runnable by `occopus`.

The unit requires the distribution's Redis unit, so the service starts after
Redis and stops with it. The unit file is checked with `systemd-analyze
verify` where that exists; it is enabled and started only where systemd runs
(a container or a build machine without it gets the files, not the service).
Configuration that is already there is never overwritten.
"""
import grp
import json
import os
import pwd
import shutil
import stat
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from .layout import Layout
from .proc import InstallError, run
from .supervisor import (LOG_DIR, SUPERVISOR_FILE, service_pid, stop_supervisor, supervise,
                         supervisor_text)
from .ui import Console

USER = "occopus"
CONFIG_DIR = Path("/etc/occopus")
CONFIG_FILE = CONFIG_DIR / "occopus_config.yaml"
AUTH_FILE = CONFIG_DIR / "auth_data.yaml"
STATE_DIR = Path("/var/lib") / USER
TOKEN_PATH = STATE_DIR / "rest-token"
HIDDEN_HOMES = (Path("/home"), Path("/root"), Path("/run/user"))   # ProtectHome=true
UNIT_NAME = "occopus-rest-service.service"
UNIT_FILE = Path("/etc/systemd/system") / UNIT_NAME
UNIT_FOLDERS = (Path("/etc/systemd/system"), Path("/lib/systemd/system"),
                Path("/usr/lib/systemd/system"))
REDIS_UNITS = ("redis-server.service", "redis.service")

CONFIG_TEXT = """\
# Occopus configuration, written once by install-occopus.py --server and then
# yours to edit; check it with: occopus-validate /etc/occopus/occopus_config.yaml
# Cloud credentials go in /etc/occopus/auth_data.yaml (mode 0640, group occopus).
store:
  backend: redis
  url: redis://127.0.0.1:6379/0
rest:
  host: 127.0.0.1
  port: 5000
  token_file: {token}
"""

UNIT_TEXT = """\
# Written by install-occopus.py --server; run it again instead of editing this
# file, or add overrides with: systemctl edit {unit}
[Unit]
Description=Occopus REST service
Requires={redis}
After=network.target {redis}

[Service]
User={user}
Group={user}
WorkingDirectory={config_dir}
Environment=HOME={state_dir}
ExecStart={venv}/bin/occopus-rest-service --cfg {config_file}
Restart=on-failure
StateDirectory={user}
StateDirectoryMode=0700
NoNewPrivileges=true
ProtectSystem=full
ProtectHome=true
PrivateTmp=true

[Install]
WantedBy=multi-user.target
"""


def require_root() -> None:
    if os.geteuid() != 0:
        raise InstallError("--server needs root: run it with sudo")


def redis_unit() -> str:
    """The name of the distribution's Redis unit; Redis must be installed first."""
    for name in REDIS_UNITS:
        if any((folder / name).exists() for folder in UNIT_FOLDERS):
            return name
    raise InstallError("the REST service needs Redis, and no Redis unit was found; install it "
                       "(Debian, Ubuntu: apt-get install redis-server) and run again")


def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir()


def ensure_user(console: Console) -> None:
    """The `occopus` user, and its home: the service's state folder."""
    if not user_exists():
        if shutil.which("useradd") is None:
            raise InstallError(f"useradd is not available to create the {USER} user; create it "
                               "by hand")
        run(["useradd", "--system", "--user-group", "--home-dir", STATE_DIR,
             "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Occopus", USER],
            f"creating the {USER} user")
        console.done(f"created the system user {USER}")
    ensure_state_dir(console)


def ensure_state_dir(console: Console) -> None:
    """/var/lib/occopus, 0700 and the user's: made if missing, put right if it is not so."""
    account = pwd.getpwnam(USER)
    try:
        STATE_DIR.mkdir(mode=0o700)
        made = True
    except FileExistsError:
        made = False
    info = STATE_DIR.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise InstallError(f"{STATE_DIR} is not a folder; move it away and run again")
    owned = (info.st_uid, info.st_gid) == (account.pw_uid, account.pw_gid)
    private = stat.S_IMODE(info.st_mode) == 0o700
    if not owned:
        os.chown(STATE_DIR, account.pw_uid, account.pw_gid, follow_symlinks=False)
    if not private:
        STATE_DIR.chmod(0o700)       # mkdir's mode is cut by the umask
    if made:
        console.done(f"made {STATE_DIR}, the service's state folder (mode 0700, owner {USER})")
    elif not (owned and private):
        console.done(f"gave {STATE_DIR} back to {USER} with mode 0700")


def ensure_config(console: Console) -> None:
    """/etc/occopus readable by the service's group; the config file only if there is none;
    cloud credentials put there (by hand or by deploy) readable by that group alone."""
    group = grp.getgrnam(USER).gr_gid
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    os.chown(CONFIG_DIR, 0, group)
    CONFIG_DIR.chmod(0o750)
    if AUTH_FILE.is_file() and not AUTH_FILE.is_symlink():
        os.chown(AUTH_FILE, 0, group)
        AUTH_FILE.chmod(0o640)
    if CONFIG_FILE.exists():
        return
    CONFIG_FILE.write_text(config_text())
    os.chown(CONFIG_FILE, 0, group)
    CONFIG_FILE.chmod(0o640)
    console.done(f"wrote {CONFIG_FILE}")


def state_dir_finding() -> tuple[bool, str]:
    """(ok, words): whether the state folder is there, 0700 and the user's."""
    try:
        info = STATE_DIR.lstat()
        owner = pwd.getpwnam(USER).pw_uid
    except (OSError, KeyError):
        return False, f"{STATE_DIR} is missing; run again with --server"
    if stat.S_ISDIR(info.st_mode) and info.st_uid == owner and stat.S_IMODE(info.st_mode) == 0o700:
        return True, f"{STATE_DIR}, the service's state folder: mode 0700, owner {USER}"
    return False, f"{STATE_DIR} is not a 0700 folder of {USER}; run again with --server"


def config_text() -> str:
    return CONFIG_TEXT.format(token=TOKEN_PATH)


def unit_text(layout: Layout, redis: str) -> str:
    return UNIT_TEXT.format(unit=UNIT_NAME, redis=redis, user=USER, config_dir=CONFIG_DIR,
                            state_dir=STATE_DIR, venv=layout.venv, config_file=CONFIG_FILE)


def write_unit(layout: Layout, redis: str, console: Console) -> bool:
    """The unit file; whether it changed. Refused while its user could not run the
    environment's Python."""
    problem = interpreter_problem(layout.venv)
    if problem:
        raise InstallError(problem)
    text = unit_text(layout, redis)
    if UNIT_FILE.is_file() and UNIT_FILE.read_text() == text:
        return False
    UNIT_FILE.parent.mkdir(parents=True, exist_ok=True)
    UNIT_FILE.write_text(text)
    console.done(f"wrote {UNIT_FILE}")
    return True


def interpreter_problem(venv: Path) -> str | None:
    """Why the service user could not run an environment's commands, or None when it can
    (or does not exist yet). A venv's python is a link to the interpreter it was made with."""
    try:
        account = pwd.getpwnam(USER)
    except KeyError:
        return None
    python = Path(os.path.realpath(venv / "bin" / "python"))
    fix = ("run the installer again with --server --force --python PYTHON, naming a Python "
           "outside home folders that every user may run (e.g. /usr/bin/python3)")
    hidden = next((home for home in HIDDEN_HOMES if python.is_relative_to(home)), None)
    if hidden is not None:
        return (f"the environment's Python is {python}, under {hidden}, which the unit hides "
                f"from the service (ProtectHome=true); {fix}")
    groups = {account.pw_gid} | {group.gr_gid for group in grp.getgrall()
                                 if USER in group.gr_mem}
    for target in (python, venv / "bin" / "occopus-rest-service"):
        for path in (*reversed(target.parents), target):
            try:
                info = path.stat()
            except OSError as error:
                return f"{path}: {error.strerror}; {fix}"
            if not may_execute(info, account.pw_uid, groups):
                return f"the user {USER} cannot run {target}: {path} is closed to it; {fix}"
    return None


def may_execute(info: os.stat_result, uid: int, groups: set[int]) -> bool:
    """Whether the execute (search, for a folder) bit that applies to uid and groups is set."""
    if info.st_uid == uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid in groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def verify_unit() -> tuple[bool, str]:
    """(ok, words): systemd-analyze's verdict on the unit file, or why there is none."""
    if not UNIT_FILE.is_file():
        return False, f"{UNIT_FILE} is missing; run again with --server"
    if shutil.which("systemd-analyze") is None:
        return True, f"{UNIT_FILE} is there (systemd-analyze is not installed to verify it)"
    try:
        run(["systemd-analyze", "verify", UNIT_FILE], "systemd-analyze verify")
    except InstallError as error:
        return False, str(error)
    return True, f"{UNIT_FILE} passes systemd-analyze verify"


def start_service(layout: Layout, redis: str, restart: bool, supervised: bool,
                  console: Console) -> None:
    """Start the service (restarting it when its release or unit changed) under systemd,
    or under the installer's supervisor where systemd does not run and that was asked for;
    then wait until it answers: a service that does not answer is an error."""
    if systemd_running():
        run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
        run(["systemctl", "enable", UNIT_NAME], f"enabling {UNIT_NAME}")
        try:
            run(["systemctl", "restart" if restart else "start", UNIT_NAME],
                f"starting {UNIT_NAME}")
        except InstallError:
            raise InstallError(f"{UNIT_NAME} did not start; see journalctl -u "
                               f"{UNIT_NAME}") from None
        logs = f"journalctl -u {UNIT_NAME}"
        exited = unit_failed
    elif supervised:
        text = supervisor_text(layout, bool(redis), USER, STATE_DIR, CONFIG_DIR, CONFIG_FILE)
        supervise(text, os.path.realpath(layout.python), restart, console)
        running = service_pid()

        def exited() -> bool:           # the supervisor started it again: it had stopped
            return service_pid() != running
        logs = f"{LOG_DIR}/rest-service.log"
    else:
        console.warn(f"systemd is not running here: {UNIT_NAME} is written and verified, "
                     "not started; --supervise runs the service under a small supervisor")
        return
    with console.working("waiting for the REST service to answer"):
        problem = service_problem(layout, HEALTH_TIMEOUT, exited)
    if problem:
        raise InstallError(f"{problem}; see {logs}")
    console.done("the REST service runs and answers")


REST_PROBE = ("import json, sys\n"
              "from occo.util.config import read_settings\n"
              "rest = read_settings(sys.argv[1]).rest\n"
              "print(json.dumps({'host': rest.host, 'port': rest.port,\n"
              "                  'token_file': '' if rest.auth == 'none'\n"
              "                  else str(rest.token_file)}))")
HEALTH_TIMEOUT = 60.0     # seconds a (re)started service has to answer
LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def rest_settings(layout: Layout) -> dict | None:
    """Where the service listens and its token file as the service sees them (the config read
    with the service's HOME; token_file '' with `auth: none`), or None when unreadable."""
    try:
        out = run([layout.python, "-c", REST_PROBE, CONFIG_FILE], "reading the REST settings",
                  env=dict(os.environ, HOME=str(STATE_DIR)))
        return json.loads(out)
    except (InstallError, OSError, ValueError):
        return None


def service_problem(layout: Layout, timeout: float,
                    exited: Callable[[], bool] = lambda: False) -> str | None:
    """Why the service does not answer a listing of the infrastructures (with its token)
    within `timeout` seconds, or None once it does; a service that `exited` meanwhile is a
    problem at once, not after the timeout."""
    settings = rest_settings(layout)
    if settings is None:
        return f"could not read the REST settings from {CONFIG_FILE}"
    host = LOOPBACK.get(settings["host"], settings["host"])
    url = f"http://{f'[{host}]' if ':' in host else host}:{settings['port']}/infrastructures/"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        last = answer_problem(url, settings["token_file"])
        if last is None:
            return None
        if exited():
            return f"the REST service exited instead of answering at {url}"
        time.sleep(0.5)
    return f"the REST service did not answer at {url} within {timeout:.0f} s: {last}"


def answer_problem(url: str, token_file: str) -> str | None:
    """None when the service lists the infrastructures, else what went wrong."""
    request = urllib.request.Request(url)
    if token_file:
        try:
            token = first_token(Path(token_file).read_text())
        except OSError as error:
            return f"its token file {token_file}: {error.strerror}"
        if token is None:
            return f"its token file {token_file} holds no token"
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with NO_PROXY.open(request, timeout=5) as response:
            response.read()
            return None
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return type(error).__name__ if isinstance(error, ValueError) else str(
            getattr(error, "reason", error))


def first_token(text: str) -> str | None:
    """The first token of a token file (one a line, maybe followed by `read`; `#` comments):
    listing the infrastructures is allowed to a read-only token too."""
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            return words[0]
    return None


NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def say_where_the_token_is(layout: Layout, console: Console) -> None:
    """The admin's next step: the token the REST API asks for is readable by root only."""
    settings = rest_settings(layout)
    where = None if settings is None else settings["token_file"]
    if where is None:
        console.warn(f"could not read rest.token_file from {CONFIG_FILE}; check the file with "
                     f"occopus-validate {CONFIG_FILE}")
    elif not where:
        console.warn(f"the REST service asks for no token (rest auth: none in {CONFIG_FILE})")
    else:
        console.done(f"the REST API's token is in {where} (made on the service's first start, "
                     f"mode 0600, owner {USER}); read it as root: sudo cat {where}")


def remove_unit(console: Console) -> None:
    """Stop the service and remove what runs it: the unit, and the supervisor if any."""
    if SUPERVISOR_FILE.exists():
        stop_supervisor(console)
        SUPERVISOR_FILE.unlink()
    if not UNIT_FILE.exists():
        return
    if systemd_running():
        run(["systemctl", "disable", "--now", UNIT_NAME], f"stopping {UNIT_NAME}")
    UNIT_FILE.unlink()
    if systemd_running():
        run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
    console.done(f"removed {UNIT_FILE}")
    console.warn(f"kept {CONFIG_DIR}, {STATE_DIR} (the token) and the {USER} user; remove them "
                 "by hand if they are not wanted")


def unit_failed() -> bool:
    """Whether systemd gave up on the service or is restarting it after a failure."""
    try:
        out = run(["systemctl", "show", "--property=ActiveState,SubState", UNIT_NAME],
                  f"systemctl show {UNIT_NAME}")
    except InstallError:
        return False
    return "ActiveState=failed" in out or "SubState=auto-restart" in out


def unit_active() -> tuple[bool, str]:
    """(ok, words): whether systemd runs the service."""
    try:
        run(["systemctl", "is-active", "--quiet", UNIT_NAME], f"systemctl is-active {UNIT_NAME}")
    except InstallError:
        return False, f"{UNIT_NAME} is not running; see journalctl -u {UNIT_NAME}"
    return True, f"{UNIT_NAME} is running"


def user_exists() -> bool:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return False
    return True
