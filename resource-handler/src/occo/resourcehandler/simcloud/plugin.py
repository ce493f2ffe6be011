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

from ..base import (INFRA_TAG, NODE_TAG, Instance, PermanentError, ResourceError,
                    ResourceHandler, TransientError)
from ..schemas import SIMCLOUD
from .connections import Connections, Response, TransportError

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
    states_per_call = 200           # ids in one query string: about 3 KB
    creates_per_call = 200          # simcloud's most in a batch (fewer when user data is large)

    def __init__(self, resource: Mapping[str, Any],
                 auth_data: Mapping[str, Any] | None = None) -> None:
        super().__init__(resource, auth_data)
        self._connections = Connections(str(self.resource["endpoint"]))

    def close(self) -> None:
        self._connections.close()

    def create_node(self, node: ResolvedNode) -> Instance:
        made = self.create_nodes([node])[0]
        if isinstance(made, ResourceError):
            raise made
        return made

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
        tags = {str(key): str(value) for key, value in (self.resource.get("tags") or {}).items()}
        tags.update({INFRA_TAG: node.infra_id, NODE_TAG: node.node_id, NAME_TAG: node.name})
        return {"client_token": node.node_id, "tags": tags, "user_data": node.context,
                **{key: str(self.resource[key]) for key in ("image", "flavor")
                   if self.resource.get(key) is not None}}

    def _made(self, request: dict[str, Any], result: dict[str, Any]) -> Instance | ResourceError:
        """One create's answer in a batch: its instance, or its error classified."""
        tags = request["tags"]
        status = result["status"]
        if status >= 400:
            return _classified(f"[{self.label}] creating node {tags[NODE_TAG]} answered "
                               f"{status}: {result['error']['message']}", status)
        created = result["instance"]
        # the answer names the private address, as EC2's RunInstances does: kept, it
        # saves asking for it (a round trip on every node's way to ready)
        return Instance(tags[INFRA_TAG], tags[NODE_TAG], created["id"],
                        {"private_ip": created["private_ip"]})

    def drop_node(self, instance: Instance) -> None:
        self._call("DELETE", f"/instances/{instance.instance_id}", missing_ok=True)

    def get_state(self, instance: Instance) -> NodeState:
        return self.get_states([instance])[0]

    def get_states(self, instances: Sequence[Instance]) -> list[NodeState]:
        ids = [instance.instance_id for instance in instances]
        found = self._call("GET", "/instances", params={"ids": ",".join(ids)})
        states = {item["id"]: item["state"] for item in found["instances"]}
        return [NodeState.SHUTDOWN if instance_id not in states
                else self.map_state(states[instance_id]) for instance_id in ids]

    def get_address(self, instance: Instance) -> list[str]:
        address = self.get_ip_address(instance)
        return [] if address is None else [address]

    def get_ip_address(self, instance: Instance) -> str | None:
        if instance.data.get("private_ip"):
            return str(instance.data["private_ip"])      # an instance keeps its address
        found = self._get(instance)
        return None if found is None or found["state"] == "terminated" else found["private_ip"]

    def get_cost(self, instance: Instance) -> float:
        found = self._get(instance)
        if found is None:
            raise PermanentError(f"[{self.label}] instance {instance.instance_id} is gone; "
                                 "its cost is no longer known")
        return float(found["cost"])

    def list_owned(self, infra_id: str) -> list[Instance]:
        found = self._call("GET", "/instances", params={f"tag.{INFRA_TAG}": infra_id})
        return [Instance(infra_id, item["tags"][NODE_TAG], item["id"],
                         {"private_ip": item["private_ip"]})
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
                                     hint=f"is {self.resource['endpoint']} a simcloud server?"
                                     ) from None
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
