"""The docker-helloworld and docker-ping tutorials, and examples/docker, end to end, on the
checkout's Docker engine.

Each tutorial test copies a tutorial from ../shared/compat/occopus-tutorials
and fills it in as a user would: the endpoint (the engine's unix socket for
one, its 127.0.0.1 TCP port for the other) and the image's origin, since the
tutorials' S3 tarballs cannot be downloaded here: the same images, served by
an HTTP server on 127.0.0.1 (`occo.resourcehandler.docker.testing`). Nothing
else in the files changes; the example gets its endpoint only, as its README
says. Then the real commands (import, build, report, destroy), and a look at
the engine itself: the containers by label, their environment and what they
print.

The engine is the one `./occo-dev docker start` runs; where it cannot be had
the tests fail (outside CI they are skipped only where docker.io cannot be
had at all). The tutorials' images (`busybox_helloworld:latest`,
`busybox_ping:latest`) are removed before each build, so that it imports
them from their origin as a user's first build does, and after each test,
with every container of its infrastructure.
"""
from __future__ import annotations

import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docker.errors import NotFound

from occo.resourcehandler.base import INFRA_TAG, NODE_TAG, OWNER_TAG
from occo.resourcehandler.docker import testing as docker_testing
from occo.resourcehandler.docker.launch import NAME_TAG

from .support import REPO, CommandCase, wait_until

OWNER = "somebody@somewhere.com"          # the tutorials' user_id
ENDPOINT_PLACEHOLDER = "replace_with_your_docker_endpoint"
# the tutorials' image tarballs on S3, which this machine cannot reach
S3_ORIGIN = re.compile(r"https://s3\.lpds\.sztaki\.hu/docker/(\w+)\.tar")
IMAGES = ("busybox_helloworld:latest", "busybox_ping:latest")


class DockerCommandCase(CommandCase):
    """The commands with a store of the test's own, and the engine to look at."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        docker_testing.engine()         # started once, or skipped or failed saying why

    def setUp(self) -> None:
        super().setUp()
        self.use_config()
        self.docker = docker_testing.client()
        self.addCleanup(self.docker.close)
        self.infra_ids: list[str] = []
        self.remove_tutorial_images()
        # runs after the destroy of any test that stopped half-way
        self.addCleanup(self.remove_what_is_left)

    def fill(self, kind: str) -> Callable[[str], str]:
        """What a user puts into a docker tutorial: the endpoint (`unix` or `tcp`) and the
        origin of each image."""
        endpoint = docker_testing.endpoint(kind)

        def fill(text: str) -> str:
            text = text.replace(ENDPOINT_PLACEHOLDER, endpoint)
            text = S3_ORIGIN.sub(lambda found: docker_testing.tutorial_image_url(found[1]), text)
            self.assertNotIn("s3.lpds.sztaki.hu", text)
            return text
        return fill

    def build_tutorial(self, name: str, kind: str, infra_file: str) -> tuple[str, list[dict]]:
        """Import a tutorial's node definitions and build it: its id and its table's rows."""
        return self.build_folder(self.copy_tutorial(name, self.fill(kind)), kind, infra_file)

    def build_folder(self, folder: Path, kind: str, infra_file: str) -> tuple[str, list[dict]]:
        """Import the filled-in node definitions of `folder` and build its `infra_file`: the
        infrastructure id, and the table's rows, every node created and ready."""
        definitions = folder / "nodes" / "node_definitions.yaml"
        self.assertIn(docker_testing.endpoint(kind), definitions.read_text())
        imported = self.run_command("occopus-import", definitions, code=0)
        self.assertTrue(imported.stdout.startswith("Successfully imported nodes: "),
                        imported.stdout)
        infra_id, rows = self.build_ready(folder / infra_file)
        self.infra_ids.append(infra_id)
        return infra_id, rows

    # --- the engine ------------------------------------------------------------
    def containers(self, infra_id: str) -> list[dict[str, Any]]:
        """Every container labelled with the infrastructure, running or not, inspected."""
        listed = self.docker.containers(all=True, filters={"label": [f"{INFRA_TAG}={infra_id}"]})
        return [self.docker.inspect_container(item["Id"]) for item in listed]

    def container_of(self, infra_id: str, node_id: str) -> dict[str, Any]:
        [found] = [item for item in self.containers(infra_id)
                   if item["Config"]["Labels"][NODE_TAG] == node_id]
        return found

    @staticmethod
    def address_of(container: dict[str, Any]) -> str:
        [network] = container["NetworkSettings"]["Networks"].values()
        return str(network["IPAddress"])

    def logs(self, container: dict[str, Any]) -> str:
        return self.docker.logs(container["Id"]).decode(errors="replace")

    def assert_runs_as_made(self, infra_id: str, row: dict[str, Any],
                            owner: str = OWNER) -> dict[str, Any]:
        """The row's container runs with the node's labels, on the address the table shows."""
        container = self.container_of(infra_id, row["node_id"])
        self.assertEqual(container["State"]["Status"], "running")
        labels = container["Config"]["Labels"]
        self.assertEqual({key: labels.get(key) for key in (INFRA_TAG, NODE_TAG, OWNER_TAG,
                                                            NAME_TAG)},
                         {INFRA_TAG: infra_id, NODE_TAG: row["node_id"], OWNER_TAG: owner,
                          NAME_TAG: row["node"]})
        self.assertEqual(row["addresses"], [self.address_of(container)])
        return container

    def assert_nothing_left(self, infra_id: str) -> None:
        self.assertEqual(self.containers(infra_id), [])

    def remove_tutorial_images(self) -> None:
        for reference in IMAGES:
            try:
                self.docker.remove_image(reference, force=True)
            except NotFound:
                pass

    def remove_what_is_left(self) -> None:
        for infra_id in self.infra_ids:
            for container in self.docker.containers(
                    all=True, filters={"label": [f"{INFRA_TAG}={infra_id}"]}):
                self.docker.remove_container(container["Id"], v=True, force=True)
        self.remove_tutorial_images()


class DockerHelloWorldTest(DockerCommandCase):
    """docker-helloworld through the engine's unix socket."""

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        downloads = docker_testing.image_server().requests
        before = downloads["/busybox_helloworld.tar"]
        infra_id, rows = self.build_tutorial("docker-helloworld", "unix",
                                             "infra-docker-helloworld.yaml")
        [row] = rows
        self.assertEqual(row["node"], "helloworld")
        container = self.assert_runs_as_made(infra_id, row)
        # its image, missing from the engine, was imported from the origin filled in
        self.assertEqual(container["Config"]["Image"], "busybox_helloworld:latest")
        self.assertEqual(downloads["/busybox_helloworld.tar"], before + 1)

        # the node's message, rendered from the infrastructure's variables, reached the
        # container's environment; its start.sh printed it and wrote it to a file
        message = "Hello World! I have been created by Occopus."
        self.assertIn(f"message={message}", container["Config"]["Env"])
        wait_until(lambda: message in self.logs(container), "the container printed its message")
        said = self.docker.exec_create(container["Id"], ["cat", "/root/message.txt"])
        self.assertEqual(self.docker.exec_start(said["Id"]).decode().strip(), message)

        self.report_and_destroy(infra_id, rows)


class DockerPingTest(DockerCommandCase):
    """docker-ping through the engine's 127.0.0.1 TCP port."""

    def test_build_report_and_destroy_the_tutorial(self) -> None:
        infra_id, rows = self.build_tutorial("docker-ping", "tcp", "infra-docker-ping.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["ping-receiver", "ping-sender"])
        nodes = {row["node"]: row for row in rows}
        receiver = self.assert_runs_as_made(infra_id, nodes["ping-receiver"])
        sender = self.assert_runs_as_made(infra_id, nodes["ping-sender"])
        self.assertEqual(sender["Config"]["Image"], "busybox_ping:latest")

        # the sender was made after the receiver was ready, with getip('ping-receiver') in
        # its environment: the receiver's container address, which answers its pings
        target = self.address_of(receiver)
        self.assertIn(f"target_ip={target}", sender["Config"]["Env"])
        wait_until(lambda: f"64 bytes from {target}" in self.logs(sender),
                   lambda: f"the receiver answered a ping; the sender said:\n{self.logs(sender)}")
        wait_until(lambda: "Hello World! I am the receiver node." in self.logs(receiver),
                   "the receiver printed its message")

        self.report_and_destroy(infra_id, rows)


class DockerExampleTest(DockerCommandCase):
    """examples/docker, its endpoint filled in as its README says: the server serves the
    greeting, and every reader fetches it from the address getip('server') gave."""

    def test_the_readers_fetch_the_servers_greeting(self) -> None:
        endpoint = docker_testing.endpoint("unix")
        example = self.copy_filled(REPO / "examples" / "docker",
                                   lambda text: text.replace(ENDPOINT_PLACEHOLDER, endpoint))
        infra_id, rows = self.build_folder(example, "unix", "infra.yaml")
        self.assertEqual(sorted(row["node"] for row in rows), ["reader", "reader", "server"])
        containers = {row["node_id"]: self.assert_runs_as_made(infra_id, row, "demo@example.org")
                      for row in rows}
        [server] = [row for row in rows if row["node"] == "server"]
        greeting = "Hello from a container made by Occopus"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never a proxy
        with direct.open(f"http://{server['addresses'][0]}:8080/", timeout=10) as answer:
            self.assertEqual(answer.read().decode().strip(), greeting)
        for row in rows:
            if row["node"] == "reader":
                reader = containers[row["node_id"]]
                self.assertIn(f"server=http://{server['addresses'][0]}:8080/",
                              reader["Config"]["Env"])
                wait_until(lambda reader=reader: greeting in self.logs(reader),
                           "a reader fetched the greeting")
        self.report_and_destroy(infra_id, rows)
