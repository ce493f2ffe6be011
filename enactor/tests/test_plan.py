import json
import unittest

from occo.compiler import compile_description
from occo.enactor.plan import InstanceView, Plan, held_back, plan_pass
from occo.infraprocessor.instructions import (ConfigureNode, CreateInfrastructure, CreateNodes,
                                              DropNode)
from occo.infobroker.store import PendingScaling
from occo.util.nodes import NodeState
from occo.util.yamlload import load_text

STATIC = compile_description(load_text("""\
infra_name: shop
nodes:
  - &DB {name: db, type: t}
  - &APP {name: app, type: t, scaling: {min: 2, max: 4}}
  - &MON {name: monitor, type: t}
  - &LB {name: lb, type: t}
dependencies:
  - [*APP, *DB]
  - [*LB, *APP]
"""), infra_id="infra-1")

READY, FAILED, SHUTDOWN, PENDING = (NodeState.READY, NodeState.FAILED, NodeState.SHUTDOWN,
                                     NodeState.PENDING)


def view(node_id, state=READY, created_at=0.0, addresses=()):
    return InstanceView(node_id, state, tuple(addresses), created_at)


def plan(instances=None, targets=None, requests=None, exists=True):
    return plan_pass(STATIC, instances or {}, targets or {}, requests or {}, exists)


class PlanTest(unittest.TestCase):
    def test_a_new_infrastructure_creates_everything_in_dependency_order(self):
        result = plan(exists=False)
        self.assertEqual(result.actions, (
            CreateInfrastructure("infra-1"),
            CreateNodes("db", 1, frozenset()),
            CreateNodes("monitor", 1, frozenset()),
            CreateNodes("app", 2, frozenset({"db"})),
            CreateNodes("lb", 1, frozenset({"app"}))))
        self.assertEqual(dict(result.targets), {"db": 1, "monitor": 1, "app": 2, "lb": 1})

    def test_a_converged_infrastructure_plans_nothing(self):
        instances = {"db": [view("d1")], "monitor": [view("m1")], "lb": [view("l1")],
                     "app": [view("a1"), view("a2", PENDING)]}
        result = plan(instances, {"app": 2})
        self.assertTrue(result.changes_nothing)
        self.assertEqual(result.describe(), ["nothing to do"])

    def test_the_original_order_of_actions(self):
        instances = {"db": [view("d1", FAILED)], "monitor": [view("m1")], "lb": [view("l1")],
                     "app": [view("a1", created_at=1), view("a2", created_at=3),
                             view("a3", created_at=2)],
                     "cache": [view("c1")]}
        result = plan(instances, {"app": 2})
        self.assertEqual(result.actions, (
            DropNode("app", "a2", "surplus"),          # the youngest goes
            DropNode("cache", "c1", "removed"),
            DropNode("db", "d1", "failed"),
            CreateNodes("db", 1, frozenset())))

    def test_ready_instances_due_are_configured_again_unless_they_go(self):
        instances = {"db": [view("d1")], "monitor": [view("m1", PENDING)], "lb": [view("l1")],
                     "app": [view("a1", created_at=1), view("a2", created_at=3),
                             view("a3", created_at=2)]}
        result = plan_pass(STATIC, instances, {"app": 2}, {}, True,
                           reapply={"d1", "m1", "a1", "a2"})
        self.assertEqual(result.actions, (
            DropNode("app", "a2", "surplus"),
            ConfigureNode("db", "d1"),              # m1 is not ready, a2 goes
            ConfigureNode("app", "a1")))
        self.assertEqual(result.describe()[1], "configure db d1 again")
        self.assertFalse(result.writes_nothing)

    def test_shut_down_instances_are_dropped_and_replaced(self):
        instances = {"db": [view("d1", SHUTDOWN)], "monitor": [view("m1")], "lb": [view("l1")],
                     "app": [view("a1"), view("a2")]}
        self.assertEqual(plan(instances, {"app": 2}).describe(),
                         ["drop db d1 (shutdown)", "create 1 x db"])

    def test_scaling_requests_are_planned_and_reported_for_storing(self):
        instances = {"db": [view("d1")], "monitor": [view("m1")], "lb": [view("l1")],
                     "app": [view("a1", addresses=["10.0.0.1"]), view("a2")]}
        requests = {"app": PendingScaling(create=3)}
        result = plan(instances, {"app": 2}, requests)
        self.assertEqual(result.describe(), ["create 2 x app after db"])
        self.assertEqual(result.targets["app"], 4)
        self.assertEqual(result.handled_requests, {"app": PendingScaling(create=3)})
        self.assertEqual(len(result.messages), 1)
        shrink = plan(instances, {"app": 4}, {"app": PendingScaling(named=("10.0.0.1",))})
        # the named instance goes even though app is below its target; the target is refilled
        self.assertEqual(shrink.describe(), ["drop app a1 (requested)", "create 2 x app after db"])
        self.assertEqual(shrink.targets["app"], 3)

    def test_only_targets_that_differ_from_the_stored_ones_are_to_store(self):
        instances = {"db": [view("d1")], "monitor": [view("m1")], "lb": [view("l1")],
                     "app": [view("a1"), view("a2")]}
        result = plan(instances, {"db": 1, "app": 2, "monitor": 1}, {})
        self.assertEqual(result.target_changes, {"lb": 1})       # nothing stored for lb yet
        grown = plan(instances, {"db": 1, "app": 2, "monitor": 1, "lb": 1},
                     {"app": PendingScaling(create=1)})
        self.assertEqual(grown.target_changes, {"app": 3})

    def test_plan_is_json(self):
        data = json.loads(json.dumps(plan(exists=False).to_json()))
        self.assertEqual(data["actions"][3], {"action": "CreateNodes", "node_name": "app",
                                              "count": 2, "waits_for": ["db"]})


class HeldBackTest(unittest.TestCase):
    def plan(self):
        return Plan("infra-1", (CreateInfrastructure("infra-1"),
                                CreateNodes("db", 1, frozenset()),
                                CreateNodes("monitor", 1, frozenset()),
                                CreateNodes("app", 2, frozenset({"db"})),
                                CreateNodes("lb", 1, frozenset({"app"}))), {}, {})

    def test_a_held_node_and_what_waits_for_it_down_the_chain_are_left_out_saying_why(self):
        held = held_back(self.plan(), {"db": "it keeps failing"})
        self.assertEqual([action.describe() for action in held.actions],
                         ["create infrastructure infra-1", "create 1 x monitor"])
        self.assertEqual(held.messages, (
            "node 'app': not created this pass: a node it waits for is held back",
            "node 'db': not created this pass: it keeps failing",
            "node 'lb': not created this pass: a node it waits for is held back"))

    def test_holding_a_node_the_plan_does_not_create_changes_nothing(self):
        plan = self.plan()
        self.assertIs(held_back(plan, {"cache": "it keeps failing"}), plan)
