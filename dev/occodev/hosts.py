"""Test hosts: Linux network namespaces, each with an sshd of its own, on a private bridge.

`./occo-dev hosts up N` makes the hosts h1..hN that the SSH-based parts of Occopus are
built and tested against; `down` removes them. Root only (namespaces, links, routes).

Each host is a network namespace with one end of a veth pair as `eth0`, holding an
address of the checkout's /20 of the private test range 10.213.0.0/16; the other ends hang
on the checkout's bridge, whose address is the hosts' way back to this machine. Hosts reach
this machine and each other, nothing else: a route makes all of 10.213.0.0/16 that no
bridge holds unreachable, and nothing forwards. Each host runs Debian's sshd (installed
with apt-get when missing) in its namespace and a hostname namespace of its own, with a
host key of its own; root logs in with the checkout's key (`env/hosts/id_ed25519`), and
with nothing else. Namespaces isolate only the network: a host shares this machine's files
and processes.

Several checkouts on one machine (a developer's and CI's clone) each take a slot, 0 to 15:
the /20 `10.213.(16 * slot).0`, the bridge `occohb<slot>`, the namespaces
`occo<slot>-h<i>` and the veth ends `oh<slot>-<i>`. The slots are kept in
`/run/occo-hosts/slots.json`, under a lock that also makes one `up` or `down` at a time.
Under `env/hosts/`: the key, `hosts.json` (what `up` made) and a folder per host (its
sshd's config, host key, pid and log).
"""
from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from .apt import apt_get
from .errors import DevError
from .proc import run

RANGE = ipaddress.ip_network("10.213.0.0/16")
SLOTS = 16                      # /20s in the range
PER_OCTET = 250                 # hosts a third octet holds (.1 to .250)
MOST_HOSTS = 15 * PER_OCTET     # the /20's third octets after the bridge's own
REGISTRY = Path("/run/occo-hosts")
SSHD = Path("/usr/sbin/sshd")
READY_TIMEOUT = 30.0            # seconds every sshd may take to accept connections
STOP_TIMEOUT = 5.0              # seconds a host's processes get after SIGTERM
UNAVAILABLE = 3                 # the exit code when this user cannot have test hosts
USER = "root"


@dataclass(frozen=True)
class Host:
    """One test host as its users reach it."""

    name: str
    namespace: str
    address: str
    port: int = 22


@dataclass(frozen=True)
class Slot:
    """A checkout's share of the machine's test range."""

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

    def host(self, index: int) -> Host:
        octet, last = divmod(index - 1, PER_OCTET)
        address = self.network.network_address + 256 * (octet + 1) + last + 1
        return Host(f"h{index}", f"occo{self.number}-h{index}", str(address))

    def veth(self, index: int) -> str:
        return f"oh{self.number}-{index}"        # at most 15 bytes, as Linux allows


@dataclass(frozen=True)
class HostsPaths:
    """Where one checkout keeps its hosts' files."""

    home: Path

    @classmethod
    def of(cls, root: Path) -> HostsPaths:
        return cls(root.resolve() / "env" / "hosts")

    @property
    def key(self) -> Path:
        return self.home / "id_ed25519"

    @property
    def state(self) -> Path:
        return self.home / "hosts.json"

    def folder(self, host: Host) -> Path:
        return self.home / host.name


def up(root: Path, count: int) -> dict:
    """Hosts h1..h`count` running, each accepting SSH (those running already are kept, those
    beyond `count` removed): what `status` says."""
    if not 1 <= count <= MOST_HOSTS:
        raise DevError(f"ask for 1 to {MOST_HOSTS} hosts, not {count}")
    _require_root()
    _require_sshd()
    paths = HostsPaths.of(root)
    paths.home.mkdir(parents=True, exist_ok=True)
    with _registry() as slots:
        slot = _slot_of(slots, paths)
        _ensure_key(paths)
        _ensure_bridge(slot)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)     # sshd's privilege separation
        present = _namespaces(slot)
        wanted = [slot.host(index) for index in range(1, count + 1)]
        for namespace in sorted(present - {host.namespace for host in wanted}):
            _remove_namespace(namespace)
        for index, host in enumerate(wanted, start=1):
            if host.namespace in present:
                if _sshd_alive(paths, host):
                    continue
                _remove_namespace(host.namespace)       # half made, or its sshd died
            _make(slot, host, index)
            _start_sshd(paths, host)
        _wait_ready(wanted)
        state = _state(paths, slot, wanted)
        paths.state.write_text(json.dumps(state, indent=1) + "\n")
        return state


def down(root: Path) -> int:
    """Remove this checkout's hosts and its bridge; how many hosts there were."""
    _require_root()
    paths = HostsPaths.of(root)
    with _registry() as slots:
        key = str(paths.home)
        if key not in slots:
            return 0
        slot = Slot(slots.pop(key))
        removed = _clear(slot)
        if not slots:
            _run_quietly(["ip", "route", "del", "unreachable", str(RANGE)])
        for folder in paths.home.glob("h*"):
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
        paths.state.unlink(missing_ok=True)
        return removed


def status(root: Path) -> dict:
    """What `up` made and still runs: {"hosts": [...], "key": ..., ...}; no hosts: empty."""
    paths = HostsPaths.of(root)
    try:
        state = json.loads(paths.state.read_text())
    except (OSError, ValueError):
        return {"hosts": []}
    alive = [host for host in state["hosts"] if _sshd_alive(paths, Host(**host))]
    return {**state, "hosts": alive}


# --- making and removing ---------------------------------------------------------------

def _make(slot: Slot, host: Host, index: int) -> None:
    """The namespace, its veth pair on the bridge, its address and routes."""
    veth = slot.veth(index)
    run(["ip", "netns", "add", host.namespace], what=f"making {host.name}")
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
         host.namespace], what=f"making {host.name}'s link")
    run(["ip", "link", "set", veth, "master", slot.bridge, "up"],
        what=f"putting {host.name} on {slot.bridge}")
    inside = (f"addr add {host.address}/{slot.network.prefixlen} dev eth0\n"
              "link set eth0 up\nlink set lo up\n")
    _batch(host.namespace, inside, what=f"addressing {host.name}")


def _batch(namespace: str, commands: str, *, what: str) -> None:
    result = subprocess.run(["ip", "-n", namespace, "-batch", "-"], input=commands, text=True,
                            capture_output=True)
    if result.returncode != 0:
        raise DevError(f"{what} failed: {result.stderr.strip()}")


def _clear(slot: Slot) -> int:
    """Remove a slot's hosts and bridge from the machine; how many hosts there were."""
    present = _namespaces(slot)
    for namespace in sorted(present):
        _remove_namespace(namespace)
    _run_quietly(["ip", "link", "del", slot.bridge])
    return len(present)


def _remove_namespace(namespace: str) -> None:
    """Stop what runs in it (SIGTERM, then SIGKILL), then delete it (its veth goes too)."""
    pids = _pids(namespace)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while pids and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = [pid for pid in pids if _exists(pid)]
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    _run_quietly(["ip", "netns", "del", namespace])


def _ensure_bridge(slot: Slot) -> None:
    if not Path(f"/sys/class/net/{slot.bridge}").exists():
        run(["ip", "link", "add", slot.bridge, "type", "bridge"], what="making the hosts' bridge")
        run(["ip", "addr", "add", f"{slot.gateway}/{slot.network.prefixlen}", "dev",
             slot.bridge], what="addressing the hosts' bridge")
    run(["ip", "link", "set", slot.bridge, "up"], what="bringing the hosts' bridge up")
    # the rest of the range goes nowhere, however the machine routes
    run(["ip", "route", "replace", "unreachable", str(RANGE)], what="closing the test range")


def _ensure_key(paths: HostsPaths) -> None:
    if not paths.key.is_file():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "occopus test hosts", "-f",
             paths.key], what="making the test hosts' key")


def _start_sshd(paths: HostsPaths, host: Host) -> None:
    folder = paths.folder(host)
    folder.mkdir(mode=0o700, exist_ok=True)
    host_key = folder / "ssh_host_ed25519_key"
    if not host_key.is_file():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", host_key],
            what=f"making {host.name}'s host key")
    shutil.copyfile(paths.key.with_suffix(".pub"), folder / "authorized_keys")
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"ListenAddress {host.address}:{host.port}",
        f"HostKey {host_key}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}",
        f"PidFile {folder / 'sshd.pid'}",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",           # the folders are this checkout's, not a home's
        "MaxStartups 200",          # many sessions at once are the point of a test host
        "MaxSessions 50",
        "Subsystem sftp internal-sftp",
        "",
    ]))
    # sshd detaches; its hostname is the host's own (a UTS namespace of its own)
    run(["ip", "netns", "exec", host.namespace, "unshare", "--uts", "sh", "-c",
         f'hostname "$0" && exec {SSHD} -f "$1" -E "$2"', host.name, config,
         folder / "sshd.log"], what=f"starting {host.name}'s sshd")


def _wait_ready(hosts: list[Host]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    waiting = list(hosts)
    while waiting:
        waiting = [host for host in waiting if not _accepts(host)]
        if waiting and time.monotonic() > deadline:
            names = ", ".join(host.name for host in waiting[:5])
            raise DevError(f"{len(waiting)} test host(s) do not accept SSH after "
                           f"{READY_TIMEOUT:g} s ({names}); see env/hosts/<host>/sshd.log")
        if waiting:
            time.sleep(0.05)


def _accepts(host: Host) -> bool:
    try:
        with socket.create_connection((host.address, host.port), timeout=1.0) as connection:
            connection.settimeout(1.0)
            return connection.recv(4).startswith(b"SSH-")
    except OSError:
        return False


# --- reading the machine -----------------------------------------------------------------

def _namespaces(slot: Slot) -> set[str]:
    prefix = f"occo{slot.number}-h"
    listed = subprocess.run(["ip", "netns", "list"], text=True, capture_output=True).stdout
    return {line.split()[0] for line in listed.splitlines()
            if line.split() and line.split()[0].startswith(prefix)}


def _pids(namespace: str) -> list[int]:
    listed = subprocess.run(["ip", "netns", "pids", namespace], text=True,
                            capture_output=True).stdout
    return [int(word) for word in listed.split() if word.isdigit()]


def _sshd_alive(paths: HostsPaths, host: Host) -> bool:
    try:
        pid = int((paths.folder(host) / "sshd.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    return _exists(pid) and pid in _pids(host.namespace)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _run_quietly(command: list[str]) -> None:
    """A removal whose target may be gone already."""
    subprocess.run(command, capture_output=True)


def _state(paths: HostsPaths, slot: Slot, hosts: list[Host]) -> dict:
    return {"slot": slot.number, "network": str(slot.network), "gateway": slot.gateway,
            "bridge": slot.bridge, "user": USER, "key": str(paths.key),
            "hosts": [asdict(host) for host in hosts]}


# --- the machine's slots ---------------------------------------------------------------

@contextmanager
def _registry() -> Iterator[dict[str, int]]:
    """The slots taken (checkout's hosts folder -> slot), locked for one `up` or `down` on
    this machine at a time, and written back."""
    REGISTRY.mkdir(mode=0o700, exist_ok=True)
    with (REGISTRY / "lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            file = REGISTRY / "slots.json"
            try:
                slots = {key: int(value) for key, value in json.loads(file.read_text()).items()}
            except (OSError, ValueError, AttributeError):
                slots = {}
            yield slots
            file.write_text(json.dumps(slots, indent=1) + "\n")
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _slot_of(slots: dict[str, int], paths: HostsPaths) -> Slot:
    """This checkout's slot; a free one, taken, the first time. A slot of a checkout that is
    gone is taken back."""
    for key in [key for key in slots if not Path(key).is_dir()]:
        _clear(Slot(slots.pop(key)))        # what a removed checkout left running
    key = str(paths.home)
    if key not in slots:
        free = sorted(set(range(SLOTS)) - set(slots.values()))
        if not free:
            raise DevError(f"all {SLOTS} slots of test hosts on this machine are taken "
                           f"({REGISTRY / 'slots.json'}): run ./occo-dev hosts down in another "
                           "checkout")
        slots[key] = free[0]
    return Slot(slots[key])


def _require_root() -> None:
    if os.geteuid() != 0:
        raise DevError("test hosts are network namespaces: making them needs root",
                       UNAVAILABLE)


def _require_sshd() -> None:
    if not SSHD.is_file():
        apt_get(["install", "-y", "--no-install-recommends", "openssh-server"],
                exit_code=UNAVAILABLE)
