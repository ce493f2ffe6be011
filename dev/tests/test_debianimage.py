"""occo-dev docker image: occopus/debian:bookworm, built, imported and reached over SSH.

The engine tests use a real dockerd of a temporary checkout's own (as test_docker does),
so they never touch the checkout's engine. Its cache is given the checkout's root
filesystem tarball when that is there, and the checkout's cache is given the one built
here when it is not: only the first run on a machine runs debootstrap (about a minute),
later ones import in seconds. The unit tests need no engine: a stand-in debootstrap
fills the root filesystem.
"""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import unittest
from pathlib import Path
from unittest import mock

from occodev import debianimage, docker
from occodev.docker_api import API_VERSION, EngineAPI
from occodev.errors import DevError
from occodev.fsutil import link_or_copy
from occodev.machines import SSH_OPTIONS, Machines

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "dev"


def require(condition: bool, reason: str) -> None:
    """A missing precondition skips the tests here, but fails them in CI, which must run them."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        raise AssertionError(f"{reason}; CI must run these tests")
    raise unittest.SkipTest(reason)


def occo_dev(root: Path, *args: str) -> subprocess.CompletedProcess:
    """`occo-dev ARGS` run as a process of its own, for the checkout at `root`."""
    env = dict(os.environ, PYTHONPATH=str(DEV), OCCO_DEV_ROOT=str(root))
    return subprocess.run([sys.executable, "-m", "occodev", *args], env=env, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=600)


class EngineImageTest(unittest.TestCase):
    """One engine for the class, with the image ensured once; each test runs its containers."""

    @classmethod
    def setUpClass(cls) -> None:
        require(os.geteuid() == 0, "dockerd and debootstrap run as root only, and this user "
                                   "is not root")
        missing = [tool for tool in ("ssh", "ssh-keygen", "ssh-keyscan") if not shutil.which(tool)]
        require(not missing, f"{', '.join(missing)} not installed (Debian's openssh-client)")
        scratch = tempfile.TemporaryDirectory(prefix="occo-debian-test-")
        cls.addClassCleanup(scratch.cleanup)
        cls.root = Path(scratch.name)
        cls.paths = docker.EnginePaths.of(cls.root)
        cls.addClassCleanup(docker.stop, cls.root)
        cls.paths.cache.mkdir(parents=True)
        ours = docker.EnginePaths.of(REPO).cache
        for cached in sorted(ours.glob("busybox-static_*.deb"))[-1:]:
            shutil.copy(cached, cls.paths.cache)
        checkout_tarball = debianimage.cached_tarball(ours)
        if checkout_tarball.is_file():
            link_or_copy(checkout_tarball, debianimage.cached_tarball(cls.paths.cache))
        docker.start(cls.root)
        cls.api = EngineAPI(cls.paths.socket)
        cls.machines = Machines(cls.root)
        cls.image = debianimage.ensure(cls.root)
        cls.tarball = debianimage.cached_tarball(cls.paths.cache)
        if not checkout_tarball.is_file():         # for the next run, and the checkout's engine
            ours.mkdir(parents=True, exist_ok=True)
            link_or_copy(cls.tarball, checkout_tarball)
        cls.key = cls.root / "id_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "occo-test",
                        "-f", str(cls.key)], check=True, stdin=subprocess.DEVNULL)

    def test_root_logs_in_with_the_given_key_only_and_python_has_venv(self):
        address = self.running_container()
        answer = self.ssh(address, "python3 -c 'import venv, sys; print(sys.version)'")
        self.assertEqual(answer.returncode, 0, answer.stderr)
        self.assertRegex(answer.stdout, r"^3\.11\.\d+ ")
        refused = subprocess.run(["ssh", *SSH_OPTIONS, "-o", "PubkeyAuthentication=no",
                                  f"root@{address}", "true"], text=True, capture_output=True,
                                 stdin=subprocess.DEVNULL, timeout=60)
        self.assertEqual(refused.returncode, 255)
        self.assertIn("Permission denied (publickey)", refused.stderr, "no password login")
        home = self.ssh(address, "stat -c '%a %U %n' /root/.ssh /root/.ssh/authorized_keys; "
                                 "sudo -n true && echo sudo works")
        self.assertEqual(home.stdout.splitlines(), ["700 root /root/.ssh",
                                                    "600 root /root/.ssh/authorized_keys",
                                                    "sudo works"], home.stderr)

    def test_a_login_user_gets_its_uid_and_sudo_and_keeps_a_key_put_in_later(self):
        machine = self.machines.start(self.key.with_suffix(".pub").read_text(), login="dev",
                                      uid=1500)
        self.addCleanup(self.machines.remove, machine.container)
        said = self.ssh(machine.address, "id -u; sudo -n true && echo sudo works", user="dev")
        self.assertEqual(said.stdout.splitlines(), ["1500", "sudo works"], said.stderr)
        self.assertEqual(self.ssh(machine.address, "true").returncode, 255, "root has no key")
        other = self.root / "id_other"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)],
                       check=True, stdin=subprocess.DEVNULL)
        replaced = self.ssh(machine.address, "cat > ~/.ssh/authorized_keys", user="dev",
                            stdin=other.with_suffix(".pub").read_text())
        self.assertEqual(replaced.returncode, 0, replaced.stderr)
        again = self.machines.restart(machine.container)       # as Vagrant's next `up`
        self.assertEqual(self.ssh(again.address, "true", user="dev").returncode, 255,
                         "the first key is not given back at a restart")
        self.assertEqual(self.ssh(again.address, "id -un", user="dev", key=other).stdout,
                         "dev\n")

    def test_each_container_makes_host_keys_of_its_own(self):
        first, second = self.running_container(), self.running_container()
        self.assertNotEqual(self.host_key(first), self.host_key(second))
        with tarfile.open(self.tarball) as tar:
            names = tar.getnames()
            sshd_run = tar.getmember("./run/sshd")
        self.assertEqual([name for name in names if "ssh_host_" in name], [], "none baked in")
        self.assertTrue(sshd_run.isdir())
        self.assertIn(f".{debianimage.BOOT}", names)
        self.assertIn("./etc/apt/sources.list", names, "apt-get update keeps its sources")
        self.assertFalse([name for name in names if name.startswith("./usr/share/doc/")])

    def test_a_second_ensure_reports_the_image_without_building_or_importing(self):
        before = self.tarball.stat()
        with mock.patch.object(debianimage, "_debootstrap",
                               side_effect=AssertionError("debootstrap ran")) as built, \
                mock.patch.object(EngineAPI, "import_tarball",
                                  side_effect=AssertionError("imported")) as imported:
            self.assertEqual(debianimage.ensure(self.root), self.current_image())
        built.assert_not_called()
        imported.assert_not_called()
        after = self.tarball.stat()
        self.assertEqual((after.st_ino, after.st_mtime_ns), (before.st_ino, before.st_mtime_ns))
        answer = occo_dev(self.root, "docker", "image", "--json")
        self.assertEqual(answer.returncode, 0, answer.stderr)
        self.assertEqual(json.loads(answer.stdout), {"image": debianimage.IMAGE,
                                                     "id": self.current_image()})

    def test_an_engine_without_the_image_imports_it_from_the_cache(self):
        status, said = self.api.request("DELETE", f"/v{API_VERSION}/images/"
                                                  f"{debianimage.IMAGE}?force=1")
        self.assertEqual(status, 200, said)
        with mock.patch.object(debianimage, "_debootstrap",
                               side_effect=AssertionError("debootstrap ran")) as built:
            image = debianimage.ensure(self.root)
        built.assert_not_called()
        self.assertEqual(image, self.current_image())

    def test_an_image_of_older_inputs_is_replaced_from_the_cache(self):
        old = self.api.import_tarball(self.tarball, debianimage.IMAGE,
                                      [*debianimage.CHANGES, f"LABEL {debianimage.LABEL}=old"])
        self.assertEqual(old, self.current_image())
        with mock.patch.object(debianimage, "_debootstrap",
                               side_effect=AssertionError("debootstrap ran")) as built:
            image = debianimage.ensure(self.root)
        built.assert_not_called()
        self.assertNotEqual(image, old)
        self.assertEqual(image, self.current_image())

    def current_image(self) -> str:
        status, body = self.api.request("GET", f"/v{API_VERSION}/images/{debianimage.IMAGE}/json")
        self.assertEqual(status, 200, body)
        return json.loads(body)["Id"]

    def running_container(self) -> str:
        """A container of the image given our key, removed after the test; its address once
        its sshd answers."""
        machine = self.machines.start(self.key.with_suffix(".pub").read_text())
        self.addCleanup(self.machines.remove, machine.container)
        return machine.address

    def ssh(self, address: str, command: str, user: str = "root", key: Path | None = None,
            stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(["ssh", *SSH_OPTIONS, "-i", str(key or self.key),
                               f"{user}@{address}", command], text=True, capture_output=True,
                              input=stdin, timeout=60)

    def host_key(self, address: str) -> str:
        scan = subprocess.run(["ssh-keyscan", "-t", "ed25519", address], text=True,
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        [line] = [line for line in scan.stdout.splitlines() if not line.startswith("#")]
        return line.split()[2]


class CacheKeyTest(unittest.TestCase):
    def test_the_key_names_what_goes_into_the_root_filesystem_and_nothing_else(self):
        key = debianimage.cache_key()
        self.assertRegex(key, r"^[0-9a-f]{16}$")
        self.assertEqual(debianimage.cache_key(), key, "the same inputs, the same key")
        self.assertEqual(debianimage.cache_key(debianimage.MIRROR), key)
        changed = {debianimage.cache_key("http://mirror.example/debian")}
        for name, value in (("SUITE", "trixie"), ("FORMAT", debianimage.FORMAT + 1),
                            ("PACKAGES", (*debianimage.PACKAGES, "curl")),
                            ("FILES", {**debianimage.FILES, "/etc/motd": ("hello\n", 0o644)})):
            with mock.patch.object(debianimage, name, value):
                changed.add(debianimage.cache_key())
        self.assertEqual(len(changed), 5, "each input gives a key of its own")
        self.assertNotIn(key, changed)
        with mock.patch.object(debianimage, "PACKAGES", tuple(reversed(debianimage.PACKAGES))):
            self.assertEqual(debianimage.cache_key(), key, "the packages' order does not count")

    def test_the_mirror_may_be_set_and_names_the_tarball(self):
        with mock.patch.dict(os.environ, {debianimage.MIRROR_VARIABLE: "http://m.example/d"}):
            self.assertEqual(debianimage.cache_key(),
                             debianimage.cache_key("http://m.example/d"))
            tarball = debianimage.cached_tarball(Path("/cache"))
        self.assertEqual(tarball, Path(f"/cache/debian-bookworm-"
                                       f"{debianimage.cache_key('http://m.example/d')}.tar"))


class RefusalTest(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        self.root = Path(scratch.name)

    def test_without_a_running_engine_it_says_how_to_start_one_and_builds_nothing(self):
        with mock.patch.object(debianimage, "_debootstrap") as built, \
                self.assertRaises(DevError) as caught:
            debianimage.ensure(self.root)
        built.assert_not_called()
        self.assertIn("start it with ./occo-dev docker start", str(caught.exception))
        self.assertFalse((self.root / "env").exists(), "nothing written")
        answer = occo_dev(self.root, "docker", "image")
        self.assertEqual((answer.returncode, answer.stdout), (1, ""))
        self.assertEqual(answer.stderr.splitlines(), [
            "occo-dev: error: the Docker engine of this checkout is not running, so "
            "occopus/debian:bookworm cannot be made in it; start it with ./occo-dev docker "
            "start"])

    def test_another_user_is_told_that_building_needs_root(self):
        with mock.patch.object(os, "geteuid", return_value=1000), \
                mock.patch.object(debianimage, "_debootstrap") as built, \
                self.assertRaises(DevError) as caught:
            debianimage.rootfs_tarball(self.root / "cache")
        built.assert_not_called()
        self.assertEqual(caught.exception.exit_code, docker.UNAVAILABLE)
        self.assertEqual(str(caught.exception), "building occopus/debian:bookworm needs root "
                         "(debootstrap); run ./occo-dev docker image as root")


class BuildTest(unittest.TestCase):
    """rootfs_tarball with a stand-in debootstrap on PATH: what it does with the root
    filesystem, its cache and its failures."""

    FAKE = textwrap.dedent("""\
        #!{python}
        import os, pathlib, sys
        print("I: Retrieving InRelease")
        if os.environ.get("FAKE_DEBOOTSTRAP_FAILS"):
            print("E: Couldn't download packages: openssh-server")
            sys.exit(1)
        root = pathlib.Path(sys.argv[-2])
        files = {{"etc/ssh/ssh_host_ed25519_key": "secret",
                  "etc/pam.d/sshd": "session    required     pam_loginuid.so\\n",
                  "etc/apt/sources.list": "deb " + sys.argv[-1] + " bookworm main\\n",
                  "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease": "lists",
                  "var/cache/apt/pkgcache.bin": "cache", "usr/share/doc/sudo/README": "doc",
                  "usr/share/locale/de/LC_MESSAGES/sudo.mo": "de",
                  "usr/share/locale/locale.alias": "alias", "bin/sh": "shell"}}
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        (root / "var/lib/apt/lists/partial").mkdir()
        """)

    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        folder = Path(scratch.name)
        self.cache = folder / "cache"
        tools = folder / "tools"
        tools.mkdir()
        fake = tools / "debootstrap"
        fake.write_text(self.FAKE.format(python=sys.executable))
        fake.chmod(0o755)
        keyring = folder / "keyring.gpg"
        keyring.write_text("")
        for patcher in (mock.patch.dict(os.environ, {"PATH": f"{tools}:{os.environ['PATH']}"}),
                        mock.patch.object(debianimage, "KEYRING", keyring),
                        mock.patch.object(os, "geteuid", return_value=0),
                        mock.patch.object(sys, "stderr", io.StringIO())):
            patcher.start()
            self.addCleanup(patcher.stop)
        os.environ.pop(debianimage.MIRROR_VARIABLE, None)      # put back by the patch's stop

    def test_the_tarball_has_the_image_files_and_no_host_keys_docs_or_lists(self):
        tarball = debianimage.rootfs_tarball(self.cache)
        self.assertEqual(tarball, debianimage.cached_tarball(self.cache))
        with tarfile.open(tarball) as tar:
            names = set(tar.getnames())
            boot = tar.getmember(f".{debianimage.BOOT}")
            pam = tar.extractfile("./etc/pam.d/sshd").read().decode()
            config = tar.extractfile("./etc/ssh/sshd_config.d/occopus.conf").read().decode()
        self.assertEqual(boot.mode, 0o755)
        self.assertIn("./run/sshd", names)
        self.assertIn("PermitRootLogin prohibit-password", config)
        self.assertIn("PasswordAuthentication no", config)
        self.assertRegex(pam, r"(?m)^session optional pam_loginuid\.so$")
        kept = {"./etc/apt/sources.list", "./usr/share/locale/locale.alias", "./bin/sh",
                "./var/lib/apt/lists/partial"}
        self.assertLessEqual(kept, names)
        gone = [name for name in names if re.search(
            r"ssh_host_|/usr/share/doc/.|/locale/de|pkgcache|lists/deb\.", name)]
        self.assertEqual(gone, [])
        self.assertEqual(sorted(path.name for path in self.cache.iterdir()),
                         sorted(["debootstrap.log", tarball.name]), "no scratch folder is left")

    def test_a_cached_tarball_is_used_as_it_is_and_older_inputs_ones_are_removed(self):
        older = self.cache / "debian-bookworm-0123456789abcdef.tar"
        self.cache.mkdir()
        older.write_text("an older build")
        tarball = debianimage.rootfs_tarball(self.cache)
        made = tarball.stat().st_mtime_ns
        with mock.patch.object(debianimage, "_debootstrap") as built:
            self.assertEqual(debianimage.rootfs_tarball(self.cache), tarball)
        built.assert_not_called()
        self.assertEqual(tarball.stat().st_mtime_ns, made)
        self.assertFalse(older.exists())

    def test_a_failed_debootstrap_shows_its_last_lines_and_leaves_no_tarball(self):
        with mock.patch.dict(os.environ, {"FAKE_DEBOOTSTRAP_FAILS": "1"}), \
                self.assertRaises(DevError) as caught:
            debianimage.rootfs_tarball(self.cache)
        message = str(caught.exception)
        log = self.cache / "debootstrap.log"
        self.assertTrue(message.startswith("debootstrap of bookworm from "
                                           f"{debianimage.MIRROR} failed (exit 1); its last "
                                           f"lines (log {log}):\n"), message)
        self.assertTrue(message.endswith("E: Couldn't download packages: openssh-server"))
        self.assertEqual(sorted(path.name for path in self.cache.iterdir()),
                         ["debootstrap.log"], "neither a tarball nor a scratch folder")


if __name__ == "__main__":
    unittest.main()
