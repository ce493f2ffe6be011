"""Which host keys the SSH layer trusts: a known_hosts file of its own per infrastructure.

A node's address is reused by its cloud for other machines once the node is
gone, so one user-wide list would soon hold keys of machines that no longer
exist, and refuse their successors. Each infrastructure gets its own file
(`~/.occopus/known_hosts/<infra id>`, 0600, OpenSSH's format: `host key-type
base64`, `[host]:port` for another port than 22), removed with the
infrastructure.

The policy says what a host missing from the file means:
- `strict`: refused; the user adds its key (`ssh-keyscan` checked by hand);
- `trust-first-use`: its key is recorded on the first connection and required
  from then on. A node made by Occopus is met first by Occopus, over a network
  the user chose: this is the usual choice, and an explicit one.
A host whose key differs from the recorded one is always refused. A key
recorded on first use names the machine it was met on (`machine=<node id>`
after the key, where OpenSSH keeps a comment): a new instance given a gone
one's address is another machine, met for the first time; a line added by
hand names none and holds for any machine at that address. Hashed host names
and `@` markers of OpenSSH's format are not read.
"""
from __future__ import annotations

import base64
import enum
import fcntl
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import OccoError
from ..private import home_folder, open_private, private_folder

FOLDER = "known_hosts"
MACHINE = "machine="          # what a recorded key's comment names


class HostKeyPolicy(enum.StrEnum):
    STRICT = "strict"
    TRUST_FIRST_USE = "trust-first-use"


class HostKeyRefused(OccoError):
    """A host's key is not one the SSH layer may trust: unknown under `strict`, or changed."""


@dataclass(frozen=True)
class HostKey:
    """A host's public key as OpenSSH writes it: `ssh-ed25519 AAAA...`."""

    kind: str
    data: str

    @classmethod
    def parse(cls, text: str) -> HostKey:
        kind, data, *_ = text.split()
        return cls(kind, data)

    def __str__(self) -> str:
        return f"{self.kind} {self.data}"


def known_hosts_path(infra_id: str, folder: Path | None = None) -> Path:
    """Where the file of `infra_id` is, in `folder` (default `~/.occopus/known_hosts`)."""
    if not infra_id or "/" in infra_id or infra_id.startswith("."):
        raise ValueError(f"not an infrastructure id: {infra_id!r}")
    return (folder or home_folder() / FOLDER) / infra_id


def host_name(address: str, port: int) -> str:
    """The host as known_hosts names it."""
    return address if port == 22 else f"[{address}]:{port}"


class KnownHosts:
    """The trusted keys of one file; safe to share between threads and processes (each
    addition is one appended line, under a lock of the file)."""

    _lock = threading.Lock()

    def __init__(self, path: Path, policy: HostKeyPolicy) -> None:
        self.path = path
        self.policy = HostKeyPolicy(policy)

    @classmethod
    def of_infrastructure(cls, infra_id: str, policy: HostKeyPolicy,
                          folder: Path | None = None) -> KnownHosts:
        """The file of `infra_id` in `folder` (default `~/.occopus/known_hosts`, made
        private)."""
        path = known_hosts_path(infra_id, folder)
        private_folder(path.parent)
        return cls(path, policy)

    def keys(self, address: str, port: int = 22, machine: str | None = None) -> list[HostKey]:
        """The keys that hold for the host: those recorded for `machine` there, and those
        naming no machine."""
        name = host_name(address, port)
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        found = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 3 or line.startswith("#") or name not in fields[0].split(","):
                continue
            named = [field.removeprefix(MACHINE) for field in fields[3:]
                     if field.startswith(MACHINE)]
            if not named or named[0] == machine:
                found.append(HostKey(fields[1], fields[2]))
        return found

    def check(self, address: str, port: int, key: HostKey, *,
              machine: str | None = None) -> None:
        """Trust `key` for the host (the machine `machine` at that address, if said),
        recording it first under `trust-first-use`; else `HostKeyRefused` saying why and
        what to do."""
        if machine is not None and (not machine or any(c.isspace() for c in machine)):
            raise ValueError(f"not a machine's name: {machine!r}")
        with self._lock:
            fd = open_private(self.path, os.O_RDWR | os.O_APPEND)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)     # another process may record the same host
                known = self.keys(address, port, machine)
                if key in known:
                    return
                name = host_name(address, port)
                if known:
                    raise HostKeyRefused(
                        f"the host key of {name} changed: it offered {key.kind} "
                        f"{_fingerprint(key)}, {self.path} holds another",
                        hint="if the machine at that address was replaced, remove its line "
                             f"from {self.path}; otherwise someone may be in between")
                if self.policy is HostKeyPolicy.STRICT:
                    raise HostKeyRefused(
                        f"{name} is not in {self.path} and host keys are checked strictly",
                        hint="add its key (ssh-keyscan, checked by hand) to that file, or "
                             "set ssh: {host_keys: trust-first-use}")
                mark = f" {MACHINE}{machine}" if machine else ""
                os.write(fd, f"{name} {key}{mark}\n".encode())
            finally:
                os.close(fd)

    def forget(self) -> None:
        """Remove the file (its infrastructure is gone)."""
        self.path.unlink(missing_ok=True)


def _fingerprint(key: HostKey) -> str:
    try:
        digest = hashlib.sha256(base64.b64decode(key.data, validate=True)).digest()
    except ValueError:          # binascii.Error: not a key a server can have sent
        return "(not base64)"
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
