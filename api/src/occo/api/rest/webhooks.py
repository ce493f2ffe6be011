"""The webhook sender: each new event of an infrastructure POSTed to the URL its notify gave.

What a webhook is (the stored notification, the key, the secrets, the signature) is in
`webhookkeys`; this module only follows the event logs and delivers.

Which logs it follows: every few seconds (`refresh`, the maintainer's interval, at most
`MOST_REFRESH`) it reads which attached infrastructures this process delivers (the ones it
maintains, `Maintainer.status(id).here`) and which of those have a webhook; every `poll`
seconds it reads the logs of those alone. A follower's cursor advances only while its
infrastructure is delivered here: one that stops being ours is dropped at once, so that
processes sharing a store send each event once, and another process's infrastructures cost
this one nothing but the periodic refresh.

Where a follower starts: after the last event the store records as done with for this URL
(`Store.delivered`: each batch, once sent or given up, moves it on; a batch of a URL
no longer the webhook's moves nothing), so that a restart, a
crash or a takeover by another process sends what the previous owner had not, and what was
appended while no process delivered. With no such record: at its notification's `since`
(the newest seq when notify was called) when the notification was set since this process
last refreshed (give or take `CLOCK_SLACK` seconds, for clocks and a write in flight), else
(a notification older than any record: an Occopus before these records) at the log's newest
seq; the start is recorded at once.

Delivery is at least once: an event whose batch was not finished when its sender stopped or
died is sent again by the next one, and for a moment while members change two processes may
both send one. A receiver that must not act twice dedupes on (`infraid`, `seq`). An event
dropped from the log (`Store.events_kept`) before any process sent it is never sent.

Each event is one POST of JSON with the headers `X-Occopus-Event` (its name),
`X-Occopus-Delivery` (an id, the same on every try of one event), `X-Occopus-Timestamp`
(epoch seconds of the try) and `X-Occopus-Signature` (`webhookkeys.signature`). A try that
fails for the network, a 5xx, 408 or 429 is tried again after an exponentially growing pause
with jitter, up to `tries` tries; a failure at the end (or another answer, which trying again
would not change) is logged and recorded in the infrastructure's log as a `notifyfailed`
event, which itself is never delivered.

The store may go away: the thread then logs it once, retries with a growing pause (up to
`MOST_BACKOFF`), says when it answers again, and keeps its cursors meanwhile.

Stopping gives up a delivery in flight: its event and those after it stay unrecorded, for
the next sender.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from occo.infobroker.store import Delivered, Event, InfrastructureNotFound, Store
from occo.util.cancel import Cancellation
from occo.util.errors import OccoError
from occo.util.redact import redact_url

from .. import __version__
from ..eventlog import event_record, last_seq, one_line
from ..session import connect
from .service import RestService
from .webhookkeys import (WebhookNotification, delivery_target, key_path, public_url,
                          signed_headers, webhook_key, webhook_secret)

log = logging.getLogger("occo.api.rest.webhooks")

FAILED = "notifyfailed"
RETRIED_STATUSES = frozenset({408, 429})
BATCH = 100                 # events read from one log at once
MOST_REFRESH = 10.0         # seconds: the longest wait before a new webhook is followed
MOST_BACKOFF = 30.0         # seconds: the longest pause between two tries to reach the store
CLOCK_SLACK = 5.0           # seconds a notification's `at` may trail this process's clock


@dataclass(frozen=True)
class Failure:
    """An event that could not be delivered: how it ended."""

    event: Event
    url: str
    tries: int
    status: int | None
    error: str


@dataclass(frozen=True)
class Sent:
    """What a batch of deliveries did: the events given up, and the seq through which every
    event of the batch is done with (sent or given up; less than the batch's last when the
    sender stopped during it)."""

    failures: list[Failure]
    through: int


class _Stopped(Exception):
    """The sender stopped while an event waited for its next try."""


@dataclass
class _Follow:
    """One infrastructure's log as the sender follows it: its webhook and the seq of the last
    event read."""

    webhook: WebhookNotification
    cursor: int
    busy: Future[Sent] | None = None


class WebhookSender:
    """`start()` a thread that delivers the events of the infrastructures this process
    maintains to their webhooks; `stop()` ends it (a delivery in flight is given up)."""

    def __init__(self, service: RestService, *, delivers: Callable[[str], bool] | None = None,
                 rng: random.Random | None = None, tries: int = 5, first_pause: float = 0.5,
                 poll: float = 0.5, refresh: float | None = None, timeout: float = 10.0,
                 workers: int = 4, clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.delivers = delivers or (lambda infra_id: service.maintainer.status(infra_id).here)
        self.rng = rng or random.Random()
        self.tries = tries
        self.first_pause = first_pause
        self.poll = poll
        self.refresh = refresh
        self.timeout = timeout
        self.clock = clock
        self.stopping = Cancellation()
        self._workers = workers
        self._rng_lock = threading.Lock()
        self._follows: dict[str, _Follow] = {}
        self._finishing: list[tuple[str, str, Future[Sent]]] = []
        self._thread: threading.Thread | None = None
        self._key = b""
        self._refreshed_at = 0.0

    def start(self) -> None:
        self._key = webhook_key(key_path(self.service.settings))
        if self.refresh is None:
            self.refresh = min(float(self.service.settings.rest.interval), MOST_REFRESH)
        self._refreshed_at = self.clock()
        self._thread = threading.Thread(target=self._run, name="occopus-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.cancel()
        if self._thread is not None:
            self._thread.join()

    def followed(self) -> frozenset[str]:
        """The infrastructures whose logs are followed now (delivered here, with a webhook)."""
        return frozenset(self._follows)

    # --- the following thread -----------------------------------------------------
    def _run(self) -> None:
        pool = ThreadPoolExecutor(self._workers, thread_name_prefix="occopus-webhook")
        client = httpx.Client(timeout=self.timeout, follow_redirects=False,
                              headers={"User-Agent": f"occopus/{__version__}"})
        store: Store | None = None
        in_outage = False
        pause = self.poll
        next_refresh = 0.0
        try:
            while not self.stopping.cancelled:
                try:
                    if store is None:
                        store = connect(self.service.settings)
                    if time.monotonic() >= next_refresh:
                        self._refresh(store)
                        next_refresh = time.monotonic() + (self.refresh or MOST_REFRESH)
                    self._round(store, pool, client)
                except Exception as error:       # the store went away, say: keep following
                    store = _closed(store)
                    _log_outage(error, first=not in_outage)
                    in_outage, next_refresh = True, 0.0
                    pause = min(max(pause * 2, self.poll), MOST_BACKOFF)
                else:
                    if in_outage:
                        log.warning("webhooks: the store answers again; following the event "
                                    "logs")
                    in_outage, pause = False, self.poll
                self.stopping.wait(pause)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            if store is not None:
                try:
                    self._record_finished(store, everything=True)
                except Exception:
                    log.exception("webhooks: recording a failed delivery failed")
            client.close()
            _closed(store)

    def _refresh(self, store: Store) -> None:
        """Follow the attached infrastructures delivered here that have a webhook, and only
        those (the module says where a new follower starts)."""
        now = self.clock()
        wanted: dict[str, WebhookNotification] = {}
        for infra_id in store.attached():
            if self.delivers(infra_id):
                webhook = WebhookNotification.from_dict(store.notification(infra_id))
                if webhook is not None:
                    wanted[infra_id] = webhook
        for infra_id in [known for known in self._follows if known not in wanted]:
            self._unfollow(infra_id)             # detached, removed, moved, or no webhook now
        for infra_id, webhook in wanted.items():
            follow = self._follows.get(infra_id)
            if follow is not None and follow.webhook.url == webhook.url:
                follow.webhook = webhook
                continue
            if follow is not None:
                self._unfollow(infra_id)         # another URL: its own start
            self._follows[infra_id] = _Follow(webhook, self._start(store, infra_id, webhook))
        self._refreshed_at = now

    def _start(self, store: Store, infra_id: str, webhook: WebhookNotification) -> int:
        """Where a new follower starts (the module says why), recorded if it was not."""
        target = delivery_target(webhook.url)
        done = store.delivered(infra_id)
        if done is not None and done.target == target:
            return max(done.seq, webhook.since)
        start = (webhook.since if webhook.at >= self._refreshed_at - CLOCK_SLACK
                 else last_seq(store, infra_id))
        store.start_delivery(infra_id, Delivered(target, start))
        return start

    def _unfollow(self, infra_id: str) -> None:
        follow = self._follows.pop(infra_id)
        if follow.busy is not None:
            self._finishing.append((infra_id, follow.webhook.url, follow.busy))

    def _round(self, store: Store, pool: ThreadPoolExecutor, client: httpx.Client) -> None:
        """Deliver what came since the last round, for each infrastructure followed that is
        still delivered here."""
        self._record_finished(store)
        for infra_id, follow in list(self._follows.items()):
            if follow.busy is not None:
                if not follow.busy.done():
                    continue
                busy, follow.busy = follow.busy, None
                self._record(store, infra_id, follow.webhook.url, busy)
            if not self.delivers(infra_id):
                del self._follows[infra_id]      # no longer ours: the new owner follows it
                continue
            events = store.events(infra_id, after=follow.cursor, limit=BATCH)
            if not events:
                continue
            follow.cursor = events[-1].seq
            url = follow.webhook.url
            secret = webhook_secret(self._key, infra_id, url)
            follow.busy = pool.submit(self._deliver_all, client, infra_id, url, secret, events)

    def _record_finished(self, store: Store, *, everything: bool = False) -> None:
        """Record the deliveries of infrastructures no longer followed once they end (all of
        those done, and of those followed, when `everything`)."""
        waiting = []
        for infra_id, url, busy in self._finishing:
            if busy.done():
                self._record(store, infra_id, url, busy)
            else:
                waiting.append((infra_id, url, busy))
        self._finishing = waiting
        if everything:
            for infra_id, follow in self._follows.items():
                if follow.busy is not None and follow.busy.done():
                    self._record(store, infra_id, follow.webhook.url, follow.busy)

    def _record(self, store: Store, infra_id: str, url: str, busy: Future[Sent]) -> None:
        """Log the failures of a finished delivery, record them in the log, and record how far
        the batch got."""
        if busy.cancelled():                     # queued when the sender stopped: not begun
            return
        try:
            sent = busy.result()
        except Exception:
            log.exception("webhooks: delivering the events of infrastructure %s failed",
                          infra_id)
            return
        for failure in sent.failures:
            log.warning("webhooks: event %s (%d) of infrastructure %s was not delivered to %s "
                        "after %d tries: %s", failure.event.name, failure.event.seq, infra_id,
                        failure.url, failure.tries, failure.error)
            data = {"url": failure.url, "event": failure.event.name, "seq": failure.event.seq,
                    "tries": failure.tries, "status": failure.status, "error": failure.error}
            try:
                store.append_event(Event(infra_id, FAILED, self.clock(), data))
            except InfrastructureNotFound:
                return
        if sent.through:     # a record of another URL (the webhook changed) is left as it is
            store.advance_delivery(infra_id, Delivered(delivery_target(url), sent.through))

    # --- the delivering threads -----------------------------------------------------
    def _deliver_all(self, client: httpx.Client, infra_id: str, url: str, secret: str,
                     events: Sequence[Event]) -> Sent:
        """Deliver a batch read from the log, but its `notifyfailed` events."""
        failures: list[Failure] = []
        through = 0
        for event in events:
            if self.stopping.cancelled:
                break
            if event.name != FAILED:
                try:
                    failure = self.deliver(client, infra_id, url, secret, event)
                except _Stopped:
                    break
                if failure is not None:
                    failures.append(failure)
            through = event.seq
        return Sent(failures, through)

    def deliver(self, client: httpx.Client, infra_id: str, url: str, secret: str,
                event: Event) -> Failure | None:
        """POST one event, tried again as the module says; None once delivered; `_Stopped`
        when the sender stops before its next try."""
        body = json.dumps({"infraid": infra_id, **event_record(event)},
                          separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   "X-Occopus-Event": _ascii(one_line(event.name)),
                   "X-Occopus-Delivery": str(uuid.uuid4())}
        status: int | None = None
        error = ""
        for attempt in range(1, self.tries + 1):
            signed = signed_headers(secret, int(self.clock()), body)
            try:
                answer = client.post(url, content=body, headers={**headers, **signed})
                status, error = answer.status_code, f"HTTP {answer.status_code}"
                if 200 <= answer.status_code < 300:
                    return None
                again = answer.status_code >= 500 or answer.status_code in RETRIED_STATUSES
            except httpx.HTTPError as failed:
                status, error = None, redact_url(f"{type(failed).__name__}: {failed}")
                again = True
            if not again or attempt == self.tries:
                return Failure(event, public_url(url), attempt, status, error)
            if self.stopping.wait(self._pause(attempt)):
                raise _Stopped()
        return Failure(event, public_url(url), self.tries, status, error)

    def _pause(self, attempt: int) -> float:
        """Seconds before try `attempt + 1`: doubling, each between half and one and a half
        of its value (so that many senders do not retry in step)."""
        with self._rng_lock:
            jitter = 0.5 + self.rng.random()
        return self.first_pause * 2 ** (attempt - 1) * jitter


def _log_outage(error: Exception, *, first: bool) -> None:
    """Once per outage a warning (with the traceback of what is no store error); then debug."""
    if not first:
        log.debug("webhooks: the store still cannot be read: %s", error)
    elif isinstance(error, OccoError):
        log.warning("webhooks: reading the event logs failed: %s; trying again, less and less "
                    "often", error.message)
    else:
        log.warning("webhooks: reading the event logs failed; trying again, less and less "
                    "often", exc_info=error)


def _closed(store: Store | None) -> None:
    """Close a connection that may be broken (None after)."""
    if store is not None:
        try:
            store.close()
        except Exception:
            log.debug("webhooks: closing the store connection failed", exc_info=True)
    return None


def _ascii(text: str) -> str:
    """A header value: ASCII, whatever the event's name holds."""
    return text.encode("ascii", "backslashreplace").decode("ascii")
