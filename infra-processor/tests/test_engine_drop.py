"""Dropping nodes and infrastructures on simcloud."""
import threading

from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.engine import Outcome, Step
from occo.infraprocessor.instructions import CreateNodes, DropInfrastructure, DropNode
from occo.resourcehandler.base import Instance
from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.util.config import Settings
from occo.util.nodes import ResolvedNode

from .test_engine_fixture import (EngineWorld, SimCloudCase, create_one, simcloud_definition,
                                  status_of)


class DropTest(SimCloudCase):
    def setUp(self):
        self.world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                                 ("web", "web_node"), ("db", "web_node"))
        result = self.world.execute(self.world.engine(), CreateNodes("web", 3, frozenset()),
                                    CreateNodes("db", 1, frozenset()))
        self.assertTrue(result.ok, result)
        self.web = sorted(self.world.records("web"))

    def handler(self):
        handler = SimCloudHandler.for_section(self.cloud.resource())
        self.addCleanup(handler.close)
        return handler

    def test_a_dropped_node_loses_its_resource_and_its_record(self):
        world = self.world
        result = world.execute(world.engine(), DropNode("web", self.web[0], "surplus"))
        self.assertEqual([(r.node_id, r.outcome) for r in result.nodes],
                         [(self.web[0], Outcome.DROPPED)])
        self.assertEqual(sorted(world.records("web")), self.web[1:])
        self.assertNotIn(self.web[0], {i.node_id for i in self.live(world.infra_id)})
        self.assertEqual(world.events_of(self.web[0])[-2:], ["nodedropping", "nodedropped"])
        self.assertEqual(world.progress.steps(self.web[0])[-2:], [Step.DROPPING, Step.DROPPED])

    def test_a_node_is_stored_as_dropping_before_its_cloud_is_asked(self):
        """A cloud carries out a drop its caller stopped waiting for: a pass after a crash must
        not take the node for a live one."""
        world = self.world
        seen = []

        class Looking(SimCloudHandler):
            def drop_node(self, instance):
                with SqliteStore(world.path, "tester") as store:
                    seen.append(store.get_instances(world.infra_id)["web"][instance.node_id])
                super().drop_node(instance)
        handlers = ResourceHandlers(Settings(), load=lambda _: Looking)
        self.addCleanup(handlers.close)
        result = world.execute(world.engine(handlers), DropNode("web", self.web[0], "surplus"),
                               DropNode("web", self.web[1], "surplus"))
        self.assertTrue(result.ok, result)
        self.assertEqual([record["phase"] for record in seen], ["dropping", "dropping"])

    def test_a_resource_already_gone_or_a_node_never_stored_is_dropped_all_the_same(self):
        world = self.world
        record = world.records("web")[self.web[0]]
        self.handler().drop_node(Instance.from_dict(record["instance"]))
        result = world.execute(world.engine(), DropNode("web", self.web[0], "failed"),
                               DropNode("web", "never-stored", "requested"))
        self.assertTrue(result.ok, result)
        self.assertEqual({r.node_id: (r.outcome, r.reason) for r in result.nodes},
                         {"never-stored": (Outcome.DROPPED, "it was not stored"),
                          self.web[0]: (Outcome.DROPPED, None)})
        self.assertNotIn(self.web[0], world.records())

    def test_drops_run_in_parallel(self):
        """Three drops meet at a barrier of three: one at a time, it would break."""
        barrier = threading.Barrier(3, timeout=10)

        class Meeting(SimCloudHandler):
            def drop_node(self, instance):
                barrier.wait()
                super().drop_node(instance)
        handlers = ResourceHandlers(Settings(), load=lambda _: Meeting)
        self.addCleanup(handlers.close)
        world = self.world
        result = world.execute(world.engine(handlers),
                               *(DropNode("web", node_id, "surplus") for node_id in self.web))
        self.assertTrue(result.ok, result)
        self.assertEqual(sorted(world.records()), sorted(world.records("db")))

    def test_dropping_the_infrastructure_drops_every_node_and_what_the_cloud_still_owns(self):
        world = self.world
        orphan = create_one(self.handler(), ResolvedNode(
            world.infra_id, "shop", "tester", "orphan-node", "web", self.cloud.resource()))
        result = world.execute(world.engine(), DropNode("db", next(iter(world.records("db"))),
                                                        "removed"),
                               DropInfrastructure(world.infra_id))
        self.assertTrue(result.ok, result)
        self.assertEqual(len(result.nodes), 4)
        self.assertEqual({r.outcome for r in result.nodes}, {Outcome.DROPPED})
        self.assertEqual(world.records(), {})
        self.assertEqual(self.live(world.infra_id), [])
        self.assertEqual(status_of(self.handler(), orphan).state, "shutdown")
        self.assertEqual(world.event_names()[-1], "infradrop")
