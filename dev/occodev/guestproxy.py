"""The way out for guests of the checkout's Docker engine: tinyproxy on the engine's bridge.

The engine runs without iptables or masquerading, so a container reaches nothing but
its bridge. The Vagrant guest still needs the package registries to provision itself:
Debian's archive for apt and PyPI for pip. tinyproxy (Debian's) listens on the bridge's
own address, takes clients from the bridge's subnet only, forwards only to those
registries' hosts, and tunnels (CONNECT) only to port 443. It runs as `nobody` in the
background; its state and log are in env/vagrant/.
"""
from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .apt import install_without_services
from .debianimage import archive_mirror
from .docker import UNAVAILABLE, EnginePaths
from .errors import DevError
from .fsutil import locked
from .proc import cmdline, is_gone, run, terminate

PORT = 3128
PYPI_HOSTS = ("pypi.org", "files.pythonhosted.org")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProxyPaths:
    """The proxy's files in a checkout: its settings, state and log, under env/vagrant/."""

    home: Path

    @classmethod
    def of(cls, root: Path) -> ProxyPaths:
        return cls(root / "env" / "vagrant")

    @property
    def config(self) -> Path:
        return self.home / "proxy.conf"

    @property
    def allowed(self) -> Path:
        return self.home / "proxy.allowed"

    @property
    def state(self) -> Path:
        return self.home / "proxy.json"

    @property
    def log(self) -> Path:
        return self.home / "proxy.log"


def start(root: Path) -> str:
    """The proxy's URL, as the guest reaches it; started first when it does not run."""
    paths = ProxyPaths.of(root)
    network = bridge_network(EnginePaths.of(root))
    url = f"http://{network.ip}:{PORT}"
    paths.home.mkdir(parents=True, exist_ok=True)
    with locked(paths.home / "proxy.lock"):
        state = _read_state(paths)
        if state is not None and state["url"] == url and _is_ours(paths, state["pid"]):
            return url
        _stop(paths)
        program = _tinyproxy()
        paths.allowed.write_text("".join(f"^{host.replace('.', '[.]')}$\n"
                                         for host in allowed_hosts()))
        paths.config.write_text(config_text(network, paths.allowed))
        with paths.log.open("ab") as log:
            process = subprocess.Popen([program, "-d", "-c", str(paths.config)],
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       start_new_session=True)
        _write_state(paths, {"pid": process.pid, "url": url})
        try:
            _wait_for_port(str(network.ip), process, paths.log)
        except BaseException:
            process.kill()
            process.wait()
            paths.state.unlink(missing_ok=True)
            raise
    return url


def stop(root: Path) -> bool:
    """Stop the proxy; False when none ran."""
    paths = ProxyPaths.of(root)
    if not paths.home.is_dir():
        return False
    with locked(paths.home / "proxy.lock"):
        return _stop(paths)


def _stop(paths: ProxyPaths) -> bool:
    state = _read_state(paths)
    if state is None or not _is_ours(paths, state["pid"]):
        paths.state.unlink(missing_ok=True)
        return False
    pid = state["pid"]
    try:
        terminate(pid, STOP_TIMEOUT)
    except PermissionError:
        raise DevError(f"the guest's proxy (pid {pid}) runs as another user; stop it as "
                       "root") from None
    paths.state.unlink(missing_ok=True)
    return True


def allowed_hosts() -> list[str]:
    """The registries' hosts: the Debian mirror the image was made from, and PyPI's."""
    return [urlsplit(archive_mirror()).hostname or "deb.debian.org", *PYPI_HOSTS]


def config_text(network: ipaddress.IPv4Interface, allowed: Path) -> str:
    """tinyproxy's settings: on the bridge, for the bridge, to the hosts listed in `allowed`."""
    return "\n".join([
        "User nobody", "Group nogroup",
        f"Listen {network.ip}", f"Port {PORT}", f"Allow {network.network}",
        "ConnectPort 443", "DisableViaHeader Yes", "Timeout 600", "MaxClients 50",
        f'Filter "{allowed}"', "FilterType ere", "FilterDefaultDeny Yes",
        "LogLevel Warning", ""])


def bridge_network(paths: EnginePaths) -> ipaddress.IPv4Interface:
    """The engine's bridge address and subnet, as dockerd set them up."""
    out = run(["ip", "-4", "-json", "addr", "show", "dev", paths.bridge], capture=True,
              what=f"reading the address of the bridge {paths.bridge}").stdout
    for link in json.loads(out or "[]"):
        for address in link.get("addr_info", []):
            return ipaddress.IPv4Interface(f"{address['local']}/{address['prefixlen']}")
    raise DevError(f"the engine's bridge {paths.bridge} has no address; start the engine with "
                   "./occo-dev docker start", UNAVAILABLE)


def _tinyproxy() -> str:
    found = shutil.which("tinyproxy")
    if found is None:
        install_without_services(["tinyproxy"], services=["tinyproxy"], exit_code=UNAVAILABLE)
        found = shutil.which("tinyproxy")
    if found is None:
        raise DevError("tinyproxy is not installed and apt-get did not install it", UNAVAILABLE)
    return found


def _wait_for_port(address: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text(errors="replace").strip().splitlines()[-1:] or ["nothing"]
            raise DevError(f"tinyproxy exited with {process.returncode} at start: {said[0]} "
                           f"(log {log})")
        try:
            with socket.create_connection((address, PORT), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise DevError(f"tinyproxy did not listen on {address}:{PORT} within {START_TIMEOUT:.0f} s "
                   f"(log {log})")


def _read_state(paths: ProxyPaths) -> dict | None:
    try:
        state = json.loads(paths.state.read_text())
    except (OSError, ValueError):
        return None
    valid = isinstance(state, dict) and isinstance(state.get("pid"), int) and "url" in state
    return state if valid else None


def _write_state(paths: ProxyPaths, state: dict) -> None:
    partial = paths.state.with_suffix(".partial")
    partial.write_text(json.dumps(state) + "\n")
    partial.replace(paths.state)


def _is_ours(paths: ProxyPaths, pid: int) -> bool:
    """A live (not zombie) tinyproxy with this checkout's settings has this pid."""
    argv = cmdline(pid)
    return (bool(argv) and os.path.basename(argv[0]) == b"tinyproxy"
            and str(paths.config).encode() in argv and not is_gone(pid))
