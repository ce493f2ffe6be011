"""The resource handler of simcloud (see `server.py` for its API).

Creating is idempotent through the client token, which is the node id: a
retry after an error (a timeout, or a 500 after the instance was made) gets
the instance made before. Creates go in batches (`POST /instances/batch`),
as many as fit in a request body simcloud accepts. Connections are kept and reused across calls and
threads (`connections.Connections`); `close()` releases them.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from occo.util.nodes import NodeState, ResolvedNode

from ..base import (GONE, INFRA_TAG, NODE_TAG, OWNER_TAG, Capabilities, Connection, Instance,
                    PermanentError, ResourceError, ResourceHandler, ResourceStatus,
                    TransientError)
from .connections import Connections, Response, TransportError
from .schema import SIMCLOUD

NAME_TAG = "occopus-node-name"
# bytes of create requests in one batch: simcloud takes bodies up to 1 MiB; a node whose own
# request is larger is sent alone, and refused
BATCH_BYTES = 768 * 1024


class SimCloudHandler(ResourceHandler):
    """Instances on a simcloud server, tagged with their infrastructure and node ids."""

    type_name = "simcloud"
    schema = SIMCLOUD
    STATE_MAP = {"pending": NodeState.PENDING, "running": NodeState.READY,
                 "terminated": NodeState.SHUTDOWN}
    # ids in one query string: about 3 KB; simcloud's most in a batch (fewer when user data
    # is large)
    capabilities = Capabilities(creates_per_call=200, states_per_call=200, costs=True)

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.endpoint = str(connection.settings["endpoint"])
        self._connections = Connections(self.endpoint)

    def close(self) -> None:
        self._connections.close()

    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        requests = [self._create_request(node) for node in nodes]
        encoded = [json.dumps(request) for request in requests]     # once: sized, then sent
        made: list[Instance | ResourceError] = []
        for batch in _batches(encoded, BATCH_BYTES):
            body = '{"instances":[' + ",".join(encoded[batch]) + "]}"
            answer = self._call("POST", "/instances/batch", content=body.encode())
            made.extend(self._made(request, result)
                        for request, result in zip(requests[batch], answer["results"],
                                                   strict=True))
        return made

    def _create_request(self, node: ResolvedNode) -> dict[str, Any]:
        resource = node.resource
        tags = {str(key): str(value) for key, value in (resource.get("tags") or {}).items()}
        tags.update({INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, NAME_TAG: node.name,
                     OWNER_TAG: node.user_id})
        return {"client_token": node.node_id, "tags": tags, "user_data": node.context,
                **{key: str(resource[key]) for key in ("image", "flavor")
                   if resource.get(key) is not None}}

    def _made(self, request: dict[str, Any], result: dict[str, Any]) -> Instance | ResourceError:
        """One create's answer in a batch: its instance, or its error classified."""
        tags = request["tags"]
        status = result["status"]
        if status >= 400:
            return _classified(f"[{self.label}] creating node {tags[NODE_TAG]} answered "
                               f"{status}: {result['error']['message']}", status)
        return Instance(tags[INFRA_TAG], tags[NODE_TAG], result["instance"]["id"])

    def drop_node(self, instance: Instance) -> None:
        self._call("DELETE", f"/instances/{instance.instance_id}", missing_ok=True)

    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        ids = [instance.instance_id for instance in instances]
        found = self._call("GET", "/instances", params={"ids": ",".join(ids), "view": "status"})
        statuses = {item["id"]: self._status(item) for item in found["instances"]}
        return [statuses.get(instance_id, GONE) for instance_id in ids]

    def _status(self, item: Mapping[str, Any]) -> ResourceStatus:
        state = self.map_state(item["state"])
        if state == NodeState.SHUTDOWN:
            return GONE
        address = item.get("private_ip")
        return ResourceStatus(state, (address,) if address else (), address)

    def get_cost(self, instance: Instance) -> float:
        found = self._get(instance)
        if found is None:
            raise PermanentError(f"[{self.label}] instance {instance.instance_id} is gone; "
                                 "its cost is no longer known")
        return float(found["cost"])

    def list_owned(self, infra_id: str) -> list[Instance]:
        found = self._call("GET", "/instances", params={f"tag.{INFRA_TAG}": infra_id})
        return [Instance(infra_id, item["tags"][NODE_TAG], item["id"])
                for item in found["instances"] if item["state"] != "terminated"]

    def _get(self, instance: Instance) -> dict[str, Any] | None:
        return self._call("GET", f"/instances/{instance.instance_id}", missing_ok=True)

    def _call(self, method: str, path: str, *, missing_ok: bool = False,
              **request: Any) -> Any:
        """The JSON answer; None for a 404 when `missing_ok`; failures classified."""
        what = f"[{self.label}] {method} {path}"
        try:
            response = self._connections.request(method, path, **request)
        except TransportError as error:
            raise TransientError(f"{what}: {error}",
                                 hint="is the simcloud server running?") from None
        status = response.status
        if status == 404 and missing_ok:
            return None
        if status < 400:
            try:
                return response.json()
            except ValueError:
                raise PermanentError(f"{what} answered {status} without JSON",
                                     hint=f"is {self.endpoint} a simcloud server?") from None
        raise _classified(f"{what} answered {status}: {_message(response)}", status)


def _classified(message: str, status: int) -> ResourceError:
    if status == 429 or status >= 500:
        return TransientError(message, hint="retry later")
    return PermanentError(message)


def _batches(encoded: Sequence[str], budget: int) -> Iterator[slice]:
    """The encoded requests in order, in runs (slices) that stay within `budget` bytes once
    joined (at least one request each)."""
    start, size = 0, 0
    for index, text in enumerate(encoded):
        length = len(text) + 1          # bytes too: json.dumps escapes all but ASCII
        if index > start and size + length > budget:
            yield slice(start, index)
            start, size = index, 0
        size += length
    if start < len(encoded):
        yield slice(start, len(encoded))


def _message(response: Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]
