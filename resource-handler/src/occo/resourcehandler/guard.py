"""The face the engine calls resource handlers through.

`ResourceHandlers(settings).for_resource(resource, auth_data)` gives an
object with the plugin contract's methods. Each call waits for its backend's
limits (`limits.py`) and fails only with `TransientError` or
`PermanentError`: any other exception from a plugin is a bug in it, reported
as permanent with secrets hidden and its traceback logged. Retrying is the
caller's business.

Handlers are kept, one per resource section and credentials, so that a
plugin's connections are reused across calls; `close()` lets them go.
"""
from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from occo.util.config import Settings
from occo.util.errors import OccoError
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.redact import REDACTED, is_secret_key, redact_url

from .base import Instance, PermanentError, ResourceError, ResourceHandler
from .batching import Batcher
from .limits import Limiter, Limits
from .plugins import handler_class

log = logging.getLogger("occo.resourcehandler")

T = TypeVar("T")
SHORTEST_SECRET = 4     # shorter values would garble messages more than they hide


class GuardedHandler:
    """One handler whose calls respect its backend's limits and raise only `ResourceError`."""

    def __init__(self, handler: ResourceHandler, limiter: Limiter) -> None:
        self.handler = handler
        self.limiter = limiter
        self._sent = threading.local()
        # a cloud that tells many states in one call is asked once for the polls made at once
        self._states = (Batcher(self._get_states, handler.states_per_call)
                        if handler.states_per_call > 1 else None)

    @property
    def sent(self) -> float:
        """When this thread's last call here left for the cloud (monotonic), past the wait for
        the backend's limits: what the cloud did began a latency later. Now, if it made none."""
        return getattr(self._sent, "at", time.monotonic())

    @property
    def type_name(self) -> str:
        return self.handler.type_name

    @property
    def backend_key(self) -> str:
        return self.handler.backend_key

    @property
    def label(self) -> str:
        return self.handler.label

    @property
    def creates_per_call(self) -> int:
        """The most nodes `create_nodes` takes."""
        return self.handler.creates_per_call

    @property
    def states_per_call(self) -> int:
        """The most instances `get_states` takes."""
        return self.handler.states_per_call

    def create_node(self, node: ResolvedNode) -> Instance:
        return self._call("create_node", self.handler.create_node, node)

    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        """Up to `creates_per_call` nodes made in one call: each one's instance or error."""
        self._check_count("creates", "nodes", nodes, self.creates_per_call)
        made = self._answers("create_nodes", self.handler.create_nodes, nodes)
        return [answer if isinstance(answer, (Instance, ResourceError)) else PermanentError(
                    f"[{self.label}] create_nodes answered {type(answer).__name__} for node "
                    f"{node.node_id}, neither an instance nor a ResourceError: a bug in the "
                    f"{self.type_name} plugin")
                for node, answer in zip(nodes, made)]

    def drop_node(self, instance: Instance) -> None:
        return self._call("drop_node", self.handler.drop_node, instance)

    def get_state(self, instance: Instance) -> NodeState:
        if self._states is not None:
            return self._states.call(instance)
        return self._call("get_state", self.handler.get_state, instance)

    def get_states(self, instances: Sequence[Instance]) -> list[NodeState]:
        """The states of up to `states_per_call` instances, asked in one call."""
        self._check_count("tells the states of", "instances", instances, self.states_per_call)
        if self.states_per_call == 1:
            return [self._call("get_state", self.handler.get_state, instances[0])]
        return self._get_states(instances)

    def _check_count(self, does: str, what: str, items: Sequence[Any], most: int) -> None:
        if not 1 <= len(items) <= most:
            raise ValueError(f"[{self.label}] {does} 1 to {most} {what} a call, not {len(items)}")

    def _get_states(self, instances: Sequence[Instance]) -> list[NodeState]:
        return self._answers("get_states", self.handler.get_states, instances)

    def _answers(self, operation: str, method: Callable[[Sequence[Any]], list[T]],
                 items: Sequence[Any]) -> list[T]:
        """A merged call's answers, one per item: another count is a plugin bug."""
        answers = self._call(operation, method, items)
        if len(answers) != len(items):
            raise PermanentError(f"[{self.label}] {operation} gave {len(answers)} answers for "
                                 f"{len(items)} items: a bug in the {self.type_name} plugin")
        return answers

    def get_address(self, instance: Instance) -> list[str]:
        return self._call("get_address", self.handler.get_address, instance)

    def get_ip_address(self, instance: Instance) -> str | None:
        return self._call("get_ip_address", self.handler.get_ip_address, instance)

    def list_owned(self, infra_id: str) -> list[Instance]:
        return self._call("list_owned", self.handler.list_owned, infra_id)

    def get_cost(self, instance: Instance) -> float:
        return self._call("get_cost", self.handler.get_cost, instance)

    def _call(self, operation: str, method: Callable[..., T], *args: Any) -> T:
        handler = self.handler
        with self.limiter.slot(), _classified(f"[{handler.label}] {operation}", handler.type_name,
                                              handler.resource, handler.auth_data):
            self._sent.at = time.monotonic()
            return method(*args)


class ResourceHandlers:
    """Builds and keeps the guarded handlers of the resource sections in use; thread-safe."""

    def __init__(self, settings: Settings, *,
                 load: Callable[[str], type[ResourceHandler]] = handler_class) -> None:
        """`load` finds the class of a type: the installed plugins unless a test says otherwise."""
        self._limits = Limits(settings)
        self._load = load
        self._handlers: dict[str, GuardedHandler] = {}
        self._lock = threading.Lock()

    def for_resource(self, resource: Mapping[str, Any],
                     auth_data: Mapping[str, Any] | None = None) -> GuardedHandler:
        """The handler of a resolved `resource` section with the credentials selected for it."""
        key = json.dumps([resource, auth_data], sort_keys=True, default=str)
        with self._lock:
            guarded_handler = self._handlers.get(key)
            if guarded_handler is None:
                handler = _build(self._load(resource["type"]), resource, auth_data)
                guarded_handler = GuardedHandler(
                    handler, self._limits.for_backend(handler.type_name, handler.backend_key))
                self._handlers[key] = guarded_handler
            return guarded_handler

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


def _build(cls: type[ResourceHandler], resource: Mapping[str, Any],
           auth_data: Mapping[str, Any] | None) -> ResourceHandler:
    type_name = resource["type"]
    with _classified(f"[{type_name}] building the handler", type_name, resource, auth_data):
        return cls(resource, auth_data)


@contextmanager
def _classified(what: str, type_name: str, resource: Mapping[str, Any],
                auth_data: Mapping[str, Any] | None) -> Iterator[None]:
    """Let `ResourceError`s through; report anything else as a plugin bug, secrets hidden."""
    try:
        yield
    except ResourceError:
        raise
    except Exception as error:
        secrets = set(_secrets({"auth_data": auth_data, **resource}))
        said = error.message if isinstance(error, OccoError) else str(error)
        message = _scrub(f"{what} failed unexpectedly: {type(error).__name__}: {said}", secrets)
        log.warning("%s\n%s", message, _scrub("".join(traceback.format_exception(error)), secrets))
        hint = error.hint if isinstance(error, OccoError) and error.hint else (
            f"this is a bug in the {type_name} plugin; its traceback is in the log")
        raise PermanentError(message, hint=hint) from None


def _secrets(value: Any, masked: bool = False) -> Iterator[str]:
    """The strings that `redact` would hide in `value`, to hide them in free text too."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _secrets(item, masked or is_secret_key(key))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secrets(item, masked)
    elif masked and isinstance(value, str) and len(value) >= SHORTEST_SECRET:
        yield value


def _scrub(text: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return redact_url(text)
