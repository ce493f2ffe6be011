"""The behaviour every resource-handler plugin must show, as a unittest mixin.

A plugin's test class combines `ResourceHandlerConformance` with
`unittest.TestCase` and defines two hooks:

- `make_handler()`: a new handler for the backend under test. Every call
  must reach the same backend: a second handler has to see what the first
  made, as the engine's does after a crash. A `close()` it has is called.
- `make_node(infra_id, node_id)`: a `ResolvedNode` the backend can create.

and may define:

- `inject_fault(kind)`: make the backend answer its next call with a fault
  of `kind`, `"rate_limit"` (must become a `TransientError`) or
  `"bad_request"` (a `PermanentError`), and return True. The default
  returns False: the fault tests are then skipped, saying so.
- `missing_instance_id()`: an id in the backend's format that names nothing.
- `READY_TIMEOUT`: the seconds a new resource may take to become READY.

Each test uses infrastructure and node ids of its own and drops what it made.
"""
from __future__ import annotations

import time
import unittest
import uuid
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.base import (Instance, PermanentError, ResourceError, ResourceHandler,
                                       TransientError)
from occo.resourcehandler.plugins import SCHEMAS, handler_class

from .support import run_threads

# Type checkers see the TestCase a mixin ends up in; unittest must not collect the mixin.
if TYPE_CHECKING:
    Mixin = unittest.TestCase
else:
    Mixin = object


class ResourceHandlerConformance(Mixin):
    READY_TIMEOUT = 30.0
    POLL_INTERVAL = 0.05
    CONCURRENT_CREATES = 4

    handler: ResourceHandler
    infra_id: str

    if TYPE_CHECKING:  # what a plugin's test class provides
        def make_handler(self) -> ResourceHandler: ...
        def make_node(self, infra_id: str, node_id: str) -> ResolvedNode: ...

    def inject_fault(self, kind: str) -> bool:
        """Make the backend's next call fail with a fault of `kind`; False: cannot."""
        return False

    def missing_instance_id(self) -> str:
        return f"missing-{uuid.uuid4().hex}"

    # --- helpers ------------------------------------------------------------
    def setUp(self) -> None:
        super().setUp()
        self.handler = self.open_handler()
        self.infra_id = self.new_id("infra")

    def open_handler(self) -> ResourceHandler:
        handler = self.make_handler()
        close = getattr(handler, "close", None)
        if close is not None:
            self.addCleanup(close)
        return handler

    @staticmethod
    def new_id(what: str) -> str:
        return f"conformance-{what}-{uuid.uuid4().hex[:12]}"

    def create(self, node: ResolvedNode | None = None) -> Instance:
        """Create a node of this test's infrastructure; it is dropped when the test ends."""
        node = node or self.make_node(self.infra_id, self.new_id("node"))
        instance = self.handler.create_node(node)
        self.addCleanup(self.handler.drop_node, instance)
        self.assertIsInstance(instance, Instance)
        self.assertEqual((instance.infra_id, instance.node_id), (node.infra_id, node.node_id))
        return instance

    def owned(self, infra_id: str | None = None,
              handler: ResourceHandler | None = None) -> list[tuple[str, str]]:
        """(node id, instance id) of what `list_owned` finds, sorted."""
        infra_id = infra_id or self.infra_id
        found = (handler or self.handler).list_owned(infra_id)
        for instance in found:
            self.assertIsInstance(instance, Instance)
            self.assertEqual(instance.infra_id, infra_id)
        return sorted((instance.node_id, instance.instance_id) for instance in found)

    def wait_for_state(self, instance: Instance, wanted: NodeState,
                       fatal: tuple[NodeState, ...] = ()) -> list[NodeState]:
        """Poll until the state is `wanted`; fail on a `fatal` state or at the deadline."""
        seen: list[NodeState] = []
        deadline = time.monotonic() + self.READY_TIMEOUT
        while True:
            state = self.handler.get_state(instance)
            self.assertIsInstance(state, NodeState)
            seen.append(state)
            if state == wanted:
                return seen
            if state in fatal or time.monotonic() > deadline:
                self.fail(f"{instance.instance_id} did not become {wanted} within "
                          f"{self.READY_TIMEOUT:g} s; states seen: {sorted(set(seen))}")
            time.sleep(self.POLL_INTERVAL)

    # --- the plugin as registered -------------------------------------------
    def test_the_plugin_is_registered_with_its_schema_and_state_map(self) -> None:
        cls = type(self.handler)
        self.assertIs(handler_class(cls.type_name), cls)
        schemas = [entry.load() for entry in entry_points(group=SCHEMAS, name=cls.type_name)]
        self.assertEqual(schemas, [cls.schema])
        self.assertTrue(cls.STATE_MAP, "STATE_MAP maps no cloud state")
        for cloud_state, state in cls.STATE_MAP.items():
            self.assertIsInstance(state, NodeState, cloud_state)

    # --- create -------------------------------------------------------------
    def test_creating_a_node_twice_makes_one_resource(self) -> None:
        node = self.make_node(self.infra_id, self.new_id("node"))
        first = self.create(node)
        second = self.create(node)
        self.assertEqual(second.instance_id, first.instance_id)
        self.assertEqual(self.owned(), [(node.node_id, first.instance_id)])

    def test_concurrent_creates_of_a_node_make_one_resource(self) -> None:
        node = self.make_node(self.infra_id, self.new_id("node"))
        made: list[Instance] = []
        failures = run_threads([lambda: made.append(self.handler.create_node(node))]
                               * self.CONCURRENT_CREATES)
        for instance in made:
            self.addCleanup(self.handler.drop_node, instance)
        self.assertEqual(failures, [])
        self.assertEqual(len({instance.instance_id for instance in made}), 1)
        self.assertEqual(self.owned(), [(node.node_id, made[0].instance_id)])

    def test_a_resource_is_tagged_with_its_infrastructure_when_created(self) -> None:
        node = self.make_node(self.infra_id, self.new_id("node"))
        instance = self.create(node)
        expected = [(node.node_id, instance.instance_id)]
        self.assertEqual(self.owned(), expected)
        self.assertEqual(self.owned(handler=self.open_handler()), expected,
                         "a new handler (the engine after a crash) must find it too")
        self.assertEqual(self.owned(self.new_id("other-infra")), [])

    def test_only_live_resources_are_listed(self) -> None:
        kept, dropped = self.create(), self.create()
        self.handler.drop_node(dropped)
        self.assertEqual(self.owned(), [(kept.node_id, kept.instance_id)])

    # --- drop ---------------------------------------------------------------
    def test_dropping_a_resource_again_succeeds(self) -> None:
        instance = self.create()
        self.handler.drop_node(instance)
        self.handler.drop_node(instance)
        self.assertEqual(self.owned(), [])

    def test_dropping_a_missing_resource_succeeds(self) -> None:
        missing = Instance(self.infra_id, self.new_id("node"), self.missing_instance_id())
        self.handler.drop_node(missing)
        self.assertIs(self.handler.get_state(missing), NodeState.SHUTDOWN)

    # --- state and addresses ------------------------------------------------
    def test_a_resource_becomes_ready_and_is_shutdown_after_drop(self) -> None:
        instance = self.create()
        seen = self.wait_for_state(instance, NodeState.READY,
                                   fatal=(NodeState.FAILED, NodeState.SHUTDOWN))
        self.assertTrue(set(seen) <= {NodeState.PENDING, NodeState.UNKNOWN, NodeState.READY},
                        f"states seen on the way: {seen}")
        self.handler.drop_node(instance)
        self.wait_for_state(instance, NodeState.SHUTDOWN)

    def test_a_ready_resource_has_addresses_as_strings(self) -> None:
        instance = self.create()
        self.wait_for_state(instance, NodeState.READY, fatal=(NodeState.FAILED,))
        addresses = self.handler.get_address(instance)
        self.assertIsInstance(addresses, list)
        self.assertTrue(addresses, "a ready node has no address")
        for address in addresses:
            self.assertIsInstance(address, str)
            self.assertTrue(address.strip())
        ip_address = self.handler.get_ip_address(instance)
        if ip_address is not None:
            self.assertIsInstance(ip_address, str)

    def test_get_states_tells_what_get_state_tells_of_each_in_order(self) -> None:
        cls = type(self.handler)
        self.assertGreaterEqual(cls.states_per_call, 1)
        live, dropped = self.create(), self.create()
        self.handler.drop_node(dropped)
        self.wait_for_state(dropped, NodeState.SHUTDOWN)
        missing = Instance(self.infra_id, self.new_id("node"), self.missing_instance_id())
        asked = [dropped, live, missing, live][:max(1, cls.states_per_call)]
        states = self.handler.get_states(asked)
        self.assertEqual(len(states), len(asked))
        # `live` may boot meanwhile: its answer is one of the states of a booting node
        booting = {NodeState.PENDING, NodeState.UNKNOWN, NodeState.READY}
        for instance, state in zip(asked, states):
            self.assertIsInstance(state, NodeState)
            if instance is live:
                self.assertIn(state, booting)
            else:
                self.assertIs(state, NodeState.SHUTDOWN, instance)

    def test_create_nodes_does_what_create_node_does_for_each_in_order(self) -> None:
        cls = type(self.handler)
        self.assertGreaterEqual(cls.creates_per_call, 1)
        old = self.make_node(self.infra_id, self.new_id("node"))
        made_before = self.create(old)
        new = [self.make_node(self.infra_id, self.new_id("node")) for _ in range(2)]
        nodes = [new[0], old, new[1]][:max(1, cls.creates_per_call)]
        made = self.handler.create_nodes(nodes)
        for instance in made:
            if isinstance(instance, Instance):
                self.addCleanup(self.handler.drop_node, instance)
        self.assertEqual(len(made), len(nodes))
        for node, instance in zip(nodes, made):
            self.assertIsInstance(instance, Instance, f"node {node.node_id}: {instance}")
            self.assertEqual((instance.infra_id, instance.node_id),
                             (node.infra_id, node.node_id))
        if old in nodes:
            self.assertEqual(made[nodes.index(old)].instance_id, made_before.instance_id,
                             "a node made before is found again, not made twice")
        self.assertEqual(self.owned(), sorted(
            {(i.node_id, i.instance_id) for i in [made_before, *made]}))

    # --- errors -------------------------------------------------------------
    def test_a_rate_limit_is_a_transient_error(self) -> None:
        self.check_fault("rate_limit", TransientError)

    def test_a_bad_request_is_a_permanent_error(self) -> None:
        self.check_fault("bad_request", PermanentError)

    def check_fault(self, kind: str, expected: type[ResourceError]) -> None:
        node = self.make_node(self.infra_id, self.new_id("node"))
        if not self.inject_fault(kind):
            self.skipTest(f"{type(self).__name__} cannot inject a '{kind}' fault "
                          "(it defines no inject_fault for it)")
        with self.assertRaises(expected) as raised:
            created = self.handler.create_node(node)
            self.addCleanup(self.handler.drop_node, created)
        self.assertTrue(raised.exception.message)
        self.assertEqual(self.owned(), [], "a refused create must leave nothing behind")
