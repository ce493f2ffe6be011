"""What the end-to-end tests of the occopus-* commands share (no tests here).

The tests run the console scripts installed next to this interpreter as
subprocesses, each test with a HOME of its own in a temporary folder, so
the default store (`~/.occopus/state.db`), the infralist and the local
backend's workdir (`~/.occopus/local`) are the test's alone.

- `FolderCase`: a scratch folder, the HOME and working folder of the commands it runs
  (no configuration of the machine's user is read); for commands that need no store.
- `CommandCase`: the temporary HOME, `run_command` (a command to its end,
  checking that no traceback and no crash log ever comes out), `start` (a
  command left running, its output in files), `use_config` (a `--cfg` file
  of the test's own), the state store; `table_rows` reads the node tables.
- `SimCloudCommandCase`: one simcloud server per class (its 10.x addresses
  are never contacted: every node definition says `health_check: {ping:
  false}`), faults reset after every test, simcloud node definitions;
  `another_cloud` for a server of one test; `Gate`, a health-check URL that
  holds a node until the test opens it.
- `CloudFlows`: the flows every cloud's end-to-end tests go through, each cloud saying
  which of its resources belong to an infrastructure (`cloud_node_ids`): a bad value that
  fails the build cleanly, and a build SIGKILLed while the cloud boots a node that one pass
  of `occopus-maintain` finishes.
- `FakeCloudCase`: a fake cloud of the resource handler's testing modules for the class,
  its credentials in HOME, its tutorials filled and imported, its password never printed;
  the `CloudFlows`.
- Local nodes: `local_processes` finds the processes of a HOME's local
  nodes through their environment, `kill_local_nodes` ends them.
- Tutorials and examples: `copy_tutorial` copies one of the users' tutorials
  from ../shared/compat/occopus-tutorials and fills in its placeholders
  (skipped where that folder is absent, failed in CI), `copy_filled` any
  folder; `use_auth_data` writes the credentials where a user keeps them
  (`~/.occopus/auth_data.yaml`).

Deadlines are safety nets against hanging, never timing assertions.
"""
from __future__ import annotations

import getpass
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
import yaml

from occo.compiler import compile_description
from occo.infraprocessor import testing
from occo.infobroker.store import Store, open_store
from occo.resourcehandler.base import INFRA_TAG, NODE_TAG
from occo.resourcehandler.simcloud.process import SimCloudProcess
from occo.resourcehandler.simcloud.testing import SimCloudTestCase

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "three-tier"
TUTORIALS = REPO.parent / "shared" / "compat" / "occopus-tutorials"   # users' files, as they are
DEADLINE = 120.0        # a safety net against hanging, never a timing assertion
USER = getpass.getuser()
NAME_TAG = "occopus-node-name"


def script(name: str) -> str:
    """An occopus-* console script of this environment."""
    return str(Path(sys.executable).with_name(name))


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1].strip() if lines else ""


def wait_until(condition: Callable[[], Any], what: str | Callable[[], str],
               deadline: float = DEADLINE, pause: float = 0.05) -> Any:
    """Poll `condition()` until it is true and return its value; fail at the deadline."""
    end = time.monotonic() + deadline
    while not (value := condition()):
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting until "
                                 f"{what() if callable(what) else what}")
        time.sleep(pause)
    return value


def table_rows(text: str) -> list[dict[str, Any]]:
    """The rows of the node tables in a command's output (node, node id, outcome, state,
    addresses, reason); a cell folded over several lines is joined again."""
    rows: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) != 6:
            continue
        if cells[0] == "" and rows:          # a folded continuation line
            previous = rows[-1]
            for key, cell in zip(("node", "node_id", "outcome", "state", "addresses", "reason"),
                                 cells):
                if cell:
                    previous[key] = f"{previous[key]} {cell}".strip()
            continue
        rows.append(dict(zip(("node", "node_id", "outcome", "state", "addresses", "reason"),
                             cells)))
    for row in rows:
        row["addresses"] = [] if row["addresses"] in ("", "-") else row["addresses"].split()
    return rows


def tutorial_folder(name: str) -> Path:
    """A tutorial of the shared collection. Where the collection is absent the test is
    skipped, saying so, except in CI (`CI=true`), where that is a failure."""
    if not TUTORIALS.is_dir():
        reason = (f"the Occopus tutorials are not at {TUTORIALS}: put the collection there "
                  "(../shared/compat/occopus-tutorials from the repository root)")
        if os.environ.get("CI") == "true":
            raise AssertionError(reason)
        raise unittest.SkipTest(reason)
    folder = TUTORIALS / name
    if not folder.is_dir():
        raise AssertionError(f"the tutorial {name} is missing from {TUTORIALS}")
    return folder


def port_open(address: str, port: int) -> bool:
    """Whether something accepts TCP connections there (only ever asked of 127.0.0.0/8)."""
    assert ipaddress.ip_address(address).is_loopback, address
    try:
        with socket.create_connection((address, port), timeout=1.0):
            return True
    except OSError:
        return False


# --- local nodes -------------------------------------------------------------------

def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(errors="replace"): value.decode(errors="replace") for key, value in pairs}


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split(" ", 1)[0] not in ("Z", "X")


def local_processes(home: Path, infra_id: str | None = None) -> dict[int, dict[str, str]]:
    """The live processes of the local nodes made under `home` (of one infrastructure if
    given), by pid, with their environment: every process of a node carries its node
    folder and infrastructure id in its environment."""
    workdir = str(home / ".occopus" / "local") + os.sep
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        environment = _environ(pid)
        if not environment.get("OCCOPUS_NODE_DIR", "").startswith(workdir):
            continue
        if infra_id is not None and environment.get("OCCOPUS_INFRA_ID") != infra_id:
            continue
        if _alive(pid):
            found[pid] = environment
    return found


def kill_local_nodes(home: Path) -> None:
    """SIGKILL the process group of every local node left under `home`, and wait for them."""
    for pid in local_processes(home):
        try:
            group = os.getpgid(pid)
        except ProcessLookupError:
            continue
        if group in (os.getpgrp(), 0, 1):        # never our own group
            continue
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not local_processes(home), "the leftover local nodes are gone", 30)


def free_address_range(ports: Iterable[int]) -> ipaddress.IPv4Network:
    """A /28 of 127.0.1.0/24 where nothing listens on `ports`, away from the low addresses
    that the example's default range gives out first."""
    ports = list(ports)
    candidates = [ipaddress.ip_network(f"127.0.1.{16 * block}/28") for block in range(2, 15)]
    random.shuffle(candidates)
    for network in candidates:
        if not any(port_open(str(host), port) for host in network.hosts() for port in ports):
            return network
    raise AssertionError("no /28 of 127.0.1.0/24 is free of listeners on ports "
                         f"{', '.join(map(str, ports))}")


# --- the test case ---------------------------------------------------------------

class Running:
    """A command left running, its stdout and stderr going to files."""

    def __init__(self, process: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> None:
        self.process = process
        self.stdout_path = stdout
        self.stderr_path = stderr

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait(self, timeout: float = DEADLINE) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        """Kill it if it still runs (a cleanup: the test failed half-way)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class FolderCase(unittest.TestCase):
    """A scratch folder, used as HOME and working folder of the command too, so that no
    configuration of the machine's user is read."""

    def setUp(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)

    def write(self, name, text):
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def validate(self, *args):
        return self.command("occopus-validate", *args)

    def command(self, name, *args):
        script = Path(sys.executable).with_name(name)
        env = {key: value for key, value in os.environ.items() if not key.startswith("OCCOPUS_")}
        env["HOME"] = str(self.folder)
        return subprocess.run([str(script), *map(str, args)], capture_output=True, text=True,
                              timeout=60, cwd=self.folder, env=env)


class CommandCase(unittest.TestCase):
    """A temporary HOME, and the occopus-* commands run in it."""

    maxDiff = None

    def setUp(self) -> None:
        super().setUp()
        self.scratch = Path(tempfile.mkdtemp(prefix="occo-api-e2e-"))
        self.addCleanup(shutil.rmtree, self.scratch, ignore_errors=True)
        self.home = self.scratch / "home"
        self.work = self.scratch / "work"      # the commands' working folder, and test files
        self.crash_logs = self.scratch / "crash-logs"
        self.home.mkdir()
        self.work.mkdir()
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("OCCOPUS_")}
        self.env.update(HOME=str(self.home), OCCOPUS_LOG_DIR=str(self.crash_logs))
        self.cfg: Path | None = None
        self.state_db = self.home / ".occopus" / "state.db"
        self.infralist = self.home / ".occopus" / "infralist.yaml"
        self.addCleanup(self.assert_no_crash_log)

    # --- files ---------------------------------------------------------------
    def write(self, name: str, text: str) -> Path:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def copy_tutorial(self, name: str, fill: Callable[[str], str]) -> Path:
        """A tutorial copied into the working folder and filled in (see `copy_filled`)."""
        return self.copy_filled(tutorial_folder(name), fill)

    def copy_filled(self, source: Path, fill: Callable[[str], str]) -> Path:
        """A folder of Occopus files copied into the working folder, each file's text passed
        through `fill`, which puts in the values a user puts in; no placeholder may be left."""
        target = self.work / source.name
        shutil.copytree(source, target)
        for path in sorted(target.rglob("*")):
            if path.is_file():
                filled = fill(path.read_text())
                self.assertNotIn("replace_with", filled, f"{path} keeps a placeholder")
                path.write_text(filled)
        return target

    def use_auth_data(self, text: str) -> Path:
        """`~/.occopus/auth_data.yaml`, where a user keeps their credentials."""
        path = self.home / ".occopus" / "auth_data.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def use_config(self) -> Path:
        """A config file of the test's own, passed with --cfg to every command: the store is
        `state/state.db` next to it, not the default in HOME."""
        self.cfg = self.write("occopus_config.yaml",
                              "store:\n  backend: sqlite\n  path: state/state.db\n")
        self.state_db = self.work / "state" / "state.db"
        return self.cfg

    # --- commands ------------------------------------------------------------
    def command(self, name: str, args: Iterable[str]) -> list[str]:
        args = [str(arg) for arg in args]
        if self.cfg is not None and name != "occopus-validate" and "--cfg" not in args:
            args = ["--cfg", str(self.cfg), *args]
        return [script(name), *args]

    def run_command(self, name: str, *args: Any, code: int | None = None,
                    timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
        """Run a command to its end; `code`: the exit code it must give."""
        result = subprocess.run(self.command(name, args), capture_output=True, text=True,
                                cwd=self.work, env=self.env, stdin=subprocess.DEVNULL,
                                timeout=timeout)
        self.assert_clean(result.stderr, name)
        if code is not None:
            self.assertEqual(result.returncode, code, self.describe(name, args, result))
        return result

    def start(self, name: str, *args: Any) -> Running:
        """Start a command and leave it running; it is killed at cleanup if still running."""
        label = f"{name}-{len(list(self.scratch.glob(name + '-*.out')))}"
        stdout, stderr = self.scratch / f"{label}.out", self.scratch / f"{label}.err"
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(self.command(name, args), stdout=out, stderr=err,
                                       cwd=self.work, env=self.env, stdin=subprocess.DEVNULL)
        running = Running(process, stdout, stderr)
        self.addCleanup(running.stop)
        return running

    @staticmethod
    def describe(name: str, args: Iterable[Any],
                 result: subprocess.CompletedProcess[str]) -> str:
        return (f"{name} {' '.join(map(str, args))} exited {result.returncode}\n"
                f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")

    def assert_clean(self, stderr: str, name: str) -> None:
        """Expected failures are one-line errors: never a traceback, never a crash log."""
        self.assertNotIn("Traceback", stderr, f"{name} printed a traceback:\n{stderr}")
        self.assertNotIn("internal error", stderr, f"{name} crashed:\n{stderr}")

    def assert_no_crash_log(self) -> None:
        logs = sorted(self.crash_logs.glob("*")) if self.crash_logs.is_dir() else []
        self.assertEqual(logs, [], "a command wrote a crash log:\n"
                         + "\n".join(log.read_text(errors="replace") for log in logs))

    def build(self, description: Path, *args: Any) -> str:
        """`occopus-build` that must succeed; the infrastructure id it printed last."""
        result = self.run_command("occopus-build", *args, description, code=0)
        return last_line(result.stdout)

    def destroy_if_stored(self, infra_id: str) -> None:
        """A cleanup: `occopus-destroy` of what a test that stopped half-way left stored."""
        if infra_id in self.stored_ids():
            self.run_command("occopus-destroy", "-i", infra_id)

    def listed(self) -> list[str]:
        """The infrastructures `occopus-maintain -l --json` lists."""
        return json.loads(self.run_command("occopus-maintain", "-l", "--json", code=0).stdout)

    def build_ready(self, description: Path) -> tuple[str, list[dict[str, Any]]]:
        """`occopus-build` that must succeed: the id it printed last (destroyed at cleanup if
        a test stops half-way), and its table's rows, every node created and ready."""
        built = self.run_command("occopus-build", description)
        infra_id = last_line(built.stdout)
        self.addCleanup(self.destroy_if_stored, infra_id)     # a failed build keeps what it made
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
        self.assertEqual(self.stored_ids(), [infra_id])
        rows = table_rows(built.stdout)
        for row in rows:
            self.assertEqual((row["outcome"], row["state"]), ("created", "ready"), row)
        return infra_id, rows

    def report_and_destroy(self, infra_id: str, rows: list[dict[str, Any]]) -> None:
        """The report (table and JSON) shows every node built (`rows` of the build's table)
        ready on its addresses; destroy drops each one and forgets the infrastructure, and
        `assert_nothing_left` checks the cloud."""
        made = {(row["node"], row["node_id"], tuple(row["addresses"])) for row in rows}
        reported = table_rows(self.run_command("occopus-maintain", "-i", infra_id, "-r",
                                               code=0).stdout)
        self.assertEqual({(row["node"], row["node_id"], tuple(row["addresses"]))
                          for row in reported}, made)
        self.assertEqual({row["state"] for row in reported}, {"ready"})
        self.assertEqual({(item["node_name"], item["node_id"], tuple(item["addresses"]))
                          for item in self.report(infra_id)}, made)
        destroyed = self.run_command("occopus-destroy", "-i", infra_id, code=0)
        self.assertEqual({(row["node_id"], row["outcome"]) for row in table_rows(destroyed.stdout)},
                         {(row["node_id"], "dropped") for row in rows})
        self.assert_nothing_left(infra_id)
        self.assertEqual(self.stored_ids(), [])
        self.assertEqual(self.infralist_ids(), [])

    def assert_nothing_left(self, infra_id: str) -> None:
        """What a cloud's end-to-end case checks once an infrastructure was destroyed."""
        raise NotImplementedError

    def report(self, infra_id: str) -> list[dict[str, Any]]:
        """`occopus-maintain -i ID -r --json`: every instance with its live state."""
        return json.loads(self.run_command("occopus-maintain", "-i", infra_id, "-r", "--json",
                                           code=0).stdout)

    def infralist_ids(self) -> list[str]:
        if not self.infralist.is_file():
            return []
        return [str(item) for item in yaml.safe_load(self.infralist.read_text()) or []]

    # --- the store --------------------------------------------------------------
    def open_store(self) -> Store:
        """A connection of the test's own to the state store the commands use."""
        store = open_store({"backend": "sqlite", "path": str(self.state_db)}, USER)
        self.addCleanup(store.close)
        return store

    def store_only(self, description: str) -> str:
        """The description compiled and stored, not built (a pass would build it): its id.
        `self.store` is then the test's own connection to the store."""
        static = compile_description(yaml.safe_load(description))
        self.store = self.open_store()
        self.store.add_infrastructure(static.infra_id, static.to_dict())
        return static.infra_id

    def stored_ids(self) -> list[str]:
        """The infrastructures in the store, asked directly (no command run)."""
        if not self.state_db.is_file():
            return []
        store = open_store({"backend": "sqlite", "path": str(self.state_db)}, USER)
        try:
            return store.list_infrastructures()
        finally:
            store.close()

    def records(self, infra_id: str) -> dict[str, dict[str, dict]]:
        """The stored instance records of an infrastructure: {node name: {node id: record}}."""
        store = open_store({"backend": "sqlite", "path": str(self.state_db)}, USER)
        try:
            return store.get_instances(infra_id)
        finally:
            store.close()


class TestHostsCase(CommandCase):
    """`POOL` of the checkout's test hosts (`self.hosts`), their login in the auth file for
    the `hosts` resource type and for SSH, host keys trusted on first use; `self.pool` is
    their addresses as a node definition's `pool` lists them."""

    POOL: ClassVar[int] = 2

    def setUp(self) -> None:
        super().setUp()
        from occo.util.ssh.testing import test_hosts
        self.hosts = test_hosts(self.POOL)
        key = self.write("id_test", self.hosts.login.private_key)
        login = f"{{user: {self.hosts.login.user}, private_key_file: '{key}'}}"
        self.use_auth_data(f"resource:\n  - type: hosts\n    auth_data: {login}\n"
                           f"ssh:\n  - type: hosts\n    auth_data: {login}\n")
        self.use_config()
        assert self.cfg is not None
        self.cfg.write_text("store: {backend: sqlite, path: state/state.db}\n"
                            "ssh: {host_keys: trust-first-use}\n")
        self.pool = ", ".join(target.address for target in self.hosts.targets)

    def on_hosts(self, command: str) -> list[str]:
        """What `command` prints on each test host (in root's home), straight over SSH: how a
        test looks at the machines, not through Occopus."""
        from occo.util.ssh import HostKeyPolicy, KnownHosts, Ssh
        known = KnownHosts.of_infrastructure("test-e2e-hosts", HostKeyPolicy.TRUST_FIRST_USE,
                                             folder=self.work / "known")
        ran = Ssh(known, self.hosts.login).run_all(self.hosts.targets, f"cd && {command}")
        return [result.stdout.strip() for result in ran]


class CloudFlows(CommandCase):
    """The flows every cloud's end-to-end tests go through; a cloud's case says which of its
    resources belong to an infrastructure (`cloud_node_ids`) and what destroy leaves
    (`assert_nothing_left`)."""

    def cloud_node_ids(self, infra_id: str) -> list[str]:
        """The node id of each resource the cloud holds for the infrastructure, one entry a
        resource (a node's second resource shows as a duplicate)."""
        raise NotImplementedError

    def fail_build(self, description: Path) -> tuple[str, subprocess.CompletedProcess[str]]:
        """`occopus-build` that must fail (exit 1): the infrastructure id it printed last
        (destroyed at cleanup if a test stops half-way), and what the command printed."""
        failed = self.run_command("occopus-build", description, code=1)
        infra_id = last_line(failed.stdout)
        self.addCleanup(self.destroy_if_stored, infra_id)
        return infra_id, failed

    def assert_a_bad_value_fails_the_build(
            self, description: Path, node: str, says: str, hint: str, *,
            nothing_left: bool = True
    ) -> tuple[str, dict[str, Any], subprocess.CompletedProcess[str]]:
        """A description whose one node has a value the cloud refuses: the build fails (exit
        1), the node's row failed with no address, its reason naming the node, then `says`
        (the call and the cloud's words) and `hint`; the cloud holds nothing of the
        infrastructure (`assert_nothing_left` too unless `nothing_left` is false, for a cloud
        whose check expects what destroy ended), the store the infrastructure alone, and
        `occopus-destroy -i` forgets it. The id, the row and what the build printed."""
        infra_id, failed = self.fail_build(description)
        [row] = table_rows(failed.stdout)
        self.assertEqual((row["node"], row["outcome"], row["addresses"]), (node, "failed", []))
        self.assertIn(f"node {row['node_id']}: {says}", row["reason"])
        self.assertIn(hint, row["reason"])
        self.assertIn(f"`occopus-destroy -i {infra_id}` removes it", failed.stderr)
        self.assertEqual(self.cloud_node_ids(infra_id), [])
        if nothing_left:
            self.assert_nothing_left(infra_id)
        # what is kept is the infrastructure alone, which destroy removes
        self.assertEqual(self.stored_ids(), [infra_id])
        self.run_command("occopus-destroy", "-i", infra_id, code=0)
        self.assertEqual(self.stored_ids(), [])
        return infra_id, row, failed

    def assert_a_pass_finishes_a_killed_build(
            self, description: Path, nodes: Iterable[str], booting: Callable[[], Any],
            what: str, also: Callable[[str, list[dict[str, Any]], Any], None] | None = None
    ) -> None:
        """`occopus-build` SIGKILLed once `booting()` is true (the cloud boots a node), then
        one pass (`occopus-maintain -i ID`): it succeeds and drops no orphan, the report
        (`-r`) shows `nodes` all ready, and the cloud holds one resource for each node the
        store knows and no other (no orphan, no duplicate); `also(infra_id, rows of the
        report, what booting() returned)` checks what is the cloud's own; destroy leaves
        nothing (`assert_nothing_left`)."""
        build = self.start("occopus-build", description)
        booted = wait_until(booting, what)
        os.kill(build.pid, signal.SIGKILL)
        self.assertEqual(build.wait(), -signal.SIGKILL)
        [infra_id] = self.stored_ids()
        self.addCleanup(self.destroy_if_stored, infra_id)
        passed = json.loads(self.run_command("occopus-maintain", "-i", infra_id, "--json",
                                             code=0).stdout)
        self.assertTrue(passed["ok"], passed)
        self.assertEqual(passed["recovery"]["orphans"], [])
        reported = table_rows(self.run_command("occopus-maintain", "-i", infra_id, "-r",
                                               code=0).stdout)
        self.assertEqual(sorted(row["node"] for row in reported), sorted(nodes))
        self.assertEqual({row["state"] for row in reported}, {"ready"})
        stored = sorted(node_id for ids in self.records(infra_id).values() for node_id in ids)
        self.assertEqual(sorted(row["node_id"] for row in reported), stored)
        # one resource a node the store knows, and no other: no duplicate, no orphan
        self.assertEqual(sorted(self.cloud_node_ids(infra_id)), stored)
        if also is not None:
            also(infra_id, reported, booted)
        self.run_command("occopus-destroy", "-i", infra_id, code=0)
        self.assert_nothing_left(infra_id)


class FakeCloudCase(CloudFlows):
    """A fake cloud for the class (`start_cloud`), its credentials (`AUTH_DATA`) in each test's
    HOME; `import_tutorial` fills a tutorial with the fake's values as a user would, and no
    command ever prints the fake's `PASSWORD` (nor any of `SECRETS`)."""

    AUTH_DATA: ClassVar[str]
    PASSWORD: ClassVar[str]
    # what else the tutorials hold that no command may print (e.g. a VM's admin password)
    SECRETS: ClassVar[tuple[str, ...]] = ()
    cloud: ClassVar[Any]

    @classmethod
    def start_cloud(cls) -> Any:
        raise NotImplementedError

    @staticmethod
    def fill(text: str, values: Mapping[str, Any]) -> str:
        raise NotImplementedError

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = cls.start_cloud()
        cls.addClassCleanup(cls.cloud.stop)

    def setUp(self) -> None:
        super().setUp()
        self.use_config()
        self.use_auth_data(self.AUTH_DATA)
        self.values = self.cloud.tutorial_values()

    def run_command(self, name: str, *args: Any, code: int | None = None,
                    timeout: float = DEADLINE) -> subprocess.CompletedProcess[str]:
        """As `CommandCase.run_command`; the password never appears in what it prints."""
        result = super().run_command(name, *args, code=code, timeout=timeout)
        for secret in (self.PASSWORD, *self.SECRETS):
            self.assertNotIn(secret, result.stdout + result.stderr, f"{name} printed a secret")
        return result

    def import_tutorial(self, name: str, **values: Any) -> Path:
        """The tutorial filled with the fake's values (and `values` instead of some), its node
        definitions imported; its folder."""
        filled = {**self.values, **values}
        tutorial = self.copy_tutorial(name, lambda text: self.fill(text, filled))
        imported = self.run_command("occopus-import", tutorial / "nodes" / "node_definitions.yaml",
                                    code=0)
        self.assertTrue(imported.stdout.startswith("Successfully imported nodes: "),
                        imported.stdout)
        return tutorial


class Gate(testing.Gate):
    """As a node's health check (YAML), it holds the node, and the command that waits for
    it, as long as a test wants."""

    def health_check(self) -> str:  # type: ignore[override]
        return f"{{ping: false, urls: ['{self.url}']}}"


# --- simcloud ---------------------------------------------------------------------

def simcloud_definitions(clouds: Mapping[str, SimCloudProcess],
                         health: Mapping[str, str] | None = None) -> str:
    """Node definitions, one node type per cloud, whose addresses are never contacted;
    `health`: a node type's health_check section (YAML), when not `{ping: false}`."""
    health = health or {}
    return "".join(f"'node_def:{node_type}':\n"
                   f"  - resource: {{type: simcloud, endpoint: '{cloud.url}', image: debian-12}}\n"
                   f"    health_check: {health.get(node_type, '{ping: false}')}\n"
                   for node_type, cloud in clouds.items())


def cloud_instances(cloud: SimCloudProcess, infra_id: str, *,
                    live_only: bool = True) -> list[dict[str, Any]]:
    """What simcloud holds for an infrastructure (not terminated, unless `live_only` is false).

    An API call: it waits the cloud's latency and would take an armed fault."""
    answer = httpx.get(f"{cloud.url}/instances", params={f"tag.{INFRA_TAG}": infra_id},
                       timeout=30.0, trust_env=False)
    answer.raise_for_status()
    found = answer.json()["instances"]
    return [item for item in found if not live_only or item["state"] != "terminated"]


def by_node_name(instances: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Simcloud instances' node ids, by node name."""
    grouped: dict[str, list[str]] = {}
    for item in instances:
        grouped.setdefault(item["tags"][NAME_TAG], []).append(item["tags"][NODE_TAG])
    return {name: sorted(ids) for name, ids in grouped.items()}


class SimCloudCommandCase(CommandCase, SimCloudTestCase):
    """One simcloud server for the class (`SimCloudTestCase`: faults a test sets are reset
    after it), and the commands.

    What a test builds there is left at its end: the server goes, with its
    instances, when the class is done, and each test has a store of its own.
    """

    def another_cloud(self, **faults: Any) -> SimCloudProcess:
        """A simcloud server of this test alone."""
        cloud = SimCloudProcess(boot_time=self.BOOT_TIME, **faults).start()
        self.addCleanup(cloud.close)
        return cloud

    def import_definitions(self, health: Mapping[str, str] | None = None,
                           **clouds: SimCloudProcess) -> None:
        """Write and import node definitions: node type -> the simcloud it runs on."""
        path = self.write("nodes.yaml", simcloud_definitions(clouds, health))
        self.run_command("occopus-import", path, code=0)
