import threading
import unittest

from occo.infraprocessor.health import (FailingPeriods, HealthChecker, HealthTarget, NodeProbe,
                                        Pinger, combine, node_state, node_states)
from occo.util.nodes import NodeState

from .test_health_fixtures import Clock, HttpServer, temporary_store

READY, PENDING, FAILED = NodeState.READY, NodeState.PENDING, NodeState.FAILED
SHUTDOWN, TEMP, UNKNOWN = NodeState.SHUTDOWN, NodeState.TEMP_FAILED, NodeState.UNKNOWN

# (resource, config manager, health) -> combined, as in the original's node.state
TABLE = [
    ((READY, READY, READY), READY),
    ((READY, READY, PENDING), PENDING),
    ((READY, READY, UNKNOWN), PENDING),
    ((READY, READY, FAILED), FAILED),
    ((READY, PENDING, UNKNOWN), PENDING),
    ((READY, TEMP, UNKNOWN), TEMP),
    ((READY, SHUTDOWN, UNKNOWN), SHUTDOWN),
    ((READY, FAILED, UNKNOWN), FAILED),
    ((PENDING, UNKNOWN, UNKNOWN), PENDING),
    ((UNKNOWN, UNKNOWN, UNKNOWN), PENDING),
    ((SHUTDOWN, UNKNOWN, UNKNOWN), SHUTDOWN),
    ((TEMP, UNKNOWN, UNKNOWN), TEMP),
    ((FAILED, UNKNOWN, UNKNOWN), FAILED),
    # precedence: failed over shutdown over temp_failed over pending
    ((FAILED, SHUTDOWN, TEMP), FAILED),
    ((TEMP, SHUTDOWN, PENDING), SHUTDOWN),
    ((SHUTDOWN, FAILED, READY), FAILED),
    ((PENDING, TEMP, READY), TEMP),
    ((READY, UNKNOWN, READY), PENDING),
]


class CombineTest(unittest.TestCase):
    def test_the_state_table(self):
        for states, expected in TABLE:
            with self.subTest(states=states):
                self.assertIs(combine(*states), expected)

    def test_plain_strings_combine_too(self):
        self.assertIs(combine("ready", "ready", "ready"), READY)
        self.assertIs(combine("ready", "temp_failed", "unknown"), TEMP)


def fixed(state):
    return lambda: state


def never_asked():
    raise AssertionError("asked although the state before it is not ready")


class NodeStateTest(unittest.TestCase):
    def setUp(self):
        self.store = temporary_store(self)
        self.clock = Clock(1000.0)
        self.failing = FailingPeriods(self.store, clock=self.clock)
        self.checker = HealthChecker(pinger=Pinger(icmp=False), timeout=5, max_workers=4)
        self.server = HttpServer()
        self.server.__enter__()
        self.addCleanup(self.server.__exit__, None, None, None)

    def probe(self, node_id, resource, service, path="/ok", timeout=600):
        target = HealthTarget(node_id, "127.0.0.1", {
            "ping": False, "urls": [self.server.url(path)], "timeout": timeout})
        return NodeProbe(target, resource, service)

    def streak(self, node_id):
        """How long the store says the node has been failing (0: not failing until now)."""
        return self.store.failing_period("i1", node_id, failing=True, now=self.clock.now)

    def test_a_node_up_configured_and_healthy_is_ready(self):
        state = node_state("i1", self.probe("n1", fixed(READY), fixed(READY)),
                           self.checker, self.failing)
        self.assertIs(state, READY)
        self.assertEqual(self.server.paths, ["/ok"])

    def test_the_config_manager_is_not_asked_before_the_resource_is_ready(self):
        for resource in (PENDING, SHUTDOWN, TEMP, FAILED, UNKNOWN):
            with self.subTest(resource=resource):
                probe = self.probe("n1", fixed(resource), never_asked)
                expected = PENDING if resource is UNKNOWN else resource
                self.assertIs(node_state("i1", probe, self.checker, self.failing), expected)
        self.assertEqual(self.server.paths, [])

    def test_health_is_not_checked_nor_counted_before_the_service_is_ready(self):
        probe = self.probe("n1", fixed(READY), fixed(PENDING), path="/broken")
        self.assertIs(node_state("i1", probe, self.checker, self.failing), PENDING)
        self.assertEqual(self.server.paths, [])
        self.clock.now = 5000
        self.assertEqual(self.streak("n1"), 0)

    def test_an_unhealthy_node_is_pending_then_failed_after_its_timeout(self):
        probe = self.probe("n1", fixed(READY), fixed(READY), path="/broken", timeout=60)
        self.assertIs(node_state("i1", probe, self.checker, self.failing), PENDING)
        self.clock.now = 1061
        with self.assertLogs("occo.infraprocessor.health", "WARNING") as logged:
            self.assertIs(node_state("i1", probe, self.checker, self.failing), FAILED)
        self.assertIn("HTTP 500", logged.output[0])

    def test_many_nodes_at_once_with_the_store_used_from_the_calling_thread_only(self):
        callers = set()

        def service(state):
            def answer():
                callers.add(threading.get_ident())
                return state
            return answer

        probes = [self.probe("up", fixed(READY), service(READY)),
                  self.probe("sick", fixed(READY), service(READY), path="/moved-broken",
                             timeout=10),
                  self.probe("gone", fixed(SHUTDOWN), never_asked),
                  self.probe("stuck", fixed(READY), service(TEMP)),
                  self.probe("booting", fixed(PENDING), never_asked)]
        first = node_states("i1", probes, self.checker, self.failing)
        self.clock.now = 1011
        with self.assertLogs("occo.infraprocessor.health", "WARNING") as logged:
            second = node_states("i1", probes, self.checker, self.failing)
        self.assertIn("node sick has failed", logged.output[0])
        self.assertEqual(first, {"up": READY, "sick": PENDING, "gone": SHUTDOWN,
                                 "stuck": TEMP, "booting": PENDING})
        self.assertEqual(second, {**first, "sick": FAILED})
        self.assertNotIn(threading.get_ident(), callers)   # asked from the worker threads


if __name__ == "__main__":
    unittest.main()
