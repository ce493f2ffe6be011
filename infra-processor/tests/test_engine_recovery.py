"""Recovery: records against what simcloud owns; and builds killed with SIGKILL, then recovered."""
import dataclasses
import random
import signal
import threading
import time
from unittest import mock

from occo.infraprocessor.engine import InstanceRecord, Phase
from occo.infraprocessor.instructions import CreateNodes
from occo.util.nodes import NodeState, ResolvedNode

from .test_engine_fixture import (DEADLINE, FAST, EngineWorld, SimCloudCase, crash_child,
                                  create_one, simcloud_definition, spy_handlers, status_of)

WEB = 3     # web instances the crashed builds create


class RecoverTest(SimCloudCase):
    def setUp(self):
        self.world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                                 ("web", "web_node"))
        self.handler = self.world.handlers.for_resource(self.cloud.resource(image="debian-12"))

    def node(self, node_id, endpoint=None):
        resource = self.cloud.resource(image="debian-12")
        if endpoint:
            resource["endpoint"] = endpoint
        return ResolvedNode(self.world.infra_id, "shop", "tester", node_id, "web", resource,
                            health_check={"ping": False})

    def store(self, node_id, phase, instance=None, endpoint=None):
        record = InstanceRecord(self.node(node_id, endpoint), phase, time.time(),
                                instance=instance)
        self.world.store.put_instance(self.world.infra_id, "web", node_id, record.to_dict())
        return record

    def test_a_create_that_lands_after_the_crash_is_waited_for_and_adopted(self):
        self.store("late", Phase.INTENT)          # the crashed command's create is in flight
        landed = threading.Timer(0.3, lambda: create_one(self.handler, self.node("late")))
        landed.start()
        self.addCleanup(landed.cancel)
        tuning = dataclasses.replace(FAST, settle=5.0)
        report = self.world.engine(tuning=tuning).recover(self.world.infra_id,
                                                          fence=self.world.lease())
        self.assertEqual(report.adopted, ("late",))
        self.assertEqual((report.removed, report.orphans), ((), ()))
        self.assertEqual(self.world.records()["late"]["phase"], "created")

    def test_an_old_intent_with_no_resource_is_removed_without_waiting(self):
        record = InstanceRecord(self.node("old"), Phase.INTENT, time.time() - 60)
        self.world.store.put_instance(self.world.infra_id, "web", "old", record.to_dict())
        sleeps = []
        with mock.patch("occo.infraprocessor.engine.recovery.time.sleep", sleeps.append):
            report = self.world.engine(tuning=dataclasses.replace(FAST, settle=5.0)).recover(
                self.world.infra_id, fence=self.world.lease())
        self.assertEqual(report.removed, ("old",))
        self.assertEqual(sleeps, [])

    def test_records_and_resources_are_matched(self):
        adopted = create_one(self.handler, self.node("adopted"))
        self.store("adopted", Phase.INTENT)
        self.store("never-made", Phase.INTENT)
        orphan = create_one(self.handler, self.node("orphan"))
        failed = create_one(self.handler, self.node("failed"))
        self.store("failed", Phase.FAILED)
        kept = self.store("kept", Phase.CREATED, create_one(self.handler, self.node("kept")))
        vanished = create_one(self.handler, self.node("vanished"))
        self.store("vanished", Phase.READY, vanished)
        self.handler.drop_node(vanished)

        report = self.world.engine().recover(self.world.infra_id, fence=self.world.lease())
        self.assertEqual(report.adopted, ("adopted",))
        self.assertEqual(sorted(report.removed), ["failed", "never-made"])
        self.assertEqual(report.orphans, (orphan.instance_id,))
        self.assertEqual(report.problems, ())
        records = self.world.records()
        self.assertEqual(sorted(records), ["adopted", "kept", "vanished"])
        self.assertEqual(records["adopted"]["phase"], "created")
        self.assertEqual(records["adopted"]["instance"]["instance_id"], adopted.instance_id)
        self.assertEqual(records["adopted"]["addresses"], [status_of(self.handler, adopted).addresses[0]])
        self.assertEqual(records["kept"], kept.to_dict())
        self.assertEqual(list(self.world.store.failed_instances(self.world.infra_id)), ["failed"])
        for instance in (orphan, failed):
            self.assertEqual(status_of(self.handler, instance).state, NodeState.SHUTDOWN)
        self.assertEqual(sorted(i.node_id for i in self.live(self.world.infra_id)),
                         ["adopted", "kept"])

    def test_an_intent_whose_resource_is_found_has_its_create_finished(self):
        """A create a crash cut short half-way (a container made but never started) is made
        again, which finishes it: creates are idempotent for a node id."""
        made = create_one(self.handler, self.node("half-made"))
        self.store("half-made", Phase.INTENT)
        creates = []
        handlers = spy_handlers(self, lambda node: creates.append(node.node_id))
        report = self.world.engine(handlers).recover(self.world.infra_id,
                                                     fence=self.world.lease())
        self.assertEqual(creates, ["half-made"])
        self.assertEqual(report.adopted, ("half-made",))
        record = self.world.records()["half-made"]
        self.assertEqual((record["phase"], record["instance"]["instance_id"]),
                         ("created", made.instance_id))
        self.assertEqual([i.node_id for i in self.live(self.world.infra_id)], ["half-made"])

    def test_a_node_being_dropped_at_the_crash_is_dropped_again_and_forgotten(self):
        dropping = self.store("dropping", Phase.DROPPING,
                              create_one(self.handler, self.node("dropping")))
        report = self.world.engine().recover(self.world.infra_id, fence=self.world.lease())
        self.assertEqual(report.removed, ("dropping",))
        self.assertEqual(self.world.records(), {})
        self.assertEqual(status_of(self.handler, dropping.instance).state, NodeState.SHUTDOWN)
        self.assertEqual(self.world.store.failed_instances(self.world.infra_id), {},
                         "a drop is no failure")

    def test_a_record_whose_cloud_was_never_reached_is_forgotten(self):
        node = dataclasses.replace(self.node("nowhere"), resource={
            "type": "nova", "endpoint": "replace_with_your_keystone"})
        self.world.store.put_instance(self.world.infra_id, "web", "nowhere", InstanceRecord(
            node, Phase.FAILED, time.time(), error="cannot create it").to_dict())
        report = self.world.engine().recover(self.world.infra_id, fence=self.world.lease())
        self.assertEqual((report.removed, report.problems), (("nowhere",), ()))
        self.assertEqual(self.world.records(), {})

    def test_a_backend_that_cannot_be_listed_is_left_alone(self):
        self.store("elsewhere", Phase.INTENT, endpoint="http://127.0.0.1:9")
        report = self.world.engine().recover(self.world.infra_id, fence=self.world.lease())
        self.assertEqual(len(report.problems), 1)
        self.assertIn("cannot list the resources of simcloud http://127.0.0.1:9",
                      report.problems[0])
        self.assertEqual(list(self.world.records()), ["elsewhere"])


class CrashTest(SimCloudCase):
    """A child builds three web nodes and is killed; one recovery and one pass (three web
    and an app that waits for them) leave exactly the records' resources, all ready."""

    def crash(self, kill_at, nth=1, after=0.0):
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)],
                                   "app_node": [simcloud_definition(self.cloud)]},
                            ("web", "web_node"), ("app", "app_node"))
        child = crash_child(str(world.path), self.cloud.url, world.infra_id, WEB, kill_at, nth,
                            after)
        _, errors = child.communicate(timeout=DEADLINE)
        self.assertEqual(child.returncode, -signal.SIGKILL, errors.decode())
        self.wait_for_the_cloud_to_settle()

        engine = world.engine()
        fence = world.lease(now=time.time() + 3600)      # takes over the dead child's lease
        engine.recover(world.infra_id, fence=fence)
        missing = WEB - len(world.records("web"))
        result = engine.execute(world.infra_id, [CreateNodes("web", missing, frozenset()),
                                                 CreateNodes("app", 1, frozenset({"web"}))],
                                world.nodes, fence=fence)
        self.assertTrue(result.ok, result)
        records = world.records()
        live = self.live(world.infra_id)
        self.assertEqual(sorted(instance.node_id for instance in live), sorted(records),
                         "an orphaned or a duplicated resource")
        self.assertEqual(len(world.records("web")), WEB)
        self.assertEqual({data["phase"] for data in records.values()}, {"ready"})
        return world

    def test_killed_after_an_intent_is_stored(self):
        self.crash("intent")

    def test_killed_after_the_last_intent_is_stored(self):
        self.crash("intent", nth=WEB)

    def test_killed_after_the_cloud_made_one_before_its_record_says_so(self):
        self.crash("created")

    def test_killed_after_the_cloud_made_the_second(self):
        self.crash("created", nth=2)

    def test_killed_after_a_create_was_answered(self):
        self.crash("booting", nth=2)

    def test_killed_after_one_is_seen_ready(self):
        self.crash("ready")

    def test_killed_at_random_moments(self):
        rng = random.Random()
        for after in sorted(rng.uniform(0.0, 0.6) for _ in range(3)):
            with self.subTest(after=round(after, 3)):
                self.crash("at", after=after)
