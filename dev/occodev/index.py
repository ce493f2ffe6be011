"""The private wheel index: a pypiserver process on 127.0.0.1.

Everything about the running index lives in env/index/: the package folder,
the htpasswd file and the upload credentials (mode 0600) the tool creates, the
server's state file (pid, port, folder) and its log. Downloads need no login;
uploads do. Unknown projects are not redirected to the public index.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .errors import DevError
from .proc import reap
from .repo import Repo

DEFAULT_PORT = 8080
USERNAME = "occo"
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class IndexPaths:
    home: Path

    @classmethod
    def of(cls, repo: Repo) -> IndexPaths:
        return cls(repo.root / "env" / "index")

    @property
    def packages(self) -> Path:
        return self.home / "packages"

    @property
    def htpasswd(self) -> Path:
        return self.home / "htpasswd"

    @property
    def credentials(self) -> Path:
        return self.home / "credentials.json"

    @property
    def state(self) -> Path:
        return self.home / "server.json"

    @property
    def log(self) -> Path:
        return self.home / "server.log"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def credentials(paths: IndexPaths) -> Credentials:
    """Upload credentials: OCCO_INDEX_USER/OCCO_INDEX_PASSWORD, else the tool's own."""
    user, password = os.environ.get("OCCO_INDEX_USER"), os.environ.get("OCCO_INDEX_PASSWORD")
    if user and password:
        return Credentials(user, password)
    if not paths.credentials.is_file():
        raise DevError(f"no upload credentials: {paths.credentials} is missing; start the index "
                       "with ./occo-dev index serve, or set OCCO_INDEX_USER and OCCO_INDEX_PASSWORD")
    data = json.loads(paths.credentials.read_text())
    return Credentials(data["username"], data["password"])


def _ensure_credentials(paths: IndexPaths) -> None:
    """Create the upload login and its htpasswd file once; keep them afterwards."""
    from passlib.apache import HtpasswdFile

    paths.home.mkdir(parents=True, exist_ok=True)
    if paths.credentials.is_file() and paths.htpasswd.is_file():
        return
    login = Credentials(USERNAME, secrets.token_urlsafe(24))
    descriptor = os.open(paths.credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        json.dump({"username": login.username, "password": login.password}, stream)
    htpasswd = HtpasswdFile(str(paths.htpasswd), new=True)
    htpasswd.set_password(login.username, login.password)
    htpasswd.save()
    os.chmod(paths.htpasswd, 0o600)


def running_state(paths: IndexPaths) -> dict | None:
    """The state of our index server if it is alive, else None (a stale file is removed)."""
    try:
        state = json.loads(paths.state.read_text())
        cmdline = Path(f"/proc/{state['pid']}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError):
        paths.state.unlink(missing_ok=True)
        return None
    if b"pypi-server" not in cmdline:  # the pid was reused by another program
        paths.state.unlink(missing_ok=True)
        return None
    return state


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_until_serving(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
            raise DevError(f"the index server exited at start (exit {server.returncode}); "
                           f"its log {log} ends with:\n{tail}")
        try:
            with urllib.request.urlopen(url + "simple/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    server.kill()
    raise DevError(f"the index server did not answer at {url} within {START_TIMEOUT:.0f}s; "
                   f"see {log}")


def serve(repo: Repo, port: int = DEFAULT_PORT, directory: Path | None = None,
          host: str = "127.0.0.1") -> dict:
    """Start the index; `host` 0.0.0.0 lets a VM's forwarded port reach it (uploads need the login)."""
    paths = IndexPaths.of(repo)
    state = running_state(paths)
    if state:
        raise DevError(f"the index is already running at {state['url']} (pid {state['pid']}); "
                       "stop it first with ./occo-dev index stop")
    if not _port_is_free(host, port):
        raise DevError(f"port {port} on {host} is taken; choose another with "
                       "./occo-dev index serve --port P")
    _ensure_credentials(paths)
    packages = (directory or paths.packages).resolve()
    packages.mkdir(parents=True, exist_ok=True)
    server_cmd = [str(Path(sys.executable).with_name("pypi-server")), "run",
                  "-i", host, "-p", str(port), "-P", str(paths.htpasswd), "-a", "update",
                  "--disable-fallback", "--hash-algo", "sha256", str(packages)]
    with paths.log.open("w") as log:
        server = subprocess.Popen(server_cmd, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    _wait_until_serving(url, server, paths.log)
    state = {"pid": server.pid, "port": port, "url": url, "packages": str(packages),
             "log": str(paths.log)}
    paths.state.write_text(json.dumps(state, indent=1))
    return state


def stop(repo: Repo) -> dict | None:
    """Stop our index server; returns its state, or None if it was not running."""
    paths = IndexPaths.of(repo)
    state = running_state(paths)
    if not state:
        return None
    os.killpg(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{state['pid']}").exists():
        reap(state["pid"])
        time.sleep(0.05)
    if Path(f"/proc/{state['pid']}").exists():
        os.killpg(state["pid"], signal.SIGKILL)
        reap(state["pid"])
    paths.state.unlink(missing_ok=True)
    return state


def status(repo: Repo) -> dict | None:
    state = running_state(IndexPaths.of(repo))
    if state:
        state["files"] = len(list(Path(state["packages"]).glob("*")))
    return state


def default_url(repo: Repo) -> str:
    state = running_state(IndexPaths.of(repo))
    if not state:
        raise DevError("no index is running; start one with ./occo-dev index serve, "
                       "or name one with --index URL")
    return state["url"]
