"""The MongoDB store: the conformance suite against nx-27017.

No mongod is packaged for this platform, so the tests start nx-27017 (a MongoDB
wire-protocol server on SQLite, from PyPI, installed in the test environment)
on a free port. Process races are left to the SQLite and Redis suites (forking
a process that runs pymongo's monitor threads is not safe); the lease's
compare-and-set is tested by interleaving a rival's grant.
"""
from __future__ import annotations

import json
import unittest
import uuid
from typing import ClassVar

import pymongo

from occo.infobroker.store.base import Store, StoreError
from occo.infobroker.store.codec import encode
from occo.infobroker.store.mongodb import MongoStore

from .servers import Server, start_mongo
from .store_conformance import StoreConformance, old_request
from .store_races import InterleavedGrants, InterleavedQueueChanges

DATABASE = "occopus_tests"


class MongoConformanceTest(StoreConformance, InterleavedGrants, InterleavedQueueChanges,
                           unittest.TestCase):
    """Each test works under its own random prefix on one server for the class."""

    server: ClassVar[Server]
    client: ClassVar[pymongo.MongoClient[dict]]

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = start_mongo()
        cls.addClassCleanup(cls.server.stop)
        cls.client = pymongo.MongoClient(cls.server.url)
        cls.addClassCleanup(cls.client.close)

    def setUp(self) -> None:
        self.run_prefix = f"t{uuid.uuid4().hex[:12]}:"
        super().setUp()

    def make_store(self, user: str, prefix: str) -> Store:
        return MongoStore(self.server.url, user, database=DATABASE,
                          prefix=self.run_prefix + prefix)

    def plant_description(self, infra_id: str, text: str) -> None:
        self.client[DATABASE]["infrastructures"].update_one(
            {"ns": f"{self.run_prefix}alice@", "infra_id": infra_id},
            {"$set": {"description": text}})

    def plant_old_requests(self, infra_id: str,
                           requests: list[tuple[str, str, str | None]]) -> None:
        entries = [json.dumps([node_name, old_request(number, kind, value)[1]])
                   for number, (node_name, kind, value) in enumerate(requests)]
        self.client[DATABASE]["infrastructures"].update_one(
            {"ns": f"{self.run_prefix}alice@", "infra_id": infra_id},
            {"$push": {"scaling": {"$each": entries}}})

    def plant_schema(self, version: int) -> None:
        self.client[DATABASE]["schema"].update_one(
            {"ns": f"{self.run_prefix}alice@"}, {"$set": {"version": version}}, upsert=True)

    def plant_removal_leftovers(self, infra_id: str) -> None:
        self.client[DATABASE]["infrastructures"].update_one(
            {"ns": f"{self.run_prefix}alice@", "infra_id": infra_id},
            {"$set": {"attached": True, "destroying": True,
                      "notification": encode({"stale": True}),
                      "delivered": {"target": "stale", "seq": 7}}}, upsert=True)

    def stored_description(self, infra_id: str) -> str:
        return self.client[DATABASE]["infrastructures"].find_one(
            {"ns": f"{self.run_prefix}alice@", "infra_id": infra_id})["description"]

    def test_the_database_named_in_the_url_is_used_by_default(self) -> None:
        with MongoStore(self.server.url + "from_url", "alice", prefix=self.run_prefix) as store:
            store.add_infrastructure("infra", {})
        self.assertEqual(self.client["from_url"]["infrastructures"].count_documents(
            {"ns": f"{self.run_prefix}alice@"}), 1)

    def test_an_infrastructure_is_one_document_and_removal_keeps_only_its_tombstone(self) -> None:
        self.populate("infra")
        self.store.attach("infra")
        self.store.mark_destroying("infra")
        self.store.set_notification("infra", {"url": "http://hooks/infra"})
        documents = self.client[DATABASE]["infrastructures"]
        query = {"ns": f"{self.run_prefix}alice@", "infra_id": "infra"}
        self.assertEqual(documents.count_documents(query), 1)
        self.store.remove_infrastructure("infra")
        self.assertEqual(sorted(documents.find_one(query, {"_id": 0}) or {}),
                         ["event_seq", "generation", "infra_id", "newest", "ns"])
        self.assertEqual(self.client[DATABASE]["events"].count_documents(query), 0)


class MongoUnreachableTest(unittest.TestCase):
    """An unreachable server: see test_store_open; a bad url is another way to miss it."""

    def test_a_malformed_url_is_a_store_error(self) -> None:
        with self.assertRaises(StoreError) as caught:
            MongoStore("mongodb://", "alice", timeout=0.5)
        self.assertIn("cannot reach MongoDB", caught.exception.message)
