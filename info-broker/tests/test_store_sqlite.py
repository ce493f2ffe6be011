"""The SQLite store: the conformance suite, process races on one file, and the file itself."""
from __future__ import annotations

import os
import sqlite3
import tempfile
import unittest
import unittest.mock
from pathlib import Path

from occo.infobroker.store.base import SCHEMA_VERSION, Store, StoreError
from occo.infobroker.store.sqlite import SqliteStore

from .store_conformance import StoreConformance, old_request
from .store_races import ProcessRaces


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

    def test_the_path_may_start_with_a_tilde(self) -> None:
        home = str(self.path.parent.parent)
        with unittest.mock.patch.dict(os.environ, {"HOME": home}):
            with SqliteStore("~/state.db", "alice") as store:
                store.add_infrastructure("infra", {})
        self.assertTrue(Path(home, "state.db").is_file())
