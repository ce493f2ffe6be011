"""What the docker plugin says when things go wrong: one line, the engine's words, what to do.

An engine that answers 429 cannot be had (the real one has no rate limits),
so `AnsweringServer` stands in for one: a real HTTP server on 127.0.0.1 that
answers every call with one status and message, as the engine words its
errors, and the SDK talks to it over TCP like to any engine.
"""
from __future__ import annotations

import json
import socket
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.base import (Connection, Instance, PermanentError, ResourceError,
                                       TransientError)
from occo.resourcehandler.docker.handler import DockerHandler

from .docker_case import DockerCase


def handler_at(endpoint: str) -> DockerHandler:
    return DockerHandler(Connection("docker", {"endpoint": endpoint}))


def node_at(endpoint: str, **contextualisation: Any) -> ResolvedNode:
    return ResolvedNode("errors-infra", "errors", "tester", "node-7", "web",
                        {"type": "docker", "endpoint": endpoint, "origin": "local",
                         "image": "occopus/busybox", "tag": "latest"},
                        {"type": "docker", "env": [], "command": "sleep inf",
                         **contextualisation})


def every_operation(handler: DockerHandler, node: ResolvedNode) -> dict[str, ResourceError]:
    """The error each operation of the contract ends with."""
    errors: dict[str, ResourceError] = {}
    [errors["create_nodes"]] = handler.create_nodes([node])   # type: ignore[list-item]
    instance = Instance(node.infra_id, node.node_id, "0" * 64)
    for name, call in (("get_states", lambda: handler.get_states([instance])),
                       ("drop_node", lambda: handler.drop_node(instance)),
                       ("list_owned", lambda: handler.list_owned(node.infra_id))):
        try:
            call()
        except ResourceError as error:
            errors[name] = error
    return errors


class AnsweringServer:
    """An HTTP server on 127.0.0.1 answering every request with `status` and `message`."""

    def __init__(self, status: int, message: str) -> None:
        class Answer(BaseHTTPRequestHandler):
            def answer(self) -> None:
                body = json.dumps({"message": message}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        self.endpoint = f"tcp://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class UnreachableEngineTest(unittest.TestCase):
    def check_unreachable(self, endpoint: str, reason: str) -> None:
        handler = handler_at(endpoint)
        self.addCleanup(handler.close)
        errors = every_operation(handler, node_at(endpoint))
        self.assertEqual(set(errors), {"create_nodes", "get_states", "drop_node", "list_owned"})
        for operation, error in errors.items():
            with self.subTest(operation):
                self.assertIsInstance(error, TransientError)
                self.assertTrue(error.message.startswith(f"[{endpoint}] "), error.message)
                self.assertIn(f"cannot reach the Docker engine at {endpoint}: {reason}",
                              error.message)
                self.assertNotIn("\n", error.message)
                self.assertIn("./occo-dev docker start", error.hint)
        self.assertIn("node node-7", errors["create_nodes"].message)

    def test_a_missing_socket_is_a_transient_error_saying_to_start_the_engine(self):
        self.check_unreachable("unix:///nonexistent/occopus/docker.sock",
                               "No such file or directory")

    def test_a_refused_connection_is_a_transient_error_saying_to_start_the_engine(self):
        with socket.socket() as probe:          # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.check_unreachable(f"tcp://127.0.0.1:{port}", "Connection refused")

    def test_an_endpoint_that_is_no_engine_url_is_refused_when_the_handler_is_built(self):
        for endpoint in ("replace_with_your_docker_endpoint", "ftp://127.0.0.1/",
                         "tcp://[not-an-address", ""):
            with self.subTest(endpoint), self.assertRaises(PermanentError) as caught:
                handler_at(endpoint)
            self.assertIn(f"the docker endpoint {endpoint!r}", caught.exception.message)
            self.assertIn("unix:///path/to/docker.sock or tcp://HOST:PORT",
                          caught.exception.hint)


class EngineAnswerTest(unittest.TestCase):
    """The engine's error answers, classified by their status."""

    def answered(self, status: int, message: str) -> dict[str, ResourceError]:
        server = AnsweringServer(status, message)
        self.addCleanup(server.close)
        handler = handler_at(server.endpoint)
        self.addCleanup(handler.close)
        return every_operation(handler, node_at(server.endpoint))

    def test_a_rate_limit_and_server_errors_are_transient(self):
        for status in (429, 500, 503):
            with self.subTest(status):
                for operation, error in self.answered(status, "slow down,\nplease").items():
                    self.assertIsInstance(error, TransientError, operation)
                    self.assertIn(f"the engine answered {status}: slow down, please",
                                  error.message)
                    self.assertIn("retry later", error.hint)

    def test_other_client_errors_are_permanent(self):
        for status in (400, 403):
            with self.subTest(status):
                for operation, error in self.answered(status, "bad parameter").items():
                    self.assertIsInstance(error, PermanentError, operation)
                    self.assertIn(f"the engine answered {status}: bad parameter",
                                  error.message)


class NodeSectionTest(DockerCase):
    def test_what_the_engine_says_of_a_bad_environment_never_repeats_its_values(self):
        handler = self.handler()
        [error] = handler.create_nodes([self.node(env=["TOKEN=s3cret-value", "=s3cret-value"])])
        self.assertIsInstance(error, PermanentError)
        self.assertIn("the engine answered 400: invalid environment variable: =***",
                      error.message)
        self.assertNotIn("s3cret-value", str(error))

    def test_a_section_the_plugin_cannot_use_is_a_permanent_error_naming_the_node(self):
        handler = self.handler()
        cases = {"a string env": (self.node(env="A=1"),
                                  "env must be a list of K=V entries, not str"),
                 "a number command": (self.node(command=7),
                                      "command must be a string or a list, not int"),
                 "no image": (self.node(image=""), "has no image")}
        for case, (node, said) in cases.items():
            with self.subTest(case):
                [error] = handler.create_nodes([node])
                self.assertIsInstance(error, PermanentError)
                self.assertIn(f"[{handler.label}] node {node.node_id}: ", error.message)
                self.assertIn(said, error.message)
        self.assertEqual(handler.list_owned(self.infra_id), [])
