"""The infrastructure routes of occopus-rest-service, over real HTTP to the real command: each
route's codes and shapes (the original's, with honest codes), descriptions checked as
occopus-build checks them (every problem located, no import), the body limit, and a submitted
simcloud infrastructure that the daemon builds and a DELETE tears down.
"""
from __future__ import annotations

import asyncio
import io
import os
import signal
import tempfile
import threading
import unittest
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any
from unittest import mock

import anyio._backends._asyncio as anyio_asyncio
import httpx
from fastapi import FastAPI, Response

from occo.api.rest.app import create_app
from occo.api.rest.auth import Tokens
from occo.api.rest.daemon import MaintainerStopped, MaintenanceStatus
from occo.api.rest.errors import CatchAll, RestError, install_handlers
from occo.api.rest.infrastructures import submit
from occo.api.rest.limits import RequestLimits
from occo.api.rest.service import RestService
from occo.util.cancel import Cancellation
from occo.util.config import read_settings

from .rest_support import RestCase
from .support import SimCloudCommandCase, cloud_instances, wait_until

SHOP = """\
infra_name: shop
nodes:
  - {name: db, type: plain}
  - {name: app, type: plain, scaling: {min: 2, max: 4}}
dependencies:
  - [app, db]
"""

BAD = """\
infra_name: shop
nodes:
  - name: db
    type: plain
    scaling: {min: 3, max: 1}
  - {name: db, type: plain}
dependencies:
  - [db, nowhere]
"""

IMPORTING = """\
infra_name: shop
nodes: !yaml_import {url: 'file://nodes.yaml'}
variables:
  motd: !text_import {url: 'file:///etc/hostname'}
"""

MAX_BODY = 2000


def located(answer: httpx.Response) -> list[tuple[int | None, int | None, str]]:
    return [(problem["line"], problem["column"], problem["message"])
            for problem in answer.json()["problems"]]


class RoutesTest(RestCase, SimCloudCommandCase):
    """One simcloud for the class; each test a service of its own on a store of its own."""

    def setUp(self) -> None:
        super().setUp()
        self.cfg = self.write("occopus_config.yaml",
                              "store: {backend: sqlite, path: state/state.db}\n"
                              f"rest: {{interval: 1, max_body: {MAX_BODY}}}\n")
        self.state_db = self.work / "state" / "state.db"
        self.service = self.start_service()

    def stop(self) -> str:
        """SIGTERM: the service must exit 0, its token never printed; its stderr."""
        running = self.service.running
        running.process.send_signal(signal.SIGTERM)
        self.assertEqual(running.wait(), 0, running.stderr)
        self.assertNotIn(self.service.token, running.stderr + running.stdout)
        self.assertNotIn("Traceback", running.stderr)
        return running.stderr

    def error(self, answer: httpx.Response, status: int) -> dict:
        """The error body, checked against its status."""
        self.assertEqual(answer.status_code, status, answer.text)
        body = answer.json()
        self.assertEqual(body["status_code"], status)
        self.assertTrue(body["reason"] and body["message"].startswith(body["reason"]), body)
        return body

    # --- submitting ----------------------------------------------------------------
    def test_a_bad_description_is_400_with_every_problem_located(self) -> None:
        self.import_definitions(plain=self.cloud)
        answer = self.service.post("/infrastructures/", content=BAD)
        body = self.error(answer, 400)
        self.assertEqual([(line, column) for line, column, _ in located(answer)],
                         [(5, 28), (6, 12), (8, 10)])
        messages = [message for _, _, message in located(answer)]
        self.assertIn("less than its min", messages[0])
        self.assertIn("duplicate node name 'db'", messages[1])
        self.assertIn("unknown node 'nowhere'", messages[2])
        self.assertIn(messages[0], body["reason"])
        self.assertEqual(self.stored_ids(), [])
        # not YAML at all: the place where it breaks
        broken = self.service.post("/infrastructures/", content="nodes: [\n  {name: a\n")
        self.error(broken, 400)
        [(line, column, message)] = located(broken)
        self.assertIsInstance(line, int)
        self.assertIsInstance(column, int)
        self.assertIn("not valid YAML", message)
        # a node type never imported, as occopus-build says it
        unknown = self.service.post("/infrastructures/", content=SHOP.replace("plain", "other"))
        self.error(unknown, 400)
        self.assertEqual([(line, column) for line, column, _ in located(unknown)],
                         [(3, 22), (4, 23)])
        self.assertIn("node type 'other' has not been imported", located(unknown)[0][2])

    def test_an_empty_or_undecodable_body_is_400(self) -> None:
        for empty in ("", "  \n"):
            body = self.error(self.service.post("/infrastructures/", content=empty), 400)
            self.assertEqual(body["reason"], "Empty POST data")
        body = self.error(self.service.post("/infrastructures/", content=b"\xff\xfe nodes"), 400)
        self.assertIn("not UTF-8", body["reason"])

    def test_an_import_is_refused_where_it_stands(self) -> None:
        self.write("nodes.yaml", "- {name: db, type: plain}\n")      # next to the service
        answer = self.service.post("/infrastructures/", content=IMPORTING)
        self.error(answer, 400)
        self.assertEqual(located(answer), [
            (2, 8, "!yaml_import: imports are not allowed in a submitted description"),
            (4, 9, "!text_import: imports are not allowed in a submitted description")])
        self.assertNotIn(open("/etc/hostname").read().strip() or "\0", answer.text)
        self.assertEqual(self.stored_ids(), [])

    def test_a_body_over_the_limit_is_413_declared_or_streamed(self) -> None:
        text = "# padding\n" * (MAX_BODY // 10 + 1)
        self.assertGreater(len(text), MAX_BODY)
        body = self.error(self.service.post("/infrastructures/", content=text), 413)
        self.assertIn(f"larger than {MAX_BODY:,} bytes", body["reason"])

        def chunks():           # no Content-Length: sent chunked
            for _ in range(MAX_BODY // 100 + 1):
                yield b"# 100 bytes of padding".ljust(99) + b"\n"
        self.error(self.service.post("/infrastructures/", content=chunks()), 413)
        # a body within the limit reaches the route (here: an empty description)
        self.error(self.service.post("/infrastructures/", content="#\n" * 100), 400)
        # the service goes on serving
        self.assertEqual(self.service.get("/infrastructures/").status_code, 200)

    # --- an unknown infrastructure, a malformed request -------------------------------
    def test_an_unknown_infrastructure_is_404_on_every_route(self) -> None:
        for method, path in [("GET", ""), ("GET", "?live=false"), ("DELETE", ""),
                             ("POST", "/attach"), ("POST", "/detach"), ("GET", "/cost"),
                             ("GET", "/maintenance")]:
            answer = self.service.request(method, f"/infrastructures/no-such-id{path}")
            body = self.error(answer, 404)
            self.assertIn("no-such-id", body["reason"], (method, path))
        self.error(self.service.get("/no/such/route"), 404)

    def test_a_parameter_of_the_wrong_type_is_422_with_its_problem(self) -> None:
        answer = self.service.get("/infrastructures/x", params={"live": "perhaps"})
        body = self.error(answer, 422)
        [problem] = body["problems"]
        self.assertTrue(problem["message"].startswith("query parameter 'live': "), problem)
        self.assertNotIn("perhaps", answer.text)        # the input is never repeated

    def test_ctrl_c_stops_it_as_sigterm_does(self) -> None:
        running = self.service.running
        running.process.send_signal(signal.SIGINT)
        self.assertEqual(running.wait(), 0, running.stderr)
        self.assertNotIn("Traceback", running.stderr)
        self.assertNotIn("interrupted", running.stderr)

    # --- an infrastructure's life ---------------------------------------------------------
    def test_a_submitted_infrastructure_is_built_reported_and_destroyed(self) -> None:
        self.import_definitions(plain=self.cloud)
        answer = self.service.post("/infrastructures/", content=SHOP,
                                   headers={"Content-Type": "application/x-yaml"})
        self.assertEqual(answer.status_code, 201, answer.text)
        infra_id = answer.json()["infraid"]
        self.addCleanup(self.destroy_if_stored, infra_id)
        self.assertEqual(answer.json(), {"infraid": infra_id, "warnings": []})
        self.assertEqual(answer.headers["Location"], f"/infrastructures/{infra_id}")
        self.assertEqual(self.infralist_ids(), [infra_id])
        listed = self.service.get("/infrastructures/").json()
        self.assertEqual(listed, {"infrastructures": [infra_id], "infrastuctures": [infra_id]})
        maintenance = self.service.get(f"/infrastructures/{infra_id}/maintenance").json()
        self.assertEqual((maintenance["infraid"], maintenance["attached"],
                          maintenance["destroying"]), (infra_id, True, False))

        def ready() -> dict | None:
            shown = self.service.get(f"/infrastructures/{infra_id}")
            self.assertEqual(shown.status_code, 200, shown.text)
            nodes = shown.json()
            states = [instance["state"] for node in nodes.values()
                      for instance in node["instances"].values()]
            return nodes if len(states) == 3 and set(states) == {"ready"} else None
        nodes = wait_until(ready, "the daemon builds the infrastructure")
        self.assertEqual(sorted(nodes), ["app", "db"])
        self.assertEqual(nodes["app"]["scaling"], {"actual": 2, "target": 2, "min": 2, "max": 4})
        self.assertEqual(nodes["db"]["scaling"], {"actual": 1, "target": 1, "min": 1, "max": 1})
        held = {item["tags"]["occopus-node-id"]: item["private_ip"]
                for item in cloud_instances(self.cloud, infra_id)}
        shown = {node_id: instance["resource_address"] for node in nodes.values()
                 for node_id, instance in node["instances"].items()}
        self.assertEqual(shown, held)
        # the recorded states say the same without asking the cloud, once the pass that saw
        # the instances ready has recorded it (the live view may see it a moment before)
        wait_until(lambda: self.service.get(f"/infrastructures/{infra_id}",
                                            params={"live": "false"}).json() == nodes,
                   "the recorded states match the live ones")
        cost = self.service.get(f"/infrastructures/{infra_id}/cost").json()
        self.assertEqual(cost, {"totalcost": 0, "db": {node_id: 0 for node_id in
                                                        nodes["db"]["instances"]},
                                "app": {node_id: 0 for node_id in nodes["app"]["instances"]}})
        # attach and detach say when there is nothing to do
        self.error(self.service.post(f"/infrastructures/{infra_id}/attach"), 409)
        detached = self.service.post(f"/infrastructures/{infra_id}/detach")
        self.assertEqual((detached.status_code, detached.json()), (200, {"infraid": infra_id}))
        self.assertFalse(self.service.get(f"/infrastructures/{infra_id}/maintenance")
                         .json()["attached"])
        self.error(self.service.post(f"/infrastructures/{infra_id}/detach"), 409)
        attached = self.service.post(f"/infrastructures/{infra_id}/attach")
        self.assertEqual((attached.status_code, attached.json()), (202, {"infraid": infra_id}))
        # DELETE is accepted, and the daemon tears it down
        deleted = self.service.delete(f"/infrastructures/{infra_id}")
        self.assertEqual((deleted.status_code, deleted.json()), (202, {"infraid": infra_id}))
        wait_until(lambda: self.service.get(f"/infrastructures/{infra_id}").status_code == 404,
                   "the infrastructure is destroyed")
        self.assertEqual(cloud_instances(self.cloud, infra_id), [])
        self.assertEqual(self.service.get("/infrastructures/").json(),
                         {"infrastructures": [], "infrastuctures": []})
        self.assertEqual(self.infralist_ids(), [])
        self.stop()

    def test_a_detached_infrastructure_is_destroyed_too(self) -> None:
        self.import_definitions(plain=self.cloud)
        infra_id = self.service.post("/infrastructures/", content=SHOP).json()["infraid"]
        self.addCleanup(self.destroy_if_stored, infra_id)
        wait_until(lambda: len(cloud_instances(self.cloud, infra_id)) == 3,
                   "the daemon builds the infrastructure")
        self.assertEqual(self.service.post(f"/infrastructures/{infra_id}/detach").status_code,
                         200)
        wait_until(lambda: not self.service.get(f"/infrastructures/{infra_id}/maintenance")
                   .json()["running"], "its pass in flight, if any, has ended")
        for _ in range(3):          # asked again while it is torn down: accepted again
            deleted = self.service.delete(f"/infrastructures/{infra_id}")
            self.assertIn(deleted.status_code, (202, 404), deleted.text)
        wait_until(lambda: self.service.get(f"/infrastructures/{infra_id}").status_code == 404,
                   lambda: "the infrastructure is destroyed; the service's stderr:\n"
                           + self.service.running.stderr)
        wait_until(lambda: cloud_instances(self.cloud, infra_id) == [],
                   "simcloud holds nothing of it")
        self.stop()


class MiddlewareTest(unittest.TestCase):
    """The request limits and the answer to a bug, as middlewares around a route of the test's
    (what a running service cannot be made to show at will: the moment between SIGTERM and
    the end of serving, a bug)."""

    def call(self, stopping: Cancellation, method: str, path: str = "/",
             **options) -> httpx.Response:
        app = FastAPI()
        install_handlers(app)

        @app.api_route("/", methods=["GET", "POST"])
        def route() -> dict:
            return {"ok": True}

        @app.get("/bug")
        def bug() -> dict:
            raise RuntimeError("a bug, quoting https://user:hunter2@example.com")
        app.add_middleware(RequestLimits, max_body=10, stopping=stopping)
        app.add_middleware(CatchAll)

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                         base_url="http://service") as client:
                return await client.request(method, path, **options)
        return asyncio.run(send())

    def test_new_work_is_refused_while_stopping_reading_goes_on(self) -> None:
        stopping = Cancellation()
        self.assertEqual(self.call(stopping, "POST").status_code, 200)
        stopping.cancel()
        refused = self.call(stopping, "POST")
        self.assertEqual(refused.status_code, 503)
        self.assertEqual(refused.json()["status_code"], 503)
        self.assertEqual(refused.headers["Retry-After"], "10")
        self.assertEqual(self.call(stopping, "GET").status_code, 200)

    def test_a_content_length_that_is_no_number_is_400(self) -> None:
        answer = self.call(Cancellation(), "POST", content=b"12",
                           headers={"Content-Length": "two"})
        self.assertEqual(answer.status_code, 400)
        self.assertIn("Content-Length", answer.json()["reason"])

    def test_a_bug_is_a_500_that_says_only_that_its_traceback_kept_privately(self) -> None:
        said = io.StringIO()
        with tempfile.TemporaryDirectory() as logs, \
                mock.patch.dict(os.environ, {"OCCOPUS_LOG_DIR": logs}), redirect_stderr(said):
            answer = self.call(Cancellation(), "GET", "/bug")
            [log] = Path(logs).iterdir()
            self.assertIn("RuntimeError: a bug", log.read_text())
        self.assertEqual(said.getvalue(), "occopus-rest-service: internal error answering GET "
                                          f"/bug; the details are in {log}\n")
        self.assertEqual(answer.status_code, 500)
        body = answer.json()
        self.assertEqual((body["status_code"], body["problems"]), (500, []))
        self.assertIn("internal error", body["reason"])
        self.assertNotIn("RuntimeError", answer.text)
        self.assertNotIn("hunter2", answer.text)


PLAIN = {"plain": [{"resource": {"type": "simcloud", "endpoint": "http://127.0.0.1:9",
                                 "image": "debian-12"},
                    "health_check": {"ping": False}}]}


class FakeMaintainer:
    """What the routes ask of the maintainer, answered as a test sets it."""

    def __init__(self) -> None:
        self.attach_error: Exception | None = None
        self.destroying = False
        self.attached: list[str] = []

    def attach(self, infra_id: str) -> bool:
        if self.attach_error is not None:
            raise self.attach_error
        self.attached.append(infra_id)
        return True

    def status(self, infra_id: str) -> MaintenanceStatus:
        return MaintenanceStatus(attached=infra_id in self.attached, here=True, running=False,
                                 last_pass=None, last_ok=None, destroying=self.destroying)


class InProcessCase(unittest.TestCase):
    """A `RestService` of the test's own (a store in a temporary HOME, a fake maintainer,
    no token), its application called in this process."""

    def setUp(self) -> None:
        folder = tempfile.TemporaryDirectory()
        self.addCleanup(folder.cleanup)
        self.home = Path(folder.name)
        environ = mock.patch.dict(os.environ, {
            "HOME": str(self.home), "OCCOPUS_INFRALIST": str(self.home / "infralist.yaml")})
        environ.start()
        self.addCleanup(environ.stop)
        self.state_db = self.home / "state" / "state.db"
        cfg = self.home / "occopus_config.yaml"
        cfg.write_text(f"store: {{backend: sqlite, path: '{self.state_db}'}}\n")
        self.maintainer = FakeMaintainer()
        self.service = RestService(read_settings(cfg), Tokens.none(),
                                   self.maintainer)   # type: ignore[arg-type]
        self.addCleanup(self.service.close)
        self.app = create_app(self.service)

    def requests(self, *batches: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
        """Each batch of (method, path, options) sent at once; the batches one after another,
        in one event loop (as the server runs them)."""
        async def send() -> list[httpx.Response]:
            answers: list[httpx.Response] = []
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                         base_url="http://service") as client:
                for batch in batches:
                    answers += await asyncio.gather(*(
                        client.request(method, path, **options)
                        for method, path, options in batch))
            return answers
        return asyncio.run(send())

    def descriptors(self) -> int:
        """How many descriptors of this process are open on the store's file."""
        count = 0
        for entry in Path("/proc/self/fd").iterdir():
            try:
                count += os.readlink(entry) == str(self.state_db)
            except OSError:         # closed meanwhile (the listing's own descriptor)
                pass
        return count

    def own_store(self):
        store = self.service.store()       # this thread's: closed by service.close
        store.put_node_definitions(PLAIN)
        return store


class ThreadConnectionsTest(InProcessCase):
    """Review item 1: a connection (or Session) per thread, closed when its thread ends."""

    def test_threads_that_end_leave_no_connection_open(self) -> None:
        def use() -> None:
            self.service.store().list_infrastructures()
            self.service.session()
        for _ in range(3):
            thread = threading.Thread(target=use)
            thread.start()
            thread.join()
        self.assertEqual(self.descriptors(), 0)
        before = self.descriptors()
        for _ in range(40):
            thread = threading.Thread(target=use)
            thread.start()
            thread.join()
        self.assertEqual(self.descriptors(), before)
        self.assertEqual(self.service.threads_holding(), 0)

    def test_retired_worker_threads_of_the_routes_close_theirs(self) -> None:
        """anyio retires worker threads idle for MAX_IDLE_TIME (10 s) and makes new ones:
        made 0 here, each burst of requests runs on mostly new threads."""
        burst = [("GET", "/infrastructures/", {})] * 8
        with mock.patch.object(anyio_asyncio.WorkerThread, "MAX_IDLE_TIME", 0):
            answers = self.requests(*[burst] * 12)
        self.assertEqual({answer.status_code for answer in answers}, {200})
        # at most the last burst's threads still hold one; without closing there were ~96
        wait_until(lambda: self.descriptors() <= len(burst),
                   lambda: f"{self.descriptors()} descriptors of the store left open")


class SubmitUndoTest(InProcessCase):
    """Review item 11: nothing is left stored by a submit the service could not take on, and
    an infrastructure being destroyed is not attached again."""

    def test_a_submit_whose_attach_fails_leaves_nothing_behind(self) -> None:
        store = self.own_store()
        self.maintainer.attach_error = MaintainerStopped("the service is stopping")
        [answer] = self.requests([("POST", "/infrastructures/", {"content": SHOP})])
        self.assertEqual(answer.status_code, 503, answer.text)
        self.assertEqual(store.list_infrastructures(), [])
        self.assertEqual(store.attached(), [])
        self.assertNotIn("shop", (self.home / "infralist.yaml").read_text()
                         if (self.home / "infralist.yaml").exists() else "")
        # the same, attached: stored, listed
        self.maintainer.attach_error = None
        [answer] = self.requests([("POST", "/infrastructures/", {"content": SHOP})])
        self.assertEqual(answer.status_code, 201, answer.text)
        self.assertEqual(store.list_infrastructures(), [answer.json()["infraid"]])

    def test_a_submit_while_stopping_stores_nothing(self) -> None:
        store = self.own_store()
        self.service.stopping.cancel()
        with self.assertRaises(RestError) as raised:
            submit(Response(), SHOP.encode(), self.service)
        self.assertEqual(raised.exception.status_code, 503)
        self.assertEqual(store.list_infrastructures(), [])
        self.assertEqual(self.maintainer.attached, [])

    def test_attaching_one_being_destroyed_is_409(self) -> None:
        self.own_store()
        [answer] = self.requests([("POST", "/infrastructures/", {"content": SHOP})])
        infra_id = answer.json()["infraid"]
        self.maintainer.destroying = True
        [attached] = self.requests([("POST", f"/infrastructures/{infra_id}/attach", {})])
        self.assertEqual(attached.status_code, 409, attached.text)
        self.assertIn("being destroyed", attached.json()["reason"])
