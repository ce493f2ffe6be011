"""The simcloud plugin's kept HTTP connections: reused, one per call at once, replaced when the
server closed them, and a server that does not answer is a transport error."""
from __future__ import annotations

import json
import threading
import time
import unittest
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from occo.util.nodes import ResolvedNode

from occo.resourcehandler.simcloud.connections import Connections, TransportError
from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.resourcehandler.simcloud.process import SimCloudProcess
from .support import create_one


class Recorder:
    """An HTTP/1.1 server on 127.0.0.1 that answers {"ok": true} and notes each request and the
    client port it came from; `hold` keeps answers back until it is set."""

    def __init__(self, case: unittest.TestCase) -> None:
        self.requests: list[dict[str, Any]] = []
        self.hold = threading.Event()
        self.hold.set()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.answer()

            do_POST = do_GET

            def answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                recorder.requests.append({"method": self.command, "path": self.path,
                                          "port": self.client_address[1], "body": body,
                                          "type": self.headers.get("Content-Type")})
                recorder.hold.wait()
                data = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                """Quiet."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        case.addCleanup(self.server.server_close)
        case.addCleanup(self.server.shutdown)

    def ports(self) -> set[int]:
        return {request["port"] for request in self.requests}


class ConnectionsTest(unittest.TestCase):
    def setUp(self) -> None:
        self.server = Recorder(self)
        self.connections = Connections(self.server.url + "/api/")
        self.addCleanup(self.connections.close)

    def test_calls_one_after_the_other_share_one_connection(self):
        for _ in range(5):
            self.assertEqual(self.connections.request("GET", "/instances").json(), {"ok": True})
        self.assertEqual(len(self.server.ports()), 1)

    def test_calls_at_once_each_have_a_connection_kept_for_the_next(self):
        self.server.hold.clear()
        threads = [threading.Thread(target=self.connections.request, args=("GET", "/x"))
                   for _ in range(3)]
        for thread in threads:
            thread.start()
        while len(self.server.requests) < 3:
            time.sleep(0.01)
        self.server.hold.set()
        for thread in threads:
            thread.join()
        self.assertEqual(len(self.server.ports()), 3)
        for _ in range(6):
            self.connections.request("GET", "/y")
        self.assertEqual(len(self.server.ports()), 3)

    def test_the_path_query_and_json_body_are_sent_under_the_base_path(self):
        self.connections.request("POST", "/instances", json={"client_token": "t", "tags": {}})
        self.connections.request("GET", "/instances", params={"tag.occopus-infra-id": "a b"})
        posted, listed = self.server.requests
        self.assertEqual((posted["method"], posted["path"], posted["type"]),
                         ("POST", "/api/instances", "application/json"))
        self.assertEqual(json.loads(posted["body"]), {"client_token": "t", "tags": {}})
        self.assertEqual(listed["path"], "/api/instances?tag.occopus-infra-id=a+b")

    def test_a_server_that_is_not_there_is_a_transport_error(self):
        port = self.server.server.server_address[1]
        self.server.server.shutdown()
        self.server.server.server_close()
        with self.assertRaises(TransportError) as raised:
            Connections(f"http://127.0.0.1:{port}").request("GET", "/instances")
        self.assertIn("ConnectionRefusedError", str(raised.exception))

    def test_only_http_urls_are_taken(self):
        for url in ("ftp://127.0.0.1/", "127.0.0.1:8700", "http://"):
            with self.subTest(url=url), self.assertRaises(ValueError):
                Connections(url)


class RestartTest(unittest.TestCase):
    def test_a_kept_connection_is_replaced_once_the_server_restarted(self):
        cloud = SimCloudProcess().start()
        self.addCleanup(cloud.close)
        handler = SimCloudHandler.for_section(cloud.resource())
        self.addCleanup(handler.close)
        infra_id = f"infra-{uuid.uuid4().hex[:8]}"
        instance = create_one(handler, ResolvedNode(infra_id, "shop", "tester", "n1", "web",
                                                    cloud.resource()))
        cloud.restart()         # the connection kept from the create is closed by now
        self.assertEqual([i.instance_id for i in handler.list_owned(infra_id)],
                         [instance.instance_id])
