"""The embedded state store: one SQLite file that every occopus command of the machine shares.

WAL lets readers go on while a writer commits, `busy_timeout` makes a writer
wait for another instead of failing, and each write is one `BEGIN IMMEDIATE`
transaction, so the checks that guard it (fencing token, infrastructure exists,
lease holder) and the write itself cannot be split by another process. The
writers of one process queue on a lock of the file before that: SQLite's own
wait polls with sleeps of up to 100 ms, so many threads of a service writing
at once (scale requests) waited far longer than the writes took.
Every row carries its namespace, `<prefix><user>@`, in the `ns` column.

Tables are created IF NOT EXISTS on every open, so a file an older Occopus
made gets those added since. The attached and destroying sets, notification
settings, delivery cursors, event counts and service members came with no new
schema version: an older Occopus
of this one ignores their tables, and could misread nothing in them.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from occo.util.private import PrivacyError, make_private, open_private, private_folder

from . import leases
from .backend import (already_exists, event_window, failure, member_expiry, namespace, not_found,
                      translate_errors)
from .base import (DEFAULT_LEASE_TTL, SCHEMA_VERSION, Delivered, Event, Lease, LeaseOwner,
                   PendingScaling, QueueLimit, ScalingKind, ScalingQueueFull, Store, StoreError)
from .codec import (check_version, decode, decode_event, decode_lease, encode, encode_record,
                    restamped)
from .pending import consumed, decode_pending, encode_pending, fold_legacy, queued

TABLES = (
    "node_definitions (ns TEXT, node_type TEXT, doc TEXT, PRIMARY KEY (ns, node_type))",
    "infrastructures (ns TEXT, infra_id TEXT, doc TEXT, PRIMARY KEY (ns, infra_id))",
    "instances (ns TEXT, infra_id TEXT, node_name TEXT, node_id TEXT, doc TEXT,"
    " PRIMARY KEY (ns, infra_id, node_name, node_id))",
    "failed_instances (ns TEXT, infra_id TEXT, node_id TEXT, doc TEXT,"
    " PRIMARY KEY (ns, infra_id, node_id))",
    "target_counts (ns TEXT, infra_id TEXT, node_name TEXT, count INTEGER,"
    " PRIMARY KEY (ns, infra_id, node_name))",
    "scaling_pending (ns TEXT, infra_id TEXT, node_name TEXT, doc TEXT,"
    " PRIMARY KEY (ns, infra_id, node_name))",
    # The old shape, one row per request: rows an older Occopus wrote are folded into
    # scaling_pending when their node's queue is next written.
    "scaling_requests (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT, infra_id TEXT,"
    " node_name TEXT, request_id TEXT, doc TEXT)",
    "failing_since (ns TEXT, infra_id TEXT, node_id TEXT, since REAL,"
    " PRIMARY KEY (ns, infra_id, node_id))",
    "events (seq INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT, infra_id TEXT, doc TEXT)",
    # How many events each log was given, counted to trim it once per stride (the seqs are
    # shared by every log, so they cannot count one).
    "event_counts (ns TEXT, infra_id TEXT, appended INTEGER, PRIMARY KEY (ns, infra_id))",
    "leases (ns TEXT, infra_id TEXT, doc TEXT, PRIMARY KEY (ns, infra_id))",
    # The newest fencing token granted: kept when the infrastructure is removed, so
    # a token issued before can never pass again if the id is reused.
    "fences (ns TEXT, infra_id TEXT, newest INTEGER, PRIMARY KEY (ns, infra_id))",
    "attached (ns TEXT, infra_id TEXT, PRIMARY KEY (ns, infra_id))",
    "destroying (ns TEXT, infra_id TEXT, PRIMARY KEY (ns, infra_id))",
    "notifications (ns TEXT, infra_id TEXT, doc TEXT, PRIMARY KEY (ns, infra_id))",
    "deliveries (ns TEXT, infra_id TEXT, target TEXT, seq INTEGER, PRIMARY KEY (ns, infra_id))",
    "members (ns TEXT, member TEXT, expires_at REAL, PRIMARY KEY (ns, member))",
)
INDEXES = (
    "scaling_by_node ON scaling_requests (ns, infra_id, node_name, seq)",
    "events_by_infra ON events (ns, infra_id, seq)",
)
_SCHEMA_NAMES = frozenset(definition.split(" ", 1)[0] for definition in TABLES + INDEXES)
# What remove_infrastructure clears: every table with an infra_id but `fences`.
PER_INFRASTRUCTURE = ("infrastructures", "instances", "failed_instances", "target_counts",
                      "scaling_pending", "scaling_requests", "failing_since", "events",
                      "event_counts", "leases", "attached", "destroying", "notifications",
                      "deliveries")
# What a new infrastructure must not inherit from an earlier one of its id that an older
# Occopus removed, knowing nothing of these tables.
NEWER_PER_INFRASTRUCTURE = ("attached", "destroying", "notifications", "event_counts",
                            "deliveries")

# Each write is one transaction: one that fails is rolled back whole.
HINTS = {
    "SQLITE_FULL": "the disk holding the file is full: free some space and run the command "
                   "again (the write was rolled back whole: nothing is half-written)",
    "SQLITE_READONLY": "the file or its folder is read-only for this user (or on a read-only "
                       "mount): check their owner and permissions",
    "SQLITE_CANTOPEN": "check that the file and its folder exist and that this user may read "
                       "and write them",
    "SQLITE_IOERR": "the disk failed to read or write the file: check the disk and its space",
    "SQLITE_NOTADB": "the file is not an SQLite database: point the store at an Occopus state "
                     "store",
    "SQLITE_CORRUPT": "the file is damaged: restore it from a backup",
}
HINT = "check that the file is an Occopus state store and that its disk works"
# the files SQLite keeps beside the store in WAL mode: private like the store
COMPANIONS = ("-wal", "-shm", "-journal")
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
_CHECKING = threading.Lock()
_OPEN: dict[tuple[int, int] | None, int] = {}   # (device, inode) -> this process's connections
_WRITERS: dict[tuple[int, int], threading.RLock] = {}     # (device, inode) -> its writers' lock


def _writer_lock(identity: tuple[int, int] | None) -> threading.RLock:
    """The lock this process's writers of the file `identity` queue on (reentrant: a thread
    holding it may still write through another connection, and wait as SQLite waits)."""
    if identity is None:
        return threading.RLock()
    with _CHECKING:
        return _WRITERS.setdefault(identity, threading.RLock())


def _release(identity: tuple[int, int] | None) -> None:
    """A connection to the file `identity` closed (see `SqliteStore._make_private`)."""
    if identity is None:
        return
    with _CHECKING:
        left = _OPEN.get(identity, 0) - 1
        if left > 0:
            _OPEN[identity] = left
        else:
            _OPEN.pop(identity, None)


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file `path` is now, read without opening it; None when there is none."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def hint_for(error: BaseException) -> str:
    """The hint of an SQLite error, by its primary code (SQLITE_READONLY_DBMOVED -> READONLY)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    for prefix, hint in HINTS.items():
        if name.startswith(prefix):
            return hint
    return HINT


def read_only(path: Path) -> bool:
    """Whether `path` is a store this user can read but not write (mode or mount)."""
    try:
        return path.is_file() and (not os.access(path, os.W_OK)
                                   or bool(os.statvfs(path).f_flag & os.ST_RDONLY))
    except OSError:
        return False


@translate_errors(sqlite3.Error, hint=hint_for)
class SqliteStore(Store):
    """The store in the SQLite file at `path` (parent folders are created).

    One instance is one connection: give each thread its own.
    """

    def __init__(self, path: str | os.PathLike[str], user: str, prefix: str = "",
                 busy_timeout: float = 30.0) -> None:
        self._ns = namespace(prefix, user)
        self.path = Path(path).expanduser()
        self.location = f"state store {self.path}"
        self._held: tuple[int, int] | None = None
        self._busy_timeout = busy_timeout
        try:
            self._held = self._make_private()
            self._writer = _writer_lock(self._held)
            self._db = sqlite3.connect(self.path, isolation_level=None)
        except PrivacyError as error:
            raise StoreError(f"cannot open the {self.location}: {error.message}",
                             hint=error.hint) from None
        except (OSError, sqlite3.Error) as error:
            _release(self._held)
            raise failure(f"cannot open the {self.location}", error,
                          hint="check that its folder can be created and written") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._set_up(time.monotonic() + busy_timeout)
        except BaseException as error:
            self.close()
            if isinstance(error, sqlite3.Error):
                raise failure(f"cannot open the {self.location}", error,
                              hint=HINTS["SQLITE_READONLY"] if read_only(self.path)
                              else hint_for(error)) from None
            raise

    def _make_private(self) -> tuple[int, int] | None:
        """The file 0600 in a 0700 folder, whatever the umask: SQLite gives its -wal and -shm
        files the mode of the store's file, so they are private too. A read-only store is
        left as it is: it can still be read, and a write to it fails with a read-only hint.

        Checking a file opens and closes a descriptor of it, and closing any descriptor of
        a file drops every POSIX lock the process holds on it, SQLite's own included (a
        connection of another thread would lose its lock, and another process could then
        write under it: a corrupt database). So a file is checked only while no
        connection of this process has it open; the connections are counted (returned:
        the file this connection holds, which `close` gives back). A connection never
        closed (collected in an ended thread) keeps its count, which only turns the check
        off for that file in this process: the safe direction.
        """
        if str(self.path) == ":memory:":
            return None          # SQLite's in-memory database: no file
        with _CHECKING:
            if not _OPEN.get(_identity(self.path)):
                try:
                    private_folder(self.path.parent)
                    os.close(open_private(self.path))
                    for suffix in COMPANIONS:
                        make_private(self.path.with_name(self.path.name + suffix))
                except (PrivacyError, OSError):
                    if not read_only(self.path):
                        raise
            identity = _identity(self.path)
            if identity is not None:
                _OPEN[identity] = _OPEN.get(identity, 0) + 1
            return identity

    def _set_up(self, deadline: float) -> None:
        """WAL mode and the tables. Turning a new file to WAL takes a lock that SQLite's
        busy timeout does not wait for: connections opening a new store at once (the
        threads of a service) are told "locked", so that step is tried again until
        `deadline` (monotonic)."""
        while True:
            try:
                self._db.execute("PRAGMA journal_mode = WAL")
                break
            except sqlite3.OperationalError as error:
                # the extended code (SQLITE_BUSY_RECOVERY, ...): its low byte is the primary
                if (error.sqlite_errorcode & 0xFF) not in _BUSY or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)
        # A commit survives the process's crash at once, and the machine's after the
        # next checkpoint: a power cut may take the last writes back, never corrupt
        # the file. That is enough here, as every cloud resource carries its
        # infrastructure's tag and recovery drops those no record owns; a sync per
        # commit (FULL) cost most of a large build's time.
        self._db.execute("PRAGMA synchronous = NORMAL")
        if not self._up_to_date():
            self._create_tables()

    def _up_to_date(self) -> bool:
        """Whether the file is at this schema version with every table and index: then it
        is opened without a write transaction (one cost ~15 ms, queued behind writers)."""
        if self._db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            return False
        present = {row[0] for row in self._db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")}
        return _SCHEMA_NAMES <= present

    def close(self) -> None:
        self._db.close()     # refused from another thread: then still open, and still held
        held, self._held = self._held, None
        _release(held)

    # --- plumbing ---------------------------------------------------------
    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction, holding the file's write lock from its first statement
        (after this process's other writers: see the module's doc)."""
        if not self._writer.acquire(timeout=self._busy_timeout):
            raise sqlite3.OperationalError("database is locked")   # as SQLite would say it
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        finally:
            self._writer.release()

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[None]:
        """One read transaction: its reads see one moment, and take no lock a writer waits
        for (WAL)."""
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    @contextlib.contextmanager
    def _guarded(self, infra_id: str, fence: int | None, *, must_exist: bool) -> Iterator[bool]:
        """A transaction that first checks the fencing token; yields if the infrastructure
        exists."""
        with self._transaction():
            leases.check_fence(infra_id, fence, self._newest(infra_id))
            exists = self._exists(infra_id)
            if must_exist and not exists:
                raise not_found(infra_id)
            yield exists

    def _exists(self, infra_id: str) -> bool:
        return self._value("SELECT 1 FROM infrastructures WHERE ns = ? AND infra_id = ?",
                           infra_id) is not None

    def _sql(self, sql: str, *params: Any) -> sqlite3.Cursor:
        """Run `sql` in this namespace: its first parameter is always `ns`."""
        return self._db.execute(sql, (self._ns, *params))

    def _value(self, sql: str, *params: Any) -> Any:
        row = self._sql(sql, *params).fetchone()
        return None if row is None else row[0]

    def _create_tables(self) -> None:
        """Make the tables, or bring those of an older schema to this one (a newer one is
        refused): old-shaped scaling rows are folded when their node's queue is next written,
        and descriptions are written again at this version, as every backend does."""
        with self._transaction():
            # The file's user_version is the schema version of its table layout.
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            check_version(version, str(self.path))
            for table in TABLES:
                self._db.execute(f"CREATE TABLE IF NOT EXISTS {table}")
            for index in INDEXES:
                self._db.execute(f"CREATE INDEX IF NOT EXISTS {index}")
            if version < SCHEMA_VERSION:
                rows = self._db.execute("SELECT rowid, doc FROM infrastructures").fetchall()
                self._db.executemany("UPDATE infrastructures SET doc = ? WHERE rowid = ?",
                                     [(newer, rowid) for rowid, doc in rows
                                      for newer in (restamped(doc),) if newer is not None])
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _newest(self, infra_id: str) -> int:
        return self._value("SELECT newest FROM fences WHERE ns = ? AND infra_id = ?", infra_id) or 0

    def _lease(self, infra_id: str) -> Lease | None:
        doc = self._value("SELECT doc FROM leases WHERE ns = ? AND infra_id = ?", infra_id)
        return None if doc is None else decode_lease(doc)

    # --- node definitions -------------------------------------------------
    def put_node_definitions(self, definitions: dict[str, list[dict]]) -> None:
        with self._transaction():
            for node_type, implementations in definitions.items():
                self._sql("INSERT OR REPLACE INTO node_definitions VALUES (?, ?, ?)",
                          node_type, encode(implementations))

    def get_node_definition(self, node_type: str) -> list[dict] | None:
        doc = self._value("SELECT doc FROM node_definitions WHERE ns = ? AND node_type = ?",
                          node_type)
        return None if doc is None else decode(doc)

    def list_node_types(self) -> list[str]:
        return [row[0] for row in self._sql(
            "SELECT node_type FROM node_definitions WHERE ns = ? ORDER BY node_type")]

    # --- infrastructures --------------------------------------------------
    def add_infrastructure(self, infra_id: str, description: dict) -> None:
        try:
            with self._transaction():
                self._sql("INSERT INTO infrastructures VALUES (?, ?, ?)", infra_id,
                          encode(description))
                for table in NEWER_PER_INFRASTRUCTURE:
                    self._sql(f"DELETE FROM {table} WHERE ns = ? AND infra_id = ?", infra_id)
        except sqlite3.IntegrityError:
            raise already_exists(infra_id) from None

    def update_infrastructure(self, infra_id: str, description: dict,
                              fence: int | None = None) -> None:
        with self._guarded(infra_id, fence, must_exist=True):
            self._sql("INSERT OR REPLACE INTO infrastructures VALUES (?, ?, ?)",
                      infra_id, encode(description))

    def get_infrastructure(self, infra_id: str) -> dict:
        doc = self._value("SELECT doc FROM infrastructures WHERE ns = ? AND infra_id = ?", infra_id)
        if doc is None:
            raise not_found(infra_id)
        return decode(doc)

    def list_infrastructures(self) -> list[str]:
        return [row[0] for row in self._sql(
            "SELECT infra_id FROM infrastructures WHERE ns = ? ORDER BY infra_id")]

    def remove_infrastructure(self, infra_id: str, fence: int | None = None) -> None:
        """Remove it and all its data; its fencing counter stays, so old tokens stay stale."""
        with self._guarded(infra_id, fence, must_exist=False) as exists:
            if exists:
                for table in PER_INFRASTRUCTURE:
                    self._sql(f"DELETE FROM {table} WHERE ns = ? AND infra_id = ?", infra_id)

    # --- node instances ---------------------------------------------------
    def put_instance(self, infra_id: str, node_name: str, node_id: str, data: dict,
                     fence: int | None = None) -> None:
        self.put_instances(infra_id, [(node_name, node_id, data)], fence=fence)

    def put_instances(self, infra_id: str, records: Sequence[tuple[str, str, dict]],
                      fence: int | None = None) -> None:
        with self._guarded(infra_id, fence, must_exist=True):
            self._db.executemany("INSERT OR REPLACE INTO instances VALUES (?, ?, ?, ?, ?)",
                                 [(self._ns, infra_id, node_name, node_id, encode(data))
                                  for node_name, node_id, data in records])

    def get_instances(self, infra_id: str) -> dict[str, dict[str, dict]]:
        instances: dict[str, dict[str, dict]] = {}
        for node_name, node_id, doc in self._sql(
                "SELECT node_name, node_id, doc FROM instances WHERE ns = ? AND infra_id = ?",
                infra_id):
            instances.setdefault(node_name, {})[node_id] = decode(doc)
        return instances

    def remove_instance(self, infra_id: str, node_name: str, node_id: str,
                        fence: int | None = None) -> None:
        with self._guarded(infra_id, fence, must_exist=False):
            self._sql("DELETE FROM instances WHERE ns = ? AND infra_id = ? AND node_name = ?"
                      " AND node_id = ?", infra_id, node_name, node_id)

    def archive_failed(self, infra_id: str, node_id: str, data: dict,
                       fence: int | None = None) -> None:
        with self._guarded(infra_id, fence, must_exist=True):
            self._sql("INSERT OR REPLACE INTO failed_instances VALUES (?, ?, ?, ?)",
                      infra_id, node_id, encode(data))

    def failed_instances(self, infra_id: str) -> dict[str, dict]:
        return {node_id: decode(doc) for node_id, doc in self._sql(
            "SELECT node_id, doc FROM failed_instances WHERE ns = ? AND infra_id = ?", infra_id)}

    # --- scaling ----------------------------------------------------------
    def set_target_count(self, infra_id: str, node_name: str, count: int,
                         fence: int | None = None) -> None:
        with self._guarded(infra_id, fence, must_exist=True):
            self._sql("INSERT OR REPLACE INTO target_counts VALUES (?, ?, ?, ?)",
                      infra_id, node_name, count)

    def get_target_count(self, infra_id: str, node_name: str) -> int | None:
        return self._value("SELECT count FROM target_counts WHERE ns = ? AND infra_id = ?"
                           " AND node_name = ?", infra_id, node_name)

    def queue_scaling(self, infra_id: str, node_name: str, kind: ScalingKind, *,
                      count: int = 1, value: str | None = None,
                      limit: int | QueueLimit) -> PendingScaling:
        def decide() -> PendingScaling:
            return queued(self._pending(infra_id, node_name), kind, count, value, limit,
                          self.get_target_count(infra_id, node_name))
        # a request the queue cannot take is refused from a read, without the write lock: a
        # burst of requests beyond the limits then never waits for a pass's writes (only one
        # that may fit takes the lock, and is decided again under it)
        with self._snapshot():
            try:
                decide()
            except ScalingQueueFull:
                if not self._exists(infra_id):
                    raise not_found(infra_id) from None
                raise
        with self._guarded(infra_id, None, must_exist=True):
            pending = decide()
            self._write_pending(infra_id, node_name, pending)
        return pending

    def pending_scaling(self, infra_id: str, node_name: str) -> PendingScaling:
        return self._pending(infra_id, node_name)

    def consume_scaling(self, infra_id: str, node_name: str, handled: PendingScaling,
                        fence: int | None = None) -> None:
        with self._guarded(infra_id, fence, must_exist=False) as exists:
            if exists:
                self._write_pending(infra_id, node_name,
                                    consumed(self._pending(infra_id, node_name), handled))

    def _pending(self, infra_id: str, node_name: str) -> PendingScaling:
        """The node's record with its old-shaped rows counted in (one aggregate, however many)."""
        doc = self._value("SELECT doc FROM scaling_pending WHERE ns = ? AND infra_id = ?"
                          " AND node_name = ?", infra_id, node_name)
        legacy = self._sql(
            "SELECT json_extract(doc, '$.data.kind') AS kind, json_extract(doc, '$.data.value')"
            " AS value, count(*), min(seq) AS first FROM scaling_requests WHERE ns = ?"
            " AND infra_id = ? AND node_name = ? GROUP BY kind, value ORDER BY first",
            infra_id, node_name).fetchall()
        return fold_legacy(decode_pending(doc), [row[:3] for row in legacy])

    def _write_pending(self, infra_id: str, node_name: str, pending: PendingScaling) -> None:
        self._sql("DELETE FROM scaling_requests WHERE ns = ? AND infra_id = ? AND node_name = ?",
                  infra_id, node_name)
        if pending:
            self._sql("INSERT OR REPLACE INTO scaling_pending VALUES (?, ?, ?, ?)",
                      infra_id, node_name, encode_pending(pending))
        else:
            self._sql("DELETE FROM scaling_pending WHERE ns = ? AND infra_id = ?"
                      " AND node_name = ?", infra_id, node_name)

    # --- health -----------------------------------------------------------
    def failing_period(self, infra_id: str, node_id: str, failing: bool, now: float) -> float:
        """Seconds since the earliest failure reported in this failing streak (never negative)."""
        if not failing and self._value(
                "SELECT 1 FROM failing_since WHERE ns = ? AND infra_id = ? AND node_id = ?",
                infra_id, node_id) is None:
            # nothing to clear, the usual case: a read, not a write transaction
            if not self._exists(infra_id):
                raise not_found(infra_id)
            return 0.0
        with self._guarded(infra_id, None, must_exist=True):
            if not failing:
                self._sql("DELETE FROM failing_since WHERE ns = ? AND infra_id = ? AND node_id = ?",
                          infra_id, node_id)
                return 0.0
            self._sql("INSERT INTO failing_since VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE"
                      " SET since = min(since, excluded.since)", infra_id, node_id, now)
            since = self._value("SELECT since FROM failing_since WHERE ns = ? AND infra_id = ?"
                                " AND node_id = ?", infra_id, node_id)
        return max(0.0, now - since)

    # --- events -----------------------------------------------------------
    def append_event(self, event: Event) -> None:
        self.append_events([event])

    def append_events(self, events: Sequence[Event]) -> None:
        added = Counter(event.infra_id for event in events)
        with self._transaction():
            for infra_id in added:
                if not self._exists(infra_id):
                    raise not_found(infra_id)
            self._db.executemany("INSERT INTO events (ns, infra_id, doc) VALUES (?, ?, ?)",
                                 [(self._ns, event.infra_id, encode_record(event))
                                  for event in events])
            for infra_id, count in added.items():
                self._trim_events(infra_id, count)

    def _trim_events(self, infra_id: str, added: int) -> None:
        """Count the events just added to the log; each time the count passes a multiple of
        the stride, drop all but the newest `events_kept` (one walk of the log's index)."""
        appended = self._sql(
            "INSERT INTO event_counts VALUES (?, ?, ?) ON CONFLICT DO UPDATE"
            " SET appended = appended + excluded.appended RETURNING appended",
            infra_id, added).fetchall()[0][0]
        stride = self.event_trim_stride
        if appended // stride != (appended - added) // stride:
            self._sql("DELETE FROM events WHERE ns = ?1 AND infra_id = ?2 AND seq < ("
                      "SELECT seq FROM events WHERE ns = ?1 AND infra_id = ?2"
                      " ORDER BY seq DESC LIMIT 1 OFFSET ?3)", infra_id, self.events_kept - 1)

    def events(self, infra_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """The cursor is the row's seq: AUTOINCREMENT never gives one twice in the file, so
        an old cursor cannot skip events of a new infrastructure of the same id."""
        after, limit = event_window(after, limit)
        return [decode_event(doc, seq) for seq, doc in self._sql(
            "SELECT seq, doc FROM events WHERE ns = ? AND infra_id = ? AND seq > ?"
            " ORDER BY seq LIMIT ?", infra_id, after, -1 if limit is None else limit)]

    def last_event_seq(self, infra_id: str) -> int:
        """MAX(seq) from the end of the events_by_infra index: one lookup, however long the log."""
        return self._value("SELECT MAX(seq) FROM events WHERE ns = ? AND infra_id = ?",
                           infra_id) or 0

    # --- the attached set -------------------------------------------------
    def attach(self, infra_id: str) -> bool:
        with self._guarded(infra_id, None, must_exist=True):
            return self._sql("INSERT OR IGNORE INTO attached VALUES (?, ?)",
                             infra_id).rowcount == 1

    def detach(self, infra_id: str) -> bool:
        with self._transaction():
            return self._sql("DELETE FROM attached WHERE ns = ? AND infra_id = ?",
                             infra_id).rowcount == 1

    def attached(self) -> list[str]:
        """Only ids that exist: an older Occopus's removal leaves their rows here."""
        return [row[0] for row in self._sql(
            "SELECT infra_id FROM attached JOIN infrastructures USING (ns, infra_id)"
            " WHERE ns = ? ORDER BY infra_id")]

    # --- the destroying set -----------------------------------------------
    def mark_destroying(self, infra_id: str) -> bool:
        with self._guarded(infra_id, None, must_exist=True):
            return self._sql("INSERT OR IGNORE INTO destroying VALUES (?, ?)",
                             infra_id).rowcount == 1

    def unmark_destroying(self, infra_id: str) -> bool:
        with self._transaction():
            return self._sql("DELETE FROM destroying WHERE ns = ? AND infra_id = ?",
                             infra_id).rowcount == 1

    def destroying(self) -> list[str]:
        """Only ids that exist: an older Occopus's removal leaves their rows here."""
        return [row[0] for row in self._sql(
            "SELECT infra_id FROM destroying JOIN infrastructures USING (ns, infra_id)"
            " WHERE ns = ? ORDER BY infra_id")]

    # --- service members --------------------------------------------------
    def announce(self, member: str, ttl: float, now: float | None = None) -> None:
        """Also prunes the members expired at `now`: each announcement keeps the table small."""
        moment, expires_at = member_expiry(member, ttl, now)
        with self._transaction():
            self._sql("DELETE FROM members WHERE ns = ? AND expires_at <= ?", moment)
            self._sql("INSERT OR REPLACE INTO members VALUES (?, ?, ?)", member, expires_at)

    def members(self, now: float | None = None) -> list[str]:
        return [row[0] for row in self._sql(
            "SELECT member FROM members WHERE ns = ? AND expires_at > ? ORDER BY member",
            leases.clock(now))]

    def withdraw(self, member: str) -> None:
        with self._transaction():
            self._sql("DELETE FROM members WHERE ns = ? AND member = ?", member)

    # --- notification settings --------------------------------------------
    def set_notification(self, infra_id: str, data: dict | None) -> None:
        with self._guarded(infra_id, None, must_exist=True):
            if data is None:
                self._sql("DELETE FROM notifications WHERE ns = ? AND infra_id = ?", infra_id)
            else:
                self._sql("INSERT OR REPLACE INTO notifications VALUES (?, ?, ?)", infra_id,
                          encode(data))

    def start_delivery(self, infra_id: str, delivered: Delivered) -> None:
        with self._guarded(infra_id, None, must_exist=False) as exists:
            if exists:
                self._sql("INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?)",
                          infra_id, delivered.target, delivered.seq)

    def advance_delivery(self, infra_id: str, delivered: Delivered) -> None:
        with self._transaction():
            self._sql("UPDATE deliveries SET seq = ?4 WHERE ns = ?1 AND infra_id = ?2"
                      " AND target = ?3 AND seq < ?4", infra_id, delivered.target, delivered.seq)

    def delivered(self, infra_id: str) -> Delivered | None:
        row = self._sql("SELECT target, seq FROM deliveries WHERE ns = ? AND infra_id = ?",
                        infra_id).fetchone()
        return None if row is None else Delivered(*row)

    def notification(self, infra_id: str) -> dict | None:
        doc = self._value("SELECT doc FROM notifications WHERE ns = ? AND infra_id = ?", infra_id)
        return None if doc is None else decode(doc)

    # --- leases -----------------------------------------------------------
    def acquire_lease(self, infra_id: str, owner: LeaseOwner, ttl: float = DEFAULT_LEASE_TTL,
                      now: float | None = None) -> Lease:
        with self._transaction():
            lease = leases.grant(infra_id, self._lease(infra_id), self._newest(infra_id), owner,
                                 ttl, leases.clock(now))
            self._sql("INSERT OR REPLACE INTO fences VALUES (?, ?, ?)", infra_id, lease.token)
            self._write_lease(lease)
        return lease

    def renew_lease(self, lease: Lease, ttl: float = DEFAULT_LEASE_TTL,
                    now: float | None = None) -> Lease:
        with self._transaction():
            renewed = leases.renewed(lease, self._lease(lease.infra_id), ttl, leases.clock(now))
            self._write_lease(renewed)
        return renewed

    def release_lease(self, lease: Lease) -> None:
        with self._transaction():
            current = self._lease(lease.infra_id)
            if current is not None and current.token == lease.token:
                self._sql("DELETE FROM leases WHERE ns = ? AND infra_id = ?", lease.infra_id)

    def current_lease(self, infra_id: str, now: float | None = None) -> Lease | None:
        lease = self._lease(infra_id)
        return lease if leases.is_live(lease, leases.clock(now)) else None

    def fence_token(self, infra_id: str) -> int:
        return self._newest(infra_id)

    def _write_lease(self, lease: Lease) -> None:
        self._sql("INSERT OR REPLACE INTO leases VALUES (?, ?, ?)", lease.infra_id,
                  encode_record(lease))
