"""The behaviour every config-manager plugin must show, as a unittest mixin.

Shipped with the config-manager, so that a plugin of another package is held
to the same rules as the ones here:

    from occo.configmanager.conformance import ConfigManagerConformance

    class MyManagerConformance(ConfigManagerConformance, unittest.TestCase):
        def make_manager(self): ...
        def make_target(self, node): ...

Hooks a test class defines:

- `make_manager()`: a new manager for the type under test. Every call must
  reach the same backend (a Chef server): a second manager sees what the
  first registered, as the engine's does after a restart.
- `make_node(infra_id, node_id)`: a `ResolvedNode` the manager takes, its
  `config_management` section of the type under test (by default, one built
  from `SECTION`).
- `make_target(node)`: the node's instance once its resource is up
  (`ConfigTarget`): for a manager that configures over SSH, a host it can
  reach.

and may define:

- `make_broken_target(node)`: an instance whose configuration fails for good
  (a manifest naming a package that does not exist); the failure test is
  skipped, saying so, when it returns None (the default).
- `SECTION`: the `config_management` section `make_node` uses.

Each test uses infrastructure and node ids of its own and drops what it made.
"""
from __future__ import annotations

import copy
import json
import unittest
import uuid
from typing import TYPE_CHECKING, Any

from occo.util.nodes import NodeState, ResolvedNode
from occo.util.plugins import Declared, registered

from .base import ConfigManager, ConfigTarget, Configured
from .plugins import PLUGINS, manager_class

# Type checkers see the TestCase a mixin ends up in; unittest must not collect the mixin.
if TYPE_CHECKING:
    Mixin = unittest.TestCase
else:
    Mixin = object

PARALLEL_TARGETS = 3


class ConfigManagerConformance(Mixin):
    SECTION: dict[str, Any] = {"type": "dummy"}

    manager: ConfigManager

    if TYPE_CHECKING:  # what a plugin's test class provides
        def make_manager(self) -> ConfigManager: ...
        def make_target(self, node: ResolvedNode) -> ConfigTarget: ...

    def make_node(self, infra_id: str, node_id: str) -> ResolvedNode:
        return ResolvedNode(infra_id=infra_id, infra_name="conformance", user_id="tester",
                            node_id=node_id, name="configured",
                            resource={"type": "local"},
                            config_management=copy.deepcopy(self.SECTION))

    def make_broken_target(self, node: ResolvedNode) -> ConfigTarget | None:
        return None

    def setUp(self) -> None:
        super().setUp()
        self.manager = self.make_manager()
        self.infra_id = self.new_id("infra")
        self.manager.create_infrastructure(self.infra_id)
        self.addCleanup(self.manager.drop_infrastructure, self.infra_id)

    @staticmethod
    def new_id(what: str) -> str:
        return f"conf-{what}-{uuid.uuid4().hex[:10]}"

    def registered_node(self) -> ResolvedNode:
        """A node of this test's infrastructure, registered, dropped at cleanup."""
        node = self.make_node(self.infra_id, str(uuid.uuid4()))
        self.manager.register_node(node)
        self.addCleanup(self.manager.drop_node, node.infra_id, node.node_id)
        return node

    def configured(self, target: ConfigTarget) -> ConfigTarget:
        """The target after the configure step, if the manager has one."""
        if not self.manager.configures:
            return target
        done = self.manager.configure(target)
        self.assertIsInstance(done, Configured)
        self.assertTrue(done.ok, f"the configure step failed: {done.detail}")
        return ConfigTarget(**{**target.__dict__, "configured": done})

    # --- registration ----------------------------------------------------------------
    def test_the_plugin_is_registered_with_its_schema(self) -> None:
        cls = type(self.manager)
        self.assertIs(manager_class(cls.type_name), cls)
        declared = registered(PLUGINS)[cls.type_name].load()
        self.assertIsInstance(declared, Declared)
        self.assertIs(declared.schema, cls.schema)

    # --- infrastructures --------------------------------------------------------------
    def test_an_infrastructure_exists_once_created_and_creating_it_again_succeeds(self) -> None:
        self.manager.create_infrastructure(self.infra_id)
        self.assertTrue(self.manager.infrastructure_exists(self.infra_id))
        self.assertTrue(self.make_manager().infrastructure_exists(self.infra_id),
                        "a second manager sees it too")

    def test_dropping_an_infrastructure_again_or_one_never_made_succeeds(self) -> None:
        self.manager.drop_infrastructure(self.infra_id)
        self.manager.drop_infrastructure(self.infra_id)
        self.manager.drop_infrastructure(self.new_id("never"))

    # --- nodes ----------------------------------------------------------------------
    def test_a_node_is_registered_before_it_has_an_address_and_changes_not(self) -> None:
        node = self.make_node(self.infra_id, str(uuid.uuid4()))
        before = copy.deepcopy(node)
        self.manager.register_node(node)
        self.addCleanup(self.manager.drop_node, node.infra_id, node.node_id)
        self.manager.register_node(node)        # again: the engine retries a create
        self.assertEqual(node, before)

    def test_dropping_a_node_again_or_one_never_registered_succeeds(self) -> None:
        node = self.registered_node()
        self.manager.drop_node(node.infra_id, node.node_id)
        self.manager.drop_node(node.infra_id, node.node_id)
        self.manager.drop_node(self.infra_id, str(uuid.uuid4()))

    def test_a_configured_node_is_ready(self) -> None:
        target = self.configured(self.make_target(self.registered_node()))
        self.assertEqual(self.manager.get_node_state(target), NodeState.READY)

    def test_configuring_again_changes_nothing_and_the_node_stays_ready(self) -> None:
        if not self.manager.configures:
            self.skipTest(f"{self.manager.type_name} has no configure step")
        target = self.configured(self.make_target(self.registered_node()))
        again = self.configured(target)
        self.assertEqual(self.manager.get_node_state(again), NodeState.READY)

    def test_a_node_not_configured_yet_is_not_ready(self) -> None:
        if not self.manager.configures:
            self.skipTest(f"{self.manager.type_name} has no configure step")
        target = self.make_target(self.registered_node())
        self.assertIsNone(target.configured)
        self.assertNotEqual(self.manager.get_node_state(target), NodeState.READY)

    def test_a_failed_configuration_says_what_failed_and_the_node_fails(self) -> None:
        broken = self.make_broken_target(self.registered_node())
        if broken is None:
            self.skipTest(f"no configuration of {self.manager.type_name} is known to fail")
        done = self.manager.configure(broken)
        self.assertFalse(done.ok)
        self.assertTrue(done.detail, "a failure says what failed")
        failed = ConfigTarget(**{**broken.__dict__, "configured": done})
        self.assertEqual(self.manager.get_node_state(failed), NodeState.FAILED)

    def test_nodes_are_configured_from_several_threads_at_once(self) -> None:
        if not self.manager.configures:
            self.skipTest(f"{self.manager.type_name} has no configure step")
        from concurrent.futures import ThreadPoolExecutor
        targets = [self.make_target(self.registered_node()) for _ in range(PARALLEL_TARGETS)]
        with ThreadPoolExecutor(PARALLEL_TARGETS) as pool:
            results = list(pool.map(self.manager.configure, targets))
        self.assertEqual([result.ok for result in results], [True] * PARALLEL_TARGETS,
                         [result.detail for result in results])

    def test_an_unknown_attribute_is_none(self) -> None:
        target = self.configured(self.make_target(self.registered_node()))
        self.assertIsNone(self.manager.get_node_attribute(target, "no-such-attribute-here"))

    def test_a_configured_result_is_stored_as_json_and_read_back_alike(self) -> None:
        target = self.configured(self.make_target(self.registered_node()))
        if target.configured is None:
            self.skipTest(f"{self.manager.type_name} has no configure step")
        stored = json.loads(json.dumps(target.configured.to_dict()))
        self.assertEqual(Configured.from_dict(stored), target.configured)

    def test_template_attributes_are_plain_data_and_leave_the_node_alone(self) -> None:
        node = self.make_node(self.infra_id, str(uuid.uuid4()))
        before = copy.deepcopy(node)
        attributes = self.manager.resolve_attributes(node)
        self.assertIsInstance(attributes, dict)
        json.dumps(attributes)
        self.assertEqual(node, before)
