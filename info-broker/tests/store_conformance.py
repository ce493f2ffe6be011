"""The behaviour every state store backend must show, as a unittest mixin.

Each backend's test module subclasses `StoreConformance` together with
`unittest.TestCase` and defines `make_store(user, prefix)` (a new store on the
backend's location: same data for the same user and prefix),
`plant_description(infra_id, text)` (writes a raw description document for
user "alice", prefix "", behind the store's back) and
`plant_old_requests(infra_id, [(node name, kind, value)])` (writes scaling
requests of the old shape, one record each, as an older Occopus did, for user
"alice", prefix ""; see `old_request`), `plant_schema(version)` (marks the
store of user "alice", prefix "" as of that schema version),
`stored_description(infra_id)` (that user's description document as stored) and
`plant_removal_leftovers(infra_id)` (an attachment, a destroy mark,
notification settings {"stale": True} and a delivery cursor ("stale", 7) of an infrastructure of user "alice",
prefix "" that does not exist, as an older Occopus, that knows none of them,
leaves them when it removes one).
A backend that cannot show a behaviour says so with `self.skipTest(reason)`.
"""
from __future__ import annotations

import inspect
import json
import time
import unittest
import unittest.mock
from typing import TYPE_CHECKING, Any

from occo.util.errors import OccoError

from occo.infobroker.store.base import (SCHEMA_VERSION, Delivered, Event, InfrastructureExists,
                                        InfrastructureNotFound, LeaseHeld, LeaseOwner,
                                        PendingScaling, ScalingQueueFull, StaleFenceError,
                                        Store, StoreError)
from occo.infobroker.store import codec
from occo.infobroker.store.codec import Encoded, encode
from occo.infobroker.store.pending import MAX_NAMED

OWNER = LeaseOwner("host-a", 101, "occopus-build")
RIVAL = LeaseOwner("host-b", 202, "occopus-scale")

# Data that trips careless encodings: dots and dollars in keys, unicode, floats, nesting.
AWKWARD = {"a.b": {"$ref": [1, 2.5, None, True, "ñ😀"]}, "": {"nested": {"x": -1e-300}}}


def old_request(number: int, kind: str, value: str | None) -> tuple[str, str]:
    """(request id, document) of a scaling request as stored before requests were counted."""
    return f"old{number}", encode({"request_id": f"old{number}", "kind": kind, "value": value})


# Type checkers see the TestCase a mixin ends up in; unittest must not collect the mixins.
if TYPE_CHECKING:
    Mixin = unittest.TestCase
else:
    Mixin = object


class StoreConformance(Mixin):
    store: Store

    if TYPE_CHECKING:  # what a backend's test class provides
        def make_store(self, user: str, prefix: str) -> Store: ...
        def plant_description(self, infra_id: str, text: str) -> None: ...
        def plant_old_requests(self, infra_id: str,
                               requests: list[tuple[str, str, str | None]]) -> None: ...
        def plant_schema(self, version: int) -> None: ...
        def stored_description(self, infra_id: str) -> str: ...
        def plant_removal_leftovers(self, infra_id: str) -> None: ...

    # --- helpers ------------------------------------------------------------
    def setUp(self) -> None:
        super().setUp()
        self.store = self.open_store()

    def open_store(self, user: str = "alice", prefix: str = "") -> Store:
        store = self.make_store(user, prefix)
        self.addCleanup(store.close)
        return store

    def populate(self, infra_id: str) -> None:
        """An infrastructure with something of every kind."""
        store = self.store
        store.add_infrastructure(infra_id, {"name": infra_id, "nodes": ["web", "db"]})
        store.put_instance(infra_id, "web", "w1", {"ip": "10.0.0.1"})
        store.put_instance(infra_id, "db", "d1", {"ip": "10.0.0.2"})
        store.archive_failed(infra_id, "w0", {"reason": "boot timeout"})
        store.set_target_count(infra_id, "web", 2)
        store.queue_scaling(infra_id, "web", "create", count=2, limit=10)
        store.failing_period(infra_id, "w1", True, now=50.0)
        store.append_event(Event(infra_id, "infrastart", 1.0, {"by": "test"}))

    def snapshot(self, infra_id: str, now: float = 0.0) -> tuple[Any, ...]:
        """Everything the store says about an infrastructure (reads only)."""
        store = self.store
        try:
            description: dict | None = store.get_infrastructure(infra_id)
        except InfrastructureNotFound:
            description = None
        return (description, infra_id in store.list_infrastructures(),
                store.get_instances(infra_id), store.failed_instances(infra_id),
                store.get_target_count(infra_id, "web"),
                store.pending_scaling(infra_id, "web"), store.events(infra_id),
                store.current_lease(infra_id, now=now))

    # --- node definitions -------------------------------------------------
    def test_node_definitions_round_trip_and_replace_per_type(self) -> None:
        self.store.put_node_definitions({"web": [{"resource": {"type": "ec2"}}],
                                         "db": [{"a": AWKWARD}, {"b": 2}]})
        self.store.put_node_definitions({"web": [{"resource": {"type": "nova"}}]})
        self.assertEqual(self.store.get_node_definition("web"), [{"resource": {"type": "nova"}}])
        self.assertEqual(self.store.get_node_definition("db"), [{"a": AWKWARD}, {"b": 2}])
        self.assertEqual(self.store.list_node_types(), ["db", "web"])

    def test_an_unknown_node_type_has_no_definition(self) -> None:
        self.store.put_node_definitions({"empty": []})
        self.assertIsNone(self.store.get_node_definition("unknown"))
        self.assertEqual(self.store.get_node_definition("empty"), [])

    def test_node_types_with_awkward_names_are_listed_sorted(self) -> None:
        names = ["z.z", "$dollar", "50%", "ñ", "a"]
        self.store.put_node_definitions({name: [{"name": name}] for name in names})
        self.assertEqual(self.store.list_node_types(), sorted(names))
        self.assertEqual(self.store.get_node_definition("z.z"), [{"name": "z.z"}])

    # --- infrastructures --------------------------------------------------
    def test_infrastructure_description_round_trip(self) -> None:
        self.store.add_infrastructure("infra", {"nodes": AWKWARD})
        self.assertEqual(self.store.get_infrastructure("infra"), {"nodes": AWKWARD})

    def test_adding_an_existing_infrastructure_is_refused_and_keeps_it(self) -> None:
        self.store.add_infrastructure("infra", {"v": 1})
        with self.assertRaises(InfrastructureExists) as caught:
            self.store.add_infrastructure("infra", {"v": 2})
        self.assertIn("infra", str(caught.exception))
        self.assertEqual(self.store.get_infrastructure("infra"), {"v": 1})

    def test_unknown_infrastructure_is_not_found(self) -> None:
        with self.assertRaises(InfrastructureNotFound) as caught:
            self.store.get_infrastructure("nope")
        self.assertIsInstance(caught.exception, OccoError)
        self.assertIn("nope", str(caught.exception))
        with self.assertRaises(InfrastructureNotFound):
            self.store.update_infrastructure("nope", {})

    def test_update_replaces_the_description(self) -> None:
        self.store.add_infrastructure("infra", {"old": True, "keep": 1})
        self.store.update_infrastructure("infra", {"new": True})
        self.assertEqual(self.store.get_infrastructure("infra"), {"new": True})

    def test_infrastructures_are_listed_sorted(self) -> None:
        for infra_id in ("b", "c", "a"):
            self.store.add_infrastructure(infra_id, {})
        self.assertEqual(self.store.list_infrastructures(), ["a", "b", "c"])

    def test_remove_infrastructure_removes_everything_about_it_and_only_it(self) -> None:
        self.populate("gone")
        self.populate("kept")
        self.store.acquire_lease("gone", OWNER, ttl=100, now=0)
        self.store.acquire_lease("kept", OWNER, ttl=100, now=0)
        kept = self.snapshot("kept")
        self.store.remove_infrastructure("gone")
        self.assertEqual(self.snapshot("gone"),
                         (None, False, {}, {}, None, PendingScaling(), [], None))
        self.assertEqual(self.snapshot("kept"), kept)
        self.store.add_infrastructure("gone", {"again": True})
        self.assertEqual(self.snapshot("gone"),
                         ({"again": True}, True, {}, {}, None, PendingScaling(), [], None))
        self.assertEqual(self.store.failing_period("gone", "w1", True, now=90.0), 0.0)

    def test_removal_detaches_and_drops_the_notification_settings_of_only_it(self) -> None:
        for infra_id in ("gone", "kept"):
            self.populate(infra_id)
            self.store.attach(infra_id)
            self.store.mark_destroying(infra_id)
            self.store.set_notification(infra_id, {"url": f"http://hooks/{infra_id}"})
            self.store.start_delivery(infra_id, Delivered(f"hook-{infra_id}", 3))
        self.store.remove_infrastructure("gone")
        self.assertEqual((self.store.attached(), self.store.destroying()), (["kept"], ["kept"]))
        self.assertIsNone(self.store.notification("gone"))
        self.assertEqual((self.store.delivered("gone"), self.store.delivered("kept")),
                         (None, Delivered("hook-kept", 3)))
        self.assertEqual(self.store.notification("kept"), {"url": "http://hooks/kept"})
        self.assertFalse(self.store.detach("gone"))
        self.assertFalse(self.store.unmark_destroying("gone"))
        self.store.add_infrastructure("gone", {"again": True})
        self.assertEqual((self.store.attached(), self.store.notification("gone")), (["kept"], None))
        self.assertEqual(self.store.destroying(), ["kept"])

    def test_what_an_older_occopus_left_of_a_removed_id_is_neither_listed_nor_inherited(
            self) -> None:
        self.populate("gone")
        self.store.attach("gone")
        self.store.mark_destroying("gone")
        self.store.remove_infrastructure("gone")
        self.plant_removal_leftovers("gone")
        self.assertEqual((self.store.attached(), self.store.destroying()), ([], []))
        self.store.add_infrastructure("gone", {"again": True})
        self.assertEqual((self.store.attached(), self.store.destroying(),
                          self.store.notification("gone"), self.store.delivered("gone")),
                         ([], [], None, None))
        self.assertTrue(self.store.attach("gone"))
        self.assertTrue(self.store.mark_destroying("gone"))

    def test_remove_infrastructure_is_idempotent(self) -> None:
        self.populate("infra")
        self.store.remove_infrastructure("infra")
        self.store.remove_infrastructure("infra")
        self.store.remove_infrastructure("never-there")
        self.assertEqual(self.store.list_infrastructures(), [])

    # --- node instances ---------------------------------------------------
    def test_instances_are_grouped_by_node_and_replaced_by_id(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.put_instance("infra", "web", "w1", {"state": "intent"})
        self.store.put_instance("infra", "web", "w2", {"state": "ready"})
        self.store.put_instance("infra", "db", "d1", AWKWARD)
        self.store.put_instance("infra", "web", "w1", {"state": "ready", "ip": "10.0.0.1"})
        self.assertEqual(self.store.get_instances("infra"), {
            "web": {"w1": {"state": "ready", "ip": "10.0.0.1"}, "w2": {"state": "ready"}},
            "db": {"d1": AWKWARD}})

    def test_put_instances_writes_each_record_and_the_last_of_an_id_wins(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.put_instance("infra", "web", "w1", {"state": "intent"})
        self.store.put_instances("infra", [("web", "w1", {"state": "created"}),
                                           ("web", "w2", {"state": "intent"}),
                                           ("db", "d1", AWKWARD),
                                           ("web", "w2", {"state": "created"})])
        self.store.put_instances("infra", [])
        self.assertEqual(self.store.get_instances("infra"), {
            "web": {"w1": {"state": "created"}, "w2": {"state": "created"}},
            "db": {"d1": AWKWARD}})

    def test_a_record_encoded_by_its_caller_is_stored_as_the_same_data(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.put_instances("infra", [("db", "d1", Encoded(json.dumps(AWKWARD)))])
        self.assertEqual(self.store.get_instances("infra"), {"db": {"d1": AWKWARD}})

    def test_instance_names_with_awkward_characters_round_trip(self) -> None:
        self.store.add_infrastructure("infra", {})
        names = [("web.front", "i.1"), ("$x", "$y"), ("50%", "a%2Eb"), ("[\"", ":@")]
        for node_name, node_id in names:
            self.store.put_instance("infra", node_name, node_id, {"id": node_id})
        self.assertEqual(self.store.get_instances("infra"),
                         {node_name: {node_id: {"id": node_id}} for node_name, node_id in names})
        self.store.remove_instance("infra", "web.front", "i.1")
        self.assertNotIn("web.front", self.store.get_instances("infra"))

    def test_an_infrastructure_without_instances_has_none(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.assertEqual(self.store.get_instances("infra"), {})
        self.assertEqual(self.store.get_instances("unknown"), {})

    def test_remove_instance_is_idempotent_and_drops_emptied_nodes(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.put_instance("infra", "web", "w1", {})
        self.store.put_instance("infra", "db", "d1", {})
        self.store.remove_instance("infra", "web", "w1")
        self.store.remove_instance("infra", "web", "w1")
        self.store.remove_instance("infra", "db", "unknown")
        self.store.remove_instance("unknown", "web", "w1")
        self.assertEqual(self.store.get_instances("infra"), {"db": {"d1": {}}})

    def test_remove_instance_needs_the_right_node_name(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.put_instance("infra", "web", "x", {"n": 1})
        self.store.remove_instance("infra", "db", "x")
        self.assertEqual(self.store.get_instances("infra"), {"web": {"x": {"n": 1}}})

    def test_writes_to_an_unknown_infrastructure_are_refused(self) -> None:
        writes = {
            "put_instance": lambda: self.store.put_instance("nope", "web", "w1", {}),
            "put_instances": lambda: self.store.put_instances("nope", [("web", "w1", {})]),
            "archive_failed": lambda: self.store.archive_failed("nope", "w1", {}),
            "set_target_count": lambda: self.store.set_target_count("nope", "web", 1),
            "queue_scaling":
                lambda: self.store.queue_scaling("nope", "web", "create", limit=1),
            "failing_period": lambda: self.store.failing_period("nope", "w1", True, now=1.0),
            "failing_period cleared":
                lambda: self.store.failing_period("nope", "w1", False, now=1.0),
            "append_event": lambda: self.store.append_event(Event("nope", "infrastart", 1.0)),
            "append_events": lambda: self.store.append_events([Event("nope", "infrastart", 1.0)]),
            "update_infrastructure": lambda: self.store.update_infrastructure("nope", {}),
            "attach": lambda: self.store.attach("nope"),
            "mark_destroying": lambda: self.store.mark_destroying("nope"),
            "set_notification": lambda: self.store.set_notification("nope", {"url": "x"}),
            "set_notification None": lambda: self.store.set_notification("nope", None),
        }
        for name, write in writes.items():
            with self.subTest(name), self.assertRaises(InfrastructureNotFound):
                write()
        self.assertEqual(self.snapshot("nope"),
                         (None, False, {}, {}, None, PendingScaling(), [], None))
        self.assertEqual((self.store.attached(), self.store.notification("nope")), ([], None))
        self.assertEqual(self.store.destroying(), [])

    def test_failed_instances_are_archived_by_node_id(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.assertEqual(self.store.failed_instances("infra"), {})
        self.store.archive_failed("infra", "w1", {"reason": "timeout"})
        self.store.archive_failed("infra", "w2", AWKWARD)
        self.store.archive_failed("infra", "w1", {"reason": "unreachable"})
        self.assertEqual(self.store.failed_instances("infra"),
                         {"w1": {"reason": "unreachable"}, "w2": AWKWARD})

    # --- scaling ----------------------------------------------------------
    def test_target_counts_are_per_node_and_zero_is_not_none(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.assertIsNone(self.store.get_target_count("infra", "web"))
        self.store.set_target_count("infra", "web", 3)
        self.store.set_target_count("infra", "db", 0)
        self.store.set_target_count("infra", "web", 5)
        self.assertEqual(self.store.get_target_count("infra", "web"), 5)
        self.assertEqual(self.store.get_target_count("infra", "db"), 0)
        self.assertIsNone(self.store.get_target_count("infra", "other"))

    def test_scaling_requests_are_counted_per_node(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.queue_scaling("infra", "web", "create", count=1_000_000, limit=1_000_000)
        self.store.queue_scaling("infra", "web", "destroy", value="node-7", limit=10)
        self.store.queue_scaling("infra", "web", "destroy", count=2, limit=10)
        self.store.queue_scaling("infra", "web", "destroy", value="10.0.0.1", limit=10)
        after = self.store.queue_scaling("infra", "db", "create", limit=10)
        self.assertEqual(after, PendingScaling(create=1))
        self.assertEqual(self.store.pending_scaling("infra", "web"),
                         PendingScaling(1_000_000, 2, ("node-7", "10.0.0.1")))
        self.assertEqual(self.store.pending_scaling("infra", "db"), PendingScaling(create=1))
        self.assertEqual(self.store.pending_scaling("infra", "none"), PendingScaling())
        self.assertEqual(self.store.pending_scaling("unknown", "web"), PendingScaling())

    def test_a_named_destroy_already_pending_is_not_queued_twice(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.queue_scaling("infra", "web", "destroy", value="node-7", limit=2)
        again = self.store.queue_scaling("infra", "web", "destroy", value="node-7", limit=1)
        self.assertEqual(again, PendingScaling(named=("node-7",)))
        self.assertEqual(self.store.pending_scaling("infra", "web"), again)

    def test_requests_beyond_the_limit_are_refused_and_nothing_is_queued(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.queue_scaling("infra", "web", "create", count=3, limit=5)
        self.store.queue_scaling("infra", "web", "destroy", value="node-7", limit=2)
        refused = {
            "creates": lambda: self.store.queue_scaling("infra", "web", "create", count=3,
                                                        limit=5),
            "destroys, named ones counted": lambda: self.store.queue_scaling(
                "infra", "web", "destroy", count=2, limit=2),
            "a named destroy": lambda: self.store.queue_scaling(
                "infra", "web", "destroy", value="node-8", limit=1),
            "a limit below none": lambda: self.store.queue_scaling(
                "infra", "web", "create", limit=-4),
        }
        for name, queue in refused.items():
            with self.subTest(name), self.assertRaises(ScalingQueueFull) as caught:
                queue()
            self.assertIsInstance(caught.exception, OccoError)
            # what waits, as the refusal found it: the caller needs not read it again
            self.assertEqual(caught.exception.pending, PendingScaling(create=3, named=("node-7",)))
        self.assertEqual(self.store.pending_scaling("infra", "web"),
                         PendingScaling(create=3, named=("node-7",)))

    def test_a_limit_function_is_given_the_target_and_queue_the_step_reads(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.queue_scaling("infra", "web", "create", count=2, limit=10)
        given = []

        def room_to(most: int):
            def limit(target, pending):
                given.append((target, pending))
                return most - (target or 0)
            return limit
        self.store.queue_scaling("infra", "web", "create", limit=room_to(5))
        # a backend may ask it more than once (a refusal from a read, then under a lock)
        self.assertEqual(set(given), {(None, PendingScaling(create=2))})
        self.store.set_target_count("infra", "web", 3)
        given.clear()
        with self.assertRaises(ScalingQueueFull) as caught:
            self.store.queue_scaling("infra", "web", "create", limit=room_to(5))
        self.assertEqual(set(given), {(3, PendingScaling(create=3))})
        self.assertEqual((caught.exception.target, caught.exception.pending),
                         (3, PendingScaling(create=3)))
        self.assertEqual(self.store.pending_scaling("infra", "web"), PendingScaling(create=3))

    def test_a_full_queue_of_an_unknown_infrastructure_is_not_found(self) -> None:
        with self.assertRaises(InfrastructureNotFound):
            self.store.queue_scaling("unknown", "web", "create", limit=0)

    def test_names_are_bounded_in_length_and_number(self) -> None:
        self.store.add_infrastructure("infra", {})
        for value in ("", "x" * 256):
            with self.subTest(len(value)), self.assertRaises(ScalingQueueFull):
                self.store.queue_scaling("infra", "web", "destroy", value=value, limit=10)
        for number in range(MAX_NAMED):
            self.store.queue_scaling("infra", "web", "destroy", value=f"n{number}",
                                     limit=10 * MAX_NAMED)
        with self.assertRaises(ScalingQueueFull):
            self.store.queue_scaling("infra", "web", "destroy", value="one-more",
                                     limit=10 * MAX_NAMED)
        self.assertEqual(len(self.store.pending_scaling("infra", "web").named), MAX_NAMED)

    def test_consuming_takes_off_only_what_was_handled(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.queue_scaling("infra", "web", "create", count=4, limit=10)
        self.store.queue_scaling("infra", "web", "destroy", value="a", limit=10)
        self.store.queue_scaling("infra", "web", "destroy", value="b", limit=10)
        self.store.queue_scaling("infra", "db", "destroy", count=1, limit=10)
        seen = self.store.pending_scaling("infra", "web")
        self.store.queue_scaling("infra", "web", "create", count=2, limit=10)  # queued meanwhile
        self.store.consume_scaling("infra", "web", PendingScaling(seen.create, 5, ("a", "z")))
        self.assertEqual(self.store.pending_scaling("infra", "web"),
                         PendingScaling(create=2, named=("b",)))
        self.store.consume_scaling("infra", "web", PendingScaling(create=9, named=("b",)))
        self.store.consume_scaling("unknown", "web", PendingScaling(create=1))
        self.assertEqual(self.store.pending_scaling("infra", "web"), PendingScaling())
        self.assertEqual(self.store.pending_scaling("infra", "db"), PendingScaling(destroy=1))

    def test_requests_of_the_old_shape_are_counted_in_and_folded_on_write(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.queue_scaling("infra", "web", "create", limit=10)
        self.plant_old_requests("infra", [
            ("web", "create", None), ("web", "destroy", "10.0.0.1"), ("db", "create", None),
            ("web", "create", None), ("web", "destroy", None), ("web", "destroy", "10.0.0.1")])
        expected = PendingScaling(create=3, destroy=1, named=("10.0.0.1",))
        self.assertEqual(self.store.pending_scaling("infra", "web"), expected)
        self.store.consume_scaling("infra", "web", PendingScaling(create=3))
        self.assertEqual(self.store.pending_scaling("infra", "web"),
                         PendingScaling(destroy=1, named=("10.0.0.1",)))
        self.assertEqual(self.store.pending_scaling("infra", "db"), PendingScaling(create=1))
        self.store.remove_infrastructure("infra")
        self.assertEqual(self.store.pending_scaling("infra", "db"), PendingScaling())

    # --- schema versions --------------------------------------------------
    def test_a_store_of_a_newer_schema_is_refused_when_opened(self) -> None:
        self.plant_schema(SCHEMA_VERSION + 1)
        with self.assertRaises(StoreError) as caught:
            self.open_store()
        self.assertIn(f"schema version {SCHEMA_VERSION + 1}", caught.exception.message)
        self.assertIn("upgrade", caught.exception.hint)

    def test_a_store_of_uncounted_requests_is_upgraded_and_refused_to_older_readers(
            self) -> None:
        """Before schema 2 each request was one record: an Occopus of schema 1 cannot see
        counted ones, so once a store holds them it must refuse that store, not misread it."""
        self.store.add_infrastructure("infra", {})
        self.plant_description("infra", json.dumps({"v": 1, "data": {"nodes": ["web"]}}))
        self.plant_old_requests("infra", [("web", "create", None), ("web", "destroy", "w1")])
        self.plant_schema(1)
        upgraded = self.open_store()
        self.assertEqual(upgraded.get_infrastructure("infra"), {"nodes": ["web"]})
        self.assertEqual(json.loads(self.stored_description("infra"))["v"], SCHEMA_VERSION)
        self.assertEqual(upgraded.pending_scaling("infra", "web"),
                         PendingScaling(create=1, named=("w1",)))
        upgraded.queue_scaling("infra", "web", "create", count=2, limit=10)
        self.assertEqual(upgraded.pending_scaling("infra", "web"),
                         PendingScaling(create=3, named=("w1",)))
        with unittest.mock.patch.object(codec, "SCHEMA_VERSION", 1), \
                self.assertRaises(StoreError) as caught:
            self.open_store().get_infrastructure("infra")    # as an Occopus of schema 1 would
        self.assertIn("upgrade", caught.exception.hint)

    # --- health -----------------------------------------------------------
    def test_failing_period_counts_from_the_first_failure_until_a_success(self) -> None:
        store = self.store
        store.add_infrastructure("infra", {})
        self.assertEqual(store.failing_period("infra", "w1", True, now=100.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", True, now=130.5), 30.5)
        self.assertEqual(store.failing_period("infra", "w2", True, now=131.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", False, now=140.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", True, now=150.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", True, now=155.0), 5.0)
        self.assertEqual(store.failing_period("infra", "w2", True, now=141.0), 10.0)

    # --- events -----------------------------------------------------------
    def test_events_keep_their_order_and_data_per_infrastructure(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        appended = [Event("infra", "infrastart", 1700000000.123456),
                    Event("infra", "nodecreating", 1700000001.5, {"node": "web", "x": AWKWARD}),
                    Event("infra", "nodecreated", 1700000000.0, {"node": "web"})]
        for event in appended:
            self.store.append_event(event)
            self.store.append_event(Event("other", "noise", 0.0))
        self.assertEqual(self.store.events("infra"), appended)
        self.assertEqual(len(self.store.events("other")), 3)
        self.assertEqual(self.store.events("unknown"), [])

    def test_appended_batches_of_events_keep_their_order_after_single_ones(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        single = Event("infra", "infrastart", 1.0)
        batch = [Event("infra", "nodecreating", 2.0, {"node": "web"}),
                 Event("other", "infrastart", 2.5),
                 Event("infra", "nodecreated", 3.0, {"node": "web", "x": AWKWARD})]
        self.store.append_event(single)
        self.store.append_events(batch)
        self.store.append_events([])
        self.assertEqual(self.store.events("infra"), [single, batch[0], batch[2]])
        self.assertEqual(self.store.events("other"), [batch[1]])

    def test_events_read_back_carry_growing_cursors_the_appended_ones_do_not(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        self.store.append_event(Event("infra", "infrastart", 1.0, seq=10**9))
        self.store.append_event(Event("other", "noise", 1.5))
        self.store.append_events([Event("infra", "nodecreating", 2.0, seq=10**9),
                                  Event("other", "noise", 2.5), Event("infra", "nodecreated", 3.0)])
        cursors = [event.seq for event in self.store.events("infra")]
        self.assertEqual(len(cursors), 3)
        self.assertGreater(cursors[0], 0)
        self.assertEqual(cursors, sorted(set(cursors)))
        self.assertLess(cursors[-1], 10**9)     # the store's cursor, not the appended field
        self.assertEqual(self.open_store().events("infra")[-1].seq, cursors[-1])

    def test_events_after_a_cursor_are_the_oldest_limit_after_it(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        for number in range(6):
            self.store.append_event(Event("infra", f"e{number}", float(number)))
            self.store.append_event(Event("other", "noise", float(number)))
        every = self.store.events("infra")
        names = [event.name for event in every]
        self.assertEqual(names, [f"e{number}" for number in range(6)])
        windows = {
            "after the second": (self.store.events("infra", after=every[1].seq), names[2:]),
            "the oldest two after it": (self.store.events("infra", after=every[1].seq, limit=2),
                                        names[2:4]),
            "the oldest from the start": (self.store.events("infra", limit=1), names[:1]),
            "a limit beyond the end": (self.store.events("infra", after=every[3].seq, limit=99),
                                       names[4:]),
            "after the last": (self.store.events("infra", after=every[-1].seq), []),
            "a limit of none": (self.store.events("infra", limit=0), []),
            "a negative cursor": (self.store.events("infra", after=-5), names),
            "an unknown infrastructure": (self.store.events("unknown", after=0, limit=3), []),
        }
        for name, (events, expected) in windows.items():
            with self.subTest(name):
                self.assertEqual([event.name for event in events], expected)
        self.assertEqual([event.seq for event in self.store.events("infra", after=every[1].seq,
                                                                   limit=2)],
                         [event.seq for event in every[2:4]])
        with self.assertRaises(ValueError):
            self.store.events("infra", limit=-1)

    def test_paging_with_the_last_cursor_sees_every_event_once(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.append_events([Event("infra", f"e{number}", 0.0) for number in range(5)])
        seen: list[str] = []
        cursor = 0
        for round_ in range(3):
            while page := self.store.events("infra", after=cursor, limit=2):
                seen.extend(event.name for event in page)
                cursor = page[-1].seq
            self.store.append_event(Event("infra", f"late{round_}", 0.0))
        self.assertEqual(seen, [f"e{number}" for number in range(5)] + ["late0", "late1"])
        self.assertEqual([event.name for event in self.store.events("infra", after=cursor)],
                         ["late2"])

    def test_a_log_keeps_its_newest_events_and_its_cursors_as_it_is_trimmed(self) -> None:
        self.store.events_kept = 10                 # a stride of 1 past it
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        self.store.append_events([Event("other", "o0", 0.0)])
        cursors: dict[str, int] = {}
        for number in range(35):
            if number % 7 == 3:                     # a batch too: its events count alike
                self.store.append_events([Event("infra", f"e{number}", 0.0),
                                          Event("other", "noise", 0.0)])
            else:
                self.store.append_event(Event("infra", f"e{number}", 0.0))
            [newest] = self.store.events("infra", after=self.store.last_event_seq("infra") - 1)
            cursors[newest.name] = newest.seq
            kept = self.store.events("infra")
            with self.subTest(after=number):
                self.assertLessEqual(len(kept), self.store.events_kept
                                     + self.store.event_trim_stride)
                self.assertEqual([event.name for event in kept],
                                 [f"e{n}" for n in range(number + 1 - len(kept), number + 1)])
                self.assertEqual([event.seq for event in kept],
                                 [cursors[event.name] for event in kept])
        names = [event.name for event in self.store.events("infra")]
        self.assertEqual(names[-10:], [f"e{number}" for number in range(25, 35)])
        self.assertEqual([event.name for event in self.store.events("infra", after=cursors["e1"])],
                         names)                     # an old cursor reads on from the oldest kept
        self.assertEqual([event.name for event in self.store.events("infra",
                                                                    after=cursors["e30"])],
                         ["e31", "e32", "e33", "e34"])
        self.assertEqual(self.store.last_event_seq("infra"), cursors["e34"])
        self.assertEqual(self.store.events("other")[0].name, "o0")    # another log is its own

    def test_a_log_is_trimmed_at_each_stride_past_the_events_kept(self) -> None:
        self.store.events_kept = 100                # a stride of 10
        self.store.add_infrastructure("infra", {})
        lengths = []
        for _ in range(250):
            self.store.append_event(Event("infra", "e", 0.0))
            lengths.append(len(self.store.events("infra")))
        self.assertEqual(lengths[:100], list(range(1, 101)))
        # it grows a stride past what it keeps, and is cut back to that each time it would
        # reach the stride
        self.assertEqual(lengths[100:], [100 + (n + 1) % 10 for n in range(150)])

    def test_a_new_infrastructure_of_a_removed_id_starts_a_new_log(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.append_events([Event("infra", "old", 1.0), Event("infra", "old", 2.0)])
        self.store.remove_infrastructure("infra")
        self.assertEqual(self.store.events("infra"), [])
        self.store.add_infrastructure("infra", {})
        self.store.append_event(Event("infra", "new", 3.0))
        [event] = self.store.events("infra")
        self.assertEqual((event.name, self.store.events("infra", after=0)), ("new", [event]))
        self.assertGreater(event.seq, 0)

    def test_the_last_event_seq_is_the_cursor_of_the_newest_event_and_0_for_none(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        self.assertEqual([self.store.last_event_seq(infra_id) for infra_id in
                          ("infra", "other", "unknown")], [0, 0, 0])
        self.store.append_event(Event("infra", "infrastart", 1.0, seq=10**9))
        self.store.append_events([Event("other", "noise", 1.5), Event("infra", "e1", 2.0),
                                  Event("infra", "e2", 3.0), Event("other", "noise", 3.5)])
        for infra_id in ("infra", "other"):
            with self.subTest(infra_id):
                last = self.store.events(infra_id)[-1].seq
                self.assertEqual(self.store.last_event_seq(infra_id), last)
                self.assertEqual(self.open_store().last_event_seq(infra_id), last)
                self.assertEqual(self.store.events(infra_id, after=last), [])
        last = self.store.last_event_seq("infra")
        self.store.append_event(Event("infra", "late", 4.0))
        [late] = self.store.events("infra", after=last)
        self.assertEqual((late.name, self.store.last_event_seq("infra")), ("late", late.seq))
        self.assertEqual(self.open_store(user="bob").last_event_seq("infra"), 0)

    def test_the_last_event_seq_starts_again_with_a_new_infrastructure_of_the_id(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.append_events([Event("infra", "old", 1.0), Event("infra", "old", 2.0)])
        self.store.remove_infrastructure("infra")
        self.assertEqual(self.store.last_event_seq("infra"), 0)
        self.store.add_infrastructure("infra", {})
        self.assertEqual(self.store.last_event_seq("infra"), 0)
        self.store.append_event(Event("infra", "new", 3.0))
        [event] = self.store.events("infra")
        self.assertEqual(self.store.last_event_seq("infra"), event.seq)

    def test_the_last_event_seq_does_not_read_the_log(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.append_events([Event("infra", f"e{number}", 0.0) for number in range(50)])
        last = self.store.events("infra")[-1].seq
        with unittest.mock.patch.object(type(self.store), "events",
                                        side_effect=AssertionError("the log was read")):
            self.assertEqual(self.store.last_event_seq("infra"), last)

    def test_a_cleared_failing_period_stays_cleared_and_starts_again(self) -> None:
        store = self.store
        store.add_infrastructure("infra", {})
        self.assertEqual(store.failing_period("infra", "w1", False, now=10.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", True, now=20.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", False, now=25.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", False, now=26.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", True, now=30.0), 0.0)
        self.assertEqual(store.failing_period("infra", "w1", True, now=32.0), 2.0)

    # --- the attached set -------------------------------------------------
    def test_attaching_and_detaching_say_whether_anything_changed(self) -> None:
        for infra_id in ("b", "a", "c"):
            self.store.add_infrastructure(infra_id, {})
        self.assertEqual(self.store.attached(), [])
        self.assertEqual([self.store.attach(infra_id) for infra_id in ("c", "a", "c")],
                         [True, True, False])
        self.assertEqual(self.store.attached(), ["a", "c"])
        self.assertEqual([self.store.detach(infra_id) for infra_id in ("c", "c", "b", "unknown")],
                         [True, False, False, False])
        self.assertEqual(self.store.attached(), ["a"])
        self.assertTrue(self.store.attach("c"))
        self.assertEqual(self.store.attached(), ["a", "c"])

    def test_an_unknown_infrastructure_cannot_be_attached(self) -> None:
        with self.assertRaises(InfrastructureNotFound) as caught:
            self.store.attach("nope")
        self.assertIn("nope", str(caught.exception))
        self.assertEqual(self.store.attached(), [])

    def test_the_attached_set_outlives_the_store_that_wrote_it_and_is_per_namespace(
            self) -> None:
        names = ["z.z", "$dollar", "50%", "ñ", "a:b@c"]
        for infra_id in names:
            self.store.add_infrastructure(infra_id, {})
            self.store.attach(infra_id)
        self.assertEqual(self.open_store().attached(), sorted(names))
        bob = self.open_store(user="bob")
        other = self.open_store(prefix="other:")
        for store in (bob, other):
            self.assertEqual(store.attached(), [])
            self.assertFalse(store.detach("ñ"))
            store.add_infrastructure("mine", {})
            store.attach("mine")
            self.assertEqual(store.attached(), ["mine"])
        self.assertEqual(self.store.attached(), sorted(names))

    # --- the destroying set -----------------------------------------------
    def test_marking_and_unmarking_destroying_say_whether_anything_changed(self) -> None:
        for infra_id in ("b", "a", "c"):
            self.store.add_infrastructure(infra_id, {})
        self.assertEqual(self.store.destroying(), [])
        self.assertEqual([self.store.mark_destroying(infra_id) for infra_id in ("c", "a", "c")],
                         [True, True, False])
        self.assertEqual(self.store.destroying(), ["a", "c"])
        self.assertEqual([self.store.unmark_destroying(infra_id)
                          for infra_id in ("c", "c", "b", "unknown")],
                         [True, False, False, False])
        self.assertEqual(self.store.destroying(), ["a"])
        self.assertTrue(self.store.mark_destroying("c"))
        self.assertEqual(self.store.destroying(), ["a", "c"])

    def test_the_destroying_set_is_apart_from_the_attached_set(self) -> None:
        for infra_id in ("a", "b"):
            self.store.add_infrastructure(infra_id, {})
        self.store.attach("a")
        self.store.mark_destroying("b")
        self.assertEqual((self.store.attached(), self.store.destroying()), (["a"], ["b"]))
        self.assertFalse(self.store.unmark_destroying("a"))
        self.assertFalse(self.store.detach("b"))
        self.assertTrue(self.store.detach("a"))
        self.assertEqual((self.store.attached(), self.store.destroying()), ([], ["b"]))

    def test_an_unknown_infrastructure_cannot_be_marked_destroying(self) -> None:
        with self.assertRaises(InfrastructureNotFound) as caught:
            self.store.mark_destroying("nope")
        self.assertIn("nope", str(caught.exception))
        self.assertEqual(self.store.destroying(), [])

    def test_the_destroying_set_outlives_the_store_that_wrote_it_and_is_per_namespace(
            self) -> None:
        names = ["z.z", "$dollar", "50%", "ñ", "a:b@c"]
        for infra_id in names:
            self.store.add_infrastructure(infra_id, {})
            self.store.mark_destroying(infra_id)
        self.assertEqual(self.open_store().destroying(), sorted(names))
        bob = self.open_store(user="bob")
        other = self.open_store(prefix="other:")
        for store in (bob, other):
            self.assertEqual(store.destroying(), [])
            self.assertFalse(store.unmark_destroying("ñ"))
            store.add_infrastructure("mine", {})
            store.mark_destroying("mine")
            self.assertEqual(store.destroying(), ["mine"])
        self.assertEqual(self.store.destroying(), sorted(names))

    # --- service members --------------------------------------------------
    def test_members_are_alive_until_their_announcement_expires(self) -> None:
        self.store.announce("svc-b", ttl=10, now=100.0)
        self.store.announce("svc-a", ttl=30, now=100.0)
        self.assertEqual(self.store.members(now=100.0), ["svc-a", "svc-b"])
        self.assertEqual(self.store.members(now=109.9), ["svc-a", "svc-b"])
        self.assertEqual(self.store.members(now=110.0), ["svc-a"])
        self.assertEqual(self.store.members(now=130.0), [])

    def test_announcing_again_refreshes_a_member(self) -> None:
        self.store.announce("svc-a", ttl=10, now=100.0)
        self.store.announce("svc-b", ttl=10, now=100.0)
        self.store.announce("svc-a", ttl=10, now=108.0)
        self.assertEqual(self.store.members(now=115.0), ["svc-a"])
        self.store.announce("svc-b", ttl=10, now=116.0)     # back after it expired
        self.assertEqual(self.store.members(now=117.0), ["svc-a", "svc-b"])

    def test_a_withdrawn_member_is_gone_at_once(self) -> None:
        self.store.announce("svc-a", ttl=60, now=100.0)
        self.store.announce("svc-b", ttl=60, now=100.0)
        self.store.withdraw("svc-a")
        self.store.withdraw("svc-a")
        self.store.withdraw("never-there")
        self.assertEqual(self.store.members(now=101.0), ["svc-b"])

    def test_members_are_per_namespace_and_seen_by_every_store_of_it(self) -> None:
        names = ["host-1:4242", "host@2", "ñ 3"]
        for name in names:
            self.store.announce(name, ttl=60, now=100.0)
        self.assertEqual(self.open_store().members(now=101.0), sorted(names))
        self.assertEqual(self.open_store(user="bob").members(now=101.0), [])
        other = self.open_store(prefix="other:")
        self.assertEqual(other.members(now=101.0), [])
        other.announce("svc-x", ttl=60, now=100.0)
        self.assertEqual(self.store.members(now=101.0), sorted(names))

    def test_members_use_the_wall_clock_unless_given_a_time(self) -> None:
        self.store.announce("svc-a", ttl=60)
        self.assertEqual(self.store.members(), ["svc-a"])
        self.assertEqual(self.store.members(now=time.time() - 1), ["svc-a"])
        self.assertEqual(self.store.members(now=time.time() + 61), [])

    def test_a_member_needs_a_name_and_a_positive_ttl(self) -> None:
        for member, ttl in (("svc-a", 0), ("svc-a", -1), ("", 10)):
            with self.subTest(member=member, ttl=ttl), self.assertRaises(ValueError):
                self.store.announce(member, ttl=ttl, now=100.0)
        self.assertEqual(self.store.members(now=100.0), [])

    # --- notification settings --------------------------------------------
    def test_a_delivery_starts_for_one_target_and_only_its_cursor_grows(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        self.assertIsNone(self.store.delivered("infra"))
        self.store.advance_delivery("infra", Delivered("a", 3))       # none started: nothing
        self.assertIsNone(self.store.delivered("infra"))
        steps = [("start", Delivered("a", 5), Delivered("a", 5)),
                 ("advance", Delivered("a", 9), Delivered("a", 9)),
                 ("advance", Delivered("a", 7), Delivered("a", 9)),   # a slower sender, behind
                 ("start", Delivered("b", 2), Delivered("b", 2)),     # the target changed
                 ("advance", Delivered("a", 12), Delivered("b", 2)),  # the old target's last
                 ("advance", Delivered("b", 4), Delivered("b", 4)),
                 ("start", Delivered("b", 1), Delivered("b", 1))]     # started again
        for how, given, expected in steps:
            getattr(self.store, f"{how}_delivery")("infra", given)
            with self.subTest(how=how, given=given):
                self.assertEqual(self.store.delivered("infra"), expected)
                self.assertEqual(self.open_store().delivered("infra"), expected)
        self.assertIsNone(self.store.delivered("other"))
        self.store.start_delivery("unknown", Delivered("a", 1))       # a no-op
        self.store.advance_delivery("unknown", Delivered("a", 2))
        self.assertIsNone(self.store.delivered("unknown"))
        self.assertIsNone(self.open_store(user="bob").delivered("infra"))

    def test_notification_settings_round_trip_and_are_replaced_or_removed(self) -> None:
        self.store.add_infrastructure("infra", {})
        self.store.add_infrastructure("other", {})
        self.assertIsNone(self.store.notification("infra"))
        self.assertIsNone(self.store.notification("unknown"))
        self.store.set_notification("infra", {"url": "http://hooks/a", "extra": AWKWARD})
        self.store.set_notification("other", {})
        self.assertEqual(self.store.notification("infra"),
                         {"url": "http://hooks/a", "extra": AWKWARD})
        self.store.set_notification("infra", {"url": "http://hooks/b"})
        self.assertEqual(self.open_store().notification("infra"), {"url": "http://hooks/b"})
        self.store.set_notification("infra", None)
        self.store.set_notification("infra", None)
        self.assertIsNone(self.store.notification("infra"))
        self.assertEqual(self.store.notification("other"), {})
        self.assertIsNone(self.open_store(user="bob").notification("other"))

    # --- namespaces -------------------------------------------------------
    def test_users_namespaces_are_isolated(self) -> None:
        self.populate("shared")
        self.store.put_node_definitions({"web": [{"owner": "alice"}]})
        self.store.acquire_lease("shared", OWNER, ttl=100, now=0)
        alice = self.snapshot("shared")
        bob = self.open_store(user="bob")
        self.assertEqual(bob.list_infrastructures(), [])
        self.assertEqual(bob.list_node_types(), [])
        self.assertEqual(bob.get_instances("shared"), {})
        self.assertIsNone(bob.current_lease("shared", now=1))
        bob.add_infrastructure("shared", {"owner": "bob"})
        bob.put_instance("shared", "web", "b1", {})
        self.assertEqual(bob.acquire_lease("shared", RIVAL, now=1).owner, RIVAL)
        bob.remove_infrastructure("shared")
        self.assertEqual(self.snapshot("shared"), alice)
        self.assertEqual(self.store.get_node_definition("web"), [{"owner": "alice"}])

    def test_prefixes_are_isolated(self) -> None:
        self.populate("shared")
        other = self.open_store(prefix="other:")
        self.assertEqual(other.list_infrastructures(), [])
        other.add_infrastructure("shared", {"prefix": "other"})
        self.assertEqual(self.store.get_infrastructure("shared"), {"name": "shared",
                                                                   "nodes": ["web", "db"]})

    def test_a_second_store_on_the_same_location_sees_the_same_data(self) -> None:
        self.populate("infra")
        again = self.open_store()
        self.assertEqual(again.get_instances("infra"), self.store.get_instances("infra"))

    # --- leases -----------------------------------------------------------
    def test_a_lease_is_granted_with_its_owner_token_and_expiry(self) -> None:
        lease = self.store.acquire_lease("infra", OWNER, ttl=30, now=1000.0)
        self.assertEqual((lease.infra_id, lease.owner, lease.acquired_at, lease.expires_at),
                         ("infra", OWNER, 1000.0, 1030.0))
        self.assertGreater(lease.token, 0)
        self.assertEqual(self.store.current_lease("infra", now=1001.0), lease)

    def test_a_held_lease_is_refused_naming_its_holder(self) -> None:
        held = self.store.acquire_lease("infra", OWNER, ttl=30, now=1000.0)
        with self.assertRaises(LeaseHeld) as caught:
            self.store.acquire_lease("infra", RIVAL, ttl=30, now=1029.9)
        self.assertEqual(caught.exception.holder, held)
        self.assertIn("occopus-build (pid 101 on host-a)", str(caught.exception))
        self.assertIsInstance(caught.exception, OccoError)
        self.assertEqual(self.store.current_lease("infra", now=1029.9), held)

    def test_a_refusal_tells_since_when_and_until_when_as_times_and_ages(self) -> None:
        self.store.acquire_lease("infra", OWNER, ttl=30, now=1000.0)
        with self.assertRaises(LeaseHeld) as caught:
            self.store.acquire_lease("infra", RIVAL, ttl=30, now=1200.0 - 190)
        message = str(caught.exception)
        self.assertIn("since 1970-01-01 00:16:40 UTC (10 s ago)", message)
        self.assertIn("expires at 1970-01-01 00:17:10 UTC (20 s from now)", message)
        self.assertNotIn("since 1000", message)

    def test_leases_of_different_infrastructures_are_independent(self) -> None:
        self.store.acquire_lease("one", OWNER, now=0)
        self.assertEqual(self.store.acquire_lease("two", RIVAL, now=0).owner, RIVAL)

    def test_an_expired_lease_is_taken_over_with_a_larger_token(self) -> None:
        old = self.store.acquire_lease("infra", OWNER, ttl=30, now=1000.0)
        self.assertIsNone(self.store.current_lease("infra", now=1030.0))
        new = self.store.acquire_lease("infra", RIVAL, ttl=30, now=1030.0)
        self.assertEqual(new.owner, RIVAL)
        self.assertGreater(new.token, old.token)
        self.assertEqual(self.store.current_lease("infra", now=1031.0), new)

    def test_tokens_grow_across_releases_takeovers_and_removal(self) -> None:
        store = self.store
        store.add_infrastructure("infra", {})
        first = store.acquire_lease("infra", OWNER, ttl=10, now=0)
        store.release_lease(first)
        tokens = [first.token, store.acquire_lease("infra", OWNER, ttl=10, now=2).token]
        tokens.append(store.acquire_lease("infra", RIVAL, ttl=10, now=12).token)
        store.remove_infrastructure("infra")
        store.add_infrastructure("infra", {})
        tokens.append(store.acquire_lease("infra", OWNER, ttl=10, now=13).token)
        self.assertEqual(tokens, sorted(set(tokens)))

    def test_the_fence_token_is_the_newest_grant_and_outlives_releases_and_removal(
            self) -> None:
        store = self.store
        self.assertEqual(store.fence_token("infra"), 0)
        store.add_infrastructure("infra", {})
        first = store.acquire_lease("infra", OWNER, ttl=10, now=0)
        self.assertEqual(store.fence_token("infra"), first.token)
        store.release_lease(first)
        self.assertEqual(store.fence_token("infra"), first.token)
        second = store.acquire_lease("infra", RIVAL, ttl=10, now=1)
        store.remove_infrastructure("infra")
        self.assertEqual(store.fence_token("infra"), second.token)
        self.assertEqual(store.fence_token("other"), 0)

    def test_the_same_owner_asking_again_gets_a_new_token_and_the_old_one_turns_stale(self) -> None:
        first = self.store.acquire_lease("infra", OWNER, ttl=30, now=0)
        second = self.store.acquire_lease("infra", OWNER, ttl=30, now=1)
        self.assertGreater(second.token, first.token)
        with self.assertRaises(StaleFenceError):
            self.store.renew_lease(first, now=2)

    def test_renewing_extends_the_lease_and_keeps_its_token(self) -> None:
        lease = self.store.acquire_lease("infra", OWNER, ttl=10, now=0)
        renewed = self.store.renew_lease(lease, ttl=10, now=8)
        self.assertEqual((renewed.token, renewed.acquired_at, renewed.expires_at),
                         (lease.token, 0, 18))
        with self.assertRaises(LeaseHeld):
            self.store.acquire_lease("infra", RIVAL, now=12)
        self.assertEqual(self.store.current_lease("infra", now=12), renewed)

    def test_an_expired_lease_nobody_took_over_can_be_renewed(self) -> None:
        lease = self.store.acquire_lease("infra", OWNER, ttl=10, now=0)
        self.assertEqual(self.store.renew_lease(lease, ttl=10, now=15).expires_at, 25)

    def test_renewing_a_lost_lease_is_a_stale_fence(self) -> None:
        lost = self.store.acquire_lease("infra", OWNER, ttl=10, now=0)
        successor = self.store.acquire_lease("infra", RIVAL, ttl=10, now=10)
        with self.assertRaises(StaleFenceError) as caught:
            self.store.renew_lease(lost, now=11)
        self.assertIsInstance(caught.exception, OccoError)
        self.assertEqual(self.store.current_lease("infra", now=11), successor)
        released = self.store.acquire_lease("released", OWNER, now=0)
        self.store.release_lease(released)
        with self.assertRaises(StaleFenceError):
            self.store.renew_lease(released, now=1)

    def test_releasing_frees_the_lease_at_once(self) -> None:
        lease = self.store.acquire_lease("infra", OWNER, ttl=100, now=0)
        self.store.release_lease(lease)
        self.assertIsNone(self.store.current_lease("infra", now=1))
        self.assertEqual(self.store.acquire_lease("infra", RIVAL, ttl=100, now=1).owner, RIVAL)

    def test_releasing_a_lost_lease_leaves_the_successor_alone(self) -> None:
        lost = self.store.acquire_lease("infra", OWNER, ttl=10, now=0)
        successor = self.store.acquire_lease("infra", RIVAL, ttl=10, now=10)
        self.store.release_lease(lost)
        self.store.release_lease(lost)
        self.assertEqual(self.store.current_lease("infra", now=11), successor)

    def test_a_lease_needs_a_positive_ttl(self) -> None:
        with self.assertRaises(ValueError):
            self.store.acquire_lease("infra", OWNER, ttl=0, now=0)
        self.assertIsNone(self.store.current_lease("infra", now=0))

    # --- fencing ----------------------------------------------------------
    def fenced_writes(self, fence: int | None) -> dict[str, Any]:
        """A call of every write that takes a fencing token, on a populated "infra"."""
        store = self.store
        return {
            "update_infrastructure":
                lambda: store.update_infrastructure("infra", {"changed": True}, fence=fence),
            "put_instance": lambda: store.put_instance("infra", "web", "late", {}, fence=fence),
            "put_instances": lambda: store.put_instances(
                "infra", [("web", "late", {}), ("db", "d1", {"ip": "10.0.0.2"})], fence=fence),
            "remove_instance": lambda: store.remove_instance("infra", "web", "w1", fence=fence),
            "archive_failed": lambda: store.archive_failed("infra", "late", {}, fence=fence),
            "set_target_count": lambda: store.set_target_count("infra", "web", 9, fence=fence),
            "consume_scaling": lambda: store.consume_scaling(
                "infra", "web", PendingScaling(create=2), fence=fence),
            "remove_infrastructure": lambda: store.remove_infrastructure("infra", fence=fence),
        }

    def test_the_fenced_writes_cover_every_method_that_takes_a_fence(self) -> None:
        fenced = {name for name, method in inspect.getmembers(Store, inspect.isfunction)
                  if "fence" in inspect.signature(method).parameters}
        self.assertEqual(set(self.fenced_writes(None)), fenced)

    def test_every_fenced_write_with_a_stale_token_is_refused_and_changes_nothing(self) -> None:
        self.populate("infra")
        stale = self.store.acquire_lease("infra", OWNER, ttl=10, now=0)
        self.store.acquire_lease("infra", RIVAL, ttl=10, now=10)
        before = self.snapshot("infra", now=11)
        for name, write in self.fenced_writes(stale.token).items():
            with self.subTest(name), self.assertRaises(StaleFenceError) as caught:
                write()
            self.assertIn(str(stale.token), str(caught.exception))
            self.assertEqual(self.snapshot("infra", now=11), before)

    def test_every_fenced_write_with_the_current_token_succeeds(self) -> None:
        self.populate("infra")
        self.store.acquire_lease("infra", OWNER, ttl=10, now=0)
        current = self.store.acquire_lease("infra", RIVAL, ttl=10, now=10)
        writes = self.fenced_writes(current.token)
        remove = writes.pop("remove_infrastructure")
        for write in writes.values():
            write()
        self.assertEqual(self.snapshot("infra", now=11)[:6], (
            {"changed": True}, True, {"web": {"late": {}}, "db": {"d1": {"ip": "10.0.0.2"}}},
            {"w0": {"reason": "boot timeout"}, "late": {}}, 9, PendingScaling()))
        remove()
        self.assertEqual(self.snapshot("infra", now=11),
                         (None, False, {}, {}, None, PendingScaling(), [], None))

    def test_unfenced_writes_pass_while_another_owner_holds_the_lease(self) -> None:
        self.populate("infra")
        self.store.acquire_lease("infra", RIVAL, ttl=10, now=0)
        for write in self.fenced_writes(None).values():
            write()
        self.assertEqual(self.store.list_infrastructures(), [])

    def test_a_token_issued_before_removal_stays_stale_when_the_id_is_reused(self) -> None:
        self.store.add_infrastructure("infra", {})
        old = self.store.acquire_lease("infra", OWNER, ttl=10, now=0)
        self.store.acquire_lease("infra", RIVAL, ttl=10, now=10)
        self.store.remove_infrastructure("infra")
        self.store.add_infrastructure("infra", {})
        with self.assertRaises(StaleFenceError):
            self.store.put_instance("infra", "web", "w1", {}, fence=old.token)
        self.assertEqual(self.store.get_instances("infra"), {})

    # --- schema versions --------------------------------------------------
    def test_a_document_of_a_newer_schema_version_is_refused(self) -> None:
        self.store.add_infrastructure("infra", {"nodes": []})
        self.plant_description("infra", json.dumps({"v": SCHEMA_VERSION + 1, "data": {}}))
        with self.assertRaises(StoreError) as caught:
            self.store.get_infrastructure("infra")
        self.assertIn("upgrade", str(caught.exception))
        self.assertIn(f"schema version {SCHEMA_VERSION + 1}", str(caught.exception))

    def test_a_document_without_a_schema_version_is_refused(self) -> None:
        self.store.add_infrastructure("infra", {"nodes": []})
        self.plant_description("infra", json.dumps({"nodes": []}))
        with self.assertRaises(StoreError):
            self.store.get_infrastructure("infra")
