"""Debian's apt-get as occo-dev uses it: non-interactive, quiet, and retried once after
`apt-get update` when run as root, since a fresh machine has no package lists (or old ones)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .errors import DevError

LOCK_WAIT = 300     # seconds apt waits for another apt or dpkg run to finish, not failing at once
POLICY = Path("/usr/sbin/policy-rc.d")      # Debian's say on whether a package starts services
SYSTEMD = Path("/run/systemd/system")       # present on a machine run by systemd


def apt_get(args: list[str], cwd: Path | None = None, exit_code: int = 1) -> None:
    """`apt-get ARGS`; a failure is a one-line DevError with apt's last words."""
    root = os.geteuid() == 0
    if root and args and args[0] == "download":     # apt's sandbox user cannot write to `cwd`
        args = ["-o", "APT::Sandbox::User=root", *args]
    wait = ["-o", f"DPkg::Lock::Timeout={LOCK_WAIT}"]
    result = _attempt(["apt-get", *wait, *args], cwd, exit_code)
    if result.returncode != 0 and root:
        _attempt(["apt-get", *wait, "update"], cwd, exit_code)
        result = _attempt(["apt-get", *wait, *args], cwd, exit_code)
    if result.returncode != 0:
        said = (result.stdout.strip().splitlines() or ["no output"])[-1]
        advice = "" if root else "; run apt-get update as root, then try again"
        raise DevError(f"apt-get {' '.join(args)} failed: {said}{advice}", exit_code)


def install_without_services(packages: list[str], services: list[str] | tuple[str, ...] = (),
                             exit_code: int = 1) -> None:
    """`apt-get install` of `packages`, starting none of the services they bring (a package
    such as openssh-server or mariadb-server starts the machine's own on install), told so
    through Debian's policy-rc.d unless the machine has one of its own; on a machine run by
    systemd, the systemd `services` they enable are disabled again."""
    denied = not POLICY.exists()
    if denied:
        POLICY.write_text("#!/bin/sh\nexit 101\n")       # 101: no service may start
        POLICY.chmod(0o755)
    try:
        apt_get(["install", "-y", "--no-install-recommends", *packages], exit_code=exit_code)
    finally:
        if denied:
            POLICY.unlink(missing_ok=True)
    if services and SYSTEMD.is_dir():
        subprocess.run(["systemctl", "disable", "--now", *services], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _attempt(command: list[str], cwd: Path | None,
             exit_code: int) -> subprocess.CompletedProcess:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        return subprocess.run(command, cwd=cwd, env=env, text=True, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except FileNotFoundError:
        raise DevError(f"{command[0]} is not installed: this needs Debian's packages, on a "
                       "Debian or Ubuntu machine", exit_code) from None
