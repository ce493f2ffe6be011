"""A MariaDB server of the test process's own, for the tests of `mysqldbs` health checks.

Debian's `mariadbd` (package mariadb-server, which `./occo-dev test` installs) runs on a
loopback address of its own at MariaDB's standard port, since a health check reaches port
3306 of a node's address, with its data in a temporary folder. Its root logs in only through
its Unix socket, as this process's user (no root over TCP). It never touches a MariaDB the
machine runs, and it is stopped when the test process ends, or dies: util-linux's setpriv
gives it SIGTERM when the thread that started it ends (start it from the main thread).

    server = shared_server()            # started on first use, one per test process
    with server.account() as (database, user, password): ...
"""
from __future__ import annotations

import atexit
import contextlib
import getpass
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
SETPRIV = "/usr/bin/setpriv"
PORT = 3306
START_TIMEOUT = 60.0
# 127.33.0.1, 127.33.0.2, ...: loopback addresses a machine's own services do not use
ADDRESSES = [f"127.33.0.{number}" for number in range(1, 60)]


class MariaDBServer:
    """`start()` a private mariadbd; `stop()` ends it and removes its data."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="occo-mariadb-"))
        self.socket = self.folder / "mariadbd.sock"
        self.host = ""
        self.port = PORT
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        for program in (MARIADBD, INSTALL_DB):
            if not os.access(program, os.X_OK):
                raise RuntimeError(f"{program} is missing: install Debian's mariadb-server "
                                   "(./occo-dev test does, as root)")
        data = self.folder / "data"
        self._run([INSTALL_DB, "--no-defaults", f"--datadir={data}", *self._as_user(),
                   "--auth-root-authentication-method=socket",
                   f"--auth-root-socket-user={getpass.getuser()}", "--skip-test-db"])
        free = [host for host in ADDRESSES if not _port_taken(host)]
        if not free:
            raise RuntimeError(f"port {PORT} is taken on every address from {ADDRESSES[0]} to "
                               f"{ADDRESSES[-1]}: a server listens at {PORT} on all "
                               "addresses; stop it to run these tests")
        for host in free:
            self.host = host
            self._process = subprocess.Popen(
                [SETPRIV, "--pdeathsig", "TERM", "--",
                 MARIADBD, "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
                 f"--bind-address={host}", f"--port={PORT}", *self._as_user(),
                 f"--pid-file={self.folder / 'mariadbd.pid'}",
                 f"--log-error={self.folder / 'error.log'}", "--skip-name-resolve",
                 "--skip-log-bin", "--innodb-buffer-pool-size=16M"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self._wait_ready():
                return
            exited = self._process.poll() is not None
            self._end_process()
            if not exited or "bind" not in self._log_tail().lower():
                break                   # not another program taking the address meanwhile
        raise RuntimeError(f"mariadbd did not start at {self.host}:{PORT}: "
                           f"{self._log_tail()}")

    def stop(self) -> None:
        self._end_process()
        shutil.rmtree(self.folder, ignore_errors=True)

    def root(self) -> pymysql.connections.Connection:
        """A root connection through the socket, committing each statement."""
        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True,
                               connect_timeout=5)

    @contextlib.contextmanager
    def account(self) -> Iterator[tuple[str, str, str]]:
        """(database, user, password): a throwaway database and a user that may use it from
        any address, dropped afterwards."""
        suffix = secrets.token_hex(4)
        database, user, password = f"occo_{suffix}", f"occo_{suffix}", secrets.token_hex(8)
        with contextlib.closing(self.root()) as root, root.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{database}`")
            # with arguments, pymysql formats the statement: its own % is written %%
            cursor.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (password,))
            cursor.execute(f"GRANT ALL ON `{database}`.* TO '{user}'@'%'")
            try:
                yield database, user, password
            finally:
                cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
                cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")

    def _wait_ready(self) -> bool:
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                self.root().close()
                return True
            except pymysql.MySQLError:
                time.sleep(0.05)
        return False

    def _end_process(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True)
        if result.returncode != 0:
            said = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise RuntimeError(f"{Path(command[0]).name} failed: {' / '.join(said)}")

    def _log_tail(self) -> str:
        try:
            lines = (self.folder / "error.log").read_text(errors="replace").splitlines()
        except OSError:
            return "no error log"
        return " / ".join(lines[-3:]) or "an empty error log"

    @staticmethod
    def _as_user() -> list[str]:
        """mariadbd refuses to run as root unless told to."""
        return ["--user=root"] if os.geteuid() == 0 else []


_shared: MariaDBServer | RuntimeError | None = None
_lock = threading.Lock()


def shared_server() -> MariaDBServer:
    """The test process's server, started on first use and stopped when the process exits;
    a start that failed fails every later call at once, the same way."""
    global _shared
    with _lock:
        if _shared is None:
            server = MariaDBServer()
            try:
                server.start()
            except RuntimeError as error:
                server.stop()
                _shared = error
            else:
                atexit.register(server.stop)
                _shared = server
        if isinstance(_shared, RuntimeError):
            raise RuntimeError(str(_shared))
        return _shared


def _port_taken(host: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, PORT))
        except OSError:
            return True
    return False
