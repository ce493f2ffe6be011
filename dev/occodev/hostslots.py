"""The machine's test range for test hosts, shared by its checkouts in slots.

The range 10.213.0.0/16 is cut into 16 slots of a /20 each. A checkout takes one the first
time it makes hosts: its network, its bridge `occohb<slot>`, its namespaces
`occo<slot>-h<i>` and veth ends `oh<slot>-<i>` are named after it, so that two checkouts
(a developer's and CI's clone) never meet. The slots taken are kept in
`/run/occo-hosts/slots.json` (a reboot clears it, and the namespaces with it), read and
written under a lock that also makes one `up` or `down` at a time on the machine.
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import DevError

RANGE = ipaddress.ip_network("10.213.0.0/16")
SLOTS = 16                      # /20s in the range
PER_OCTET = 250                 # hosts a third octet holds (.1 to .250)
MOST_HOSTS = 15 * PER_OCTET     # the /20's third octets after the bridge's own
REGISTRY = Path("/run/occo-hosts")


@dataclass(frozen=True)
class Host:
    """One test host as its users reach it."""

    name: str
    namespace: str
    address: str
    port: int = 22


@dataclass(frozen=True)
class Slot:
    """A checkout's share of the test range, and the names of what it makes."""

    number: int

    @property
    def network(self) -> ipaddress.IPv4Network:
        return list(RANGE.subnets(new_prefix=20))[self.number]

    @property
    def gateway(self) -> str:
        """The bridge's address: this machine, as the hosts see it."""
        return str(self.network.network_address + 1)

    @property
    def bridge(self) -> str:
        return f"occohb{self.number}"

    @property
    def prefix(self) -> str:
        """What the names of its namespaces start with."""
        return f"occo{self.number}-h"

    def host(self, index: int) -> Host:
        octet, last = divmod(index - 1, PER_OCTET)
        address = self.network.network_address + 256 * (octet + 1) + last + 1
        return Host(f"h{index}", f"{self.prefix}{index}", str(address))

    def veth(self, namespace: str) -> str:
        """The machine's end of a host's link (at most 15 bytes, as Linux allows)."""
        return f"oh{self.number}-{namespace.removeprefix(self.prefix)}"


class Slots:
    """The slots taken (a checkout's hosts folder -> its slot number)."""

    def __init__(self, taken: dict[str, int]) -> None:
        self.taken = taken

    def of(self, key: str, *, clear: Callable[[Slot], None],
           in_use: Callable[[Slot], bool]) -> Slot:
        """The slot of the checkout whose hosts folder is `key`; a free one, taken, the first
        time. The slots of checkouts that are gone are taken back, and `clear` removes what
        they left running; a free slot that is `in_use` (a registry lost) is cleared too."""
        for gone in [known for known in self.taken if not Path(known).is_dir()]:
            clear(Slot(self.taken.pop(gone)))
        if key not in self.taken:
            free = sorted(set(range(SLOTS)) - set(self.taken.values()))
            if not free:
                raise DevError(f"all {SLOTS} slots of test hosts on this machine are taken "
                               f"({REGISTRY / 'slots.json'}): run ./occo-dev hosts down in "
                               "another checkout")
            slot = Slot(free[0])
            if in_use(slot):
                clear(slot)
            self.taken[key] = slot.number
        return Slot(self.taken[key])

    def release(self, key: str) -> Slot | None:
        number = self.taken.pop(key, None)
        return None if number is None else Slot(number)


@contextmanager
def registry() -> Iterator[Slots]:
    """The machine's slots, locked for one `up` or `down` at a time; written back (whole, by
    a rename) however the block ends, so that a slot taken by an `up` that failed midway is
    still this checkout's, for `down` to clear."""
    REGISTRY.mkdir(mode=0o700, exist_ok=True)
    file = REGISTRY / "slots.json"
    with (REGISTRY / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            slots = Slots(_read(file))
            try:
                yield slots
            finally:
                partial = file.with_suffix(".part")
                partial.write_text(json.dumps(slots.taken, indent=1) + "\n")
                os.replace(partial, file)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read(file: Path) -> dict[str, int]:
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise DevError(f"cannot read the test hosts' slots in {file}: {error}; remove it after "
                       "removing the namespaces named occo*-h* (ip netns list)") from None
    if not isinstance(data, dict) or not all(isinstance(value, int) for value in data.values()):
        raise DevError(f"{file} is not a map of folders to slot numbers; remove it after "
                       "removing the namespaces named occo*-h* (ip netns list)")
    return data
