"""occopus-shell on an infrastructure of the checkout's test hosts (network namespaces with
sshd): driven through a pseudo-terminal as a user types (prompt, tab completion, history,
Ctrl+C and Ctrl+D, a login to an instance), and with its commands from a pipe."""
from __future__ import annotations

import os
import stat
import subprocess

import pexpect

from .support import DEADLINE, TestHostsCase, last_line

DESCRIPTION = """\
infra_name: yard
nodes:
  - {name: db, type: machine}
  - {name: app, type: machine, scaling: {min: 2, max: 2}}
"""
DEFINITIONS = """\
'node_def:machine':
  - resource:
      type: hosts
      host_keys: trust-first-use
      pool: [{pool}]
    health_check: {{ping: false}}
"""


class ShellCase(TestHostsCase):
    POOL = 3

    def setUp(self) -> None:
        super().setUp()
        self.run_command("occopus-import", self.write("nodes.yaml",
                                                      DEFINITIONS.format(pool=self.pool)), code=0)
        built = self.run_command("occopus-build", self.write("yard.yaml", DESCRIPTION), code=0)
        self.infra_id = last_line(built.stdout)
        self.addCleanup(self.destroy_if_stored, self.infra_id)
        self.made = [record for by_id in self.records(self.infra_id).values()
                     for record in by_id.values()]

    def of(self, name: str) -> list[dict]:
        return sorted((record for record in self.made if record["name"] == name),
                      key=lambda record: record["node_id"])


class TerminalTest(ShellCase):
    def spawn(self) -> pexpect.spawn:
        command = self.command("occopus-shell", ["-i", self.infra_id])
        shell = pexpect.spawn(command[0], command[1:], cwd=str(self.work),
                              env={**self.env, "TERM": "dumb"}, encoding="utf-8",
                              timeout=DEADLINE, dimensions=(40, 200))
        self.addCleanup(shell.close, force=True)
        return shell

    def prompt(self, shell: pexpect.spawn, where: str) -> str:
        """What the shell printed up to its next prompt, which must show `where`."""
        shell.expect_exact(f"occopus {self.infra_id[:8]}:{where}> ")
        return shell.before

    def test_a_session_on_a_terminal(self) -> None:
        [db] = self.of("db")
        apps = self.of("app")
        shell = self.spawn()
        banner = self.prompt(shell, "/")
        self.assertIn("2 node(s), 3 instance(s)", banner)

        shell.sendline("ls")
        listed = self.prompt(shell, "/")
        self.assertIn("app/  2 instance(s): 2 ready", listed)
        self.assertIn("db/  1 instance(s): 1 ready", listed)

        shell.send("cd d\t")       # completed as far as db/ (db/ID would come next)
        shell.expect_exact("b/")
        shell.sendline("")
        self.prompt(shell, "/db")
        shell.sendline("status")
        self.assertIn(f"db/{db['node_id'][:8]}  ready  {db['addresses'][0]}",
                      self.prompt(shell, "/db"))

        shell.sendline("run hostname")
        ran = self.prompt(shell, "/db")
        self.assertIn(f"[db/{db['node_id'][:8]} {db['addresses'][0]}] ", ran)
        self.assertIn("1 of 1 instance(s) exited 0", ran)

        # files to and from the two app instances
        self.write("settings.txt", "colour: green\n")
        shell.sendline("cd /app")
        self.prompt(shell, "/app")
        shell.sendline("put settings.txt occopus-shell-test.txt")
        self.assertEqual(self.prompt(shell, "/app").count("settings.txt -> "
                                                          "occopus-shell-test.txt done"), 2)
        shell.sendline("get occopus-shell-test.txt back")
        self.prompt(shell, "/app")
        for app in apps:
            copied = self.work / "back" / f"app-{app['node_id'][:8]}" / "occopus-shell-test.txt"
            self.assertEqual(copied.read_text(), "colour: green\n")
        shell.sendline("run rm occopus-shell-test.txt")
        self.assertIn("2 of 2 instance(s) exited 0", self.prompt(shell, "/app"))

        # one instance, by a prefix of its id, and a login to it
        shell.sendline(f"cd {apps[0]['node_id'][:6]}")
        self.prompt(shell, f"/app/{apps[0]['node_id'][:8]}")
        shell.sendline("ssh")
        shell.sendline("echo answer-$((6*7)); exit")
        shell.expect_exact("answer-42")
        self.prompt(shell, f"/app/{apps[0]['node_id'][:8]}")

        # mistakes are said, and the shell goes on
        shell.sendline("cd /nowhere")
        said = self.prompt(shell, f"/app/{apps[0]['node_id'][:8]}")
        self.assertIn("error: no node 'nowhere' in infrastructure", said)
        self.assertIn("its nodes: app, db", said)
        shell.sendline("reboot-everything")
        self.assertIn("error: no command 'reboot-everything'", self.prompt(shell, "/app/"
                      + apps[0]["node_id"][:8]))
        shell.send("half a line")
        shell.expect_exact("half a line")
        shell.sendintr()                          # Ctrl+C drops the line, not the shell
        shell.expect_exact("^C")
        self.prompt(shell, f"/app/{apps[0]['node_id'][:8]}")
        shell.sendline("cd ..")
        self.prompt(shell, "/app")
        shell.sendeof()                           # Ctrl+D leaves
        shell.expect(pexpect.EOF)
        shell.close()
        self.assertEqual(shell.exitstatus, 0)

        history = self.home / ".occopus" / "shell_history"
        self.assertEqual(stat.S_IMODE(os.stat(history).st_mode), 0o600)
        lines = history.read_text().splitlines()
        self.assertIn("run hostname", lines)
        self.assertIn("cd ..", lines)
        # the next session reads it: the arrow up brings the last command back
        again = self.spawn()
        self.prompt(again, "/")
        again.send("\x1b[A")
        again.expect_exact("cd ..")
        again.sendline("")
        self.prompt(again, "/")
        again.sendline("exit")
        again.expect(pexpect.EOF)


class PipeTest(ShellCase):
    def test_commands_from_a_pipe_run_one_a_line_without_a_prompt_and_failures_count(self) -> None:
        [db] = self.of("db")
        result = subprocess.run(self.command("occopus-shell", ["-i", self.infra_id]),
                                input="cd db\nstatus\ncd /nowhere\nrun echo hi\n",
                                capture_output=True, text=True, cwd=self.work, env=self.env,
                                timeout=DEADLINE)
        self.assertEqual(result.returncode, 1, "a command failed: " + result.stderr)
        self.assertNotIn("occopus ", result.stdout)
        self.assertIn(f"db/{db['node_id'][:8]}  ready  {db['addresses'][0]}", result.stdout)
        self.assertIn(f"[db/{db['node_id'][:8]} {db['addresses'][0]}] hi", result.stdout)
        self.assertIn("error: no node 'nowhere'", result.stderr)
        self.assert_clean(result.stderr, "occopus-shell")
        fine = subprocess.run(self.command("occopus-shell", ["-i", self.infra_id]),
                              input="ls\ncd app\nrun true\n", capture_output=True, text=True,
                              cwd=self.work, env=self.env, timeout=DEADLINE)
        self.assertEqual(fine.returncode, 0, fine.stderr)
        self.assertIn("2 of 2 instance(s) exited 0", fine.stdout)

    def test_an_unknown_infrastructure_is_one_line(self) -> None:
        result = self.run_command("occopus-shell", "-i", "no-such-infrastructure", code=1)
        self.assertIn("no-such-infrastructure", result.stderr)
