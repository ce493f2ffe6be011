"""What the routes of the REST service share, and `service_of`, the dependency that gives it.

A store connection belongs to the thread that opened it (SQLite's rule), and
FastAPI runs plain route functions in a pool of threads that anyio retires
once idle and replaces with new ones: each thread gets its own connection
(and `Session`), opened on first use and closed when that thread ends, in
that thread. Nothing else keeps them: a retired thread leaves no open
descriptor behind. `close` (at shutdown) closes those of threads still alive
that it can; an SQLite connection closes only in its own thread, so those
close as their threads end (or with the process).
"""
from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Callable

from fastapi import Request

from occo.infobroker.store import Store
from occo.util.cancel import Cancellation
from occo.util.errors import OccoError
from occo.util.config import Settings

from ..session import Session, connect
from .auth import Tokens
from .daemon import Maintainer

Opened = Store | Session


class _ThreadOpened:
    """What one thread opened. Only that thread's `threading.local` refers to it: the local
    lets go of it when the thread ends, and its finalizer then closes what it holds (in the
    ending thread, the one SQLite accepts)."""

    def __init__(self) -> None:
        self.items: dict[str, Opened] = {}
        finalizer = weakref.finalize(self, _close_all, self.items)
        finalizer.atexit = False        # at exit the process closes them; other threads' anyway

    def get(self, kind: str) -> Opened | None:
        return self.items.get(kind)


def _close_all(items: dict[str, Opened]) -> None:
    """Close each item it can, forgetting it; one that refuses (another thread's SQLite
    connection) is kept, to be closed by its own thread's end."""
    for kind, item in list(items.items()):
        try:
            item.close()
        except (OccoError, sqlite3.ProgrammingError):
            continue
        except Exception:       # a finalizer must not raise: the item is given up
            pass
        items.pop(kind, None)


class RestService:
    """The settings, a store per thread, the maintainer, and `stopping` (set by SIGTERM:
    no new work is accepted)."""

    def __init__(self, settings: Settings, tokens: Tokens, maintainer: Maintainer, *,
                 stopping: Cancellation | None = None) -> None:
        self.settings = settings
        self.tokens = tokens
        self.maintainer = maintainer
        # given when the maintainer was made first, with the same token (`server`)
        self.stopping = stopping or Cancellation()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._holders: weakref.WeakSet[_ThreadOpened] = weakref.WeakSet()

    def store(self) -> Store:
        """This thread's connection to the store."""
        store = self._holder().get("store")
        if store is None:
            store = self._open("store", lambda: connect(self.settings))
        assert isinstance(store, Store)
        return store

    def session(self) -> Session:
        """This thread's `Session` (engine, resource handlers, ...), for a route that asks the
        clouds (the report of an infrastructure); made on first use, like `store`."""
        session = self._holder().get("session")
        if session is None:
            session = self._open("session", lambda: Session(self.settings))
        assert isinstance(session, Session)
        return session

    def _holder(self) -> _ThreadOpened:
        holder = getattr(self._local, "opened", None)
        if holder is None:
            holder = self._local.opened = _ThreadOpened()
            with self._lock:
                self._holders.add(holder)
        return holder

    def _open(self, kind: str, make: Callable[[], Opened]) -> Opened:
        item = make()
        self._holder().items[kind] = item
        return item

    def threads_holding(self) -> int:
        """How many threads hold a connection or a session now (for tests and reports)."""
        with self._lock:
            return sum(1 for holder in list(self._holders) if holder.items)

    def close(self) -> None:
        """Close the connections and sessions of the threads still alive, those that can be
        closed from here (after the server stopped serving); see the module doc."""
        with self._lock:
            holders = list(self._holders)
        for holder in holders:
            _close_all(holder.items)


async def service_of(request: Request) -> RestService:
    """The service the application serves (the one FastAPI dependency every route uses); a
    coroutine, so that FastAPI does not hand it to a worker thread."""
    return request.app.state.service
