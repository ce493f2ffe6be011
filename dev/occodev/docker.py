"""A Docker engine of the project's own, for the docker examples and tests.

There is no systemd here, so `dockerd` (Debian's docker.io) runs as a
background process of its own session, everything under the ignored
`env/docker/`:

    docker.sock   the API's unix socket       data/   images and containers
    x/            dockerd's exec root          engine.json   pid, endpoints, bridge
    dockerd.pid, dockerd.log, lock             cache/, images/   see `busybox.py`

The exec root holds containerd's sockets, whose paths a unix socket address
limits to 107 bytes: when the checkout's path is long, the socket and the exec
root move to `/tmp/occo-docker-<hash>/`.

TCP: dockerd 20.10 pauses its start-up for a second (for 15 s off loopback)
when it binds a TCP address without `--tlsverify`. It is given the listening
socket instead, bound here on 127.0.0.1 with a port the OS picks, through
systemd's socket activation protocol (`-H fd://`, `LISTEN_FDS`): it serves at
once, and no port can be taken between choosing and binding it.

Each engine has a bridge of its own, named after its folder, instead of
`docker0`: two engines on one machine (another checkout, occo-dev's tests)
would otherwise hand out the same addresses. `stop` removes it.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import busybox
from .apt import apt_get
from .docker_api import EngineAPI
from .errors import DevError
from .fsutil import locked, unmount_below
from .proc import cmdline, is_gone, run, stat_fields, terminate

BASE_IMAGE = "occopus/busybox:latest"
BASE_CHANGES = ['CMD ["sh"]']      # as the registry's busybox image: a shell
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0                 # then SIGKILL
SHUTDOWN_TIMEOUT = 5                # what dockerd gives each running container when it stops
UNAVAILABLE = 3                     # the exit code when this user cannot have an engine here
LONGEST_SOCKET = 104                # bytes of a unix socket path, with room to spare
EXEC_ROOT_SOCKET = "containerd/containerd.sock.ttrpc"   # the longest path under the exec root
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class EnginePaths:
    """Where one checkout's engine keeps everything."""

    home: Path

    @classmethod
    def of(cls, root: Path) -> EnginePaths:
        return cls(root.resolve() / "env" / "docker")

    @property
    def tag(self) -> str:
        return hashlib.sha256(str(self.home).encode()).hexdigest()[:10]

    @property
    def run_dir(self) -> Path:
        """The home, unless its sockets' paths would be too long there."""
        if len(str(self.home / "x" / EXEC_ROOT_SOCKET)) <= LONGEST_SOCKET:
            return self.home
        return Path("/tmp") / f"occo-docker-{self.tag}"

    @property
    def socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def exec_root(self) -> Path:
        return self.run_dir / "x"

    @property
    def data_root(self) -> Path:
        return self.home / "data"

    @property
    def pidfile(self) -> Path:
        return self.home / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.home / "dockerd.log"

    @property
    def state(self) -> Path:
        return self.home / "engine.json"

    @property
    def lock(self) -> Path:
        return self.home / "lock"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def images(self) -> Path:
        return self.home / "images"

    @property
    def bridge(self) -> str:
        return f"occo{self.tag}"        # at most 15 characters, as Linux wants


def start(root: Path, *, tcp: bool = False) -> dict:
    """Start the engine unless it runs, and import the base image unless it is there.

    With `tcp` it also listens on a loopback port: an engine's API without
    TLS is root on this machine to any local user who reaches it, so the port
    is opened only when asked (the tests of the tcp endpoint ask), and an
    engine running without one is restarted with one. Its socket and folders
    are its user's alone. Several processes may call it at once: they take
    turns (a file lock), and all but the first find the engine running.
    """
    paths = EnginePaths.of(root)
    with locked(paths.lock):
        state = running_state(paths)
        if state is not None and tcp and "tcp" not in state["endpoints"]:
            _terminate(state["pid"])
            _clean_up(paths)
            state = None
        if state is None:
            state = _launch(paths, find_dockerd(), tcp=tcp)
        api = EngineAPI(paths.socket)
        if not api.ping():
            raise DevError(f"the engine (pid {state['pid']}) does not answer on {paths.socket}; "
                           "restart it with ./occo-dev docker stop && ./occo-dev docker start")
        tarball = busybox.base_tarball(paths.cache, paths.images)
        if not api.has_image(BASE_IMAGE):
            api.import_tarball(tarball, BASE_IMAGE, BASE_CHANGES)
        state.update(base_image=BASE_IMAGE, base_tarball=str(tarball))
        _write_state(paths, state)
    return state


def stop(root: Path) -> dict | None:
    """Stop the engine (SIGTERM, then SIGKILL after `STOP_TIMEOUT`) and remove its bridge;
    returns its state, or None if it was not running. Images and containers are kept."""
    paths = EnginePaths.of(root)
    if not paths.home.is_dir():
        return None
    with locked(paths.lock):
        state = _read_state(paths)
        pid = _engine_pid(paths, state)
        if pid is not None:
            _terminate(pid)
        _clean_up(paths)
    return state if pid is not None else None


def status(root: Path) -> dict:
    """`running`, and for a running engine its pid, endpoints and version."""
    paths = EnginePaths.of(root)
    state = running_state(paths)
    if state is None:
        return {"running": False, "home": str(paths.home)}
    try:
        version = EngineAPI(paths.socket).version()
    except OSError as error:
        raise DevError(f"the engine (pid {state['pid']}) does not answer on {paths.socket}: "
                       f"{error}; restart it with ./occo-dev docker stop && "
                       "./occo-dev docker start") from None
    return {**state, "running": True, "version": version.get("Version"),
            "api_version": version.get("ApiVersion")}


def running_state(paths: EnginePaths) -> dict | None:
    """The saved state of this checkout's engine if its dockerd is alive, else None."""
    state = _read_state(paths)
    if state is None or _engine_pid(paths, state) != state.get("pid"):
        return None
    return state


def find_dockerd() -> str:
    """The dockerd program; installed with apt-get as root when missing, else a clear error."""
    found = _which("dockerd")
    if found is None and os.geteuid() == 0:
        _install_docker_io()
        found = _which("dockerd")
    if found is None:
        raise DevError("dockerd is not installed; install Debian's docker.io as root with: "
                       "apt-get install -y docker.io", UNAVAILABLE)
    if os.geteuid() != 0:
        raise DevError("dockerd needs root; run ./occo-dev docker start as root", UNAVAILABLE)
    return found


def _which(program: str) -> str | None:
    """The program on PATH or in the system folders (which a user's PATH may lack)."""
    return shutil.which(program, path=f"{os.environ.get('PATH', '')}:{SEARCH_PATH}")


def _install_docker_io() -> None:
    print("occo-dev: installing docker.io with apt-get (about a minute)", file=sys.stderr,
          flush=True)
    apt_get(["install", "-y", "docker.io"], exit_code=UNAVAILABLE)


def _launch(paths: EnginePaths, dockerd: str, *, tcp: bool) -> dict:
    """Start dockerd and wait until it answers on its socket."""
    for private in (paths.home, paths.run_dir):     # dockerd makes its own folders inside
        private.mkdir(mode=0o700, parents=True, exist_ok=True)
        private.chmod(0o700)
    stale = _engine_pid(paths, None)
    if stale is not None:           # ours, but its state file is gone: its TCP port is unknown
        _terminate(stale)
    paths.pidfile.unlink(missing_ok=True)
    paths.socket.unlink(missing_ok=True)
    _ensure_bridge(paths.bridge)
    command = [dockerd, "-H", f"unix://{paths.socket}",
               "--data-root", str(paths.data_root), "--exec-root", str(paths.exec_root),
               "--pidfile", str(paths.pidfile), "--iptables=false", "--ip-masq=false",
               "--bridge", paths.bridge, "--shutdown-timeout", str(SHUTDOWN_TIMEOUT)]
    endpoints = {"unix": f"unix://{paths.socket}"}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM) if tcp else None
    script, passed = 'exec "$@"', ()
    if listener is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        endpoints["tcp"] = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
        command.extend(["-H", "fd://"])
        # socket activation: the listener as fd 3, and LISTEN_PID naming dockerd (the shell's
        # pid, which exec keeps)
        fd = listener.fileno()
        moved = "" if fd == 3 else f" 3<&{fd} {fd}<&-"
        script = f'LISTEN_PID=$$ LISTEN_FDS=1; export LISTEN_PID LISTEN_FDS; exec "$@"{moved}'
        passed = (fd,)
    try:
        with paths.log.open("w") as log:
            process = subprocess.Popen(["/bin/sh", "-c", script, "sh", *command],
                                       pass_fds=passed, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        if listener is not None:
            listener.close()
    _wait_until_ready(paths, process)
    state = {"pid": process.pid, "home": str(paths.home), "socket": str(paths.socket),
             "endpoints": endpoints,
             "bridge": paths.bridge, "data_root": str(paths.data_root),
             "exec_root": str(paths.exec_root), "log": str(paths.log)}
    version = EngineAPI(paths.socket).version()
    state.update(version=version.get("Version"), api_version=version.get("ApiVersion"))
    _write_state(paths, state)
    return state


def _wait_until_ready(paths: EnginePaths, process: subprocess.Popen) -> None:
    api = EngineAPI(paths.socket)
    deadline = time.monotonic() + START_TIMEOUT
    while not api.ping():
        if process.poll() is not None:
            _clean_up(paths)
            raise DevError(f"dockerd exited at start (exit {process.returncode}): "
                           f"{_last_complaint(paths.log)} (log: {paths.log})")
        if time.monotonic() > deadline:
            _terminate(process.pid)
            _clean_up(paths)
            raise DevError(f"dockerd did not answer on {paths.socket} within "
                           f"{START_TIMEOUT:.0f} s; see its log {paths.log}")
        time.sleep(0.05)


def _last_complaint(log: Path) -> str:
    """Why dockerd stopped: the plain line it ends with, else its last error's message."""
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines()
             if line.strip()]
    if lines and "level=" not in lines[-1]:
        return lines[-1]
    for line in reversed(lines):
        if "level=fatal" in line or "level=error" in line:
            said = re.search(r'msg="((?:[^"\\]|\\.)*)"', line)
            return said.group(1) if said else line
    return lines[-1] if lines else "(its log is empty)"


def _engine_pid(paths: EnginePaths, state: dict | None) -> int | None:
    """The pid of this checkout's live dockerd, from its state or its pidfile."""
    candidates = [state.get("pid")] if state else []
    try:
        candidates.append(int(paths.pidfile.read_text().strip()))
    except (OSError, ValueError):
        pass
    marker = f"unix://{paths.socket}".encode()
    for pid in candidates:
        if not isinstance(pid, int):
            continue
        argv = cmdline(pid)
        if argv and os.path.basename(argv[0]) == b"dockerd" and marker in argv \
                and not is_gone(pid):
            return pid
    return None


def _terminate(pid: int) -> None:
    terminate(pid, STOP_TIMEOUT)


def _clean_up(paths: EnginePaths) -> None:
    """What a stopped engine may leave: processes and mounts (after a SIGKILL or a failed
    start), its bridge, its socket and state files."""
    _kill_leftovers(paths)
    _unmount_leftovers(paths)
    _remove_bridge(paths.bridge)
    for path in (paths.state, paths.socket, paths.pidfile):
        path.unlink(missing_ok=True)


def _kill_leftovers(paths: EnginePaths) -> None:
    """After a SIGKILL: the engine's containerd and shims, and each shim's container."""
    marker = f"{paths.exec_root}/containerd/".encode()
    ours = [pid for pid in _pids() if any(marker in part for part in cmdline(pid))]
    children = [pid for pid in _pids() if _parent(pid) in ours]
    for pid in children + ours:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _unmount_leftovers(paths: EnginePaths) -> None:
    """Unmount what is mounted at or under the data and exec roots, deepest first (dockerd
    mounts its data root on itself, and containers' file systems below it)."""
    unmount_below([paths.data_root, paths.exec_root])


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _parent(pid: int) -> int | None:
    fields = stat_fields(pid)
    return int(fields[1]) if len(fields) > 1 else None


def _ensure_bridge(name: str) -> None:
    if Path("/sys/class/net", name).exists():
        return
    if _which("ip") is None:
        raise DevError("the engine's bridge is made with the ip command, which is not "
                       "installed; install it as root with: apt-get install -y iproute2")
    run(["ip", "link", "add", "name", name, "type", "bridge"], what=f"creating the bridge {name}")


def _remove_bridge(name: str) -> None:
    if Path("/sys/class/net", name).exists():
        run(["ip", "link", "delete", name], what=f"removing the bridge {name}")


def _read_state(paths: EnginePaths) -> dict | None:
    try:
        state = json.loads(paths.state.read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _write_state(paths: EnginePaths, state: dict) -> None:
    partial = paths.state.with_name(f".{paths.state.name}.{os.getpid()}")
    partial.write_text(json.dumps(state, indent=1) + "\n")
    partial.replace(paths.state)
