"""--server: the `occopus` system user, /etc/occopus, and a systemd unit for the REST service.

The unit requires the distribution's Redis unit, so the service starts after
Redis and stops with it. The unit file is checked with `systemd-analyze
verify` where that exists; it is enabled and started only where systemd runs
(a container or a build machine without it gets the files, not the service).
Configuration that is already there is never overwritten.
"""
import grp
import os
import pwd
import shutil
from pathlib import Path

from .layout import Layout
from .proc import InstallError, run
from .ui import Console

USER = "occopus"
CONFIG_DIR = Path("/etc/occopus")
CONFIG_FILE = CONFIG_DIR / "occopus_config.yaml"
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
ExecStart={venv}/bin/occopus-rest-service --cfg {config_file}
Restart=on-failure
StateDirectory=occopus
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
    if user_exists():
        return
    if shutil.which("useradd") is None:
        raise InstallError(f"useradd is not available to create the {USER} user; create it by hand")
    run(["useradd", "--system", "--user-group", "--home-dir", f"/var/lib/{USER}",
         "--no-create-home", "--shell", "/usr/sbin/nologin", "--comment", "Occopus", USER],
        f"creating the {USER} user")
    console.done(f"created the system user {USER}")


def ensure_config(console: Console) -> None:
    """/etc/occopus readable by the service's group; the config file only if there is none."""
    group = grp.getgrnam(USER).gr_gid
    CONFIG_DIR.mkdir(parents=True, exist_ok=True)
    os.chown(CONFIG_DIR, 0, group)
    CONFIG_DIR.chmod(0o750)
    if CONFIG_FILE.exists():
        return
    CONFIG_FILE.write_text(CONFIG_TEXT)
    os.chown(CONFIG_FILE, 0, group)
    CONFIG_FILE.chmod(0o640)
    console.done(f"wrote {CONFIG_FILE}")


def unit_text(layout: Layout, redis: str) -> str:
    return UNIT_TEXT.format(unit=UNIT_NAME, redis=redis, user=USER, config_dir=CONFIG_DIR,
                            venv=layout.venv, config_file=CONFIG_FILE)


def write_unit(layout: Layout, redis: str, console: Console) -> None:
    text = unit_text(layout, redis)
    if UNIT_FILE.is_file() and UNIT_FILE.read_text() == text:
        return
    UNIT_FILE.parent.mkdir(parents=True, exist_ok=True)
    UNIT_FILE.write_text(text)
    console.done(f"wrote {UNIT_FILE}")


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


def start_service(console: Console) -> None:
    if not systemd_running():
        console.warn(f"systemd is not running here: {UNIT_NAME} is written and verified, not started")
        return
    run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
    run(["systemctl", "enable", UNIT_NAME], f"enabling {UNIT_NAME}")
    try:
        run(["systemctl", "restart", UNIT_NAME], f"starting {UNIT_NAME}")
    except InstallError:
        raise InstallError(f"{UNIT_NAME} did not start; see journalctl -u {UNIT_NAME}") from None
    console.done(f"started {UNIT_NAME}")


def remove_unit(console: Console) -> None:
    if not UNIT_FILE.exists():
        return
    if systemd_running():
        run(["systemctl", "disable", "--now", UNIT_NAME], f"stopping {UNIT_NAME}")
    UNIT_FILE.unlink()
    if systemd_running():
        run(["systemctl", "daemon-reload"], "systemctl daemon-reload")
    console.done(f"removed {UNIT_FILE}")
    console.warn(f"kept {CONFIG_DIR} and the {USER} user; remove them by hand if they are not wanted")


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
