"""`InfraShell`: occopus-shell's loop of commands over one infrastructure.

The selection works like a working folder: `/` is every instance, `/NODE` the
instances of a node, `/NODE/ID` one instance (an id may be cut to any prefix
no other instance of the node shares). `ls` and `status` show what is under
the selection with the states and addresses last stored (`refresh` reads them
again), `cd` moves, `run` runs a command on the selection over SSH as
occopus-run does, `ssh` logs in to one instance with OpenSSH, `put` and `get`
copy files by SFTP. Tab completes commands, nodes, instances and local paths.
"""
from __future__ import annotations

import asyncio
import cmd
import contextlib
import glob
import os
import shlex
import subprocess
import sys
import tempfile
import termios
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from occo.infraprocessor.engine.survey import InstanceStatus
from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.ssh.openssh import key_file, openssh_options
from occo.util.ssh.sessions import Ssh, SshAccess, SshLogin, at_most

from .reach import Instance, instances, run_on, sessions, show_ran


class ShellError(OccoError):
    """A shell command cannot be done as asked; said, and the shell goes on."""


Selection = tuple[str | None, str | None]      # (node name, node id): None is "all"


class InfraShell(cmd.Cmd):
    """One infrastructure's shell; `read` gives its instances as last stored."""

    def __init__(self, settings: Settings, infra_id: str, node_names: Sequence[str],
                 read: Callable[[], list[InstanceStatus]], *,
                 stdin: IO[str] | None = None, stdout: IO[str] | None = None,
                 interactive: bool = True) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        self.settings, self.infra_id = settings, infra_id
        self.node_names = sorted(node_names)
        self.read = read
        self.use_rawinput = interactive
        self.interactive = interactive
        self.selection: Selection = (None, None)
        self.failures = 0               # commands that failed (exit 1 of a piped session)
        self.statuses = read()
        self._prompt()

    # --- the loop ------------------------------------------------------------------
    def _prompt(self) -> None:
        self.prompt = f"occopus {self.infra_id[:8]}:{self.path(self.selection)}> " \
            if self.interactive else ""

    def onecmd(self, line: str) -> bool:
        try:
            return super().onecmd(line)
        except OccoError as error:
            hint = f" ({error.hint})" if error.hint else ""
            self._failed(f"{error.message}{hint}")
        except OSError as error:        # a file that cannot be written, no ssh client, ...
            self._failed(f"{error.strerror or error}"
                         + (f": {error.filename}" if error.filename else ""))
        except KeyboardInterrupt:
            self.failures += 1
            print("^C", file=sys.stderr, flush=True)
        return False

    def _failed(self, said: str) -> None:
        self.failures += 1
        print(f"error: {said}", file=sys.stderr, flush=True)

    def postcmd(self, stop: bool, line: str) -> bool:
        self._prompt()
        sys.stdout.flush()
        return stop

    def emptyline(self) -> bool:
        return False                    # not cmd's default: the last command again

    def default(self, line: str) -> bool:
        raise ShellError(f"no command '{line.split()[0]}'", hint="`help` lists the commands")

    def do_exit(self, arg: str) -> bool:
        """exit: leave the shell (also quit, or Ctrl+D)."""
        return True

    do_quit = do_exit

    def do_EOF(self, arg: str) -> bool:
        if self.interactive:
            print(file=self.stdout)
        return True

    # --- where we are ------------------------------------------------------------------
    def do_cd(self, arg: str) -> None:
        """cd [PATH]: select a node (cd web), an instance (cd web/1a2b, or cd 1a2b within a
        node), the parent (cd ..) or everything (cd, cd /)."""
        self.selection = self.resolve(arg.strip() or "/")

    def do_pwd(self, arg: str) -> None:
        """pwd: the selection."""
        print(self.path(self.selection), file=self.stdout)

    def do_refresh(self, arg: str) -> None:
        """refresh: read the instances' states and addresses again from the store."""
        self.statuses = self.read()
        node, node_id = self.selection
        if node_id is not None and not self._of(node, node_id):
            self.selection = (node, None)
            print(f"instance {node_id[:8]} is gone; now at {self.path(self.selection)}",
                  file=self.stdout)

    def do_ls(self, arg: str) -> None:
        """ls [PATH]: the nodes with their instances' states, a node's instances, or an
        instance."""
        node, node_id = self.resolve(arg.strip() or ".")
        if node is None:
            for name in self.node_names:
                found = self._of(name)
                states: dict[str, int] = {}
                for status in found:
                    states[str(status.state)] = states.get(str(status.state), 0) + 1
                summary = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
                print(f"{name}/  {len(found)} instance(s)" + (f": {summary}" if summary else ""),
                      file=self.stdout)
        else:
            for status in self._of(node, node_id):
                print(self._line(status, full=node_id is not None), file=self.stdout)

    def do_status(self, arg: str) -> None:
        """status [PATH]: every instance of the selection with its node, state and
        addresses."""
        node, node_id = self.resolve(arg.strip() or ".")
        found = self._of(node, node_id)
        for status in found:
            print(f"{status.record.name}/{self._line(status)}", file=self.stdout)
        if not found:
            print("no instance", file=self.stdout)

    # --- over SSH ----------------------------------------------------------------------
    def do_run(self, arg: str) -> None:
        """run COMMAND: the command on every instance of the selection, at once, over SSH
        (as occopus-run)."""
        if not arg.strip():
            raise ShellError("give the command to run", hint="e.g. run uptime")
        targets = self._targets(self._of(*self.selection))
        ran = run_on(self.settings, self.infra_id, targets, arg.strip(), None)
        show_ran(targets, ran)
        if not all(result.ok for result in ran):
            self.failures += 1

    def do_ssh(self, arg: str) -> None:
        """ssh [PATH]: log in to one instance (the selected one, or the only one of the
        selected node) with OpenSSH; exit to come back."""
        if not self.interactive:
            raise ShellError("ssh logs in from a terminal only", hint="use run COMMAND")
        node, node_id = self.resolve(arg.strip() or ".")
        found = self._of(node, node_id)
        if len(found) != 1:
            raise ShellError(f"{self.path((node, node_id))} holds {len(found)} instances; "
                             "ssh logs in to one", hint="cd to an instance, or give its path")
        [instance] = self._targets(found)
        ssh = sessions(self.settings, self.infra_id, [instance])[self._login(instance)]
        # the host key checked (and recorded on first use, where the settings allow) by
        # Occopus's own session, before OpenSSH requires it
        SshAccess(instance.target, ssh.login, ssh.known_hosts, ssh.options).verify()
        with tempfile.TemporaryDirectory(prefix="occopus-ssh-") as folder:
            key = key_file(Path(folder), ssh.login.private_key)
            command = ["ssh", "-i", str(key), "-p", str(instance.target.port),
                       "-l", ssh.login.user,
                       *openssh_options(ssh.known_hosts.path, ssh.options.connect_timeout),
                       instance.target.address]
            self.stdout.flush()
            with _terminal_kept():
                subprocess.run(command, check=False)

    def do_put(self, arg: str) -> None:
        """put LOCAL [REMOTE]: copy a local file or folder to every instance of the
        selection (REMOTE: its name, in the login's home)."""
        words = _words(arg, 1, 2, "put LOCAL [REMOTE]")
        local = Path(words[0]).expanduser()
        if not local.exists():
            raise ShellError(f"{local} does not exist")
        remote = words[1] if len(words) > 1 else local.name
        targets = self._targets(self._of(*self.selection))
        self._sftp(targets, lambda ssh, instance: ssh.put(instance.target, local, remote),
                   f"{local} -> {remote}")

    def do_get(self, arg: str) -> None:
        """get REMOTE [LOCAL]: copy a file or folder from the instances of the selection:
        from one, to LOCAL (its name, here); from several, into LOCAL/NODE-ID/."""
        words = _words(arg, 1, 2, "get REMOTE [LOCAL]")
        remote = words[0]
        targets = self._targets(self._of(*self.selection))
        name = Path(remote).name or "copy"
        if len(targets) == 1:
            place = Path(words[1]).expanduser() if len(words) > 1 else Path(name)
            places = {targets[0].record.node_id: place}
        else:
            folder = Path(words[1]).expanduser() if len(words) > 1 else Path(".")
            places = {}
            for instance in targets:
                mine = folder / f"{instance.record.name}-{instance.record.node_id[:8]}"
                mine.mkdir(parents=True, exist_ok=True)
                places[instance.record.node_id] = mine / name
        self._sftp(targets, lambda ssh, instance: ssh.get(
            instance.target, remote, places[instance.record.node_id]), f"{remote} ->")

    # --- completion ---------------------------------------------------------------------
    def complete_cd(self, text: str, line: str, begin: int, end: int) -> list[str]:
        return self._complete_path(text)

    complete_ls = complete_status = complete_ssh = complete_cd

    def complete_put(self, text: str, line: str, begin: int, end: int) -> list[str]:
        if len(line[:begin].split()) > 1:       # the remote name
            return []
        return [path + ("/" if os.path.isdir(path) else "")
                for path in glob.glob(os.path.expanduser(text) + "*")]

    def _complete_path(self, text: str) -> list[str]:
        node, _ = self.selection
        inside = [status.record.node_id[:8] for status in self._of(node)] if node else []
        everything = [f"{name}/" for name in self.node_names] + [
            f"{status.record.name}/{status.record.node_id[:8]}" for status in self.statuses]
        return sorted(choice for choice in [*everything, *inside, "..", "/"]
                      if choice.startswith(text))

    # --- helpers ------------------------------------------------------------------------
    @staticmethod
    def path(selection: Selection) -> str:
        node, node_id = selection
        return "/" + "/".join(part for part in (node, node_id and node_id[:8]) if part)

    def resolve(self, text: str) -> Selection:
        """The selection `text` names, from the current one: `/`, `..`, `.`, `NODE`,
        `NODE/ID`, `ID` within a node, or an absolute `/NODE/ID`."""
        node, node_id = (None, None) if text.startswith("/") else self.selection
        for part in [part for part in text.split("/") if part]:
            if part == ".":
                continue
            if part == "..":
                node, node_id = (node, None) if node_id is not None else (None, None)
            elif node is None:
                if part not in self.node_names:
                    raise ShellError(f"no node '{part}' in infrastructure {self.infra_id}",
                                     hint="its nodes: " + ", ".join(self.node_names))
                node = part
            elif node_id is None:
                node_id = self._instance(node, part)
            else:
                raise ShellError(f"{self.path((node, node_id))} is an instance: nothing is "
                                 "under it")
        return node, node_id

    def _instance(self, node: str, prefix: str) -> str:
        found = [status.record.node_id for status in self._of(node)
                 if status.record.node_id.startswith(prefix)]
        if not found:
            raise ShellError(f"no instance of {node} has an id starting {prefix!r}",
                             hint="`ls " + node + "` lists them (`refresh` reads them again)")
        if len(found) > 1:
            raise ShellError(f"{len(found)} instances of {node} have ids starting {prefix!r}",
                             hint="give more of the id")
        return found[0]

    def _of(self, node: str | None, node_id: str | None = None) -> list[InstanceStatus]:
        return [status for status in self.statuses
                if node in (None, status.record.name) and node_id in (None, status.record.node_id)]

    @staticmethod
    def _line(status: InstanceStatus, *, full: bool = False) -> str:
        record = status.record
        addresses = ", ".join(record.addresses) or "-"
        line = f"{record.node_id if full else record.node_id[:8]}  {status.state}  {addresses}"
        return line + (f"  ({status.detail})" if status.detail else "")

    def _targets(self, found: list[InstanceStatus]) -> list[Instance]:
        if not found:
            raise ShellError(f"no instance under {self.path(self.selection)}",
                             hint="cd to a node that has some; `ls /` shows them")
        return instances(self.settings, [status.record for status in found])

    @staticmethod
    def _login(instance: Instance) -> SshLogin:
        if instance.login is None:
            raise ShellError(f"{instance.target.label} cannot be reached: {instance.problem}")
        return instance.login

    def _sftp(self, targets: list[Instance],
              work: Callable[[Ssh, Instance], Awaitable[None]], what: str) -> None:
        by_login = sessions(self.settings, self.infra_id, targets)

        async def one(instance: Instance) -> str | None:
            if instance.login is None:
                return instance.problem
            try:
                await work(by_login[instance.login], instance)
            except OccoError as error:
                return error.message
            return None
        failures = asyncio.run(at_most(self.settings.ssh.parallel, targets, one))
        for instance, failure in zip(targets, failures):
            said = f"failed: {failure}" if failure else "done"
            print(f"[{instance.target.label} {instance.target.address or '-'}] {what} {said}",
                  file=self.stdout)


@contextlib.contextmanager
def _terminal_kept() -> Iterator[None]:
    """The terminal's modes as they were before, whatever the program run meanwhile left
    (readline reads the next line in the modes it expects)."""
    saved = termios.tcgetattr(sys.stdin) if sys.stdin.isatty() else None
    try:
        yield
    finally:
        if saved is not None:
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, saved)


def _words(arg: str, least: int, most: int, usage: str) -> list[str]:
    try:
        words = shlex.split(arg)
    except ValueError as error:
        raise ShellError(f"{usage}: {error}") from None
    if not least <= len(words) <= most:
        raise ShellError(f"usage: {usage}")
    return words
