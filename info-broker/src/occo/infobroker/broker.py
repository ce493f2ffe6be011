"""The info broker: one place to ask about infrastructures and nodes by key.

A provider is an `InfoProvider` whose methods are marked with
`@provides("node.definition")`; an `InfoRouter` is built from the providers
it is given (no global registry) and sends each query to the one provider
that declares its key. A provider may declare that an answer stays good for
`ttl` seconds: the router then keeps it, per key and arguments, instead of
asking again (the original asked the backend or the cloud every time).

Components add their providers through the entry-point group
`occo.info_providers`; `load_providers` builds them all with the
dependencies they ask for by name.
"""
from __future__ import annotations

import copy
import difflib
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, TypeVar

from occo.util.errors import OccoError
from occo.util.redact import redact

log = logging.getLogger("occo.infobroker")

ENTRY_POINT_GROUP = "occo.info_providers"
_MARK = "__occo_provides__"

F = TypeVar("F", bound=Callable[..., Any])


class InfoKeyError(OccoError):
    """A query names a key that no provider answers."""


class InfoArgumentError(OccoError):
    """A query's arguments do not fit the provider's method."""


class ProviderError(OccoError):
    """Providers cannot be put together: a key declared twice, a provider that cannot be built."""


@dataclass(frozen=True)
class Provision:
    """What a marked method answers, and how long its answer may be reused."""

    key: str
    ttl: float | None = None


def provides(key: str, *, ttl: float | None = None) -> Callable[[F], F]:
    """Mark a provider method as the answer to `key`.

    `ttl` (seconds) lets the router reuse an answer for the same arguments;
    declare it only where a slightly old answer is harmless.
    """
    if ttl is not None and ttl <= 0:
        raise ValueError(f"ttl of {key!r} must be positive, not {ttl!r}")

    def mark(method: F) -> F:
        setattr(method, _MARK, Provision(key, ttl))
        return method
    return mark


class InfoProvider:
    """Base of the classes that answer queries; see `provides`."""

    @classmethod
    def provisions(cls) -> dict[str, tuple[str, Provision]]:
        """{key: (method name, provision)}; a method overridden in a subclass replaces its parent's."""
        by_method: dict[str, Provision] = {}
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                mark = getattr(member, _MARK, None)
                if isinstance(mark, Provision):
                    by_method[name] = mark
                else:
                    by_method.pop(name, None)
        table: dict[str, tuple[str, Provision]] = {}
        for name, mark in by_method.items():
            if mark.key in table:
                raise ProviderError(f"{cls.__name__} declares {mark.key!r} twice: in "
                                    f"{table[mark.key][0]}() and {name}()")
            table[mark.key] = (name, mark)
        return table


@dataclass(frozen=True)
class _Route:
    provider: InfoProvider
    method: Callable[..., Any]
    signature: inspect.Signature
    ttl: float | None


class InfoRouter:
    """Sends each query to the provider that declares its key, reusing answers within their ttl.

    Thread-safe: the answer cache is guarded by a lock. Two threads missing the
    same entry at once may both ask the provider; the later answer is kept.
    """

    def __init__(self, providers: Iterable[InfoProvider], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._routes: dict[str, _Route] = {}
        for provider in providers:
            for key, (name, mark) in type(provider).provisions().items():
                if key in self._routes:
                    raise ProviderError(
                        f"{key!r} is provided by both {type(self._routes[key].provider).__name__} "
                        f"and {type(provider).__name__}",
                        hint="each key must have exactly one provider")
                method = getattr(provider, name)
                self._routes[key] = _Route(provider, method, inspect.signature(method), mark.ttl)
        self._clock = clock
        self._cache: dict[tuple, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def keys(self) -> list[str]:
        """Every key this router answers, sorted."""
        return sorted(self._routes)

    def get(self, key: str, /, *args: Any, **kwargs: Any) -> Any:
        """The answer to `key` for these arguments.

        Positional arguments are taken by the provider's parameter names, as the
        original's `get(key, *args, **kwargs)` took them (`ibget` in templates).
        """
        route = self._route(key)
        try:
            if args:
                kwargs = _by_name(route.signature, args, kwargs)
            route.signature.bind(**kwargs)
        except TypeError as error:
            raise InfoArgumentError(f"query {key!r}: {error}",
                                    hint=f"it takes {route.signature}") from None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("query %s %s", key, redact(kwargs))
        if route.ttl is None:
            return route.method(**kwargs)
        cache_key = _cache_key(key, kwargs)
        if cache_key is None:        # an argument cannot be compared: ask every time
            return route.method(**kwargs)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached is not None and cached[0] > now:
            return copy.deepcopy(cached[1])
        answer = route.method(**kwargs)
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[cache_key] = (now + route.ttl, copy.deepcopy(answer))
        return answer

    def invalidate(self, key: str | None = None) -> None:
        """Forget kept answers (of one key, or all), e.g. after the state they describe changed."""
        with self._lock:
            if key is None:
                self._cache.clear()
            else:
                self._cache = {k: v for k, v in self._cache.items() if k[0] != key}

    def _route(self, key: str) -> _Route:
        try:
            return self._routes[key]
        except KeyError:
            close = difflib.get_close_matches(key, self._routes, n=3, cutoff=0.6)
            hint = (f"did you mean: {', '.join(close)}?" if close
                    else f"known keys: {', '.join(self.keys()) or 'none'}")
            raise InfoKeyError(f"no provider answers {key!r}", hint=hint) from None


def _by_name(signature: inspect.Signature, args: tuple[Any, ...],
             kwargs: dict[str, Any]) -> dict[str, Any]:
    """`args` given to the parameters they fill, joined with `kwargs`; `TypeError` when they
    do not fit (too many, a parameter given twice, one that takes no single value)."""
    named = signature.bind_partial(*args).arguments
    for name in named:
        kind = signature.parameters[name].kind
        if kind not in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            raise TypeError(f"{name!r} cannot be given by position")
        if name in kwargs:
            raise TypeError(f"multiple values for argument {name!r}")
    return {**named, **kwargs}


def _cache_key(key: str, kwargs: dict[str, Any]) -> tuple | None:
    try:
        return key, _frozen(kwargs)
    except TypeError:
        return None


def _frozen(value: Any) -> Any:
    """A hashable stand-in for a query argument; `TypeError` if there is none."""
    if isinstance(value, dict):
        return dict, frozenset((name, _frozen(item)) for name, item in value.items())
    if isinstance(value, (list, tuple)):
        return list, tuple(_frozen(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return set, frozenset(_frozen(item) for item in value)
    hash(value)
    return type(value), value


def load_providers(**dependencies: Any) -> list[InfoProvider]:
    """Build every provider registered under the `occo.info_providers` entry points.

    Each provider class gets, by name, the constructor arguments it asks for
    among `dependencies` (e.g. `store`, `auth_data`). A provider that needs a
    dependency not given is an error: a command with fewer dependencies builds
    the providers it needs itself.
    """
    entries = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda entry: entry.name)
    return [_build(entry, dependencies) for entry in entries]


def _build(entry: EntryPoint, dependencies: dict[str, Any]) -> InfoProvider:
    what = f"info provider {entry.name!r} ({entry.value})"
    try:
        cls = entry.load()
    except Exception as error:    # importing another package's module may fail in any way
        raise ProviderError(f"{what} cannot be loaded: {error}",
                            hint="reinstall the package that registers it") from error
    if not (isinstance(cls, type) and issubclass(cls, InfoProvider)):
        raise ProviderError(f"{what} is not an InfoProvider class")
    parameters = inspect.signature(cls).parameters.values()
    missing = [p.name for p in parameters
               if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               and p.name not in dependencies]
    if missing:
        raise ProviderError(f"{what} needs {', '.join(missing)}",
                            hint=f"pass {', '.join(missing)} to load_providers")
    wanted = {p.name: dependencies[p.name] for p in parameters if p.name in dependencies}
    return cls(**wanted)
