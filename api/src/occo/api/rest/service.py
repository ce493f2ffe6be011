"""What the routes of the REST service share.

A store connection belongs to the thread that opened it (SQLite's rule), and
FastAPI runs plain route functions in a pool of threads: each thread gets its
own connection, opened on first use. `close` closes those it can; an SQLite
connection closes only in its own thread, and is closed when that thread ends.
"""
from __future__ import annotations

import sqlite3
import threading

from occo.infobroker.store import Store
from occo.util.cancel import Cancellation
from occo.util.errors import OccoError
from occo.util.config import Settings

from ..session import Session, connect
from .auth import Tokens
from .daemon import Maintainer


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
        self._opened: list[Store | Session] = []

    def store(self) -> Store:
        """This thread's connection to the store."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = connect(self.settings)
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def session(self) -> Session:
        """This thread's `Session` (engine, resource handlers, ...), for a route that asks the
        clouds (the report of an infrastructure); made on first use, like `store`."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = Session(self.settings)
            self._local.session = session
            with self._lock:
                self._opened.append(session)
        return session

    def close(self) -> None:
        """Close every connection and session the routes opened (after the server stopped
        serving)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for item in opened:
            try:
                item.close()
            except (OccoError, sqlite3.ProgrammingError):  # another thread's SQLite connection:
                pass                                         # see the module doc
