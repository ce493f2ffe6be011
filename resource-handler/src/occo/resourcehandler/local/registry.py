"""The nodes and addresses of one workdir, shared by every Occopus process of the machine.

A build, a later `occopus-maintain` and an `occopus-destroy` are separate
processes, so what was made must be on disk: `registry.json` in the workdir,
one entry per node id. Changes are made while holding an exclusive `flock` on
`registry.lock` (a separate file, since the registry itself is replaced on
every write) and written atomically; readers that only look need no lock.

Addresses are claimed machine-wide as well (`claims.py`): a workdir's
registry only knows its own nodes, and the nodes of another HOME on the
same machine must never get the same address.
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from ..base import PermanentError
from .claims import Claims, claims_folder
from .files import write_atomically

VERSION = 1
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
RESERVED = frozenset({ipaddress.ip_address("127.0.0.1")})   # the machine's own services live there


@dataclass(frozen=True)
class Entry:
    """One node instance: who it belongs to, its address and its process group."""

    node_id: str
    infra_id: str
    name: str
    instance_id: str
    address: str
    pgid: int | None = None         # None until its bootstrap has been started


class RegistryError(PermanentError):
    """The registry file or the address range cannot be used."""


def address_range(text: str) -> ipaddress.IPv4Network:
    """The network of an `address_range` setting; it must lie in 127.0.0.0/8."""
    try:
        network = ipaddress.ip_network(str(text), strict=False)
    except ValueError as error:
        raise RegistryError(f"address_range {text!r} is not a network: {error}",
                            hint="write it as 127.0.1.0/24") from None
    if not isinstance(network, ipaddress.IPv4Network) or not network.subnet_of(LOOPBACK):
        raise RegistryError(f"address_range {text} is not a loopback range",
                            hint="local nodes use addresses of 127.0.0.0/8, e.g. 127.0.1.0/24")
    return network


class Registry:
    """The registry file of a workdir."""

    def __init__(self, workdir: Path, network: ipaddress.IPv4Network,
                 claims: Path | None = None) -> None:
        self.workdir = workdir
        self.network = network
        self.path = workdir / "registry.json"
        self.claims = Claims(claims or claims_folder(), workdir)

    def read(self) -> dict[str, Entry]:
        """The entries by node id, as last written."""
        try:
            document = json.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except ValueError as error:
            raise RegistryError(f"{self.path} is not an Occopus local registry: {error}",
                                hint="move it away; nodes it listed must then be stopped by hand"
                                ) from None
        if document.get("version") != VERSION:
            raise RegistryError(f"{self.path} has version {document.get('version')}, "
                                f"not {VERSION}", hint="use the Occopus that wrote it")
        return {node_id: Entry(**entry) for node_id, entry in document["nodes"].items()}

    @contextmanager
    def locked(self) -> Iterator[LockedRegistry]:
        """The registry, kept from every other writer until the block ends."""
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(self.workdir / "registry.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                entries = self.read()
                self.claims.keep([entry.address for entry in entries.values()])
                yield LockedRegistry(self, entries)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def write(self, entries: dict[str, Entry]) -> None:
        nodes = {node_id: asdict(entry) for node_id, entry in entries.items()}
        document = {"version": VERSION, "nodes": nodes}
        write_atomically(self.path, json.dumps(document, indent=1, sort_keys=True).encode())


class LockedRegistry:
    """The entries while the lock is held; each change is written at once."""

    def __init__(self, registry: Registry, entries: dict[str, Entry]) -> None:
        self._registry = registry
        self.entries = entries

    def put(self, entry: Entry) -> None:
        self.entries[entry.node_id] = entry
        self._registry.write(self.entries)

    def remove(self, node_id: str) -> None:
        entry = self.entries.pop(node_id, None)
        if entry is not None:
            self._registry.write(self.entries)
            if not any(other.address == entry.address for other in self.entries.values()):
                self._registry.claims.release(entry.address)

    def free_address(self) -> str:
        """The lowest address of the range that no node of this machine holds, claimed for
        this registry (the caller records a node on it, or claims it again next time)."""
        taken = {entry.address for entry in self.entries.values()}
        for address in map(str, self._registry.network.hosts()):
            if (ipaddress.ip_address(address) not in RESERVED and address not in taken
                    and self._registry.claims.claim(address, taken.__contains__)):
                return address
        raise RegistryError(f"every address of {self._registry.network} is taken by a local "
                            "node of this machine",
                            hint="drop nodes, or give the resource a wider address_range")
