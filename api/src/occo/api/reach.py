"""An infrastructure's instances as SSH targets: each one's address and login.

The address is the first its record holds (the one its cloud gave first), the
port the one its resource type gives (22 but for a `hosts` machine's own);
the login is the `ssh` entry of `auth_data.yaml` whose filter fits the node's
`resource` section (its image and cloud decide who may log in). Host keys
are checked against the infrastructure's own known_hosts file, as the `ssh:`
settings say (`occo.util.ssh`, ADR 0019).
"""
from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from occo.infobroker.auth import AuthData
from occo.infraprocessor.engine import InstanceRecord
from occo.resourcehandler.plugins import handler_class
from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.ssh import HostKeyPolicy, KnownHosts, Ran, Ssh, SshLogin, SshOptions, SshTarget
from occo.util.ssh.sessions import at_most


@dataclass(frozen=True)
class Instance:
    """One instance and how to reach it; without a login, `problem` says why it cannot be
    reached."""

    record: InstanceRecord
    target: SshTarget
    login: SshLogin | None
    problem: str | None = None


def label(record: InstanceRecord) -> str:
    """How output names an instance: its node and the start of its id."""
    return f"{record.name}/{record.node_id[:8]}"


def instances(settings: Settings, records: Sequence[InstanceRecord]) -> list[Instance]:
    """Each record with its target and login, or the reason it has none."""
    auth = AuthData(settings.auth_file.path) if settings.auth_file.path else None
    found = []
    for record in records:
        target = SshTarget(record.addresses[0] if record.addresses else "", _port(record),
                           label(record), machine=record.node_id)
        if not record.addresses:
            found.append(Instance(record, target, None, "it has no address yet"))
            continue
        try:
            data = auth.select("ssh", record.node.resource) if auth is not None else None
            login = SshLogin.from_auth_data(data) if data is not None else None
        except OccoError as error:
            found.append(Instance(record, target, None, error.message))
            continue
        found.append(Instance(record, target, login, None if login is not None else
                              f"no ssh entry of {settings.auth_file.path or 'auth_data.yaml'} "
                              f"fits its resource (type {record.node.resource.get('type')})"))
    return found


def _port(record: InstanceRecord) -> int:
    """The port the instance's sshd listens on, as its resource type says (22 for a type
    this installation does not have: the record's cloud cannot be reached either)."""
    if record.instance is None:
        return 22
    try:
        return handler_class(str(record.resource.get("type"))).ssh_port(record.instance)
    except OccoError:
        return 22


def sessions(settings: Settings, infra_id: str, reachable: Sequence[Instance], *,
             command_timeout: float | None = None) -> dict[SshLogin, Ssh]:
    """An `Ssh` for each login among `reachable`, sharing the infrastructure's host keys."""
    known = KnownHosts.of_infrastructure(infra_id, HostKeyPolicy(settings.ssh.host_keys))
    options = SshOptions(parallel=settings.ssh.parallel,
                         connect_timeout=settings.ssh.connect_timeout,
                         command_timeout=command_timeout)
    return {instance.login: Ssh(known, instance.login, options)
            for instance in reachable if instance.login is not None}


def run_on(settings: Settings, infra_id: str, targets: list[Instance], command: str,
           timeout: float | None) -> list[Ran]:
    """Each instance's `Ran`: the command's, or why it never ran (no login: its problem); all
    at once, `parallel` at most whatever their logins."""
    by_login = sessions(settings, infra_id, targets, command_timeout=timeout)

    async def one(instance: Instance) -> Ran:
        if instance.login is None:
            return Ran(instance.target, None, error=instance.problem)
        return await by_login[instance.login].run(instance.target, command)
    # one bound whatever the logins
    return asyncio.run(at_most(settings.ssh.parallel, targets, one))


def show_ran(targets: list[Instance], ran: list[Ran]) -> None:
    """Each line an instance printed after `[node/id address]`, then who did not exit 0."""
    if not targets:
        print("occopus-run: no instance to run the command on", file=sys.stderr)
        return
    for instance, result in zip(targets, ran):
        prefix = f"[{instance.target.label} {instance.target.address or '-'}]"
        for line in result.stdout.splitlines():
            print(f"{prefix} {line}")
        for line in result.stderr.splitlines():
            print(f"{prefix} {line}", file=sys.stderr)
    failed = [(instance, result) for instance, result in zip(targets, ran) if not result.ok]
    for instance, result in failed:
        why = result.error or f"exit {result.exit_status}"
        print(f"{instance.target.label} {instance.target.address or '-'}: {why}")
    print(f"{len(ran) - len(failed)} of {len(ran)} instance(s) exited 0"
          + (f", {len(failed)} did not" if failed else ""))
