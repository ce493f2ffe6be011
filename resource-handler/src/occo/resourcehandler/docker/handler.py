"""`DockerHandler`: each node a container on one Docker engine, through the Docker SDK.

A container costs four calls of its own: create, start, stop and remove.
Its image is looked for once per handler (and loaded once if missing, see
`images`), and one listing call tells the states and addresses of up to
`states_per_call` containers. The original plugin made 18 calls a container.

The container is named after its node (`launch.container_name`) and
labelled with the infrastructure, node and owner when it is created, so a
retried or concurrent create finds the container made before (the engine
answers 409 to a second one of that name) and starts it if it never was, and
`list_owned` finds it after a crash. It runs with an init process, which
passes SIGTERM on, so a stop takes moments rather than its full timeout.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from occo.util.nodes import NodeState, ResolvedNode

from ..base import (GONE, INFRA_TAG, NODE_TAG, Capabilities, Connection, Instance,
                    PermanentError, ResourceError, ResourceHandler, ResourceStatus,
                    TransientError, each)
from .errors import engine_call, one_line
from .images import ImageLoader
from .launch import Launch, launch_of
from .schema import DOCKER
from .states import STATE_MAP, cloud_state, status_of

API_VERSION = "1.41"     # Docker 20.10; newer engines answer it too, and no call asks which
TIMEOUT = 60.0           # seconds an engine call may take (a stop's grace comes on top)
POOL_SIZE = 32           # connections kept to the engine, for Occopus's worker threads
STOP_GRACE = 3           # seconds between a drop's SIGTERM and its SIGKILL
NAME_WAIT = 30.0         # seconds a create waits for another's container holding its name
NAME_POLL = 0.05
ENDPOINT_SCHEMES = ("unix", "tcp", "http")


class DockerHandler(ResourceHandler):
    """Containers on the engine at the connection's `endpoint`."""

    type_name = "docker"
    schema = DOCKER
    # one listing call (ids in its query string, about 70 bytes each) tells many states; a
    # container runs once its create (which starts it) returns
    capabilities = Capabilities(states_per_call=100, up_when_made=True)
    STATE_MAP: ClassVar[Mapping[str, NodeState]] = STATE_MAP

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.endpoint = str(connection.settings.get("endpoint") or "")
        if self.endpoint.partition("://")[0] not in ENDPOINT_SCHEMES:
            raise PermanentError(f"[{self.label}] the docker endpoint {self.endpoint!r} is not "
                                 "the URL of a Docker engine",
                                 hint="write unix:///path/to/docker.sock or tcp://HOST:PORT")
        try:
            self.client = docker.APIClient(base_url=self.endpoint, version=API_VERSION,
                                           timeout=TIMEOUT, max_pool_size=POOL_SIZE)
        except (DockerException, ValueError) as error:
            raise PermanentError(f"[{self.label}] the docker endpoint {self.endpoint!r} is not "
                                 f"usable: {one_line(error)}",
                                 hint="write unix:///path/to/docker.sock or tcp://HOST:PORT"
                                 ) from None
        self.images = ImageLoader(self.client, self.endpoint, self.label)
        self._host_config = self.client.create_host_config(init=True)

    def close(self) -> None:
        self.client.close()

    # --- create -------------------------------------------------------------
    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        return each(nodes, self.create_node)

    def create_node(self, node: ResolvedNode) -> Instance:
        """The node's container, made and started now, or found as made before."""
        try:
            launch = launch_of(node)
        except PermanentError as error:
            raise PermanentError(f"[{self.label}] {error.message}", hint=error.hint) from None
        container_id, state = self._create(launch)
        if state == "created":          # made now, or made before by a create that failed
            self._start(launch, container_id)
        return Instance(node.infra_id, node.node_id, container_id, {"name": launch.name})

    def _create(self, launch: Launch) -> tuple[str, str]:
        """The id and state of the node's container, made now unless it exists."""
        what = f"[{self.label}] node {launch.node_id}: creating container {launch.name}"
        reloaded = False
        deadline = time.monotonic() + NAME_WAIT
        while True:
            self.images.ensure(launch)
            with engine_call(what, self.endpoint, hide=_values(launch.environment)):
                try:
                    made = self.client.create_container(
                        launch.reference, command=launch.command,
                        environment=launch.environment or None, name=launch.name,
                        labels=launch.labels, host_config=self._host_config)
                    return str(made["Id"]), "created"
                except ImageNotFound:
                    if reloaded:            # removed again right after it was loaded
                        raise
                    reloaded = True
                    self.images.forget(launch.reference)    # removed since it was loaded
                    continue
                except APIError as error:
                    if error.status_code != 409:    # 409: the name is taken, by this node
                        raise
            found = self._existing(launch)
            if found is not None:
                return found
            # the engine holds the name for a create still under way, before its container
            # can be looked at: wait for that one to finish (or to fail and free the name)
            if time.monotonic() > deadline:
                raise TransientError(f"{what}: its name is taken, but no container of that "
                                     f"name showed up within {NAME_WAIT:g} s",
                                     hint="retry the create")
            time.sleep(NAME_POLL)

    def _existing(self, launch: Launch) -> tuple[str, str] | None:
        """The id and state of the node's container made before, if it can be seen."""
        what = f"[{self.label}] node {launch.node_id}: finding its container {launch.name}"
        with engine_call(what, self.endpoint):
            try:
                found = self.client.inspect_container(launch.name)
            except NotFound:
                return None
        owner = (found.get("Config") or {}).get("Labels", {}).get(NODE_TAG)
        if owner != launch.node_id:
            raise PermanentError(f"{what}: a container of that name belongs to node {owner}",
                                 hint=f"remove it with: docker rm -f {launch.name}")
        return str(found["Id"]), str(found.get("State", {}).get("Status", ""))

    def _start(self, launch: Launch, container_id: str) -> None:
        """Start it; one that cannot be started for good is removed, so nothing is left behind,
        while after a failure that may pass it stays, for the retry to find and start."""
        what = f"[{self.label}] node {launch.node_id}: starting container {launch.name}"
        try:
            with engine_call(what, self.endpoint):
                self.client.start(container_id)
        except PermanentError:
            self._remove(container_id)
            raise

    # --- drop ---------------------------------------------------------------
    def drop_node(self, instance: Instance) -> None:
        """Stop it (SIGTERM, SIGKILL after `STOP_GRACE` s) and remove it with its anonymous
        volumes; a container already gone is dropped."""
        if not instance.instance_id:
            return
        what = (f"[{self.label}] node {instance.node_id}: dropping container "
                f"{instance.instance_id[:12]}")
        with engine_call(what, self.endpoint):
            try:
                self.client.stop(instance.instance_id, timeout=STOP_GRACE)
            except NotFound:
                return
        self._remove(instance.instance_id, what)

    def _remove(self, container_id: str, what: str | None = None) -> None:
        """Remove a container; without `what` failures are ignored (a clean-up on the way out
        of another failure)."""
        try:
            with engine_call(what or f"[{self.label}] removing container {container_id[:12]}",
                             self.endpoint):
                try:
                    self.client.remove_container(container_id, v=True, force=True)
                except NotFound:
                    pass
                except APIError as error:
                    if error.status_code != 409 or "in progress" not in str(error.explanation):
                        raise       # 409 "removal already in progress": another drop's
        except ResourceError:
            if what is not None:
                raise

    # --- states and ownership -----------------------------------------------
    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        ids = [instance.instance_id for instance in instances]
        listed = self._list({"id": sorted(set(ids))}, f"{len(set(ids))} container(s)")
        found = {str(container["Id"]): container for container in listed}
        return [self._status(found[container_id]) if container_id in found else GONE
                for container_id in ids]

    def _status(self, container: Mapping[str, Any]) -> ResourceStatus:
        return status_of(container, self.map_state(cloud_state(container)))

    def list_owned(self, infra_id: str) -> list[Instance]:
        """Every container labelled with the infrastructure, running or not (a stopped one
        still holds its name and disk), except those being removed."""
        listed = self._list({"label": [f"{INFRA_TAG}={infra_id}"]},
                            f"the containers of infrastructure {infra_id}")
        return [Instance(infra_id, str(container["Labels"][NODE_TAG]), str(container["Id"]),
                         {"name": str((container.get("Names") or ["/"])[0]).lstrip("/")})
                for container in listed
                if NODE_TAG in (container.get("Labels") or {})
                and container.get("State") != "removing"]

    def _list(self, filters: dict[str, list[str]], what: str) -> list[Mapping[str, Any]]:
        with engine_call(f"[{self.label}] listing {what}", self.endpoint):
            return list(self.client.containers(all=True, filters=filters))


def _values(environment: Sequence[str]) -> list[str]:
    """The values of `K=V` entries: secrets often, never to be repeated in a message."""
    return [entry.partition("=")[2] for entry in environment]
