"""Commands and files over SSH on many hosts at once, with asyncssh.

`Ssh` opens one connection per host for each command or copy, at most
`SshOptions.parallel` at a time, so that a hundred hosts cost the time of a
few round trips, not a hundred. A host that refuses or does not answer yet is
tried again, with a growing pause, for up to `boot_wait` seconds: a node
whose cloud says it is running may not have started its sshd. A refused login
or host key is never tried again. Host keys are checked against the
infrastructure's own file (`hostkeys`), never against the user's
`~/.ssh/known_hosts`, and neither the user's ssh config nor an agent is used:
what Occopus does over SSH depends only on its own settings.

What a command prints is kept up to `MAX_OUTPUT` bytes a stream (the rest is
counted and dropped), so that a host printing without end cannot exhaust this
process. The private key is never in an error, a log line or a repr.
"""
from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigurationError, OccoError
from ..redact import redact_url
from .hostkeys import HostKey, HostKeyRefused, KnownHosts

from cryptography.utils import CryptographyDeprecationWarning

with warnings.catch_warnings():      # asyncssh names DSA types cryptography deprecates
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    import asyncssh

T = TypeVar("T")
Item = TypeVar("Item")

MAX_OUTPUT = 1 << 20        # bytes of a stream kept
FIRST_PAUSE = 0.2           # seconds before trying a host that is not up yet again
MOST_PAUSE = 2.0


class SshError(OccoError):
    """What an SSH connection or command could not do."""


class SshUnreachable(SshError):
    """The host refused or did not answer connections (it may still be booting)."""


@dataclass(frozen=True)
class SshLogin:
    """Who logs in, with which private key (its text, OpenSSH or PEM)."""

    user: str
    private_key: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)

    @classmethod
    def from_auth_data(cls, data: Mapping[str, Any]) -> SshLogin:
        """From an `ssh` entry's `auth_data`: `user`, and `private_key` (the key's text) or
        `private_key_file` (its path), and `passphrase` if the key has one."""
        user = data.get("user")
        if not isinstance(user, str) or not user:
            raise ConfigurationError("an ssh entry's auth_data needs user: NAME",
                                     hint="the user the nodes let in with the key")
        text, path = data.get("private_key"), data.get("private_key_file")
        if (text is None) == (path is None):
            raise ConfigurationError(
                "an ssh entry's auth_data needs one of private_key (the key's text) and "
                "private_key_file (its path)", hint="give the key the nodes accept")
        if path is not None:
            try:
                text = Path(str(path)).expanduser().read_text()
            except (OSError, UnicodeDecodeError) as error:
                raise ConfigurationError(f"cannot read the private key file {path}: "
                                         f"{getattr(error, 'strerror', None) or error}",
                                         hint="check the path in auth_data") from None
        passphrase = data.get("passphrase")
        return cls(user, str(text), None if passphrase is None else str(passphrase))

    def key(self) -> asyncssh.SSHKey:
        try:
            return asyncssh.import_private_key(self.private_key, self.passphrase)
        except (asyncssh.KeyImportError, ValueError):
            raise ConfigurationError(
                f"the private key for {self.user} cannot be read (not a private key, or a "
                "wrong passphrase)", hint="give an OpenSSH or PEM private key") from None


@dataclass(frozen=True)
class SshTarget:
    """A host to reach; `name` is what its output is prefixed with (its address if empty);
    `machine` names the machine beyond its address (an instance's node id): clouds give a
    gone machine's address to new ones, which are other hosts with other keys."""

    address: str
    port: int = 22
    name: str = ""
    machine: str | None = None

    @property
    def label(self) -> str:
        return self.name or self.address


@dataclass(frozen=True)
class SshOptions:
    parallel: int = 32                  # connections at once
    connect_timeout: float = 10.0       # seconds for one connection attempt
    command_timeout: float | None = None   # seconds a command may run (None: no bound)
    boot_wait: float = 0.0              # seconds a host may refuse or not answer, booting

    def __post_init__(self) -> None:
        if self.parallel < 1:
            raise ValueError(f"parallel must be 1 or more, not {self.parallel}")


@dataclass(frozen=True)
class Ran:
    """A command on one host: its exit status, or `error`, why it did not run or end."""

    target: SshTarget
    exit_status: int | None
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    dropped: int = 0                    # bytes of output beyond MAX_OUTPUT, not kept

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_status == 0


@dataclass(frozen=True)
class SshAccess:
    """How to reach one machine over SSH: where it is, who logs in, the host keys it must
    show and the bounds to keep; what a config manager is handed for a node."""

    target: SshTarget
    login: SshLogin
    known_hosts: KnownHosts
    options: SshOptions = SshOptions()

    def session(self) -> Ssh:
        return Ssh(self.known_hosts, self.login, self.options)

    def run(self, command: str) -> Ran:
        """`command` on the machine (blocking; a `Ran`, never an exception)."""
        return self.session().run_all([self.target], command)[0]

    def verify(self) -> None:
        """Connect once (blocking): the host key is checked, and recorded on first use where
        the policy allows; `SshUnreachable` while the machine does not answer, `SshError`
        for a refused key or login."""
        async def connect() -> None:
            async with await self.session().connect(self.target):
                pass
        try:
            asyncio.run(connect())
        except (asyncssh.Error, OSError) as error:     # the connection lost once made
            raise SshUnreachable(f"{self.target.label}: {_reason(error)}") from None


class Ssh:
    """SSH to hosts as one login, their keys checked against `known_hosts`."""

    def __init__(self, known_hosts: KnownHosts, login: SshLogin,
                 options: SshOptions | None = None) -> None:
        self.known_hosts = known_hosts
        self.login = login
        self.options = options or SshOptions()
        self._key = login.key()

    # --- blocking entry points, for threads and commands ----------------------------
    def run_all(self, targets: Sequence[SshTarget], command: str) -> list[Ran]:
        """`command` on every target, in their order (each `Ran`, never an exception)."""
        return asyncio.run(self.each(targets, lambda target: self.run(target, command)))

    # --- coroutines ----------------------------------------------------------------
    async def each(self, targets: Iterable[SshTarget],
                   work: Callable[[SshTarget], Awaitable[T]]) -> list[T]:
        """`work` of every target, at most `parallel` at once, in their order."""
        return await at_most(self.options.parallel, targets, work)

    async def run(self, target: SshTarget, command: str) -> Ran:
        """`command` on `target` (a login shell's command line, its stdin empty); never an
        exception: a connection lost half-way (`reboot`) is the `Ran`'s error."""
        try:
            async with await self.connect(target) as connection:
                return await _run(connection, target, command, self.options.command_timeout)
        except SshError as error:
            return Ran(target, None, error=error.message)
        except (asyncssh.Error, OSError) as error:
            return Ran(target, None, error=f"{target.label}: the session ended: {_reason(error)}")

    async def put(self, target: SshTarget, local: Path, remote: str) -> None:
        """Copy the file or folder `local` to `remote` on `target` (SFTP); `SshError`."""
        await self._sftp(target, lambda sftp: sftp.put(str(local), remote,
                                                      recurse=local.is_dir(), preserve=True))

    async def get(self, target: SshTarget, remote: str, local: Path) -> None:
        """Copy `remote` on `target` to `local` (SFTP; a folder with its content); `SshError`."""
        await self._sftp(target, lambda sftp: sftp.get(remote, str(local), recurse=True,
                                                      preserve=True))

    async def _sftp(self, target: SshTarget,
                    work: Callable[[asyncssh.SFTPClient], Awaitable[Any]]) -> None:
        try:
            async with await self.connect(target) as connection, \
                    connection.start_sftp_client() as sftp:
                await work(sftp)
        except (asyncssh.Error, OSError) as error:
            raise SshError(f"{target.label}: copying failed: {_reason(error)}") from None

    async def connect(self, target: SshTarget) -> asyncssh.SSHClientConnection:
        """A connection to `target`, tried again while it is not up (`boot_wait`)."""
        deadline = time.monotonic() + self.options.boot_wait
        pause = FIRST_PAUSE
        while True:
            client = _Client(self.known_hosts, target)
            try:
                connection, _ = await asyncssh.create_connection(
                    lambda: client, target.address, target.port, username=self.login.user,
                    client_keys=[self._key], known_hosts=_ASK, agent_path=None, config=None,
                    connect_timeout=self.options.connect_timeout, preferred_auth="publickey")
                return connection
            except asyncssh.HostKeyNotVerifiable as error:
                raise SshError(client.refusal.message if client.refusal else
                               f"{target.label}: host key not trusted: {error.reason}",
                               hint=client.refusal.hint if client.refusal else None) from None
            except asyncssh.PermissionDenied:
                raise SshError(f"{target.label}: {self.login.user} was refused the login",
                               hint="check the user and the key in the ssh auth_data") from None
            except (OSError, asyncio.TimeoutError, asyncssh.ConnectionLost,
                    asyncssh.DisconnectError) as error:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SshUnreachable(
                        f"{target.label} ({target.address}:{target.port}) cannot be reached: "
                        f"{_reason(error)}", hint="check that it runs and that sshd listens there"
                    ) from None
            await asyncio.sleep(min(pause, left))
            pause = min(MOST_PAUSE, pause * 2)


async def at_most(parallel: int, items: Iterable[Item],
                  work: Callable[[Item], Awaitable[T]]) -> list[T]:
    """`work` of every item, at most `parallel` at once, in their order (for work that goes
    through several `Ssh`, one per login, under one bound)."""
    bound = asyncio.Semaphore(parallel)

    async def one(item: Item) -> T:
        async with bound:
            return await work(item)
    return list(await asyncio.gather(*(one(item) for item in items)))


_ASK = asyncssh.import_known_hosts("")     # no key matches: every key goes to the client


class _Client(asyncssh.SSHClient):
    """Decides on the host key with the infrastructure's known hosts."""

    def __init__(self, known_hosts: KnownHosts, target: SshTarget) -> None:
        self.known_hosts = known_hosts
        self.target = target
        self.refusal: HostKeyRefused | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int,
                                 key: asyncssh.SSHKey) -> bool:
        try:
            self.known_hosts.check(self.target.address, self.target.port,
                                   HostKey.parse(key.export_public_key().decode()),
                                   machine=self.target.machine)
        except HostKeyRefused as refused:
            self.refusal = refused
            return False
        return True


async def _run(connection: asyncssh.SSHClientConnection, target: SshTarget, command: str,
               timeout: float | None) -> Ran:
    process = await connection.create_process(command, encoding=None, stdin=asyncssh.DEVNULL)
    streams = _Kept(), _Kept()
    try:
        await asyncio.wait_for(asyncio.gather(streams[0].read(process.stdout),
                                              streams[1].read(process.stderr),
                                              process.wait_closed()), timeout)
    except asyncio.TimeoutError:
        process.terminate()         # asked of sshd; the session is closed either way
        process.close()
        return Ran(target, None, streams[0].text(), streams[1].text(),
                   f"still running after {timeout:g} s: stopped", streams[0].dropped
                   + streams[1].dropped)
    status = process.exit_status
    error = None
    if status is None or status < 0:
        error = f"ended by signal {process.exit_signal[0] if process.exit_signal else '?'}"
    return Ran(target, status, streams[0].text(), streams[1].text(), error,
               streams[0].dropped + streams[1].dropped)


class _Kept:
    """A stream's first MAX_OUTPUT bytes."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.kept = 0
        self.dropped = 0

    async def read(self, stream: asyncssh.SSHReader[bytes]) -> None:
        while chunk := await stream.read(65536):
            room = MAX_OUTPUT - self.kept
            if room > 0:
                self.chunks.append(chunk[:room])
                self.kept += min(room, len(chunk))
            self.dropped += max(0, len(chunk) - room)

    def text(self) -> str:
        return b"".join(self.chunks).decode(errors="replace")


def _reason(error: BaseException) -> str:
    text = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
    return redact_url(str(text) or type(error).__name__)
