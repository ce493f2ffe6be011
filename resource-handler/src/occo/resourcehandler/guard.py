"""The face the engine calls resource handlers through.

`ResourceHandlers(settings).for_resource(resource, credentials)` gives the
handler of the connection a resolved `resource` section reaches, guarded:
each operation of the contract waits for its backend's limits (`limits.py`)
and fails only with `TransientError` or `PermanentError`. Any other exception
from a plugin is a bug in it, reported as permanent with secrets hidden and
its traceback logged. Retrying is the caller's business.

One handler is kept per connection (type, the section's connection keys,
credentials): nodes whose launch parameters differ, down to a per-node name
or tag, share it and its connection pool. `close()` lets them go.
"""
from __future__ import annotations

import functools
import logging
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from occo.util.config import Settings
from occo.util.errors import OccoError, PluginNotAvailable
from occo.util.redact import hide, secret_values

from .base import (Connection, Instance, PermanentError, ResourceError, ResourceHandler,
                   ResourceStatus)
from .limits import Limiter, Limits
from .plugins import handler_class

log = logging.getLogger("occo.resourcehandler")

# the contract's operations, each with the capability that bounds the items of one call
OPERATIONS: Mapping[str, str | None] = {
    "create_nodes": "creates_per_call", "get_states": "states_per_call",
    "drop_node": None, "list_owned": None, "get_cost": None,
}


# what else of a handler its callers read: what it is, never how it does its work
DESCRIPTION = frozenset({"label", "type_name", "capabilities", "connection", "backend_key",
                         "ssh_port"})


class HandlerUnavailable(PermanentError):
    """A connection's handler cannot be had: its plugin is not installed, or will not build
    (a bad endpoint, say). Nothing can have been sent to its cloud through it."""


class GuardedHandler:
    """A handler whose operations respect its backend's limits and raise only `ResourceError`,
    every message and hint with the connection's secrets and URL passwords hidden.

    The contract's operations (`OPERATIONS`) are forwarded, guarded; a batch
    operation's answers are checked against the items asked. What describes
    the handler (`DESCRIPTION`) is read from it; nothing else is reachable.
    Giving a batch operation more items than the plugin declares it takes is
    the caller's bug (`ValueError`).
    """

    def __init__(self, handler: ResourceHandler, limiter: Limiter) -> None:
        self.handler = handler
        self.limiter = limiter

    def __getattr__(self, name: str) -> Any:
        if name not in OPERATIONS:
            if name not in DESCRIPTION:
                raise AttributeError(f"a guarded handler has no {name!r}")
            return getattr(self.handler, name)
        guarded = functools.update_wrapper(
            functools.partial(self._call, name, OPERATIONS[name]), getattr(type(self.handler), name))
        self.__dict__[name] = guarded       # looked up once a handler
        return guarded

    def _call(self, operation: str, per_call: str | None, *args: Any) -> Any:
        handler = self.handler
        if per_call is not None:
            _check_count(handler, operation, args[0], getattr(handler.capabilities, per_call))
        with self.limiter.slot(), _classified(f"[{handler.label}] {operation}",
                                              handler.type_name, handler.connection):
            answers = getattr(handler, operation)(*args)
        if per_call is not None:
            return _checked_answers(handler, operation, args[0], answers)
        return answers


class ResourceHandlers:
    """Builds and keeps the guarded handler of each connection in use; thread-safe."""

    def __init__(self, settings: Settings, *,
                 load: Callable[[str], type[ResourceHandler]] = handler_class) -> None:
        """`load` finds the class of a type: the installed plugins unless a test says otherwise."""
        self._limits = Limits(settings)
        self._load = load
        self._handlers: dict[str, GuardedHandler] = {}
        self._lock = threading.Lock()

    def connection(self, resource: Mapping[str, Any],
                   credentials: Mapping[str, Any] | None = None) -> Connection:
        """The connection a resolved `resource` section reaches, with its credentials."""
        return Connection.of(self._plugin(str(resource["type"])).schema, resource, credentials)

    def _plugin(self, type_name: str) -> type[ResourceHandler]:
        try:
            return self._load(type_name)
        except PluginNotAvailable as error:
            raise HandlerUnavailable(error.message, hint=error.hint) from None

    def for_resource(self, resource: Mapping[str, Any],
                     credentials: Mapping[str, Any] | None = None) -> GuardedHandler:
        """The handler of the connection a resolved `resource` section reaches."""
        return self.for_connection(self.connection(resource, credentials))

    def for_connection(self, connection: Connection) -> GuardedHandler:
        """The kept handler of a connection; built outside the lock (an SDK's client may take
        a while to make), and kept by whoever is first when two threads build one at once."""
        key = connection.key
        with self._lock:
            guarded_handler = self._handlers.get(key)
        if guarded_handler is not None:
            return guarded_handler
        handler = _build(self._plugin(connection.type_name), connection)
        with self._lock:
            kept = self._handlers.setdefault(key, GuardedHandler(
                handler, self._limits.for_backend(handler.type_name, handler.backend_key)))
        if kept.handler is not handler:
            handler.close()
        return kept

    def close(self) -> None:
        """Let every kept handler release what it holds."""
        with self._lock:
            handlers, self._handlers = list(self._handlers.values()), {}
        for guarded_handler in handlers:
            guarded_handler.handler.close()

    def __enter__(self) -> ResourceHandlers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _build(cls: type[ResourceHandler], connection: Connection) -> ResourceHandler:
    try:
        with _classified(f"[{connection.label}] building the handler", connection.type_name,
                         connection):
            return cls(connection)
    except ResourceError as error:
        raise HandlerUnavailable(error.message, hint=error.hint) from None


def _check_count(handler: ResourceHandler, operation: str, items: Sequence[Any],
                 most: int) -> None:
    if not 1 <= len(items) <= most:
        raise ValueError(f"[{handler.label}] {operation} takes 1 to {most} items a call, "
                         f"not {len(items)}")


def _checked_answers(handler: ResourceHandler, operation: str, items: Sequence[Any],
                     answers: Sequence[Any]) -> list[Any]:
    """A batch call's answers, one per item: another count, or a create answered with neither
    an instance nor an error, is a plugin bug."""
    if len(answers) != len(items):
        raise PermanentError(f"[{handler.label}] {operation} gave {len(answers)} answers for "
                             f"{len(items)} items: a bug in the {handler.type_name} plugin")
    if operation == "get_states":
        wrong = next((answer for answer in answers if not isinstance(answer, ResourceStatus)),
                     None)
        if wrong is not None:
            raise PermanentError(f"[{handler.label}] get_states answered "
                                 f"{type(wrong).__name__}, not a ResourceStatus: a bug in the "
                                 f"{handler.type_name} plugin")
        return list(answers)
    return [answer if isinstance(answer, (Instance, ResourceError)) else PermanentError(
                f"[{handler.label}] create_nodes answered {type(answer).__name__} for node "
                f"{node.node_id}, neither an instance nor a ResourceError: a bug in the "
                f"{handler.type_name} plugin")
            for node, answer in zip(items, answers)]


@contextmanager
def _classified(what: str, type_name: str, connection: Connection) -> Iterator[None]:
    """`ResourceError`s with the connection's secrets hidden; anything else reported as a plugin
    bug, secrets hidden too. Plugins hide what they know of (a node's environment), but one
    place sees everything a plugin raises: a password in a URL it quotes is hidden here."""
    def secrets() -> set[str]:
        return secret_values({"auth_data": connection.credentials, **connection.settings})
    try:
        yield
    except ResourceError as error:
        hidden = secrets()
        error.message = hide(error.message, hidden)
        error.args = (error.message,)
        if error.hint:
            error.hint = hide(error.hint, hidden)
        raise
    except Exception as error:
        hidden = secrets()
        said = error.message if isinstance(error, OccoError) else str(error)
        message = hide(f"{what} failed unexpectedly: {type(error).__name__}: {said}", hidden)
        log.warning("%s\n%s", message, hide("".join(traceback.format_exception(error)), hidden))
        hint = error.hint if isinstance(error, OccoError) and error.hint else (
            f"this is a bug in the {type_name} plugin; its traceback is in the log")
        raise PermanentError(message, hint=hint) from None
