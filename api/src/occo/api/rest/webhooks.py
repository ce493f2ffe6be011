"""Signed webhooks: each new event of an infrastructure POSTed to the URL its notify gave.

What the store keeps of a webhook is its URL alone, never a secret: the
secret of a webhook is derived, HMAC-SHA256 of the infrastructure id and URL
under the service's key (`webhook_secret`), a random key kept in a 0600 file
next to the token file and made on first use (`webhook_key`). Service
processes that share a store must share that file for their signatures to
agree.

`WebhookSender` follows the event log of every attached infrastructure that
has a webhook, and delivers the events of those this process maintains
(`Maintainer.status(id).here`), so that processes sharing a store send each
event once. It starts from where each log was when the service started (for a
webhook set since: where the log was when it was set); the cursors are in
memory, so events appended while no process runs are not sent. Each event is
one POST of JSON with the headers `X-Occopus-Event` (its name),
`X-Occopus-Delivery` (an id, the same on every try of one event) and
`X-Occopus-Signature: sha256=<hex HMAC-SHA256 of the raw body under the
webhook's secret>`. A try that fails for the network, a 5xx, 408 or 429 is
tried again after an exponentially growing pause with jitter, up to `tries`
tries; a failure at the end (or another answer, which trying again would not
change) is logged and recorded in the infrastructure's log as a
`notifyfailed` event, which itself is never delivered.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from occo.infobroker.store import InfrastructureNotFound, Store
from occo.infobroker.store.base import Event
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.errors import ConfigurationError
from occo.util.private import create_private, open_private, private_folder
from occo.util.redact import redact_url

from .. import __version__
from ..commands.events import event_record, last_seq, one_line
from ..session import connect
from .service import RestService

log = logging.getLogger("occo.api.rest.webhooks")

KEY_FILE = "rest-webhook-key"
FAILED = "notifyfailed"
RETRIED_STATUSES = frozenset({408, 429})
BATCH = 100                 # events read from one log at once


# --- keys, secrets, signatures ----------------------------------------------------

def key_path(settings: Settings) -> Path:
    """Where the service keeps its webhook key: beside its token file."""
    return Path(settings.rest.token_file).with_name(KEY_FILE)


def webhook_key(path: Path) -> bytes:
    """The service's webhook key (32 random bytes, hex in a 0600 file of this user), made on
    first use; processes that start at once agree on one (the first link wins)."""
    if not os.path.lexists(path):
        private_folder(path.parent)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        with os.fdopen(create_private(draft), "w") as stream:
            stream.write(secrets.token_bytes(32).hex() + "\n")
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    with os.fdopen(open_private(path, os.O_RDONLY), "r") as stream:
        text = stream.read(200)
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(f"the webhook key {path} is not 64 hexadecimal digits",
                                 hint="remove it: a new one is made (and every webhook's "
                                      "secret changes)")
    return key


def webhook_secret(key: bytes, infra_id: str, url: str) -> str:
    """The secret a webhook's POSTs are signed with: bound to its infrastructure and URL."""
    return hmac.new(key, f"{infra_id}\n{url}".encode(), hashlib.sha256).hexdigest()


def signature(secret: str, body: bytes) -> str:
    """The `X-Occopus-Signature` of a body: `sha256=<hex HMAC-SHA256 under the secret>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def public_url(url: str) -> str:
    """The URL without its user information (which may hold a password), for logs."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return redact_url(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return redact_url(urlunsplit(parts._replace(netloc=netloc)))


def webhook_url(notification: dict | None) -> str | None:
    """The URL of a webhook notification, or None for none (or another kind)."""
    if not notification or notification.get("type") != "webhook":
        return None
    url = (notification.get("webhook") or {}).get("url")
    return url if isinstance(url, str) and url else None


# --- delivery -----------------------------------------------------------------------

@dataclass(frozen=True)
class Failure:
    """An event that could not be delivered: how it ended."""

    event: Event
    url: str
    tries: int
    status: int | None
    error: str


@dataclass
class _Follow:
    """One infrastructure's log as the sender follows it."""

    cursor: int
    busy: Future[list[Failure]] | None = None


class WebhookSender:
    """`start()` a thread that delivers the events of the infrastructures this process
    maintains to their webhooks; `stop()` ends it (a delivery in flight is given up)."""

    def __init__(self, service: RestService, *, delivers: Callable[[str], bool] | None = None,
                 rng: random.Random | None = None, tries: int = 5, first_pause: float = 0.5,
                 poll: float = 0.5, timeout: float = 10.0, workers: int = 4,
                 clock: Callable[[], float] = time.time) -> None:
        self.service = service
        self.delivers = delivers or (lambda infra_id: service.maintainer.status(infra_id).here)
        self.rng = rng or random.Random()
        self.tries = tries
        self.first_pause = first_pause
        self.poll = poll
        self.timeout = timeout
        self.clock = clock
        self.stopping = Cancellation()
        self._workers = workers
        self._rng_lock = threading.Lock()
        self._follows: dict[str, _Follow] = {}
        self._thread: threading.Thread | None = None
        self._key = b""
        self._started_at = 0.0

    def start(self) -> None:
        self._key = webhook_key(key_path(self.service.settings))
        self._started_at = self.clock()
        self._thread = threading.Thread(target=self._run, name="occopus-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stopping.cancel()
        if self._thread is not None:
            self._thread.join()

    # --- the following thread -----------------------------------------------------
    def _run(self) -> None:
        store = connect(self.service.settings)
        pool = ThreadPoolExecutor(self._workers, thread_name_prefix="occopus-webhook")
        client = httpx.Client(timeout=self.timeout, follow_redirects=False,
                              headers={"User-Agent": f"occopus/{__version__}"})
        try:
            while not self.stopping.cancelled:
                try:
                    self._round(store, pool, client)
                except Exception:        # the store went away, say: keep following
                    log.exception("webhooks: reading the event logs failed; trying again")
                self.stopping.wait(self.poll)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            for infra_id, follow in self._follows.items():
                if follow.busy is not None and follow.busy.done():
                    try:
                        self._record(store, infra_id, follow)
                    except Exception:
                        log.exception("webhooks: recording a failed delivery failed")
            client.close()
            store.close()

    def _round(self, store: Store, pool: ThreadPoolExecutor, client: httpx.Client) -> None:
        """Deliver what came since the last round, for each infrastructure followed."""
        followed = {}
        for infra_id in store.attached():
            url = webhook_url(store.notification(infra_id))
            if url is not None:
                followed[infra_id] = url
        for infra_id in [known for known in self._follows if known not in followed]:
            del self._follows[infra_id]        # detached, removed, or its webhook removed
        for infra_id, url in followed.items():
            follow = self._follows.get(infra_id)
            if follow is None:
                follow = self._follows[infra_id] = _Follow(self._start(store, infra_id))
            if follow.busy is not None:
                if not follow.busy.done():
                    continue
                self._record(store, infra_id, follow)
            events = store.events(infra_id, after=follow.cursor, limit=BATCH)
            if not events:
                continue
            follow.cursor = events[-1].seq
            wanted = [event for event in events if event.name != FAILED]
            if wanted and self.delivers(infra_id):
                secret = webhook_secret(self._key, infra_id, url)
                follow.busy = pool.submit(self._deliver_all, client, infra_id, url, secret,
                                          wanted)

    def _start(self, store: Store, infra_id: str) -> int:
        """Where to start following a log: where its webhook was set if that was while this
        process ran, else where the log is now."""
        notification = store.notification(infra_id) or {}
        since, at = notification.get("since"), notification.get("at")
        if isinstance(since, int) and isinstance(at, (int, float)) and at >= self._started_at:
            return since
        return last_seq(store, infra_id)

    def _record(self, store: Store, infra_id: str, follow: _Follow) -> None:
        """Log the failures of a finished delivery, and record them in the log."""
        busy, follow.busy = follow.busy, None
        assert busy is not None
        failures = busy.result()
        for failure in failures:
            log.warning("webhooks: event %s (%d) of infrastructure %s was not delivered to %s "
                        "after %d tries: %s", failure.event.name, failure.event.seq, infra_id,
                        failure.url, failure.tries, failure.error)
            data = {"url": failure.url, "event": failure.event.name, "seq": failure.event.seq,
                    "tries": failure.tries, "status": failure.status, "error": failure.error}
            try:
                store.append_event(Event(infra_id, FAILED, self.clock(), data))
            except InfrastructureNotFound:
                return

    # --- the delivering threads -----------------------------------------------------
    def _deliver_all(self, client: httpx.Client, infra_id: str, url: str, secret: str,
                     events: Sequence[Event]) -> list[Failure]:
        failures = []
        for event in events:
            if self.stopping.cancelled:
                break
            failure = self.deliver(client, infra_id, url, secret, event)
            if failure is not None:
                failures.append(failure)
        return failures

    def deliver(self, client: httpx.Client, infra_id: str, url: str, secret: str,
                event: Event) -> Failure | None:
        """POST one event, tried again as the module says; None once delivered."""
        body = json.dumps({"infraid": infra_id, **event_record(event)},
                          separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   "X-Occopus-Event": _ascii(one_line(event.name)),
                   "X-Occopus-Delivery": str(uuid.uuid4()),
                   "X-Occopus-Signature": signature(secret, body)}
        status: int | None = None
        error = ""
        for attempt in range(1, self.tries + 1):
            try:
                answer = client.post(url, content=body, headers=headers)
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
                return Failure(event, public_url(url), attempt, status,
                               f"{error} (given up: the service stopped)")
        return Failure(event, public_url(url), self.tries, status, error)

    def _pause(self, attempt: int) -> float:
        """Seconds before try `attempt + 1`: doubling, each between half and one and a half
        of its value (so that many senders do not retry in step)."""
        with self._rng_lock:
            jitter = 0.5 + self.rng.random()
        return self.first_pause * 2 ** (attempt - 1) * jitter


def notification_for(url: str, store: Store, infra_id: str,
                     clock: Callable[[], float] = time.time) -> dict[str, Any]:
    """What the store keeps of a webhook: its URL, and where the log was when it was set
    (the sender starts there), never a secret."""
    return {"type": "webhook", "webhook": {"url": url}, "since": last_seq(store, infra_id),
            "at": clock()}


def _ascii(text: str) -> str:
    """A header value: ASCII, whatever the event's name holds."""
    return text.encode("ascii", "backslashreplace").decode("ascii")
