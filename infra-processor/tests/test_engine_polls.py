"""Readiness polls: those due together go in one call a cloud, and one answer fails only its node;
a created node's boot is timed from the call that made it."""
import dataclasses
import random
import threading
import time
import unittest
from collections.abc import Sequence
from unittest import mock

from occo.infraprocessor.engine import InstanceRecord, Outcome, Phase, Step
from occo.infraprocessor.engine.backends import Backends
from occo.infraprocessor.engine.operations import Observation, Operations, Told
from occo.infraprocessor.engine.pacing import Pacing
from occo.infraprocessor.engine.retry import Backoff, Retrier
from occo.infraprocessor.health import HealthChecker
from occo.infraprocessor.health.checker import HealthCheckError
from occo.infraprocessor.health.report import CheckResult
from occo.infraprocessor.instructions import CreateNodes
from occo.resourcehandler.base import (Capabilities, Instance, ResourceHandler, ResourceStatus,
                                       TransientError)
from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.util.config import Settings
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.schema import Schema

from .test_engine_fixture import EngineWorld, Gate, SimCloudCase, simcloud_definition

NOTHING = frozenset()


class StatesCloud(ResourceHandler):
    """A stand-in cloud: every instance is in `state`, at an address of its own."""

    type_name = "states"
    schema = Schema("resource states", {})
    capabilities = Capabilities(creates_per_call=10, states_per_call=50)
    state = NodeState.READY
    failure: Exception | None = None

    def get_states(self, instances: Sequence[Instance]) -> list[ResourceStatus]:
        if self.failure is not None:
            raise self.failure
        return [ResourceStatus(self.state, (f"10.1.0.{instance.node_id[1:]}",),
                               f"10.1.0.{instance.node_id[1:]}") for instance in instances]

    create_nodes = drop_node = list_owned = None     # not called here


class HeldPinger:
    """Holds the ping of the first address it is asked (until `release`), answers others."""

    def __init__(self) -> None:
        self.held: str | None = None
        self.holding = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()

    def ping(self, address: str, ports: Sequence[int], timeout: float) -> CheckResult:
        with self.lock:
            self.held = self.held or address
        if address == self.held:
            self.holding.set()
            self.released.wait(5)
            self.holding.clear()
        return CheckResult("ping", address, True)


class BarrierPinger:
    """Answers a ping only once `parties` pings wait together: checks made one after the
    other fail it (the barrier breaks after `timeout`)."""

    def __init__(self, parties: int, timeout: float = 3.0) -> None:
        self.barrier = threading.Barrier(parties, timeout=timeout)

    def ping(self, address: str, ports: Sequence[int], timeout: float) -> CheckResult:
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            return CheckResult("ping", address, False, "pinged alone")
        return CheckResult("ping", address, True)


def record(node_id: str, *, addresses: tuple[str, ...] = ("10.1.0.1",),
           health_check: dict | None = None) -> InstanceRecord:
    node = ResolvedNode("infra", "shop", "tester", node_id, "web", {"type": "states"},
                        health_check=health_check or {"ping": False})
    return InstanceRecord(node, Phase.CREATED, 1.0, instance=Instance("infra", node_id,
                                                                      f"i-{node_id}"),
                          addresses=addresses)


class OperationsTest(unittest.TestCase):
    def operations(self, cloud: type[StatesCloud],
                   checker: HealthChecker | None = None) -> Operations:
        handlers = ResourceHandlers(Settings(), load=lambda type_name: cloud)
        self.addCleanup(handlers.close)
        retrier = Retrier(Backoff(0.001, 2.0, 0.01), 2, rng=random.Random(0),
                          sleep=lambda seconds: False)
        return Operations(Backends(handlers, None), checker or HealthChecker(),
                          create_retrier=retrier, retrier=retrier)

    def cloud(self, **attributes) -> type[StatesCloud]:
        return type("Cloud", (StatesCloud,), attributes)

    def test_each_instance_gets_its_observation_in_order_with_its_addresses(self):
        records = [record("n1"), record("n2", addresses=())]
        seen = self.operations(self.cloud()).observe_all(records)
        self.assertEqual([type(one) for one in seen], [Observation, Observation])
        self.assertEqual([one.resource for one in seen], [NodeState.READY] * 2)
        self.assertEqual([(one.addresses, one.private_ip) for one in seen],
                         [(("10.1.0.1",), "10.1.0.1"), (("10.1.0.2",), "10.1.0.2")])
        self.assertTrue(all(one.report.ready for one in seen))

    def test_a_health_check_that_reaches_the_node_is_left_to_finish_one_by_one(self):
        records = [record("n1", health_check={"ping": True}), record("n2")]
        operations = self.operations(self.cloud(), HealthChecker(pinger=BarrierPinger(1)))
        seen = operations.observe_all(records)
        self.assertEqual([type(one) for one in seen], [Told, Observation])
        self.assertEqual(seen[0].status.state, NodeState.READY)
        finished = operations.finish(seen[0], records[0])
        self.assertTrue(finished.report.ready)
        self.assertEqual(finished.report.address, "10.1.0.1")

    def test_a_health_check_is_made_at_the_address_the_cloud_gives_now(self):
        pinged = []
        pinger = mock.Mock(ping=lambda address, ports, timeout: pinged.append(address)
                           or CheckResult("ping", address, True))
        operations = self.operations(self.cloud(), HealthChecker(pinger=pinger))
        stored = record("n3", addresses=("10.9.9.9",), health_check={"ping": True})
        [told] = operations.observe_all([stored])
        self.assertEqual(operations.finish(told, stored).addresses, ("10.1.0.3",))
        self.assertEqual(pinged, ["10.1.0.3"])

    def test_an_instance_whose_observation_fails_fails_alone(self):
        records = [record("n1"), record("n2", health_check={"ping": False, "timeout": "soon"})]
        first, second = self.operations(self.cloud()).observe_all(records)
        self.assertIsInstance(first, Observation)
        self.assertIsInstance(second, HealthCheckError)
        self.assertIn("not a number", second.message)

    def test_a_failed_call_for_the_states_is_every_instance_s_error(self):
        records = [record("n1"), record("n2")]
        seen = self.operations(self.cloud(failure=TransientError("503"))).observe_all(records)
        self.assertEqual([type(one) for one in seen], [TransientError, TransientError])

    def test_booting_instances_are_not_checked(self):
        checker = HealthChecker(pinger=BarrierPinger(1, timeout=0.1))
        checker.check = mock.Mock(side_effect=AssertionError("checked while booting"))
        seen = self.operations(self.cloud(state=NodeState.PENDING), checker).observe_all(
            [record("n1", health_check={"ping": True})])
        self.assertIsInstance(seen[0], Observation)
        self.assertEqual((seen[0].resource, seen[0].report), (NodeState.PENDING, None))
        self.assertEqual(seen[0].addresses, ("10.1.0.1",), "a booting node's address is kept")

    def test_a_node_is_timed_from_when_the_call_that_made_it_was_sent(self):
        calls = []

        class Making(StatesCloud):
            def create_nodes(self, nodes):
                calls.append(time.monotonic())
                time.sleep(0.05)        # a call making many answers late
                return [TransientError("busy") if len(calls) == 1 and node.node_id == "n2"
                        else Instance(node.infra_id, node.node_id, f"i-{node.node_id}")
                        for node in nodes]
        nodes = [record(node_id).node for node_id in ("n1", "n2")]
        first, retried = self.operations(Making).launch(nodes)
        self.assertEqual(len(calls), 2)
        self.assertLessEqual(first.sent, calls[0])
        self.assertGreater(first.sent, calls[0] - 0.04)
        self.assertLessEqual(retried.sent, calls[1])
        self.assertGreater(retried.sent, calls[0] + 0.04)


class EnginePollsTest(SimCloudCase):
    def test_polls_falling_due_together_go_in_one_call_for_many_instances(self):
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("web", "web_node"))
        with mock.patch.object(Operations, "observe_all", autospec=True,
                               side_effect=Operations.observe_all) as observe_all:
            result = world.execute(world.engine(), CreateNodes("web", 40, NOTHING))
        self.assertTrue(result.ok, result)
        carried = [len(call.args[1]) for call in observe_all.call_args_list]
        self.assertGreaterEqual(sum(carried), 40)
        self.assertGreater(max(carried), 1, carried)
        self.assertLess(len(carried), sum(carried))

    def test_a_cloud_whose_resources_are_up_when_made_is_polled_at_once(self):
        self.faults(boot_time=0.0)          # running as soon as made, as a started container

        class UpWhenMade(SimCloudHandler):
            capabilities = dataclasses.replace(SimCloudHandler.capabilities, up_when_made=True)
        handlers = ResourceHandlers(Settings(), load=lambda _: UpWhenMade)
        self.addCleanup(handlers.close)
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("web", "web_node"))
        with mock.patch.object(Pacing, "delay", autospec=True,
                               side_effect=AssertionError("a first poll waited")) as delay:
            result = world.execute(world.engine(handlers), CreateNodes("web", 3, NOTHING))
        self.assertTrue(result.ok, result)
        delay.assert_not_called()

    def test_a_node_whose_health_check_hangs_holds_up_no_other(self):
        world = EngineWorld(self, {"web_node": [simcloud_definition(
            self.cloud, health_check={"ping": True})]}, ("web", "web_node"))
        pinger = HeldPinger()
        ready_while_held = []

        def on_ready(name, step):
            if step is Step.READY and pinger.holding.is_set():
                ready_while_held.append(name)
                pinger.released.set()
        world.progress.hook = on_ready
        engine = world.engine(checker=HealthChecker(pinger=pinger, timeout=2.0))
        result = world.execute(engine, CreateNodes("web", 2, NOTHING))
        self.assertTrue(result.ok, result)
        self.assertEqual(ready_while_held, ["web"])

    def test_a_node_whose_health_check_failed_has_its_failing_period_cleared_when_healthy(self):
        gate = Gate(self)
        world = EngineWorld(
            self, {"web_node": [simcloud_definition(self.cloud, health_check=gate.health_check())]},
            ("web", "web_node"))
        store = world.store
        calls = []

        def failing_period(infra_id, node_id, *, failing, now):
            calls.append((node_id, failing))
            if failing:
                gate.open()         # healthy from the next check on
            return original(infra_id, node_id, failing=failing, now=now)
        original = store.failing_period
        with mock.patch.object(store, "failing_period", side_effect=failing_period):
            result = world.execute(world.engine(), CreateNodes("web", 2, NOTHING))
        self.assertTrue(result.ok, result)
        failed_once = {node_id for node_id, failing in calls if failing}
        self.assertTrue(failed_once, calls)
        self.assertEqual({node_id for node_id, failing in calls if not failing}, failed_once)
        self.assertEqual([r.outcome for r in result.nodes], [Outcome.CREATED] * 2)

    def test_a_node_made_here_and_never_unhealthy_costs_no_failing_period_call(self):
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("web", "web_node"))
        with mock.patch.object(world.store, "failing_period") as failing_period:
            result = world.execute(world.engine(), CreateNodes("web", 3, NOTHING))
        self.assertTrue(result.ok, result)
        failing_period.assert_not_called()
