"""A pass after a crash: intent records left by a killed process are adopted or removed, and
simcloud ends with exactly the target count of every node, without duplicates."""
import signal
import time
from collections import Counter

from occo.infobroker.store import Event, LeaseOwner
from occo.infraprocessor.engine import InstanceRecord, Phase
from occo.util.nodes import ResolvedNode

from .enactor_world import DEADLINE, SimCloudCase, World, crash_child, wait_until

WEB = 3
# three web instances, and an app that waits for them
TIERS = f"""\
infra_name: shop
user_id: tester
nodes:
  - &WEB {{name: web, type: web_node, scaling: {{min: {WEB}, max: {WEB}}}}}
  - &APP {{name: app, type: app_node}}
dependencies:
  - [*APP, *WEB]
"""


class CrashRecoveryTest(SimCloudCase):
    def converged(self, world, enactor=None):
        """A pass that leaves exactly the target count, each a record's, all ready, no duplicate."""
        result = (enactor or world.enactor()).make_a_pass(world.infra_id)
        self.assertTrue(result.ok, result)
        records = world.records()
        live = [instance.node_id for instance in world.live()]
        self.assertEqual(Counter(live).most_common(1)[0][1], 1, "a duplicated resource")
        self.assertEqual(sorted(live), sorted(records), "an orphaned or a lost resource")
        self.assertEqual(len(world.records("web")), WEB)
        self.assertEqual(len(world.records("app")), 1)
        self.assertEqual({data["phase"] for data in records.values()}, {"ready"})
        self.assertNotIn("failed", {row.outcome for row in result.rows})
        return result

    def intent(self, world, node_id, made):
        """An intent record as a killed build leaves it; `made`: the cloud had made it."""
        node = ResolvedNode(world.infra_id, "shop", "tester", node_id, "web",
                            self.cloud.resource(image="debian-12"), health_check={"ping": False})
        if made:
            world.make(node)
        record = InstanceRecord(node, Phase.INTENT, time.time())
        world.store.put_instance(world.infra_id, "web", node_id, record.to_dict())

    def test_intents_left_behind_are_adopted_or_removed(self):
        world = World(self, self.cloud, TIERS)
        # what a build killed after three intents and two creates leaves, its lease expired
        world.store.acquire_lease(world.infra_id, LeaseOwner("dead", 99999, "occopus-build"),
                                  ttl=1.0, now=time.time() - 60)
        world.store.append_event(Event(world.infra_id, "infrastart", time.time()))
        self.intent(world, "made-1", made=True)
        self.intent(world, "made-2", made=True)
        self.intent(world, "never-made", made=False)
        creates = world.creates()

        enactor = world.enactor()
        result = self.converged(world, enactor)
        self.assertEqual(sorted(result.recovery.adopted), ["made-1", "made-2"])
        self.assertEqual(result.recovery.removed, ("never-made",))
        self.assertEqual(result.recovery.orphans, ())
        self.assertIn("made-1", world.records("web"))
        self.assertIn("made-2", world.records("web"))
        self.assertNotIn("never-made", world.records())
        self.assertEqual(world.creates() - creates, 2)       # the third web, and the app
        self.assertEqual(world.event_names().count("infrastart"), 1)
        self.assertTrue(enactor.make_a_pass(world.infra_id).plan.changes_nothing)

    def crash(self, nth):
        world = World(self, self.cloud, TIERS)
        child = crash_child(world.path, world.infra_id, nth)
        _, errors = child.communicate(timeout=DEADLINE)
        self.assertEqual(child.returncode, -signal.SIGKILL, errors.decode())
        phases = Counter(data["phase"] for data in world.records().values())
        self.assertGreaterEqual(phases["intent"], 1, phases)     # the nth at least
        # the intents of a batch are stored together, before its first create
        self.assertGreaterEqual(sum(phases.values()), nth, phases)
        # its lease expires by itself; a request it sent just before it died may still be answered
        wait_until(lambda: world.store.current_lease(world.infra_id) is None,
                   "the dead child's lease expires")
        self.wait_for_the_cloud_to_settle()
        self.converged(world)

    def test_a_pass_killed_after_its_second_intent(self):
        self.crash(nth=2)

    def test_a_pass_killed_after_its_last_web_intent(self):
        self.crash(nth=WEB)
