import unittest

from occo.infobroker.store.sqlite import SqliteStore
from occo.infraprocessor.health import CheckResult, FailingPeriods, HealthReport
from occo.util.nodes import NodeState

from .test_health_fixtures import Clock, temporary_store

LOGGER = "occo.infraprocessor.health"

HEALTHY = HealthReport("n1", "127.0.0.1", (CheckResult("port", "127.0.0.1:80", True),))
FAILING = HealthReport("n1", "127.0.0.1", (CheckResult("port", "127.0.0.1:80", False,
                                                       "connection refused"),))


class FailingPeriodsTest(unittest.TestCase):
    def setUp(self):
        self.store = temporary_store(self)
        self.clock = Clock(1000.0)
        self.failing = FailingPeriods(self.store, clock=self.clock)

    def state_at(self, now, report, timeout=600):
        """The state at `now`; a failing node is logged, as a warning once it counts as failed."""
        self.clock.now = now
        if report.ready:
            with self.assertNoLogs(LOGGER):
                return self.failing.health_state("i1", report, timeout)
        with self.assertLogs(LOGGER, "INFO") as logged:
            state = self.failing.health_state("i1", report, timeout)
        [record] = logged.records
        self.assertEqual(record.levelname, "WARNING" if state is NodeState.FAILED else "INFO")
        self.assertIn(f"{report.node_id} has failed its health check", record.getMessage())
        self.assertIn("connection refused", record.getMessage())
        return state

    def test_a_failing_node_is_pending_until_its_timeout_has_passed_then_failed(self):
        self.assertEqual(self.state_at(1000, FAILING), NodeState.PENDING)
        self.assertEqual(self.state_at(1600, FAILING), NodeState.PENDING)
        self.assertEqual(self.state_at(1600.5, FAILING), NodeState.FAILED)

    def test_a_healthy_check_ends_the_failing_streak(self):
        self.state_at(1000, FAILING)
        self.assertEqual(self.state_at(1500, HEALTHY), NodeState.READY)
        self.assertEqual(self.state_at(1700, FAILING), NodeState.PENDING)
        self.assertEqual(self.state_at(2300, FAILING), NodeState.PENDING)
        self.assertEqual(self.state_at(2301, FAILING), NodeState.FAILED)

    def test_a_check_that_can_never_pass_fails_the_node_at_once(self):
        hopeless = HealthReport("n1", "127.0.0.1", (CheckResult(
            "port", "{{ variables.port }}", False, "not a port number", permanent=True),))
        self.clock.now = 1000
        with self.assertLogs(LOGGER, "INFO") as logged:
            self.assertEqual(self.failing.health_state("i1", hopeless, 600), NodeState.FAILED)
        self.assertIn("can never pass", logged.output[0])

    def test_the_timeout_is_the_nodes_own(self):
        self.state_at(1000, FAILING, timeout=30)
        self.assertEqual(self.state_at(1031, FAILING, timeout=30), NodeState.FAILED)

    def test_the_streak_is_kept_in_the_store_for_every_command(self):
        self.state_at(1000, FAILING)
        another_command = SqliteStore(self.store.path, user="tester")
        self.addCleanup(another_command.close)
        self.failing = FailingPeriods(another_command, clock=self.clock)
        self.assertEqual(self.state_at(1601, FAILING), NodeState.FAILED)

    def test_nodes_fail_separately(self):
        other_node = HealthReport("n2", None, FAILING.results)
        self.state_at(1000, FAILING)
        self.assertEqual(self.state_at(1601, other_node), NodeState.PENDING)
        self.assertEqual(self.state_at(1601, FAILING), NodeState.FAILED)


if __name__ == "__main__":
    unittest.main()
