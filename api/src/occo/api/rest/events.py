"""An infrastructure's event log: a page of it, and a live stream (Server-Sent Events).

The stream polls the store (the log is in the store, so it works the same
whichever process of the service appends to it, on Redis too): every
`POLL` seconds it reads what came after the last event sent; each event is
one SSE message whose `id` is its `seq`, so that a client that reconnects
with `Last-Event-ID` (browsers do it by themselves) resumes where it was. A
comment every `HEARTBEAT` seconds keeps proxies from closing a quiet stream.
It ends when the client goes, when the service stops, and when the
infrastructure is removed (after a last `gone` event).

Each open stream polls the store, so a process serves at most `MOST_STREAMS`
at once: one more is refused with 503 and `Retry-After`, until one ends.

A store connection belongs to its thread: store reads run in the worker
threads (`run_in_threadpool`), each on its own thread's connection
(`RestService.store`).
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from occo.util.errors import OccoError

from ..eventlog import event_record, exists, one_line, parse_since, read_events
from .auth import require_reader
from .errors import RestError, responses
from .service import RestService, service_of

POLL = 0.5              # seconds between two reads of the log by a stream
HEARTBEAT = 15.0        # seconds of quiet before a stream sends a comment
STREAM_PAGE = 200       # events read at once by a stream
MOST = 10000            # events one page of GET /events may have
DEFAULT_LIMIT = 1000
MOST_CURSOR = 2 ** 63 - 1  # a store's cursor is a 64-bit integer
MOST_STREAMS = 64       # event streams one process serves at once
RETRY_AFTER = 5         # seconds a client refused a stream is told to wait

router = APIRouter(tags=["events"], dependencies=[Depends(require_reader)])


class EventItem(BaseModel):
    seq: int = Field(description="where the event sits in the log: pass it as `after` (or "
                                 "Last-Event-ID) to read what came after it")
    name: str = Field(description="infrastart, nodecreating, nodecreated, nodefailed, ...")
    time: float = Field(description="when it happened (epoch seconds)")
    data: dict[str, Any] = Field(description="what it is about (secrets hidden)")


class EventPage(BaseModel):
    infraid: str
    events: list[EventItem] = Field(description="oldest first")


STREAM = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                "description": "Server-Sent Events: `id` the event's seq, `event` its name, "
                               "`data` the event as GET /events gives it; a last `gone` "
                               "event when the infrastructure is removed"}}
TOO_MANY = {503: {**responses(503)[503],
                  "description": "the service is stopping, its store cannot be reached, or "
                                 f"this process already serves {MOST_STREAMS} streams "
                                 "(Retry-After says when to try again)"}}


@router.get("/infrastructures/{infra_id}/events", response_model=EventPage,
            responses=responses(400, 401, 404, 422, 503),
            summary="The infrastructure's events, oldest first")
def list_events(infra_id: str,
                since: str | None = Query(None, description="only events from this time on: "
                                          "epoch seconds or ISO-8601 (UTC unless it says)"),
                after: int = Query(0, description="only events after this seq"),
                limit: int = Query(DEFAULT_LIMIT, description=f"at most this many (1 to "
                                                              f"{MOST})"),
                service: RestService = Depends(service_of)) -> EventPage:
    if not 0 <= after <= MOST_CURSOR:
        raise RestError(400, f"after must be 0 to {MOST_CURSOR}, not {after}")
    if not 1 <= limit <= MOST:
        raise RestError(400, f"limit must be 1 to {MOST}, not {limit}",
                        hint="page with `after`: the seq of the last event of a page")
    moment = _since(since)
    store = service.store()
    store.get_infrastructure(infra_id)                  # 404 if unknown
    found = read_events(store, infra_id, after=after, since=moment, limit=limit)
    return EventPage(infraid=infra_id, events=[EventItem(**event_record(event))
                                               for event in found])


@router.get("/infrastructures/{infra_id}/events/stream", response_class=StreamingResponse,
            responses={**STREAM, **responses(400, 401, 404, 422), **TOO_MANY},
            summary="The infrastructure's events as they come (Server-Sent Events)")
async def stream_events(request: Request, infra_id: str,
                        after: int = Query(0, description="start after this seq (0: from the "
                                                          "first event)"),
                        last_event_id: str | None = Header(
                            None, description="resume after this seq (sent by a reconnecting "
                                              "EventSource); wins over `after`"),
                        service: RestService = Depends(service_of)) -> StreamingResponse:
    start = _cursor(after, last_event_id)
    await run_in_threadpool(lambda: service.store().get_infrastructure(infra_id))  # 404?

    def read(cursor: int) -> list[dict[str, Any]] | None:
        """What came after `cursor`, or None once the infrastructure is gone."""
        store = service.store()
        found = [event_record(event)
                 for event in store.events(infra_id, after=cursor, limit=STREAM_PAGE)]
        return found if found or exists(store, infra_id) else None

    async def over() -> bool:
        return service.stopping.cancelled or await request.is_disconnected()

    slot = STREAMS.take()
    messages = sse_messages(lambda cursor: run_in_threadpool(read, cursor), start, over,
                            infra_id)
    return _CountedStream(slot, messages, media_type="text/event-stream",
                          headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class _Slot:
    """One open stream of `Streams`; `release` may be called more than once."""

    def __init__(self, streams: Streams) -> None:
        self._streams: Streams | None = streams

    def release(self) -> None:
        streams, self._streams = self._streams, None
        if streams is not None:
            streams.release()


class Streams:
    """How many event streams this process serves; `take` refuses one beyond `MOST_STREAMS`
    (read when taking, so that it is the module's value at the time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.open = 0

    def take(self) -> _Slot:
        with self._lock:
            if self.open >= MOST_STREAMS:
                raise RestError(503, f"this process already serves {MOST_STREAMS} event "
                                     "streams, the most it serves at once",
                                hint=f"try again in {RETRY_AFTER} s, or read "
                                     "GET .../events with `after`",
                                headers={"Retry-After": str(RETRY_AFTER)})
            self.open += 1
        return _Slot(self)

    def release(self) -> None:
        with self._lock:
            self.open -= 1


STREAMS = Streams()


class _CountedStream(StreamingResponse):
    """A stream that gives its slot back when it ends, however it ends (even if its messages
    never started: a client gone before the first)."""

    def __init__(self, slot: _Slot, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


async def sse_messages(read: Callable[[int], Any], cursor: int, over: Callable[[], Any],
                       infra_id: str, *, poll: float = POLL, heartbeat: float = HEARTBEAT,
                       clock: Callable[[], float] = time.monotonic) -> AsyncIterator[str]:
    """The SSE messages of the log after `cursor`: `await read(cursor)` gives the events after
    it (None once the infrastructure is gone), `await over()` says when to stop."""
    yield f"retry: {int(poll * 4000)}\n\n"
    quiet_since = clock()
    while not await over():
        events = await read(cursor)
        if events is None:
            yield f"event: gone\ndata: {json.dumps({'infraid': infra_id})}\n\n"
            return
        for item in events:
            cursor = item["seq"]
            yield message(item)
        if events:
            quiet_since = clock()
            continue                    # more may wait: read again at once
        if clock() - quiet_since >= heartbeat:
            quiet_since = clock()
            yield ": still here\n\n"
        await anyio.sleep(poll)


def message(item: dict[str, Any]) -> str:
    """One event as an SSE message (JSON has no newline that would end its `data` line)."""
    return f"id: {item['seq']}\nevent: {one_line(item['name'])}\ndata: {json.dumps(item)}\n\n"


def _cursor(after: int, last_event_id: str | None) -> int:
    if last_event_id is not None and last_event_id.strip():
        try:
            after = int(last_event_id)
        except ValueError:
            raise RestError(400, f"Last-Event-ID {last_event_id[:40]!r} is no event's seq",
                            hint="send the `id` of the last event received") from None
    if not 0 <= after <= MOST_CURSOR:
        raise RestError(400, f"the cursor must be 0 to {MOST_CURSOR}, not {after}")
    return after


def _since(since: str | None) -> float | None:
    if since is None:
        return None
    try:
        return parse_since(since)
    except OccoError as bad:
        raise RestError(400, bad.message, hint=bad.hint) from None

