"""`./occo-dev vagrant ARGS`: Vagrant's docker provider on the checkout's own Docker engine.

Vagrant runs as it always does, with three things set up first: the engine
(`DOCKER_HOST`), the image the Vagrantfile's docker block names (`occopus/debian`),
and the guest's proxy to the package registries (`OCCO_GUEST_PROXY`, which the
Vagrantfile's `host-network` provisioner writes into apt's and pip's settings).
`destroy` stops the proxy once the guest is gone.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

from . import debianimage, docker, guestproxy
from .apt import apt_get
from .docker import UNAVAILABLE, EnginePaths
from .errors import DevError

PROVIDER = "docker"
OFFLINE = {None, "validate", "version", "help"}     # no engine needed (None: only options)
# commands that only look at or remove the guest: they need the engine, not the image or proxy
GUEST_FREE = {"destroy", "halt", "status", "global-status", "suspend"}


def run(root: Path, args: list[str]) -> int:
    """Vagrant's exit status for `vagrant ARGS` run in the checkout."""
    if not args:
        raise DevError("name the vagrant command to run, e.g. ./occo-dev vagrant up", 2)
    command = next((arg for arg in args if not arg.startswith("-")), None)
    program = _vagrant()
    paths = EnginePaths.of(root)
    env = dict(os.environ, DOCKER_HOST=f"unix://{paths.socket}",
               VAGRANT_DEFAULT_PROVIDER=PROVIDER)
    if command not in OFFLINE and docker.running_state(paths) is None:
        docker.start(root)
    if command not in OFFLINE | GUEST_FREE:
        debianimage.ensure(root)
        env["OCCO_GUEST_PROXY"] = guestproxy.start(root)
    status = _run_in_foreground([program, *args], root, env)
    if command == "destroy" and status == 0:
        guestproxy.stop(root)
    return status


def _run_in_foreground(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    """Run Vagrant with the terminal's Ctrl-C going to it alone: it cleans up (a half-made
    container, its own state) before it exits, and its status is ours."""
    process = subprocess.Popen(command, cwd=cwd, env=env)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return process.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def _vagrant() -> str:
    found = shutil.which("vagrant")
    if found is None:
        if os.geteuid() != 0:
            raise DevError("vagrant is not installed; install Debian's vagrant package (apt-get "
                           "install vagrant) or run this as root to have it installed", UNAVAILABLE)
        print("occo-dev: installing vagrant with apt-get", flush=True)
        apt_get(["install", "-y", "--no-install-recommends", "vagrant"], exit_code=UNAVAILABLE)
        found = shutil.which("vagrant")
    if found is None:
        raise DevError("apt-get installed vagrant, but it is not on PATH", UNAVAILABLE)
    return found
