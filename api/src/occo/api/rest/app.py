"""The FastAPI application of the REST service: its routes, its errors, its limits.

Around the routes, from the outside in: `errors.CatchAll` (a bug is a 500
that says only that), `limits.RequestLimits` (413 over `rest.max_body`, 503
for new work while stopping), then FastAPI's exception handlers giving every
error the JSON body of `errors`. The OpenAPI document (`/openapi.json`) is
made from the routes, and completed here with what every route shares: 401
on a route that needs a token, 403, 413 and 503 on one that changes
something, and the error body on FastAPI's own 422.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from occo.api import __version__

from . import events, infrastructures, notify, page, scaling
from .errors import MEANING, CatchAll, install_handlers
from .limits import READING, RequestLimits
from .service import RestService

ERROR_BODY_REF = {"$ref": "#/components/schemas/ErrorBody"}


def create_app(service: RestService) -> FastAPI:
    """The application serving `service`; the routes get it with `service.service_of`.

    No /docs or /redoc: those pages load their scripts from a CDN (the service's pages load
    nothing from elsewhere); /openapi.json is the document.
    """
    app = FastAPI(title="Occopus", version=__version__,
                  description="Build, maintain, scale and destroy infrastructures.",
                  docs_url=None, redoc_url=None)
    app.state.service = service
    # routes are matched in order: the scale routes, which come in bursts, first
    for module in (scaling, infrastructures, events, notify, page):
        app.include_router(module.router)
    install_handlers(app)
    # the last added is the outermost
    app.add_middleware(RequestLimits, max_body=service.settings.rest.max_body,
                       stopping=service.stopping)
    app.add_middleware(CatchAll)
    app.openapi = _completed(app.openapi)       # type: ignore[method-assign]
    return app


def _completed(make: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    done: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not done:
            done.append(shared_errors(make()))
        return done[0]
    return openapi


def shared_errors(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the errors every route shares written into each operation."""
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            codes = []
            if operation.get("security"):
                codes.append(401)
                if method.upper() not in READING:
                    codes.append(403)
            if method.upper() not in READING or "requestBody" in operation:
                codes += [413, 503]
            answers = operation["responses"]
            for code in codes:
                answers.setdefault(str(code), _error_answer(code))
            if "422" in answers:
                answers["422"] = _error_answer(422)
    return document


def _error_answer(code: int) -> dict[str, Any]:
    return {"description": MEANING[code],
            "content": {"application/json": {"schema": ERROR_BODY_REF}}}
