"""The docker plugin, against the checkout's real engine, passes the conformance kit."""
from __future__ import annotations

import secrets
import uuid

from docker.errors import NotFound

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import Connection
from occo.resourcehandler.conformance import ResourceHandlerConformance
from occo.resourcehandler.docker import testing as docker_testing
from occo.resourcehandler.docker.handler import DockerHandler


class DockerConformanceTest(ResourceHandlerConformance, docker_testing.EngineTestCase):
    READY_TIMEOUT = 30.0

    def setUp(self) -> None:
        super().setUp()
        # the nodes' image: a tag of the base image of this test's own, which a fault removes
        self.image, self.tag = "occopus-test/conformance", uuid.uuid4().hex[:12]
        self.docker.tag(self.engine.base_image, self.image, self.tag)
        self.addCleanup(self.untag)

    def untag(self) -> None:
        try:
            self.docker.remove_image(f"{self.image}:{self.tag}")
        except NotFound:
            pass

    def make_handler(self) -> DockerHandler:
        return DockerHandler(Connection("docker", {"endpoint": docker_testing.endpoint()}))

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return ResolvedNode(infra_id, "conformance", "tester@example.org", node_id, "node",
                            {"type": "docker", "endpoint": docker_testing.endpoint(),
                             "origin": "local", "image": self.image, "tag": self.tag},
                            {"type": "docker", "env": [], "command": "sleep inf"})

    def missing_instance_id(self) -> str:
        return secrets.token_hex(32)        # a container id's form, naming nothing

    def inject_fault(self, kind: str) -> bool:
        """A bad request: the node's image (origin local) is not on the engine. The engine has
        no rate limits to hit, so that fault cannot be made honestly."""
        if kind != "bad_request":
            return False
        self.untag()
        return True
