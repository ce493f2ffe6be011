import unittest
from importlib.metadata import entry_points

from occo.infobroker.broker import InfoRouter
from occo.infraprocessor.health import HealthChecker, Pinger
from occo.infraprocessor.health.provider import TTL, HealthCheckProvider
from occo.util.nodes import NodeState

from .test_health_fixtures import (Clock, HttpServer, icmp_pinger, mysql_account, open_port,
                                   refusing_port)

HOST = "127.0.0.1"


class HealthCheckProviderTest(unittest.TestCase):
    def setUp(self):
        self.clock = Clock(0.0)
        checker = HealthChecker(pinger=Pinger(icmp=False), timeout=5)
        self.router = InfoRouter([HealthCheckProvider(checker)], clock=self.clock)
        self.server = HttpServer()
        self.server.__enter__()
        self.addCleanup(self.server.__exit__, None, None, None)

    def ask(self, key, **kwargs):
        self.clock.now += TTL + 1          # a new question, not a kept answer
        return self.router.get(key, **kwargs)

    def test_the_originals_keys_are_answered(self):
        self.assertEqual(set(self.router.keys()), {
            "node.health_check.state", "node.health_check.report", "synch.node_reachable",
            "synch.port_available", "synch.site_available", "synch.mysql_ready"})

    def test_port_available(self):
        with open_port() as port:
            self.assertIs(self.ask("synch.port_available", host=HOST, port=port), True)
        with refusing_port() as port:
            self.assertIs(self.ask("synch.port_available", host=HOST, port=port), False)

    def test_site_available(self):
        self.assertIs(self.ask("synch.site_available", url=self.server.url("/moved")), True)
        self.assertIs(self.ask("synch.site_available", url=self.server.url("/broken")), False)

    def test_mysql_ready(self):
        with mysql_account() as (host, database, user, password):
            ask = dict(host=host, database=database, user=user)
            self.assertIs(self.ask("synch.mysql_ready", **ask, password=password), True)
            self.assertIs(self.ask("synch.mysql_ready", **ask, password="wrong"), False)

    def test_node_reachable_through_the_tcp_fallback(self):
        # port 22 here accepts or refuses: either way the host answers
        self.assertIs(self.ask("synch.node_reachable", address=HOST), True)

    def test_node_reachable_with_icmp_where_allowed(self):
        router = InfoRouter([HealthCheckProvider(HealthChecker(pinger=icmp_pinger()))])
        self.assertIs(router.get("synch.node_reachable", address=HOST), True)

    def test_health_state_and_report(self):
        question = dict(node_id="n1", address=HOST, health_check={
            "ping": False, "urls": ["http://{{ip}}:%d/{{ variables.page }}" % self.server.port]})
        self.assertIs(self.ask("node.health_check.state", **question,
                               variables={"page": "ok"}), NodeState.READY)
        self.assertIs(self.ask("node.health_check.state", **question,
                               variables={"page": "broken"}), NodeState.PENDING)
        report = self.ask("node.health_check.report", **question, variables={"page": "broken"})
        self.assertEqual(report["ready"], False)
        self.assertEqual(report["results"], [{
            "check": "url", "target": self.server.url("/broken"), "passed": False,
            "reason": "HTTP 500", "method": None, "permanent": False}])

    def test_an_answer_is_kept_for_its_ttl(self):
        url = self.server.url("/ok")
        for _ in range(3):
            self.router.get("synch.site_available", url=url)
        self.assertEqual(self.server.paths, ["/ok"])
        self.clock.now += TTL + 1
        self.router.get("synch.site_available", url=url)
        self.assertEqual(self.server.paths, ["/ok", "/ok"])


class RegistrationTest(unittest.TestCase):
    def test_the_provider_is_registered_and_needs_no_dependency(self):
        [entry] = [e for e in entry_points(group="occo.info_providers") if e.name == "health_check"]
        self.assertIs(entry.load(), HealthCheckProvider)
        self.assertIn("synch.port_available", InfoRouter([entry.load()()]).keys())


if __name__ == "__main__":
    unittest.main()
