"""The behaviour every resource-handler plugin must show, as a unittest mixin.

Shipped with the resource-handler, so that a plugin of another package is
held to the same rules:

    from occo.resourcehandler.conformance import ResourceHandlerConformance

    class MyCloudConformance(ResourceHandlerConformance, unittest.TestCase):
        def make_handler(self): ...
        def make_node(self, infra_id, node_id): ...

Hooks a test class defines:

- `make_handler()`: a new handler for the backend under test. Every call
  must reach the same backend: a second handler has to see what the first
  made, as the engine's does after a crash. Its `close()` is called.
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

import copy
import threading
import time
import unittest
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.plugins import Declared, registered

from .base import (Instance, PermanentError, ResourceError, ResourceHandler, ResourceStatus,
                   TransientError)
from .plugins import PLUGINS, handler_class

# Type checkers see the TestCase a mixin ends up in; unittest must not collect the mixin.
if TYPE_CHECKING:
    Mixin = unittest.TestCase
else:
    Mixin = object

BOOTING = {NodeState.PENDING, NodeState.UNKNOWN, NodeState.READY}


def run_threads(targets: Iterable[Callable[[], object]]) -> list[BaseException]:
    """Run each target in a thread of its own, all at once; return what they raised."""
    failures: list[BaseException] = []

    def run(target: Callable[[], object]) -> None:
        try:
            target()
        except BaseException as error:     # a thread's failure must reach the test
            failures.append(error)
    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


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
        self.addCleanup(handler.close)
        return handler

    @staticmethod
    def new_id(what: str) -> str:
        return f"conformance-{what}-{uuid.uuid4().hex[:12]}"

    def create_one(self, node: ResolvedNode) -> Instance:
        """`create_nodes` of one node, which must make it."""
        made = self.handler.create_nodes([node])
        self.assertEqual(len(made), 1, f"create_nodes of one node answered {made!r}")
        if isinstance(made[0], Instance):
            self.addCleanup(self.handler.drop_node, made[0])
        elif isinstance(made[0], ResourceError):
            raise made[0]
        self.assertIsInstance(made[0], Instance)
        return made[0]

    def create(self, node: ResolvedNode | None = None) -> Instance:
        """Create a node of this test's infrastructure; it is dropped when the test ends."""
        node = node or self.make_node(self.infra_id, self.new_id("node"))
        instance = self.create_one(node)
        self.assertEqual((instance.infra_id, instance.node_id), (node.infra_id, node.node_id))
        return instance

    def status(self, instance: Instance) -> ResourceStatus:
        [status] = self.handler.get_states([instance])
        self.assertIsInstance(status, ResourceStatus)
        self.assertIsInstance(status.state, NodeState)
        return status

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
                       fatal: tuple[NodeState, ...] = ()) -> list[ResourceStatus]:
        """Poll until the state is `wanted`; fail on a `fatal` state or at the deadline."""
        seen: list[ResourceStatus] = []
        deadline = time.monotonic() + self.READY_TIMEOUT
        while True:
            status = self.status(instance)
            seen.append(status)
            if status.state == wanted:
                return seen
            if status.state in fatal or time.monotonic() > deadline:
                self.fail(f"{instance.instance_id} did not become {wanted} within "
                          f"{self.READY_TIMEOUT:g} s; seen: {seen[-3:]}")
            time.sleep(self.POLL_INTERVAL)

    # --- the plugin as registered -------------------------------------------
    def test_the_plugin_is_registered_once_with_its_schema_and_state_map(self) -> None:
        cls = type(self.handler)
        self.assertIs(handler_class(cls.type_name), cls)
        declared = registered(PLUGINS)[cls.type_name].load()
        self.assertIsInstance(declared, Declared)
        self.assertIs(declared.schema, cls.schema)
        self.assertTrue(cls.schema.connection_keys or cls.type_name == "local",
                        "the schema marks no connection key")
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
        made: list[Instance | ResourceError] = []
        failures = run_threads([lambda: made.extend(self.handler.create_nodes([node]))]
                               * self.CONCURRENT_CREATES)
        for instance in made:
            if isinstance(instance, Instance):
                self.addCleanup(self.handler.drop_node, instance)
        self.assertEqual(failures, [])
        self.assertTrue(all(isinstance(instance, Instance) for instance in made), made)
        self.assertEqual(len({instance.instance_id for instance in made}), 1)   # type: ignore
        self.assertEqual(self.owned(), [(node.node_id, made[0].instance_id)])   # type: ignore

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

    def test_a_create_changes_nothing_it_is_given(self) -> None:
        node = self.make_node(self.infra_id, self.new_id("node"))
        before = copy.deepcopy(node)
        self.create(node)
        self.assertEqual(node, before, "nodes share their sections: a plugin only reads them")

    def test_create_nodes_answers_each_node_in_order(self) -> None:
        per_call = type(self.handler).capabilities.creates_per_call
        old = self.make_node(self.infra_id, self.new_id("node"))
        made_before = self.create(old)
        new = [self.make_node(self.infra_id, self.new_id("node")) for _ in range(2)]
        nodes = [new[0], old, new[1]][:per_call]
        made = self.handler.create_nodes(nodes)
        for instance in made:
            if isinstance(instance, Instance):
                self.addCleanup(self.handler.drop_node, instance)
        self.assertEqual(len(made), len(nodes))
        for node, instance in zip(nodes, made):
            self.assertIsInstance(instance, Instance, f"node {node.node_id}: {instance}")
            assert isinstance(instance, Instance)
            self.assertEqual((instance.infra_id, instance.node_id),
                             (node.infra_id, node.node_id))
        if old in nodes:
            self.assertEqual(made[nodes.index(old)].instance_id,   # type: ignore[union-attr]
                             made_before.instance_id,
                             "a node made before is found again, not made twice")
        self.assertEqual(self.owned(), sorted(
            {(i.node_id, i.instance_id) for i in [made_before, *made]}))    # type: ignore

    # --- drop ---------------------------------------------------------------
    def test_dropping_a_resource_again_succeeds(self) -> None:
        instance = self.create()
        self.handler.drop_node(instance)
        self.handler.drop_node(instance)
        self.assertEqual(self.owned(), [])

    def test_dropping_a_missing_resource_succeeds(self) -> None:
        missing = Instance(self.infra_id, self.new_id("node"), self.missing_instance_id())
        self.handler.drop_node(missing)
        self.assertIs(self.status(missing).state, NodeState.SHUTDOWN)

    # --- state and addresses ------------------------------------------------
    def test_a_resource_becomes_ready_and_is_shutdown_after_drop(self) -> None:
        instance = self.create()
        seen = self.wait_for_state(instance, NodeState.READY,
                                   fatal=(NodeState.FAILED, NodeState.SHUTDOWN))
        self.assertTrue({status.state for status in seen} <= BOOTING,
                        f"states seen on the way: {seen}")
        self.handler.drop_node(instance)
        self.wait_for_state(instance, NodeState.SHUTDOWN)

    def test_a_ready_resource_has_addresses_as_strings(self) -> None:
        instance = self.create()
        status = self.wait_for_state(instance, NodeState.READY, fatal=(NodeState.FAILED,))[-1]
        self.assertIsInstance(status.addresses, tuple)
        self.assertTrue(status.addresses, "a ready node has no address")
        for address in status.addresses:
            self.assertIsInstance(address, str)
            self.assertTrue(address.strip())
        if status.private_ip is not None:
            self.assertIsInstance(status.private_ip, str)

    def test_get_states_answers_each_instance_in_order(self) -> None:
        per_call = type(self.handler).capabilities.states_per_call
        live, dropped = self.create(), self.create()
        self.handler.drop_node(dropped)
        self.wait_for_state(dropped, NodeState.SHUTDOWN)
        missing = Instance(self.infra_id, self.new_id("node"), self.missing_instance_id())
        asked = [dropped, live, missing, live][:per_call]
        statuses = self.handler.get_states(asked)
        self.assertEqual(len(statuses), len(asked))
        for instance, status in zip(asked, statuses):
            self.assertIsInstance(status, ResourceStatus)
            if instance is live:        # it may boot meanwhile
                self.assertIn(status.state, BOOTING)
            else:
                self.assertIs(status.state, NodeState.SHUTDOWN, instance)

    def test_a_resource_up_when_made_is_ready_at_its_first_look(self) -> None:
        if not type(self.handler).capabilities.up_when_made:
            self.skipTest(f"{type(self.handler).__name__} does not declare up_when_made")
        status = self.status(self.create())
        self.assertIs(status.state, NodeState.READY, "it declares up_when_made, yet: "
                      f"{status}")

    def test_costs_are_told_only_where_declared(self) -> None:
        instance = self.create()
        if type(self.handler).capabilities.costs:
            self.assertIsInstance(self.handler.get_cost(instance), float)
        else:
            with self.assertRaises(PermanentError):
                self.handler.get_cost(instance)

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
        try:
            [made] = self.handler.create_nodes([node])
        except ResourceError as error:
            made = error
        if isinstance(made, Instance):
            self.addCleanup(self.handler.drop_node, made)
        self.assertIsInstance(made, expected)
        assert isinstance(made, ResourceError)
        self.assertTrue(made.message)
        self.assertEqual(self.owned(), [], "a refused create must leave nothing behind")
