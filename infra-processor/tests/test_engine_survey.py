"""The survey: the live state of every stored instance on simcloud, and `recorded()` without it."""
import sqlite3
import time

from occo.infobroker.store.base import StaleFenceError
from occo.infraprocessor.engine import InstanceRecord, Phase, recorded
from occo.infraprocessor.engine.operations import Observation
from occo.infraprocessor.engine.survey import observed_state
from occo.infraprocessor.health import FailingPeriods
from occo.infraprocessor.health.report import CheckResult, HealthReport
from occo.infraprocessor.instructions import CreateNodes
from occo.resourcehandler.base import Instance
from occo.util.nodes import NodeState, ResolvedNode

from .test_engine_fixture import (EngineWorld, Gate, SimCloudCase, create_one,
                                  simcloud_definition, status_of, wait_until)

NOTHING = frozenset()


def dump(path, leave_out=()):
    """Every row of every table of the SQLite store at `path`, read on the side."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {table: sorted(map(repr, db.execute(f"SELECT * FROM {table}")))
                for table in tables if table not in leave_out}


class SurveyTest(SimCloudCase):
    def setUp(self):
        self.world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                                 ("web", "web_node"))
        self.handler = self.world.handlers.for_resource(self.cloud.resource(image="debian-12"))

    def build(self, count):
        result = self.world.execute(self.world.engine(), CreateNodes("web", count, NOTHING))
        self.assertTrue(result.ok, result)
        return self.world.records("web")

    def node(self, node_id, health_check=None):
        return ResolvedNode(self.world.infra_id, "shop", "tester", node_id, "web",
                            self.cloud.resource(image="debian-12"),
                            health_check=health_check or {"ping": False})

    def store(self, node_id, phase, instance=None, created_at=None, health_check=None,
              error=None):
        """An instance record stored as the engine would (no fence: no lease is held)."""
        record = InstanceRecord(self.node(node_id, health_check), phase,
                                time.time() if created_at is None else created_at,
                                instance=instance, error=error)
        self.world.store.put_instance(self.world.infra_id, "web", node_id, record.to_dict())
        return record

    def made(self, node_id, health_check=None):
        """An instance simcloud made for `node_id`, once it runs."""
        instance = create_one(self.handler, self.node(node_id, health_check))
        wait_until(lambda: status_of(self.handler, instance).state == NodeState.READY,
                   f"simcloud runs {node_id}")
        return instance

    def survey(self, fence=None):
        return self.world.engine().survey(self.world.infra_id, fence=fence)

    def calls(self):
        return self.cloud.stats()["calls"]

    def test_ready_instances_read_ready_with_their_addresses(self):
        records = self.build(2)
        statuses = self.survey()
        self.assertEqual(sorted(s.record.node_id for s in statuses), sorted(records))
        for status in statuses:
            self.assertIs(status.state, NodeState.READY)
            self.assertIsNone(status.detail)
            self.assertEqual(status.record.name, "web")
            self.assertEqual(list(status.record.addresses),
                             records[status.record.node_id]["addresses"])
            self.assertTrue(status.record.addresses[0].startswith("10."))
        self.assertEqual([s.record.created_at for s in statuses],
                         sorted(s.record.created_at for s in statuses))
        self.assertEqual(self.world.records("web"), records)     # nothing learnt, nothing written

    def test_a_resource_dropped_behind_the_engines_back_reads_gone_with_why(self):
        (node_id, record), = self.build(1).items()
        self.handler.drop_node(Instance.from_dict(record["instance"]))
        (status,) = self.survey()
        self.assertEqual(status.record.node_id, node_id)
        self.assertIn(status.state, (NodeState.SHUTDOWN, NodeState.FAILED))
        self.assertIn(f"its resource is {status.state}", status.detail)
        self.assertEqual(self.world.records("web")[node_id], record)   # the record stays

    def test_an_adopted_instance_found_ready_becomes_ready_only_under_a_fence(self):
        gate = Gate(self)       # never opened: its health check keeps failing
        adopted = self.store("adopted", Phase.CREATED, self.made("adopted"))
        held = self.store("held", Phase.CREATED, self.made("held", gate.health_check()),
                          health_check=gate.health_check())
        before = dump(self.world.path, leave_out=("failing_since",))

        statuses = {s.record.node_id: s for s in self.survey(fence=None)}
        self.assertIs(statuses["adopted"].state, NodeState.READY)
        self.assertIs(statuses["held"].state, NodeState.PENDING)
        self.assertIn("its health check fails", statuses["held"].detail)
        self.assertTrue(statuses["held"].record.addresses)    # learnt, though not written
        # nothing written but the failing period of the instance whose health check fails
        self.assertEqual(dump(self.world.path, leave_out=("failing_since",)), before)
        self.assertEqual(self.world.records("web")["adopted"], adopted.to_dict())
        self.assertEqual(self.world.records("web")["held"], held.to_dict())
        rows = dump(self.world.path)["failing_since"]
        self.assertEqual(len(rows), 1)
        self.assertIn("'held'", rows[0])

        fence = self.world.lease()
        statuses = {s.record.node_id: s for s in self.survey(fence=fence)}
        records = self.world.records("web")
        self.assertEqual(records["adopted"]["phase"], "ready")
        self.assertIsNotNone(records["adopted"]["ready_at"])
        self.assertEqual(records["adopted"]["addresses"],
                         [status_of(self.handler, adopted.instance).addresses[0]])
        self.assertIs(statuses["adopted"].record.phase, Phase.READY)
        # not ready: still `created`, with the addresses it was found to have
        self.assertEqual(records["held"]["phase"], "created")
        self.assertEqual(records["held"]["addresses"], list(statuses["held"].record.addresses))
        self.assertTrue(records["held"]["addresses"])

    def test_a_refused_write_is_raised_not_taken_for_a_state(self):
        """Under a lost lease the survey stops with StaleFenceError and writes nothing."""
        self.store("adopted", Phase.CREATED, self.made("adopted"))
        stale = self.world.lease()
        self.world.lease()
        before = dump(self.world.path)
        with self.assertRaises(StaleFenceError):
            self.survey(fence=stale)
        self.assertEqual(dump(self.world.path), before)

    def test_an_intent_without_instance_reads_pending_without_a_cloud_call(self):
        self.store("intent", Phase.INTENT)
        calls = self.calls()
        (status,) = self.survey(fence=self.world.lease())
        self.assertIs(status.state, NodeState.PENDING)
        self.assertEqual(status.detail, "its create is not confirmed yet")
        self.assertEqual(self.calls(), calls)
        self.assertEqual(self.world.records("web")["intent"]["phase"], "intent")

    def test_the_states_of_a_connections_instances_are_asked_in_one_call(self):
        for node_id in ("a", "b", "c"):
            self.store(node_id, Phase.READY, self.made(node_id))
        calls = self.calls()
        statuses = self.survey()
        self.assertEqual([status.state for status in statuses], [NodeState.READY] * 3)
        self.assertEqual(self.calls() - calls, 1)

    def test_a_node_on_its_way_out_reads_so_whatever_its_cloud_says(self):
        """Being dropped, or failed with its rollback unfinished: the pass replaces it."""
        self.store("dropping", Phase.DROPPING, self.made("dropping"))
        self.store("failed", Phase.FAILED, self.made("failed"), error="its health check failed")
        calls = self.calls()
        statuses = {status.record.node_id: (status.state, status.detail)
                    for status in self.survey()}
        self.assertEqual(statuses, {"dropping": (NodeState.SHUTDOWN, "it is dropping"),
                                    "failed": (NodeState.FAILED, "its health check failed")})
        self.assertEqual(self.calls(), calls, "no cloud is asked")

    def test_a_booting_instance_reads_pending(self):
        self.faults(boot_time=30.0)
        instance = create_one(self.handler, self.node("booting"))
        self.store("booting", Phase.CREATED, instance)
        (status,) = self.survey()
        self.assertIs(status.state, NodeState.PENDING)
        self.assertEqual(status.detail, "its resource is pending")

    def test_a_transient_cloud_error_is_retried(self):
        (node_id, _), = self.build(1).items()
        self.fail_next(503, 2)
        (status,) = self.survey(fence=self.world.lease())
        self.assertEqual(status.record.node_id, node_id)
        self.assertIs(status.state, NodeState.READY)

    def test_a_cloud_that_stays_unavailable_reads_unknown_with_why(self):
        (node_id, record), = self.build(1).items()
        self.fail_next(503, 1000)            # beyond every attempt of the fast tuning
        (status,) = self.survey(fence=self.world.lease())
        self.assertEqual(status.record.node_id, node_id)
        self.assertIs(status.state, NodeState.UNKNOWN)
        self.assertIn("answered 503", status.detail)
        self.assertIn("gave up after", status.detail)
        self.assertEqual(self.world.records("web")[node_id], record)
        self.fail_next(503, 0)
        (again,) = self.survey()            # the next survey sees it again
        self.assertIs(again.state, NodeState.READY)

    def test_a_permanent_cloud_error_reads_unknown_with_why(self):
        (node_id, _), = self.build(1).items()
        self.fail_next(400, 1)
        (status,) = self.survey()
        self.assertIs(status.state, NodeState.UNKNOWN)
        self.assertTrue(status.detail.startswith("cannot tell its state: "), status.detail)
        self.assertIn("answered 400", status.detail)

    def test_a_record_this_engine_cannot_read_is_left_out(self):
        self.build(1)
        self.world.store.put_instance(self.world.infra_id, "web", "alien", {"format": 99})
        statuses = self.survey()
        self.assertEqual(len(statuses), 1)
        self.assertNotEqual(statuses[0].record.node_id, "alien")

    def test_recorded_maps_phases_to_states_without_asking_any_cloud(self):
        instance = create_one(self.handler, self.node("ready"))
        self.store("ready", Phase.READY, instance, created_at=1.0)
        self.store("created", Phase.CREATED, instance, created_at=2.0)
        self.store("intent", Phase.INTENT, created_at=3.0)
        self.store("failed", Phase.FAILED, created_at=4.0, error="quota exceeded")
        calls = self.calls()
        statuses = recorded(self.world.store, self.world.infra_id)
        self.assertEqual([(s.record.node_id, s.state, s.detail) for s in statuses],
                         [("ready", NodeState.READY, None),
                          ("created", NodeState.PENDING, None),
                          ("intent", NodeState.PENDING, None),
                          ("failed", NodeState.FAILED, "quota exceeded")])
        self.assertEqual(self.calls(), calls)
        self.assertEqual(statuses[0].to_json()["state"], "ready")

    def test_an_infrastructure_without_records_has_nothing_to_survey(self):
        calls = self.calls()
        self.assertEqual(self.survey(), [])
        self.assertEqual(recorded(self.world.store, self.world.infra_id), [])
        self.assertEqual(self.calls(), calls)


class ObservedStateTest(SimCloudCase):
    """`observed_state` combines an observation as `health.state` does."""

    def setUp(self):
        self.world = EngineWorld(self, {"web_node": [simcloud_definition(self.cloud)]},
                                 ("web", "web_node"))
        self.failing = FailingPeriods(self.world.store)

    def state(self, resource, service=NodeState.UNKNOWN, ready=None, timeout=600.0):
        report = None if ready is None else HealthReport(
            "web-1", "127.0.0.1",
            (CheckResult("url", "http://127.0.0.1:1/", ready, None if ready else "503"),))
        return observed_state(self.world.infra_id,
                              Observation(resource, service, report,
                                          None if report is None else timeout, (), None),
                              self.failing)

    def test_states(self):
        READY, PENDING = NodeState.READY, NodeState.PENDING
        self.assertIs(self.state(READY, READY, ready=True), READY)
        self.assertIs(self.state(PENDING), PENDING)
        self.assertIs(self.state(NodeState.SHUTDOWN), NodeState.SHUTDOWN)
        self.assertIs(self.state(NodeState.FAILED), NodeState.FAILED)
        self.assertIs(self.state(READY, PENDING), PENDING)           # health not checked
        self.assertIs(self.state(READY, READY, ready=False), PENDING)  # failing, within timeout
        with self.assertLogs("occo.infraprocessor.health", "WARNING"):
            self.assertIs(self.state(READY, READY, ready=False, timeout=-1.0), NodeState.FAILED)
