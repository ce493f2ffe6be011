"""Enactor passes on simcloud: build, converge, replace, reconfigure, fail, dry run, destroy."""
import json
from collections import Counter
from unittest import mock

from occo.enactor.cleanpasses import CleanPasses
from occo.enactor.enactor import RECOVER_EVERY, Enactor
from occo.infobroker.store import Event, InfrastructureNotFound, LeaseOwner
from occo.infraprocessor.instructions import (CreateInfrastructure, CreateNodes,
                                              DropInfrastructure, DropNode)

from .enactor_world import (SHOP, Faults, SimCloudCase, World, compile_text, definition,
                            faulty_handlers)

NOTHING = frozenset()
# the shop without its cache, and with a queue
RECONFIGURED = """\
infra_name: shop
user_id: tester
nodes:
  - &DB {name: db, type: db_node}
  - &APP {name: app, type: app_node, scaling: {min: 2, max: 4}}
  - &QUEUE {name: queue, type: queue_node}
dependencies:
  - [*APP, *DB]
"""


def outcomes(result):
    return Counter(row.outcome for row in result.rows)


class PassTest(SimCloudCase):
    def built(self, world, enactor=None):
        result = (enactor or world.enactor()).make_a_pass(world.infra_id)
        self.assertTrue(result.ok, result)
        return result

    def test_a_first_pass_creates_everything_in_dependency_order(self):
        world = World(self, self.cloud)
        result = world.enactor().make_a_pass(world.infra_id)
        self.assertTrue(result.ok, result)
        self.assertFalse(result.dry_run or result.cancelled)
        self.assertEqual(result.plan.actions, (
            CreateInfrastructure(world.infra_id), CreateNodes("db", 1, NOTHING),
            CreateNodes("cache", 1, NOTHING), CreateNodes("app", 2, frozenset({"db"}))))
        self.assertEqual(outcomes(result), Counter(created=4))
        self.assertEqual(Counter(row.node_name for row in result.rows),
                         Counter(app=2, cache=1, db=1))
        records = world.records()
        for row in result.rows:
            self.assertEqual(row.state, "ready")
            self.assertTrue(row.addresses and row.addresses[0].startswith("10."), row)
            self.assertEqual(list(row.addresses), records[row.node_id]["addresses"])
        self.assertEqual({data["phase"] for data in records.values()}, {"ready"})
        self.assertEqual(world.live_ids(), sorted(records))
        self.assertEqual({name: world.store.get_target_count(world.infra_id, name)
                          for name in ("db", "app", "cache")}, {"db": 1, "app": 2, "cache": 1})

        events = world.store.events(world.infra_id)
        names = [event.name for event in events]
        self.assertEqual(names[0], "infrastart")
        self.assertEqual(names[-1], "infraready")
        self.assertEqual(Counter(names), Counter(infrastart=1, nodecreating=4, nodecreated=4,
                                                 infraready=1))
        db_ready = max(i for i, e in enumerate(events)
                       if e.name == "nodecreated" and e.data["name"] == "db")
        app_started = [i for i, e in enumerate(events)
                       if e.name == "nodecreating" and e.data["name"] == "app"]
        self.assertEqual(len(app_started), 2)
        self.assertTrue(all(i > db_ready for i in app_started), names)

        self.assertIsNone(world.store.current_lease(world.infra_id))   # released
        data = json.loads(json.dumps(result.to_json()))
        self.assertTrue(data["ok"])
        self.assertEqual(len(data["nodes"]), 4)
        self.assertEqual(data["recovery"]["adopted"], [])

    def test_a_second_pass_changes_nothing(self):
        world = World(self, self.cloud)
        enactor = world.enactor()
        first = self.built(world, enactor)
        events, creates = world.event_names(), world.creates()
        second = enactor.make_a_pass(world.infra_id)
        self.assertTrue(second.ok, second)
        self.assertTrue(second.plan.changes_nothing)
        self.assertEqual(outcomes(second), Counter(unchanged=4))
        self.assertEqual(sorted(row.node_id for row in second.rows),
                         sorted(row.node_id for row in first.rows))
        self.assertEqual({row.state for row in second.rows}, {"ready"})
        self.assertTrue(all(row.addresses for row in second.rows))
        self.assertEqual(world.event_names(), events)       # no infraready, nothing
        self.assertEqual(world.creates(), creates)

    def test_an_instance_killed_behind_the_engines_back_is_replaced(self):
        world = World(self, self.cloud)
        enactor = world.enactor()
        self.built(world, enactor)
        killed, kept = sorted(world.records("app"))
        world.kill(killed)
        result = enactor.make_a_pass(world.infra_id)
        self.assertTrue(result.ok, result)
        self.assertEqual(result.plan.actions, (DropNode("app", killed, "shutdown"),
                                               CreateNodes("app", 1, frozenset({"db"}))))
        rows = {row.node_id: row for row in result.rows if row.node_name == "app"}
        self.assertEqual(rows.pop(killed).outcome, "dropped")
        self.assertEqual(rows.pop(kept).outcome, "unchanged")
        (new,) = rows.values()
        self.assertEqual((new.outcome, new.state), ("created", "ready"))
        self.assertEqual(sorted(world.records("app")), sorted([kept, new.node_id]))
        self.assertEqual(world.live_ids(), sorted(world.records()))
        self.assertEqual(world.event_names().count("infraready"), 2)

    def test_an_instance_whose_state_cannot_be_told_is_kept_and_reported(self):
        world = World(self, self.cloud)
        enactor = world.enactor()
        self.built(world, enactor)
        before = sorted(world.records())
        self.cloud.fail_next(503, 10_000)        # the cloud stays unavailable for the survey
        self.addCleanup(self.cloud.fail_next, 503, 0)
        result = enactor.make_a_pass(world.infra_id)
        self.assertFalse(result.ok)
        self.assertEqual(result.plan.actions, ())            # nothing replaced on a guess
        self.assertEqual({row.state for row in result.rows}, {"unknown"})
        unknown = [problem for problem in result.problems if " is unknown: " in problem]
        self.assertEqual(len(unknown), len(before))          # and recovery could not list
        self.cloud.fail_next(503, 0)
        self.assertEqual(sorted(world.records()), before)
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)

    def test_a_reconfiguration_drops_a_node_type_that_left_and_creates_a_new_one(self):
        world = World(self, self.cloud)
        enactor = world.enactor()
        self.built(world, enactor)
        (cache,) = world.records("cache")
        unchanged = sorted([*world.records("db"), *world.records("app")])
        reconfigured = world.compile(RECONFIGURED)
        result = enactor.make_a_pass(world.infra_id, description=reconfigured)
        self.assertTrue(result.ok, result)
        self.assertEqual(result.plan.actions, (DropNode("cache", cache, "removed"),
                                               CreateNodes("queue", 1, NOTHING)))
        by_outcome = {}
        for row in result.rows:
            by_outcome.setdefault(row.outcome, []).append((row.node_name, row.node_id))
        self.assertEqual(by_outcome["dropped"], [("cache", cache)])
        self.assertEqual([name for name, _ in by_outcome["created"]], ["queue"])
        self.assertEqual(sorted(node_id for _, node_id in by_outcome["unchanged"]), unchanged)
        self.assertEqual(world.store.get_infrastructure(world.infra_id), reconfigured.to_dict())
        self.assertEqual(world.records("cache"), {})
        self.assertEqual(len(world.records("queue")), 1)
        self.assertEqual(world.live_ids(), sorted(world.records()))
        self.assertEqual(world.store.get_target_count(world.infra_id, "queue"), 1)

    def test_a_failing_node_fails_its_rows_skips_its_dependents_and_creates_the_rest(self):
        world = World(self, self.cloud, definitions={
            "db_node": [definition(self.cloud, image="no-such-image")]})
        enactor = world.enactor(faulty_handlers(self, Faults(images=("no-such-image",))))
        with self.assertLogs("occo.infraprocessor.engine", "INFO"):
            result = enactor.make_a_pass(world.infra_id)
        self.assertFalse(result.ok)
        self.assertFalse(result.cancelled)
        rows = {}
        for row in result.rows:
            rows.setdefault(row.node_name, []).append(row)
        (db,) = rows["db"]
        self.assertEqual(db.outcome, "failed")
        self.assertIn("image no-such-image does not exist", db.reason)
        self.assertEqual([(row.outcome, row.node_id, row.reason) for row in rows["app"]],
                         [("skipped", None, "'db', which it depends on, failed")] * 2)
        (cache,) = rows["cache"]
        self.assertEqual((cache.outcome, cache.state), ("created", "ready"))
        self.assertEqual(list(world.records()), [cache.node_id])
        self.assertEqual(list(world.store.failed_instances(world.infra_id)), [db.node_id])
        self.assertNotIn("infraready", world.event_names())
        self.assertEqual(world.live_ids(), [cache.node_id])
        self.assertFalse(json.loads(json.dumps(result.to_json()))["ok"])

    def test_a_log_trimmed_past_its_infrastart_does_not_begin_the_infrastructure_again(self):
        everything = tuple(f"image-{name}" for name in ("db", "cache", "app"))
        world = World(self, self.cloud, definitions={
            node_type: [definition(self.cloud, image=f"image-{node_type.split('_')[0]}")]
            for node_type in ("db_node", "cache_node", "app_node")})
        world.store.events_kept = 10
        enactor = world.enactor(faulty_handlers(self, Faults(images=everything)))
        with self.assertLogs("occo.infraprocessor.engine", "INFO"):
            enactor.make_a_pass(world.infra_id)          # no instance is left: none was made
        self.assertEqual(world.records(), {})
        self.assertEqual(world.event_names().count("infrastart"), 1)
        for number in range(30):                        # a long life drops the oldest events
            world.store.append_event(Event(world.infra_id, "noise", float(number)))
        self.assertNotIn("infrastart", world.event_names())
        with self.assertLogs("occo.infraprocessor.engine", "INFO"):
            result = enactor.make_a_pass(world.infra_id)
        self.assertNotIn(CreateInfrastructure(world.infra_id), result.plan.actions)
        self.assertNotIn("infrastart", world.event_names())

    def test_an_unknown_infrastructure_is_an_error(self):
        world = World(self, self.cloud, store_it=False)
        with self.assertRaises(InfrastructureNotFound):
            world.enactor().make_a_pass(world.infra_id)
        self.assertIsNone(world.store.current_lease(world.infra_id))


class RecoverySkipTest(SimCloudCase):
    """Recovery runs only when something may have been left for it."""

    def spied(self, world):
        enactor = world.enactor()
        spy = mock.patch.object(enactor.engine, "recover", wraps=enactor.engine.recover)
        self.addCleanup(spy.stop)
        return enactor, spy.start()

    def test_a_pass_after_this_enactors_clean_pass_skips_it_up_to_a_bound(self):
        world = World(self, self.cloud)
        enactor, recover = self.spied(world)
        for _ in range(RECOVER_EVERY + 1):
            self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        # the first pass, then one in RECOVER_EVERY
        self.assertEqual(recover.call_count, 2)

    def taking_turns(self, world, clean_passes):
        """Two enactors, each with an engine of its own whose `recover` is spied on, sharing
        `clean_passes` (None: each its own, as by default); and how many recoveries ran."""
        enactors, spies = [], []
        for _ in range(2):
            engine = world.enactor().engine
            spy = mock.patch.object(engine, "recover", wraps=engine.recover)
            self.addCleanup(spy.stop)
            spies.append(spy.start())
            enactors.append(Enactor(world.store, engine, open_store=world.connect,
                                    clean_passes=clean_passes))
        return enactors, lambda: sum(spy.call_count for spy in spies)

    def test_enactors_sharing_their_clean_passes_skip_it_after_each_others_passes(self):
        world = World(self, self.cloud)
        shared = CleanPasses()
        enactors, recoveries = self.taking_turns(world, shared)
        for turn in range(RECOVER_EVERY + 1):
            self.assertTrue(enactors[turn % 2].make_a_pass(world.infra_id).ok)
        self.assertEqual(recoveries(), 2)        # the first pass, then one in RECOVER_EVERY
        self.assertEqual(len(shared), 1)
        enactors[0].destroy(world.infra_id)
        self.assertEqual(len(shared), 0)         # pruned with the infrastructure

    def test_enactors_each_with_its_own_clean_passes_recover_after_each_others_passes(self):
        world = World(self, self.cloud)
        enactors, recoveries = self.taking_turns(world, None)
        for turn in range(4):
            self.assertTrue(enactors[turn % 2].make_a_pass(world.infra_id).ok)
        self.assertEqual(recoveries(), 4)

    def test_it_runs_when_another_held_the_lease_between(self):
        world = World(self, self.cloud)
        enactor, recover = self.spied(world)
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        other = world.connect()
        self.addCleanup(other.close)
        other.release_lease(other.acquire_lease(world.infra_id, LeaseOwner("x", 1, "other")))
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        self.assertEqual(recover.call_count, 2)

    def test_it_runs_when_a_record_is_half_done(self):
        world = World(self, self.cloud)
        enactor, recover = self.spied(world)
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        (node_id, record), *_ = world.records().items()
        name = record["node"]["name"]
        world.store.put_instance(world.infra_id, name, node_id, {**record, "phase": "dropping"})
        enactor.make_a_pass(world.infra_id)
        self.assertEqual(recover.call_count, 2)


class QuietTest(SimCloudCase):
    """A check tells which idle infrastructures a pass would change nothing of."""

    def idle(self, count=1):
        """`count` infrastructures built on one store, each after a second pass that had
        nothing to do, and one enactor that made those passes."""
        world = World(self, self.cloud)
        ids = [world.infra_id]
        for _ in range(count - 1):
            infra_id = f"{world.infra_id}-{len(ids)}"
            world.store.add_infrastructure(infra_id, compile_text(SHOP, infra_id).to_dict())
            ids.append(infra_id)
        enactor = world.enactor()
        for infra_id in ids * 2:
            self.assertTrue(enactor.make_a_pass(infra_id).ok)
        return world, enactor, ids

    def test_idle_infrastructures_are_quiet_their_clouds_asked_once_for_all(self):
        world, enactor, ids = self.idle(3)
        calls = world.calls()
        self.assertEqual(enactor.quiet(ids), set(ids))
        self.assertEqual(world.calls() - calls, 1)      # 12 instances, one state query

    def test_a_check_writes_nothing_and_counts_as_a_pass_that_skipped_recovery(self):
        world, enactor, [infra_id] = self.idle()
        before = world.dump()
        recover = mock.patch.object(enactor.engine, "recover", wraps=enactor.engine.recover)
        self.addCleanup(recover.stop)
        recovered = recover.start()
        checked = 0
        while enactor.quiet([infra_id]):
            checked += 1
        self.assertEqual(world.dump(), before)
        # the second pass skipped recovery; checks did until the bound, then it runs
        self.assertEqual(checked, RECOVER_EVERY - 2)
        self.assertTrue(enactor.make_a_pass(infra_id).ok)
        self.assertEqual(recovered.call_count, 1)

    def test_a_first_pass_or_another_enactors_memory_is_no_ground_for_quiet(self):
        world = World(self, self.cloud)
        self.assertEqual(world.enactor().quiet([world.infra_id]), NOTHING)  # never passed
        enactor = world.enactor()
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)      # it built everything
        self.assertEqual(enactor.quiet([world.infra_id]), NOTHING)
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        self.assertEqual(world.enactor().quiet([world.infra_id]), NOTHING)
        self.assertEqual(enactor.quiet([world.infra_id]), {world.infra_id})

    def test_one_whose_lease_another_held_since_is_not_quiet(self):
        world, enactor, [infra_id] = self.idle()
        other = world.connect()
        self.addCleanup(other.close)
        other.release_lease(other.acquire_lease(infra_id, LeaseOwner("x", 1, "other")))
        self.assertEqual(enactor.quiet([infra_id]), NOTHING)

    def test_a_scaling_request_or_a_new_target_is_work(self):
        world, enactor, [infra_id] = self.idle()
        world.request("app", "create")
        self.assertEqual(enactor.quiet([infra_id]), NOTHING)
        self.assertTrue(enactor.make_a_pass(infra_id).ok)           # carried out
        self.assertTrue(enactor.make_a_pass(infra_id).ok)
        self.assertEqual(enactor.quiet([infra_id]), {infra_id})
        world.store.set_target_count(infra_id, "app", 2)            # as occopus-scale does
        self.assertEqual(enactor.quiet([infra_id]), NOTHING)

    def test_an_instance_gone_from_its_cloud_is_work_and_others_stay_quiet(self):
        world, enactor, ids = self.idle(2)
        [node_id] = world.records("db")
        world.kill(node_id)
        self.assertEqual(enactor.quiet(ids), set(ids[1:]))
        result = enactor.make_a_pass(ids[0])
        self.assertEqual(outcomes(result)["created"], 1)


class DryRunTest(SimCloudCase):
    def test_a_dry_run_of_a_stored_infrastructure_plans_its_build_and_writes_nothing(self):
        world = World(self, self.cloud)
        before, calls = world.dump(), world.calls()
        result = world.enactor().dry_run(world.infra_id)
        self.assertTrue(result.dry_run)
        self.assertTrue(result.ok)
        self.assertEqual(result.rows, ())
        self.assertEqual(result.plan.actions[0], CreateInfrastructure(world.infra_id))
        self.assertEqual(dict(result.plan.targets), {"db": 1, "app": 2, "cache": 1})
        self.assertEqual(world.dump(), before)
        self.assertEqual(world.calls(), calls)

    def test_a_dry_run_plans_from_the_records_and_consumes_no_request(self):
        world = World(self, self.cloud)
        enactor = world.enactor()
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        world.request("app", "create")
        (cache,) = world.records("cache")
        world.kill(cache)           # a dry run asks no cloud: it cannot know
        before, calls = world.dump(), world.calls()
        result = enactor.dry_run(world.infra_id)
        self.assertEqual(result.plan.actions, (CreateNodes("app", 1, frozenset({"db"})),))
        self.assertEqual(result.plan.targets["app"], 3)
        self.assertEqual(outcomes(result), Counter(unchanged=4))
        self.assertEqual({row.state for row in result.rows}, {"ready"})
        self.assertEqual(world.dump(), before)
        self.assertEqual(world.calls(), calls)
        self.assertEqual(world.store.get_target_count(world.infra_id, "app"), 2)
        self.assertEqual(world.store.pending_scaling(world.infra_id, "app").create, 1)

    def test_a_dry_run_of_a_new_description_writes_nothing(self):
        world = World(self, self.cloud, store_it=False)
        before, calls = world.dump(), world.calls()
        result = world.enactor().dry_run(world.infra_id, world.static)
        self.assertEqual(result.plan.actions, (
            CreateInfrastructure(world.infra_id), CreateNodes("db", 1, NOTHING),
            CreateNodes("cache", 1, NOTHING), CreateNodes("app", 2, frozenset({"db"}))))
        self.assertEqual(result.rows, ())
        self.assertEqual(world.dump(), before)
        self.assertEqual(world.calls(), calls)
        self.assertEqual(world.store.list_infrastructures(), [])

    def test_a_dry_run_of_an_unknown_infrastructure_is_an_error(self):
        world = World(self, self.cloud, store_it=False)
        with self.assertRaises(InfrastructureNotFound):
            world.enactor().dry_run(world.infra_id)


class DestroyTest(SimCloudCase):
    def test_destroy_drops_everything_and_forgets_the_infrastructure(self):
        world = World(self, self.cloud)
        enactor = world.enactor()
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        ids = sorted(world.records())
        result = enactor.destroy(world.infra_id)
        self.assertTrue(result.ok, result)
        self.assertEqual(result.plan.actions, (DropInfrastructure(world.infra_id),))
        self.assertEqual(sorted(row.node_id for row in result.rows), ids)
        self.assertEqual({row.outcome for row in result.rows}, {"dropped"})
        self.assertEqual(world.live_ids(), [])
        self.assertNotIn(world.infra_id, world.store.list_infrastructures())
        self.assertEqual(world.store.get_instances(world.infra_id), {})
        self.assertIsNone(world.store.current_lease(world.infra_id))
        with self.assertRaises(InfrastructureNotFound):
            enactor.make_a_pass(world.infra_id)

    def test_destroy_keeps_the_infrastructure_when_a_drop_fails(self):
        world = World(self, self.cloud)
        faults = Faults()
        enactor = world.enactor(faulty_handlers(self, faults))
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        ids = sorted(world.records())
        faults.refuse_drops.set()
        result = enactor.destroy(world.infra_id)
        self.assertFalse(result.ok)
        # one attempt and one row per instance
        self.assertEqual(faults.drops_refused, len(ids))
        self.assertEqual(sorted(row.node_id for row in result.rows), ids)
        self.assertEqual({row.outcome for row in result.rows}, {"failed"})
        self.assertTrue(all("is forbidden" in row.reason for row in result.rows), result.rows)
        self.assertIn(world.infra_id, world.store.list_infrastructures())
        self.assertEqual(sorted(world.records()), ids)
        self.assertEqual({data["phase"] for data in world.records().values()}, {"failed"})
        self.assertEqual(world.live_ids(), ids)

        faults.refuse_drops.clear()        # the cloud lets go: the next destroy finishes the job
        again = enactor.destroy(world.infra_id)
        self.assertTrue(again.ok, again)
        self.assertNotIn(world.infra_id, world.store.list_infrastructures())
        self.assertEqual(world.live_ids(), [])

    def test_forget_names_a_cloud_that_could_not_be_swept_as_possibly_holding_resources(self):
        world = World(self, self.cloud)
        faults = Faults()
        enactor = world.enactor(faulty_handlers(self, faults))
        self.assertTrue(enactor.make_a_pass(world.infra_id).ok)
        faults.refuse_lists.set()      # every instance drops, but what else it holds is unknown
        result = enactor.destroy(world.infra_id, forget=True)
        self.assertTrue(result.forgotten and result.ok, result)
        self.assertEqual({row.outcome for row in result.rows}, {"dropped"})
        [cloud] = result.left_behind
        self.assertEqual((cloud.node_name, cloud.node_id, cloud.resource_id, cloud.cloud),
                         (None, None, None, f"simcloud {self.cloud.url}"))
        self.assertIn("cannot sweep it: ", cloud.reason)
        self.assertIn("is forbidden", cloud.reason)
        self.assertNotIn(world.infra_id, world.store.list_infrastructures())

    def test_destroying_an_unknown_infrastructure_is_an_error_and_takes_no_lease(self):
        world = World(self, self.cloud, store_it=False)
        before = world.dump()
        with self.assertRaises(InfrastructureNotFound):
            world.enactor().destroy(world.infra_id)
        self.assertEqual(world.dump(), before)
