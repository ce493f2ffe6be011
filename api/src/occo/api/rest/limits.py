"""What the REST service takes before any route runs: bodies up to `rest.max_body` bytes, and
no new work once it is stopping.

A body is refused (413) on its declared `Content-Length` before a byte of it
is read, and, for a body sent in chunks with no length, as soon as the bytes
a route reads pass the limit: a client cannot make the service hold more
than the limit by not saying how much it sends. Once SIGTERM came
(`RestService.stopping`), a request that would change something is answered
503; reading goes on until the server has stopped.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from occo.util.cancel import Cancellation

from .errors import RestError, WatchedSend

READING = frozenset({"GET", "HEAD", "OPTIONS"})


def too_large(max_body: int) -> RestError:
    return RestError(413, f"the request body is larger than {max_body:,} bytes",
                     hint="rest: {max_body: BYTES} in occopus_config.yaml sets the limit")


def stopping_error() -> RestError:
    return RestError(503, "the service is stopping: it accepts no new work",
                     hint="send it again once the service is back (or to another of its "
                          "processes)", headers={"Retry-After": "10"})


class RequestLimits:
    """ASGI middleware: the body limit and the refusal of new work while stopping."""

    def __init__(self, app: ASGIApp, *, max_body: int, stopping: Cancellation) -> None:
        self.app = app
        self.max_body = max_body
        self.stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal.response()(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise too_large(self.max_body)
            return message

        watched = WatchedSend(send)
        try:
            await self.app(scope, limited_receive, watched)
        except RestError as error:       # raised while a body was read outside any route
            if watched.started or error.status_code != 413:
                raise
            await error.response()(scope, receive, send)

    def _refusal(self, scope: Scope) -> RestError | None:
        if self.stopping.cancelled and scope["method"] not in READING:
            return stopping_error()
        lengths = [value for name, value in scope["headers"] if name == b"content-length"]
        if not lengths:
            return None
        try:
            declared = {int(value) for value in lengths}
        except ValueError:
            declared = set()
        if len(declared) != 1 or min(declared) < 0:
            return RestError(400, "Content-Length is not one number of bytes")
        if declared.pop() > self.max_body:
            return too_large(self.max_body)
        return None
