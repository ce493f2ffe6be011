"""`CloudBrokerHandler`: nodes as instances on the CloudBroker platform (its REST/XML API,
`client`).

A create posts an `<instance>` made of the section's description, named for
the node (`launch`). Creates are idempotent by node id: holding a lock per
node (concurrent creates of a node in this process wait for each other), it
first looks for a live instance named for the node, and answers it if there
is one. So a create retried after a crash or a lost answer makes nothing
twice.

A drop stops the instance (`PUT instances/<id>/stop.xml`); CloudBroker halts
it and keeps it listed as `halted`, which counts as gone: neither a create
nor `list_owned` takes a stopping or halted instance for a live one.

States and addresses of any number of instances come from one listing
(`GET instances.xml`), which creates and `list_owned` read too. Errors are
classified in `errors`.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.redact import secret_values

from ..base import (GONE, Capabilities, Connection, Instance, ResourceError, ResourceHandler,
                    ResourceStatus, TransientError, each, raised_as_contract)
from ..locks import KeyedLocks
from . import client as cloudbroker_client
from .errors import NOT_CLOUDBROKER_HINT, CloudBrokerError, classify
from .launch import (addresses_of, description_of, instance_fields, instance_name, node_of,
                     private_ip_of)
from .schema import CLOUDBROKER

log = logging.getLogger("occo.resourcehandler.cloudbroker")

# creates of one node wait for each other, whichever handler of this process makes them
_NODE_LOCKS = KeyedLocks()
# an instance in one of these is gone or going: never answered as a node's live instance
ENDED = frozenset({"stopping", "halted"})


class CloudBrokerHandler(ResourceHandler):
    """Instances of one CloudBroker platform, reached with one account (email and
    password)."""

    type_name = "cloudbroker"
    schema = CLOUDBROKER
    # every state comes from one listing of the account's instances
    capabilities = Capabilities(creates_per_call=1, states_per_call=500)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        "starting": NodeState.PENDING,
        "initializing": NodeState.PENDING,
        "preparing": NodeState.PENDING,
        "running": NodeState.READY,
        "stopping": NodeState.SHUTDOWN,
        "halted": NodeState.SHUTDOWN,
        "failed": NodeState.FAILED,
    }

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._client = cloudbroker_client.CloudBrokerClient(connection)
        # every credential value, hidden wherever the cloud might echo it
        self._secrets = secret_values(connection.credentials, masked=True)
        self._lock_scope = str(connection.settings.get("endpoint"))

    def close(self) -> None:
        self._client.close()

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self._create)

    def _create(self, node: ResolvedNode) -> Instance:
        where = self.where(node)
        description = description_of(node, where)
        if description.get("name") not in (None, instance_name(node)):
            log.warning("%s: the description's name %r is replaced by %s, which marks the "
                        "instance as the node's", where, description["name"],
                        instance_name(node))
        with _NODE_LOCKS.holding(f"{self._lock_scope}|{node.infra_id}|{node.node_id}"):
            name = instance_name(node)
            with self._cloud_errors("list instances", node):
                found = next((instance for instance in self._client.instances()
                              if instance.get("name") == name
                              and instance.get("status") not in ENDED), None)
            if found is not None:
                log.debug("%s: found instance %s, made before", where, found.get("id"))
                return self._instance(node, found)
            with self._cloud_errors("create instance", node):
                made = self._client.create_instance(instance_fields(node, description))
            log.info("%s: made instance %s", where, made.get("id"))
            return self._instance(node, made)

    def _instance(self, node: ResolvedNode, instance: Mapping[str, Any]) -> Instance:
        if not instance.get("id"):
            raise TransientError(f"{self.where(node)}: create instance failed: the answer "
                                 "names no instance id", hint=NOT_CLOUDBROKER_HINT)
        return Instance(node.infra_id, node.node_id, str(instance["id"]))

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        instance_id = instance.instance_id
        with self._cloud_errors(f"stop instance {instance_id}"):
            try:
                status = self._client.instance(instance_id).get("status")
                if status in ENDED:
                    log.debug("[%s] instance %s is %s already", self.label, instance_id, status)
                    return
                self._client.stop(instance_id)
            except CloudBrokerError as error:
                if error.status != 404:
                    raise
                log.debug("[%s] instance %s is gone already", self.label, instance_id)
                return
        log.info("[%s] stopped instance %s", self.label, instance_id)

    # --- states -------------------------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        if not instances:
            return []
        with self._cloud_errors("list instances"):
            by_id = {str(found.get("id")): found for found in self._client.instances()}
        return [self._status(by_id[instance.instance_id])
                if instance.instance_id in by_id else GONE for instance in instances]

    def _status(self, instance: Mapping[str, Any]) -> ResourceStatus:
        status = str(instance.get("status") or "")
        state = self.map_state(status)
        if state is not NodeState.READY:
            return ResourceStatus(state, detail=f"instance {status or 'without a status'}")
        return ResourceStatus(state, addresses_of(instance), private_ip_of(instance))

    def list_owned(self, infra_id: str) -> list[Instance]:
        """The live instances named for a node of the infrastructure."""
        with self._cloud_errors("list instances"):
            instances = self._client.instances()
        owned = []
        for instance in instances:
            node_id = node_of(instance, infra_id)
            if node_id is not None and instance.get("id") \
                    and instance.get("status") not in ENDED:
                owned.append(Instance(infra_id, node_id, str(instance["id"])))
        return owned

    # --- errors -------------------------------------------------------------
    def _cloud_errors(self, operation: str, node: ResolvedNode | None = None, *,
                      missing_hint: str | None = None) -> AbstractContextManager[None]:
        """Raise what the API and httpx raise as a `TransientError` or `PermanentError`; let
        bugs through."""
        return raised_as_contract(lambda error: classify(
            error, where=self.where(node), operation=operation, secrets=self._secrets,
            missing_hint=missing_hint))
