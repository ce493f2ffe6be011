"""The error answers of the REST service: one JSON body (`models.ErrorBody`) with an honest code.

The original answered every error with HTTP 200 and the code in the body;
here the code is the HTTP status, and the body keeps the original's
`status_code` and `reason` beside the new `message` (the reason and its
hint) and `problems` (each located problem). Which code an `OccoError` gets:

    InfrastructureNotFound                          404
    LeaseHeld, InfrastructureExists, ScalingQueueFull,
    InfrastructureBeingDestroyed (attach)           409
    StoreError (the store cannot be reached),
    MaintainerStopped (the service is stopping)     503
    SchemaError, YamlError, any other OccoError     400

A request that does not fit the routes' schema (a path or query parameter of
the wrong type) is 422 with a problem for each parameter. Anything else
raised by a route is a bug: 500, with a body that says only that; its
traceback goes to a private crash log (`occo.api.crashlog`), whose path the
service prints on stderr, never into the answer.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from occo.infobroker.store import (InfrastructureExists, InfrastructureNotFound, LeaseHeld,
                                   ScalingQueueFull, StoreError)
from occo.util.errors import OccoError, SchemaError
from occo.util.redact import redact_url

from ..crashlog import write_crash_log
from .daemon import InfrastructureBeingDestroyed, MaintainerStopped
from .models import ErrorBody, Problem

PROG = "occopus-rest-service"      # the command's name, that its lines on stderr start with

STATUS_OF: tuple[tuple[type[OccoError], int], ...] = (
    (InfrastructureNotFound, 404),
    (LeaseHeld, 409),
    (InfrastructureExists, 409),
    (ScalingQueueFull, 409),
    (InfrastructureBeingDestroyed, 409),
    (StoreError, 503),
    (MaintainerStopped, 503),
)

UNNAMED = (None, "<string>", "<input>")   # a text that came from no file (a request body)

# what each code means on every route, for the OpenAPI document
MEANING = {
    400: "the request cannot be carried out as it is (a bad description: each problem with "
         "its line and column)",
    401: "no token, or not one the service knows (see WWW-Authenticate)",
    403: "a read-only token on a route that changes something",
    404: "no such infrastructure (or node)",
    409: "a conflict with the infrastructure's state (already so, or being changed by "
         "another process)",
    413: "the request body is larger than the service accepts (rest.max_body)",
    422: "a path or query parameter does not fit its schema: a problem for each",
    503: "the service is stopping, or its store cannot be reached",
}


class RestError(HTTPException):
    """An error answer a route (or the service around it) decides on."""

    def __init__(self, status_code: int, message: str, *, hint: str | None = None,
                 problems: Sequence[Problem] = (), headers: Mapping[str, str] | None = None
                 ) -> None:
        super().__init__(status_code, message, dict(headers) if headers else None)
        self.message = message
        self.hint = hint
        self.problems = list(problems)

    def response(self) -> JSONResponse:
        """Its JSON error answer."""
        return answer(self.status_code, self.message, hint=self.hint, problems=self.problems,
                      headers=self.headers)


def status_of(error: OccoError) -> int:
    for kind, status in STATUS_OF:
        if isinstance(error, kind):
            return status
    return 400


def problem_of(error: OccoError) -> Problem:
    where = error.location
    named = where is not None and where.file not in UNNAMED
    return Problem(message=redact_url(error.message),
                   file=where.file if named else None,
                   line=where.line if where else None,
                   column=where.column if where else None,
                   hint=redact_url(error.hint) if error.hint else None)


def problems_of(error: OccoError) -> list[Problem]:
    """Each problem of a `SchemaError`; the error itself when it says where it is."""
    if isinstance(error, SchemaError):
        return [problem_of(problem) for problem in error.problems]
    return [problem_of(error)] if error.location else []


def answer(status_code: int, message: str, *, hint: str | None = None,
           problems: Iterable[Problem] = (), headers: Mapping[str, str] | None = None,
           extra: Mapping[str, Any] | None = None) -> JSONResponse:
    """The JSON error answer (no secret of a URL a message quotes is shown); `extra`: the
    fields of a route's own error body beside those every error has."""
    reason = redact_url(message)
    body = ErrorBody(status_code=status_code, reason=reason,
                     message=f"{reason} (hint: {redact_url(hint)})" if hint else reason,
                     problems=list(problems))
    return JSONResponse({**body.model_dump(), **(extra or {})}, status_code=status_code,
                        headers=dict(headers) if headers else None)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the error codes it may answer, with their body."""
    return {code: {"model": ErrorBody, "description": MEANING.get(code, HTTPStatus(code).phrase)}
            for code in codes}


async def _occo_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OccoError)
    message = error.message
    if isinstance(error, SchemaError) and error.problems:
        message = f"{message}, the first: {error.problems[0].message}"
    return answer(status_of(error), message, hint=error.hint, problems=problems_of(error))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if isinstance(error, RestError):
        return error.response()
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    return answer(error.status_code, detail, headers=error.headers)


def _place(location: Sequence[Any]) -> str:
    where = [str(part) for part in location]
    if len(where) >= 2 and where[0] in ("path", "query", "header", "cookie"):
        return f"{where[0]} parameter '{'.'.join(where[1:])}'"
    return ".".join(where) or "the request"


async def _invalid_request(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    # the input itself is never repeated: it may be anything, a token pasted in the wrong place
    problems = [Problem(message=f"{_place(item.get('loc', ()))}: {item.get('msg', 'invalid')}")
                for item in error.errors()]
    return answer(422, "the request does not fit the route's parameters", problems=problems,
                  hint="see /openapi.json for what each route takes")


class WatchedSend:
    """An ASGI `send` that says whether the answer has started: after that, a middleware
    can no longer answer an error of its own."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class CatchAll:
    """Outermost: a bug in a route is a 500 saying so (never its traceback), the traceback
    kept in a private crash log named on stderr."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except Exception as error:          # a bug: kept, reported, answered as such
            print(f"{PROG}: internal error answering {scope.get('method')} {scope.get('path')}; "
                  f"{_crash_report(error)}", file=sys.stderr, flush=True)
            if not watched.started:
                await answer(500, "internal error of the service; it is logged on the server",
                             hint="report it with the crash log the service names on its "
                                  "stderr")(scope, receive, send)


def _crash_report(error: BaseException) -> str:
    try:
        path = write_crash_log(PROG, error)
    except (OccoError, OSError) as problem:
        reason = problem.message if isinstance(problem, OccoError) else problem.strerror
        return f"{type(error).__name__}; no crash log could be written ({reason})"
    return f"the details are in {path}"


def install_handlers(app: FastAPI) -> None:
    """Answer every error a route raises with the JSON error body (`CatchAll`, a middleware,
    answers the bugs)."""
    app.add_exception_handler(OccoError, _occo_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
