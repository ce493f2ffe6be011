"""The engine's failures as the contract's errors: one line, the engine's words, what to do.

An engine that cannot be reached (no socket, connection refused, no answer in
time) and the engine's 5xx and 429 answers may pass: `TransientError`. Its
other 4xx answers (an unknown image, a bad request) will not: `PermanentError`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import requests
from docker.errors import APIError, DockerException

from occo.util import redact
from occo.util.redact import SHORTEST_SECRET

from ..base import PermanentError, ResourceError, TransientError

START_HINT = "start the engine (./occo-dev docker start in a checkout), or correct the endpoint"
LONGEST_SAID = 300      # characters of the engine's own words kept in a message


class EngineSaid(Exception):
    """A failure the engine reported inside a 200 answer's progress stream (a pull, an import)."""


def one_line(text: object) -> str:
    """`text` on one line, cut to a readable length."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= LONGEST_SAID else flat[:LONGEST_SAID - 3] + "..."


def engine_words(error: APIError) -> str:
    """What the engine said, else the HTTP reason."""
    said = error.explanation
    if isinstance(said, bytes):
        said = said.decode(errors="replace")
    if not said and error.response is not None:
        said = error.response.reason
    return one_line(said or "(no explanation)")


def classify(error: Exception, what: str, endpoint: str, hint: str | None = None,
             hide: Iterable[str] = ()) -> ResourceError:
    """`error`, raised by the Docker SDK while doing `what`, as a `ResourceError`; the strings
    in `hide` (a container's environment values) are never repeated."""
    if isinstance(error, ResourceError):
        return error
    found = _classified(error, what, endpoint, hint)
    secrets = {text for text in hide if len(text) >= SHORTEST_SECRET}
    return type(found)(redact.hide(found.message, secrets), hint=found.hint)


def _classified(error: Exception, what: str, endpoint: str,
                hint: str | None) -> ResourceError:
    if isinstance(error, APIError) and error.status_code is not None:
        status = error.status_code
        message = f"{what}: the engine answered {status}: {engine_words(error)}"
        if status == 429 or status >= 500:
            return TransientError(message, hint=hint or "retry later; if it persists, see the "
                                                        "engine's log")
        return PermanentError(message, hint=hint)
    if isinstance(error, EngineSaid):
        return PermanentError(f"{what}: {one_line(error)}", hint=hint)
    if isinstance(error, requests.exceptions.Timeout):
        return TransientError(f"{what}: the Docker engine at {endpoint} did not answer in time",
                              hint="retry later; the engine may be busy")
    if isinstance(error, requests.exceptions.ConnectionError):
        return TransientError(f"{what}: cannot reach the Docker engine at {endpoint}: "
                              f"{_reason(error)}", hint=START_HINT)
    return PermanentError(f"{what}: {type(error).__name__}: {one_line(error)}", hint=hint)


@contextmanager
def engine_call(what: str, endpoint: str, hint: str | None = None,
                hide: Iterable[str] = ()) -> Iterator[None]:
    """Turn the SDK's exceptions raised inside into `ResourceError`s naming `what`."""
    try:
        yield
    except (DockerException, requests.exceptions.RequestException, EngineSaid) as error:
        raise classify(error, what, endpoint, hint, hide) from None


def _reason(error: BaseException) -> str:
    """The operating system's words deep inside the chain requests and urllib3 wrap around it:
    "No such file or directory", "Connection refused"."""
    seen: set[int] = set()
    pending: list[object] = [error]
    while pending:
        cause = pending.pop(0)
        if not isinstance(cause, BaseException) or id(cause) in seen:
            continue
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        pending.extend([*cause.args, getattr(cause, "reason", None), cause.__cause__,
                        cause.__context__])
    return one_line(error)
