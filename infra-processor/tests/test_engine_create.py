"""Creating nodes on simcloud: intent first, readiness, the walk per node type, failures, cancel."""
import dataclasses
import threading
import time
import uuid
from collections import Counter
from unittest import mock

import yaml

from occo.infobroker.store.base import StaleFenceError
from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.engine import InstanceRecord, Outcome, Phase, Step, Tuning, writes
from occo.infraprocessor.engine.dispatcher import Dispatcher
from occo.infraprocessor.engine.execution import new_node_ids
from occo.infraprocessor.instructions import (CreateInfrastructure, CreateNodes,
                                              DropInfrastructure, DropNode)
from occo.resourcehandler.base import PermanentError, TransientError
from occo.resourcehandler.guard import ResourceHandlers
from occo.resourcehandler.simcloud.plugin import SimCloudHandler
from occo.util.cancel import Cancellation
from occo.util.config import Settings
from occo.util.nodes import ResolvedNode

from .test_engine_fixture import (FAST, EngineWorld, Gate, SimCloudCase, create_one,
                                  simcloud_definition, spy_handlers, stored, wait_until)

NOTHING = frozenset()
LIST_DB = ("#cloud-config\nwrite_files:\n- path: /etc/db\n"
           "  content: \"{{ getipall('db') | join(',') }}\"\n")


class CreateTest(SimCloudCase):
    def web_world(self, **definition):
        return EngineWorld(self, {"web_node": [simcloud_definition(self.cloud, **definition)]},
                           ("web", "web_node"))

    def test_a_build_leaves_ready_records_with_their_instances_and_addresses(self):
        world = EngineWorld(
            self, {"db_node": [simcloud_definition(self.cloud)],
                   "web_node": [simcloud_definition(self.cloud, contextualisation={
                       "type": "cloudinit", "context_template": LIST_DB})]},
            ("db", "db_node"), ("web", "web_node"))
        result = world.execute(world.engine(), CreateInfrastructure(world.infra_id),
                               CreateNodes("db", 2, NOTHING),
                               CreateNodes("web", 1, frozenset({"db"})))
        self.assertTrue(result.ok, result)
        self.assertEqual(result.counts(), Counter({Outcome.CREATED: 3}))
        records = world.records()
        self.assertEqual({data["phase"] for data in records.values()}, {"ready"})
        live = {instance.node_id: instance.instance_id for instance in self.live(world.infra_id)}
        self.assertEqual(live, {node_id: data["instance"]["instance_id"]
                                for node_id, data in records.items()})
        db_addresses = sorted(data["addresses"][0] for data in world.records("db").values())
        self.assertTrue(all(address.startswith("10.") for address in db_addresses))
        (web,) = world.records("web").values()
        # the web node was resolved once both db instances were ready and addressed
        written = yaml.safe_load(web["node"]["context"])["write_files"][0]["content"]
        self.assertEqual(sorted(written.split(",")), db_addresses)
        self.assertEqual(world.progress.steps(web["node_id"]),
                         [Step.CREATING, Step.BOOTING, Step.READY])
        events = world.event_names()
        self.assertEqual(events[0], "infrastart")
        self.assertEqual(Counter(events), Counter(infrastart=1, nodecreating=3, nodecreated=3))
        for node_id in records:
            self.assertEqual(world.events_of(node_id), ["nodecreating", "nodecreated"])

    def test_a_node_whose_template_asks_for_another_nodes_address_waits_for_it(self):
        # as in puppet-solo-wordpress: no dependency declared, one node's template reads
        # the other's address
        world = EngineWorld(
            self, {"db_node": [simcloud_definition(self.cloud)],
                   "web_node": [simcloud_definition(self.cloud, contextualisation={
                       "type": "cloudinit", "context_template": LIST_DB})]},
            ("web", "web_node"), ("db", "db_node"))
        engine = world.engine()
        creates = engine.address_waits([CreateNodes("web", 1, NOTHING),
                                        CreateNodes("db", 1, NOTHING)], world.nodes)
        self.assertEqual(creates, [CreateNodes("web", 1, frozenset({"db"})),
                                   CreateNodes("db", 1, NOTHING)])
        result = world.execute(engine, CreateInfrastructure(world.infra_id), *creates)
        self.assertTrue(result.ok, result)
        (db,) = world.records("db").values()
        (web,) = world.records("web").values()
        written = yaml.safe_load(web["node"]["context"])["write_files"][0]["content"]
        self.assertEqual(written, db["addresses"][0])

    def test_the_intent_is_stored_before_the_cloud_is_asked(self):
        world = self.web_world()
        seen = {}

        def look(node):
            with SqliteStore(world.path, "tester") as store:
                seen[node.node_id] = store.get_instances(world.infra_id)["web"][node.node_id]
        result = world.execute(world.engine(spy_handlers(self, look)),
                               CreateNodes("web", 2, NOTHING))
        self.assertTrue(result.ok, result)
        self.assertEqual(len(seen), 2)
        for node_id, record in seen.items():
            self.assertEqual(record["phase"], "intent")
            self.assertIsNone(record["instance"])
            self.assertEqual(record["node"]["node_id"], node_id)
            self.assertEqual(record["node"]["resource"]["endpoint"], self.cloud.url)

    def test_a_levels_creates_leave_a_call_at_a_time_each_after_its_intents(self):
        """Each call's intents are stored just before it is sent, not the whole level's first:
        the cloud works on the first calls while the engine resolves the rest."""
        world = self.web_world()
        order = []              # in the thread that owns the store
        store_put_instances = world.store.put_instances

        def put_instances(infra_id, records, fence=None):
            phases = [stored(data)["phase"] for _, _, data in records]
            if set(phases) == {"intent"}:
                order.append(("intents", len(phases)))
            store_put_instances(infra_id, records, fence=fence)
        world.store.put_instances = put_instances
        submit = Dispatcher.submit

        def sent(dispatcher, function, *args, then):
            if function.__name__ == "launch":
                order.append(("create", len(args[0])))
            return submit(dispatcher, function, *args, then=then)
        with mock.patch.object(Dispatcher, "submit", sent):
            result = world.execute(world.engine(spy_handlers(self, lambda node: None)),
                                   CreateNodes("web", 3, NOTHING))     # one node a call
        self.assertTrue(result.ok, result)
        self.assertEqual(order, [("intents", 1), ("create", 1)] * 3)

    def test_a_node_whose_cloud_cannot_be_reached_fails_and_is_rolled_back_cleanly(self):
        world = EngineWorld(self, {"web_node": [{"resource": {
            "type": "nova", "endpoint": "replace_with_your_keystone", "image_id": "i",
            "flavor_name": "f", "project_id": "p"}, "health_check": {"ping": False}}]},
            ("web", "web_node"))
        with self.assertLogs("occo.infraprocessor.engine", "INFO"):
            result = world.execute(world.engine(), CreateNodes("web", 1, NOTHING))
        (failed,) = result.nodes
        self.assertEqual(failed.outcome, Outcome.FAILED)
        self.assertIn("the nova endpoint must be an http(s) URL, not replace_with_your_keystone",
                      failed.reason)
        self.assertNotIn("rolling it back failed", failed.reason)
        self.assertEqual(world.records(), {}, "nothing is kept to drop later")

    def test_new_node_ids_are_version_4_uuids_each_once(self):
        ids = list(new_node_ids(500))
        self.assertEqual(len(set(ids)), 500)
        for node_id in ids:
            parsed = uuid.UUID(node_id)
            self.assertEqual((parsed.version, parsed.variant, str(parsed)),
                             (4, uuid.RFC_4122, node_id))

    def test_records_are_written_in_batches_the_intents_of_a_batch_before_its_creates(self):
        world = self.web_world()
        writes = []             # (records in one transaction, creates the cloud had made then)
        single = []
        store_put_instances = world.store.put_instances

        def put_instances(infra_id, records, fence=None):
            writes.append(([stored(data)["phase"] for _, _, data in records],
                           self.created_calls()))
            store_put_instances(infra_id, records, fence=fence)
        world.store.put_instances = put_instances
        world.store.put_instance = lambda *args, **kwargs: single.append(args)
        before = self.created_calls()
        result = world.execute(world.engine(), CreateNodes("web", 6, NOTHING))
        self.assertTrue(result.ok, result)
        self.assertEqual(single, [])
        (first_phases, made), *later = writes
        self.assertEqual((first_phases, made), (["intent"] * 6, before))
        written = [phase for phases, _ in later for phase in phases]
        self.assertEqual(written.count("ready"), 6, writes)
        self.assertLessEqual(len(written), 12, writes)      # at most created and ready each
        self.assertEqual({data["phase"] for data in world.records().values()}, {"ready"})

    def test_the_write_behind_writes_a_share_at_a_time(self):
        """So that answers coming meanwhile are looked at between shares. Intents, which must
        be stored before their creates, are written whole, and so is what is left at the end."""
        world = self.web_world()
        records, events = [], []
        store_put_instances = world.store.put_instances
        store_append_events = world.store.append_events

        def put_instances(infra_id, batch, fence=None):
            records.append([stored(data)["phase"] for _, _, data in batch])
            store_put_instances(infra_id, batch, fence=fence)

        def append_events(batch):
            events.append(len(batch))
            store_append_events(batch)
        world.store.put_instances, world.store.append_events = put_instances, append_events
        with mock.patch.object(writes, "SHARE", 2):
            result = world.execute(world.engine(), CreateNodes("web", 5, NOTHING))
        self.assertTrue(result.ok, result)
        self.assertEqual(records[0], ["intent"] * 5)
        self.assertTrue(all(len(phases) <= 2 for phases in records[1:-1]), records)
        self.assertGreater(len(records), 3, records)
        self.assertEqual(sum(map(len, records[1:])), 10, records)      # created and ready
        self.assertTrue(all(count <= 2 for count in events[:-1]), events)
        self.assertEqual(sum(events), 10)                  # nodecreating and nodecreated

    def test_records_seen_ready_are_written_before_templates_can_read_them(self):
        """Other records kept back wait until the creates have left, unless the nodes about to
        be resolved render templates, which may read them."""
        for context, phase_then in ((None, "created"), (LIST_DB, "ready")):
            with self.subTest(templated=context is not None):
                extra = ({} if context is None else
                         {"contextualisation": {"type": "cloudinit", "context_template": context}})
                world = EngineWorld(self, {"db_node": [simcloud_definition(self.cloud)],
                                           "web_node": [simcloud_definition(self.cloud, **extra)]},
                                    ("db", "db_node"), ("web", "web_node"))
                seen = []           # the db record's phase when the web intent was written
                store_put_instances = world.store.put_instances

                def put_instances(infra_id, records, fence=None):
                    if any(name == "web" for name, _, _ in records):
                        seen.extend(data["phase"] for data in world.records("db").values())
                    store_put_instances(infra_id, records, fence=fence)
                world.store.put_instances = put_instances
                result = world.execute(world.engine(), CreateNodes("db", 1, NOTHING),
                                       CreateNodes("web", 1, frozenset({"db"})))
                self.assertTrue(result.ok, result)
                self.assertEqual(seen[0], phase_then)
                self.assertEqual({data["phase"] for data in world.records().values()}, {"ready"})

    def test_a_node_whose_type_has_no_definitions_fails_and_the_others_go_on(self):
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("web", "web_node"), ("ghost", "ghost_node"))
        result = world.execute(world.engine(), CreateNodes("ghost", 1, NOTHING),
                               CreateNodes("web", 1, NOTHING))
        self.assertEqual([r.outcome for r in result.of("web")], [Outcome.CREATED])
        (ghost,) = result.of("ghost")
        self.assertIs(ghost.outcome, Outcome.FAILED)
        self.assertIn("ghost_node", ghost.reason)

    def test_a_node_type_starts_when_its_own_dependencies_are_ready_not_its_level(self):
        """Two chains, slow -> after_slow and fast -> after_fast: the slow node is held
        until after_fast is ready, which only a walk per node type allows."""
        gate = Gate(self)
        world = EngineWorld(
            self, {"slow_node": [simcloud_definition(self.cloud, health_check=gate.health_check())],
                   "plain_node": [simcloud_definition(self.cloud)]},
            ("slow", "slow_node", {"create_timeout": 20}), ("after_slow", "plain_node"),
            ("fast", "plain_node"), ("after_fast", "plain_node"))
        world.progress.hook = lambda name, step: (
            gate.open() if (name, step) == ("after_fast", Step.READY) else None)
        result = world.execute(world.engine(), CreateNodes("slow", 1, NOTHING),
                               CreateNodes("fast", 2, NOTHING),
                               CreateNodes("after_slow", 1, frozenset({"slow"})),
                               CreateNodes("after_fast", 1, frozenset({"fast"})))
        self.assertTrue(result.ok, result)
        order = [(event.name, event.data.get("name"))
                 for event in world.store.events(world.infra_id)]
        self.assertLess(order.index(("nodecreated", "after_fast")),
                        order.index(("nodecreated", "slow")))
        # a dependent starts only once every instance it waits for is ready
        last_fast = max(i for i, item in enumerate(order) if item == ("nodecreated", "fast"))
        self.assertLess(last_fast, order.index(("nodecreating", "after_fast")))
        self.assertLess(order.index(("nodecreated", "slow")),
                        order.index(("nodecreating", "after_slow")))

    def test_existing_instances_not_ready_yet_are_polled_before_their_dependents_start(self):
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("web", "web_node"), ("app", "web_node"))
        self.faults(boot_time=1.0)
        node = ResolvedNode(world.infra_id, "shop", "tester", "existing-web", "web",
                            self.cloud.resource(), health_check={"ping": False})
        instance = create_one(world.handlers.for_resource(node.resource), node)
        world.store.put_instance(world.infra_id, "web", node.node_id, InstanceRecord(
            node, Phase.CREATED, time.time(), instance=instance).to_dict())
        result = world.execute(world.engine(), CreateNodes("app", 1, frozenset({"web"})))
        self.assertTrue(result.ok, result)
        self.assertEqual([r.node_name for r in result.nodes], ["app"])
        self.assertEqual(world.records("web")[node.node_id]["phase"], "ready")
        order = [(event.name, event.data.get("name"))
                 for event in world.store.events(world.infra_id)]
        self.assertEqual(order, [("nodecreated", "web"), ("nodecreating", "app"),
                                 ("nodecreated", "app")])

    def test_transient_errors_are_retried_through_the_node_id_without_duplicates(self):
        world = self.web_world()
        self.faults(ghost_rate=1.0)     # every create that makes one answers 500
        self.fail_next(503, 2)
        ghosts = self.cloud.stats()["ghosts"]
        result = world.execute(world.engine(), CreateNodes("web", 3, NOTHING))
        self.assertTrue(result.ok, result)
        live = self.live(world.infra_id)
        self.assertEqual(sorted(instance.node_id for instance in live), sorted(world.records()))
        self.assertEqual(len(live), 3)
        self.assertEqual(self.cloud.stats()["ghosts"] - ghosts, 3)

    def test_a_booting_instance_is_recorded_with_the_addresses_its_first_poll_gave(self):
        gate = Gate(self)       # holds readiness until the record was seen
        world = EngineWorld(
            self, {"web_node": [simcloud_definition(self.cloud, health_check=gate.health_check())]},
            ("web", "web_node"))
        seen = []

        def watch():            # another connection, as another command would look
            with SqliteStore(world.path, "tester") as store:
                try:
                    seen.append(wait_until(lambda: [
                        record for by_id in store.get_instances(world.infra_id).values()
                        for record in by_id.values() if record["phase"] == "created"],
                        "the instance is recorded as created"))
                finally:
                    gate.open()
        watcher = threading.Thread(target=watch)
        watcher.start()
        result = world.execute(world.engine(), CreateNodes("web", 1, NOTHING))
        watcher.join()
        self.assertTrue(result.ok, result)
        ((record,),) = seen
        (live,) = self.live(world.infra_id)
        self.assertEqual(record["instance"]["instance_id"], live.instance_id)
        self.assertTrue(record["addresses"][0].startswith("10."), record)
        self.assertEqual(record["private_ip"], record["addresses"][0])

    def test_readiness_polls_that_fail_transiently_are_made_again(self):
        failures = Counter()

        class Flaky(SimCloudHandler):
            # asked one at a time
            capabilities = dataclasses.replace(SimCloudHandler.capabilities, states_per_call=1)

            def get_states(self, instances):
                (instance,) = instances
                failures[instance.node_id] += 1
                if failures[instance.node_id] <= 3:
                    raise TransientError("503: injected")
                return super().get_states(instances)
        handlers = ResourceHandlers(Settings(), load=lambda _: Flaky)
        self.addCleanup(handlers.close)
        world = self.web_world()
        result = world.execute(world.engine(handlers), CreateNodes("web", 2, NOTHING))
        self.assertTrue(result.ok, result)
        self.assertEqual({data["phase"] for data in world.records().values()}, {"ready"})
        self.assertEqual(sorted(failures), sorted(world.records()))
        self.assertTrue(all(count > 3 for count in failures.values()), failures)

    def test_a_node_type_without_definitions_fails_before_any_call_and_skips_its_dependents(self):
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("db", "never_imported"), ("app", "web_node"))
        result = world.execute(world.engine(), CreateNodes("db", 1, NOTHING),
                               CreateNodes("app", 1, frozenset({"db"})))
        (db,) = result.of("db")
        self.assertEqual(db.outcome, Outcome.FAILED)
        self.assertIn("node type 'never_imported' has no node definitions", db.reason)
        self.assertEqual([(r.outcome, r.reason) for r in result.of("app")],
                         [(Outcome.SKIPPED, "'db', which it depends on, failed")])
        self.assertEqual(self.live(world.infra_id), [])

    def test_a_permanent_error_fails_the_instance_at_once_and_skips_its_dependents(self):
        creates = Counter()

        def refuse_broken(node):
            creates[node.name] += 1
            if node.name == "broken":
                raise PermanentError("quota exceeded")
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("broken", "web_node"), ("child", "web_node"),
                            ("grandchild", "web_node"), ("other", "web_node"))
        with self.assertLogs("occo.infraprocessor.engine", "INFO"):
            result = world.execute(world.engine(spy_handlers(self, refuse_broken)),
                                   CreateNodes("broken", 1, NOTHING),
                                   CreateNodes("other", 1, NOTHING),
                                   CreateNodes("child", 2, frozenset({"broken"})),
                                   CreateNodes("grandchild", 1, frozenset({"child"})))
        self.assertFalse(result.ok)
        (broken,) = result.of("broken")
        self.assertIs(broken.outcome, Outcome.FAILED)
        self.assertIn("quota exceeded", broken.reason)
        self.assertEqual(creates["broken"], 1)       # not retried
        self.assertEqual([(r.outcome, r.node_id, r.reason) for r in result.of("child")],
                         [(Outcome.SKIPPED, None, "'broken', which it depends on, failed")] * 2)
        self.assertEqual([r.reason for r in result.of("grandchild")],
                         ["'child', which it depends on, was skipped"])
        self.assertEqual([r.outcome for r in result.of("other")], [Outcome.CREATED])
        self.assertEqual(list(world.records()), [result.of("other")[0].node_id])
        archived = world.store.failed_instances(world.infra_id)
        self.assertEqual(list(archived), [broken.node_id])
        self.assertIn("quota exceeded", archived[broken.node_id]["error"])
        self.assertEqual(world.events_of(broken.node_id),
                         ["nodecreating", "nodefailed", "nodedropping", "nodedropped"])

    def test_an_instance_not_ready_within_its_create_timeout_fails_and_is_dropped(self):
        gate = Gate(self)       # never opened
        world = EngineWorld(
            self, {"web_node": [simcloud_definition(self.cloud, health_check=gate.health_check())]},
            ("web", "web_node", {"create_timeout": 0.6}))
        with self.assertLogs("occo.infraprocessor.engine", "INFO"):
            result = world.execute(world.engine(), CreateNodes("web", 1, NOTHING))
        (web,) = result.nodes
        self.assertIs(web.outcome, Outcome.FAILED)
        self.assertEqual(web.reason, "not ready within its create_timeout of 0.6 s")
        self.assertEqual(self.live(world.infra_id), [])
        self.assertEqual(world.records(), {})
        self.assertEqual(world.progress.steps(web.node_id),
                         [Step.CREATING, Step.BOOTING, Step.FAILED])

    def test_a_health_check_that_can_never_pass_fails_the_instance_at_once_saying_why(self):
        # the create_timeout is a safety net: the 600 s health-check timeout is not waited for
        world = EngineWorld(
            self, {"web_node": [simcloud_definition(
                self.cloud, health_check={"ping": False, "ports": ["{{ variables.port }}"]})]},
            ("web", "web_node", {"create_timeout": 60, "variables": {"port": "http"}}))
        with self.assertLogs("occo.infraprocessor", "INFO"):
            result = world.execute(world.engine(), CreateNodes("web", 1, NOTHING))
        (web,) = result.nodes
        self.assertIs(web.outcome, Outcome.FAILED)
        self.assertEqual(web.reason, "its health check can never pass: port {{ variables.port }}: "
                                     "failed: not a port number: '{{ variables.port }}' renders "
                                     "to 'http'")
        self.assertEqual(self.live(world.infra_id), [])
        self.assertEqual(world.records(), {})

    def test_a_failed_instance_is_recorded_as_failed_before_it_is_rolled_back(self):
        gate = Gate(self)       # never opened
        world = EngineWorld(
            self, {"web_node": [simcloud_definition(self.cloud, health_check=gate.health_check())]},
            ("web", "web_node", {"create_timeout": 0.3}))
        order = []
        dropped = threading.Event()

        class Spy(SimCloudHandler):
            def drop_node(self, instance):
                order.append("drop")
                dropped.set()
                super().drop_node(instance)
        handlers = ResourceHandlers(Settings(), load=lambda _: Spy)
        self.addCleanup(handlers.close)
        store_put_instances = world.store.put_instances

        def put_instances(infra_id, records, fence=None):
            if any(stored(data)["phase"] == "failed" for _, _, data in records):
                # a write kept back until after the roll-back would now let it go first
                dropped.wait(1.0)
                order.append("failed")
            store_put_instances(infra_id, records, fence=fence)
        world.store.put_instances = put_instances
        with self.assertLogs("occo.infraprocessor.engine", "INFO"):
            result = world.execute(world.engine(handlers), CreateNodes("web", 1, NOTHING))
        (web,) = result.nodes
        self.assertIs(web.outcome, Outcome.FAILED)
        self.assertEqual(order, ["failed", "drop"])
        self.assertEqual(world.records(), {})

    def test_without_a_create_timeout_a_slow_node_is_waited_for(self):
        self.faults(boot_time=1.5)
        world = self.web_world()
        result = world.execute(world.engine(), CreateNodes("web", 1, NOTHING))
        self.assertTrue(result.ok, result)

    def test_a_stale_fence_stops_the_execution_before_any_cloud_call(self):
        creates = []
        world = self.web_world()
        stale = world.lease()
        world.lease()
        with self.assertRaises(StaleFenceError):
            world.engine(spy_handlers(self, creates.append)).execute(
                world.infra_id, [CreateNodes("web", 2, NOTHING)], world.nodes, fence=stale)
        self.assertEqual(creates, [])
        self.assertEqual(world.records(), {})

    def test_the_global_bound_and_parallel_creates(self):
        """With two workers two creates run at once (a barrier of two passes), never three."""
        barrier = threading.Barrier(2, timeout=10)
        at_once, most = [0], [0]
        lock = threading.Lock()

        def together(node):
            with lock:
                at_once[0] += 1
                most[0] = max(most[0], at_once[0])
            try:
                barrier.wait()
            finally:
                with lock:
                    at_once[0] -= 1
        world = self.web_world()
        engine = world.engine(spy_handlers(self, together),
                              tuning=Tuning(max_workers=2, attempts=1, retry=FAST.retry,
                                            poll=FAST.poll))
        result = world.execute(engine, CreateNodes("web", 4, NOTHING))
        self.assertTrue(result.ok, result)
        self.assertEqual(most[0], 2)


class CancelTest(SimCloudCase):
    def test_cancelling_rolls_back_what_is_booting_and_starts_nothing_new(self):
        gate = Gate(self)       # never opened: the web nodes keep booting
        world = EngineWorld(
            self, {"web_node": [simcloud_definition(self.cloud, health_check=gate.health_check())],
                   "app_node": [simcloud_definition(self.cloud)]},
            ("web", "web_node"), ("app", "app_node"))
        engine = world.engine()
        cancel = Cancellation()
        booting = []

        def cancel_when_both_boot(name, step):
            if step is Step.BOOTING:
                booting.append(name)
                if len(booting) == 2:
                    threading.Thread(target=cancel.cancel).start()
        world.progress.hook = cancel_when_both_boot
        with self.assertLogs("occo.infraprocessor.engine", "INFO") as logs:
            result = world.execute(engine, CreateNodes("web", 2, NOTHING),
                                   CreateNodes("app", 1, frozenset({"web"})), cancel=cancel)
        self.assertEqual(len(logs.output), 2)
        self.assertTrue(result.cancelled)
        self.assertEqual([(r.outcome, r.node_id is None) for r in result.of("web")],
                         [(Outcome.CANCELLED, False)] * 2)
        self.assertEqual([(r.outcome, r.node_id) for r in result.of("app")],
                         [(Outcome.CANCELLED, None)])
        self.assertEqual(self.live(world.infra_id), [])
        self.assertEqual(world.records(), {})
        self.assertEqual(world.store.failed_instances(world.infra_id), {})

    def test_a_cancelled_token_starts_nothing(self):
        world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                            ("web", "web_node"))
        self.assertTrue(world.execute(world.engine(), CreateNodes("web", 1, NOTHING)).ok)
        (node_id,) = records = world.records()
        events = world.event_names()
        engine = world.engine()
        cancel = Cancellation()
        cancel.cancel()
        result = world.execute(engine, CreateInfrastructure(world.infra_id),
                               DropNode("web", node_id, "requested"),
                               CreateNodes("web", 1, NOTHING), DropInfrastructure(world.infra_id),
                               cancel=cancel)
        self.assertTrue(result.cancelled)
        self.assertEqual({r.node_id: r.outcome for r in result.nodes},
                         {node_id: Outcome.CANCELLED, None: Outcome.CANCELLED})
        self.assertEqual(result.problems, ("cancelled before the infrastructure was dropped",))
        self.assertEqual(world.records(), records)
        self.assertEqual(world.event_names(), events)
        self.assertEqual([i.node_id for i in self.live(world.infra_id)], [node_id])
