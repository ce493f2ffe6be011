"""The configure step: the engine has a config manager that configures nodes do so once each
resource is up, in a call of its own, records the result, and fails the node it could not
configure; surveys never configure."""
import dataclasses
import random
import tempfile
import threading
import unittest
from pathlib import Path

from occo.configmanager.base import ConfigManager, ConfigTarget, Configured, NotReachableYet
from occo.infobroker.auth import AuthData
from occo.infraprocessor.engine import InstanceRecord, Outcome, Phase
from occo.infraprocessor.engine.backends import Backends
from occo.infraprocessor.engine.operations import Observation, Operations, Told, reapply_due
from occo.infraprocessor.engine.retry import Backoff, Retrier
from occo.infraprocessor.health import HealthChecker
from occo.infraprocessor.instructions import ConfigureNode, CreateNodes
from occo.resourcehandler.base import Instance
from occo.resourcehandler.guard import ResourceHandlers
from occo.util.config import Settings
from occo.util.nodes import NodeState, ResolvedNode
from occo.util.plugins import Declared
from occo.util.plugintesting import install_for_test
from occo.util.schema import Field, Schema

from .test_engine_fixture import EngineWorld, SimCloudCase, simcloud_definition
from .test_engine_polls import StatesCloud

SCRIPTED = Declared(Schema("config_management scripted", {
    "type": Field("str", required=True), "fail": Field("scalar"),
    "unreachable": Field("int"), "reapply": Field("number"), "fail_again": Field("scalar"),
}), "tests.test_engine_configure:ScriptedManager")

class ScriptedManager(ConfigManager):
    """Configures as its section says: `fail` (the detail) fails every node, `unreachable`
    is how many attempts of each node find it not reachable yet. Records every call."""

    type_name = "scripted"
    schema = SCRIPTED.schema
    configures = True
    calls: list[ConfigTarget] = []
    lock = threading.Lock()

    def create_infrastructure(self, infra_id):
        pass

    def drop_infrastructure(self, infra_id):
        pass

    def infrastructure_exists(self, infra_id):
        return True

    def register_node(self, node):
        pass

    def drop_node(self, infra_id, node_id):
        pass

    def configure(self, target):
        with self.lock:
            self.calls.append(target)
            attempts = sum(call.node_id == target.node_id for call in self.calls)
        if attempts <= int(self.section.get("unreachable", 0)):
            raise NotReachableYet(f"{target.addresses[0]} does not answer yet")
        if self.section.get("fail"):
            return Configured(False, str(self.section["fail"]))
        if attempts > 1 and self.section.get("fail_again"):
            return Configured(False, str(self.section["fail_again"]))
        return Configured(True, facts={"configured_at": target.addresses[0]})

    def reapply_after(self):
        return self.section.get("reapply")

    def get_node_state(self, target):
        if target.configured is None:
            return NodeState.PENDING
        return NodeState.READY if target.configured.ok else NodeState.FAILED


class SshOnAnotherPort(StatesCloud):
    @classmethod
    def ssh_port(cls, instance):
        return 2222


def register_scripted(case: unittest.TestCase) -> None:
    """The `scripted` manager, registered by a distribution made for the test on sys.path."""
    install_for_test(case, "occo-scripted-manager", "[occo.config_management_plugins]\n"
                     "scripted = tests.test_engine_configure:SCRIPTED\n")
    ScriptedManager.calls = []


class EngineConfigureTest(SimCloudCase):
    def setUp(self):
        super().setUp()
        register_scripted(self)

    def build(self, count: int, **section):
        world = EngineWorld(self, {"web_node": [simcloud_definition(
            self.cloud, config_management={"type": "scripted", **section})]},
            ("web", "web_node"))
        return world, world.execute(world.engine(), CreateNodes("web", count, frozenset()))

    def test_each_node_is_configured_once_when_up_and_the_result_is_recorded(self):
        world, result = self.build(3)
        self.assertTrue(result.ok, result)
        records = world.records("web")
        self.assertEqual(len(records), 3)
        configured = {call.node_id: call for call in ScriptedManager.calls}
        self.assertEqual(len(ScriptedManager.calls), 3, "once a node")
        for node_id, data in records.items():
            record = InstanceRecord.from_dict(data)
            call = configured[node_id]
            self.assertEqual(record.phase, Phase.READY)
            self.assertEqual(call.addresses, record.addresses)
            self.assertEqual(call.instance_id, record.instance.instance_id)
            self.assertIsNone(call.configured)
            self.assertIsNone(call.access, "no ssh entry fits: no access")
            self.assertEqual(dataclasses.replace(record.configured, at=None),
                             Configured(True, facts={"configured_at": record.addresses[0]}))
            self.assertGreaterEqual(record.configured.at, record.created_at)
            events = world.events_of(node_id)
            self.assertLess(events.index("nodeconfigured"), events.index("nodecreated"))

    def test_a_maintain_pass_configures_a_ready_instance_again_once_due(self):
        world, result = self.build(1, reapply=0)
        self.assertTrue(result.ok, result)
        [(node_id, data)] = world.records("web").items()
        first = InstanceRecord.from_dict(data).configured
        engine = world.engine()
        self.assertEqual(engine.reapply_due([InstanceRecord.from_dict(data)]), {node_id})
        again = world.execute(engine, ConfigureNode("web", node_id))
        self.assertTrue(again.ok, again)
        self.assertEqual([call.node_id for call in ScriptedManager.calls], [node_id, node_id])
        self.assertEqual(ScriptedManager.calls[1].configured, first, "given the last result")
        record = InstanceRecord.from_dict(world.records("web")[node_id])
        self.assertEqual(record.phase, Phase.READY)
        self.assertTrue(record.configured.ok)
        self.assertGreaterEqual(record.configured.at, first.at)
        self.assertEqual(world.events_of(node_id).count("nodeconfigured"), 2)

    def test_an_instance_configured_recently_or_by_a_manager_that_never_reapplies_is_not_due(self):
        for section in ({"reapply": 3600}, {}):
            with self.subTest(section=section):
                world, result = self.build(1, **section)
                self.assertTrue(result.ok, result)
                records = [InstanceRecord.from_dict(data)
                           for data in world.records("web").values()]
                self.assertEqual(world.engine().reapply_due(records), set())

    def test_a_configuration_recorded_without_its_time_counts_from_when_the_node_was_ready(self):
        world, result = self.build(1, reapply=100)
        [data] = world.records("web").values()
        record = InstanceRecord.from_dict(data)
        record = record.replace(configured=dataclasses.replace(record.configured, at=None),
                                ready_at=1000.0)
        self.assertFalse(reapply_due(record, 100.0, now=1099.0))
        self.assertTrue(reapply_due(record, 100.0, now=1100.0))
        self.assertFalse(reapply_due(record, None, now=10 ** 9), "None: never")

    def test_a_node_whose_manager_cannot_be_loaded_here_is_left_as_it_is(self):
        world, result = self.build(1, reapply=0)
        records = [InstanceRecord.from_dict(data) for data in world.records("web").values()]
        broken = [record.replace(node=dataclasses.replace(
            record.node, config_management={"type": "no-such-manager"})) for record in records]
        with self.assertLogs("occo.infraprocessor.engine", "WARNING"):
            self.assertEqual(world.engine().reapply_due(broken), set())

    def test_a_configuration_that_fails_when_applied_again_is_a_problem_and_the_node_fails(self):
        world, result = self.build(1, reapply=0, fail_again="task 'nginx' failed")
        self.assertTrue(result.ok, result)
        [node_id] = world.records("web")
        engine = world.engine()
        again = world.execute(engine, ConfigureNode("web", node_id))
        self.assertFalse(again.ok)
        self.assertIn("its configuration applied again failed: task 'nginx' failed",
                      " ".join(again.problems))
        record = InstanceRecord.from_dict(world.records("web")[node_id])
        self.assertFalse(record.configured.ok)
        [status] = engine.survey(world.infra_id, fence=None)
        self.assertEqual(status.state, NodeState.FAILED, "the next pass replaces it")

    def test_the_configure_step_is_given_the_addresses_of_the_nodes_made_before(self):
        world = EngineWorld(self, {
            "db_node": [simcloud_definition(self.cloud)],
            "web_node": [simcloud_definition(self.cloud,
                                             config_management={"type": "scripted"})]},
            ("db", "db_node"), ("web", "web_node"))
        engine = world.engine()
        self.assertTrue(world.execute(engine, CreateNodes("db", 2, frozenset())).ok)
        result = world.execute(engine, CreateNodes("web", 1, frozenset()))
        self.assertTrue(result.ok, result)
        db = sorted(InstanceRecord.from_dict(data).addresses[0]
                    for data in world.records("db").values())
        [call] = ScriptedManager.calls
        self.assertEqual(sorted(call.peers["db"]), db)

    def test_a_survey_asks_the_state_of_an_instance_not_configured_and_never_configures(self):
        world, result = self.build(1)
        self.assertTrue(result.ok, result)
        [(node_id, data)] = world.records("web").items()
        unconfigured = InstanceRecord.from_dict(data).replace(configured=None)
        world.store.put_instance(world.infra_id, "web", node_id, unconfigured.to_dict())
        calls = len(ScriptedManager.calls)
        engine = world.engine()
        [status] = engine.survey(world.infra_id, fence=world.lease())
        self.assertEqual(status.state, NodeState.PENDING)
        [status] = engine.survey_records([unconfigured])
        self.assertEqual(status.state, NodeState.PENDING)
        self.assertEqual(len(ScriptedManager.calls), calls, "a survey configured it")

    def test_a_node_that_cannot_be_configured_fails_saying_what_failed(self):
        world, result = self.build(1, fail="package 'no-such-package' is not known")
        self.assertFalse(result.ok)
        [node] = result.nodes
        self.assertEqual(node.outcome, Outcome.FAILED)
        self.assertIn("its configuration failed: package 'no-such-package' is not known",
                      node.reason)
        self.assertEqual(world.records("web"), {}, "rolled back")
        self.assertIn("nodedropped", world.events_of(node.node_id))

    def test_a_node_not_reachable_yet_is_configured_at_a_later_poll(self):
        world, result = self.build(1, unreachable=2)
        self.assertTrue(result.ok, result)
        self.assertEqual(len(ScriptedManager.calls), 3)
        [data] = world.records("web").values()
        self.assertTrue(InstanceRecord.from_dict(data).configured.ok)


class ConfigureOperationsTest(unittest.TestCase):
    """What a poll and a survey do with an instance whose manager configures."""

    def setUp(self):
        register_scripted(self)

    def operations(self, auth_data=None, settings=Settings(), cloud=StatesCloud):
        handlers = ResourceHandlers(settings, load=lambda type_name: cloud)
        self.addCleanup(handlers.close)
        retrier = Retrier(Backoff(0.001, 2.0, 0.01), 2, rng=random.Random(0),
                          sleep=lambda seconds: False)
        return Operations(Backends(handlers, auth_data, settings.ssh), HealthChecker(),
                          create_retrier=retrier, retrier=retrier)

    @staticmethod
    def record(node_id="n1", configured=None):
        node = ResolvedNode("infra", "shop", "tester", node_id, "web",
                            {"type": "states", "image": "debian"},
                            config_management={"type": "scripted"},
                            health_check={"ping": False})
        return InstanceRecord(node, Phase.CREATED, 1.0, instance=Instance("infra", node_id,
                                                                          f"i-{node_id}"),
                              configured=configured)

    def test_a_survey_never_configures(self):
        operations = self.operations()
        [status] = operations.backends.cloud(self.record().resource).get_states(
            [self.record().instance])
        seen = operations.look(self.record(), status)
        self.assertIsInstance(seen, Observation)
        self.assertEqual((seen.service, seen.configured), (NodeState.PENDING, None))
        self.assertEqual(ScriptedManager.calls, [])

    def test_a_poll_leaves_the_configure_step_to_a_call_of_its_own(self):
        operations = self.operations()
        [told] = operations.observe_all([self.record()])
        self.assertIsInstance(told, Told)
        self.assertEqual(ScriptedManager.calls, [])
        seen = operations.finish(told, self.record(), configure=True)
        self.assertEqual(seen.service, NodeState.READY)
        self.assertTrue(seen.configured.ok)
        self.assertEqual(len(ScriptedManager.calls), 1)

    def test_a_configured_instance_is_not_configured_again(self):
        operations = self.operations()
        [seen] = operations.observe_all([self.record(configured=Configured(True))])
        self.assertIsInstance(seen, Observation)
        self.assertEqual((seen.service, seen.configured), (NodeState.READY, None))
        self.assertEqual(ScriptedManager.calls, [])

    def test_the_ssh_entry_that_fits_the_resource_gives_the_access(self):
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        auth = Path(scratch.name, "auth_data.yaml")
        auth.write_text("ssh:\n"
                        "  - {type: states, image: debian,\n"
                        "     auth_data: {user: admin, private_key: the-key-text}}\n"
                        "  - {type: states, image: other,\n"
                        "     auth_data: {user: nobody, private_key: another-key}}\n")
        operations = self.operations(AuthData(auth), cloud=SshOnAnotherPort)
        [told] = operations.observe_all([self.record()])
        operations.finish(told, self.record(), configure=True)
        [call] = ScriptedManager.calls
        self.assertEqual(call.access.login.user, "admin")
        self.assertEqual((call.access.target.address, call.access.target.port),
                         ("10.1.0.1", 2222))
        self.assertEqual(call.access.target.machine, "n1")
        self.assertEqual(call.access.login.private_key, "the-key-text")
        self.assertNotIn("the-key-text", repr(call.access))
