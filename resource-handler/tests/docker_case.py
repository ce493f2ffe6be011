"""A test case with the real engine: handlers, nodes, and everything made removed after.

Each test's containers are dropped when it ends, and then, whatever a failed
test left, every container labelled with one of its infrastructure ids is
removed and every image tag it made is deleted.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from docker.errors import NotFound

from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.base import INFRA_TAG, Connection, Instance, ResourceStatus
from occo.resourcehandler.docker import testing as docker_testing
from occo.resourcehandler.docker.handler import DockerHandler

from .support import create_one

T = TypeVar("T")
KEEP_RUNNING = "sleep inf"        # a main process that lives until the container is stopped


class DockerCase(docker_testing.EngineTestCase):
    READY_TIMEOUT = 30.0
    POLL_INTERVAL = 0.05

    def setUp(self) -> None:
        super().setUp()
        self.infra_id = self.new_id("infra")
        self._infra_ids = {self.infra_id}
        self._image_tags: list[str] = []
        self.addCleanup(self._remove_what_is_left)

    @staticmethod
    def new_id(what: str) -> str:
        return f"test-{what}-{uuid.uuid4().hex[:12]}"

    # --- making things ------------------------------------------------------
    def handler(self, kind: str = "unix") -> DockerHandler:
        handler = DockerHandler(Connection("docker", {"endpoint": docker_testing.endpoint(kind)}))
        self.addCleanup(handler.close)
        return handler

    def node(self, *, origin: str = "local", image: str | None = None, tag: str = "latest",
             env: Any = (), command: Any = KEEP_RUNNING,
             contextualisation: dict[str, Any] | None = None,
             infra_id: str | None = None, node_id: str | None = None) -> ResolvedNode:
        """A node of the base image that stays up, unless told otherwise."""
        infra_id = infra_id or self.infra_id
        self._infra_ids.add(infra_id)
        if contextualisation is None:
            contextualisation = {"type": "docker", "command": command,
                                 "env": list(env) if isinstance(env, tuple) else env}
        repository = self.engine.base_image.rpartition(":")[0] if image is None else image
        return ResolvedNode(infra_id, f"{infra_id}-name", "tester@example.org",
                            node_id or self.new_id("node"), "web",
                            {"type": "docker", "endpoint": docker_testing.endpoint(),
                             "origin": origin, "image": repository, "tag": tag},
                            contextualisation)

    def create(self, handler: DockerHandler, node: ResolvedNode) -> Instance:
        instance = create_one(handler, node)
        self.addCleanup(handler.drop_node, instance)
        return instance

    def image_tag(self, source: str | None = None) -> tuple[str, str]:
        """A new tag of an image on the engine (the base one by default), removed after."""
        repository, tag = "occopus-test/tagged", uuid.uuid4().hex[:12]
        self.docker.tag(source or self.engine.base_image, repository, tag)
        self.forget_image_after(repository, tag)
        return repository, tag

    def forget_image_after(self, repository: str, tag: str) -> None:
        self._image_tags.append(f"{repository}:{tag}")

    def unique_image(self) -> tuple[str, str]:
        """A name and tag no image has yet; whatever gets that name is removed after."""
        repository, tag = "occopus-test/loaded", uuid.uuid4().hex[:12]
        self.forget_image_after(repository, tag)
        return repository, tag

    # --- looking at things --------------------------------------------------
    def wait_until(self, condition: Callable[[], T | None], what: str) -> T:
        """Poll until `condition` answers something true, or fail at the deadline."""
        deadline = time.monotonic() + self.READY_TIMEOUT
        while True:
            answer = condition()
            if answer:
                return answer
            if time.monotonic() > deadline:
                self.fail(f"{what} did not happen within {self.READY_TIMEOUT:g} s")
            time.sleep(self.POLL_INTERVAL)

    def wait_for(self, handler: DockerHandler, instance: Instance,
                 wanted: NodeState) -> ResourceStatus:
        def reached() -> ResourceStatus | None:
            [status] = handler.get_states([instance])
            return status if status.state is wanted else None
        return self.wait_until(reached, f"{instance.node_id} becoming {wanted}")

    def logs(self, instance: Instance) -> str:
        return self.docker.logs(instance.instance_id).decode(errors="replace")

    def inspect(self, instance: Instance) -> dict[str, Any]:
        return self.docker.inspect_container(instance.instance_id)

    def count_calls(self, handler: DockerHandler) -> list[str]:
        """The engine calls the handler makes from now on, as "METHOD /path"."""
        calls: list[str] = []

        def record(response: Any, *args: Any, **kwargs: Any) -> None:
            path = response.request.path_url.split("?")[0].removeprefix("/v1.41")
            calls.append(f"{response.request.method} {path}")
        handler.client.hooks["response"].append(record)
        return calls

    # --- cleaning up --------------------------------------------------------
    def _remove_what_is_left(self) -> None:
        for infra_id in self._infra_ids:
            for container in self.docker.containers(
                    all=True, filters={"label": [f"{INFRA_TAG}={infra_id}"]}):
                self.docker.remove_container(container["Id"], v=True, force=True)
        for reference in self._image_tags:
            try:
                self.docker.remove_image(reference, force=True)
            except NotFound:
                pass
