"""Scaling requests carried out by passes on simcloud: consumed once, targets stored, clamped."""
from collections import Counter

from occo.infobroker.store import PendingScaling

from .enactor_world import SimCloudCase, World

WEB = """\
infra_name: shop
user_id: tester
nodes:
  - {name: web, type: web_node, scaling: {min: 1, max: 3}}
"""


class ScalingPassTest(SimCloudCase):
    def built(self, target):
        """A web node built with `target` instances, and the enactor that built it."""
        world = World(self, self.cloud, WEB)
        world.store.set_target_count(world.infra_id, "web", target)
        enactor = world.enactor()
        result = enactor.make_a_pass(world.infra_id)
        self.assertTrue(result.ok, result)
        self.assertEqual(len(world.records("web")), target)
        return world, enactor

    def scaled(self, world, enactor):
        """A pass; then the requests are gone, simcloud holds what the records say, and the
        next pass changes nothing."""
        result = enactor.make_a_pass(world.infra_id)
        self.assertTrue(result.ok, result)
        self.assertEqual(world.store.pending_scaling(world.infra_id, "web"), PendingScaling())
        self.assertEqual(world.live_ids(), sorted(world.records()))
        self.assertEqual(len(world.records("web")),
                         world.store.get_target_count(world.infra_id, "web"))
        again = enactor.make_a_pass(world.infra_id)
        self.assertTrue(again.plan.changes_nothing, again.plan.describe())
        self.assertEqual(again.plan.messages, ())
        return result

    def target(self, world):
        return world.store.get_target_count(world.infra_id, "web")

    def test_create_requests_are_consumed_once_and_the_target_stored(self):
        world, enactor = self.built(1)
        world.request("web", "create")
        world.request("web", "create")
        result = self.scaled(world, enactor)
        self.assertEqual(Counter(row.outcome for row in result.rows),
                         Counter(created=2, unchanged=1))
        self.assertEqual(self.target(world), 3)
        self.assertEqual(result.plan.messages, ())

    def test_create_requests_beyond_the_maximum_are_dropped_with_a_message(self):
        world, enactor = self.built(2)
        for _ in range(3):
            world.request("web", "create")
        result = self.scaled(world, enactor)
        self.assertEqual(self.target(world), 3)
        self.assertEqual(result.plan.messages, (
            "scaling: 2 create request(s) ignored, node 'web' is at its maximum of 3",))

    def test_a_million_create_requests_are_one_count_that_one_pass_consumes(self):
        world, enactor = self.built(1)
        world.request("web", "create", count=1_000_000)
        result = self.scaled(world, enactor)
        self.assertEqual(self.target(world), 3)
        self.assertEqual(result.plan.messages, (
            "scaling: 999998 create request(s) ignored, node 'web' is at its maximum of 3",))

    def test_a_destroy_request_by_node_id_drops_that_instance(self):
        world, enactor = self.built(3)
        oldest = min(world.records("web").items(), key=lambda item: item[1]["created_at"])[0]
        world.request("web", "destroy", oldest)
        result = self.scaled(world, enactor)
        self.assertEqual([(row.node_id, row.outcome) for row in result.rows
                          if row.outcome != "unchanged"], [(oldest, "dropped")])
        self.assertNotIn(oldest, world.records())
        self.assertEqual(self.target(world), 2)

    def test_a_destroy_request_by_address_drops_that_instance(self):
        world, enactor = self.built(3)
        oldest, record = min(world.records("web").items(),
                             key=lambda item: item[1]["created_at"])
        world.request("web", "destroy", record["addresses"][0])
        result = self.scaled(world, enactor)
        self.assertEqual([(row.node_id, row.outcome) for row in result.rows
                          if row.outcome != "unchanged"], [(oldest, "dropped")])
        self.assertEqual(self.target(world), 2)

    def test_anonymous_destroy_requests_drop_the_youngest_first(self):
        world, enactor = self.built(3)
        by_age = sorted(world.records("web"),
                        key=lambda node_id: world.records("web")[node_id]["created_at"])
        world.request("web", "destroy")
        world.request("web", "destroy")
        self.scaled(world, enactor)
        self.assertEqual(sorted(world.records("web")), [by_age[0]])
        self.assertEqual(self.target(world), 1)

    def test_destroy_requests_below_the_minimum_are_dropped_with_a_message(self):
        world, enactor = self.built(2)
        world.request("web", "destroy")
        world.request("web", "destroy")
        result = self.scaled(world, enactor)
        self.assertEqual(Counter(row.outcome for row in result.rows),
                         Counter(dropped=1, unchanged=1))
        self.assertEqual(self.target(world), 1)
        self.assertEqual(result.plan.messages, (
            "scaling: 1 destroy request(s) ignored, node 'web' is at its minimum of 1",))

    def test_a_destroy_request_naming_no_instance_is_dropped_with_a_message(self):
        world, enactor = self.built(2)
        world.request("web", "destroy", "10.255.255.254")
        result = self.scaled(world, enactor)
        self.assertTrue(result.plan.changes_nothing)
        self.assertEqual(self.target(world), 2)
        self.assertEqual(result.plan.messages, (
            "scaling: destroy request '10.255.255.254' names no instance of node 'web'",))

    def test_a_stored_target_beyond_the_limits_is_clamped(self):
        world, enactor = self.built(1)
        world.store.set_target_count(world.infra_id, "web", 9)
        result = self.scaled(world, enactor)
        self.assertEqual(Counter(row.outcome for row in result.rows),
                         Counter(created=2, unchanged=1))
        self.assertEqual(self.target(world), 3)
