"""`EC2Handler`: nodes as instances on Amazon EC2, or on a cloud that speaks its API.

One node per RunInstances call, since each node has user data and tags of its
own. Creates are idempotent by node id, in two ways:

- Each request carries a client token derived from the node id. EC2 answers a
  repeated token with the instance the first request made, across processes
  and in spite of its eventual consistency.
- Not every EC2-compatible cloud honours client tokens (moto 5 ignores them
  and makes a second instance), so before running a node the handler looks for
  an instance tagged with its node id, holding a lock per node: concurrent
  creates of a node in this process wait for each other, and a retry after a
  lost answer finds what the first attempt made. As EC2 does for a repeated
  token, the lookup answers the instance made before even if it was
  terminated since; its state then says SHUTDOWN.

States, addresses and ownership are read with DescribeInstances filters (see
`described`); errors are classified in `errors`, the client made in `client`.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.redact import secret_values

from ..base import (GONE, INFRA_TAG, NODE_TAG, Capabilities, Connection, Instance,
                    ResourceError, ResourceHandler, ResourceStatus, TransientError, each,
                    raised_as_contract)
from . import client as ec2_client
from .described import (LIVE_STATES, addresses_of, described, newest_first, node_id_of,
                        state_name, state_reason, tag_filter)
from .errors import GONE_CODES, NOT_EC2_HINT, classify, error_code
from .launch import run_request
from ..locks import KeyedLocks
from .schema import EC2

log = logging.getLogger("occo.resourcehandler.ec2")

# creates of one node wait for each other, whichever handler of this process makes them
_NODE_LOCKS = KeyedLocks()
LAUNCHED_AT = "launched_at"     # in an instance's data: when its RunInstances answered
# EC2 is eventually consistent: DescribeInstances may not list an instance for a while after
# RunInstances made it (AWS documents seconds, sometimes more); till then it is not gone
LISTING_GRACE = 300.0


class EC2Handler(ResourceHandler):
    """Instances of one EC2 endpoint and region, reached with one access key pair."""

    type_name = "ec2"
    schema = EC2
    # ids asked about in one DescribeInstances filter: few enough to keep the request small
    capabilities = Capabilities(creates_per_call=1, states_per_call=200)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = {
        "pending": NodeState.PENDING,
        "running": NodeState.READY,
        "shutting-down": NodeState.SHUTDOWN,
        "terminated": NodeState.SHUTDOWN,
        "stopping": NodeState.TEMP_FAILED,
        "stopped": NodeState.TEMP_FAILED,
    }
    CONNECT_TIMEOUT: ClassVar[float] = ec2_client.CONNECT_TIMEOUT
    READ_TIMEOUT: ClassVar[float] = ec2_client.READ_TIMEOUT

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._client = ec2_client.make_client(connection, connect_timeout=self.CONNECT_TIMEOUT,
                                              read_timeout=self.READ_TIMEOUT)
        # every credential value, hidden wherever the cloud might echo it
        self._secrets = secret_values(connection.credentials, masked=True)
        settings = connection.settings
        self._lock_scope = f"{settings.get('endpoint')}|{settings.get('regionname')}"

    def close(self) -> None:
        self._client.close()

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self._create)

    def _create(self, node: ResolvedNode) -> Instance:
        request = run_request(node, self.where(node))      # a section missing keys asks nothing
        with _NODE_LOCKS.holding(f"{self._lock_scope}|{node.node_id}"):
            made = self._made_before(node)
            if made is not None:
                log.debug("[%s] node %s: found %s, made before", self.label, node.node_id,
                          made.instance_id)
                return made
            with self._cloud_errors("RunInstances", node):
                answer = self._client.run_instances(**request)
            launched = (answer.get("Instances") or [{}])[0]
            instance_id = launched.get("InstanceId")
            if not instance_id:     # a retry finds the instance by its tags, if one was made
                raise TransientError(f"{self.where(node)}: RunInstances answered without an "
                                     "instance id", hint=NOT_EC2_HINT)
            log.info("[%s] node %s: launched %s", self.label, node.node_id, instance_id)
            return Instance(node.infra_id, node.node_id, instance_id, _launch_data(launched))

    def _made_before(self, node: ResolvedNode) -> Instance | None:
        """The instance tagged with this node's ids, a live one first, if there is one."""
        filters = [tag_filter(NODE_TAG, node.node_id), tag_filter(INFRA_TAG, node.infra_id)]
        with self._cloud_errors("DescribeInstances", node):
            found = newest_first(list(described(self._client, filters)))
        if not found:
            return None
        return Instance(node.infra_id, node.node_id, str(found[0]["InstanceId"]),
                        _launch_data(found[0]))

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        with self._cloud_errors("TerminateInstances"):
            try:
                self._client.terminate_instances(InstanceIds=[instance.instance_id])
            except ClientError as error:
                if error_code(error) not in GONE_CODES:
                    raise
                log.debug("[%s] %s is gone already", self.label, instance.instance_id)

    # --- states -------------------------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        if not instances:
            return []
        ids = list(dict.fromkeys(instance.instance_id for instance in instances))
        with self._cloud_errors("DescribeInstances"):
            found = {item["InstanceId"]: item for item in
                     described(self._client, [{"Name": "instance-id", "Values": ids}])}
        return [self._status(found[instance.instance_id]) if instance.instance_id in found
                else _unlisted(instance) for instance in instances]

    def _status(self, item: Mapping[str, Any]) -> ResourceStatus:
        return ResourceStatus(self.map_state(state_name(item)), addresses_of(item),
                              item.get("PrivateIpAddress") or None, state_reason(item))

    def list_owned(self, infra_id: str) -> list[Instance]:
        filters = [tag_filter(INFRA_TAG, infra_id),
                   {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        with self._cloud_errors("DescribeInstances"):
            found = list(described(self._client, filters))
        owned = []
        for item in found:
            node_id = node_id_of(item)
            if node_id is None:      # tagged by hand, not made by Occopus: not ours to drop
                log.warning("[%s] %s has the tag %s=%s but no %s; left alone", self.label,
                            item["InstanceId"], INFRA_TAG, infra_id, NODE_TAG)
                continue
            owned.append(Instance(infra_id, node_id, str(item["InstanceId"])))
        return owned

    # --- errors -------------------------------------------------------------
    def _cloud_errors(self, operation: str,
                      node: ResolvedNode | None = None) -> AbstractContextManager[None]:
        """Raise what boto3 raises as a `TransientError` or `PermanentError`; let bugs through."""
        return raised_as_contract(lambda error: classify(
            error, where=self.where(node), operation=operation, secrets=self._secrets))


def _launch_data(item: Mapping[str, Any]) -> dict[str, float]:
    """An instance's data: when EC2 says it launched it (else now), for `_unlisted`."""
    launched = item.get("LaunchTime")
    return {LAUNCHED_AT: launched.timestamp() if hasattr(launched, "timestamp") else time.time()}


def _unlisted(instance: Instance) -> ResourceStatus:
    """An instance DescribeInstances does not list: gone, unless it was launched so lately that
    EC2 may not list it yet."""
    launched = instance.data.get(LAUNCHED_AT)
    if isinstance(launched, (int, float)) and time.time() - launched < LISTING_GRACE:
        return ResourceStatus(NodeState.PENDING, detail="not listed yet: EC2 lists a new "
                              "instance a moment after it makes it")
    return GONE
