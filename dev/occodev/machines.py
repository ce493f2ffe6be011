"""Fresh machines: containers of `occopus/debian` on a checkout's engine, reached over SSH.

The installer and deploy are tested on them as on a server that has never seen the
project: its own file system and users, sshd, python3, and no way out but to this
machine (the engine does not masquerade), so all it installs must come through the
SSH connection.
"""
from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from . import debianimage
from .docker import EnginePaths
from .docker_api import API_VERSION, EngineAPI
from .errors import DevError
from .fsutil import link_or_copy

SSHD_TIMEOUT = 30.0         # seconds a new machine's sshd has to answer
# ssh to a throwaway machine: its host key is new each time, so none is recorded or checked
SSH_OPTIONS = ("-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR")


@dataclass(frozen=True)
class Machine:
    container: str
    address: str            # on the engine's bridge


class Machines:
    """Starts and removes machines on the engine of the checkout at `root`."""

    def __init__(self, root: Path) -> None:
        self.api = EngineAPI(EnginePaths.of(root).socket)

    def start(self, public_key: str, login: str = "root", uid: int | None = None) -> Machine:
        """A new machine where `login` (made with `uid` and sudo unless root) logs in with
        `public_key`, once its sshd answers."""
        env = [f"OCCOPUS_AUTHORIZED_KEY={public_key.strip()}", f"OCCOPUS_LOGIN={login}"]
        if uid is not None:
            env.append(f"OCCOPUS_LOGIN_UID={uid}")
        made = self._call("POST", "/containers/create", 201,
                          json.dumps({"Image": debianimage.IMAGE, "Env": env}))
        container = json.loads(made)["Id"]
        try:
            self._call("POST", f"/containers/{container}/start", 204)
            return self._reachable(container)
        except BaseException:
            self.remove(container)
            raise

    def restart(self, container: str) -> Machine:
        """The machine stopped and started again, as a reboot; once its sshd answers."""
        self._call("POST", f"/containers/{container}/restart?t=5", 204)
        return self._reachable(container)

    def remove(self, container: str) -> None:
        self.api.request("DELETE", f"/v{API_VERSION}/containers/{container}?force=1&v=1")

    def inspect(self, container: str) -> dict:
        return json.loads(self._call("GET", f"/containers/{container}/json", 200))

    def log(self, container: str) -> str:
        """What the container wrote, without the engine's frame headers."""
        stream = self._call("GET", f"/containers/{container}/logs?stdout=1&stderr=1", 200)
        text, at = [], 0
        while at + 8 <= len(stream):
            size = int.from_bytes(stream[at + 4:at + 8], "big")
            text.append(stream[at + 8:at + 8 + size].decode(errors="replace"))
            at += 8 + size
        return "".join(text)

    def _reachable(self, container: str) -> Machine:
        address = self.inspect(container)["NetworkSettings"]["IPAddress"]
        if not address:
            raise DevError(f"container {container[:12]} has no address on the bridge")
        self._wait_for_sshd(container, address)
        return Machine(container, address)

    def _wait_for_sshd(self, container: str, address: str) -> None:
        deadline = time.monotonic() + SSHD_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((address, 22), timeout=1.0) as connection:
                    if connection.recv(64).startswith(b"SSH-"):
                        return
            except OSError:
                pass
            if not self.inspect(container)["State"]["Running"]:
                break
            time.sleep(0.1)
        raise DevError(f"no sshd answered on {address}:22 within {SSHD_TIMEOUT:.0f} s; the "
                       f"container said:\n{self.log(container)}")

    def _call(self, method: str, path: str, expected: int, body: str | None = None) -> bytes:
        headers = {"Content-Type": "application/json"} if body is not None else None
        status, answer = self.api.request(method, f"/v{API_VERSION}{path}", body=body,
                                          headers=headers)
        if status != expected:
            raise DevError(f"the engine answered {status} to {method} {path}: "
                           f"{answer.decode(errors='replace').strip()[:300]}")
        return answer


def share_image_cache(source: Path, target: Path) -> None:
    """Give the engine of the checkout at `target` the cached root file systems (and busybox)
    of the one at `source`, so that its `docker image` imports instead of building."""
    ours, theirs = EnginePaths.of(source).cache, EnginePaths.of(target).cache
    theirs.mkdir(parents=True, exist_ok=True)
    for cached in ours.glob("*") if ours.is_dir() else ():
        if cached.suffix in (".tar", ".deb"):
            link_or_copy(cached, theirs / cached.name)


def ssh_config(key: Path, before: str = "") -> str:
    """An ssh configuration for throwaway machines: root with `key`, host keys neither
    recorded nor checked; `before` is put first (its settings win)."""
    return (f"{before}Host *\n  User root\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
            "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n"
            "  ConnectTimeout 10\n")
