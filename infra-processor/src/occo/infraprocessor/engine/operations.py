"""The engine's blocking calls to clouds, config managers and nodes.

They run in worker threads and never touch the store: the thread that owns
the store records what they return. Cloud calls go through the guard (each
backend's limits); creates, drops and listings are retried while they fail
transiently, readiness probes are not (the next poll is their retry, soon:
see `pacing`). A poll's one cloud call tells an instance's state and its
addresses (`ResourceStatus`).
"""
from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from occo.configmanager.base import ConfigManager, ConfigTarget, Configured, NotReachableYet
from occo.resourcehandler.base import Instance, ResourceError, ResourceStatus
from occo.resourcehandler.guard import HandlerUnavailable
from occo.util.errors import OccoError
from occo.util.nodes import NodeState, ResolvedNode

from ..health import FailingPeriods, HealthChecker, HealthReport, HealthTarget, combine
from ..record import InstanceRecord, Phase
from .backends import Backends
from .results import describe
from .retry import Retrier

log = logging.getLogger("occo.infraprocessor.engine")


@dataclass(frozen=True)
class Observation:
    """One look at a booting instance: each source is asked only once the one before is ready."""

    resource: NodeState
    service: NodeState
    report: HealthReport | None         # None: not checked, the service is not ready
    health_timeout: float | None        # how long the health check may fail, when checked
    addresses: tuple[str, ...]
    private_ip: str | None
    detail: str | None = None           # what the cloud says of a failure, if anything
    configured: Configured | None = None    # the configure step's result, when it has run


@dataclass(frozen=True)
class Told:
    """What a poll's cloud call told of an instance whose health check reaches it, or whose
    config manager is to configure it: `Operations.finish` does that in a call of its own."""

    status: ResourceStatus


@dataclass(frozen=True)
class Launched:
    """A node its cloud has made, and when the call that made it was sent (monotonic).

    Its boot began a latency after the call was sent, as for any other call,
    whereas the answer of a call that makes many comes later the more it makes:
    timed from the answer, the instances of a large batch seemed to boot faster
    than their kin of a small one, and polls guessed from those came too soon.
    """

    instance: Instance
    sent: float


def observed_state(infra_id: str, seen: Observation, failing: FailingPeriods, *,
                   none_failing: bool = False) -> NodeState:
    """One state from an observation, as `health.state` combines them.

    `none_failing`: the caller knows no failing period is stored for the node
    (it made the node and has seen no health check of it fail), so a healthy
    report needs no store call: hundreds of nodes seen ready at once are
    told to their dependents sooner.
    """
    if seen.report is None or seen.health_timeout is None:
        health = NodeState.UNKNOWN
    elif none_failing and seen.report.ready:
        health = NodeState.READY
    else:
        health = failing.health_state(infra_id, seen.report, seen.health_timeout)
    return combine(seen.resource, seen.service, health)


class Operations:
    """`create_retrier` may stop early when the engine is cancelled; `retrier` (drops,
    listings) never does, so that a rollback is not cut short by the cancellation
    that asked for it."""

    def __init__(self, backends: Backends, checker: HealthChecker, *, create_retrier: Retrier,
                 retrier: Retrier, clock: Callable[[], float] = time.time) -> None:
        self.backends = backends
        self.checker = checker
        self.create_retrier = create_retrier
        self.retrier = retrier
        self.clock = clock

    def launch(self, nodes: Sequence[ResolvedNode]) -> list[Launched | OccoError]:
        """Make nodes of one connection, as many a call as their cloud takes
        (`creates_per_call`), each registered with its config manager first: each node's
        `Launched`, or the error that stopped it."""
        outcomes: dict[int, Launched | OccoError] = {}
        registered: list[int] = []
        for index, node in enumerate(nodes):
            try:
                managers = self.backends.managers
                managers.prepare(node.config_management, node.infra_id).register_node(node)
            except OccoError as error:
                outcomes[index] = error
            else:
                registered.append(index)
        if registered:
            cloud = self.backends.cloud(nodes[registered[0]].resource)
            sent: dict[str, float] = {}         # node id -> when the last call for it was sent

            def create(batch: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
                sent.update(dict.fromkeys((node.node_id for node in batch), time.monotonic()))
                return cloud.create_nodes(batch)
            made = self.create_retrier.call_each(
                f"[{cloud.label}] creating {len(registered)} node(s) of "
                f"{nodes[registered[0]].name}", create, [nodes[index] for index in registered])
            for index, instance in zip(registered, made):
                if isinstance(instance, Instance):
                    outcomes[index] = Launched(instance, sent[nodes[index].node_id])
                else:
                    assert isinstance(instance, ResourceError), "the guard hands no other"
                    outcomes[index] = instance
        return [outcomes[index] for index in range(len(nodes))]

    def create_again(self, node: ResolvedNode) -> Instance:
        """The node's resource, created again (retried while transient): the one made before,
        finished if its first create stopped half-way."""
        cloud = self.backends.cloud(node.resource)
        [made] = self.retrier.call(f"[{cloud.label}] finishing the create of node {node.node_id}",
                                   lambda: cloud.create_nodes([node]))
        if isinstance(made, ResourceError):
            raise made
        return made

    def status(self, resource: Mapping[str, Any], instance: Instance) -> ResourceStatus:
        """What the instance's cloud tells of it now."""
        return self.backends.cloud(resource).get_states([instance])[0]

    def statuses(self, records: Sequence[InstanceRecord]) -> list[ResourceStatus]:
        """What the cloud tells of up to `states_per_call` created instances of one
        connection, in one call."""
        instances = [record.instance for record in records if record.instance is not None]
        assert len(instances) == len(records), "only created instances can be asked"
        return self.backends.cloud(records[0].resource).get_states(instances)

    def observe_all(self, records: Sequence[InstanceRecord]
                    ) -> list[Observation | Told | OccoError]:
        """What `look` tells of each instance (configure steps due included), or the error
        that stopped it, for up to `states_per_call` instances of one connection, whose
        states the cloud tells in one call.

        One worker polls a level of hundreds of booting instances: as many
        workers, each waking up to hand in its answer, kept the engine busy
        for longer than the cloud's answer took to come.
        """
        instances = [record.instance for record in records if record.instance is not None]
        assert len(instances) == len(records), "only created instances can be observed"
        try:
            statuses = self.backends.cloud(records[0].resource).get_states(instances)
        except OccoError as error:
            return [error] * len(records)
        return [self.look(record, status, configure=True)
                for record, status in zip(records, statuses)]

    def look(self, record: InstanceRecord, status: ResourceStatus, *, configure: bool = False
             ) -> Observation | Told | OccoError:
        """The instance's observation once its cloud told `status`, made here when it needs
        no network (config managers answer from what they keep:
        `ConfigManager.get_node_state`); `Told` when its health check reaches the node, or
        when `configure` and its config manager is to configure it now: a call of its own
        (`finish`), so that a node that does not answer yet, costing a timeout, holds up no
        other. Only the execution that made an instance configures it: surveys and checks
        read."""
        try:
            target = _target(record, status) if status.state == NodeState.READY else None
            if target is not None and (target.probes
                                       or (configure and self.configure_due(record))):
                return Told(status)
            return self._observed(record, status, target)
        except OccoError as error:
            return error

    def finish(self, told: Told, record: InstanceRecord, *, configure: bool = False,
               peers: Mapping[str, tuple[str, ...]] | None = None) -> Observation:
        """The observation of an instance `look` left `told`, configured first if due
        (`peers`: see `ConfigTarget`)."""
        return self._observed(record, told.status, configure=configure, peers=peers)

    def configure_due(self, record: InstanceRecord) -> bool:
        """Whether the instance's config manager is to configure it once it is up."""
        return (record.configured is None
                and self.backends.managers.manager(record.node.config_management).configures)

    def reapply(self, record: InstanceRecord,
                peers: Mapping[str, tuple[str, ...]]) -> Configured | None:
        """The instance configured again (None: it cannot be reached now; the next pass
        tries again)."""
        manager = self.backends.managers.manager(record.node.config_management)
        try:
            target = self.backends.config_target(record, record.addresses, record.private_ip,
                                                 manager, peers)
        except OccoError as error:
            return self._stamped(Configured(False, describe(error)))
        return self._stamped(_configure(manager, target))

    def _stamped(self, done: Configured | None) -> Configured | None:
        return None if done is None else dataclasses.replace(done, at=self.clock())

    def _observed(self, record: InstanceRecord, status: ResourceStatus,
                  target: HealthTarget | None = None, *, configure: bool = False,
                  peers: Mapping[str, tuple[str, ...]] | None = None) -> Observation:
        """The rest of an observation once the cloud has told the resource's status; `target`
        is the health target, if made already."""
        addresses = status.addresses or record.addresses
        private_ip = status.private_ip or record.private_ip
        resource = status.state
        service, configured = NodeState.UNKNOWN, None
        if resource == NodeState.READY:
            manager = self.backends.managers.manager(record.node.config_management)
            seen = self.backends.config_target(record, addresses, private_ip, manager, peers)
            if configure and seen.configured is None and manager.configures:
                configured = self._stamped(_configure(manager, seen))
                if configured is not None:
                    seen = dataclasses.replace(seen, configured=configured)
            service = manager.get_node_state(seen)
        report = timeout = None
        if service == NodeState.READY:
            target = target or _target(record, status)
            report, timeout = self.checker.check(target), target.timeout
        return Observation(resource, service, report, timeout, addresses, private_ip,
                           status.detail, configured)

    def teardown(self, record: InstanceRecord, found: Sequence[Instance] | None = None) -> None:
        """Drop the instance's resource (or the resources `found` for it) and tell its config
        manager.

        Without an instance in the record the create's outcome is unknown (it
        failed, or a crash came first), so the cloud's list of what the
        infrastructure owns says whether there is anything to drop; where the
        record's cloud cannot be reached at all (its plugin will not build: a
        placeholder endpoint, say), nothing can have been made through it.
        """
        if found is not None:
            instances = list(found)
        elif record.instance is not None:
            instances = [record.instance]
        else:
            try:
                owned = self.owned(record.resource, record.infra_id)
            except HandlerUnavailable as error:
                log.info("node %s: nothing to drop, its cloud was never reached: %s",
                         record.node_id, error.message)
                owned = []
            instances = [instance for instance in owned if instance.node_id == record.node_id]
        for instance in instances:
            self.drop(record.resource, instance)
        manager = self.backends.managers.manager(record.node.config_management)
        manager.drop_node(record.infra_id, record.node_id)

    def owned(self, resource: Mapping[str, Any], infra_id: str) -> list[Instance]:
        """Every live resource of this backend tagged with the infrastructure."""
        cloud = self.backends.cloud(resource)
        return self.retrier.call(f"[{cloud.label}] listing the resources of {infra_id}",
                                 lambda: cloud.list_owned(infra_id))

    def drop(self, resource: Mapping[str, Any], instance: Instance) -> None:
        cloud = self.backends.cloud(resource)
        self.retrier.call(f"[{cloud.label}] dropping {instance.instance_id}",
                          lambda: cloud.drop_node(instance))

    def sweep(self, resource: Mapping[str, Any], infra_id: str,
              keep: Collection[str]) -> list[str]:
        """Drop what the backend still owns for the infrastructure but `keep` (node ids); the
        instance ids dropped."""
        dropped = []
        for instance in self.owned(resource, infra_id):
            if instance.node_id not in keep:
                self.drop(resource, instance)
                dropped.append(instance.instance_id)
        return dropped


def reapply_due(record: InstanceRecord, after: float | None, now: float) -> bool:
    """Whether a maintain pass is to configure the ready instance again: its last
    configuration went well `after` seconds ago or more (its manager's `reapply_after`;
    None: never). A configuration recorded without its time (before Occopus kept it)
    counts from when the instance became ready."""
    configured = record.configured
    if after is None or record.phase is not Phase.READY or configured is None \
            or not configured.ok:
        return False
    since = configured.at or record.ready_at or record.created_at
    return now - since >= after


def _configure(manager: ConfigManager, target: ConfigTarget) -> Configured | None:
    """The configure step's result; None when the node cannot be reached yet (tried again at
    its next poll); any error is the step's failure, which fails the node."""
    log.info("node %s: configuring it (%s)", target.node_id, manager.type_name)
    try:
        return manager.configure(target)
    except NotReachableYet as error:
        log.info("node %s: not configured yet: %s", target.node_id, error.message)
        return None
    except OccoError as error:
        return Configured(False, describe(error))
    except Exception as error:      # a plugin's bug fails its node, not the whole execution
        log.exception("node %s: the %s config manager failed", target.node_id,
                      manager.type_name)
        return Configured(False, f"the {manager.type_name} config manager failed: "
                                 f"{type(error).__name__}: {error}")


def _target(record: InstanceRecord, status: ResourceStatus) -> HealthTarget:
    """The record's health target at the addresses the cloud gives now."""
    if status.addresses and status.addresses != record.addresses:
        record = record.replace(addresses=status.addresses)
    return record.health_target()
