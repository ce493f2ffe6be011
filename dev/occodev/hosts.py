"""Test hosts: Linux network namespaces, each with an sshd of its own, on a private bridge.

`./occo-dev hosts up N` makes the hosts h1..hN that the SSH-based parts of Occopus are
built and tested against; `down` removes them. Root only (namespaces, links, routes).

Each host is a network namespace with one end of a veth pair as `eth0`, holding an
address of the checkout's slot of 10.213.0.0/16 (`hostslots`); the other ends hang on the
slot's bridge, whose address is the hosts' way to this machine. Hosts reach this machine
and each other, nothing else: a host has no default route, the bridge does not forward,
and a route makes the part of the range no bridge holds unreachable. `up` refuses to run
where the machine already routes or holds an address of the range. Each host runs Debian's
sshd (installed with apt-get when missing, without starting the machine's own SSH server)
in its namespace and a hostname namespace of its own, with a host key of its own; root
logs in with the checkout's key (`env/hosts/id_ed25519`), and with nothing else.
Namespaces isolate the network, the hostname and root's home (`env/hosts/<host>/root`,
mounted on /root for the host's processes alone); a host shares this machine's other
files and its processes.

Under `env/hosts/`: the key, `hosts.json` (what `up` made) and a folder per host (its
sshd's config, host key, pid, log and root's home).
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .apt import install_without_services
from .errors import DevError
from .hostslots import MOST_HOSTS, RANGE, Host, Slot, registry
from .proc import run

SSHD = Path("/usr/sbin/sshd")
READY_TIMEOUT = 30.0            # seconds every sshd may take to accept connections
STOP_TIMEOUT = 5.0              # seconds a host's processes get after SIGTERM
UNAVAILABLE = 3                 # the exit code when this user cannot have test hosts
USER = "root"
BRIDGES = "occohb"              # what the names of the slots' bridges start with


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


@dataclass(frozen=True)
class HostsState:
    """The hosts `up` made: where they are and how to log in."""

    slot: int
    network: str
    gateway: str
    bridge: str
    user: str
    key: str
    hosts: tuple[Host, ...]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "hosts": [asdict(host) for host in self.hosts]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HostsState:
        return cls(**{**data, "hosts": tuple(Host(**host) for host in data["hosts"])})


def up(root: Path, count: int) -> HostsState:
    """Hosts h1..h`count` running, each accepting SSH (those running already are kept, those
    beyond `count` removed)."""
    if not 1 <= count <= MOST_HOSTS:
        raise DevError(f"ask for 1 to {MOST_HOSTS} hosts, not {count}")
    _require_root()
    if not SSHD.is_file():
        _install_sshd()
    paths = HostsPaths.of(root)
    paths.home.mkdir(parents=True, exist_ok=True)
    with registry() as slots:
        _check_range()
        slot = slots.of(str(paths.home), clear=_clear, in_use=_in_use)
        _ensure_key(paths)
        _close_range()
        _ensure_bridge(slot)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)     # sshd's privilege separation
        present = _namespaces(slot)
        wanted = [slot.host(index) for index in range(1, count + 1)]
        for namespace in sorted(present - {host.namespace for host in wanted}):
            _remove_host(slot, namespace)
        for host in wanted:
            if host.namespace in present:
                if _sshd_alive(paths, host):
                    continue
                _remove_host(slot, host.namespace)      # half made, or its sshd died
            _make(slot, host)
            _start_sshd(paths, host)
        _wait_ready(wanted)
        state = HostsState(slot.number, str(slot.network), slot.gateway, slot.bridge, USER,
                           str(paths.key), tuple(wanted))
        _write(paths.state, json.dumps(state.to_json(), indent=1) + "\n")
        return state


def down(root: Path) -> int:
    """Remove this checkout's hosts and its bridge; how many hosts there were."""
    _require_root()
    paths = HostsPaths.of(root)
    with registry() as slots:
        slot = slots.release(str(paths.home))
        if slot is None:
            return 0
        removed = _clear(slot)
        if not slots.taken:
            _run_quietly(["ip", "route", "del", "unreachable", str(RANGE)])
        for host_folder in paths.home.glob("h*"):
            if host_folder.is_dir():
                shutil.rmtree(host_folder, ignore_errors=True)
        paths.state.unlink(missing_ok=True)
        return removed


def status(root: Path) -> HostsState | None:
    """The hosts `up` made that still run; None when none does. Root only: which processes
    run in a namespace only root can tell."""
    _require_root()
    paths = HostsPaths.of(root)
    try:
        state = HostsState.from_json(json.loads(paths.state.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    alive = tuple(host for host in state.hosts if _sshd_alive(paths, host))
    return HostsState(**{**asdict(state), "hosts": alive}) if alive else None


# --- making and removing -------------------------------------------------------------------

def _make(slot: Slot, host: Host) -> None:
    """The namespace, its veth pair on the bridge, its address."""
    veth = slot.veth(host.namespace)
    run(["ip", "netns", "add", host.namespace], what=f"making {host.name}")
    run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns",
         host.namespace], what=f"making {host.name}'s link")
    run(["ip", "link", "set", veth, "master", slot.bridge, "up"],
        what=f"putting {host.name} on {slot.bridge}")
    inside = (f"addr add {host.address}/{slot.network.prefixlen} dev eth0\n"
              "link set eth0 up\nlink set lo up\n")
    result = subprocess.run(["ip", "-n", host.namespace, "-batch", "-"], input=inside,
                            text=True, capture_output=True)
    if result.returncode != 0:
        raise DevError(f"addressing {host.name} failed: {result.stderr.strip()}")


def _clear(slot: Slot) -> int:
    """Remove a slot's hosts and bridge from the machine; how many hosts there were."""
    present = _namespaces(slot)
    for namespace in sorted(present):
        _remove_host(slot, namespace)
    _run_quietly(["ip", "link", "del", slot.bridge])
    return len(present)


def _remove_host(slot: Slot, namespace: str) -> None:
    """Stop what runs in the namespace (SIGTERM, then SIGKILL), remove its link (at once:
    a namespace's own removal finishes later, and a host made again at once would meet
    its old link), then the namespace."""
    pids = _pids(namespace)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while pids and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = [pid for pid in pids if _exists(pid)]
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    _run_quietly(["ip", "link", "del", slot.veth(namespace)])
    _run_quietly(["ip", "netns", "del", namespace])


def _ensure_bridge(slot: Slot) -> None:
    if not _in_use(slot):
        run(["ip", "link", "add", slot.bridge, "type", "bridge"], what="making the hosts' bridge")
        run(["ip", "addr", "add", f"{slot.gateway}/{slot.network.prefixlen}", "dev",
             slot.bridge], what="addressing the hosts' bridge")
    # the hosts' packets stop at this machine, whatever it forwards elsewhere
    Path(f"/proc/sys/net/ipv4/conf/{slot.bridge}/forwarding").write_text("0\n")
    run(["ip", "link", "set", slot.bridge, "up"], what="bringing the hosts' bridge up")


def _close_range() -> None:
    """The part of the range no bridge holds goes nowhere (kept while any slot is taken)."""
    added = subprocess.run(["ip", "route", "add", "unreachable", str(RANGE)], text=True,
                           capture_output=True)
    if added.returncode != 0 and "File exists" not in added.stderr:
        raise DevError(f"closing the test range {RANGE} failed: {added.stderr.strip()}")


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
    home = folder / "root"
    home.mkdir(mode=0o700, exist_ok=True)
    # sshd detaches; its hostname is the host's own (a UTS namespace of its own), and so is
    # root's home (a mount namespace of its own): a login reads the host's dotfiles, not this
    # machine's (whose shell setup cost each command a fifth of a second)
    run(["ip", "netns", "exec", host.namespace, "unshare", "--uts", "--mount",
         "--propagation", "private", "sh", "-c",
         f'hostname "$0" && mount --bind "$3" /root && exec {SSHD} -f "$1" -E "$2"',
         host.name, config, folder / "sshd.log", home], what=f"starting {host.name}'s sshd")


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


def _install_sshd() -> None:
    """Debian's openssh-server, without starting or enabling the machine's own SSH server
    (its package would, on a machine run by systemd)."""
    install_without_services(["openssh-server"], ("ssh.service", "ssh.socket"),
                             exit_code=UNAVAILABLE)


# --- reading the machine ---------------------------------------------------------------

def _check_range() -> None:
    """Refuse to take over addresses this machine uses: a route or an address in the range
    that is not the test hosts' own."""
    ours = {"unreachable", *(f"{BRIDGES}{number}" for number in range(16))}
    routes = subprocess.run(["ip", "-4", "-o", "route", "show", "table", "all"], text=True,
                            capture_output=True).stdout.splitlines()
    addresses = subprocess.run(["ip", "-4", "-o", "addr", "show"], text=True,
                               capture_output=True).stdout.splitlines()
    found = []
    for line in routes:
        words = line.split()
        kind_first = words[0] in ("unreachable", "blackhole", "prohibit", "local", "broadcast")
        destination = words[1] if kind_first else words[0]
        device = words[words.index("dev") + 1] if "dev" in words else words[0]
        if _overlaps(destination) and device not in ours:
            found.append(line.strip())
    for line in addresses:
        words = line.split()          # "N: NAME inet ADDRESS/PREFIX ..."
        if len(words) > 3 and _overlaps(words[3]) and words[1] not in ours:
            found.append(f"{words[1]} {words[3]}")
    if found:
        raise DevError(f"this machine already uses the test hosts' range {RANGE} "
                       f"({'; '.join(found[:3])}): test hosts would hide it, so none is made")


def _overlaps(destination: str) -> bool:
    try:
        return ipaddress.ip_network(destination, strict=False).overlaps(RANGE)
    except ValueError:              # "default", or no address at all
        return False


def _in_use(slot: Slot) -> bool:
    """Whether the slot's bridge exists on this machine."""
    return Path(f"/sys/class/net/{slot.bridge}").exists()


def _namespaces(slot: Slot) -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], text=True, capture_output=True).stdout
    return {words[0] for words in map(str.split, listed.splitlines())
            if words and words[0].startswith(slot.prefix)}


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


def _write(path: Path, text: str) -> None:
    """Whole or not at all: a `status` meanwhile reads the old file or the new one."""
    partial = path.with_suffix(".part")
    partial.write_text(text)
    os.replace(partial, path)


def _require_root() -> None:
    if os.geteuid() != 0:
        raise DevError("test hosts are network namespaces: making them and telling whether "
                       "they run needs root", UNAVAILABLE)
