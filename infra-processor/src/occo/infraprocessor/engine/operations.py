"""The engine's blocking calls to clouds, config managers and nodes.

They run in worker threads and never touch the store: the thread that owns
the store records what they return. Cloud calls go through the guard (each
backend's limits); creates (with the address lookup right after), drops and
listings are retried while they fail transiently, readiness probes are not
(the next poll is their retry, soon: see `pacing`).
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from occo.resourcehandler.base import Instance, ResourceError
from occo.resourcehandler.guard import GuardedHandler
from occo.util.errors import OccoError
from occo.util.nodes import NodeState, ResolvedNode

from ..health import FailingPeriods, HealthChecker, HealthReport, HealthTarget, combine
from .backends import Backends
from .record import InstanceRecord
from .retry import Retrier

log = logging.getLogger("occo.infraprocessor.engine")


@dataclass(frozen=True)
class Observation:
    """One look at a booting instance: each source is asked only once the one before is ready;
    the addresses are asked until the cloud gives one."""

    resource: NodeState
    service: NodeState
    report: HealthReport | None         # None: not checked, the service is not ready
    health_timeout: float | None        # how long the health check may fail, when checked
    addresses: tuple[str, ...]
    private_ip: str | None
    detail: str | None = None           # what the cloud says of a failure, if anything


@dataclass(frozen=True)
class Told:
    """What a poll's cloud call told of an instance whose observation takes calls of its own
    still (its addresses, a health check that reaches it): `Operations.finish` makes them."""

    instance: Instance                  # the copy the cloud's answer was noted in
    resource: NodeState


@dataclass(frozen=True)
class Launched:
    """A node its cloud has made: the instance, when the call that made it was sent
    (monotonic; `GuardedHandler.sent`), and its addresses if the cloud could tell them at
    once (else empty).

    Its boot began a latency after the call was sent, as for any other call,
    whereas the answer of a call that makes many comes later the more it makes:
    timed from the answer, the instances of a large batch seemed to boot faster
    than their kin of a small one, and polls guessed from those came too soon.
    """

    instance: Instance
    sent: float
    addresses: tuple[str, ...] = ()
    private_ip: str | None = None


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


def _asks_addresses(record: InstanceRecord, resource: NodeState) -> bool:
    """Whether its addresses are asked: while it boots or once it is up, until it has some
    (many clouds know them by then, and its dependents need them once it is ready)."""
    return resource in (NodeState.PENDING, NodeState.READY) and not record.addresses


def _addresses_of(cloud: GuardedHandler, instance: Instance) -> tuple[tuple[str, ...], str | None]:
    """Where the instance is reached, the preferred first, and its private IP address."""
    return tuple(cloud.get_address(instance)), cloud.get_ip_address(instance)


class Operations:
    """`create_retrier` may stop early when the engine is cancelled; `retrier` (drops,
    listings) never does, so that a rollback is not cut short by the cancellation
    that asked for it."""

    def __init__(self, backends: Backends, checker: HealthChecker, *, create_retrier: Retrier,
                 retrier: Retrier) -> None:
        self.backends = backends
        self.checker = checker
        self.create_retrier = create_retrier
        self.retrier = retrier

    def launch(self, nodes: Sequence[ResolvedNode]) -> list[Launched | OccoError]:
        """Make nodes of one resource section, as many a call as their cloud takes
        (`creates_per_call`): each is registered with its config manager first; after the
        create, its addresses are asked if the cloud knows them already. Each node's
        `Launched`, or the error that stopped it.

        Most clouds give an address as soon as they have made the instance;
        asked here, in the worker that made it (retried as the create is), the
        address goes into the `created` record: a store write of its own
        later on (a disk sync for each instance) is saved, and the readiness
        polls make one call each rather than three. A failure to tell is left
        to those polls, which ask until the cloud gives one, as they did.
        """
        outcomes: dict[int, Launched | OccoError] = {}
        registered: list[int] = []
        for index, node in enumerate(nodes):
            try:
                self.backends.prepare(node.config_management, node.infra_id).register_node(node)
            except OccoError as error:
                outcomes[index] = error
            else:
                registered.append(index)
        if registered:
            cloud = self.backends.cloud(nodes[registered[0]].resource)
            sent: dict[str, float] = {}         # node id -> when the last call for it was sent

            def create(batch: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
                made = cloud.create_nodes(batch)
                sent.update(dict.fromkeys((node.node_id for node in batch), cloud.sent))
                return made
            made = self.create_retrier.call_each(
                f"[{cloud.label}] creating {len(registered)} node(s) of "
                f"{nodes[registered[0]].name}", create, [nodes[index] for index in registered])
            for index, instance in zip(registered, made):
                if isinstance(instance, Instance):
                    outcomes[index] = self._launched(cloud, nodes[index], instance,
                                                     sent[nodes[index].node_id])
                else:
                    assert isinstance(instance, ResourceError), "the guard hands no other"
                    outcomes[index] = instance
        return [outcomes[index] for index in range(len(nodes))]

    def _launched(self, cloud: GuardedHandler, node: ResolvedNode, instance: Instance,
                  sent: float) -> Launched:
        try:
            addresses, private_ip = self.create_retrier.call(
                f"[{cloud.label}] asking the addresses of node {node.node_id}",
                lambda: _addresses_of(cloud, instance))
        except ResourceError as error:
            log.info("node %s: no address yet: %s", node.node_id, error.message)
            return Launched(instance, sent)
        return Launched(instance, sent, addresses, private_ip)

    def observe(self, record: InstanceRecord) -> Observation:
        """The instance's resource, service and health, with its addresses once it is up."""
        assert record.instance is not None, "only a created instance can be observed"
        cloud = self.backends.cloud(record.resource)
        # a copy: the plugin may note a failure in its data while others read the record
        instance = Instance.from_dict(record.instance.to_dict())
        return self._observed(record, instance, cloud.get_state(instance))

    def observe_all(self, records: Sequence[InstanceRecord]
                    ) -> list[Observation | Told | OccoError]:
        """What `observe` tells of each instance, or the error that stopped it, for up to
        `states_per_call` instances of one resource section, whose states the cloud tells in
        one call; `Told` for an instance whose observation takes network calls of its own.

        One worker polls a level of hundreds of booting instances: as many
        workers, each waking up to hand in its answer, kept the engine busy
        for longer than the cloud's answer took to come. What needs no network
        is done here, one after the other (config managers answer from what
        they keep: `ConfigManager.get_node_state`); address lookups and health
        checks that reach their nodes are each a call of their own
        (`finish`), so that a node that does not answer yet, costing a
        timeout, holds up no other.
        """
        instances = [Instance.from_dict(record.instance.to_dict()) for record in records
                     if record.instance is not None]
        assert len(instances) == len(records), "only created instances can be observed"
        try:
            states = self.backends.cloud(records[0].resource).get_states(instances)
        except OccoError as error:
            return [error] * len(records)
        seen: list[Observation | Told | OccoError] = []
        for record, instance, state in zip(records, instances, states):
            target = record.health_target() if state == NodeState.READY else None
            # its addresses, or a health check that reaches it once it is up: network calls
            if _asks_addresses(record, state) or (target is not None and target.probes):
                seen.append(Told(instance, state))
                continue
            try:
                seen.append(self._observed(record, instance, state, target))
            except OccoError as error:
                seen.append(error)
        return seen

    def finish(self, told: Told, record: InstanceRecord) -> Observation:
        """The observation of an instance `observe_all` left `told`."""
        return self._observed(record, told.instance, told.resource)

    def _observed(self, record: InstanceRecord, instance: Instance, resource: NodeState,
                  target: HealthTarget | None = None) -> Observation:
        """The rest of an observation once the cloud has told the resource's state; `target`
        is the record's health target, if made already."""
        addresses, private_ip = record.addresses, record.private_ip
        if _asks_addresses(record, resource):
            addresses, private_ip = self.addresses(record.resource, instance)
        service = (self.backends.manager(record.node.config_management).get_node_state(
            record.infra_id, record.node_id) if resource == NodeState.READY else NodeState.UNKNOWN)
        report = timeout = None
        if service == NodeState.READY:
            if addresses != record.addresses:
                record, target = record.replace(addresses=addresses), None
            target = target or record.health_target()
            report, timeout = self.checker.check(target), target.timeout
        detail = instance.data.get("error")
        return Observation(resource, service, report, timeout, addresses, private_ip,
                           None if detail is None else str(detail))

    def addresses(self, resource: Mapping[str, Any],
                  instance: Instance) -> tuple[tuple[str, ...], str | None]:
        """Where the instance is reached, the preferred first, and its private IP address."""
        return _addresses_of(self.backends.cloud(resource), instance)

    def teardown(self, record: InstanceRecord, found: Sequence[Instance] | None = None) -> None:
        """Drop the instance's resource (or the resources `found` for it) and tell its config
        manager.

        Without an instance in the record the create's outcome is unknown (it
        failed, or a crash came first), so the cloud's list of what the
        infrastructure owns says whether there is anything to drop.
        """
        if found is not None:
            instances = list(found)
        elif record.instance is not None:
            instances = [record.instance]
        else:
            instances = [instance for instance in self.owned(record.resource, record.infra_id)
                         if instance.node_id == record.node_id]
        for instance in instances:
            self.drop(record.resource, instance)
        self.backends.manager(record.node.config_management).drop_node(record.infra_id,
                                                                      record.node_id)

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

