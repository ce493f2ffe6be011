"""The SQLite store: the conformance suite, process races on one file, and the file itself."""
from __future__ import annotations

import os
import sqlite3
import tempfile
import unittest
import unittest.mock
from pathlib import Path

from occo.infobroker.store.base import (SCHEMA_VERSION, Event, PendingScaling, ScalingQueueFull,
                                        Store, StoreError)
from occo.infobroker.store.codec import encode
from occo.infobroker.store.sqlite import SqliteStore

from .store_conformance import StoreConformance, old_request
from .store_races import ProcessRaces

# A store of schema 1, its pending scale requests one row each.
STATE_V1 = Path(__file__).parent / "fixtures" / "state_v1.sql"


class SqliteCase(unittest.TestCase):
    """Each test gets a fresh folder; its file is state.db in a folder not yet created."""

    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="occo-sqlite-")
        self.addCleanup(scratch.cleanup)
        self.path = Path(scratch.name) / "dot-occopus" / "state.db"
        super().setUp()

    def make_store(self, user: str, prefix: str) -> Store:
        return SqliteStore(self.path, user, prefix)


class SqliteConformanceTest(StoreConformance, SqliteCase):
    def plant_description(self, infra_id: str, text: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("UPDATE infrastructures SET doc = ? WHERE ns = 'alice@' AND infra_id = ?",
                       (text, infra_id))
        db.close()

    def plant_old_requests(self, infra_id: str,
                           requests: list[tuple[str, str, str | None]]) -> None:
        with sqlite3.connect(self.path) as db:
            for number, (node_name, kind, value) in enumerate(requests):
                db.execute("INSERT INTO scaling_requests (ns, infra_id, node_name, request_id, doc)"
                           " VALUES ('alice@', ?, ?, ?, ?)",
                           (infra_id, node_name, *old_request(number, kind, value)))
        db.close()

    def plant_schema(self, version: int) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute(f"PRAGMA user_version = {int(version)}")
        db.close()

    def stored_description(self, infra_id: str) -> str:
        with sqlite3.connect(self.path) as db:
            doc = db.execute("SELECT doc FROM infrastructures WHERE ns = 'alice@' AND infra_id = ?",
                             (infra_id,)).fetchone()[0]
        db.close()
        return doc

    def plant_removal_leftovers(self, infra_id: str) -> None:
        with sqlite3.connect(self.path) as db:
            db.execute("INSERT INTO attached VALUES ('alice@', ?)", (infra_id,))
            db.execute("INSERT INTO destroying VALUES ('alice@', ?)", (infra_id,))
            db.execute("INSERT INTO notifications VALUES ('alice@', ?, ?)",
                       (infra_id, encode({"stale": True})))
            db.execute("INSERT INTO deliveries VALUES ('alice@', ?, 'stale', 7)", (infra_id,))
        db.close()


class SqliteRacesTest(ProcessRaces, SqliteCase):
    def setUp(self) -> None:
        super().setUp()
        self.store = self.make_store("alice", "")
        self.addCleanup(self.store.close)


class SqliteFileTest(SqliteCase):
    def test_creates_its_folder_and_uses_write_ahead_logging(self) -> None:
        with self.make_store("alice", ""):
            self.assertTrue(self.path.is_file())
        with sqlite3.connect(self.path) as db:
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        db.close()

    def test_a_file_of_a_newer_schema_is_refused(self) -> None:
        self.make_store("alice", "").close()
        with sqlite3.connect(self.path) as db:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.close()
        with self.assertRaises(StoreError) as caught:
            self.make_store("alice", "")
        self.assertIn("upgrade", str(caught.exception))

    def test_a_file_that_is_no_database_is_a_one_line_store_error(self) -> None:
        self.path.parent.mkdir()
        self.path.write_text("not a database, " * 100)
        with self.assertRaises(StoreError) as caught:
            self.make_store("alice", "")
        self.assertNotIn("\n", caught.exception.message)
        self.assertIn(str(self.path), caught.exception.message)

    def test_a_file_under_a_plain_file_is_a_store_error(self) -> None:
        self.path.parent.parent.joinpath("dot-occopus").write_text("a file, not a folder")
        with self.assertRaises(StoreError) as caught:
            self.make_store("alice", "")
        self.assertIn("cannot open", caught.exception.message)

    def test_a_scale_request_the_queue_cannot_take_waits_for_no_writer(self) -> None:
        store = SqliteStore(self.path, "alice", busy_timeout=0.2)
        self.addCleanup(store.close)
        store.add_infrastructure("infra", {})
        store.queue_scaling("infra", "web", "create", count=2, limit=2)
        writer = sqlite3.connect(self.path, isolation_level=None)
        self.addCleanup(writer.close)
        writer.execute("BEGIN IMMEDIATE")           # another process's pass, writing
        with self.assertRaises(ScalingQueueFull) as caught:
            store.queue_scaling("infra", "web", "create", limit=2)
        self.assertEqual(caught.exception.pending, PendingScaling(create=2))
        with self.assertRaises(StoreError):         # one that fits waits for the writer
            store.queue_scaling("infra", "web", "destroy", limit=2)
        writer.execute("ROLLBACK")
        self.assertEqual(store.queue_scaling("infra", "web", "destroy", limit=2),
                         PendingScaling(create=2, destroy=1))

    def test_the_path_may_start_with_a_tilde(self) -> None:
        home = str(self.path.parent.parent)
        with unittest.mock.patch.dict(os.environ, {"HOME": home}):
            with SqliteStore("~/state.db", "alice") as store:
                store.add_infrastructure("infra", {})
        self.assertTrue(Path(home, "state.db").is_file())


class SqliteUpgradeTest(SqliteCase):
    """A file an Occopus of schema 1 wrote, in its own table layout, opened by this one."""

    def setUp(self) -> None:
        super().setUp()
        self.path.parent.mkdir(mode=0o700)
        with sqlite3.connect(self.path) as db:
            db.executescript(STATE_V1.read_text())
        db.close()

    def rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(self.path) as db:
            found = db.execute(sql).fetchall()
        db.close()
        return found

    def test_its_pending_requests_are_counted_in_then_folded_and_nothing_is_lost(self) -> None:
        with self.make_store("alice", "") as store:
            self.assertEqual(store.get_infrastructure("infra"),
                             {"infra_id": "infra", "nodes": ["web", "db"]})
            self.assertEqual(store.get_instances("infra"), {"web": {"w1": {"ip": "10.0.0.1"}}})
            self.assertEqual(store.get_target_count("infra", "web"), 2)
            self.assertEqual([event.name for event in store.events("infra")], ["infrastart"])
            web = PendingScaling(create=2, destroy=1, named=("10.0.0.1",))
            self.assertEqual(store.pending_scaling("infra", "web"), web)
            self.assertEqual(store.pending_scaling("infra", "db"), PendingScaling(create=1))
            store.consume_scaling("infra", "web", PendingScaling(create=1))
            store.queue_scaling("infra", "db", "destroy", value="d1", limit=10)
            store.append_event(Event("infra", "upgraded", 2.0))
        self.assertEqual(self.rows("PRAGMA user_version"), [(SCHEMA_VERSION,)])
        self.assertEqual(self.rows("SELECT DISTINCT json_extract(doc, '$.v') FROM infrastructures"),
                         [(SCHEMA_VERSION,)])
        # alice's rows folded into one record per node; bob's, not written yet, still rows
        self.assertEqual(self.rows("SELECT ns, node_name FROM scaling_requests"),
                         [("bob@", "web")])
        self.assertEqual(self.rows("SELECT node_name FROM scaling_pending ORDER BY node_name"),
                         [("db",), ("web",)])
        with self.make_store("alice", "") as store:
            self.assertEqual(store.pending_scaling("infra", "web"),
                             PendingScaling(create=1, destroy=1, named=("10.0.0.1",)))
            self.assertEqual(store.pending_scaling("infra", "db"),
                             PendingScaling(create=1, named=("d1",)))
        with self.make_store("bob", "") as store:
            self.assertEqual(store.pending_scaling("infra", "web"), PendingScaling(named=("b2",)))
            self.assertEqual(store.get_infrastructure("infra"),
                             {"infra_id": "infra", "nodes": ["web"]})

    def test_the_tables_added_since_schema_1_are_made_and_its_events_get_cursors(self) -> None:
        with self.make_store("alice", "") as store:
            [old] = store.events("infra")
            self.assertEqual((old.name, old.seq), ("infrastart", 1))
            store.append_event(Event("infra", "upgraded", 2.0))
            self.assertEqual([event.name for event in store.events("infra", after=old.seq)],
                             ["upgraded"])
            self.assertTrue(store.attach("infra"))
            store.set_notification("infra", {"url": "http://hooks/infra"})
            store.announce("svc-a", ttl=10, now=100.0)
        with self.make_store("alice", "") as store:
            self.assertEqual(store.attached(), ["infra"])
            self.assertEqual(store.notification("infra"), {"url": "http://hooks/infra"})
            self.assertEqual(store.members(now=101.0), ["svc-a"])
        self.assertEqual(self.rows("PRAGMA user_version"), [(SCHEMA_VERSION,)])


class SqliteAddedTablesTest(SqliteCase):
    """A file of this schema version written before the attached and destroying sets,
    notification settings, service members, event counts and delivery cursors were kept: the
    tables are added, and nothing else changes."""

    ADDED = ("attached", "destroying", "notifications", "members", "event_counts", "deliveries")

    def test_an_older_file_of_this_version_gets_the_added_tables(self) -> None:
        with self.make_store("alice", "") as store:
            store.add_infrastructure("infra", {"nodes": ["web"]})
            store.append_event(Event("infra", "infrastart", 1.0))
        with sqlite3.connect(self.path) as db:
            for table in self.ADDED:
                db.execute(f"DROP TABLE {table}")
        db.close()
        with self.make_store("alice", "") as store:
            self.assertEqual(store.attached(), [])
            self.assertEqual(store.destroying(), [])
            self.assertTrue(store.attach("infra"))
            self.assertTrue(store.mark_destroying("infra"))
            store.set_notification("infra", {"url": "http://hooks/infra"})
            store.announce("svc-a", ttl=10, now=100.0)
            self.assertEqual((store.attached(), store.destroying(), store.notification("infra"),
                              store.members(now=101.0)),
                             (["infra"], ["infra"], {"url": "http://hooks/infra"}, ["svc-a"]))
            self.assertEqual(store.get_infrastructure("infra"), {"nodes": ["web"]})
            self.assertEqual([event.name for event in store.events("infra")], ["infrastart"])
        with sqlite3.connect(self.path) as db:
            self.assertEqual(db.execute("PRAGMA user_version").fetchone()[0], SCHEMA_VERSION)
            self.assertEqual(sorted(row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN"
                f" ({', '.join('?' * len(self.ADDED))})", self.ADDED)), sorted(self.ADDED))
        db.close()

    def test_a_log_written_without_counting_is_trimmed_from_the_next_append_on(self) -> None:
        with self.make_store("alice", "") as store:
            store.add_infrastructure("infra", {})
            store.append_events([Event("infra", f"old{number}", 1.0) for number in range(30)])
            cursors = {event.name: event.seq for event in store.events("infra")}
        with sqlite3.connect(self.path) as db:
            db.execute("DROP TABLE event_counts")             # as an older Occopus left it
        db.close()
        with self.make_store("alice", "") as store:
            store.events_kept = 10                             # a stride of 1
            store.append_event(Event("infra", "new", 2.0))
            kept = store.events("infra")
        self.assertEqual([event.name for event in kept],
                         [f"old{number}" for number in range(21, 30)] + ["new"])
        self.assertEqual([event.seq for event in kept[:-1]],
                         [cursors[event.name] for event in kept[:-1]])


class FlakyConnection:
    """A connection whose first `failures` switches to WAL fail with `code`, as SQLite does
    when another connection holds the lock that switch needs."""

    def __init__(self, db: sqlite3.Connection, code: int, failures: int) -> None:
        self.db, self.code, self.failures, self.attempts = db, code, failures, 0

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql == "PRAGMA journal_mode = WAL":
            self.attempts += 1
            if self.failures:
                self.failures -= 1
                error = sqlite3.OperationalError("database is locked")
                error.sqlite_errorcode = self.code
                raise error
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


class SqliteBusyAtOpenTest(SqliteCase):
    def open_flaky(self, code: int, failures: int) -> FlakyConnection:
        connect = sqlite3.connect
        flaky: list[FlakyConnection] = []

        def flaky_connect(*args: object, **kwargs: object) -> FlakyConnection:
            flaky.append(FlakyConnection(connect(*args, **kwargs), code, failures))
            return flaky[-1]

        with unittest.mock.patch("occo.infobroker.store.sqlite.sqlite3.connect", flaky_connect):
            store = self.make_store("alice", "")
        self.addCleanup(store.close)
        store.add_infrastructure(f"opened-{code}", {})     # the store works
        self.assertIn(f"opened-{code}", store.list_infrastructures())
        return flaky[0]

    def test_every_busy_or_locked_code_extended_or_not_is_tried_again(self) -> None:
        codes = {name: getattr(sqlite3, name) for name in (
            "SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_BUSY_RECOVERY", "SQLITE_BUSY_SNAPSHOT",
            "SQLITE_LOCKED_SHAREDCACHE")}
        for name, code in codes.items():
            with self.subTest(name):
                self.assertEqual(self.open_flaky(code, failures=3).attempts, 4)

    def test_another_error_is_not_tried_again(self) -> None:
        with self.assertRaises(StoreError) as caught:
            self.open_flaky(sqlite3.SQLITE_IOERR_READ, failures=1)
        self.assertIn("cannot open", str(caught.exception))
