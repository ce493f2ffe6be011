"""`occo-dev deploy HOST...`: the REST service and the commands on servers, over SSH.

Each host is reached with the operator's own OpenSSH client and configuration (or the
file `--ssh-config` names), through one connection per host held open as a control
master. The private index runs on this machine; that connection forwards a port of the
server's loopback to it, so the server needs no other network (and pip trusts plain http
on the loopback). The single-file installer is piped into the server's python3 and run
as root (through `sudo -n` for another login) with `--server --supervise
--occopus-version V`: the same checked install and atomic switch as by hand
(docs/installation.md), which changes nothing when V is there already. A host succeeds
when the installer's `--server --check` passes, which asks the service itself for a
listing with its token.

V is occo-api's version in this checkout, and must be what the last green
`./occo-dev test` tested with this lock (`tested`); `--force` deploys anyway.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from . import index, installer, tested
from .errors import DevError
from .graph import build_graph
from .lock import Lock
from .repo import Repo

MASTER_TIMEOUT = 30.0           # seconds for a connection to be up
STEP_TIMEOUT = 900.0            # seconds for one step on a server (an install is the longest)
STATE_FILE = "/opt/occopus/install.json"
AUTH_DATA = "/etc/occopus/auth_data.yaml"
# Put in place as root before the installer runs, replaced whole and only when it differs;
# 0640 and group occopus once that group exists (the installer keeps it so).
AUTH_SCRIPT = f"""set -e
umask 077
mkdir -p -m 0750 /etc/occopus
new=$(mktemp {AUTH_DATA}.XXXXXX)
trap 'rm -f "$new"' EXIT
cat > "$new"
if cmp -s "$new" {AUTH_DATA}; then said=unchanged; else mv "$new" {AUTH_DATA}; said=written; fi
chmod 0640 {AUTH_DATA}
if getent group occopus > /dev/null; then chgrp occopus {AUTH_DATA}; fi
echo $said"""


@dataclass(frozen=True)
class HostResult:
    host: str
    before: str | None              # occo-api's version there before, None when none
    after: str | None
    seconds: float
    problem: str | None = None
    auth_data: str = ""             # "written", "unchanged" or "" when none was given

    def line(self) -> str:
        took = f"({self.seconds:.1f} s)"
        if self.problem:
            return f"{self.host}: FAILED {took}: {self.problem}"
        if self.before == self.after:
            what = f"occo-api {self.after} was there already; nothing changed"
        elif self.before is None:
            what = f"installed occo-api {self.after}"
        else:
            what = f"occo-api {self.before} -> {self.after}; the installer's --rollback goes back"
        auth = f"; {AUTH_DATA} {self.auth_data}" if self.auth_data else ""
        return f"{self.host}: {what}{auth}; the service answers {took}"


@dataclass(frozen=True)
class Plan:
    """What every host gets."""

    version: str
    installer: Path
    index_port: int
    ssh_config: Path | None
    auth_data: Path | None
    logs: Path
    untested: tuple[str, ...]       # what differs from the last green test run (--force)


def plan(repo: Repo, version: str | None, force: bool, ssh_config: Path | None,
         auth_data: Path | None) -> Plan:
    """Check what is asked against the tests and the index; refuse before touching a host."""
    graph = build_graph(repo)
    api = repo.components[installer.API]
    wanted = version or api.version
    record = tested.read(repo)
    if record is None:
        problems = ["no green test run is recorded (env/tested.json): run ./occo-dev test"]
    else:
        problems = record.differences(tested.Tested.of(repo))
        if record.versions.get(api.dist) != wanted and wanted != api.version:
            problems.append(f"{api.dist} {wanted} was not tested (tested: "
                            f"{record.versions.get(api.dist)})")
    if problems and not force:
        raise DevError("refusing to deploy what the last green test run did not test: "
                       + "; ".join(problems) + "; --force deploys it anyway")
    state = index.running_state(index.IndexPaths.of(repo))
    if state is None:
        raise DevError("the private index is not running; start it with ./occo-dev index serve "
                       "and publish with ./occo-dev upload --all")
    for path, what in ((ssh_config, "--ssh-config"), (auth_data, "--auth-data")):
        if path is not None and not path.is_file():
            raise DevError(f"{what} {path}: no such file")
    script = installer.bundle(repo, graph, Lock.read(repo))
    logs = repo.root / "env" / "deploy"
    logs.mkdir(parents=True, exist_ok=True)
    logs.chmod(0o700)
    return Plan(wanted, script, int(state["port"]), ssh_config, auth_data, logs,
                tuple(problems))


def deploy(plan: Plan, hosts: list[str], jobs: int, report=print) -> list[HostResult]:
    """Every host once, several at once (up to `jobs`), each reported as it finishes."""
    unique = list(dict.fromkeys(hosts))
    results = []
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(unique)))) as pool:
        for done in as_completed([pool.submit(deploy_one, plan, host) for host in unique]):
            results.append(done.result())
            report(results[-1].line())
    return results


def deploy_one(plan: Plan, host: str) -> HostResult:
    started = time.monotonic()
    log = plan.logs / f"{host.replace('/', '_')}.log"
    before = None
    with log.open("w") as out, Connection(host, plan.ssh_config) as connection:
        try:
            connection.open()
            port = connection.forward(plan.index_port)
            before = installed_version(connection)
            auth = (step(connection, out, "auth data", as_root(AUTH_SCRIPT),
                         plan.auth_data).strip() if plan.auth_data else "")
            # credentials are read when the service starts: new ones need a restart
            restart = " --restart" if auth == "written" and before else ""
            args = (f"--server --supervise{restart} --occopus-version "
                    f"{shlex.quote(plan.version)} --index-url http://127.0.0.1:{port}/")
            step(connection, out, "install", as_root(f"python3 - {args}"), plan.installer)
            step(connection, out, "check", as_root("python3 - --server --check"),
                 plan.installer)
            return HostResult(host, before, installed_version(connection),
                              time.monotonic() - started, auth_data=auth)
        except (DevError, OSError, subprocess.SubprocessError) as error:
            out.write(f"\n{error}\n")
            return HostResult(host, before, None, time.monotonic() - started,
                              f"{str(error).splitlines()[0]} (log: {log})")


def step(connection: Connection, out, name: str, command: str, stdin: Path | None) -> str:
    """Run one step, its output to the host's log; a failure names its last line."""
    result = connection.run(command, stdin)
    out.write(f"== {name}\n{result.stdout}{result.stderr}")
    out.flush()
    if result.returncode != 0:
        said = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        raise DevError(f"{name}: {said[-1] if said else f'exit {result.returncode}'}")
    return result.stdout


def installed_version(connection: Connection) -> str | None:
    result = connection.run(as_root(f"cat {STATE_FILE} 2>/dev/null || true"), None)
    try:
        return json.loads(result.stdout).get("version")
    except ValueError:
        return None


def as_root(command: str) -> str:
    """A remote shell command run as root, through sudo -n when the login is not root."""
    quoted = shlex.quote(command)
    return (f'if [ "$(id -u)" = 0 ]; then exec sh -c {quoted}; '
            f"else exec sudo -n sh -c {quoted}; fi")


class Connection:
    """One SSH connection to a host, held open as a control master for every step."""

    def __init__(self, host: str, ssh_config: Path | None) -> None:
        self.host = host
        self._folder = tempfile.TemporaryDirectory(prefix="occo-ssh-")
        self.socket = Path(self._folder.name) / "control"
        config = ["-F", str(ssh_config)] if ssh_config else []
        self.base = ["ssh", *config, "-o", "BatchMode=yes", "-o", f"ControlPath={self.socket}"]
        # the steps: no terminal (the installer comes on stdin), never a master of their own
        self.steps = [*self.base, "-T", "-o", "ControlMaster=no"]
        self.master: subprocess.Popen | None = None

    def open(self) -> None:
        self.master = subprocess.Popen(
            [*self.base, "-M", "-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=no",
             "-o", "ServerAliveInterval=15", "--", self.host],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + MASTER_TIMEOUT
        while time.monotonic() < deadline:
            if self.master.poll() is not None:
                said = self.master.stderr.read().strip().splitlines()
                raise DevError(f"ssh {self.host}: {said[-1] if said else 'connection closed'}")
            if self.control("check").returncode == 0:
                return
            time.sleep(0.1)
        raise DevError(f"ssh {self.host}: no connection within {MASTER_TIMEOUT:.0f} s")

    def forward(self, local_port: int) -> int:
        """A port of the server's loopback that leads to `local_port` here."""
        result = self.control("forward", "-R", f"127.0.0.1:0:127.0.0.1:{local_port}")
        try:
            return int(result.stdout.strip())
        except ValueError:
            raise DevError(f"ssh {self.host}: the server gave no port to forward to the index: "
                           f"{result.stderr.strip()}") from None

    def control(self, command: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self.steps, "-O", command, *args, "--", self.host],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=MASTER_TIMEOUT)

    def run(self, command: str, stdin: Path | None) -> subprocess.CompletedProcess:
        with (stdin.open() if stdin else open("/dev/null")) as source:
            try:
                return subprocess.run([*self.steps, "--", self.host, command],
                                      stdin=source, capture_output=True, text=True,
                                      timeout=STEP_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise DevError(f"no answer from {self.host} within {STEP_TIMEOUT:.0f} s") from None

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.master is not None and self.master.poll() is None:
            self.control("exit")
            try:
                self.master.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()
        self._folder.cleanup()
