"""The state store (the original's UDS): `open_store` picks a backend from the settings.

Backends are found by entry point (group `occo.stores`), so a package can add
one without changing this one. Importing this package loads no driver.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from occo.util.errors import ConfigurationError
from occo.util.plugins import load_plugin

from .base import (DEFAULT_LEASE_TTL, SCHEMA_VERSION, Delivered, Event, InfrastructureExists,
                   InfrastructureNotFound, Lease, LeaseHeld, LeaseOwner, NamedDestroyRefused,
                   PendingScaling, ScalingQueueFull, StaleFenceError, Store, StoreError)

__all__ = ["DEFAULT_LEASE_TTL", "SCHEMA_VERSION", "Delivered", "Event", "InfrastructureExists",
           "InfrastructureNotFound", "Lease", "LeaseHeld", "LeaseOwner", "NamedDestroyRefused",
           "PendingScaling", "ScalingQueueFull", "StaleFenceError", "Store", "StoreError",
           "open_store"]

DEFAULT_BACKEND = "sqlite"
# Settings a backend gets when the configuration leaves them out.
DEFAULTS: dict[str, dict[str, Any]] = {"sqlite": {"path": "~/.occopus/state.db"}}


def open_store(settings: Mapping[str, Any], user: str) -> Store:
    """The store of `user` that `settings` describe: {"backend": NAME, **constructor settings}.

    Without "backend" it is the embedded SQLite file ~/.occopus/state.db. A
    setting of None counts as not given, so `dataclasses.asdict` of
    `occo.util.config.StoreSettings` can be passed as it is. Unknown backends
    and settings are a `ConfigurationError`; a server that cannot be reached is
    a one-line `StoreError` with no password in it.
    """
    options = {key: value for key, value in settings.items() if value is not None}
    name = options.pop("backend", DEFAULT_BACKEND)
    backend = load_plugin("occo.stores", name, "state store backend")
    options = {**DEFAULTS.get(name, {}), **options}
    accepted = [parameter for parameter in inspect.signature(backend).parameters.values()
                if parameter.name != "user"]
    unknown = sorted(set(options) - {parameter.name for parameter in accepted})
    if unknown:
        raise ConfigurationError(
            f"unknown setting(s) for the {name} store: {', '.join(unknown)}",
            hint=f"it takes: {', '.join(parameter.name for parameter in accepted)}")
    missing = [parameter.name for parameter in accepted
               if parameter.default is inspect.Parameter.empty and parameter.name not in options]
    if missing:
        raise ConfigurationError(f"the {name} store needs the setting(s): {', '.join(missing)}")
    return backend(user=user, **options)

