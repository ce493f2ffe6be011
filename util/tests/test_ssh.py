"""occo.util.ssh against real test hosts (network namespaces with Debian's sshd, made by
`./occo-dev hosts up`): commands, host keys, logins, boots, bounds, copies."""
from __future__ import annotations

import asyncio
import os
import socket
import stat
import tempfile
import threading
import unittest
from pathlib import Path

from occo.util.errors import ConfigurationError
from occo.util.ssh import (MAX_OUTPUT, HostKey, HostKeyPolicy, HostKeyRefused, KnownHosts, Ssh,
                           SshAccess, SshError, SshLogin, SshOptions, SshTarget, SshUnreachable)
from occo.util.ssh.sessions import asyncssh
from occo.util.ssh.testing import test_hosts

HOSTS = 4
OTHER_KEY = HostKey("ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIGJ3ZXN0IGtleSB0aGF0IGlzIG5vIGhvc3Qn")


class Scratch(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="occo-ssh-")
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)

    def known(self, policy: HostKeyPolicy = HostKeyPolicy.TRUST_FIRST_USE,
              name: str = "infra") -> KnownHosts:
        return KnownHosts.of_infrastructure(name, policy, folder=self.folder / "known")


class KnownHostsTest(Scratch):
    def test_trust_on_first_use_records_a_key_then_requires_it(self) -> None:
        known = self.known()
        key = HostKey("ssh-ed25519", "AAAAfirst")
        known.check("10.0.0.1", 22, key)
        known.check("10.0.0.1", 22, key)
        known.check("10.0.0.1", 2222, OTHER_KEY)        # another port is another host
        self.assertEqual(known.keys("10.0.0.1"), [key])
        self.assertEqual(known.keys("10.0.0.1", 2222), [OTHER_KEY])
        with self.assertRaises(HostKeyRefused) as caught:
            known.check("10.0.0.1", 22, OTHER_KEY)
        self.assertIn("the host key of 10.0.0.1 changed", caught.exception.message)
        self.assertIn("remove its line", caught.exception.hint)
        self.assertEqual(known.path.read_text(),
                         "10.0.0.1 ssh-ed25519 AAAAfirst\n"
                         f"[10.0.0.1]:2222 {OTHER_KEY}\n")
        self.assertEqual(stat.S_IMODE(known.path.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(known.path.parent.stat().st_mode), 0o700)

    def test_a_new_machine_at_a_reused_address_is_another_host(self) -> None:
        known = self.known()
        first, second = HostKey("ssh-ed25519", "AAAAfirst"), HostKey("ssh-ed25519", "AAAAnew")
        known.check("10.0.0.4", 22, first, machine="node-1")
        known.check("10.0.0.4", 22, second, machine="node-2")       # node-1 is gone
        with self.assertRaises(HostKeyRefused):
            known.check("10.0.0.4", 22, second, machine="node-1")
        self.assertEqual(known.keys("10.0.0.4", machine="node-2"), [second])
        # a line added by hand holds for any machine at its address
        known.path.write_text(f"10.0.0.4 {OTHER_KEY}\n")
        known.check("10.0.0.4", 22, OTHER_KEY, machine="node-3")
        with self.assertRaises(ValueError):
            known.check("10.0.0.4", 22, OTHER_KEY, machine="two words")

    def test_strict_refuses_an_unknown_host_and_takes_a_key_the_user_added(self) -> None:
        known = self.known(HostKeyPolicy.STRICT)
        with self.assertRaises(HostKeyRefused) as caught:
            known.check("10.0.0.2", 22, OTHER_KEY)
        self.assertIn("trust-first-use", caught.exception.hint)
        self.assertEqual(known.path.read_text(), "")
        known.path.write_text(f"# added by hand\n10.0.0.2 {OTHER_KEY} comment\n")
        known.check("10.0.0.2", 22, OTHER_KEY)

    def test_each_infrastructure_has_a_file_of_its_own_and_forgets_it(self) -> None:
        first, second = self.known(name="one"), self.known(name="two")
        first.check("10.0.0.3", 22, OTHER_KEY)
        self.assertEqual(second.keys("10.0.0.3"), [])
        first.forget()
        self.assertFalse(first.path.exists())
        for bad in ("", "../x", ".hidden"):
            with self.subTest(bad), self.assertRaises(ValueError):
                self.known(name=bad)


class LoginTest(Scratch):
    def test_auth_data_gives_a_user_and_a_key_and_the_key_is_never_shown(self) -> None:
        text = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        path = self.folder / "id"
        path.write_text(text)
        login = SshLogin.from_auth_data({"user": "deb", "private_key_file": str(path)})
        self.assertEqual((login.user, login.private_key), ("deb", text))
        self.assertNotIn(text[40:80], repr(login))
        self.assertEqual(SshLogin.from_auth_data({"user": "deb", "private_key": text}), login)

    def test_bad_auth_data_is_a_clear_error_quoting_no_key(self) -> None:
        cases = {
            "no user": {"private_key": "k"},
            "no key": {"user": "deb"},
            "two keys": {"user": "deb", "private_key": "k", "private_key_file": "/k"},
            "a missing file": {"user": "deb", "private_key_file": str(self.folder / "nope")},
        }
        for name, data in cases.items():
            with self.subTest(name), self.assertRaises(ConfigurationError):
                SshLogin.from_auth_data(data)
        secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nnotakeyatall\n"
        with self.assertRaises(ConfigurationError) as caught:
            SshLogin("deb", secret).key()
        self.assertNotIn("notakeyatall", str(caught.exception))


class HostsTest(Scratch):
    """Commands and copies on the test hosts."""

    def setUp(self) -> None:
        super().setUp()
        self.hosts = test_hosts(HOSTS)

    def ssh(self, **options: float) -> Ssh:
        return Ssh(self.known(), self.hosts.login, SshOptions(**options))  # type: ignore[arg-type]

    def test_a_command_runs_on_every_host_with_its_status_and_output(self) -> None:
        ran = self.ssh().run_all(self.hosts.targets, "hostname; echo said >&2; exit 3")
        self.assertEqual([(r.target, r.stdout, r.stderr, r.exit_status, r.ok) for r in ran],
                         [(target, f"{target.name}\n", "said\n", 3, False)
                          for target in self.hosts.targets])
        # each host's key was recorded on first use, and is what it offers again
        again = self.ssh().run_all(self.hosts.targets, "true")
        self.assertTrue(all(r.ok for r in again), again)
        self.assertEqual(len(self.known().path.read_text().splitlines()), HOSTS)

    def test_a_changed_host_key_is_refused_and_the_file_kept(self) -> None:
        target = self.hosts.targets[0]
        known = self.known()
        known.path.write_text(f"{target.address} {OTHER_KEY}\n")
        [ran] = Ssh(known, self.hosts.login).run_all([target], "true")
        self.assertIsNone(ran.exit_status)
        self.assertIn(f"the host key of {target.address} changed", ran.error or "")
        self.assertEqual(known.path.read_text(), f"{target.address} {OTHER_KEY}\n")

    def test_strict_checking_refuses_a_host_not_in_the_file(self) -> None:
        target = self.hosts.targets[0]
        [ran] = Ssh(self.known(HostKeyPolicy.STRICT), self.hosts.login).run_all([target], "true")
        self.assertIn("checked strictly", ran.error or "")

    def test_an_access_verifies_a_machine_telling_unreachable_from_refused(self) -> None:
        target = self.hosts.targets[0]
        known = self.known()
        SshAccess(target, self.hosts.login, known).verify()
        self.assertEqual(len(known.keys(target.address)), 1, "recorded on first use")
        self.assertEqual(SshAccess(target, self.hosts.login, known).run("hostname").stdout,
                         f"{target.name}\n")
        strict = SshAccess(target, self.hosts.login, self.known(HostKeyPolicy.STRICT, "other"))
        with self.assertRaises(SshError) as refused:
            strict.verify()
        self.assertNotIsInstance(refused.exception, SshUnreachable)
        nobody = SshAccess(SshTarget("127.0.0.1", unused_port()), self.hosts.login, known,
                           SshOptions(connect_timeout=2))
        with self.assertRaises(SshUnreachable):
            nobody.verify()

    def test_a_key_the_hosts_do_not_take_is_refused_the_login(self) -> None:
        stranger = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
        login = SshLogin(self.hosts.login.user, stranger)
        [ran] = Ssh(self.known(), login).run_all(self.hosts.targets[:1], "true")
        self.assertEqual(ran.error, f"{self.hosts.targets[0].label}: root was refused the login")
        self.assertNotIn(stranger[40:80], repr(ran))

    def test_a_host_that_does_not_take_connections_yet_is_tried_until_it_does(self) -> None:
        relay = Relay(self.hosts.targets[0], refuse_first=2)
        relay.start()
        self.addCleanup(relay.stop)
        target = SshTarget("127.0.0.1", relay.port, "booting")
        [ran] = self.ssh(boot_wait=60).run_all([target], "hostname")
        self.assertEqual((ran.stdout, ran.exit_status), (f"{self.hosts.targets[0].name}\n", 0))
        self.assertEqual(relay.refused, 2)
        # without a boot wait the first refusal is the answer
        relay.refuse_next = 1
        [ran] = self.ssh().run_all([target], "hostname")
        self.assertIn("booting (127.0.0.1", ran.error or "")

    def test_output_is_kept_up_to_a_bound_and_a_command_up_to_its_timeout(self) -> None:
        target = self.hosts.targets[:1]
        [ran] = self.ssh().run_all(target, f"head -c {MAX_OUTPUT + 12345} /dev/zero")
        self.assertEqual((len(ran.stdout), ran.dropped, ran.exit_status),
                         (MAX_OUTPUT, 12345, 0))
        [ran] = self.ssh(command_timeout=0.5).run_all(target, "echo begun; exec sleep 600")
        self.assertEqual((ran.exit_status, ran.stdout), (None, "begun\n"))
        self.assertEqual(ran.error, "still running after 0.5 s: stopped")

    def test_a_command_reads_an_empty_stdin_and_a_session_cut_off_is_an_error(self) -> None:
        targets = self.hosts.targets[:2]
        [read] = self.ssh(command_timeout=60).run_all(targets[:1], "cat; echo read all")
        self.assertEqual((read.stdout, read.exit_status), ("read all\n", 0))
        # the first host's session dies under the command, as in a reboot: that host's
        # error; the other host's output is kept
        first = targets[0].name
        cut, whole = self.ssh().run_all(
            targets, f'[ "$(hostname)" = {first} ] && kill -9 $PPID; echo done')
        self.assertIsNone(cut.exit_status)
        self.assertIn("the session ended", cut.error or "")
        self.assertEqual((whole.stdout, whole.exit_status, whole.error), ("done\n", 0, None))

    def test_files_and_folders_are_copied_both_ways(self) -> None:
        source = self.folder / "site"
        (source / "modules").mkdir(parents=True)
        (source / "site.pp").write_text("notice('hello')\n")
        (source / "modules" / "m.pp").write_text("class m {}\n")
        target = self.hosts.targets[1]
        ssh = self.ssh()
        remote = f"/tmp/occo-ssh-test-{os.getpid()}"

        async def round_trip() -> None:
            await ssh.put(target, source, remote)
            await ssh.get(target, remote, self.folder / "back")
        asyncio.run(round_trip())
        self.addCleanup(ssh.run_all, [target], f"rm -rf {remote}")
        self.assertEqual((self.folder / "back" / "modules" / "m.pp").read_text(), "class m {}\n")
        self.assertEqual((self.folder / "back" / "site.pp").read_text(), "notice('hello')\n")

    def test_at_most_parallel_hosts_are_worked_on_at_once(self) -> None:
        ssh = self.ssh(parallel=2)
        at_once, most = 0, 0

        async def work(target: SshTarget) -> str:
            nonlocal at_once, most
            at_once += 1
            most = max(most, at_once)
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            at_once -= 1
            return target.label
        done = asyncio.run(ssh.each(self.hosts.targets, work))
        self.assertEqual(done, [target.label for target in self.hosts.targets])
        self.assertEqual(most, 2)


class Relay(threading.Thread):
    """A TCP port that closes its first `refuse_first` connections at once, as a booting
    machine's does, then relays to `target`'s sshd."""

    def __init__(self, target: SshTarget, refuse_first: int) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.refuse_next = refuse_first
        self.refused = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self.serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()

    def start(self) -> None:
        super().start()
        self.ready.wait(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(30)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            self.refused += 1
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(self.target.address,
                                                             self.target.port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
            sink.close()
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer),
                             return_exceptions=True)


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    unittest.main()
