"""The event log over HTTP: a page of it (since, after, limit), and the live stream (SSE) that
resumes after Last-Event-ID, ends with `gone` when the infrastructure is removed, ends
cleanly when the service stops, and is refused (503) beyond the streams one process
serves."""
from __future__ import annotations

import json
import signal
import time
import unittest
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from typing import Any

import anyio
import httpx

from occo.api.rest.events import MOST_STREAMS, RETRY_AFTER
from occo.api.rest.events import sse_messages as sse_messages_of
from occo.infobroker.store import Event

from .rest_support import RestCase
from .support import DEADLINE, wait_until

SHOP = """\
infra_name: shop
nodes:
  - {name: app, type: plain, scaling: {min: 1, max: 5}}
"""
T0 = 1_700_000_000.0


def sse_messages(answer: httpx.Response) -> Iterator[dict[str, Any]]:
    """The messages of an event stream as they come: {"id", "event", "data"}, comments
    (heartbeats) and `retry` left out."""
    message: dict[str, Any] = {}
    for line in answer.iter_lines():
        if not line:
            if "data" in message:
                message["data"] = json.loads(message["data"])
                yield message
            message = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            if field in ("id", "event", "data"):
                message[field] = value.removeprefix(" ")


class EventRoutesTest(RestCase):
    def setUp(self) -> None:
        super().setUp()
        self.infra_id = self.store_only(SHOP)
        self.service = self.start_service()

    def append(self, event: str, at: float, /, **data: Any) -> None:
        self.store.append_event(Event(self.infra_id, event, at, data))

    def events(self, **params: Any) -> httpx.Response:
        return self.service.get(f"/infrastructures/{self.infra_id}/events", params=params)

    @contextmanager
    def stream(self, **headers: str) -> Iterator[Iterator[dict[str, Any]]]:
        with self.service.client.stream("GET", f"/infrastructures/{self.infra_id}/events/stream",
                                        headers=headers) as answer:
            self.assertEqual(answer.status_code, 200)
            self.assertTrue(answer.headers["content-type"].startswith("text/event-stream"))
            yield sse_messages(answer)

    def test_a_page_of_the_log_with_since_after_and_limit(self) -> None:
        self.append("infrastart", T0)
        self.append("nodecreating", T0 + 10, node_id="n1", name="app",
                    auth_data={"password": "hunter2-secret"})
        self.append("nodecreated", T0 + 20, node_id="n1", name="app")
        answer = self.events()
        self.assertEqual(answer.status_code, 200, answer.text)
        page = answer.json()
        self.assertEqual(page["infraid"], self.infra_id)
        self.assertEqual([item["name"] for item in page["events"]],
                         ["infrastart", "nodecreating", "nodecreated"])
        first, second, _ = page["events"]
        self.assertEqual((first["time"], first["data"]), (T0, {}))
        self.assertEqual(second["data"], {"node_id": "n1", "name": "app",
                                          "auth_data": {"password": "***"}})
        self.assertNotIn("hunter2-secret", answer.text)
        # since: epoch seconds, or ISO-8601 (UTC unless it says)
        iso = datetime.fromtimestamp(T0 + 10, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for since in (str(T0 + 10), iso, iso.removesuffix("Z")):
            names = [item["name"] for item in self.events(since=since).json()["events"]]
            self.assertEqual(names, ["nodecreating", "nodecreated"], since)
        # after and limit page through the log
        paged = self.events(after=first["seq"], limit=1).json()["events"]
        self.assertEqual([item["seq"] for item in paged], [second["seq"]])

    def test_bad_parameters_and_unknown_infrastructures(self) -> None:
        self.assertEqual(self.events(since="yesterday").status_code, 400)
        self.assertEqual(self.events(limit=0).status_code, 400)
        self.assertEqual(self.events(after=-1).status_code, 400)
        for path in ("events", "events/stream"):
            answer = self.service.get(f"/infrastructures/no-such-id/{path}")
            self.assertEqual(answer.status_code, 404, answer.text)
        bad_cursor = self.service.get(f"/infrastructures/{self.infra_id}/events/stream",
                                      headers={"Last-Event-ID": "not-a-seq"})
        self.assertEqual(bad_cursor.status_code, 400)
        anonymous = self.service.client.get(f"/infrastructures/{self.infra_id}/events",
                                            headers={"Authorization": ""})
        self.assertEqual(anonymous.status_code, 401)

    def test_the_stream_sends_events_as_they_come_and_resumes_after_the_last_seen(self) -> None:
        self.append("infrastart", T0)
        with self.stream() as messages:
            first = next(messages)
            self.assertEqual((first["event"], first["data"]["name"]), ("infrastart", "infrastart"))
            self.assertEqual(first["id"], str(first["data"]["seq"]))
            self.append("nodecreating", time.time(), node_id="n1", name="app",
                        password="hunter2-secret")
            second = next(messages)
            self.assertEqual(second["event"], "nodecreating")
            self.assertEqual(second["data"]["data"]["password"], "***")
        self.append("nodecreated", time.time(), node_id="n1", name="app")
        with self.stream(**{"Last-Event-ID": second["id"]}) as messages:
            resumed = next(messages)
            self.assertEqual(resumed["event"], "nodecreated")
            self.assertGreater(int(resumed["id"]), int(second["id"]))
            self.store.remove_infrastructure(self.infra_id)
            gone = next(messages)
            self.assertEqual((gone["event"], gone["data"]), ("gone", {"infraid": self.infra_id}))
            self.assertEqual(list(messages), [])            # the stream ended

    def test_the_stream_ends_cleanly_when_the_service_stops(self) -> None:
        self.append("infrastart", T0)
        with self.stream() as messages:
            next(messages)
            self.service.running.process.send_signal(signal.SIGTERM)
            # ended by the service (no gone event), not cut: a cut stream raises here
            self.assertEqual(list(messages), [])
        self.assertEqual(self.service.running.wait(), 0)

    def test_one_stream_beyond_the_most_is_refused_until_one_ends(self) -> None:
        path = f"/infrastructures/{self.infra_id}/events/stream"
        client = httpx.Client(base_url=self.service.url, headers=self.service.client.headers,
                              timeout=DEADLINE,
                              limits=httpx.Limits(max_connections=MOST_STREAMS + 8))
        self.addCleanup(client.close)
        with ExitStack() as streams:
            opened = []
            for _ in range(MOST_STREAMS):
                answer = streams.enter_context(client.stream("GET", path))
                self.assertEqual(answer.status_code, 200)
                opened.append(answer)
            refused = client.get(path)
            self.assertEqual(refused.status_code, 503, refused.text)
            self.assertEqual(refused.headers["retry-after"], str(RETRY_AFTER))
            body = refused.json()
            self.assertEqual(body["status_code"], 503)
            self.assertIn(f"{MOST_STREAMS} event streams", body["reason"])
            # the page of the log is no stream: still served
            self.assertEqual(self.events().status_code, 200)
            opened[0].close()                            # one ends: room for another
            again = wait_until(lambda: _open_or_none(client, path, streams),
                               "a stream is served again")
            self.assertEqual(again.status_code, 200)


def _open_or_none(client: httpx.Client, path: str, streams: ExitStack) -> httpx.Response | None:
    """A stream opened (kept open in `streams`), or None if it was refused for now."""
    answer = streams.enter_context(client.stream("GET", path))
    if answer.status_code == 503:
        answer.close()
        return None
    return answer


class HeartbeatTest(unittest.TestCase):
    """A quiet stream sends a comment every `heartbeat` seconds (a fake clock here)."""

    def test_a_quiet_stream_sends_heartbeats(self) -> None:
        now = [0.0]
        rounds = iter(range(4))

        async def read(cursor: int) -> list[dict[str, Any]]:
            now[0] += 10.0                           # each read: 10 s later
            return []

        async def over() -> bool:
            return next(rounds, None) is None

        async def collect() -> list[str]:
            return [text async for text in sse_messages_of(read, 0, over, "x", poll=0,
                                                           heartbeat=15, clock=lambda: now[0])]

        sent = anyio.run(collect)
        self.assertTrue(sent[0].startswith("retry: "))
        # reads at 10, 20, 30, 40 s: a heartbeat once 15 s passed quietly, at 20 and 40
        self.assertEqual(sent[1:], [": still here\n\n", ": still here\n\n"])
