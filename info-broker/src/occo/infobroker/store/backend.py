"""What every backend shares: the user namespace, one-line errors, no password in a message."""
from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from occo.util.errors import ConfigurationError
from occo.util.redact import redact_url

from .base import InfrastructureExists, InfrastructureNotFound, Store, StoreError

S = TypeVar("S", bound=Store)


def namespace(prefix: str, user: str) -> str:
    """`<prefix><user>@`, the original's key namespace, refused when it could read as another's.

    A user has no ':' or '@' and a prefix is empty or ends with ':', so the last
    ':' always tells prefix from user: "a:" + "b" can never meet "" + "a:b".
    """
    if not user or set(user) & set(":@"):
        raise ConfigurationError(f"{user!r} cannot name a store namespace",
                                 hint="give the OS user name: not empty, without ':' or '@'")
    if "@" in prefix or (prefix and not prefix.endswith(":")):
        raise ConfigurationError(f"store prefix {prefix!r} is ambiguous",
                                 hint="end the prefix with ':' and leave '@' out, e.g. 'occo:'")
    return f"{prefix}{user}@"


def failure(where: str, error: BaseException, hint: str) -> StoreError:
    """A driver error as one line: its first line only, credentials removed."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return StoreError(f"{where}: {redact_url(lines[0])}", hint=hint)


def translate_errors(*errors: type[BaseException], hint: str) -> Callable[[type[S]], type[S]]:
    """Class decorator: a driver error raised by any `Store` method becomes a `StoreError`.

    The message names the store by the instance's `location` (already redacted).
    """
    def decorate(cls: type[S]) -> type[S]:
        for name in Store.__abstractmethods__:
            setattr(cls, name, _translating(getattr(cls, name), errors, hint))
        return cls
    return decorate


def _translating(method: Callable[..., Any], errors: tuple[type[BaseException], ...],
                 hint: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except errors as error:
            raise failure(self.location, error, hint) from error
    return call


def not_found(infra_id: str) -> InfrastructureNotFound:
    return InfrastructureNotFound(f"no infrastructure {infra_id} in the state store",
                                  hint="check the id that occopus-build printed")


def already_exists(infra_id: str) -> InfrastructureExists:
    return InfrastructureExists(f"infrastructure {infra_id} exists already",
                                hint="choose another id, or destroy that infrastructure first")


def new_request_id() -> str:
    """A scaling request id, unique without asking the store."""
    return uuid.uuid4().hex


def pair(first: str, second: str) -> str:
    """One key for two names, unambiguous whatever characters they hold."""
    return json.dumps([first, second])
