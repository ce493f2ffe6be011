"""occo-dev docker: a real dockerd of a temporary checkout's own, started, asked and stopped.

Each engine here has its own folder and bridge, so these tests run beside the
checkout's engine (which other suites use) without touching it. The busybox
package is taken from the checkout's cache when it is there, to spare a
download; the tarball and the image are made by the code under test.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
from pathlib import Path
from unittest import mock

from occodev import docker
from occodev.apt import apt_get
from occodev.docker_api import EngineAPI
from occodev.errors import DevError

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "dev"


def can_have_an_engine() -> bool:
    """dockerd runs as root only; root can install it too."""
    return os.geteuid() == 0


def reaped(pid: int, within: float = 30.0) -> bool:
    """Whether the process is gone and reaped within `within` seconds: `stop` waits until it
    has exited, and its parent (init, for a daemon) reaps it in its own time."""
    deadline = time.monotonic() + within
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def tcp_ping(endpoint: str) -> bytes:
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/_ping")
        return connection.getresponse().read()
    finally:
        connection.close()


def occo_dev(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`occo-dev ARGS` run as a process of its own, for the checkout at `root`."""
    env = dict(os.environ, PYTHONPATH=str(DEV), OCCO_DEV_ROOT=str(root))
    return subprocess.run([sys.executable, "-m", "occodev", *args], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=600)


class EngineCase(unittest.TestCase):
    """A temporary checkout whose engine is stopped and whose folder is removed after."""

    def setUp(self) -> None:
        if os.environ.get("CI") != "true" and not can_have_an_engine():
            self.skipTest("dockerd runs as root only, and this user is not root")
        scratch = tempfile.TemporaryDirectory(prefix="occo-docker-test-")
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)
        self.paths = docker.EnginePaths.of(self.root)
        self.addCleanup(docker.stop, self.root)
        cached = sorted((REPO / "env" / "docker" / "cache").glob("busybox-static_*.deb"))
        if cached:
            self.paths.cache.mkdir(parents=True)
            shutil.copy(cached[-1], self.paths.cache)


class StartStopTest(EngineCase):
    def test_start_serves_its_socket_alone_unless_a_port_is_asked_for(self):
        state = docker.start(self.root)
        self.assertEqual(list(state["endpoints"]), ["unix"])
        self.assertEqual(self.paths.home.stat().st_mode & 0o777, 0o700, "private to its user")
        self.assertEqual(self.paths.run_dir.stat().st_mode & 0o777, 0o700)
        with_port = docker.start(self.root, tcp=True)
        self.assertNotEqual(with_port["pid"], state["pid"], "restarted with a port")
        self.assertEqual(tcp_ping(with_port["endpoints"]["tcp"]), b"OK")
        self.assertEqual(docker.start(self.root, tcp=True)["pid"], with_port["pid"])
        self.assertEqual(docker.start(self.root)["pid"], with_port["pid"], "a port is kept")

    def test_start_serves_both_endpoints_with_the_base_image_and_stop_removes_it_all(self):
        state = docker.start(self.root, tcp=True)
        endpoints = state["endpoints"]
        self.assertEqual(endpoints["unix"], f"unix://{self.paths.socket}")
        self.assertRegex(endpoints["tcp"], r"^tcp://127\.0\.0\.1:\d+$")
        api = EngineAPI(self.paths.socket)
        self.assertTrue(api.ping())
        self.assertEqual(tcp_ping(endpoints["tcp"]), b"OK")
        self.assertTrue(api.has_image(docker.BASE_IMAGE))
        with tarfile.open(state["base_tarball"]) as tar:
            self.assertTrue(tar.getmember("bin/busybox").isfile())
            self.assertEqual(tar.getmember("bin/sh").linkname, "/bin/busybox")
        self.assertTrue(Path("/sys/class/net", state["bridge"]).exists())

        status = docker.status(self.root)
        self.assertEqual((status["running"], status["pid"], status["endpoints"]),
                         (True, state["pid"], endpoints))
        self.assertEqual(status["api_version"], api.version()["ApiVersion"])

        self.assertEqual(docker.stop(self.root)["pid"], state["pid"])
        self.assertTrue(reaped(state["pid"]), f"dockerd {state['pid']} is still there")
        self.assertFalse(Path("/sys/class/net", state["bridge"]).exists())
        self.assertFalse(self.paths.socket.exists())
        self.assertEqual(docker.status(self.root), {"running": False,
                                                    "home": str(self.paths.home)})
        self.assertIsNone(docker.stop(self.root))

    def test_start_is_idempotent_and_several_processes_may_call_it_at_once(self):
        starts = [subprocess.Popen([sys.executable, "-m", "occodev", "docker", "start", "--json"],
                                   env=dict(os.environ, PYTHONPATH=str(DEV),
                                            OCCO_DEV_ROOT=str(self.root)),
                                   text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                  for _ in range(3)]
        answers = [start.communicate(timeout=600) for start in starts]
        self.assertEqual([start.returncode for start in starts], [0, 0, 0], answers)
        pids = {json.loads(out)["pid"] for out, _ in answers}
        self.assertEqual(len(pids), 1)

        tarball = self.paths.images / "busybox.tar"
        built = tarball.stat().st_mtime_ns
        image = json.loads(EngineAPI(self.paths.socket).request(
            "GET", f"/images/{docker.BASE_IMAGE}/json")[1])["Id"]
        self.assertEqual(docker.start(self.root)["pid"], pids.pop())
        self.assertEqual(tarball.stat().st_mtime_ns, built, "the tarball is made once")
        self.assertEqual(json.loads(EngineAPI(self.paths.socket).request(
            "GET", f"/images/{docker.BASE_IMAGE}/json")[1])["Id"], image, "imported once")

    def test_the_cli_answers_in_json_and_status_exits_1_when_stopped(self):
        started = occo_dev(self.root, "docker", "start", "--tcp", "--json")
        self.assertEqual(started.returncode, 0, started.stderr)
        state = json.loads(started.stdout)
        status = occo_dev(self.root, "docker", "status")
        self.assertEqual(status.returncode, 0)
        self.assertIn(f"docker engine running (pid {state['pid']}", status.stdout)
        self.assertIn(state["endpoints"]["tcp"], status.stdout)
        stopped = occo_dev(self.root, "docker", "stop")
        self.assertEqual(stopped.stdout.strip(), f"docker engine (pid {state['pid']}) stopped")
        status = occo_dev(self.root, "docker", "status", "--json")
        self.assertEqual(status.returncode, 1)
        self.assertFalse(json.loads(status.stdout)["running"])


class HardStopTest(EngineCase):
    def test_an_engine_deaf_to_sigterm_is_killed_and_leaves_nothing_behind(self):
        state = docker.start(self.root)
        api = EngineAPI(self.paths.socket)
        body = json.dumps({"Image": docker.BASE_IMAGE, "Cmd": ["sleep", "inf"],
                           "HostConfig": {"Init": True}})
        status, made = api.request("POST", "/v1.41/containers/create", body=body,
                                   headers={"Content-Type": "application/json"})
        self.assertEqual(status, 201, made)
        container = json.loads(made)["Id"]
        self.assertEqual(api.request("POST", f"/v1.41/containers/{container}/start")[0], 204)
        marker = f"{self.paths.exec_root}/containerd/".encode()
        self.assertTrue(self.processes_mentioning(marker), "containerd and the shim run")

        os.kill(state["pid"], signal.SIGSTOP)       # SIGTERM waits until SIGCONT; SIGKILL not
        with mock.patch.object(docker, "STOP_TIMEOUT", 0.5):
            self.assertEqual(docker.stop(self.root)["pid"], state["pid"])
        self.assertFalse(Path(f"/proc/{state['pid']}").exists())
        self.assertEqual(self.processes_mentioning(marker), [])
        mounts = Path("/proc/self/mountinfo").read_text()
        self.assertNotIn(str(self.paths.home), mounts)
        self.assertNotIn(str(self.paths.exec_root), mounts)
        self.assertFalse(Path("/sys/class/net", self.paths.bridge).exists())

    @staticmethod
    def processes_mentioning(marker: bytes) -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
        return found


class FailureTest(EngineCase):
    def test_a_dockerd_that_exits_at_start_is_a_one_line_error_naming_its_log(self):
        self.paths.home.mkdir(parents=True, exist_ok=True)
        self.paths.data_root.write_text("a file where the data folder should be\n")
        answer = occo_dev(self.root, "docker", "start")
        self.assertEqual(answer.returncode, 1)
        self.assertEqual(answer.stdout, "")
        [line] = answer.stderr.splitlines()
        self.assertRegex(line, r"^occo-dev: error: dockerd exited at start \(exit \d+\): .*"
                               r"points to a file")
        self.assertIn(f"(log: {self.paths.log})", line)
        self.assertIsNone(docker.running_state(self.paths))

    def test_a_stale_state_file_is_not_taken_for_a_running_engine(self):
        self.paths.home.mkdir(parents=True, exist_ok=True)
        self.paths.state.write_text(json.dumps({"pid": os.getpid(), "endpoints": {}}))
        self.assertFalse(docker.status(self.root)["running"])


class NoDockerdTest(unittest.TestCase):
    def test_a_missing_dockerd_says_how_to_install_it_when_this_user_cannot(self):
        with tempfile.TemporaryDirectory() as empty, \
                mock.patch.object(docker, "SEARCH_PATH", empty), \
                mock.patch.dict(os.environ, {"PATH": empty}), \
                mock.patch.object(os, "geteuid", return_value=1000), \
                self.assertRaises(DevError) as caught:
            docker.find_dockerd()
        self.assertEqual(caught.exception.exit_code, docker.UNAVAILABLE)
        self.assertEqual(str(caught.exception), "dockerd is not installed; install Debian's "
                         "docker.io as root with: apt-get install -y docker.io")

    def test_a_checkout_with_a_long_path_keeps_its_sockets_short(self):
        short = docker.EnginePaths.of(Path("/work/main"))
        self.assertEqual(short.socket, Path("/work/main/env/docker/docker.sock"))
        deep = docker.EnginePaths.of(Path("/tmp") / ("a-long-folder-name/" * 5))
        self.assertEqual(deep.socket.parent, Path(f"/tmp/occo-docker-{deep.tag}"))
        self.assertLessEqual(len(str(deep.exec_root / docker.EXEC_ROOT_SOCKET)),
                             docker.LONGEST_SOCKET)
        self.assertEqual(deep.data_root, deep.home / "data")
        self.assertLessEqual(len(deep.bridge), 15)


WAIT = "-o DPkg::Lock::Timeout=300"


class AptTest(unittest.TestCase):
    """apt_get against a stand-in apt-get that knows no package until `apt-get update`."""

    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)
        self.calls = self.folder / "calls"
        fake = self.folder / "apt-get"
        fake.write_text(f"""#!/bin/sh
echo "$*" >> {self.calls}
case "$*" in
  *" update") touch {self.folder}/lists; exit 0 ;;
esac
[ -e {self.folder}/lists ] && exit 0
for package; do :; done
echo "E: Unable to locate package $package"
exit 100
""")
        fake.chmod(0o755)
        patcher = mock.patch.dict(os.environ, {"PATH": f"{self.folder}:{os.environ['PATH']}"})
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_as_root_a_failure_is_retried_once_after_an_update(self):
        with mock.patch.object(os, "geteuid", return_value=0):
            apt_get(["install", "-y", "docker.io"])
        self.assertEqual(self.calls.read_text().splitlines(),       # each waits for apt's lock
                         [f"{WAIT} install -y docker.io", f"{WAIT} update",
                          f"{WAIT} install -y docker.io"])

    def test_a_download_as_root_runs_outside_apts_sandbox(self):
        (self.folder / "lists").touch()
        with mock.patch.object(os, "geteuid", return_value=0):
            apt_get(["download", "busybox-static"], cwd=self.folder)
        self.assertEqual(self.calls.read_text().splitlines(),
                         [f"{WAIT} -o APT::Sandbox::User=root download busybox-static"])

    def test_another_user_is_told_what_to_run_in_one_line(self):
        with mock.patch.object(os, "geteuid", return_value=1000), \
                self.assertRaises(DevError) as caught:
            apt_get(["install", "-y", "docker.io"], exit_code=docker.UNAVAILABLE)
        self.assertEqual(str(caught.exception),
                         "apt-get install -y docker.io failed: E: Unable to locate package "
                         "docker.io; run apt-get update as root, then try again")
        self.assertEqual(caught.exception.exit_code, docker.UNAVAILABLE)
        self.assertEqual(self.calls.read_text().splitlines(), [f"{WAIT} install -y docker.io"])
