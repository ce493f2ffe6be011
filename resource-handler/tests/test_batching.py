"""Calls made together share merged calls (`Batcher`: the guard's polls); the guard's
`create_nodes`."""
from __future__ import annotations

import threading
import time
import unittest
from functools import partial
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import ClassVar

from occo.util.config import PluginSettings, Settings
from occo.util.nodes import NodeState, ResolvedNode

from occo.resourcehandler.base import (Instance, PermanentError, ResourceError,
                                       ResourceHandler, TransientError)
from occo.resourcehandler.batching import Batcher
from occo.resourcehandler.guard import ResourceHandlers

from .support import run_threads

DEADLINE = 30.0         # a safety net against hanging, never a timing assertion


def instance(number: int) -> Instance:
    return Instance("infra", f"node-{number}", f"i-{number}")


def resolved(number: int) -> ResolvedNode:
    return ResolvedNode(infra_id="infra", infra_name="shop", user_id="tester",
                        node_id=f"node-{number}", name="app", resource={"type": "fake"})


class Cloud:
    """Answers `get_states` calls and records them; fails the first one if told to."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[str]] = []
        self._fail_first = fail_first
        self._lock = threading.Lock()

    def get_states(self, instances: Sequence[Instance]) -> list[NodeState]:
        with self._lock:
            self.calls.append([item.instance_id for item in instances])
            first = len(self.calls) == 1
        if first and self._fail_first:
            raise TransientError("the cloud is busy")
        # a state of its own for each instance, so that a mix-up shows
        return [NodeState.READY if int(item.instance_id[2:]) % 2 else NodeState.PENDING
                for item in instances]


class BatcherTest(unittest.TestCase):
    def gather(self, cloud: Cloud, count: int, size: int = 50) -> dict[int, object]:
        """`count` queries at once: the first one's gathering lasts until all have joined."""
        def until_all_joined(seconds: float) -> None:
            deadline = time.monotonic() + DEADLINE
            while batcher.gathering < count and time.monotonic() < deadline:
                time.sleep(0.001)
        batcher = Batcher(cloud.get_states, size, sleep=until_all_joined)
        got: dict[int, object] = {}

        def query(number: int) -> None:
            try:
                got[number] = batcher.call(instance(number))
            except TransientError as error:
                got[number] = error
        self.assertEqual(run_threads([partial(query, number) for number in range(count)]), [])
        return got

    def test_a_lone_query_is_one_call_of_its_own_after_the_gathering_time(self):
        cloud = Cloud()
        waited = []
        batcher = Batcher(cloud.get_states, size=10, gather=0.004, sleep=waited.append)
        self.assertIs(batcher.call(instance(3)), NodeState.READY)
        self.assertIs(batcher.call(instance(4)), NodeState.PENDING)
        self.assertEqual(cloud.calls, [["i-3"], ["i-4"]])
        self.assertEqual(waited, [0.004, 0.004])

    def test_queries_made_together_share_a_call_and_get_their_own_states(self):
        cloud = Cloud()
        got = self.gather(cloud, count=13)
        self.assertEqual(len(cloud.calls), 1, cloud.calls)
        self.assertEqual(sorted(cloud.calls[0]), sorted(f"i-{n}" for n in range(13)))
        self.assertEqual(got, {n: NodeState.READY if n % 2 else NodeState.PENDING
                               for n in range(13)})

    def test_a_call_asks_for_at_most_size_instances(self):
        cloud = Cloud()
        got = self.gather(cloud, count=10, size=4)
        self.assertEqual(sorted(len(call) for call in cloud.calls), [2, 4, 4])
        self.assertEqual(sorted(id_ for call in cloud.calls for id_ in call),
                         sorted(f"i-{n}" for n in range(10)))
        self.assertEqual(len(got), 10)

    def test_a_failed_call_fails_its_callers_only(self):
        cloud = Cloud(fail_first=True)
        got = self.gather(cloud, count=6, size=3)
        failed = {number for number, answer in got.items() if isinstance(answer, TransientError)}
        self.assertEqual({f"i-{number}" for number in failed}, set(cloud.calls[0]))
        self.assertEqual(len(failed), 3)
        self.assertEqual({number: got[number] for number in set(got) - failed},
                         {n: NodeState.READY if n % 2 else NodeState.PENDING
                          for n in set(got) - failed})

    def test_callers_get_an_error_of_their_own(self):
        cloud = Cloud(fail_first=True)
        got = self.gather(cloud, count=4)
        self.assertEqual(len({id(error) for error in got.values()}), 4)
        self.assertTrue(all(isinstance(error, TransientError) for error in got.values()))

    def test_a_leader_interrupted_while_gathering_still_asks_for_those_who_joined(self):
        cloud = Cloud()
        joined = threading.Event()

        def interrupted(seconds: float) -> None:
            """The first leader's gathering ends in an interrupt, once everyone joined."""
            if cloud.calls:
                return
            joined.wait(DEADLINE)
            raise KeyboardInterrupt
        batcher = Batcher(cloud.get_states, size=10, sleep=interrupted)
        got: dict[int, object] = {}

        def follow() -> None:
            while batcher.gathering < 1:        # the leader (this test's thread) is first
                time.sleep(0.001)
            threading.Thread(target=lambda: got.update({1: batcher.call(instance(1))})).start()
            while batcher.gathering < 2:
                time.sleep(0.001)
            joined.set()
        helper = threading.Thread(target=follow)
        helper.start()
        with self.assertRaises(KeyboardInterrupt):
            batcher.call(instance(0))
        helper.join(DEADLINE)
        wait_until = time.monotonic() + DEADLINE
        while 1 not in got and time.monotonic() < wait_until:
            time.sleep(0.001)
        self.assertEqual(got, {1: NodeState.READY})
        self.assertEqual(cloud.calls, [["i-0", "i-1"]])
        self.assertIs(batcher.call(instance(2)), NodeState.PENDING)     # not stranded

    def test_a_leader_interrupted_during_its_call_leaves_transient_errors_behind(self):
        answered = []

        def interrupted(instances: Sequence[Instance]) -> list[NodeState]:
            if not answered:
                answered.append(len(instances))
                raise KeyboardInterrupt
            return [NodeState.READY] * len(instances)
        got = {}
        batcher = None

        def until_joined(seconds: float) -> None:
            while not answered and batcher.gathering < 2:      # the first call: both join
                time.sleep(0.001)
        batcher = Batcher(interrupted, size=10, sleep=until_joined)

        def query(number: int) -> None:
            try:
                got[number] = batcher.call(instance(number))
            except (TransientError, KeyboardInterrupt) as error:
                got[number] = type(error)
        self.assertEqual(run_threads([partial(query, 0), partial(query, 1)]), [])
        self.assertEqual(sorted(got.values(), key=str),
                         sorted([KeyboardInterrupt, TransientError], key=str))
        self.assertEqual(answered, [2])
        self.assertIs(batcher.call(instance(3)), NodeState.READY)       # not stranded

    def test_a_batch_holds_at_least_one(self):
        with self.assertRaises(ValueError):
            Batcher(Cloud().get_states, size=0)


class FakeCloud(ResourceHandler):
    """A stand-in plugin with no backend: its states come from the test."""

    type_name = "fake"
    answer: ClassVar[Callable[[Sequence[Instance]], list[NodeState]]]
    asked: ClassVar[list[list[str]]]
    made: ClassVar[Callable[[Sequence[ResolvedNode]], list[object]]]

    def get_state(self, instance: Instance) -> NodeState:
        self.asked.append([instance.instance_id])
        return NodeState.PENDING

    def get_states(self, instances: Sequence[Instance]) -> list[NodeState]:
        self.asked.append([item.instance_id for item in instances])
        return type(self).answer(instances)

    def create_node(self, node: ResolvedNode) -> Instance:
        self.asked.append([node.node_id])
        return Instance(node.infra_id, node.node_id, "i-alone")

    def create_nodes(self, nodes: Sequence[ResolvedNode]) -> list[Instance | ResourceError]:
        self.asked.append([node.node_id for node in nodes])
        return type(self).made(nodes)

    def drop_node(self, instance: Instance) -> None:
        raise NotImplementedError("not used here")

    def get_address(self, instance: Instance) -> list[str]:
        raise NotImplementedError("not used here")

    def get_ip_address(self, instance: Instance) -> str | None:
        raise NotImplementedError("not used here")

    def list_owned(self, infra_id: str) -> list[Instance]:
        raise NotImplementedError("not used here")


class GuardTest(unittest.TestCase):
    def handler(self, per_call: int,
                answer: Callable[[Sequence[Instance]], list[NodeState]] = lambda items: [],
                made: Callable[[Sequence[ResolvedNode]], list[object]] = lambda nodes: []
                ) -> type[FakeCloud]:
        cloud = type("FakeCloud", (FakeCloud,), {
            "states_per_call": per_call, "creates_per_call": per_call,
            "answer": staticmethod(answer), "made": staticmethod(made), "asked": []})
        handlers = ResourceHandlers(Settings(), load=lambda type_name: cloud)
        self.addCleanup(handlers.close)
        self.guarded = handlers.for_resource({"type": "fake"})
        return cloud

    def test_a_plugin_telling_many_states_is_asked_through_get_states(self):
        cloud = self.handler(8, lambda instances: [NodeState.READY] * len(instances))
        self.assertEqual(run_threads([lambda: self.guarded.get_state(instance(1))] * 3), [])
        self.assertEqual(sum(len(call) for call in cloud.asked), 3)
        self.assertIs(self.guarded.get_state(instance(2)), NodeState.READY)

    def test_a_plugin_telling_one_state_at_a_time_is_asked_with_get_state(self):
        cloud = self.handler(1, lambda instances: [NodeState.READY] * len(instances))
        self.assertIs(self.guarded.get_state(instance(1)), NodeState.PENDING)
        self.assertEqual(cloud.asked, [["i-1"]])

    def test_an_answer_of_the_wrong_length_is_a_plugin_bug(self):
        self.handler(8, lambda instances: [])
        with self.assertRaises(PermanentError) as caught:
            self.guarded.get_state(instance(1))
        self.assertIn("get_states gave 0 answers for 1 items: a bug in the fake plugin",
                      str(caught.exception))

    def test_sent_is_when_this_thread_s_last_call_left_past_the_backend_s_limits(self):
        cloud = type("FakeCloud", (FakeCloud,), {"asked": []})
        settings = Settings(plugins=MappingProxyType({"fake": PluginSettings(rate_per_second=10)}))
        handlers = ResourceHandlers(settings, load=lambda type_name: cloud)
        self.addCleanup(handlers.close)
        guarded = handlers.for_resource({"type": "fake"})
        guarded.get_state(instance(1))
        asked = time.monotonic()
        guarded.get_state(instance(2))          # its turn comes a tenth of a second after
        self.assertGreater(guarded.sent - asked, 0.05)
        other: list[float] = []
        self.assertEqual(run_threads([lambda: other.append(guarded.sent)]), [])
        self.assertGreater(other[0], guarded.sent, "another thread has made no call: now")

    def test_get_states_asks_the_plugin_once_for_all_of_them(self):
        cloud = self.handler(8, lambda instances: [NodeState.READY, NodeState.PENDING])
        self.assertEqual(self.guarded.get_states([instance(1), instance(2)]),
                         [NodeState.READY, NodeState.PENDING])
        self.assertEqual(cloud.asked, [["i-1", "i-2"]])
        self.assertEqual(self.guarded.states_per_call, 8)

    def test_get_states_of_a_plugin_telling_one_state_at_a_time_is_its_get_state(self):
        cloud = self.handler(1, lambda instances: [NodeState.READY] * len(instances))
        self.assertEqual(self.guarded.get_states([instance(1)]), [NodeState.PENDING])
        self.assertEqual(cloud.asked, [["i-1"]])

    def test_get_states_takes_1_to_states_per_call_instances(self):
        self.handler(2, lambda instances: [NodeState.READY] * len(instances))
        for count in (0, 3):
            with self.subTest(count=count), self.assertRaises(ValueError):
                self.guarded.get_states([instance(number) for number in range(count)])

    def test_create_nodes_is_one_call_whose_nodes_get_their_own_answers(self):
        def made(nodes: Sequence[ResolvedNode]) -> list[object]:
            return [PermanentError(f"no image for {node.node_id}") if node.node_id == "node-1"
                    else Instance(node.infra_id, node.node_id, f"i-{node.node_id}")
                    for node in nodes]
        cloud = self.handler(8, made=made)
        got = self.guarded.create_nodes([resolved(number) for number in range(3)])
        self.assertEqual(cloud.asked, [["node-0", "node-1", "node-2"]])
        self.assertEqual(got[0], Instance("infra", "node-0", "i-node-0"))
        self.assertEqual(got[1].message, "no image for node-1")
        self.assertEqual(got[2], Instance("infra", "node-2", "i-node-2"))

    def test_create_nodes_takes_1_to_creates_per_call_nodes(self):
        self.handler(2)
        for count in (0, 3):
            with self.assertRaises(ValueError):
                self.guarded.create_nodes([resolved(number) for number in range(count)])

    def test_a_create_answered_with_neither_instance_nor_error_is_a_plugin_bug(self):
        self.handler(8, made=lambda nodes: ["i-made"] * len(nodes))
        (answer,) = self.guarded.create_nodes([resolved(5)])
        self.assertIsInstance(answer, PermanentError)
        self.assertIn("create_nodes answered str for node node-5, neither an instance nor a "
                      "ResourceError: a bug in the fake plugin", answer.message)

    def test_the_default_create_nodes_makes_each_node_and_keeps_its_error_in_place(self):
        class OneByOne(FakeCloud):
            def create_node(self, node: ResolvedNode) -> Instance:
                if node.node_id == "node-1":
                    raise TransientError("busy")
                return Instance(node.infra_id, node.node_id, f"i-{node.node_id}")
        made = ResourceHandler.create_nodes(OneByOne({"type": "fake"}),
                                            [resolved(0), resolved(1), resolved(2)])
        self.assertEqual(made[0], Instance("infra", "node-0", "i-node-0"))
        self.assertIsInstance(made[1], TransientError)
        self.assertEqual(made[2], Instance("infra", "node-2", "i-node-2"))
