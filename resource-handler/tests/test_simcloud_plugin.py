"""The simcloud plugin classifies every failure, and retrying a failed create makes no duplicate."""
from __future__ import annotations

import dataclasses
import unittest
import uuid

import httpx

from occo.util.nodes import NodeState

from occo.resourcehandler.base import GONE, Instance, PermanentError, TransientError
from occo.resourcehandler.simcloud import plugin
from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.resourcehandler.simcloud.process import SimCloudProcess

from .simcloud_support import SimCloudCase
from .support import create_one, state_of


class FaultTest(SimCloudCase):
    def setUp(self) -> None:
        super().setUp()
        self.handler = self.simcloud_handler()
        self.infra_id = f"infra-{uuid.uuid4().hex[:8]}"

    def new_node(self, name: str = "web"):
        return self.node(self.infra_id, f"{name}-{uuid.uuid4().hex[:8]}", name)

    def test_a_rate_limit_is_transient_and_says_when_to_retry(self):
        self.cloud.set_faults(rate_limit=1)
        self.handler.list_owned(self.infra_id)
        with self.assertRaises(TransientError) as raised:
            self.handler.list_owned(self.infra_id)
        self.assertIn("429", raised.exception.message)
        self.assertIn("retry after", raised.exception.message)

    def test_a_ghost_create_is_transient_and_its_retry_gets_the_one_instance(self):
        node = self.new_node()
        self.cloud.set_faults(ghost_rate=1.0)
        with self.assertRaises(TransientError):
            create_one(self.handler, node)
        retried = create_one(self.handler, node)     # the ghost rate is still 1: found, not made
        self.addCleanup(self.handler.drop_node, retried)
        owned = self.handler.list_owned(self.infra_id)
        self.assertEqual([(i.node_id, i.instance_id) for i in owned],
                         [(node.node_id, retried.instance_id)])
        self.assertEqual(self.cloud.stats()["ghosts"], 1)

    def test_creates_in_one_call_get_their_own_instances_and_errors(self):
        nodes = [self.new_node("web"), self.new_node("db")]
        first = create_one(self.handler, nodes[1])
        self.cloud.set_faults(ghost_rate=1.0)      # only new instances turn into ghosts
        made = self.handler.create_nodes(nodes)
        self.assertIsInstance(made[0], TransientError)
        self.assertIn("creating node " + nodes[0].node_id, made[0].message)
        self.assertEqual(made[1], first)
        self.cloud.set_faults(ghost_rate=0.0)
        again = self.handler.create_nodes(nodes)
        self.assertEqual(again[1], first)
        self.assertEqual(sorted(i.instance_id for i in self.handler.list_owned(self.infra_id)),
                         sorted(instance.instance_id for instance in again))

    def test_creates_go_in_as_many_requests_as_their_size_needs(self):
        big = "x" * (plugin.BATCH_BYTES // 3)
        nodes = [dataclasses.replace(self.new_node(), context=big) for _ in range(4)]
        before = self.cloud.stats()["calls"]
        made = self.handler.create_nodes(nodes)
        self.assertEqual(self.cloud.stats()["calls"] - before, 2)
        self.assertEqual([instance.node_id for instance in made], [n.node_id for n in nodes])
        owned = {i.node_id: i for i in self.handler.list_owned(self.infra_id)}
        self.assertEqual(sorted(owned), sorted(n.node_id for n in nodes))

    def test_an_unavailable_cloud_is_transient(self):
        self.cloud.set_faults(error_rate=1.0)
        for call in (lambda: create_one(self.handler, self.new_node()),
                     lambda: self.handler.list_owned(self.infra_id)):
            with self.assertRaises(TransientError) as raised:
                call()
            self.assertIn("503", raised.exception.message)

    def test_server_errors_are_transient_and_client_errors_permanent(self):
        instance = create_one(self.handler, self.new_node())
        self.addCleanup(self.handler.drop_node, instance)
        for status, expected in ((500, TransientError), (502, TransientError),
                                 (400, PermanentError), (403, PermanentError),
                                 (409, PermanentError)):
            self.cloud.fail_next(status)
            with self.subTest(status), self.assertRaises(expected):
                state_of(self.handler, instance)

    def test_a_gone_instance_is_shutdown_with_no_address(self):
        gone = Instance(self.infra_id, "n", "i-fffffff0")
        self.assertEqual(self.handler.get_states([gone]), [GONE])
        self.assertEqual((GONE.state, GONE.addresses, GONE.private_ip),
                         (NodeState.SHUTDOWN, (), None))
        with self.assertRaises(PermanentError):
            self.handler.get_cost(gone)

    def test_each_nodes_tags_are_added_and_cannot_hide_the_node_id(self):
        node = dataclasses.replace(self.new_node("db"), resource=self.cloud.resource(
            tags={"team": "ops", "occopus-node-id": "x"}))
        instance = create_one(self.handler, node)
        self.addCleanup(self.handler.drop_node, instance)
        self.assertEqual([i.node_id for i in self.handler.list_owned(self.infra_id)],
                         [node.node_id])
        with httpx.Client() as http:
            tags = http.get(f"{self.cloud.url}/instances/{instance.instance_id}").json()["tags"]
        self.assertEqual((tags["team"], tags["occopus-owner"]), ("ops", node.user_id))

    def test_a_status_tells_the_state_and_the_address_in_one_call(self):
        instance = create_one(self.handler, self.new_node())
        self.addCleanup(self.handler.drop_node, instance)
        before = self.cloud.stats()["calls"]
        [status] = self.handler.get_states([instance])
        self.assertEqual(self.cloud.stats()["calls"] - before, 1)
        self.assertIn(status.state, (NodeState.PENDING, NodeState.READY))
        self.assertEqual(status.addresses, (status.private_ip,))
        self.assertTrue(status.private_ip.startswith("10."))

    def test_the_cost_is_what_the_cloud_says(self):
        instance = create_one(self.handler, self.new_node())
        self.handler.drop_node(instance)        # its cost no longer changes
        with httpx.Client() as http:
            said = http.get(f"{self.cloud.url}/instances/{instance.instance_id}").json()["cost"]
        self.assertEqual(self.handler.get_cost(instance), said)


class UnreachableTest(unittest.TestCase):
    def test_a_cloud_that_does_not_answer_is_transient(self):
        cloud = SimCloudProcess().start()
        self.addCleanup(cloud.close)
        handler = SimCloudHandler.for_section(cloud.resource())
        self.addCleanup(handler.close)
        cloud.stop()
        with self.assertRaises(TransientError) as raised:
            handler.list_owned("infra")
        self.assertIn("running", raised.exception.hint)


class BatchesTest(unittest.TestCase):
    def test_runs_stay_within_the_budget_and_a_larger_request_goes_alone(self):
        encoded = ["a" * 9, "b" * 9, "c" * 9, "d" * 40, "e" * 9]
        runs = [encoded[run] for run in plugin._batches(encoded, 20)]
        self.assertEqual(runs, [["a" * 9, "b" * 9], ["c" * 9], ["d" * 40], ["e" * 9]])
        self.assertEqual(list(plugin._batches([], 20)), [])
