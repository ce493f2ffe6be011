"""The Libcloud driver of one `libcloud` resource: its provider, arguments and credentials.

The auth_data entry gives the credentials: `key` and `secret` are the
driver's first two arguments (a user name or access key and its password or
secret; the Dummy driver takes only `key`), any other entry a keyword
argument (e.g. `ex_tenant_name`, `ex_force_auth_token`). `driver_args` of the
resource section adds the keyword arguments that are no secret (an auth URL, a
project), and `region` is given as `region` when set.

A driver is not made for threads: its connection keeps the request it is
sending and the answer it got in attributes of its own, so two threads on one
driver read each other's answers. `ThreadDrivers` gives each thread that calls
a handler a driver of its own.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from libcloud.compute.base import NodeDriver
from libcloud.compute.drivers.dummy import DummyNodeDriver
from libcloud.compute.providers import get_driver

from ..base import Connection, PermanentError

CREDENTIALS_HINT = ("add an entry for this resource to auth_data.yaml: resource: [{type: "
                    "libcloud, driver: ..., auth_data: {key: ..., secret: ...}}]; other "
                    "driver arguments may be given there too")
POSITIONAL = ("key", "secret")


def driver_class(connection: Connection) -> type[NodeDriver]:
    """The class of the section's `driver`; `PermanentError` for a name Libcloud has not."""
    name = str(connection.settings.get("driver") or "").strip().lower()
    try:
        return get_driver(name)
    except Exception as error:        # unknown, or deprecated and removed from Libcloud
        raise PermanentError(f"[{connection.label}] Libcloud has no compute driver {name!r}: "
                             f"{error}", hint="set driver to a Libcloud compute provider name, "
                                              "e.g. openstack, gce, linode, dummy") from None


def driver_arguments(connection: Connection) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments the driver is made with."""
    credentials, settings = connection.credentials, connection.settings
    positional = [credentials[key] for key in POSITIONAL if credentials.get(key) is not None]
    if credentials.get("secret") is not None and credentials.get("key") is None:
        raise PermanentError(f"[{connection.label}] the credentials selected for this libcloud "
                             "resource have a secret but no key", hint=CREDENTIALS_HINT)
    given = settings.get("driver_args") or {}
    if not isinstance(given, Mapping):
        raise PermanentError(f"[{connection.label}] driver_args must be a mapping",
                             hint="write driver_args as key: value lines")
    keywords = {str(key): value for key, value in given.items()}
    for key, value in credentials.items():
        if key in POSITIONAL or key == "type":
            continue
        if key in keywords:
            raise PermanentError(f"[{connection.label}] the driver argument {key!r} is given "
                                 "both in driver_args and in auth_data",
                                 hint="give it in one place only (a secret in auth_data)")
        keywords[str(key)] = value
    if settings.get("region") not in (None, ""):
        keywords["region"] = str(settings["region"])
    return positional, keywords


def make_driver(connection: Connection) -> NodeDriver:
    """The section's driver, made with its arguments (drivers connect on first use)."""
    cls = driver_class(connection)
    positional, keywords = driver_arguments(connection)
    try:
        return cls(*positional, **keywords)
    except TypeError as error:
        raise PermanentError(f"[{connection.label}] the Libcloud {cls.__name__} will not take "
                             f"these arguments: {error}",
                             hint="check driver_args, region and the auth_data entry against "
                                  "the driver's documentation (key and secret are its first "
                                  "two arguments)") from None


def close_driver(driver: NodeDriver) -> None:
    """Let a driver's HTTP sessions go. Libcloud has no close of its own: the driver's
    connection holds a requests session, and OpenStack's holds one more for Keystone."""
    api = getattr(driver, "connection", None)
    for connection in (api, getattr(api, "_osa", None)):
        session = getattr(getattr(connection, "connection", None), "session", None)
        if isinstance(session, requests.Session):
            session.close()


# drivers that are the cloud themselves (their nodes live in the driver object): one for all
IN_MEMORY: tuple[type[NodeDriver], ...] = (DummyNodeDriver,)


class ThreadDrivers:
    """The drivers of one connection: one per thread that calls the cloud, made on its first
    call, so that the engine's workers call the cloud at once. A driver that is itself the
    cloud (`IN_MEMORY`) is the one driver of every thread, its calls taking turns: a driver
    of each would be a cloud of each."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._local = threading.local()
        self._guard = threading.Lock()
        self._made: list[NodeDriver] = []
        # made now, in the thread building the handler: arguments the driver refuses fail there
        self.first = self._make()
        self._local.driver = self.first
        self._turns = threading.Lock() if isinstance(self.first, IN_MEMORY) else None

    def _make(self) -> NodeDriver:
        driver = make_driver(self._connection)
        with self._guard:
            self._made.append(driver)
        return driver

    @contextmanager
    def using(self) -> Iterator[NodeDriver]:
        """This thread's driver (made now if it has none), for one call of the cloud."""
        if self._turns is not None:
            with self._turns:
                yield self.first
            return
        driver = getattr(self._local, "driver", None)
        if driver is None:
            driver = self._local.driver = self._make()
        yield driver

    def close(self) -> None:
        """Close every thread's driver; a thread that calls again makes a new one."""
        with self._guard:
            made, self._made = self._made, []
        self._local = threading.local()
        for driver in made:
            close_driver(driver)
