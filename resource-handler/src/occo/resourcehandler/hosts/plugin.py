"""`HostsHandler`: each node instance a machine of the pool, claimed over SSH.

The handler keeps nothing in memory: the claims on the machines say what
exists, so a handler in another process sees the same nodes. A node tries
the pool's machines in an order of its own (from its id), so that two
creates of one node (a retry, a second process) try the same machine first:
one claims it and the other finds it claimed by that very node.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from occo.util.errors import OccoError
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.ssh import HostKeyPolicy, KnownHosts, Ran, Ssh, SshLogin, SshOptions, SshTarget
from occo.util.ssh.sessions import at_most

from ..base import (GONE, Capabilities, Connection, Instance, PermanentError, ResourceError,
                    ResourceHandler, ResourceStatus, TransientError, each)
from ..local.cloudconfig import Plan, parse
from . import remote
from .schema import HOSTS

log = logging.getLogger("occo.resourcehandler.hosts")
T = TypeVar("T")

PARALLEL = 16          # SSH connections at once, across the pool
UNREACHABLE = ResourceStatus(NodeState.UNKNOWN, detail="the machine cannot be reached now")


class HostsHandler(ResourceHandler):
    """The machines of `pool`, as the `resource` auth entry's login."""

    type_name = "hosts"
    schema = HOSTS
    capabilities = Capabilities(states_per_call=64)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        "running": NodeState.PENDING,    # the bootstrap runs
        "booted": NodeState.READY,       # it exited 0
        "failed": NodeState.FAILED,      # a step failed
        "": NodeState.PENDING,           # claimed, the bootstrap not started yet
    }

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        settings = connection.settings
        self.pool = tuple(_pool_target(item, index)
                          for index, item in enumerate(settings.get("pool") or ()))
        if not self.pool:
            raise PermanentError("a hosts resource needs a pool of at least one machine",
                                 hint="list them: pool: [10.0.0.5, {address: 10.0.0.6, "
                                      "port: 2222}]")
        try:
            self.login = SshLogin.from_auth_data(connection.credentials)
            self.policy = HostKeyPolicy(str(settings.get("host_keys") or "strict"))
        except (OccoError, ValueError) as error:
            raise PermanentError(f"{self.where()} {getattr(error, 'message', error)}",
                                 hint="the resource entry of the auth file gives user and "
                                      "private_key; host_keys is strict or "
                                      "trust-first-use") from None

    @property
    def backend_key(self) -> str:
        return f"{self.type_name}:" + ",".join(f"{t.address}:{t.port}" for t in self.pool)

    # --- the contract ---------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self.create_node)

    def create_node(self, node: ResolvedNode) -> Instance:
        plan = parse(node.context)
        owned_by = remote.owner(node.infra_id, node.node_id)
        ssh = self._ssh(node.infra_id)
        order = self._order(node.node_id)
        # a create made again takes the machine it claimed before, wherever it is in the order
        claims = _gather(order, lambda target: ssh.run(target, remote.read_claim()))
        mine = [target for target, ran in zip(order, claims)
                if ran.ok and ran.stdout.strip() == owned_by]
        refused: list[str] = []
        for target in mine or order:
            ran = self._one(ssh, target, remote.claim(owned_by))
            found = ran.stdout.strip()
            if not ran.ok:
                refused.append(f"{target.label}: {ran.error or ran.stderr.strip()}")
                continue
            if found not in ("claimed", owned_by):
                continue            # another node's
            return self._start(ssh, node, target, plan, owned_by)
        why = f"; {len(refused)} could not be reached: {refused[0]}" if refused else ""
        raise TransientError(f"{self.where(node)} no machine of the pool is free "
                             f"({len(self.pool)} in all){why}",
                             hint="add machines to the pool, or drop nodes that use them")

    def _start(self, ssh: Ssh, node: ResolvedNode, target: SshTarget, plan: Plan,
               owned_by: str) -> Instance:
        """Start the node's bootstrap on the machine it claimed. If that fails, the claim
        stays: a create made again finds it first, and the machine is the node's until it
        is dropped."""
        instance = self._instance(node.infra_id, node.node_id, target)
        script = remote.bootstrap(plan, _variables(node, target, instance))
        started = self._one(ssh, target, remote.start(owned_by, instance.instance_id, script))
        if not started.ok:
            raise TransientError(f"{self.where(node)} cannot start its bootstrap on "
                                 f"{target.label}: {started.error or started.stderr.strip()}")
        log.info("%s claimed %s", self.where(node), target.label)
        return instance

    def drop_node(self, instance: Instance) -> None:
        target = _target_of(instance)
        if target is None:          # not an instance of this type: nothing of it to drop
            return
        ran = self._one(self._ssh(instance.infra_id), target, remote.clean(
            remote.owner(instance.infra_id, instance.node_id), instance.instance_id))
        if not ran.ok:
            raise TransientError(f"[{self.label}] cannot clean {target.label} for node "
                                 f"{instance.node_id}: {ran.error or ran.stderr.strip()}")

    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        targets = [_target_of(instance) for instance in instances]
        by_infra = {infra_id: self._ssh(infra_id)      # each login's key is read once
                    for infra_id in {instance.infra_id for instance in instances}}

        async def look(index: int) -> Ran | None:
            instance, target = instances[index], targets[index]
            if target is None:
                return None
            ssh = by_infra[instance.infra_id]
            return await ssh.run(target, remote.look(
                remote.owner(instance.infra_id, instance.node_id)))
        answers = _gather(range(len(instances)), look)
        return [GONE if target is None or ran is None else self._status(instance, target, ran)
                for instance, target, ran in zip(instances, targets, answers)]

    def list_owned(self, infra_id: str) -> list[Instance]:
        ssh = self._ssh(infra_id)
        answers = _gather(self.pool, lambda target: ssh.run(target, remote.read_claim()))
        owned = []
        for target, ran in zip(self.pool, answers):
            if not ran.ok:      # one machine down must not stop every sweep of the pool
                log.warning("[%s] cannot read the claim of %s, left out: %s", self.label,
                            target.label, ran.error or ran.stderr.strip())
                continue
            claim_infra, _, node_id = ran.stdout.strip().partition("/")
            if claim_infra == infra_id and node_id:
                owned.append(self._instance(infra_id, node_id, target))
        return owned

    @classmethod
    def ssh_port(cls, instance: Instance) -> int:
        target = _target_of(instance)
        return target.port if target is not None else 22

    # --- plumbing --------------------------------------------------------------------
    def _ssh(self, infra_id: str) -> Ssh:
        return Ssh(KnownHosts.of_infrastructure(infra_id, self.policy), self.login,
                   SshOptions(parallel=PARALLEL, connect_timeout=10.0))

    def _one(self, ssh: Ssh, target: SshTarget, command: str) -> Ran:
        return ssh.run_all([target], command)[0]

    def _order(self, node_id: str) -> list[SshTarget]:
        """The pool from a machine chosen by the node's id: a node's creates agree on it."""
        start = int(hashlib.sha256(node_id.encode()).hexdigest(), 16) % len(self.pool)
        return [*self.pool[start:], *self.pool[:start]]

    def _instance(self, infra_id: str, node_id: str, target: SshTarget) -> Instance:
        return Instance(infra_id, node_id, f"hosts-{target.address}-{target.port}-{node_id[:8]}",
                        {"address": target.address, "port": target.port})

    def _status(self, instance: Instance, target: SshTarget, ran: Ran) -> ResourceStatus:
        if not ran.ok:
            return UNREACHABLE
        seen = remote.Seen.parse(ran.stdout)
        if seen.claim != remote.owner(instance.infra_id, instance.node_id):
            return GONE
        state = seen.status.split(" ", 1)[0]
        detail = None
        if state == "failed":
            lines = [line.strip() for line in seen.log.splitlines() if line.strip()][-3:]
            detail = (f"{seen.status.split(' ', 1)[-1]} failed"
                      + (f" (log: {' | '.join(lines)})" if lines else ""))
        return ResourceStatus(self.map_state(state), (target.address,), target.address, detail)


def _gather(items: Sequence[Any] | range, work: Callable[[Any], Awaitable[T]]) -> list[T]:
    """`work` of every item, `PARALLEL` at once at most, blocking."""
    return asyncio.run(at_most(PARALLEL, items, work))


def _pool_target(item: Any, index: int) -> SshTarget:
    if isinstance(item, Mapping):
        address, port = item.get("address"), item.get("port", 22)
    else:
        address, port = item, 22
    try:
        port = int(port)
    except (TypeError, ValueError):
        port = -1
    if not isinstance(address, str) or not address or not 0 < port < 65536:
        raise PermanentError(f"pool[{index}] is not a machine: {item!r}",
                             hint="give an address, or {address: ..., port: ...}")
    return SshTarget(address, port, f"{address}:{port}")


def _target_of(instance: Instance) -> SshTarget | None:
    """The machine an instance was made on; None for an instance this type never made."""
    if "address" not in instance.data or "port" not in instance.data:
        return None
    address, port = str(instance.data["address"]), int(instance.data["port"])
    return SshTarget(address, port, f"{address}:{port}")


def _variables(node: ResolvedNode, target: SshTarget, instance: Instance) -> dict[str, str]:
    return {"OCCOPUS_NODE_ADDRESS": target.address, "OCCOPUS_NODE_ID": node.node_id,
            "OCCOPUS_NODE_NAME": node.name, "OCCOPUS_INFRA_ID": node.infra_id,
            "OCCOPUS_INFRA_NAME": node.infra_name,
            "OCCOPUS_INSTANCE_ID": instance.instance_id}
