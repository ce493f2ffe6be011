"""Opening a store from settings, and the pieces every backend shares."""
from __future__ import annotations

import inspect
import json
import os
import tempfile
import unittest
import unittest.mock
from importlib.metadata import entry_points
from pathlib import Path

from occo.util.errors import ConfigurationError, PluginNotAvailable

from occo.infobroker.store import open_store
from occo.infobroker.store.backend import failure, namespace
from occo.infobroker.store.base import (SCHEMA_VERSION, Event, Lease, LeaseOwner,
                                        PendingScaling, Store, StoreError)
from occo.infobroker.store.codec import decode, decode_event, decode_lease, encode, encode_record
from occo.infobroker.store.mongodb import MongoStore
from occo.infobroker.store.pending import decode_pending
from occo.infobroker.store.redis import RedisStore
from occo.infobroker.store.sqlite import SqliteStore

from .servers import free_port


class OpenStoreTest(unittest.TestCase):
    def setUp(self) -> None:
        scratch = tempfile.TemporaryDirectory(prefix="occo-open-")
        self.addCleanup(scratch.cleanup)
        self.folder = Path(scratch.name)

    def test_the_three_backends_are_registered_as_entry_points(self) -> None:
        found = {point.name: point.load() for point in entry_points(group="occo.stores")}
        self.assertEqual({name: found.get(name) for name in ("sqlite", "redis", "mongodb")},
                         {"sqlite": SqliteStore, "redis": RedisStore, "mongodb": MongoStore})
        for backend in found.values():
            self.assertTrue(issubclass(backend, Store))
            self.assertFalse(inspect.isabstract(backend))

    def test_by_default_it_is_sqlite_in_the_users_occopus_folder(self) -> None:
        with unittest.mock.patch.dict(os.environ, {"HOME": str(self.folder)}):
            with open_store({}, "alice") as store:
                self.assertIsInstance(store, SqliteStore)
                store.add_infrastructure("infra", {})
        self.assertTrue((self.folder / ".occopus" / "state.db").is_file())

    def test_settings_go_to_the_backend_and_none_counts_as_not_given(self) -> None:
        path = self.folder / "elsewhere.db"
        settings = {"backend": "sqlite", "path": path, "url": None, "prefix": "team:"}
        with open_store(settings, "alice") as store:
            store.add_infrastructure("infra", {})
        with SqliteStore(path, "alice", "team:") as same:
            self.assertEqual(same.list_infrastructures(), ["infra"])

    def test_an_unknown_backend_lists_the_installed_ones(self) -> None:
        with self.assertRaises(PluginNotAvailable) as caught:
            open_store({"backend": "cassandra"}, "alice")
        self.assertIn("no state store backend 'cassandra'", caught.exception.message)
        self.assertIn("hint: the installed ones are: mongodb, redis, sqlite", str(caught.exception))

    def test_an_unknown_setting_is_named_with_the_accepted_ones(self) -> None:
        with self.assertRaises(ConfigurationError) as caught:
            open_store({"backend": "redis", "hots": "db.example"}, "alice")
        self.assertIn("hots", caught.exception.message)
        self.assertIn("hint: it takes: url, host, port", str(caught.exception))

    def test_a_missing_required_setting_is_named(self) -> None:
        with self.assertRaises(ConfigurationError) as caught:
            open_store({"backend": "mongodb"}, "alice")
        self.assertIn("url", caught.exception.message)

    def test_an_unreachable_server_is_one_line_without_the_password(self) -> None:
        port = free_port()
        for backend, server in (("redis", "Redis"), ("mongodb", "MongoDB")):
            with self.subTest(backend), self.assertRaises(StoreError) as caught:
                open_store({"backend": backend, "timeout": 0.5,
                            "url": f"{backend}://admin:hunter2@127.0.0.1:{port}/"}, "alice")
            error = caught.exception
            self.assertNotIn("hunter2", str(error))
            self.assertNotIn("\n", error.message)
            self.assertIn(f"cannot reach {server} at {backend}://admin:***@127.0.0.1:{port}/",
                          error.message)
            self.assertIn(f"hint: check that the {server} server runs", str(error))


class CodecTest(unittest.TestCase):
    def test_documents_carry_the_schema_version(self) -> None:
        self.assertEqual(json.loads(encode({"a": [1]})), {"v": SCHEMA_VERSION, "data": {"a": [1]}})
        self.assertEqual(decode(encode({"ñ": 1.5})), {"ñ": 1.5})

    def test_newer_documents_are_refused_with_a_hint_to_upgrade(self) -> None:
        with self.assertRaises(StoreError) as caught:
            decode(json.dumps({"v": SCHEMA_VERSION + 1, "data": {}}))
        self.assertIn("hint: upgrade Occopus", str(caught.exception))

    def test_text_that_is_no_document_is_a_store_error(self) -> None:
        for text in ("{", "[1]", '{"data": 1}', '{"v": "1", "data": 1}'):
            with self.subTest(text), self.assertRaises(StoreError):
                decode(text)

    def test_values_json_cannot_hold_are_refused_on_the_way_in(self) -> None:
        with self.assertRaises(ValueError):
            encode({"x": float("nan")})

    def test_records_round_trip(self) -> None:
        lease = Lease("infra", LeaseOwner("h", 1, "c"), 3, 1.5, 31.5)
        event = Event("infra", "nodecreated", 2.25, {"node": "web"})
        pending = PendingScaling(3, 1, ("node-1", "10.0.0.1"))
        self.assertEqual(decode_lease(encode_record(lease)), lease)
        self.assertEqual(decode_event(encode_record(event), 7), event)
        self.assertEqual(decode_event(encode_record(event), 7).seq, 7)
        self.assertEqual(decode_pending(encode_record(pending)), pending)
        self.assertEqual(decode_pending(None), PendingScaling())

    def test_an_events_cursor_is_not_stored_but_given_by_the_store(self) -> None:
        event = Event("infra", "nodecreated", 2.25, {"node": "web"}, seq=41)
        self.assertNotIn("seq", json.loads(encode_record(event))["data"])
        self.assertEqual(encode_record(event), encode_record(Event("infra", "nodecreated", 2.25,
                                                                   {"node": "web"})))
        self.assertEqual(decode_event(encode_record(event), 3).seq, 3)


class BackendHelpersTest(unittest.TestCase):
    def test_the_namespace_is_prefix_then_user_then_at(self) -> None:
        self.assertEqual(namespace("occo:", "alice"), "occo:alice@")
        self.assertEqual(namespace("", "alice"), "alice@")

    def test_namespaces_that_could_read_as_another_are_refused(self) -> None:
        for prefix, user in (("", ""), ("", "a:b"), ("", "a@b"), ("occo", "alice"), ("a@", "b")):
            with self.subTest(prefix=prefix, user=user), self.assertRaises(ConfigurationError):
                namespace(prefix, user)

    def test_a_failure_is_the_first_line_of_the_error_without_passwords(self) -> None:
        error = ConnectionError("cannot reach redis://u:pw@host:1/0\ntraceback-ish detail")
        made = failure("Redis at redis://u:***@host:1/0", error, hint="check it")
        self.assertEqual(made.message, "Redis at redis://u:***@host:1/0: "
                                       "cannot reach redis://u:***@host:1/0")
        self.assertEqual(made.hint, "check it")
