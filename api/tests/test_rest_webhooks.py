"""Notifications: notify keeps the original's body shape and refuses FCM; a webhook gets each
new event of a maintained infrastructure as a POST signed (over its timestamp and body) with
the secret notify answered, checked with the snippet docs/rest.md gives, tried again after
failures, and a delivery that fails to the end is recorded as `notifyfailed`. The sender
follows only the infrastructures delivered here, starts a follower where the module says,
and outlives a store it cannot reach, saying so once.

The receivers are real HTTP servers in the test process; the infrastructure is attached, so
that the service maintains it (its passes fail, its nodes having no definition: the events
they log are delivered too, and the receivers tell the tests' own events by name)."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import socket
import stat
import threading
import time
import unittest
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import yaml

from occo.api.rest.webhookkeys import WebhookNotification, public_url, signature
from occo.api.rest.webhooks import WebhookSender
from occo.compiler import compile_description
from occo.infobroker.store import Event, open_store
from occo.util.config import RestSettings, Settings, StoreSettings

from .rest_support import RestCase
from .support import REPO, USER, CommandCase, wait_until

SHOP = """\
infra_name: shop
nodes:
  - {name: app, type: plain, scaling: {min: 1, max: 5}}
"""


class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST (headers, raw body) and answers
    with the status `answer(event name, try of that delivery)` gives."""

    def __init__(self, answer: Callable[[str, int], int] = lambda event, attempt: 200) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        lock = threading.Lock()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:          # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {key.lower(): value for key, value in self.headers.items()}
                headers["_path"] = self.path
                with lock:
                    received.append((headers, body))
                    attempt = sum(1 for seen, _ in received
                                  if seen["x-occopus-delivery"] == headers["x-occopus-delivery"])
                self.send_response(answer(headers["x-occopus-event"], attempt))
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def names(self) -> list[str]:
        """The events received, in order, each with the path it was POSTed to."""
        return [f"{headers['x-occopus-event']}@{headers['_path']}"
                for headers, _ in list(self.received)]

    def of(self, event: str) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for headers, body in list(self.received)
                if headers["x-occopus-event"] == event]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def documented_check() -> Callable[..., bool]:
    """`signed_by_occopus` as docs/rest.md gives it to receivers."""
    text = (REPO / "docs" / "rest.md").read_text()
    section = text[text.index("## Webhooks"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict[str, Any] = {}
    exec(compile(snippet, "docs/rest.md", "exec"), scope)       # noqa: S102 - our own docs
    return scope["signed_by_occopus"]


class WebhooksTest(RestCase):
    def setUp(self) -> None:
        super().setUp()
        # a pass (and a refresh of the webhooks followed) every second, not every ten
        self.use_config()
        self.cfg.write_text(self.cfg.read_text() + "rest:\n  interval: 1\n")
        static = compile_description(yaml.safe_load(SHOP))
        self.infra_id = static.infra_id
        self.store = self.open_store()
        self.store.add_infrastructure(self.infra_id, static.to_dict())
        self.service = self.start_service()

    def receiver(self, answer: Callable[[str, int], int] = lambda event, attempt: 200
                 ) -> Receiver:
        receiver = Receiver(answer)
        self.addCleanup(receiver.close)
        return receiver

    def notify(self, body: dict[str, Any], infra_id: str | None = None):
        return self.service.post(f"/infrastructures/{infra_id or self.infra_id}/notify",
                                 json=body)

    def maintain(self, url: str) -> str:
        """Attach the infrastructure, wait until this service maintains it, point its webhook
        at `url`; the secret."""
        self.assertEqual(self.service.post(f"/infrastructures/{self.infra_id}/attach")
                         .status_code, 202)
        wait_until(lambda: self.service.get(f"/infrastructures/{self.infra_id}/maintenance")
                   .json()["here"], "the service maintains the infrastructure")
        answer = self.notify({"type": "webhook", "webhook": {"url": url}})
        self.assertEqual(answer.status_code, 200, answer.text)
        return answer.json()["webhook"]["secret"]

    def append(self, event: str, /, **data: Any) -> None:
        self.store.append_event(Event(self.infra_id, event, 1_700_000_000.0, data))

    def logged(self, event: str) -> list[Event]:
        return [item for item in self.store.events(self.infra_id) if item.name == event]

    def test_events_are_posted_signed_with_the_secret_notify_answered(self) -> None:
        receiver = self.receiver()
        self.append("beforenotify")
        secret = self.maintain(receiver.url)
        self.assertRegex(secret, r"^[0-9a-f]{64}$")
        # the store keeps the URL, never the secret; the key is private to the user
        stored = self.store.notification(self.infra_id)
        self.assertEqual(stored["webhook"], {"url": receiver.url})
        self.assertNotIn(secret, json.dumps(stored))
        key = self.home / ".occopus" / "rest-webhook-key"
        self.assertEqual(stat.S_IMODE(key.stat().st_mode), 0o600)
        self.append("notifyfailed", url="http://example.org/", event="x")   # never delivered
        self.append("testevent", name="app", password="hunter2-secret")
        [(headers, body)] = wait_until(lambda: receiver.of("testevent"),
                                       "the receiver gets the event")
        stamp = headers["x-occopus-timestamp"]
        self.assertLess(abs(int(stamp) - time.time()), 600)
        signed = stamp.encode() + b"." + body
        expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(headers["x-occopus-signature"], expected))
        check = documented_check()
        self.assertTrue(check(secret, body, stamp, headers["x-occopus-signature"]))
        self.assertFalse(check(secret, body + b" ", stamp, headers["x-occopus-signature"]))
        self.assertFalse(check(secret, body, str(int(stamp) + 1),
                               headers["x-occopus-signature"]))
        old = str(int(time.time()) - 3600)          # a recorded POST sent again an hour later
        self.assertFalse(check(secret, body, old, signature(secret, int(old), body)))
        self.assertEqual(headers["content-type"], "application/json")
        self.assertRegex(headers["x-occopus-delivery"], r"^[0-9a-f-]{36}$")
        sent = json.loads(body)
        self.assertEqual((sent["infraid"], sent["name"]), (self.infra_id, "testevent"))
        self.assertEqual(sent["data"], {"name": "app", "password": "***"})
        self.assertNotIn(b"hunter2-secret", body)
        # delivered in order: what came before it was sent first, or not at all
        self.assertEqual(receiver.of("notifyfailed") + receiver.of("beforenotify"), [])

    def test_a_receiver_that_fails_twice_gets_the_event_on_the_third_try(self) -> None:
        receiver = self.receiver(lambda event, attempt: 500 if event == "flaky" and attempt < 3
                                 else 200)
        self.maintain(receiver.url)
        self.append("flaky")
        wait_until(lambda: len(receiver.of("flaky")) == 3, "the third try of the event")
        deliveries = {headers["x-occopus-delivery"] for headers, _ in receiver.of("flaky")}
        self.assertEqual(len(deliveries), 1)             # one delivery, tried three times
        self.append("after")                             # sent once the flaky one is done
        wait_until(lambda: receiver.of("after"), "the next event")
        self.assertEqual(len(receiver.of("flaky")), 3)
        self.assertEqual(self.logged("notifyfailed"), [])

    def test_an_unreachable_receiver_gives_a_notifyfailed_event(self) -> None:
        with socket.socket() as probe:          # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.maintain(f"http://127.0.0.1:{port}/hook")
        self.append("lost")
        [failed] = wait_until(lambda: [item for item in self.logged("notifyfailed")
                                       if item.data["event"] == "lost"],
                              "the failure is recorded in the log")
        self.assertEqual(failed.data["url"], f"http://127.0.0.1:{port}/hook")
        self.assertEqual((failed.data["tries"], failed.data["status"]), (5, None))
        self.assertIn("ConnectError", failed.data["error"])

    def test_notify_keeps_the_original_body_and_refuses_fcm_and_secrets(self) -> None:
        fcm = self.notify({"type": "fcm", "fcm": {"api_key": "k" * 20, "reg_id": "r"}})
        self.assertEqual(fcm.status_code, 400, fcm.text)
        self.assertIn("Firebase Cloud Messaging (type fcm) is not supported", fcm.json()["reason"])
        self.assertIn('"type": "webhook"', fcm.json()["message"])
        self.assertEqual(self.notify({"type": "pigeon"}).status_code, 400)
        self.assertEqual(self.notify({"type": "webhook"}).status_code, 400)
        for url in ("ftp://example.org/hook", "https://user:pw@example.org/hook",
                    "https://ghp_sometoken@example.org/hook", "https://@example.org/hook",
                    "https://example.org/hook?token=abcdef", "https:///hook",
                    "https://example.org/a b"):
            answer = self.notify({"type": "webhook", "webhook": {"url": url}})
            self.assertEqual(answer.status_code, 400, url)
            self.assertNotIn("pw@", answer.text)
        self.assertIsNone(self.store.notification(self.infra_id))
        unknown = self.notify({"type": "webhook", "webhook": {"url": "https://example.org/"}},
                              infra_id="no-such-id")
        self.assertEqual(unknown.status_code, 404)
        set_up = self.notify({"type": "webhook", "webhook": {"url": "https://example.org/h"}})
        self.assertEqual(set_up.status_code, 200, set_up.text)
        self.assertEqual(set_up.json()["infraid"], self.infra_id)
        # the secret is the same for the same URL (derived, not stored), another for another
        again = self.notify({"type": "webhook", "webhook": {"url": "https://example.org/h"}})
        other = self.notify({"type": "webhook", "webhook": {"url": "https://example.org/i"}})
        self.assertEqual(again.json()["webhook"]["secret"], set_up.json()["webhook"]["secret"])
        self.assertNotEqual(other.json()["webhook"]["secret"], set_up.json()["webhook"]["secret"])
        stopped = self.notify({"type": "none"})
        self.assertEqual((stopped.status_code, stopped.json()), (200, {"infraid": self.infra_id}))
        self.assertIsNone(self.store.notification(self.infra_id))


class BackoffTest(unittest.TestCase):
    """The pauses between tries double, each with jitter from the injected (seeded) rng."""

    def test_pauses_double_with_jitter_and_repeat_with_the_seed(self) -> None:
        def pauses(seed: int) -> list[float]:
            sender = WebhookSender(SimpleNamespace(), rng=random.Random(seed), first_pause=0.5)
            return [sender._pause(attempt) for attempt in range(1, 5)]

        first = pauses(7)
        self.assertEqual(first, pauses(7))
        self.assertNotEqual(first, pauses(8))
        for attempt, pause in enumerate(first, start=1):
            base = 0.5 * 2 ** (attempt - 1)
            self.assertTrue(0.5 * base <= pause < 1.5 * base, (attempt, pause))


class SenderTest(CommandCase):
    """The sender run in this process on a store of the test's own, with `delivers` saying
    which infrastructures are this process's."""

    def setUp(self) -> None:
        super().setUp()
        static = compile_description(yaml.safe_load(SHOP))
        self.infra_id = static.infra_id
        self.db = self.work / "state" / "state.db"
        self.store = open_store({"backend": "sqlite", "path": str(self.db)}, USER)
        self.addCleanup(self.store.close)
        self.store.add_infrastructure(self.infra_id, static.to_dict())
        self.store.attach(self.infra_id)
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)
        self.ours = {self.infra_id}

    def sender(self, db: Any = None) -> WebhookSender:
        settings = Settings(store=StoreSettings(backend="sqlite", path=db or self.db),
                            rest=RestSettings(token_file=self.work / "rest-token"))
        sender = WebhookSender(SimpleNamespace(settings=settings),
                               delivers=lambda infra_id: infra_id in self.ours,
                               refresh=0.05, poll=0.05, first_pause=0.01)
        sender.start()
        self.addCleanup(sender.stop)
        return sender

    def append(self, event: str) -> None:
        self.store.append_event(Event(self.infra_id, event, time.time(), {}))

    def notify(self, path: str, *, since: int, at: float) -> None:
        url = self.receiver.url.replace("/hook", path)
        self.store.set_notification(self.infra_id, WebhookNotification(url, since, at).to_dict())

    def test_what_no_sender_recorded_is_sent_once_delivered_here(self) -> None:
        self.append("before")
        # set before this process started, and no delivery recorded (an older Occopus's
        # notification): start at the newest
        self.notify("/a", since=0, at=time.time() - 3600)
        sender = self.sender()
        wait_until(lambda: self.infra_id in sender.followed(), "the webhook is followed")
        self.append("mine")
        wait_until(lambda: "mine@/a" in self.receiver.names(), "the event is sent")
        self.ours.clear()                               # another process maintains it now
        wait_until(lambda: self.infra_id not in sender.followed(), "the follower is dropped")
        self.append("elsewhere")                        # which sends nothing, and records none
        self.ours.add(self.infra_id)                    # and it comes back here
        wait_until(lambda: self.infra_id in sender.followed(), "followed again")
        self.append("back")
        wait_until(lambda: "back@/a" in self.receiver.names(), "the next event is sent")
        # a new webhook, set since the last refresh: its events from its `since` on
        since = self.store.last_event_seq(self.infra_id)
        self.append("between")
        self.notify("/b", since=since, at=time.time())
        wait_until(lambda: "between@/b" in self.receiver.names(), "the new webhook's first")
        sent = [name for name in self.receiver.names() if name.endswith("/a")]
        self.assertEqual(sent[:3], ["mine@/a", "elsewhere@/a", "back@/a"])
        self.assertNotIn("before@/a", self.receiver.names())

    def test_a_new_sender_sends_what_the_last_one_did_not_and_nothing_twice(self) -> None:
        self.notify("/a", since=0, at=time.time())      # new: its first sender starts at since
        first = self.sender()
        wait_until(lambda: self.infra_id in first.followed(), "the webhook is followed")
        self.append("one")
        wait_until(lambda: "one@/a" in self.receiver.names(), "the event is sent")
        wait_until(lambda: self.store.delivered(self.infra_id).seq
                   == self.store.last_event_seq(self.infra_id), "its delivery is recorded")
        first.stop()                                    # a restart, a crash or a takeover
        self.append("while-down")
        second = self.sender()
        wait_until(lambda: "while-down@/a" in self.receiver.names(),
                   "the next sender sends what came meanwhile")
        self.append("two")
        wait_until(lambda: "two@/a" in self.receiver.names(), "and goes on")
        self.assertIn(self.infra_id, second.followed())
        self.assertEqual(self.receiver.names(), ["one@/a", "while-down@/a", "two@/a"])

    def test_an_event_given_up_because_the_sender_stopped_is_sent_by_the_next(self) -> None:
        status = {"now": 503}
        receiver = Receiver(lambda event, attempt: status["now"])
        self.addCleanup(receiver.close)
        # set long before: only the delivery record makes a sender start before the log's end
        self.store.set_notification(self.infra_id, WebhookNotification(
            receiver.url, self.store.last_event_seq(self.infra_id), time.time() - 3600)
            .to_dict())
        first = self.sender()
        first.first_pause = 3600                        # after its first try it waits long
        wait_until(lambda: self.infra_id in first.followed(), "the webhook is followed")
        self.append("pending")
        wait_until(lambda: len(receiver.of("pending")) == 1, "the first try")
        first.stop()
        self.assertEqual(self.store.events(self.infra_id)[-1].name, "pending")   # no failure
        status["now"] = 200                             # the receiver is back
        self.sender()
        wait_until(lambda: len(receiver.of("pending")) == 2, "the next sender sends it")
        wait_until(lambda: self.store.delivered(self.infra_id).seq
                   == self.store.last_event_seq(self.infra_id), "its delivery is recorded")
        self.assertEqual([event.name for event in self.store.events(self.infra_id)],
                         ["pending"])

    def test_a_store_it_cannot_reach_is_logged_once_and_followed_when_back(self) -> None:
        blocker = self.work / "blocker"
        blocker.write_text("not a folder")
        with self.assertLogs("occo.api.rest.webhooks", level=logging.DEBUG) as logs:
            self.sender(db=blocker / "state.db")
            wait_until(lambda: sum("still cannot" in line for line in logs.output) >= 2,
                       "the sender tries again")
            blocker.unlink()
            wait_until(lambda: any("answers again" in line for line in logs.output),
                       "the sender reads the store again")
        warnings = [line for line in logs.output if line.startswith("WARNING")
                    and "reading the event logs failed" in line]
        self.assertEqual(len(warnings), 1, logs.output)
        self.assertIn("is not a folder", warnings[0])


class WebhookValuesTest(unittest.TestCase):
    def test_a_stored_notification_round_trips_and_odd_ones_are_none(self) -> None:
        webhook = WebhookNotification("https://example.org/h", 7, 1_700_000_000.0)
        stored = webhook.to_dict()
        self.assertEqual(stored, {"type": "webhook", "webhook": {"url": "https://example.org/h"},
                                  "since": 7, "at": 1_700_000_000.0})
        self.assertEqual(WebhookNotification.from_dict(json.loads(json.dumps(stored))), webhook)
        for odd in (None, {}, {"type": "fcm"}, {"type": "webhook"},
                    {"type": "webhook", "webhook": {"url": 3}},
                    {**stored, "since": "7"}, {**stored, "at": True}):
            self.assertIsNone(WebhookNotification.from_dict(odd), odd)

    def test_public_url_drops_user_information(self) -> None:
        self.assertEqual(public_url("https://user:pw@example.org:8443/h"),
                         "https://example.org:8443/h")
        self.assertEqual(public_url("https://token@example.org/h"), "https://example.org/h")
        self.assertEqual(public_url("https://example.org/h"), "https://example.org/h")
