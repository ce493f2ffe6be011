"""Where a node's image comes from: Docker Hub, the engine itself, or a tarball's URL."""
from __future__ import annotations

import re

from occo.util.nodes import NodeState

from occo.resourcehandler.base import PermanentError, ResourceError
from occo.resourcehandler.docker import testing as docker_testing
from occo.resourcehandler.docker.launch import launch_of

from .docker_case import DockerCase
from .support import run_threads

NOT_A_TARBALL = "not-an-image.txt"     # a file the image server serves that is no image


class DockerHubTest(DockerCase):
    def test_a_pull_the_engine_cannot_make_fails_and_says_why(self):
        handler = self.handler()
        repository, tag = self.unique_image()
        [error] = handler.create_nodes([self.node(origin="dockerhub", image=repository,
                                                  tag=tag)])
        self.assertIsInstance(error, ResourceError)
        self.assertIn(f"pulling {repository}:{tag} from Docker Hub: the engine answered",
                      error.message)
        self.assertNotIn("\n", error.message)
        self.assertIn("origin local or the URL of an image tarball", error.hint)
        self.assertEqual(handler.list_owned(self.infra_id), [])


class LocalTest(DockerCase):
    def test_an_image_already_on_the_engine_is_used_as_it_is(self):
        repository, tag = self.image_tag()
        handler = self.handler()
        calls = self.count_calls(handler)
        instance = self.create(handler, self.node(image=repository, tag=tag))
        self.wait_for(handler, instance, NodeState.READY)
        self.assertEqual(self.inspect(instance)["Config"]["Image"], f"{repository}:{tag}")
        self.assertNotIn("POST /images/create", calls)

    def test_a_missing_local_image_is_a_permanent_error_with_a_hint(self):
        handler = self.handler()
        repository, tag = self.unique_image()
        node = self.node(image=repository, tag=tag)
        [error] = handler.create_nodes([node])
        self.assertIsInstance(error, PermanentError)
        self.assertEqual(f"[{docker_testing.endpoint()}] node {node.node_id}: image "
                         f"{repository}:{tag} is not on the Docker engine, and origin local "
                         "uses an image already there", error.message)
        self.assertIn("docker import", error.hint)
        self.assertEqual(handler.list_owned(self.infra_id), [])


class TarballURLTest(DockerCase):
    def test_the_helloworld_tutorial_image_is_imported_from_its_url_and_says_hello(self):
        url = docker_testing.tutorial_image_url("busybox_helloworld")
        repository, tag = self.unique_image()
        handler = self.handler()
        instance = self.create(handler, self.node(
            origin=url, image=repository, tag=tag, env=["message=Hello from the tests!"],
            command="sh -c /root/start.sh"))
        self.wait_for(handler, instance, NodeState.READY)
        self.wait_until(lambda: "Hello from the tests!" in self.logs(instance), "the greeting")
        said = self.docker.exec_create(instance.instance_id, ["cat", "/root/message.txt"])
        self.assertEqual(self.docker.exec_start(said["Id"]).decode().strip(),
                         "Hello from the tests!")

    def test_the_ping_tutorial_image_pings_the_receiver(self):
        handler = self.handler()
        receiver_image, sender_image = self.unique_image(), self.unique_image()
        receiver = self.create(handler, self.node(
            origin=docker_testing.tutorial_image_url("busybox_helloworld"),
            image=receiver_image[0], tag=receiver_image[1], env=["message=receiving"],
            command="sh -c /root/start.sh"))
        address = self.wait_for(handler, receiver, NodeState.READY).addresses[0]
        sender = self.create(handler, self.node(
            origin=docker_testing.tutorial_image_url("busybox_ping"),
            image=sender_image[0], tag=sender_image[1], env=[f"target_ip={address}"],
            command="sh -c /root/start.sh"))
        self.wait_until(lambda: f"64 bytes from {address}" in self.logs(sender),
                        "a ping answered by the receiver")

    def test_an_image_is_loaded_once_however_many_nodes_need_it_at_once(self):
        url = docker_testing.tutorial_image_url("busybox_helloworld")
        path = url[url.index("/", len("http://")):]
        repository, tag = self.unique_image()
        handler = self.handler()
        calls = self.count_calls(handler)
        downloads = docker_testing.image_server().requests[path]
        launch = launch_of(self.node(origin=url, image=repository, tag=tag))
        self.assertEqual(run_threads([lambda: handler.images.ensure(launch)] * 100), [])
        self.assertEqual(calls.count("POST /images/create"), 1)
        self.assertEqual(docker_testing.image_server().requests[path], downloads + 1)
        # and its nodes are made without loading it again, by this handler or another
        for made_by in (handler, self.handler()):
            calls = self.count_calls(made_by)
            nodes = [self.node(origin=url, image=repository, tag=tag, command="sleep inf")
                     for _ in range(3)]
            failures = run_threads([lambda node=node: self.create(made_by, node)
                                    for node in nodes])
            self.assertEqual(failures, [])
            self.assertNotIn("POST /images/create", calls)
        self.assertEqual(docker_testing.image_server().requests[path], downloads + 1)

    def test_a_url_the_engine_cannot_download_is_a_permanent_error_in_the_engines_words(self):
        url = docker_testing.image_server().url("no-such-image.tar")
        repository, tag = self.unique_image()
        [error] = self.handler().create_nodes([self.node(origin=url, image=repository,
                                                         tag=tag)])
        self.assertIsInstance(error, PermanentError)
        self.assertIn(f"importing {url} as {repository}:{tag}: the engine answered 404: "
                      f"failed to GET {url} with status 404", error.message)
        self.assertNotIn("\n", error.message)
        self.assertLessEqual(len(error.message), 600)
        self.assertEqual(self.handler().list_owned(self.infra_id), [])

    def test_a_url_of_something_else_than_an_image_tarball_is_a_permanent_error(self):
        docker_testing.image_tarball("busybox_helloworld")      # the server's folder exists
        (self.engine.images / NOT_A_TARBALL).write_text("this is no tarball\n")
        self.addCleanup((self.engine.images / NOT_A_TARBALL).unlink)
        url = docker_testing.image_server().url(NOT_A_TARBALL)
        repository, tag = self.unique_image()
        [error] = self.handler().create_nodes([self.node(origin=url, image=repository,
                                                         tag=tag)])
        self.assertIsInstance(error, PermanentError)
        self.assertRegex(error.message, re.escape(f"importing {url} as {repository}:{tag}: ")
                         + ".*tar")
        self.assertIn("image tarball", error.hint)

    def test_an_origin_the_plugin_does_not_know_is_a_permanent_error(self):
        for origin in ("ftp://127.0.0.1/image.tar", "docker-hub", "/tmp/image.tar"):
            with self.subTest(origin):
                [error] = self.handler().create_nodes([self.node(origin=origin,
                                                                 image="never/loaded")])
                self.assertIsInstance(error, PermanentError)
                self.assertIn(f"origin {origin!r} is not one the docker plugin knows",
                              error.message)
                self.assertIn("dockerhub, local, or the http(s) URL", error.hint)

